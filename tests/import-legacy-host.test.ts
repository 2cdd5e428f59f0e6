/**
 * System tier (root, network namespaces, named, Apache, sshd): `npm run import` against a
 * server configured by hand (tests/helpers/legacy-host.ts), reached through the provider's
 * SSH as production hosts are. Proved: the written members and zones validate once the
 * guesses are resolved (the test's mapping file, then the remaining TODO comments removed as a
 * volunteer would after checking them), validate refuses them while a TODO(import) remains,
 * what cannot be expressed is reported with the host's file and line, nothing on the host
 * changed (/etc/apache2, /etc/bind, /home, the cron spool: checksums before and after), and a
 * command outside the allowlist, or an argument shaped to escape it, is refused; a member's
 * authorized_keys planted as a link to /etc/shadow gives nothing (read as the member). A
 * MariaDB set up by hand on the host gives alice her `databases:` (its password never read).
 */
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostPath } from "./helpers/legacy-host";
import { NotAllowed, readOnlyRunner } from "../lib/import/remote";
import { pool } from "../provider/ssh/pool";
import { cli } from "./helpers/cli";
import { LEGACY_ADDRESS, legacyDown, legacyInventory, legacyServices, legacyTopology, legacyUp, type LegacyServices } from "./helpers/legacy-host";
import { startLibvirtd } from "./helpers/libvirtd";
import type { Sshd } from "./helpers/sshd";
import { requireRoot, requireTools, run } from "./helpers/tools";

const ok =
  requireTools("virsh", "libvirtd", "qemu-img", "mariadbd", "mariadb", "named", "named-checkconf", "named-checkzone", "apache2ctl", "sshd", "ssh-keygen", "nsenter", "unshare", "ip", "setpriv", "crontab", "useradd", "a2enmod", "openssl") &&
  requireRoot("a network namespace with its own /etc, named, Apache and sshd in it");

/** Everything under `dir`: path, type, mode, owner, size and content hash (links: their target). */
function digest(dir: string): string {
  const h = createHash("sha256");
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      h.update(`${p.slice(dir.length)} ${st.mode} ${st.uid}:${st.gid} ${st.size}\n`);
      if (st.isSymbolicLink()) h.update(readlinkSync(p));
      else if (st.isDirectory()) walk(p);
      else if (st.isFile()) h.update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest("hex");
}

const WATCHED = ["/etc/apache2", "/etc/bind", "/etc/php", "/home", "/var/spool/cron", "/etc/passwd"];

describe.skipIf(!ok)("npm run import against a hand-configured legacy host", () => {
  const tmp = ok ? mkdtempSync("/var/tmp/globenet-gim-") : "";
  const T = legacyTopology(join(tmp, "hosts"));
  const tree = join(tmp, "tree");
  let sshd: Sshd | undefined;
  let services: LegacyServices | undefined;
  const DB_PASSWORD = "alice-Db-Secret-1";
  const before: Record<string, string> = {};
  const watched = (p: string) => {
    const abs = hostPath(T, "legacy", p);
    return lstatSync(abs).isDirectory() ? digest(abs) : createHash("sha256").update(readFileSync(abs)).digest("hex");
  };
  const importCli = (...extra: string[]) => cli(["import", "all", "--host", "legacy", "--stack", "legacy", "--root", tree, ...extra], { GLOBENET_SSH_KEY_FILE: sshd?.keyFile, GLOBENET_LANG: "en" });
  const validate = () => cli(["validate", "--root", tree, "--stack", "legacy"], { GLOBENET_LANG: "en" });
  const t0 = Date.now();

  beforeAll(async () => {
    await legacyUp(T);
    // MariaDB on the legacy host, set up by hand: alice's database in the model's shape, bob's old one not.
    services = await legacyServices(T, [
      "CREATE DATABASE alice_wp; CREATE USER 'alice_wp'@'localhost' IDENTIFIED BY '" + DB_PASSWORD + "';",
      "GRANT ALL PRIVILEGES ON alice_wp.* TO 'alice_wp'@'localhost';",
      "CREATE DATABASE bob_old; CREATE USER 'bob'@'%' IDENTIFIED BY 'bob-Old-Pass-2';",
      "GRANT SELECT ON bob_old.* TO 'bob'@'%';",
    ]);
    sshd = services.sshd;
    for (const p of WATCHED) before[p] = watched(p);
    const inventory = legacyInventory(sshd);
    mkdirSync(tree, { recursive: true });
    writeFileSync(join(tree, "Pulumi.legacy.yaml"), inventory);
  }, 120_000);

  afterAll(async () => {
    const failed: unknown[] = [];
    delete process.env.GLOBENET_SSH_KEY_FILE;
    for (const step of [() => pool.close(), () => services?.stop(), () => legacyDown(T), () => rmSync(tmp, { recursive: true, force: true })]) {
      try {
        await step();
      } catch (e) {
        failed.push(e);
      }
    }
    console.log(`import-legacy-host: ${((Date.now() - t0) / 1000).toFixed(1)} s in all`);
    if (failed.length) throw new AggregateError(failed, failed.map(String).join("; "));
  }, 120_000);

  it("writes members and zones for review, with every guess marked and what it cannot express named by file and line", async () => {
    const r = await importCli();
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const out = r.stdout;
    for (const f of ["members/alice/member.yaml", "members/bob/member.yaml", "zones/alice.example.yaml", "zones/bob.example.yaml"]) {
      expect(out).toContain(`wrote ${f}`);
      expect(existsSync(join(tree, f)), f).toBe(true);
    }
    const alice = readFileSync(join(tree, "members/alice/member.yaml"), "utf8");
    expect(alice).toMatch(/host: alice\.example/);
    expect(alice).toMatch(/aliases:\s*\n\s*- www\.alice\.example/);
    expect(alice).toMatch(/redirects:\s*\n\s*- alice-old\.example\s*\n\s*- www\.alice-old\.example/);
    expect(alice).toContain('php: "8.2"');
    expect(alice).toContain("ssh-ed25519 ");
    expect(alice).toContain("TODO(import): the member's name, taken from the account's GECOS field \"Alice Martin\"");
    expect(alice).toContain("TODO(import): the files are in /home/alice/public_html; the stack serves /home/alice/sites/alice.example/htdocs");
    expect(alice).toContain("crontab (1 line(s)) stays on legacy");
    // The databases: alice's in her member file, on this db host; bob's old grants reported; no password anywhere.
    expect(alice).toMatch(/db_host: legacy\ndatabases:\n(\s+#.*\n)*\s+- name: alice_wp/);
    expect(out).toContain("database alice_wp: its account alice_wp@localhost keeps its live password");
    expect(out).toMatch(/legacy:mariadb\s+account "bob"@"%"\n\s+also has privileges on database "bob_old"/);
    expect(out + alice).not.toContain(DB_PASSWORD);
    const bob = readFileSync(join(tree, "members/bob/member.yaml"), "utf8");
    expect(bob).toContain("tls: none");
    expect(bob).not.toContain("ssh_keys");
    // Reported, with the host's file and line.
    expect(out).toMatch(/legacy:\/etc\/apache2\/sites-enabled\/alice\.conf:19\s+header always set X-Hand-Made yes/);
    expect(out).toMatch(/legacy:\/etc\/apache2\/sites-enabled\/orphan\.conf:1\s+site orphan\.example\n\s+cannot map it to a member: its owner root/);
    expect(out).toMatch(/legacy:\/home\/bob\/\.ssh\/authorized_keys:1\s+key of bob\n\s+has options/);
    expect(out).toMatch(/legacy:\/etc\/bind\/db\.alice\.example:12\s+box\.alice\.example\. 3600 IN HINFO/);
    expect(out).toMatch(/legacy:\/etc\/bind\/db\.alice\.example:11\s+old\.alice\.example\. 30 IN A 198\.51\.100\.99\n\s+TTL 30 is outside/);
    expect(out).toMatch(/zone bob\.example: its DNSSEC keys stay in \/var\/cache\/bind on legacy \(default\)/);
    expect(out).toMatch(/zone localhost\n\s+one of Debian's default zones/);
    const bobZone = readFileSync(join(tree, "zones/bob.example.yaml"), "utf8");
    expect(bobZone).toContain("Signed on the live server (default)");
    expect(bobZone).toContain("TODO(import): the owner is a guess: bob serves the site bob.example in this zone");
    // Two accounts claiming one document root: named with both vhosts; alice's shop is kept, marked.
    expect(out).toMatch(/legacy:\/etc\/apache2\/sites-enabled\/bob\.conf:1\s+\/var\/www\/bob\n\s+two accounts claim this document root: bob \(bob\.example, \/etc\/apache2\/sites-enabled\/bob\.conf:1\) and alice \(shop\.alice\.example, \/etc\/apache2\/sites-enabled\/shop\.conf:2\)/);
    expect(alice).toContain("TODO(import): PHP runs as alice but /var/www/bob belongs to bob: written under alice");
    // mallory's link to /etc/shadow was read as mallory: nothing of it came out.
    const shadowLine = new RegExp(`^root:${"[^:]*"}:\\d+:`, "m");
    expect(out).not.toMatch(shadowLine);
    // Read as root, each line of /etc/shadow would have come back as a refused key of hers.
    expect(out).not.toMatch(/mallory\/\.ssh\/authorized_keys:\d+\s+key of mallory/);
    const mallory = readFileSync(join(tree, "members/mallory/member.yaml"), "utf8");
    expect(mallory).not.toContain("ssh_keys");
    expect(mallory).not.toMatch(shadowLine);
    // An existing file is kept unless --force.
    const again = await importCli();
    expect(again.stdout).toContain("kept (already there; --force replaces it) members/alice/member.yaml");
  }, 60_000);

  it("validate refuses the files while a TODO(import) remains, and accepts them once resolved", async () => {
    const refused = await validate();
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/members\/alice\/member\.yaml:\d+:\d+: still has an import guess to check/);
    // The volunteer's decisions, in the mapping file, then an import that replaces the first guesses.
    const map = join(tmp, "import-map.yaml");
    writeFileSync(map, ["accounts:", "  alice: { name: Alice Martin, email: alice@alice.example }", "  bob: { name: Bob, email: bob@bob.example }", "  mallory: { name: Mallory, email: mallory@bob.example }", "sites:", "  orphan.example: { member: bob }", "zones:", "  alice.example: { owner: alice }", "  bob.example: { owner: bob }", "  orphan.example: { owner: bob }", "databases:", "  bob_old: { member: bob }", ""].join("\n"));
    const mapped = await importCli("--map", map, "--force");
    expect(mapped.status).toBe(0);
    expect(mapped.stdout).not.toMatch(/site orphan\.example\n\s+cannot map it/);
    expect(readFileSync(join(tree, "members/bob/member.yaml"), "utf8")).toContain("host: orphan.example");
    // What is left are checks only a person can make; the test accepts each, as a volunteer would after checking.
    const written = [...readdirSync(join(tree, "zones")).map((z) => `zones/${z}`), ...readdirSync(join(tree, "members")).map((m) => `members/${m}/member.yaml`)];
    expect(written.sort()).toEqual(["members/alice/member.yaml", "members/bob/member.yaml", "members/mallory/member.yaml", "zones/alice-old.example.yaml", "zones/alice.example.yaml", "zones/bob.example.yaml", "zones/orphan.example.yaml"]);
    for (const f of written) {
      const p = join(tree, f);
      writeFileSync(p, readFileSync(p, "utf8").split("\n").filter((l) => !l.includes("TODO(import)")).join("\n"));
    }
    const accepted = await validate();
    expect(accepted.stderr).not.toMatch(/\d+ error\(s\)/);
    expect(accepted.status).toBe(0);
  }, 60_000);

  it("runs nothing outside the allowlist: another command, a bad argument, a path outside the configuration are refused", async () => {
    const target = { name: "legacy", address: LEGACY_ADDRESS, port: 22, user: "root", hostKey: sshd?.hostKey ?? "" };
    const ro = readOnlyRunner(target);
    process.env.GLOBENET_SSH_KEY_FILE = sshd?.keyFile;
    const witness = join(tmp, "pwned");
    await expect(ro("rm" as never, ["-rf", "/home/alice"])).rejects.toThrow(NotAllowed);
    await expect(ro("account-details", [`alice; touch ${witness}`])).rejects.toThrow(/must be a unix user name/);
    // Shaped like a path, so it passes the rule: it reaches the host as one quoted argument, never as shell.
    await expect(ro("path-owners", [`/x'; touch ${witness}; '`])).resolves.toContain("\t?");
    await expect(ro("config-files", ["/etc/shadow"])).rejects.toThrow(/refused: \/etc\/shadow is not under \/etc\/apache2 or \/etc\/php/);
    await expect(ro("zone-file", ["/etc/shadow"])).rejects.toThrow(/Permission denied/);
    expect(existsSync(witness)).toBe(false);
    expect(existsSync(hostPath(T, "legacy", "/home/alice/public_html/index.php"))).toBe(true);
  }, 60_000);

  it("reads the guests of a hypervisor through the same allowlist (virsh -r on a domain defined by hand)", async () => {
    const lv = await startLibvirtd();
    const dir = join(tmp, "guests");
    mkdirSync(dir);
    const base = join(dir, "base-debian-12.qcow2");
    const domain = `gim-legacy-${process.pid}`;
    try {
      expect(run("qemu-img", ["create", "-q", "-f", "qcow2", base, "1G"]).status).toBe(0);
      expect(run("qemu-img", ["create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", join(dir, "shop.qcow2"), "5G"]).status).toBe(0);
      writeFileSync(
        join(dir, "shop.xml"),
        `<domain type='qemu'><name>${domain}</name><memory unit='MiB'>1024</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type><boot dev='hd'/></os><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${join(dir, "shop.qcow2")}'/><target dev='vda' bus='virtio'/></disk><interface type='bridge'><source bridge='br0'/><model type='virtio'/></interface><graphics type='vnc' port='-1'/></devices></domain>`,
      );
      const d = lv.virsh("define", join(dir, "shop.xml"));
      expect(d.stderr).toBe("");
      const hv = join(tmp, "tree-hv");
      mkdirSync(hv);
      writeFileSync(join(hv, "Pulumi.legacyhv.yaml"), readFileSync(join(__dirname, "fixtures", "import", "Pulumi.legacyhv.yaml"), "utf8").replace('"HOST_KEY"', JSON.stringify(sshd?.hostKey)).replace("BASE_IMAGE", base).replace("IMAGES_DIR", dir));
      const map = join(tmp, "import-map-hv.yaml");
      writeFileSync(map, `domains:\n  ${domain}: { member: alice, name: shop }\n`);
      const r = await cli(["import", "guests", "--host", "legacyhv", "--stack", "legacyhv", "--root", hv, "--map", map], { GLOBENET_SSH_KEY_FILE: sshd?.keyFile, GLOBENET_LANG: "en" });
      expect(r.stderr).toBe("");
      expect(r.stdout).toContain("wrote members/alice/vps/shop.yaml");
      const vps = readFileSync(join(hv, "members/alice/vps/shop.yaml"), "utf8");
      expect(vps).toMatch(/hypervisor: legacyhv/);
      expect(vps).toMatch(/vcpus: 1/);
      expect(vps).toMatch(/memory_mb: 1024/);
      expect(vps).toMatch(/disk_gb: 5/);
      expect(vps).toMatch(/image: debian-12/);
      // What the model's guests do not have is reported with the domain and the element.
      expect(r.stdout).toMatch(new RegExp(`legacyhv:domain ${domain}\\s+devices/graphics`));
    } finally {
      lv.virsh("undefine", "--", domain);
      await lv.stop();
    }
  }, 120_000);

  it("left the host as it was (checksums of its configuration, homes and cron spool)", () => {
    for (const p of WATCHED) expect(watched(p), p).toBe(before[p]);
    expect(Date.now() - t0).toBeLessThan(120_000);
  });
});
