import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { spawn } from "node:child_process";
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStack, openWorkspace } from "../lib/engine/driver";
import { movesFromPlans, stateMove } from "../lib/engine/shard-move";
import { previewPlan } from "../lib/guard/collect";
import { judge } from "../lib/guard/rules";
import { member, RealHosts, writeSmallTree } from "./helpers/small-tree";
import type { Sshd } from "./helpers/sshd";
import { requireRoot, requireTools, run } from "./helpers/tools";

/**
 * The real engine, end to end: the project's driver runs index.ts's program inline, the
 * Pulumi CLI built by the toolchain drives the globenet provider, which works over real SSH
 * on real Apache, PHP-FPM, BIND and MariaDB on 127.0.0.1. Then a no-change preview, a
 * one-member change, and destroy (which archives first).
 */
const ok =
  requireTools("sshd", "ssh-keygen", "apache2ctl", "named", "named-checkzone", "dig", "curl", "php-fpm8.2", "mariadbd", "mariadb", "mariadb-dump", "useradd") &&
  requireRoot("the provider manages users and daemons on this machine");

const NO_TLS = "engine test without an ACME CA";

describe.skipIf(!ok)("the real engine on a small data tree", () => {
  const hosts = new RealHosts();
  let sshd: Sshd;
  const apachePort = 80;
  let dnsPort = 0;
  let stack: Stack;
  let root: string;
  let archive: string;
  const env = () => ({ GLOBENET_SSH_KEY_FILE: sshd.keyFile });
  const write = (rel: string, content: string) => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), content);
  };

  beforeAll(async () => {
    await hosts.start();
    sshd = hosts.sshd as Sshd;
    dnsPort = hosts.bindPort;
    root = mkdtempSync(join(tmpdir(), "globenet-e2e-"));
    archive = join(root, "archive");
    writeSmallTree(root, sshd, archive, NO_TLS);
    stack = await openStack({ stack: "lab", root, env: env() });
  }, 600_000);

  afterAll(async () => {
    // A refused start leaves everything as it found it: that MariaDB socket, those users and
    // /etc belong to whoever runs here (a lab, another test).
    await hosts.stop(["velo-libre", "ondes"]);
    if (hosts.owned && root) rmSync(root, { recursive: true, force: true });
  }, 120_000);

  it("up creates every resource on the real daemons", async () => {
    const r = await stack.up({ color: "never" });
    expect(r.summary.result).toBe("succeeded");
    expect(r.summary.resourceChanges?.create).toBeGreaterThanOrEqual(11);
    writeFileSync("/home/velo-libre/sites/velo-libre.test/htdocs/index.html", "<h1>Vélo Libre</h1>\n");
    const page = run("curl", ["-s", "-H", "Host: www.velo-libre.test", `http://127.0.0.1:${apachePort}/`]);
    expect(page.stdout).toContain("Vélo Libre");
    const soa = run("dig", ["+short", "-p", String(dnsPort), "@127.0.0.1", "velo-libre.test", "SOA"]);
    expect(soa.stdout).toMatch(/^lab\.globenet\.test\. hostmaster\.globenet\.test\. \d{10} /);
    const a = run("dig", ["+short", "-p", String(dnsPort), "@127.0.0.1", "www.velo-libre.test", "A"]);
    expect(a.stdout.trim()).toBe("127.0.0.1");
    const login = run("mariadb", ["--defaults-file=/home/velo-libre/.my.cnf", "--defaults-group-suffix=_velo_libre_db", "-e", "SELECT DATABASE()"]);
    expect(login.stderr).toBe("");
    expect(login.stdout).toContain("velo_libre_db");
  }, 600_000);

  it("keeps no private key and no database password in clear in the state", async () => {
    const stateDir = join(root, ".lab", "state", ".pulumi", "stacks");
    const files = readdirSync(stateDir, { recursive: true }).map(String).filter((f) => f.endsWith(".json"));
    expect(files.length).toBeGreaterThan(0);
    const state = files.map((f) => readFileSync(join(stateDir, f), "utf8")).join("\n");
    const cnf = readFileSync("/home/velo-libre/.my.cnf.d/velo_libre_db.cnf", "utf8");
    const password = /password\s*=\s*"?([^"\n]+)"?/.exec(cnf)?.[1] ?? "";
    expect(password.length).toBeGreaterThanOrEqual(24);
    expect(state).not.toContain(password);
    expect(state).toContain("ciphertext");
    expect(state).not.toMatch(/PRIVATE KEY/);
    expect(state).not.toContain(readFileSync(sshd.keyFile, "utf8").split("\n")[1] ?? "no key line");
  });

  it("a second preview finds nothing to change", async () => {
    const r = await stack.preview({ color: "never", expectNoChanges: true });
    expect(Object.keys(r.changeSummary).filter((k) => k !== "same")).toEqual([]);
  }, 300_000);

  it("a one-member change touches that member's resources and one file set per affected daemon", async () => {
    write("members/velo-libre/member.yaml", member("velo-libre", "velo-libre.test", ["www.velo-libre.test", "velo.velo-libre.test"], NO_TLS));
    const changed: string[] = [];
    await stack.preview({
      color: "never",
      onEvent: (e) => {
        const m = e.resourcePreEvent?.metadata;
        if (m && m.op !== "same") changed.push(`${m.op} ${m.type} ${m.urn.split("::").pop()}`);
      },
    });
    expect(changed.sort()).toEqual(["update globenet:files:FileSet lab-apache2", "update globenet:files:FileSet lab-bind"]);
    const r = await stack.up({ color: "never" });
    expect(r.summary.resourceChanges?.update).toBe(2);
    const page = run("curl", ["-s", "-H", "Host: velo.velo-libre.test", `http://127.0.0.1:${apachePort}/`]);
    expect(page.stdout).toContain("Vélo Libre");
  }, 600_000);

  it("destroy archives the members' homes and databases before removing them", async () => {
    const r = await stack.destroy({ color: "never" });
    expect(r.summary.result).toBe("succeeded");
    expect(run("id", ["velo-libre"]).status).not.toBe(0);
    const accounts = readdirSync(join(archive, "accounts"));
    expect(accounts.some((f) => /^velo-libre-.*\.tar\.gz$/.test(f))).toBe(true);
    const dumps = readdirSync(join(archive, "databases"));
    expect(dumps.some((f) => /^velo_libre_db-.*\.sql\.gz$/.test(f))).toBe(true);
    // The home's archive, not the crontab kept beside it under the same stamp (velo-libre-….crontab).
    const home = accounts.find((f) => /^velo-libre-.*\.tar\.gz$/.test(f)) as string;
    const listing = run("tar", ["-tzf", join(archive, "accounts", home)]);
    expect(listing.status).toBe(0);
    expect(listing.stdout).toContain("sites/velo-libre.test/htdocs/index.html");
  }, 600_000);

  describe("members split by hash (docs/architecture.md, \"Members split by hash\"): the bucket's part of the host's sets, after the host's shard", () => {
    const shards: Record<string, Stack> = {};
    const up = async (s: string) => {
      let out = "";
      try {
        const r = await shards[s]!.up({ color: "never", onOutput: (o) => (out += o) });
        return { ok: r.summary.result === "succeeded", out };
      } catch (e) {
        return { ok: false, out: `${out}\n${(e as Error).message}` };
      }
    };
    const get = (host: string, path = "/") => run("curl", ["-s", "-m", "5", "-H", `Host: ${host}`, `http://127.0.0.1:${apachePort}${path}`]).stdout;

    beforeAll(async () => {
      const inv = join(root, "Pulumi.lab.yaml");
      writeFileSync(inv, readFileSync(inv, "utf8").replace("    hosts:\n", "    shards:\n      site: { hosts: [lab] }\n      members: { members_of: lab, bucket: 0, buckets: 1 }\n    hosts:\n"));
      for (const s of ["site", "members"]) shards[s] = await openStack({ stack: `lab.${s}`, root, env: env() });
    }, 300_000);

    it("the bucket before its host's shard: accounts, databases and pools are made, the vhosts refused (the host's set wires the parts in), saying to apply the host's shard first", async () => {
      const r = await up("members");
      expect(r.ok).toBe(false);
      expect(r.out).toContain("lab: apache2 file set of part b0 failed (exit 2)");
      expect(r.out).toContain("apply the host's own shard first, then this part");
      expect(r.out).toContain("appliquez d'abord le fragment du serveur, puis celui de ce seau");
      expect(run("id", ["velo-libre"]).status).toBe(0);
      expect(existsSync("/etc/php/8.2/fpm/globenet-parts/b0/pool.d/globenet-velo-libre.conf")).toBe(true);
      expect(existsSync("/etc/apache2/globenet-parts/b0")).toBe(false);
      expect(get("www.velo-libre.test")).not.toContain("Vélo Libre");
    }, 600_000);

    it("the host's shard (shared settings, notice page, no member's file), then the bucket: the site answers; both previews are empty", async () => {
      const s = await up("site");
      expect(s.ok, s.out).toBe(true);
      expect(readdirSync("/etc/apache2/globenet")).not.toContain("sites-available");
      expect(existsSync("/etc/php/8.2/fpm/globenet")).toBe(false);
      const m = await up("members");
      expect(m.ok, m.out).toBe(true);
      expect(readdirSync("/etc/apache2/globenet-parts/b0/sites-available").sort()).toEqual(["ondes.test.conf", "velo-libre.test.conf"]);
      writeFileSync("/home/velo-libre/sites/velo-libre.test/htdocs/index.html", "<h1>Vélo Libre, split</h1>\n");
      expect(get("www.velo-libre.test")).toContain("Vélo Libre, split");
      for (const x of Object.values(shards)) expect(Object.keys((await x.preview({ color: "never" })).changeSummary).filter((k) => k !== "same")).toEqual([]);
    }, 600_000);

    it("a departure on a busy site is the bucket's alone: its pool and vhost go at the apply's one reload, then the account (home archived); the other member's site keeps answering", async () => {
      // A site that keeps a process as its member nearly all the time, and a home that takes a while to archive.
      const docroot = "/home/ondes/sites/ondes.test/htdocs";
      writeFileSync(join(docroot, "slow.php"), "<?php usleep(400000); echo 'busy';\n");
      run("chown", ["ondes:ondes", join(docroot, "slow.php")]);
      run("dd", ["if=/dev/urandom", "of=/home/ondes/big.bin", "bs=1M", "count=40", "status=none"]);
      run("chown", ["ondes:ondes", "/home/ondes/big.bin"]);
      expect(get("ondes.test", "/slow.php")).toBe("busy");
      const busy = spawn("bash", ["-c", `while :; do curl -s -o /dev/null -m 5 -H 'Host: ondes.test' http://127.0.0.1:${apachePort}/slow.php & sleep 0.15; done`], { stdio: "ignore", detached: true });
      write("members/ondes/member.yaml", "handle: ondes\nname: Association ondes\ncontact: { email: bureau@ondes.test }\nstatus: departed\n");
      rmSync(join(root, "zones/ondes.test.yaml"));
      const answers: string[] = [];
      const watch = setInterval(() => answers.push(get("www.velo-libre.test")), 500);
      try {
        const m = await up("members");
        expect(m.ok, m.out).toBe(true);
        expect(get("ondes.test", "/slow.php")).not.toBe("busy");
      } finally {
        clearInterval(watch);
        process.kill(-(busy.pid as number), "SIGKILL");
      }
      expect(run("id", ["ondes"]).status).not.toBe(0);
      const home = readdirSync(join(archive, "accounts")).filter((f) => /^ondes-.*\.tar\.gz$/.test(f)).sort().pop() as string;
      expect(run("tar", ["-tzf", join(archive, "accounts", home)]).stdout).toContain("ondes/big.bin");
      expect(answers.length).toBeGreaterThan(0);
      expect(answers.filter((a) => !a.includes("Vélo Libre, split"))).toEqual([]);
      // The host's shard had nothing of the departure to do first, and of its Apache and FPM sets nothing at all: only the zone gone from its BIND set (lab is the DNS server too).
      const later: string[] = [];
      const seen = (e: { resourcePreEvent?: { metadata: { op: string; type: string; urn: string } } }) => {
        const m = e.resourcePreEvent?.metadata;
        if (m && m.op !== "same") later.push(`${m.op} ${m.type} ${m.urn.split("::").pop()}`);
      };
      await shards.site!.preview({ color: "never", onEvent: seen });
      expect(later).toEqual(["update globenet:files:FileSet lab-bind"]);
      for (const x of ["members", "site"]) expect((await shards[x]!.destroy({ color: "never" })).summary.result).toBe("succeeded");
      expect(run("id", ["velo-libre"]).status).not.toBe(0);
      expect(existsSync("/etc/apache2/globenet-parts/b0")).toBe(false);
      expect(existsSync("/etc/php/8.2/fpm/globenet-parts/b0")).toBe(false);
    }, 900_000);
  });

  describe("a running host's members split by hash (docs/architecture.md, \"Members split by hash\"): the state moves, the bucket's part takes the site over, then the host's shard; the site answers throughout", () => {
    const stacks: Record<string, Stack> = {};
    const inv = () => join(root, "Pulumi.lab.yaml");
    const get = (path = "/") => run("curl", ["-s", "-m", "5", "-H", "Host: www.velo-libre.test", `http://127.0.0.1:${apachePort}${path}`]).stdout;
    const ids = async (s: Stack) =>
      new Map(
        (((await s.exportStack()).deployment as { resources?: Array<{ urn: string; id?: string; custom?: boolean; type: string }> }).resources ?? [])
          .filter((r) => r.custom && r.type.startsWith("globenet:"))
          .map((r) => [r.urn.split("::").slice(2).join("::"), r.id]),
      );

    it("the host in its own shard, applied: the site is served from the host's own Apache and PHP-FPM sets", async () => {
      // The describe before left the shards site and members; here the host's shard holds its members too.
      writeFileSync(inv(), readFileSync(inv(), "utf8").replace(/\n {6}members: \{ members_of: lab, bucket: 0, buckets: 1 \}/, ""));
      expect(readFileSync(inv(), "utf8")).not.toContain("members_of");
      stacks.site = await openStack({ stack: "lab.site", root, env: env() });
      const r = await stacks.site.up({ color: "never" });
      expect(r.summary.result).toBe("succeeded");
      expect(readdirSync("/etc/apache2/globenet/sites-available")).toContain("velo-libre.test.conf");
      expect(existsSync("/etc/php/8.2/fpm/globenet/pool.d/globenet-velo-libre.conf")).toBe(true);
      writeFileSync("/home/velo-libre/sites/velo-libre.test/htdocs/index.html", "<h1>Vélo Libre, running</h1>\n");
      expect(get()).toContain("Vélo Libre, running");
    }, 600_000);

    it("split where it runs: the state moves (ids kept), the bucket applies first and its part takes the vhost and the pool over at one reload, then the host's shard; every probe answered, both previews empty", async () => {
      const uid = run("id", ["-u", "velo-libre"]).stdout.trim();
      const before = await ids(stacks.site!);
      writeFileSync(inv(), readFileSync(inv(), "utf8").replace("      site: { hosts: [lab] }\n", "      site: { hosts: [lab] }\n      members: { members_of: lab, bucket: 0, buckets: 1 }\n"));
      stacks.members = await openStack({ stack: "lab.members", root, env: env() });
      const plans = { site: (await previewPlan(stacks.site!)).plan, members: (await previewPlan(stacks.members)).plan };
      // Applied as it stands, the host's shard would delete the member's account and database: the guard blocks it.
      expect(judge(plans.site, { maxShare: 0.1, allowances: [] }).ok).toBe(false);
      const moves = movesFromPlans({ site: plans.site.steps, members: plans.members.steps });
      expect(moves.map((m) => `${m.from}→${m.to}`)).toEqual(["site→members"]);
      await stateMove(await openWorkspace({ stack: "lab.site", root, env: env() }), "lab.site", "lab.members", moves[0]!.urns);
      const after = new Map([...(await ids(stacks.site!)), ...(await ids(stacks.members))]);
      for (const [k, id] of before) expect(after.get(k), k).toBe(id);
      // CI's order (lib/ci/shard-pipeline.ts, applyOrder): the bucket, then the host's shard.
      const answers: string[] = [];
      let probing = true;
      const probe = (async () => {
        while (probing) {
          answers.push(get());
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      try {
        const m = await stacks.members.up({ color: "never" });
        expect(m.summary.result).toBe("succeeded");
        expect(readdirSync("/etc/apache2/globenet-parts/b0/sites-available")).toEqual(["velo-libre.test.conf"]);
        expect(existsSync("/etc/php/8.2/fpm/globenet-parts/b0/pool.d/globenet-velo-libre.conf")).toBe(true);
        // Taken out of the host's live sets by that same apply, never defined twice.
        expect(existsSync("/etc/apache2/globenet/sites-available/velo-libre.test.conf")).toBe(false);
        expect(existsSync("/etc/php/8.2/fpm/globenet/pool.d/globenet-velo-libre.conf")).toBe(false);
        const s = await stacks.site!.up({ color: "never" });
        expect(s.summary.result).toBe("succeeded");
      } finally {
        probing = false;
        await probe;
      }
      expect(answers.length).toBeGreaterThan(10);
      expect(answers.filter((a) => !a.includes("Vélo Libre, running"))).toEqual([]);
      console.log(`split where it runs: ${answers.length} requests during the bucket's and the host's applies, all answered by the site`);
      expect(run("id", ["-u", "velo-libre"]).stdout.trim()).toBe(uid);
      expect(get()).toContain("Vélo Libre, running");
      for (const x of Object.values(stacks)) expect(Object.keys((await x.preview({ color: "never" })).changeSummary).filter((k) => k !== "same")).toEqual([]);
      for (const x of ["members", "site"]) expect((await stacks[x]!.destroy({ color: "never" })).summary.result).toBe("succeeded");
      expect(existsSync("/etc/apache2/globenet-parts/b0")).toBe(false);
    }, 900_000);
  });
});
