/**
 * Zone transfers for real between a primary and a secondary name server (issue 18): one
 * network namespace per host (lib/lab/netns.ts, prefix "gd2"), each name server with its own
 * /etc/bind and BIND folders (lib/lab/bind-host.ts) and its own named, started by the lab's own
 * starter (daemons.ts's bind() through the host's Place, as the multi-host lab starts ns2), and
 * its own sshd; the provider,
 * here in this machine's namespace, configures both over SSH as in production: the transfer
 * key (TransferKey, made at create, a secret) then the bind file sets rendered from a data tree.
 *
 * Proved from the "web" host's namespace, a client like any other: the secondary serves the
 * signed zone (RRSIGs it transferred), a change on the primary reaches it within the NOTIFY
 * delay (measured and printed); an AXFR from the primary without the key is REFUSED (from web,
 * and from the secondary's own address), with a wrong key too, with the key it works; a
 * rotated key works and the old one is refused; the key is in no process list, no log, no error.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModel } from "../lib/check/build";
import { bindPrivateDirs, BIND_HOST_LOG } from "../lib/lab/bind-host";
import { bind, ensureDaemon, stopDaemon, type DaemonCtx, type LabDaemon } from "../lib/lab/daemons";
import { placeOf } from "../lib/lab/multi";
import { ensureLabDirs, labPaths } from "../lib/lab/paths";
import { runOnHost, onHost, topologyDown, topologyUp, type Topology } from "../lib/lab/netns";
import { paths } from "../lib/model/paths";
import { renderAll, SERIAL_TOKEN } from "../lib/render";
import { plain } from "../provider/resources/account-shared";
import { fileSetType, type FileSetOutputs } from "../provider/resources/file-set";
import { newTransferSecret, transferKeyType, type TransferKeyOutputs } from "../provider/resources/transfer-key";
import { pool } from "../provider/ssh/pool";
import { baseFiles, writeTree } from "./helpers/data-tree";
import { waitFor } from "./helpers/daemons-web";
import { startSshd, type Sshd } from "./helpers/sshd";
import { requireRoot, requireTool, requireTools, run } from "./helpers/tools";

const ok =
  requireTools("named", "named-checkconf", "dig", "tsig-keygen", "sshd", "ssh-keygen", "nsenter", "unshare", "ip", "setpriv") &&
  requireTool("rndc", "bind9-utils") &&
  requireRoot("network namespaces, two named and two sshd in them, the provider as root over SSH");

const NS1 = { v4: "192.0.2.53", v6: "2001:db8::53" };
const NS2 = "198.51.100.53";
const WEB = "192.0.2.10";
/**
 * How the provider (this machine) reaches each name server's sshd: an address of the test's
 * own, so the test runs while the lab (which routes the inventory's addresses) is up too.
 */
const SSH = { ns1: "198.51.100.201", ns2: "198.51.100.202" };
const ZONE = "velo-libre.example";

const T: Topology = {
  prefix: "gd2",
  stateDir: "",
  hosts: [
    // The inventory's address first: it is the source of what named sends (NOTIFY, transfers).
    { name: "ns1", addresses: [NS1.v4, NS1.v6, SSH.ns1], privateDirs: bindPrivateDirs() },
    { name: "ns2", addresses: [NS2, SSH.ns2], privateDirs: bindPrivateDirs() },
    { name: "web", addresses: [WEB] },
  ],
  runner: ["198.51.100.250"],
  runnerReach: [SSH.ns1, SSH.ns2],
};

/** The data: the test inventory (ns1 primary 192.0.2.53, ns2 secondary 198.51.100.53), a signed zone with a TXT we change. */
function bindFiles(txt: string): { ns1: Record<string, string>; ns2: Record<string, string> } {
  const root = writeTree({ "zones/velo-libre.example.yaml": `owner: velo-libre\nrecords:\n  - { name: probe, type: TXT, value: "${txt}" }\n` });
  const { model, errors } = loadModel(root, "test");
  if (!model) throw new Error(`the test's tree does not validate:\n${errors.map((e) => `${e.file}:${e.line} ${e.message}`).join("\n")}`);
  const out = { ns1: {} as Record<string, string>, ns2: {} as Record<string, string> };
  for (const f of renderAll(model, { serial: () => SERIAL_TOKEN })) {
    if ((f.host === "ns1" || f.host === "ns2") && f.daemon === "bind") out[f.host][f.path.replace(/^bind\//, "")] = f.content;
  }
  return out;
}

describe.skipIf(!ok)("zone transfers between a primary and a secondary, signed with the stack's TSIG key", () => {
  const sshd: Record<string, Sshd | undefined> = {};
  const named: Record<string, LabDaemon | undefined> = {};
  let ctx: DaemonCtx | undefined;
  let tmp = "";
  /** Where a file a host sees in its own folders is, from this machine. */
  const hostPath = (host: string, path: string) => join(T.stateDir, host, path);
  let key1: { id: string; outs: TransferKeyOutputs } | undefined;
  let key2: { id: string; outs: TransferKeyOutputs } | undefined;
  let set1: { id: string; outs: FileSetOutputs } | undefined;
  let set2: { id: string; outs: FileSetOutputs } | undefined;
  const secrets: string[] = [];
  const errors: string[] = [];
  /** Every distinct process command line seen while the test runs (ps -eo args, polled). */
  const argvs = new Set<string>();
  let polling: NodeJS.Timeout | undefined;

  const target = (h: "ns1" | "ns2") => ({ name: h, address: SSH[h], port: 22, user: "root", hostKey: sshd[h]?.hostKey ?? "" });
  const dig = (host: string, ...args: string[]) => runOnHost(T, host, "dig", ["+time=2", "+tries=1", ...args], { timeoutMs: 20_000 });
  const secretOf = (k: { outs: TransferKeyOutputs } | undefined) => plain<string>(k?.outs.secret);
  const log = (host: string) => (existsSync(hostPath(host, BIND_HOST_LOG)) ? readFileSync(hostPath(host, BIND_HOST_LOG), "utf8") : "");
  /** The secondary's answer for the zone's SOA, with DNSSEC records, asked from web. */
  const soaAtNs2 = () => dig("web", `@${NS2}`, "+norec", "+dnssec", "+noall", "+answer", ZONE, "SOA").stdout;
  const serialIn = (answer: string) => Number(/\sSOA\s+\S+\s+\S+\s+(\d+)\s/.exec(answer)?.[1] ?? NaN);

  beforeAll(async () => {
    tmp = mkdtempSync("/var/tmp/globenet-gd2-");
    T.stateDir = join(tmp, "hosts");
    topologyUp(T);
    const p = labPaths(tmp);
    ensureLabDirs(p);
    // bind() uses only the paths (records, logs); the rest of a DaemonCtx is for other daemons.
    ctx = { paths: p, sshPort: 22, sshd: { dropinDir: join(tmp, "sshd_config.d"), pidFile: join(tmp, "sshd.pid") }, hostKey: "", phpVersions: [] };
    for (const h of ["ns1", "ns2"]) {
      const d = bind(ctx, placeOf({ topology: T, files: [] }, h));
      named[h] = d;
      expect((await ensureDaemon(p, d)).how, h).toBe("started");
    }
    // One client key for both servers (the provider has one, from its environment).
    sshd.ns1 = await startSshd({ listen: { address: SSH.ns1, port: 22 }, wrap: (c, a) => onHost(T, "ns1", c, a) });
    sshd.ns2 = await startSshd({ listen: { address: SSH.ns2, port: 22 }, wrap: (c, a) => onHost(T, "ns2", c, a), clientKeyFile: sshd.ns1.keyFile });
    process.env.GLOBENET_SSH_KEY_FILE = sshd.ns1.keyFile;
    const poll = () =>
      execFile("ps", ["-eo", "args"], { maxBuffer: 16 << 20 }, (_e, out) => {
        for (const l of String(out).split("\n")) argvs.add(l);
        if (polling) polling = setTimeout(poll, 50);
      });
    polling = setTimeout(poll, 0);
  }, 120_000);

  afterAll(async () => {
    const failed: unknown[] = [];
    if (polling) clearTimeout(polling);
    polling = undefined;
    for (const step of [() => pool.close(), () => sshd.ns2?.stop(), () => sshd.ns1?.stop(), ...(["ns1", "ns2"] as const).map((h) => () => ctx && named[h] && stopDaemon(ctx.paths, named[h])), () => topologyDown(T), () => tmp && rmSync(tmp, { recursive: true, force: true })]) {
      try {
        await step();
      } catch (e) {
        failed.push(e);
      }
    }
    if (failed.length > 0) throw new AggregateError(failed, `cleanup failed: ${failed.map(String).join("; ")}`);
  }, 120_000);

  it("the primary makes the key, both name servers get it root:bind 0640, and the secondary serves the signed zone it transferred", async () => {
    key1 = await transferKeyType.create({ target: target("ns1"), rotation: 0 });
    const secret = secretOf(key1);
    expect(secret).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    secrets.push(secret);
    key2 = await transferKeyType.create({ target: target("ns2"), rotation: 0, secret });
    expect(secretOf(key2)).toBe(secret);
    for (const h of ["ns1", "ns2"]) {
      const st = statSync(hostPath(h, paths.transferKeyFile));
      expect(st.mode & 0o7777, h).toBe(0o640);
      expect(st.uid, h).toBe(0);
      expect(st.gid, h).toBe(Number(run("id", ["-g", "bind"]).stdout.trim()));
      expect(readFileSync(hostPath(h, paths.transferKeyFile), "utf8")).toContain(`secret "${secret}";`);
    }
    const files = bindFiles("v1");
    // The rendered files (what `npm run render` writes in the repository) only name the key's file.
    expect(JSON.stringify(files)).not.toContain(secret);
    expect(files.ns1["named.conf.globenet"]).toContain(`allow-transfer { key "globenet-transfer"; };`);
    expect(files.ns2["named.conf.globenet"]).toContain(`primaries { ${NS1.v4} key "globenet-transfer"; };`);
    set1 = await fileSetType.create({ target: target("ns1"), kind: "bind-primary", files: files.ns1 });
    await waitFor("the primary to serve the signed zone", () => /\sRRSIG\s+SOA\s/.test(dig("web", `@${NS1.v4}`, "+norec", "+dnssec", "+noall", "+answer", ZONE, "SOA").stdout), 60_000, 200);
    set2 = await fileSetType.create({ target: target("ns2"), kind: "bind-secondary", files: files.ns2 });
    const answer = await waitFor("the secondary to serve the signed zone", () => (/\sRRSIG\s+SOA\s/.test(soaAtNs2()) ? soaAtNs2() : ""), 60_000, 200);
    expect(answer).toMatch(new RegExp(`^${ZONE.replace(/\./g, "\\.")}\\.\\s+\\d+\\s+IN\\s+SOA\\s+ns1\\.globenet\\.example\\.`, "m"));
    // It is the transferred copy: named wrote it in the secondary's own cache, and the secondary holds no zone file of its own, nor any DNSSEC key.
    expect(existsSync(hostPath("ns2", paths.secondaryZoneFile(ZONE)))).toBe(true);
    expect(run("find", [hostPath("ns2", paths.dnssecKeyDir), "-type", "f"]).stdout.trim()).toBe("");
    expect(dig("web", `@${NS2}`, "+norec", "+short", `probe.${ZONE}`, "TXT").stdout.trim()).toBe('"v1"');
    expect(log("ns2")).toMatch(new RegExp(`transfer of '${ZONE.replace(/\./g, "\\.")}/IN' from ${NS1.v4.replace(/\./g, "\\.")}#53: Transfer status: success`));
    expect(log("ns2")).toMatch(/TSIG 'globenet-transfer'/);
  }, 180_000);

  it("a change on the primary reaches the secondary, signed, within the NOTIFY delay", async () => {
    const before = serialIn(soaAtNs2());
    expect(before).toBeGreaterThan(0);
    const t0 = Date.now();
    set1 = { id: set1?.id ?? "", outs: await fileSetType.update(set1?.id ?? "", set1?.outs as FileSetOutputs, { target: target("ns1"), kind: "bind-primary", files: bindFiles("v2").ns1 }) };
    const applied = Date.now();
    await waitFor("the secondary to serve the change", () => dig("web", `@${NS2}`, "+norec", "+short", `probe.${ZONE}`, "TXT").stdout.trim() === '"v2"', 60_000, 100);
    const seen = Date.now();
    const after = soaAtNs2();
    expect(serialIn(after)).toBeGreaterThan(before);
    expect(after).toMatch(/\sRRSIG\s+SOA\s/);
    expect(dig("web", `@${NS2}`, "+norec", "+dnssec", "+noall", "+answer", `probe.${ZONE}`, "TXT").stdout).toMatch(/\sRRSIG\s+TXT\s/);
    console.log(`dns-secondary: the change was served by ns2 ${seen - applied} ms after the apply returned (${seen - t0} ms after it started); the zone's refresh is 3600 s, so NOTIFY brought it`);
    // Well under the SOA refresh (an hour): only the primary's NOTIFY explains it.
    expect(seen - applied).toBeLessThan(30_000);
    expect(log("ns2")).toMatch(new RegExp(`notify from ${NS1.v4.replace(/\./g, "\\.")}#\\d+: serial \\d+`));
  }, 180_000);

  it("an AXFR from the primary without the key is REFUSED (from web, from the secondary's address, with a wrong key); with the key it works", async () => {
    const axfr = (host: string, ...extra: string[]) => dig(host, ...extra, `@${NS1.v4}`, ZONE, "AXFR").stdout;
    const refused = (out: string) => /Transfer failed/.test(out) && !/\sSOA\s/.test(out);
    expect(refused(axfr("web"))).toBe(true);
    expect(refused(axfr("ns2", "-b", NS2))).toBe(true);
    // A key of the right name and algorithm but another secret.
    writeFileSync(join(tmp, "wrong.key"), run("tsig-keygen", ["-a", "hmac-sha256", "globenet-transfer"]).stdout, { mode: 0o600 });
    const wrong = axfr("web", "-k", join(tmp, "wrong.key"));
    expect(wrong).not.toMatch(/\sSOA\s/);
    // The secondary, through the address match list, does not give the zone to anyone.
    expect(refused(dig("web", `@${NS2}`, ZONE, "AXFR").stdout)).toBe(true);
    // named says why: denied, for each client.
    await waitFor("the primary to log the refusals", () => /client @\S+ 192\.0\.2\.10#\d+ \(velo-libre\.example\): zone transfer 'velo-libre\.example\/AXFR\/IN' denied/.test(log("ns1")), 10_000);
    expect(log("ns1")).toMatch(/client @\S+ 198\.51\.100\.53#\d+ \(velo-libre\.example\): zone transfer 'velo-libre\.example\/AXFR\/IN' denied/);
    // With the key, from the secondary (its own copy of the key): the whole signed zone.
    const good = axfr("ns2", "-k", paths.transferKeyFile);
    expect(good).toMatch(/\sRRSIG\s+SOA\s/);
    expect(good).toMatch(/\sNSEC3PARAM\s/);
    expect(good).not.toMatch(/Transfer failed/);
  }, 120_000);

  it("rotation: a raised rotation makes a new key, the secondary follows, transfers go on; the old key is refused", async () => {
    const old = secretOf(key1);
    writeFileSync(join(tmp, "old.key"), readFileSync(hostPath("ns2", paths.transferKeyFile)), { mode: 0o600 });
    key1 = { id: key1?.id ?? "", outs: await transferKeyType.update(key1?.id ?? "", key1?.outs as TransferKeyOutputs, { target: target("ns1"), rotation: 1 }) };
    const fresh = secretOf(key1);
    secrets.push(fresh);
    expect(fresh).not.toBe(old);
    expect(transferKeyType.diff(key2?.id ?? "", key2?.outs as TransferKeyOutputs, { target: target("ns2"), rotation: 1, secret: fresh }).changes).toBe(true);
    key2 = { id: key2?.id ?? "", outs: await transferKeyType.update(key2?.id ?? "", key2?.outs as TransferKeyOutputs, { target: target("ns2"), rotation: 1, secret: fresh }) };
    expect(readFileSync(hostPath("ns2", paths.transferKeyFile), "utf8")).toContain(fresh);
    // Nothing else changed, yet named took the new key: a change still reaches the secondary.
    set1 = { id: set1?.id ?? "", outs: await fileSetType.update(set1?.id ?? "", set1?.outs as FileSetOutputs, { target: target("ns1"), kind: "bind-primary", files: bindFiles("v3").ns1 }) };
    await waitFor("the secondary to serve the change after the rotation", () => dig("web", `@${NS2}`, "+norec", "+short", `probe.${ZONE}`, "TXT").stdout.trim() === '"v3"', 30_000, 100);
    expect(dig("ns2", "-k", join(tmp, "old.key"), `@${NS1.v4}`, ZONE, "AXFR").stdout).not.toMatch(/\sSOA\s/);
    expect(dig("ns2", "-k", paths.transferKeyFile, `@${NS1.v4}`, ZONE, "AXFR").stdout).toMatch(/\sRRSIG\s+SOA\s/);
    // The state's read agrees with the hosts: no drift.
    expect((await transferKeyType.read(key1.id, key1.outs))?.drift).toEqual([]);
    expect((await transferKeyType.read(key2.id, key2.outs))?.drift).toEqual([]);
  }, 180_000);

  it("a key the host's configuration rejects is not applied: the error names the cause, not the key; the previous key stays", async () => {
    const local = hostPath("ns2", "/etc/bind/named.conf.local");
    const was = readFileSync(local, "utf8");
    writeFileSync(local, `${was}zone "broken.example" { type nonsense; };\n`);
    const before = readFileSync(hostPath("ns2", paths.transferKeyFile), "utf8");
    const next = newTransferSecret();
    secrets.push(next);
    try {
      await transferKeyType.update(key2?.id ?? "", key2?.outs as TransferKeyOutputs, { target: target("ns2"), rotation: 2, secret: next });
      throw new Error("the update should have failed");
    } catch (e) {
      const text = String((e as Error).message);
      errors.push(text);
      expect(text).toMatch(/named-checkconf rejects this host's configuration with the transfer key/);
      expect(text).toMatch(/named\.conf\.local/);
    } finally {
      writeFileSync(local, was);
    }
    expect(readFileSync(hostPath("ns2", paths.transferKeyFile), "utf8")).toBe(before);
  }, 60_000);

  it("the key is in no process's argv, no log and no error text", async () => {
    if (polling) clearTimeout(polling);
    polling = undefined;
    expect(secrets.length).toBeGreaterThanOrEqual(3);
    expect(argvs.size).toBeGreaterThan(50);
    // The poller saw the provider's remote steps (the transfer key script ran under bash -c).
    expect([...argvs].some((a) => a.includes("globenet-transfer.key"))).toBe(true);
    const logs = { "ns1 named.log": log("ns1"), "ns2 named.log": log("ns2"), "ns1 sshd": sshd.ns1?.log() ?? "", "ns2 sshd": sshd.ns2?.log() ?? "" };
    expect(logs["ns2 named.log"].length).toBeGreaterThan(200);
    for (const s of secrets) {
      expect([...argvs].filter((a) => a.includes(s))).toEqual([]);
      for (const [name, text] of Object.entries(logs)) expect(text.includes(s), name).toBe(false);
      for (const e of errors) expect(e.includes(s)).toBe(false);
    }
  });
});
