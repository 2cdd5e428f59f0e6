/**
 * System tier (root, network namespaces, named, Apache, MariaDB, sshd, the engine): the whole
 * migration of a server configured by hand (tests/helpers/legacy-host.ts), as the French
 * guide's runbook says it: npm run import → the volunteer's review (the mapping file, then
 * each remaining guess decided) → validate → npm run preview -- --adopt (no create, replace
 * or delete of what runs; the takeover of the hand-made zones and vhosts shown as updates) →
 * npm run up -- --adopt → npm run preview -- --expect-no-changes. Throughout the adoption a
 * probe asks each site for its page every 200 ms: no request fails. Before and after, each
 * zone answers the same records and the same DNSKEY (dig), with a serial past the one served;
 * each database keeps its rows (CHECKSUM TABLE) and its old password still opens it; the
 * hand-made files the takeover disabled are kept in the backup folder it names. Beside it, a
 * hand-made vhost that also serves a name the data lacks makes the adoption refuse, naming it.
 * On mpm_event the adoption is refused first (preview and up's guard), naming the host, its MPM
 * and the runbook's command; then the runbook's one planned restart switches Apache to mpm-itk.
 * The host is also a hypervisor (this machine's libvirtd, which its virsh reaches) running two
 * guests defined by hand: one as the data describes it (its own cloud-init seed), adopted
 * without being redefined or restarted (same UUID, same QEMU process); one without a seed,
 * whose memory the volunteer raises in git, updated the way the Guest's update does it (its
 * definition re-defined, restarted, its disk kept).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESOURCE_TOKENS } from "../lib/base/tokens";
import { parsePlan } from "../lib/guard/plan";
import { runOnHost } from "../lib/lab/netns";
import { pool } from "../provider/ssh/pool";
import { cli } from "./helpers/cli";
import { startLibvirtd, type Libvirtd } from "./helpers/libvirtd";
import { hostPath, LEGACY_ADDRESS, legacyDown, legacyInventory, legacyServices, legacyTopology, legacyUp, type LegacyServices } from "./helpers/legacy-host";
import { requireRoot, requireTools, run } from "./helpers/tools";

const ok =
  requireTools("mariadbd", "mariadb", "named", "named-checkconf", "named-checkzone", "rndc", "dig", "curl", "apache2ctl", "sshd", "ssh-keygen", "nsenter", "unshare", "ip", "setpriv", "crontab", "useradd", "a2enmod", "openssl", "virsh", "libvirtd", "qemu-img", "qemu-system-x86_64", "genisoimage", "isoinfo") &&
  requireRoot("a network namespace with its own /etc, named, Apache, MariaDB and sshd in it, libvirtd, and the engine");

const SITES = ["alice.example", "www.alice.example", "alice-old.example", "bob.example", "shop.alice.example", "orphan.example"];
/** The site served over HTTPS by hand (its certificate names it alone). */
const TLS_SITES = ["alice.example"];
/** What each zone is asked (the hand-written records; box HINFO is a type the schema lacks, reported by the import). */
const QUERIES: Record<string, string[]> = {
  "alice.example": ["alice.example A", "alice.example MX", "alice.example NS", "www.alice.example A", "mail.alice.example A", "old.alice.example A", "lists.alice.example TXT", "alice.example DNSKEY"],
  "alice-old.example": ["alice-old.example A", "www.alice-old.example A", "alice-old.example NS", "alice-old.example DNSKEY"],
  "orphan.example": ["orphan.example A", "orphan.example NS", "orphan.example DNSKEY"],
  "bob.example": ["bob.example A", "bob.example TXT", "bob.example NS", "bob.example DNSKEY"],
};
const PASSWORDS = { alice_wp: "alice-Db-Secret-1", bob_old: "bob-Old-Password-2" };
/**
 * The guests defined by hand on the legacy hypervisor (<handle>--<name>, so the import finds
 * their owner). SAME runs as the data will describe it, with a seed of its own at the model's
 * path; MORE has no seed and gets more memory in git. QEMU user networking (the lab's), no OS:
 * SeaBIOS with nothing to boot is a running domain, and ignores ACPI (shutdown_timeout_sec 1).
 */
const GUESTS = { same: "alice--atelier", more: "bob--archive" } as const;
const GUEST_MAC = { same: "52:54:00:a1:00:01", more: "52:54:00:b0:00:02" } as const;
const GUEST_IP = { same: "203.0.113.21", more: "203.0.113.22" } as const;

describe.skipIf(!ok)("adopting a hand-configured legacy host: import, review, adopt, with no failed request", () => {
  const tmp = ok ? mkdtempSync("/var/tmp/globenet-gad-") : "";
  const T = legacyTopology(join(tmp, "hosts"));
  const tree = join(tmp, "tree");
  let services: LegacyServices | undefined;
  const t0 = Date.now();
  const timings: string[] = [];
  const engineEnv = () => ({ GLOBENET_SSH_KEY_FILE: services?.sshd.keyFile, GLOBENET_LANG: "en", PULUMI_BACKEND_URL: `file://${join(tmp, "state")}`, PULUMI_CONFIG_PASSPHRASE: "legacy-adoption-test" });
  /** Adds how long `fn` took, and the load average then, to the timings printed at the end. */
  const timed = async <T>(name: string, fn: () => T | Promise<T>): Promise<T> => {
    const s = Date.now();
    try {
      return await fn();
    } finally {
      timings.push(`${name}: ${((Date.now() - s) / 1000).toFixed(1)} s (load ${readFileSync("/proc/loadavg", "utf8").split(" ")[0]})`);
    }
  };

  const engine = (...args: string[]) => timed(args.join(" "), () => cli([...args, "--stack", "legacy", "--root", tree], engineEnv()));
  const dig = (q: string) => {
    const [name, type] = q.split(" ") as [string, string];
    const r = run("dig", ["+norec", "+short", "+time=2", "+tries=2", `@${LEGACY_ADDRESS}`, name, type]);
    // An address query answers the addresses: a CNAME on the way (www.alice.example's, by hand)
    // and the A Globenet derives for a site's alias give the same ones.
    return r.stdout.split("\n").filter((l) => l && !(type === "A" && l.endsWith("."))).sort().join("\n");
  };
  const served = (zone: string) => Number(run("dig", ["+norec", "+short", `@${LEGACY_ADDRESS}`, zone, "SOA"]).stdout.trim().split(/\s+/)[2]);
  const zonesNow = () => Object.fromEntries(Object.values(QUERIES).flat().map((q) => [q, dig(q)]));
  const sql = (db: keyof typeof PASSWORDS, user: string, q: string) => {
    const cnf = join(tmp, `${db}.cnf`);
    writeFileSync(cnf, `[client]\nuser=${user}\npassword=${PASSWORDS[db]}\nsocket=${services?.db.socket}\n`, { mode: 0o600 });
    return runOnHost(T, "legacy", "mariadb", [`--defaults-file=${cnf}`, "-N", "-B", db, "-e", q], { timeoutMs: 30_000 });
  };
  const checksums = () => ({ alice: sql("alice_wp", "alice_wp", "CHECKSUM TABLE posts").stdout.trim(), bob: sql("bob_old", "bob", "CHECKSUM TABLE notes").stdout.trim() });
  const before: { zones?: Record<string, string>; serials?: Record<string, number>; sums?: ReturnType<typeof checksums> } = {};
  let fpmPid: number | undefined;
  let probe: ChildProcess | undefined;
  let lv: Libvirtd | undefined;
  const images = ok ? mkdtempSync("/var/tmp/globenet-gad-vm-") : "";
  const virsh = (...args: string[]) => {
    const r = lv?.virsh(...args);
    if (!r || r.status !== 0) throw new Error(`virsh ${args.join(" ")}: ${r?.stderr}`);
    return r.stdout.trim();
  };
  /** What says a guest was neither re-defined nor restarted: its UUID, its QEMU process and that process's start time. */
  const guestNow = (domain: string) => {
    const pid = Number(readFileSync(`/run/libvirt/qemu/${domain}.pid`, "utf8").trim());
    const started = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ")[19];
    return { uuid: virsh("domuuid", domain), pid, started, state: virsh("domstate", domain), disk: statSync(join(images, `${domain}.qcow2`)).ino };
  };
  const guestsBefore: Partial<Record<keyof typeof GUESTS, ReturnType<typeof guestNow>>> = {};
  /** A domain defined the way a volunteer did years ago: minimal XML, QEMU's user network on the command line. */
  const handMadeGuest = (key: keyof typeof GUESTS, port: number, seed: boolean) => {
    const d = GUESTS[key];
    const disk = join(images, `${d}.qcow2`);
    expect(run("qemu-img", ["create", "-q", "-f", "qcow2", "-b", join(images, "base.qcow2"), "-F", "qcow2", disk, "3G"]).status).toBe(0);
    const cdrom = seed ? `<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='${join(images, `${d}-seed.iso`)}'/><target dev='sda' bus='sata'/><readonly/></disk>` : "";
    if (seed) {
      const s = join(images, `${d}-seed`);
      mkdirSync(s);
      writeFileSync(join(s, "user-data"), "#cloud-config\nhostname: atelier\n");
      writeFileSync(join(s, "meta-data"), "instance-id: atelier-2011\n");
      writeFileSync(join(s, "network-config"), "version: 2\n");
      expect(run("genisoimage", ["-quiet", "-output", join(images, `${d}-seed.iso`), "-volid", "cidata", "-joliet", "-rock", join(s, "user-data"), join(s, "meta-data"), join(s, "network-config")]).status).toBe(0);
    }
    const xml = join(images, `${d}.xml`);
    writeFileSync(
      xml,
      `<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><name>${d}</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>` +
        `<os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os><cpu mode='maximum' check='none'/><clock offset='utc'/>` +
        `<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk>${cdrom}</devices>` +
        `<qemu:commandline><qemu:arg value='-netdev'/><qemu:arg value='user,id=n0,restrict=on,net=203.0.113.0/25,host=203.0.113.1,hostfwd=tcp:127.0.0.1:${port}-${GUEST_IP[key]}:22'/>` +
        `<qemu:arg value='-device'/><qemu:arg value='virtio-net-pci,netdev=n0,mac=${GUEST_MAC[key]},addr=0x1f'/></qemu:commandline></domain>`,
    );
    virsh("define", xml);
    virsh("start", d);
  };
  /**
   * One round of the probe: for each site, `host status redirect-or-- page-hash` (a failed
   * request reads status 000). The content counts, not only the status: a takeover serving
   * another page (the default site, a stale copy) would answer 200 too. A redirect is its status
   * and target: its body is Apache's boilerplate page, whose server signature Globenet's
   * configuration turns off on purpose (no version in error pages), so it is not hashed.
   */
  const PROBE_ROUND = () =>
    `probe_round() { for h in "$@"; do out=$(curl -s -m 2 -H "Host: $h" -w '\\n%{http_code} %{redirect_url}' http://${LEGACY_ADDRESS}/ || true); meta=\${out##*$'\\n'}; body=\${out%$'\\n'*}; code=\${meta%% *}; redir=\${meta#* }; hash=-; case $code in 2*) hash=$(printf %s "$body" | sha256sum | cut -c1-16) ;; esac; printf '%s %s %s %s\\n' "$h" "\${code:-000}" "\${redir:--}" "$hash"; done; ` +
    // HTTPS too: the TLS handshake, verified against the certificate the site had by hand (its
    // only trust anchor here), so mod_md's temporary self-signed certificate would read "failed".
    `for h in ${TLS_SITES.join(" ")}; do rc=0; curl -s -o /dev/null -m 2 --cacert ${TLS_CA()} --resolve "$h:443:${LEGACY_ADDRESS}" "https://$h/" || rc=$?; if [ $rc -eq 0 ]; then r=verified; else r=failed-$rc; fi; printf 'https://%s %s - -\\n' "$h" "$r"; done; }`;
  const BASELINE = new Map<string, string>();
  const PROBE_LOG = () => join(tmp, "probe.log");
  /** alice's hand-made certificate (self-signed), the probe's trust anchor for her site over HTTPS. */
  const TLS_CA = () => join(tmp, "alice-hand-made.pem");
  const PROBE_STOP = () => join(tmp, "probe.stop");

  beforeAll(async () => {
    lv = await timed("libvirtd", () => startLibvirtd());
    // QEMU runs as libvirt-qemu: it must reach the images.
    chmodSync(images, 0o755);
    expect(run("qemu-img", ["create", "-q", "-f", "qcow2", join(images, "base.qcow2"), "1G"]).status).toBe(0);
    const fwd = 30000 + (process.pid % 20000);
    await timed("guests defined and started", () => {
      handMadeGuest("same", fwd + 100, true);
      handMadeGuest("more", fwd + 101, false);
    });
    guestsBefore.same = guestNow(GUESTS.same);
    guestsBefore.more = guestNow(GUESTS.more);
    await timed("legacy host up", () => legacyUp(T));
    services = await timed("legacy services", () => legacyServices(T, [
      `CREATE DATABASE alice_wp; CREATE USER 'alice_wp'@'localhost' IDENTIFIED BY '${PASSWORDS.alice_wp}';`,
      "GRANT ALL PRIVILEGES ON alice_wp.* TO 'alice_wp'@'localhost';",
      "CREATE TABLE alice_wp.posts (id INT PRIMARY KEY, title TEXT); INSERT INTO alice_wp.posts VALUES (1, 'Premier article'), (2, 'Vélo et ville');",
      `CREATE DATABASE bob_old; CREATE USER 'bob'@'%' IDENTIFIED BY '${PASSWORDS.bob_old}';`,
      "GRANT SELECT ON bob_old.* TO 'bob'@'%';",
      "CREATE TABLE bob_old.notes (id INT PRIMARY KEY, body TEXT); INSERT INTO bob_old.notes VALUES (1, 'old notes');",
    ]));
    // orphan.example's serial, edited by hand long ago, is ahead of today's date: the takeover must go past it.
    const orphan = hostPath(T, "legacy", "/etc/bind/db.orphan.example");
    writeFileSync(orphan, readFileSync(orphan, "utf8").replace("hostmaster.legacy.example. 1 ", "hostmaster.legacy.example. 4000000000 "));
    expect(runOnHost(T, "legacy", "setpriv", ["--reuid=bind", "--regid=bind", "--clear-groups", "rndc", "reload", "orphan.example"]).status).toBe(0);
    mkdirSync(tree, { recursive: true });
    // The host's own name, so the zones keep their NS; no disk quota on this host (the volunteer's choice, said in the inventory).
    // Also a hypervisor: this machine's libvirtd, the lab's user network, the guests' base image.
    writeFileSync(
      join(tree, "Pulumi.legacy.yaml"),
      legacyInventory(services.sshd)
        .replace("fqdn: legacy.globenet.example", "fqdn: ns1.legacy.example")
        .replace("ssh: { user: root,", "home_quota: warn\n        ssh: { user: root,")
        .replace("roles: [web, db, dns-primary]", "roles: [web, db, dns-primary, hypervisor]")
        .replace("/var/lib/libvirt/images/base/debian-12.qcow2", join(images, "base.qcow2"))
        .trimEnd()
        .concat(`\n        capacity: { vcpus: 8, memory_mb: 8192, disk_gb: 100 }\n        libvirt: { domain_type: qemu, network: { type: user, ssh_forward_base: ${fwd + 200} }, images_dir: ${images}, shutdown_timeout_sec: 1 }\n`),
    );
    // bob.example is signed by BIND in the background: wait for its key.
    await timed("bob.example's key", async () => {
      const until = Date.now() + 60_000;
      while (!/\b257 3 13 /.test(dig("bob.example DNSKEY")) && Date.now() < until) await new Promise((r) => setTimeout(r, 300));
    });
    before.zones = zonesNow();
    before.serials = Object.fromEntries(Object.keys(QUERIES).map((z) => [z, served(z)]));
    before.sums = checksums();
  }, 180_000);

  afterAll(async () => {
    const failed: unknown[] = [];
    const fpm = hostPath(T, "legacy", "/run/php/php8.2-fpm.pid");
    if (existsSync(fpm)) fpmPid = Number(readFileSync(fpm, "utf8").trim());
    for (const step of [
      () => writeFileSync(PROBE_STOP(), ""),
      () => pool.close(),
      ...Object.values(GUESTS).flatMap((d) => [() => lv?.virsh("destroy", d), () => lv?.virsh("undefine", d)]),
      () => lv?.stop(),
      () => rmSync(images, { recursive: true, force: true }),
      () => (fpmPid ? process.kill(fpmPid) : undefined),
      () => services?.stop(),
      () => legacyDown(T),
      () => rmSync(tmp, { recursive: true, force: true }),
    ]) {
      try {
        await step();
      } catch (e) {
        failed.push(e);
      }
    }
    console.log(`adopt-legacy-host: ${((Date.now() - t0) / 1000).toFixed(1)} s in all; ${timings.join("; ")}`);
    if (failed.length) throw new AggregateError(failed, failed.map(String).join("; "));
  }, 180_000);

  it("the host answered as it runs before anything: its signed zone with its key, its sites, its databases", () => {
    expect(before.zones?.["bob.example DNSKEY"]).toMatch(/\b257 3 13 /);
    expect(before.zones?.["alice.example A"]).toBe(LEGACY_ADDRESS);
    expect(before.sums?.alice).toMatch(/^alice_wp\.posts\t\d+$/);
    for (const s of SITES) expect(run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", `Host: ${s}`, `http://${LEGACY_ADDRESS}/`]).stdout, s).toMatch(/^(200|301)$/);
  });

  it("import, then the volunteer's review: the mapping file, each remaining guess decided; validate accepts the files", async () => {
    const map = join(tmp, "import-map.yaml");
    writeFileSync(map, ["accounts:", "  alice: { name: Alice Martin, email: alice@alice.example }", "  bob: { name: Bob, email: bob@bob.example }", "  mallory: { name: Mallory, email: mallory@bob.example }", "sites:", "  orphan.example: { member: bob }", "zones:", "  alice.example: { owner: alice }", "  alice-old.example: { owner: alice }", "  bob.example: { owner: bob }", "  orphan.example: { owner: bob }", "databases:", "  bob_old: { member: bob }", ""].join("\n"));
    const r = await engine("import", "all", "--host", "legacy", "--map", map);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(readFileSync(join(tree, "zones/bob.example.yaml"), "utf8")).toContain("dnssec_policy: default");
    // The decisions a person makes, each as the TODO above it asks:
    const edit = (f: string, change: (s: string) => string) => writeFileSync(join(tree, f), change(readFileSync(join(tree, f), "utf8")));
    // unsigned zones stay unsigned (signing them is a change of its own, after the adoption);
    for (const z of ["alice.example", "alice-old.example", "orphan.example"]) edit(`zones/${z}.yaml`, (s) => s.replace("dnssec: true", "dnssec: false"));
    // alice's HTTPS needs an ACME CA this lab does not reach: her site is served over HTTP only here;
    edit("members/alice/member.yaml", (s) => s.replace(/tls: acme\n/g, "tls: none\n    tls_none_reason: the adoption test has no ACME CA\n"));
    // the files go where the stack serves them (the import's TODO says where), copied with their owners;
    const copy = (from: string, to: string, owner: string) => {
      cpSync(hostPath(T, "legacy", from), hostPath(T, "legacy", to), { recursive: true });
      expect(runOnHost(T, "legacy", "chown", ["-R", `${owner}:${owner}`, to.split("/").slice(0, 3).join("/") + "/sites"]).status).toBe(0);
    };
    copy("/home/alice/public_html", "/home/alice/sites/alice.example/htdocs", "alice");
    copy("/var/www/bob", "/home/alice/sites/shop.alice.example/htdocs", "alice");
    copy("/var/www/bob", "/home/bob/sites/bob.example/htdocs", "bob");
    copy("/var/www/orphan", "/home/bob/sites/orphan.example/htdocs", "bob");
    // the databases' current passwords, where Globenet's credentials files keep them (never in git).
    for (const [handle, db] of [["alice", "alice_wp"], ["bob", "bob_old"]] as const) {
      const dir = `/home/${handle}/.my.cnf.d`;
      mkdirSync(hostPath(T, "legacy", dir), { recursive: true });
      writeFileSync(hostPath(T, "legacy", `${dir}/${db}.cnf`), `[client_${db}]\npassword=${PASSWORDS[db]}\n`, { mode: 0o600 });
      expect(runOnHost(T, "legacy", "chown", ["-R", `${handle}:${handle}`, dir]).status).toBe(0);
    }
    // The guests, read from the hypervisor as they run (the lab's command line gives their addresses);
    expect(r.stdout).toContain("wrote members/alice/vps/atelier.yaml");
    expect(r.stdout).toContain("wrote members/bob/vps/archive.yaml");
    expect(readFileSync(join(tree, "members/bob/vps/archive.yaml"), "utf8")).toMatch(/memory_mb: 256\n[\s\S]*ipv4: 203\.0\.113\.22\n/);
    // bob's guest needs more memory: git says so (applied by the adoption, as an update).
    edit("members/bob/vps/archive.yaml", (s) => s.replace("memory_mb: 256", "memory_mb: 384"));
    // Then every TODO line goes, as a volunteer removes each once decided.
    const vpsFiles = (m: string) => (existsSync(join(tree, "members", m, "vps")) ? readdirSync(join(tree, "members", m, "vps")).map((f) => `members/${m}/vps/${f}`) : []);
    const written = [...readdirSync(join(tree, "zones")).map((z) => `zones/${z}`), ...readdirSync(join(tree, "members")).flatMap((m) => [`members/${m}/member.yaml`, ...vpsFiles(m)])];
    for (const f of written) edit(f, (s) => s.split("\n").filter((l) => !l.includes("TODO(import)")).join("\n"));
    const v = await engine("validate");
    // What stays is a warning: the host's address has no PTR in a zone Globenet serves (its provider's, here).
    expect(v.stderr).not.toMatch(/\d+ error\(s\)/);
    expect(v.status).toBe(0);
  }, 120_000);

  it("on mpm_event the adoption is refused before anything changes, naming the host, its MPM and the runbook's command", async () => {
    const mods = () => readdirSync(hostPath(T, "legacy", "/etc/apache2/mods-enabled")).filter((f) => /^mpm_.*\.load$/.test(f)).sort();
    expect(mods()).toEqual(["mpm_event.load"]);
    const said = "legacy: Apache runs mpm_event there; Globenet's sites need mpm-itk, and Apache changes its MPM only with a full restart";
    const how = "ssh root@legacy 'a2dismod -q mpm_event && a2enmod -q mpm_itk && systemctl restart apache2'";
    const p = await engine("preview", "--adopt");
    expect(p.status).toBe(1);
    expect(p.stdout).toContain("adoption: REFUSED — it would restart Apache to change its MPM, which is not allowed; nothing was changed:");
    expect(p.stdout).toContain(said);
    expect(p.stdout).toContain(how);
    // The apply's own guard refuses it too (the adoption's allowance would be --allow restart/legacy).
    const u = await engine("up", "--adopt");
    expect(u.status).toBe(1);
    expect(u.stdout).toContain("guard: BLOCKED — this apply would restart Apache (an MPM change), which is not allowed:");
    expect(u.stdout).toContain(said);
    expect(u.stderr).toContain("refused by the guard before changing anything");
    // Nothing changed: the MPM, the hand-made vhosts, no Globenet set.
    expect(mods()).toEqual(["mpm_event.load"]);
    expect(readdirSync(hostPath(T, "legacy", "/etc/apache2")).filter((f) => f.startsWith("globenet"))).toEqual([]);
  }, 600_000);

  it("the runbook's step before adopting: Apache switched to mpm-itk at a quiet hour (an MPM changes only with a restart)", () => {
    const on = (cmd: string, args: string[]) => runOnHost(T, "legacy", cmd, args, { timeoutMs: 60_000 });
    expect(on("a2dismod", ["-q", "mpm_event"]).status).toBe(0);
    expect(on("a2enmod", ["-q", "mpm_itk"]).status).toBe(0);
    // A full stop and start: apache2ctl restart (a HUP) cannot change the MPM either.
    expect(on("apache2ctl", ["stop"]).status).toBe(0);
    const down = Date.now() + 10_000;
    while (run("curl", ["-s", "-o", "/dev/null", "-m", "1", `http://${LEGACY_ADDRESS}/`]).status === 0 && Date.now() < down) run("sleep", ["0.2"]);
    expect(on("apache2ctl", ["start"]).status).toBe(0);
    for (const s of SITES) {
      const until = Date.now() + 10_000;
      let code = "";
      while (!/^(200|301)$/.test(code) && Date.now() < until) code = run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", `Host: ${s}`, `http://${LEGACY_ADDRESS}/`]).stdout;
      expect(code, s).toMatch(/^(200|301)$/);
    }
    // What each site answers before anything is adopted: status, redirect target and the page's hash.
    cpSync(hostPath(T, "legacy", "/etc/ssl/legacy/alice.pem"), TLS_CA());
    const baseline = run("bash", ["-c", `${PROBE_ROUND()}; probe_round "$@"`, "probe", ...SITES]);
    expect(baseline.status).toBe(0);
    for (const l of baseline.stdout.trim().split("\n")) {
      const [host, ...answer] = l.split(" ");
      BASELINE.set(host as string, answer.join(" "));
    }
    expect([...BASELINE.keys()].sort()).toEqual([...SITES, ...TLS_SITES.map((h) => `https://${h}`)].sort());
    expect(BASELINE.get("https://alice.example")).toBe("verified - -");
    // From here to the end of the adoption, a probe asks each site for its page every 200 ms.
    probe = spawn("bash", ["-c", `${PROBE_ROUND()}; while [ ! -e "$1" ]; do probe_round "\${@:2}"; sleep 0.2; done >> "$0"`, PROBE_LOG(), PROBE_STOP(), ...SITES], { stdio: "ignore" });
  });

  /** A hand-made file put on the host makes preview --adopt refuse with `message`; nothing of Globenet's appears under `etc`. */
  const refusedWith = async (path: string, content: string, message: string, etc: string) => {
    const file = hostPath(T, "legacy", path);
    writeFileSync(file, content);
    try {
      const r = await engine("preview", "--adopt");
      expect(r.status).toBe(1);
      expect(r.stdout + r.stderr).toContain(message);
    } finally {
      rmSync(file);
    }
    expect(readdirSync(hostPath(T, "legacy", etc)).filter((f) => f.startsWith("globenet"))).toEqual([]);
  };

  it("refuses a takeover that would stop serving a name the data lacks, naming the hand-made file, and changes nothing", async () => {
    // A hand-made vhost answering alice.example and also a name no member's site has.
    await refusedWith(
      "/etc/apache2/sites-enabled/zz-extra.conf",
      "<VirtualHost *:80>\n  ServerName www.alice.example\n  ServerAlias forgotten.example\n  DocumentRoot /var/www/orphan\n</VirtualHost>\n",
      "/etc/apache2/sites-enabled/zz-extra.conf: it also serves forgotten.example, which the data does not: disabling it would stop serving it",
      "/etc/apache2",
    );
  }, 300_000);

  it("refuses to take over a hand-made PHP-FPM pool sharing its file with a pool the data lacks, naming file and line, and changes nothing", async () => {
    // FPM would merge two [alice] sections into one pool: the takeover moves the hand-made file
    // aside, which it cannot do here without stopping [legacyapp].
    await refusedWith(
      "/etc/php/8.2/fpm/pool.d/zz-shared.conf",
      "[legacyapp]\nuser = www-data\nlisten = /run/php/legacyapp.sock\npm = ondemand\npm.max_children = 2\n\n[alice]\npm.max_children = 9\n",
      "/etc/php/8.2/fpm/pool.d/zz-shared.conf:7: the hand-made pool [alice] shares its file with [legacyapp] (line 1), which the data does not have",
      "/etc/php/8.2/fpm",
    );
    expect(existsSync(hostPath(T, "legacy", "/etc/php/8.2/fpm/pool.d/alice.conf"))).toBe(true);
  }, 300_000);

  it("refuses to adopt a VPS whose disk is not where the data says (it would be made anew), naming it, and changes nothing", async () => {
    const d = "bob--moved";
    const disk = join(images, "by-hand", "moved.qcow2");
    mkdirSync(join(images, "by-hand"));
    expect(run("qemu-img", ["create", "-q", "-f", "qcow2", "-b", join(images, "base.qcow2"), "-F", "qcow2", disk, "3G"]).status).toBe(0);
    writeFileSync(join(images, "moved.xml"), `<domain type='qemu'><name>${d}</name><memory unit='MiB'>256</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk></devices></domain>`);
    virsh("define", join(images, "moved.xml"));
    const file = join(tree, "members/bob/vps/moved.yaml");
    writeFileSync(file, "hypervisor: legacy\nvcpus: 1\nmemory_mb: 256\ndisk_gb: 3\nimage: debian-12\nipv4: 203.0.113.23\n");
    try {
      const r = await engine("preview", "--adopt");
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(new RegExp(`globenet:vm:Guest ${d} would be replaced \\(made anew\\) because of [^\\n]*diskPath`));
    } finally {
      rmSync(file);
      virsh("undefine", d);
    }
    expect(existsSync(disk)).toBe(true);
    expect(existsSync(join(images, `${d}.qcow2`))).toBe(false);
  }, 600_000);

  it("preview --adopt: everything running is taken over, nothing made anew, replaced or deleted; the takeovers are updates", async () => {
    const file = join(tmp, "plan.json");
    const r = await engine("preview", "--adopt", "--plan-json", file);
    expect(r.stderr + r.stdout).toMatch(/adoption: OK/);
    expect(r.status).toBe(0);
    const types = new Set<string>(Object.values(RESOURCE_TOKENS));
    const steps = parsePlan(readFileSync(file, "utf8"), file).steps.filter((s) => types.has(s.type) && s.op !== "same");
    // Made anew by design (provider/adopt-ids.ts): the crontab blocks and the slow query log settings.
    const made = steps.filter((s) => !["import", "update"].includes(s.op)).map((s) => `${s.op} ${s.type} ${s.name}`);
    expect(made.filter((m) => !/^create globenet:(hosting:Crontab|db:ServerSettings) /.test(m))).toEqual([]);
    expect(steps.filter((s) => s.op === "import").map((s) => s.name).sort()).toEqual(expect.arrayContaining(["alice", "bob", "alice_wp", "bob_old", "legacy-apache2", "legacy-bind"]));
    expect(steps.filter((s) => s.op === "update").map((s) => s.name)).toEqual(expect.arrayContaining(["legacy-apache2", "legacy-bind", "legacy-php8.2"]));
    // The takeovers, in the preview a volunteer reads:
    for (const set of ["legacy-apache2", "legacy-bind", "legacy-php8.2"]) expect(r.stdout).toMatch(new RegExp(`~ +globenet:files:FileSet ${set} update \\[diff: \\+takeover`));
    // The guests that run are taken over: the one as git describes it changes only its seed's
    // contents (no restart: cloud-init reads it at the next boot), the other its memory.
    expect(steps.filter((s) => s.op === "import").map((s) => s.name)).toEqual(expect.arrayContaining([GUESTS.same, GUESTS.more]));
    // A guest's inputs go as one JSON text (lib/base/spec-inputs.ts), and the Pulumi CLI's line
    // names what the engine compares, `spec`; the provider cannot make it name what is inside
    // (docs/architecture.md, "The engine and the provider", says what was tried). The adoption
    // guard's own lines below it name the properties, which is what a volunteer reviews.
    expect(r.stdout).toMatch(new RegExp(`~ +globenet:vm:Guest ${GUESTS.same} update \\[diff: ~spec\\]`));
    expect(r.stdout).toMatch(new RegExp(`~ +globenet:vm:Guest ${GUESTS.more} update \\[diff: ~spec\\]`));
    expect(r.stdout).toMatch(new RegExp(`^  update  globenet:vm:Guest ${GUESTS.same}: seedRefs$`, "m"));
    expect(r.stdout).toMatch(new RegExp(`^  update  globenet:vm:Guest ${GUESTS.more}: memoryMb, seedRefs, xmlRef$`, "m"));
    // The preview says which VPS the adoption restarts, and why.
    expect(r.stdout).toMatch(new RegExp(`restart  VPS ${GUESTS.more}: its update stops and starts it to apply .*memoryMb`));
    expect(r.stdout).not.toContain(`VPS ${GUESTS.same}:`);
  }, 300_000);

  it("up --adopt: the probe, asking each site every 200 ms since the import, saw no request fail", async () => {
    const done = new Promise((r) => (probe && probe.exitCode === null ? probe.on("exit", r) : r(undefined)));
    try {
      const r = await engine("up", "--adopt");
      expect(r.status, r.stderr + r.stdout).toBe(0);
      expect(r.stdout).not.toMatch(/up of legacy: .*(replace|delete)/);
      // Where the takeover kept the hand-made files it disabled, said after the apply.
      expect(r.stdout).toMatch(/^takeover: on legacy, the hand-made definitions it disabled are kept in \/etc\/apache2\/globenet-takeover\.\S+, \/etc\/bind\/globenet-takeover\.\S+, \/etc\/php\/8\.2\/fpm\/globenet-takeover\.\S+ \(putting them back/m);
    } finally {
      writeFileSync(PROBE_STOP(), "");
      await done;
    }
    const lines = readFileSync(PROBE_LOG(), "utf8").trim().split("\n");
    const failed = lines.filter((l) => !/^\S+ (200|301|302|verified) /.test(l));
    expect(lines.length).toBeGreaterThan((SITES.length + TLS_SITES.length) * 10);
    expect(failed, `${failed.length} of ${lines.length} requests failed`).toEqual([]);
    // And the same answer throughout: status, redirect target and page, as before the import; over
    // HTTPS a handshake with the site's own certificate. The HTTPS takeover gives mod_md the
    // hand-made certificate before the reload (docs/architecture.md, "Adoption: taking over
    // hand-made definitions"), so the HTTP→HTTPS redirect never lapses.
    const changed = lines.filter((l) => {
      const [host, ...answer] = l.split(" ");
      return BASELINE.get(host as string) !== answer.join(" ");
    });
    console.log(`adopt-legacy-host: the probe made ${lines.length} requests (${lines.length / (SITES.length + TLS_SITES.length)} rounds), ${changed.length} answered differently from before the adoption`);
    expect(changed, `before: ${[...BASELINE].map(([h, a]) => `${h} ${a}`).join("; ")}`).toEqual([]);
    // mod_md's store has the hand-made certificate for alice's managed domain, its key root's alone.
    const store = hostPath(T, "legacy", "/var/lib/apache2/md/domains/alice.example");
    expect(readFileSync(join(store, "pubcert.pem"), "utf8")).toBe(readFileSync(TLS_CA(), "utf8"));
    expect(statSync(join(store, "privkey.pem")).mode & 0o777).toBe(0o600);
    // Each site answers from Globenet's vhost now: the files copied above.
    expect(run("curl", ["-s", "-H", "Host: bob.example", `http://${LEGACY_ADDRESS}/`]).stdout).toBe("bob\n");
  }, 600_000);

  it("each zone answers the same records and the same DNSKEY, with a serial past the one it served", async () => {
    // BIND loads (and signs) the taken-over zones in the background after its reload.
    const until = Date.now() + 60_000;
    let now = zonesNow();
    while (JSON.stringify(now) !== JSON.stringify(before.zones) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 500));
      now = zonesNow();
    }
    expect(now).toEqual(before.zones);
    expect(before.serials?.["orphan.example"]).toBe(4000000000);
    for (const z of Object.keys(QUERIES)) expect(served(z), z).toBeGreaterThan(before.serials?.[z] ?? Infinity);
    // Carried past the hand-made serial (ahead of today's date), not today's YYYYMMDD01 that
    // secondaries would ignore: the zone file says served + 1; inline signing serves one more.
    // (read on the host: the set's root is a link to an absolute path there)
    expect(runOnHost(T, "legacy", "cat", ["/etc/bind/globenet/zones/orphan.example.zone"]).stdout).toMatch(/^\s*4000000001\s*;\s*serial/m);
    expect(served("orphan.example")).toBeGreaterThan(4000000000);
    expect(served("orphan.example")).toBeLessThan(4000000010);
    // bob.example's keys: copied into Globenet's key directory by the takeover, the originals where they were.
    const keys = (dir: string) => readdirSync(hostPath(T, "legacy", dir)).filter((f) => f.startsWith("Kbob.example.+")).sort();
    expect(keys("/var/cache/bind").length).toBeGreaterThanOrEqual(2);
    expect(keys("/var/lib/bind/globenet-keys")).toEqual(keys("/var/cache/bind"));
    // Globenet's file set serves them: the hand-made statements are commented out, the original kept.
    const local = readFileSync(hostPath(T, "legacy", "/etc/bind/named.conf.local"), "utf8");
    expect(local).toMatch(/^\/\/ globenet takeover: zone "alice\.example"/m);
    expect(local).toContain('include "/etc/bind/globenet/named.conf.globenet";');
    const backups = readdirSync(hostPath(T, "legacy", "/etc/bind")).filter((f) => f.startsWith("globenet-takeover."));
    expect(backups).toHaveLength(1);
    expect(readFileSync(hostPath(T, "legacy", `/etc/bind/${backups[0]}/named.conf.local`), "utf8")).toMatch(/^zone "alice\.example"/m);
  }, 120_000);

  it("each database keeps its rows, and its old password still opens it", () => {
    expect(checksums()).toEqual(before.sums);
    expect(sql("alice_wp", "alice_wp", "SELECT title FROM posts ORDER BY id").stdout.trim().split("\n")).toEqual(["Premier article", "Vélo et ville"]);
    // The hand-made vhosts are disabled, kept in the backup folder the takeover made.
    const backups = readdirSync(hostPath(T, "legacy", "/etc/apache2")).filter((f) => f.startsWith("globenet-takeover."));
    expect(backups).toHaveLength(1);
    expect(readdirSync(hostPath(T, "legacy", `/etc/apache2/${backups[0]}/sites-enabled`)).sort()).toEqual(["alice-old.conf", "alice.conf", "bob.conf", "orphan.conf", "shop.conf"]);
    expect(existsSync(hostPath(T, "legacy", "/etc/apache2/sites-available/alice.conf"))).toBe(true);
    // The hand-made pool of Globenet's name [alice] is moved aside (FPM would have merged the two), kept in its backup folder.
    expect(existsSync(hostPath(T, "legacy", "/etc/php/8.2/fpm/pool.d/alice.conf"))).toBe(false);
    const pools = readdirSync(hostPath(T, "legacy", "/etc/php/8.2/fpm")).filter((f) => f.startsWith("globenet-takeover."));
    expect(pools).toHaveLength(1);
    expect(readFileSync(hostPath(T, "legacy", `/etc/php/8.2/fpm/${pools[0]}/pool.d/alice.conf`), "utf8")).toMatch(/^\[alice\]\nuser = alice\n/);
  });

  it("the guests: the one git describes was not re-defined nor restarted; the other got its memory by a restart; no disk made anew", () => {
    const same = guestNow(GUESTS.same);
    expect(same).toEqual(guestsBefore.same);
    expect(same.state).toBe("running");
    // Its seed is Globenet's now (the hand-made one was replaced in place, for its next boot).
    expect(run("isoinfo", ["-i", join(images, `${GUESTS.same}-seed.iso`), "-R", "-x", "/user-data"]).stdout).not.toBe("#cloud-config\nhostname: atelier\n");
    const more = guestNow(GUESTS.more);
    expect(more.uuid).toBe(guestsBefore.more?.uuid);
    expect(more.disk).toBe(guestsBefore.more?.disk);
    expect(more.state).toBe("running");
    expect(more.pid).not.toBe(guestsBefore.more?.pid);
    expect(virsh("dominfo", GUESTS.more)).toMatch(/^Max memory: +393216 KiB$/m);
    expect(virsh("domblklist", GUESTS.more)).toContain(`${GUESTS.more}-seed.iso`);
  });

  it("then an ordinary preview finds nothing to do", async () => {
    const r = await engine("preview", "--expect-no-changes");
    expect(r.status, r.stderr + r.stdout).toBe(0);
  }, 300_000);
});
