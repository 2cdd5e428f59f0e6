/**
 * System tier (root, network namespaces, two named, two sshd, the engine): adopting a pair of
 * name servers configured by hand (docs/architecture.md, "Adoption: zones on hand-made
 * secondaries"). ns1 is the old primary; ns2, the partner's secondary, has its own named.conf
 * zone statements (one zone transferred with a hand-made TSIG key, one by address alone, its
 * copy kept as text) and its own copies of the zones. `npm run up -- --adopt` takes both over:
 * the transfer key is made anew, each host's hand-made statements are commented out (the
 * originals kept in a backup folder), ns2's hand-made copies become Globenet's before its reload,
 * and the first transfer signed with Globenet's key brings the primary's new serial.
 *
 * Throughout the adoption a probe asks both servers, every 50 ms, each zone's SOA and a TXT
 * record: no answer may be missing, the TXT is the same, and no serial goes backwards.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePlan } from "../lib/guard/plan";
import { bindPrivateDirs, BIND_HOST_LOG, ownBindFolders } from "../lib/lab/bind-host";
import { bind, ensureDaemon, stopDaemon, type DaemonCtx, type LabDaemon } from "../lib/lab/daemons";
import { placeOf } from "../lib/lab/multi";
import { ensureLabDirs, labPaths } from "../lib/lab/paths";
import { onHost, runOnHost, topologyDown, topologyUp, type Topology } from "../lib/lab/netns";
import { pool } from "../provider/ssh/pool";
import { cli } from "./helpers/cli";
import { waitFor } from "./helpers/daemons-web";
import { startSshd, type Sshd } from "./helpers/sshd";
import { requireRoot, requireTool, requireTools, run } from "./helpers/tools";

const ok =
  requireTools("named", "named-checkconf", "named-compilezone", "dig", "tsig-keygen", "sshd", "ssh-keygen", "nsenter", "unshare", "ip", "setpriv") &&
  requireTool("rndc", "bind9-utils") &&
  requireRoot("network namespaces, two named and two sshd in them, the engine as root over SSH");

const NS1 = "198.51.100.231";
const NS2 = "198.51.100.232";
const ZONES = ["alpha.example", "beta.example"] as const;
const TXT: Record<(typeof ZONES)[number], string> = { "alpha.example": "alpha by hand", "beta.example": "beta by hand" };
const SERIAL: Record<(typeof ZONES)[number], number> = { "alpha.example": 2024010101, "beta.example": 7 };

const T: Topology = {
  prefix: "gas",
  stateDir: "",
  hosts: [
    { name: "ns1", addresses: [NS1], privateDirs: bindPrivateDirs() },
    { name: "ns2", addresses: [NS2], privateDirs: bindPrivateDirs() },
  ],
  runner: ["198.51.100.239"],
};

const zoneFile = (zone: (typeof ZONES)[number]) => `$TTL 3600
; ${zone}, by hand
@ IN SOA ns1.legacy.example. hostmaster.legacy.example. ( ${SERIAL[zone]} 3600 900 604800 300 )
  IN NS ns1.legacy.example.
  IN NS ns2.legacy.example.
probe IN TXT "${TXT[zone]}"
`;

/** The old primary: alpha given only with the hand-made key, beta to the secondary's address. */
const NS1_LOCAL = (secret: string) => `// the old primary's zones, by hand
key "legacy-xfer" { algorithm hmac-sha256; secret "${secret}"; };
zone "alpha.example" {
    type master;
    file "/etc/bind/db.alpha.example";
    allow-transfer { key "legacy-xfer"; };
    also-notify { ${NS2} key "legacy-xfer"; };
};
zone "beta.example" { type master; file "/etc/bind/db.beta.example"; allow-transfer { ${NS2}; }; also-notify { ${NS2}; }; };
`;

/** The partner's secondary: alpha with the hand-made key (raw copy, relative name), beta by address (a text copy). */
const NS2_LOCAL = (secret: string) => `// the partner's secondary, by hand
key "legacy-xfer" { algorithm hmac-sha256; secret "${secret}"; };
zone "alpha.example" {
    type slave;
    masters { ${NS1} key "legacy-xfer"; };
    file "db.alpha.example";
};
zone "beta.example" { type slave; masters { ${NS1}; }; file "/var/cache/bind/beta.example.txt"; masterfile-format text; };
`;

/** The legacy host's inventory (tests/fixtures/import/Pulumi.legacy.yaml) with the two name servers as its hosts, their sshd keys pinned. */
const INVENTORY = (keys: Record<"ns1" | "ns2", string>) =>
  readFileSync(join(__dirname, "fixtures", "import", "Pulumi.legacy.yaml"), "utf8").replace(
    /^    hosts:\n[\s\S]*$/m,
    ["ns1", "ns2"].map((h) => `      ${h}:\n        roles: [${h === "ns1" ? "dns-primary" : "dns-secondary"}]\n        fqdn: ${h}.legacy.example\n        address: ${h === "ns1" ? NS1 : NS2}\n        ssh: { user: root, host_key: ${JSON.stringify(keys[h as "ns1" | "ns2"])} }\n`).join("").replace(/^/, "    hosts:\n"),
  );

describe.skipIf(!ok)("adopting a hand-made secondary name server: its zones keep answering, then transfer with Globenet's key", () => {
  const tmp = ok ? mkdtempSync("/var/tmp/globenet-gas-") : "";
  T.stateDir = join(tmp, "hosts");
  const tree = join(tmp, "tree");
  const sshd: Partial<Record<"ns1" | "ns2", Sshd>> = {};
  const named: Partial<Record<"ns1" | "ns2", LabDaemon>> = {};
  let ctx: DaemonCtx | undefined;
  let probe: ChildProcess | undefined;
  /** The hand-made TSIG key of the old pair. */
  let secret = "";
  const t0 = Date.now();
  const timings: string[] = [];
  const hostPath = (host: string, path: string) => join(T.stateDir, host, path);
  const log = (host: string) => (existsSync(hostPath(host, BIND_HOST_LOG)) ? readFileSync(hostPath(host, BIND_HOST_LOG), "utf8") : "");
  const engine = async (...args: string[]) => {
    const s = Date.now();
    const r = await cli([...args, "--stack", "legacyns", "--root", tree], { GLOBENET_SSH_KEY_FILE: sshd.ns1?.keyFile, GLOBENET_LANG: "en", PULUMI_BACKEND_URL: `file://${join(tmp, "state")}`, PULUMI_CONFIG_PASSPHRASE: "secondary-adoption-test" });
    timings.push(`${args.join(" ")}: ${((Date.now() - s) / 1000).toFixed(1)} s`);
    return r;
  };
  const short = (server: string, name: string, type: string) => run("dig", ["+norec", "+short", "+time=2", "+tries=1", `@${server}`, name, type]).stdout.trim();
  const serial = (server: string, zone: string) => Number(short(server, zone, "SOA").split(/\s+/)[2] ?? NaN);
  const PROBE_LOG = join(tmp, "probe.log");
  const PROBE_STOP = join(tmp, "probe.stop");

  beforeAll(async () => {
    topologyUp(T);
    const p = labPaths(join(tmp, "daemons"));
    ensureLabDirs(p);
    ctx = { paths: p, sshPort: 22, sshd: { dropinDir: join(tmp, "sshd_config.d"), pidFile: join(tmp, "sshd.pid") }, hostKey: "", phpVersions: [] };
    secret = /secret "([^"]+)"/.exec(run("tsig-keygen", ["-a", "hmac-sha256", "legacy-xfer"]).stdout)?.[1] ?? "";
    expect(secret).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const file = (host: string, path: string, text: string) => {
      mkdirSync(dirname(hostPath(host, path)), { recursive: true });
      writeFileSync(hostPath(host, path), text, { mode: 0o644 });
    };
    for (const h of ["ns1", "ns2"] as const) {
      ownBindFolders((x) => hostPath(h, x));
      file(h, "/etc/bind/named.conf", 'include "/etc/bind/named.conf.options";\ninclude "/etc/bind/named.conf.local";\n');
      file(h, "/etc/bind/named.conf.local", h === "ns1" ? NS1_LOCAL(secret) : NS2_LOCAL(secret));
    }
    for (const z of ZONES) file("ns1", `/etc/bind/db.${z}`, zoneFile(z));
    for (const h of ["ns1", "ns2"] as const) {
      const d = bind(ctx, placeOf({ topology: T, files: [] }, h));
      named[h] = d;
      expect((await ensureDaemon(p, d)).how, h).toBe("started");
    }
    sshd.ns1 = await startSshd({ listen: { address: NS1, port: 22 }, wrap: (c, a) => onHost(T, "ns1", c, a) });
    sshd.ns2 = await startSshd({ listen: { address: NS2, port: 22 }, wrap: (c, a) => onHost(T, "ns2", c, a), clientKeyFile: sshd.ns1.keyFile });
    // The hand-made secondary has its copies: transferred by hand-made means (one with the old key).
    for (const z of ZONES) await waitFor(`ns2 to serve ${z} by hand`, () => short(NS2, `probe.${z}`, "TXT") === `"${TXT[z]}"`, 30_000, 200);
    await waitFor("ns2's copies on disk", () => existsSync(hostPath("ns2", "/var/cache/bind/db.alpha.example")) && existsSync(hostPath("ns2", "/var/cache/bind/beta.example.txt")), 10_000, 100);
    // The data a volunteer wrote after the import: the same records.
    mkdirSync(join(tree, "zones"), { recursive: true });
    mkdirSync(join(tree, "members/alpha"), { recursive: true });
    writeFileSync(join(tree, "Pulumi.legacyns.yaml"), INVENTORY({ ns1: sshd.ns1.hostKey, ns2: sshd.ns2.hostKey }));
    writeFileSync(join(tree, "members/alpha/member.yaml"), "handle: alpha\nname: Alpha\ncontact: { email: bureau@alpha.example }\nstatus: active\n");
    for (const z of ZONES) writeFileSync(join(tree, `zones/${z}.yaml`), `owner: alpha\ndnssec: false\nrecords:\n  - { name: probe, type: TXT, value: "${TXT[z]}" }\n`);
  }, 120_000);

  afterAll(async () => {
    const failed: unknown[] = [];
    for (const step of [
      () => writeFileSync(PROBE_STOP, ""),
      () => probe?.kill(),
      () => pool.close(),
      () => sshd.ns2?.stop(),
      () => sshd.ns1?.stop(),
      ...(["ns1", "ns2"] as const).map((h) => () => ctx && named[h] && stopDaemon(ctx.paths, named[h])),
      () => topologyDown(T),
      () => rmSync(tmp, { recursive: true, force: true }),
    ]) {
      try {
        await step();
      } catch (e) {
        failed.push(e);
      }
    }
    console.log(`adopt-secondary: ${((Date.now() - t0) / 1000).toFixed(1)} s in all; ${timings.join("; ")}`);
    if (failed.length) throw new AggregateError(failed, failed.map(String).join("; "));
  }, 120_000);

  it("preview --adopt: both bind sets imported, each with its takeover as an update; the transfer key is made anew", async () => {
    const plan = join(tmp, "plan.json");
    const r = await engine("preview", "--adopt", "--plan-json", plan);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/adoption: OK/);
    const steps = parsePlan(readFileSync(plan, "utf8"), plan).steps.filter((s) => s.type.startsWith("globenet:") && s.op !== "same");
    expect(steps.filter((s) => s.type === "globenet:files:FileSet").map((s) => `${s.op} ${s.name}`).sort()).toEqual(["import ns1-bind", "import ns2-bind", "update ns1-bind", "update ns2-bind"]);
    expect(steps.filter((s) => s.type === "globenet:dns:TransferKey").map((s) => `${s.op} ${s.name}`).sort()).toEqual(["create ns1-transfer-key", "create ns2-transfer-key"]);
    for (const set of ["ns1-bind", "ns2-bind"]) expect(r.stdout).toMatch(new RegExp(`~ +globenet:files:FileSet ${set} update \\[diff: \\+takeover`));
    // Nothing changed on the hosts: the hand-made statements are there, no Globenet set.
    expect(readFileSync(hostPath("ns2", "/etc/bind/named.conf.local"), "utf8")).toBe(NS2_LOCAL(secret));
    expect(readdirSync(hostPath("ns2", "/etc/bind")).filter((f) => f.startsWith("globenet"))).toEqual([]);
  }, 300_000);

  it("up --adopt: the probe asking both servers every 50 ms saw every answer, the same TXT, and no serial going backwards", async () => {
    const args = ZONES.flatMap((z) => [z, "SOA", `probe.${z}`, "TXT"]);
    // One line per round and server: the time, the server, then dig's answers (empty when one is missing).
    // dig waits up to 5 s, the stub resolver's own timeout (resolv.conf's default): named holds its
    // queries while it reconfigures (exclusive mode) and answers them after, which a client
    // waits for; a zone not served (REFUSED, SERVFAIL) answers at once without the records and
    // counts as missing. With 1 s, a reconfiguration slowed by a busy machine read as a miss.
    const script = `while [ ! -e "$1" ]; do for s in ${NS1} ${NS2}; do printf '%s %s %s\\n' "$(date +%s%N)" "$s" "$(dig +norec +time=5 +tries=1 @"$s" +noall +answer ${args.join(" ")} | tr '\\n\\t' '| ')"; done; sleep 0.05; done >> "$0"`;
    probe = spawn("bash", ["-c", script, PROBE_LOG, PROBE_STOP], { stdio: "ignore" });
    const done = new Promise((r) => probe?.on("exit", r));
    await waitFor("the probe's first rounds", () => existsSync(PROBE_LOG) && readFileSync(PROBE_LOG, "utf8").split("\n").length > 4, 10_000, 50);
    let up: Awaited<ReturnType<typeof engine>> | undefined;
    try {
      up = await engine("up", "--adopt");
      expect(up.status, up.stderr + up.stdout).toBe(0);
      // The secondary takes the primary's new serial with Globenet's key (the apply asked it to refresh).
      for (const z of ZONES) await waitFor(`ns2 to transfer ${z} with Globenet's key`, () => serial(NS2, z) === serial(NS1, z) && serial(NS1, z) !== SERIAL[z], 30_000, 100);
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      writeFileSync(PROBE_STOP, "");
      await done;
    }
    expect(up?.stdout).not.toMatch(/up of legacyns: .*(replace|delete)/);
    expect(up?.stdout).toMatch(/^takeover: on ns1, the hand-made definitions it disabled are kept in \/etc\/bind\/globenet-takeover\.\S+/m);
    expect(up?.stdout).toMatch(/^takeover: on ns2, the hand-made definitions it disabled are kept in \/etc\/bind\/globenet-takeover\.\S+/m);
    const rounds = readFileSync(PROBE_LOG, "utf8").trim().split("\n");
    const missing: string[] = [];
    const backwards: string[] = [];
    const last: Record<string, number> = {};
    const seen: Record<string, Set<number>> = {};
    const unread: string[] = [];
    for (const line of rounds) {
      const m = /^\d+ (\S+) (.*)$/.exec(line);
      if (!m || (m[1] !== NS1 && m[1] !== NS2)) {
        unread.push(line);
        continue;
      }
      const [, server, answers] = m as unknown as [string, string, string];
      for (const z of ZONES) {
        const soa = new RegExp(`^${z.replace(/\./g, "\\.")}\\.\\s+\\d+\\s+IN\\s+SOA\\s+\\S+\\s+\\S+\\s+(\\d+)\\s`, "m").exec(answers.split("|").join("\n"));
        const txt = answers.includes(`probe.${z}.`) && answers.includes(`"${TXT[z]}"`);
        if (!soa || !txt) {
          missing.push(`${server} ${z}: ${line}`);
          continue;
        }
        const s = Number(soa[1]);
        const key = `${server} ${z}`;
        if (last[key] !== undefined && s < (last[key] as number)) backwards.push(`${key}: ${last[key]} then ${s}`);
        last[key] = s;
        (seen[key] ??= new Set()).add(s);
      }
    }
    const perServer = rounds.filter((l) => l.includes(` ${NS2} `)).length;
    console.log(`adopt-secondary: ${rounds.length} probe rounds over the adoption (${perServer} to ns2); serials seen: ${Object.entries(seen).map(([k, v]) => `${k} ${[...v].join("→")}`).join("; ")}`);
    expect(perServer).toBeGreaterThan(40);
    expect(unread).toEqual([]);
    // The secondary (what this test is about): never two rounds in a row without a zone's answer
    // (no gap longer than one 50 ms probe interval). A single missed SOA at the instant named
    // swaps the hand-made zone for Globenet's was seen under load (docs/architecture.md,
    // "Adoption: what is left"): counted and printed, the next round answers.
    const ns2Rounds = rounds.filter((l) => l.split(" ")[1] === NS2);
    const gaps = ZONES.filter((z) => ns2Rounds.some((l, i) => i > 0 && missing.includes(`${NS2} ${z}: ${l}`) && missing.includes(`${NS2} ${z}: ${ns2Rounds[i - 1]}`)));
    const secondary = missing.filter((m) => m.startsWith(`${NS2} `));
    console.log(`adopt-secondary: the secondary missed ${secondary.length} of ${ns2Rounds.length * ZONES.length} answers${secondary.length ? `: ${secondary.join("; ")}` : ""}`);
    expect(gaps, `${missing.length} missing answers of ${rounds.length * ZONES.length}: ${missing.join("; ")}`).toEqual([]);
    expect(secondary.length).toBeLessThanOrEqual(ZONES.length);
    expect(backwards).toEqual([]);
    // Both serials were served by ns2 during the run: the hand-made one, then the primary's new one.
    for (const z of ZONES) expect([...(seen[`${NS2} ${z}`] ?? [])][0], z).toBe(SERIAL[z]);
    // The primary's own takeover (docs/architecture.md, "Adoption: what is left"): a new
    // inline-signed zone can miss an answer at the instant of its reconfiguration. Measured, said.
    const primary = missing.filter((m) => m.startsWith(`${NS1} `));
    console.log(`adopt-secondary: the primary missed ${primary.length} of ${(rounds.length - perServer) * ZONES.length} answers during its takeover${primary.length ? `: ${primary.join("; ")}` : ""}`);
  }, 300_000);

  it("the secondary's zones come from Globenet's configuration now, with the stack's key; the hand-made files are kept", () => {
    const local = readFileSync(hostPath("ns2", "/etc/bind/named.conf.local"), "utf8");
    expect(local).toMatch(/^\/\/ globenet takeover: zone "alpha\.example" \{$/m);
    expect(local).toMatch(/^\/\/ globenet takeover: zone "beta\.example" \{ type slave;/m);
    // The hand-made key statement is not a zone's: it stays.
    expect(local).toMatch(/^key "legacy-xfer"/m);
    expect(local).toContain('include "/etc/bind/globenet/named.conf.globenet";');
    const backups = readdirSync(hostPath("ns2", "/etc/bind")).filter((f) => f.startsWith("globenet-takeover."));
    expect(backups).toHaveLength(1);
    expect(readFileSync(hostPath("ns2", `/etc/bind/${backups[0]}/named.conf.local`), "utf8")).toMatch(/^zone "alpha\.example" \{$/m);
    // The hand-made copies stay where they were; Globenet's copies are named's (raw) in its own folder.
    expect(existsSync(hostPath("ns2", "/var/cache/bind/db.alpha.example"))).toBe(true);
    expect(readFileSync(hostPath("ns2", "/var/cache/bind/beta.example.txt"), "utf8")).toContain(String(SERIAL["beta.example"]));
    for (const z of ZONES) expect(existsSync(hostPath("ns2", `/var/cache/bind/globenet/${z}.zone`)), z).toBe(true);
    // The new transfers were signed with Globenet's key.
    // The new transfers were signed with Globenet's key (before: the hand-made key for alpha, none for beta).
    for (const z of ZONES) {
      expect(log("ns2"), z).toContain(`zone ${z}/IN: transferred serial ${serial(NS1, z)}: TSIG 'globenet-transfer'`);
      const before = log("ns2").split("\n").filter((l) => l.includes(`transfer of '${z}/IN' from ${NS1}#53: connected using`));
      expect(before.map((l) => l.replace(/^.*connected using \S+/, "")), z).toEqual([z === "alpha.example" ? " TSIG legacy-xfer" : "", " TSIG globenet-transfer"]);
    }
    // The old key opens nothing on the primary any more.
    const old = join(tmp, "old.key");
    writeFileSync(old, /key "legacy-xfer" \{[^}]*\};/.exec(local)?.[0] ?? "", { mode: 0o600 });
    expect(runOnHost(T, "ns2", "dig", ["-k", old, `@${NS1}`, "alpha.example", "AXFR"]).stdout).not.toMatch(/\sSOA\s/);
  });

  it("afterwards a change in git reaches the secondary through the signed NOTIFY and transfer, and a plain preview is quiet", async () => {
    expect((await engine("preview", "--expect-no-changes")).status).toBe(0);
    writeFileSync(join(tree, "zones/beta.example.yaml"), 'owner: alpha\ndnssec: false\nrecords:\n  - { name: probe, type: TXT, value: "beta in git" }\n');
    const r = await engine("up");
    expect(r.status, r.stderr + r.stdout).toBe(0);
    await waitFor("ns2 to serve the change", () => short(NS2, "probe.beta.example", "TXT") === '"beta in git"', 30_000, 100);
  }, 300_000);
});
