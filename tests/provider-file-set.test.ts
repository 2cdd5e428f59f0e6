/**
 * globenet:files:FileSet against real daemons on 127.0.0.1 (no mocks): the provider connects
 * over SSH to a throwaway sshd as root and edits this machine's Apache, BIND and PHP-FPM
 * configuration, which the test snapshots first and restores afterwards.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERIAL_TOKEN } from "../lib/render/bind-zone";
import { renderMonitoring } from "../lib/render/monitoring";
import { NODE_EXPORTER_FILE, NODE_EXPORTER_NFT, renderNodeExporterDropIn, renderNodeExporterNft } from "../lib/render/monitoring-units";
import { mailSetFiles, renderMailFiles } from "../lib/render/mail";
import { MAIL_EXPORTER_TABLE, postfixExporterArgs } from "../lib/render/mail-exporter";
import { DAEMON_FILES, daemonsScript, renderDaemonsService, renderDaemonsTimer } from "../lib/render/monitoring-daemons";
import { mailPlan } from "../lib/model/mail";
import { inventoryWithMailHost, baseFiles, writeTree } from "./helpers/data-tree";
import { monitoringPlan } from "../lib/model/monitoring";
import { loadModel } from "../lib/check/build";
import { REPO_ROOT } from "../lib/base/repo";
import { appliedHashes, fileSetType, liveRoot, outputsOf, type FileSetInputs, type FileSetOutputs } from "../provider/resources/file-set";
import { checkInputs } from "../provider/resources/file-set-inputs";
import { generationOf, hashesOf, nextSerial, planSerials, serialAfter, serialsOverLive, sha256Hex, substituteSerials, todaySerial, tokenDigestOf } from "../provider/resources/file-set-serials";
import { fileStoreOf, storeFiles } from "../provider/resources/file-store";
import { pool } from "../provider/ssh/pool";
import { freePort, snapshotPaths, startApache, startBind, startFpm, waitFor, type Apache, type Bind, type Daemon, type Snapshot } from "./helpers/daemons-web";
import { startSshd, type Sshd } from "./helpers/sshd";
import { requireRoot, requireTool, requireTools, run } from "./helpers/tools";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPlQXbhaVkrio35CyUBbYuHfFAYU5pxDpkEEQoZ/+664 test";
const labTarget = { name: "lab", address: "127.0.0.1", port: 2222, user: "root", hostKey: HOST_KEY };

// ───────────────────────────────────────────── pure parts ─────────────────────────────────────────────

describe("FileSet serials (pure)", () => {
  const day = new Date("2025-11-26T23:59:59Z");
  const today = 2025112601;

  it("today's serial is YYYYMMDD01 in UTC", () => {
    expect(todaySerial(day)).toBe(today);
    expect(todaySerial(new Date("2025-11-27T00:30:00+02:00"))).toBe(2025112601);
    expect(todaySerial(new Date("2024-02-29T12:00:00Z"))).toBe(2024022901);
  });

  it("next serial: max(old + 1, today), in RFC 1982 terms, wrapping within 32 bits", () => {
    expect(nextSerial(undefined, today)).toBe(today);
    expect(nextSerial(2025112501, today)).toBe(today); // yesterday's
    expect(nextSerial(today, today)).toBe(2025112602); // the same day again
    expect(nextSerial(2025112699, today)).toBe(2025112700); // runs into tomorrow's numbers
    expect(nextSerial(2030010101, today)).toBe(2030010102); // a serial from the future still rises
    expect(nextSerial(0xffffffff, 0xfffffff0)).toBe(0); // wraps
    expect(nextSerial(0xffffffff, today)).toBe(today); // today is after 2^32 - 1 in serial arithmetic
    expect(serialAfter(0, 0xffffffff)).toBe(true);
    expect(nextSerial(5, today)).toBe(today); // small serials (hand-made zones) jump to the date form
    expect(serialAfter(today, 5)).toBe(true);
    // today is more than 2^31 "after" a serial near 4.2e9: that serial is then ahead, so +1.
    expect(nextSerial(4_000_000_000, today)).toBe(4_000_000_001);
  });

  it("plans serials: create gets today's; on update only changed or new zones move", () => {
    const a = `a ${SERIAL_TOKEN}`;
    const b = `b ${SERIAL_TOKEN}`;
    const files = { "named.conf.globenet": "x", "zones/a.test.zone": a, "zones/b.test.zone": b };
    expect(planSerials(files, day)).toEqual({ "zones/a.test.zone": today, "zones/b.test.zone": today });
    const previous = { files, serials: { "zones/a.test.zone": today, "zones/b.test.zone": 2025010105 } };
    const next = { ...files, "zones/b.test.zone": `${b} changed`, "zones/c.test.zone": `c ${SERIAL_TOKEN}` };
    expect(planSerials(next, day, previous)).toEqual({ "zones/a.test.zone": today, "zones/b.test.zone": today, "zones/c.test.zone": today });
    const again = { ...next, "zones/a.test.zone": `${a} changed` };
    expect(planSerials(again, day, { files: next, serials: planSerials(next, day, previous) })).toEqual({
      "zones/a.test.zone": 2025112602,
      "zones/b.test.zone": today,
      "zones/c.test.zone": today,
    });
    // A zone the state knows but without a serial: treated as changed from nothing.
    expect(planSerials(files, day, { files: { ...files, "zones/a.test.zone": "old" }, serials: {} })["zones/a.test.zone"]).toBe(today);
    // The same plans from the state's hashes of the files as applied (serials in place).
    const applied = (f: Record<string, string>, serials: Record<string, number>) => ({ hashes: hashesOf(substituteSerials(f, serials)), serials });
    expect(planSerials(next, day, applied(files, previous.serials))).toEqual({ "zones/a.test.zone": today, "zones/b.test.zone": today, "zones/c.test.zone": today });
    expect(planSerials(again, day, applied(next, planSerials(next, day, previous)))).toEqual({
      "zones/a.test.zone": 2025112602,
      "zones/b.test.zone": today,
      "zones/c.test.zone": today,
    });
  });

  it("create over zones the host already serves never moves a serial backwards", () => {
    const files = { "zones/a.test.zone": `a ${SERIAL_TOKEN}`, "zones/b.test.zone": `b ${SERIAL_TOKEN}`, "zones/c.test.zone": `c ${SERIAL_TOKEN}` };
    const live = { "zones/a.test.zone": "a 2025112607", "zones/b.test.zone": "b-old 2025112607" };
    expect(serialsOverLive(files, live, { "zones/a.test.zone": 2025112607, "zones/b.test.zone": 2025112607 }, day)).toEqual({
      "zones/a.test.zone": 2025112607, // identical apart from the serial: kept
      "zones/b.test.zone": 2025112608, // changed: past the live one
      "zones/c.test.zone": today, // new
    });
  });

  it("substitutes the token in zone files only, and hashes the result", () => {
    const files = { "zones/a.test.zone": `@ SOA ns. host. ( ${SERIAL_TOKEN} 1 2 3 4 )`, "named.conf.globenet": `// ${SERIAL_TOKEN} stays` };
    const out = substituteSerials(files, { "zones/a.test.zone": 2025112601 });
    expect(out["zones/a.test.zone"]).toBe("@ SOA ns. host. ( 2025112601 1 2 3 4 )");
    expect(out["named.conf.globenet"]).toBe(`// ${SERIAL_TOKEN} stays`);
    expect(generationOf(out)).toMatch(/^[0-9a-f]{16}$/);
    expect(generationOf(out)).toBe(generationOf({ "named.conf.globenet": out["named.conf.globenet"] as string, "zones/a.test.zone": out["zones/a.test.zone"] as string }));
    expect(generationOf(out)).not.toBe(generationOf(files));
  });
});

describe("FileSet check and diff (pure)", () => {
  const failuresOf = (news: Record<string, unknown>) => checkInputs(news).failures.map((f) => `${f.property}: ${f.reason}`);

  it("accepts a valid set, drops output keys and a phpVersion the kind does not use", () => {
    const r = fileSetType.check({ target: labTarget, kind: "apache2", files: { "sites-available/a.test.conf": "x", "conf-available/globenet.conf": "y" }, serials: null, generation: null });
    expect(r.failures).toBeUndefined();
    expect(r.inputs).toEqual({ target: labTarget, kind: "apache2", files: { "conf-available/globenet.conf": "y", "sites-available/a.test.conf": "x" } });
  });

  it("names the property of every problem", () => {
    expect(failuresOf({ target: { ...labTarget, port: 0, hostKey: "nope" }, kind: "php-fpm", files: {} })).toEqual([
      "target.port: required: the SSH port, an integer from 1 to 65535",
      expect.stringMatching(/^target\.hostKey: not a valid public key/),
      'phpVersion: required for kind php-fpm, like "8.2"',
    ]);
    expect(failuresOf({ target: labTarget, kind: "nginx", files: {} })).toEqual(['kind: must be one of apache2, php-fpm, bind-primary, bind-secondary, www, monitoring, mail, node-exporter; got "nginx"']);
    expect(failuresOf({ target: labTarget, kind: "www", phpVersion: "8.2", files: {} })).toEqual(["phpVersion: only for kind php-fpm, not www"]);
    expect(failuresOf({ target: labTarget, kind: "php-fpm", phpVersion: "8.2; rm", files: {} })).toEqual(['phpVersion: must be a PHP version like "8.2"; got "8.2; rm"']);
    expect(failuresOf({ kind: "www", files: {}, extra: 1 })).toEqual(["extra: unknown property (a FileSet takes target, kind, phpVersion, files)", "target: required: { name, address, port, user, hostKey } of the host"]);
  });

  it("rejects absolute paths, .., empty names and paths that do not fit the kind", () => {
    const files = {
      "/etc/passwd": "x",
      "sites-available/../../shadow.conf": "x",
      "": "x",
      "sites-available//a.conf": "x",
      "mods-enabled/evil.load": "x",
      "sites-available/a b.conf": "x",
      "sites-available/ok.test.conf": "x",
    };
    expect(failuresOf({ target: labTarget, kind: "apache2", files })).toEqual([
      'files["/etc/passwd"]: an absolute path: paths are relative to the set\'s root',
      'files["sites-available/../../shadow.conf"]: ".." would leave the set\'s root',
      'files[""]: an empty file name',
      "files[\"sites-available//a.conf\"]: an empty or '.' path component",
      'files["mods-enabled/evil.load"]: not a file of a apache2 set (expected sites-available/<site>.conf, conf-available/<name>.conf, md-event.sh or logrotate-sites.conf)',
      'files["sites-available/a b.conf"]: not a file of a apache2 set (expected sites-available/<site>.conf, conf-available/<name>.conf, md-event.sh or logrotate-sites.conf)',
    ]);
    expect(failuresOf({ target: labTarget, kind: "php-fpm", phpVersion: "8.2", files: { "pool.d/www.conf": "x", "pool.d/globenet-velo.conf": "x" } })).toEqual([
      'files["pool.d/www.conf"]: not a file of a php-fpm set (expected pool.d/globenet-<handle>.conf)',
    ]);
    expect(failuresOf({ target: labTarget, kind: "bind-secondary", files: { "named.conf.globenet": "x", "zones/a.test.zone": `${SERIAL_TOKEN}` } })).toEqual([
      'files["zones/a.test.zone"]: not a file of a bind-secondary set (expected named.conf.globenet (a secondary\'s zone copies are written by named itself))',
    ]);
    expect(failuresOf({ target: labTarget, kind: "bind-primary", files: { "zones/a.test.zone": "@ SOA ( 1 )" } })).toEqual([
      `files["zones/a.test.zone"]: a zone file must hold ${SERIAL_TOKEN} where the SOA serial goes (the provider owns serials: render with serial SERIAL_TOKEN)`,
      "files: a bind-primary set needs named.conf.globenet (named.conf.local includes it)",
    ]);
    expect(failuresOf({ target: labTarget, kind: "www", files: { "index.html": "x", "sub/x.html": "y" } })).toEqual([
      'files["sub/x.html"]: not a file of a www set (expected a file name at the top of the set, like index.html)',
    ]);
  });

  it("diff: content changes update in place; kind, PHP version or another host replace", () => {
    const olds: FileSetOutputs = { target: labTarget, kind: "apache2", hashes: { "sites-available/a.conf": sha256Hex("1") }, serials: {}, generation: "g" };
    const news: FileSetInputs = { target: labTarget, kind: "apache2", files: { "sites-available/a.conf": "1" } };
    expect(fileSetType.diff("id", olds, news)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
    expect(fileSetType.diff("id", olds, { ...news, files: { "sites-available/a.conf": "2" } })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect(fileSetType.diff("id", olds, { ...news, target: { ...labTarget, hostKey: `${HOST_KEY} new` } })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect(fileSetType.diff("id", olds, { ...news, target: { ...labTarget, address: "127.0.0.2" } })).toEqual({ changes: true, replaces: ["target"], deleteBeforeReplace: true });
    expect(fileSetType.diff("id", olds, { ...news, kind: "www" })).toEqual({ changes: true, replaces: ["kind"], deleteBeforeReplace: true });
    const fpm: FileSetOutputs = { ...olds, kind: "php-fpm", phpVersion: "8.2" };
    expect(fileSetType.diff("id", fpm, { ...news, kind: "php-fpm", phpVersion: "8.3" })).toEqual({ changes: true, replaces: ["phpVersion"], deleteBeforeReplace: true });
    expect(fileSetType.diff("id", olds, { ...news, files: { ...news.files, "sites-available/b.conf": "2" } }).changes).toBe(true);
    expect(fileSetType.diff("id", olds, { ...news, files: {} }).changes).toBe(true);
  });

  it("a part (a bucket's share of a split web host's sites): apache2 and php-fpm only, a name like b0, member sites only, no takeover; another part is another set", () => {
    expect(failuresOf({ target: labTarget, kind: "www", part: "b0", files: {} })).toEqual(["part: only for kinds apache2 and php-fpm, not www"]);
    expect(failuresOf({ target: labTarget, kind: "apache2", part: "b0;rm", files: {} })).toEqual(['part: contains `;` (a part name is lowercase letters, digits and single hyphens, like "b0")']);
    expect(failuresOf({ target: labTarget, kind: "apache2", part: "b0", files: { "conf-available/x.conf": "x", "sites-available/a.test.conf": "y", "logrotate-sites.conf": "z" } })).toEqual([
      'files["conf-available/x.conf"]: not a file of a apache2 part (expected sites-available/<site>.conf: a part holds member sites only)',
      'files["logrotate-sites.conf"]: not a file of a apache2 part (expected sites-available/<site>.conf: a part holds member sites only)',
    ]);
    expect(failuresOf({ target: labTarget, kind: "apache2", part: "b0", files: {}, takeover: ["a.test"] })).toEqual(["takeover: not for a part: an adoption takes hand-made sites over into the host's own set"]);
    const files = { "pool.d/globenet-a.conf": "x" };
    expect(fileSetType.check({ target: labTarget, kind: "php-fpm", phpVersion: "8.2", part: "b1", files }).inputs).toEqual({ target: labTarget, kind: "php-fpm", phpVersion: "8.2", part: "b1", files });
    const olds = outputsOf({ target: labTarget, kind: "php-fpm", phpVersion: "8.2", part: "b1", files }, {});
    expect(olds.part).toBe("b1");
    expect(fileSetType.diff("id", olds, { target: labTarget, kind: "php-fpm", phpVersion: "8.2", part: "b1", files })).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
    expect(fileSetType.diff("id", olds, { target: labTarget, kind: "php-fpm", phpVersion: "8.2", part: "b2", files })).toEqual({ changes: true, replaces: ["part"], deleteBeforeReplace: true });
    expect(fileSetType.diff("id", olds, { target: labTarget, kind: "php-fpm", phpVersion: "8.2", files })).toEqual({ changes: true, replaces: ["part"], deleteBeforeReplace: true });
    expect(liveRoot("apache2", undefined, "b0")).toBe("/etc/apache2/globenet-parts/b0");
    expect(liveRoot("php-fpm", "8.2", "b0")).toBe("/etc/php/8.2/fpm/globenet-parts/b0");
  });

  it("outputs keep the generation and the manifest's digest, not each file's hash or serial (the host has those); a primary its zones' names", () => {
    const zone = `@ SOA ns. host. ( ${SERIAL_TOKEN} 1 2 3 4 )`;
    const news: FileSetInputs = { target: labTarget, kind: "bind-primary", files: { "named.conf.globenet": "conf", "zones/a.test.zone": zone } };
    const outs = outputsOf(news, { "zones/a.test.zone": 2025112601 });
    expect(outs).toEqual({
      target: labTarget,
      kind: "bind-primary",
      generation: generationOf(substituteSerials(news.files, { "zones/a.test.zone": 2025112601 })),
      // The refs applied (token form, before any serial), digested: a preview of the same refs reads no zone.
      tokenDigest: tokenDigestOf({ "named.conf.globenet": sha256Hex("conf"), "zones/a.test.zone": sha256Hex(zone) }),
      zoneNames: "a.test",
    });
    expect(JSON.stringify(outs)).not.toContain("SOA");
    expect(fileSetType.diff("id", outs, news).changes).toBe(false);
    expect(fileSetType.diff("id", outs, { ...news, files: { ...news.files, "zones/a.test.zone": `${zone}\nwww A 192.0.2.1` } }).changes).toBe(true);
    expect(fileSetType.diff("id", outs, { ...news, files: { "named.conf.globenet": "conf" } }).changes).toBe(true);
    // Every kind has the digest; only a primary has zones.
    const www = outputsOf({ target: labTarget, kind: "www", files: { "index.html": "x" } }, {});
    expect(www).toEqual({ target: labTarget, kind: "www", generation: generationOf({ "index.html": "x" }), tokenDigest: tokenDigestOf({ "index.html": sha256Hex("x") }) });
    // A state of before the manifests kept each file's hash and serial: compared file by file.
    const hashed: FileSetOutputs = { ...outs, tokenDigest: undefined, hashes: hashesOf(substituteSerials(news.files, { "zones/a.test.zone": 2025112601 })), serials: { "zones/a.test.zone": 2025112601 } };
    expect(fileSetType.diff("id", hashed, news).changes).toBe(false);
    expect(fileSetType.diff("id", hashed, { ...news, files: { ...news.files, "named.conf.globenet": "conf 2" } }).changes).toBe(true);
    // A state written when outputs held the contents (token form) diffs the same way.
    const legacy: FileSetOutputs = { target: labTarget, kind: "bind-primary", files: news.files, serials: hashed.serials, generation: outs.generation };
    expect(appliedHashes(legacy)).toEqual(hashed.hashes);
    expect(fileSetType.diff("id", legacy, news).changes).toBe(false);
    expect(fileSetType.diff("id", legacy, { ...news, files: { ...news.files, "named.conf.globenet": "conf 2" } }).changes).toBe(true);
  });
});

// ─────────────────────────────────────────── real daemons ───────────────────────────────────────────

const ok =
  requireTools("sshd", "ssh-keygen", "apache2ctl", "named", "named-checkconf", "named-checkzone", "dig", "curl", "php-fpm8.2", "useradd", "userdel") &&
  requireTool("rndc", "bind9-utils") &&
  requireTool("a2enmod", "apache2") &&
  requireRoot("the provider reconfigures this machine's Apache, BIND and PHP-FPM as root");

/** Everything the provider (and the daemons' helpers) may change; restored after the test. */
const SNAPSHOT = [
  "/etc/apache2",
  "/var/lib/apache2", // a2enmod's "enabled by admin" markers
  "/etc/bind",
  "/etc/php/8.2/fpm",
  "/var/lib/bind/globenet-signing",
  "/var/lib/bind/globenet-keys",
  "/var/cache/bind/globenet",
  "/var/www/globenet-suspended",
  "/var/www/globenet-suspended.d",
  "/etc/postfix",
  "/etc/dovecot",
  "/etc/opendkim.conf",
  "/etc/default/postsrsd",
  "/etc/globenet/mail",
];

describe.skipIf(!ok)("FileSet on real daemons over SSH", () => {
  let sshd: Sshd | undefined;
  let snapshot: Snapshot | undefined;
  const target = () => ({ name: "lab", address: "127.0.0.1", port: sshd?.port ?? 0, user: "root", hostKey: sshd?.hostKey ?? "" });
  const cleanups: Array<() => Promise<void> | void> = [];

  beforeAll(async () => {
    for (const p of [...SNAPSHOT.filter((p) => p.includes("globenet") && !p.startsWith("/var/cache") && !/globenet-(keys|signing)$/.test(p)), "/etc/apache2/globenet", "/etc/php/8.2/fpm/globenet", "/etc/bind/globenet", "/etc/prometheus/globenet-node", "/etc/prometheus/globenet-node.d"]) {
      if (existsSync(p)) throw new Error(`${p} exists: a lab or an earlier run uses this machine's file sets; this test would clobber it`);
    }
    snapshot = snapshotPaths(SNAPSHOT);
    sshd = await startSshd();
    process.env.GLOBENET_SSH_KEY_FILE = sshd.keyFile;
  });

  afterAll(async () => {
    const errors: unknown[] = [];
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (e) {
        errors.push(e);
      }
    }
    await pool.close().catch((e: unknown) => errors.push(e));
    await sshd?.stop().catch((e: unknown) => errors.push(e));
    try {
      snapshot?.restore();
    } catch (e) {
      errors.push(e);
    }
    if (errors.length > 0) throw new AggregateError(errors, `cleanup failed: ${errors.map(String).join("; ")}`);
  });

  const readLink = (p: string) => (existsSync(p) ? readlinkSync(p) : undefined);
  /** Modules enabled in the machine's Apache. */
  const enabledMods = () => readdirSync("/etc/apache2/mods-enabled").filter((f) => f.endsWith(".load")).map((f) => f.slice(0, -5)).sort();
  /** Switches the machine's Apache (snapshot) to another MPM with Debian's own tools. */
  const setMpm = (mpm: "event" | "itk") => {
    const off = mpm === "event" ? ["mpm_itk", "mpm_prefork", "mpm_worker"] : ["mpm_event", "mpm_worker"];
    run("a2dismod", ["-q", "-f", ...off.filter((m) => existsSync(`/etc/apache2/mods-enabled/${m}.load`))]);
    const r = run("a2enmod", ["-q", mpm === "event" ? "mpm_event" : "mpm_itk"]);
    if (r.status !== 0) throw new Error(`a2enmod: ${r.stderr}`);
  };
  const stagingLeft = (gens: string) => (existsSync(gens) ? readdirSync(gens).filter((f) => f.startsWith(".stage")) : []);

  // ─────────────────────────────────────────── apache2 ───────────────────────────────────────────
  describe("apache2", () => {
    let apache: Apache;
    let web: string;
    let port: number;
    const vhost = (host: string, extra = "") =>
      [`<VirtualHost *:${port}>`, `    ServerName ${host}`, ...(extra ? [`    ${extra}`] : []), `    DocumentRoot ${web}/${host}`, `    <Directory ${web}/${host}>`, "        Require all granted", "    </Directory>", "</VirtualHost>", ""].join("\n");
    const get = (host: string) => run("curl", ["-s", "-m", "5", "-H", `Host: ${host}`, `http://127.0.0.1:${port}/`]).stdout.trim();
    const common = "# Globenet shared settings (test)\n<Directory /var/www/globenet-suspended>\n    Require all granted\n</Directory>\n";
    let outs: FileSetOutputs;
    /** The files last applied (the outputs keep only their hashes). */
    let applied: Record<string, string>;
    let id: string;

    beforeAll(async () => {
      port = await freePort();
      web = mkdtempSync("/tmp/globenet-fs-web-");
      chmodSync(web, 0o755);
      cleanups.push(() => rmSync(web, { recursive: true, force: true }));
      for (const host of ["a.test", "b.test"]) {
        mkdirSync(join(web, host));
        writeFileSync(join(web, host, "index.html"), `site ${host}\n`);
      }
      // Debian's default MPM, as on a web host before its first wiring with mpm-itk: the
      // create must switch it, with a full restart (a graceful reload cannot change the MPM).
      setMpm("event");
      apache = await startApache(port);
      cleanups.push(() => apache.stop());
    });

    const inputs = (files: Record<string, string>): FileSetInputs => ({ target: target(), kind: "apache2", files });

    it("create: two vhosts are served, wired in once; the MPM becomes prefork with mpm-itk (one restart) and status pages go", async () => {
      applied = { "conf-available/globenet.conf": common, "sites-available/a.test.conf": vhost("a.test"), "sites-available/b.test.conf": vhost("b.test") };
      expect(enabledMods()).toEqual(expect.arrayContaining(["mpm_event", "status"]));
      const r = await fileSetType.create(inputs(applied));
      id = r.id;
      outs = r.outs;
      expect(outs.generation).toBe(generationOf(applied));
      expect(outs.tokenDigest).toBe(tokenDigestOf(hashesOf(applied)));
      expect(id).toBe("lab:apache2");
      expect(outs.hashes).toBeUndefined();
      expect(readLink("/etc/apache2/globenet")).toBe(`/etc/apache2/globenet.d/${outs.generation}`);
      expect(readFileSync("/etc/apache2/conf-enabled/zz-globenet.conf", "utf8")).toContain("IncludeOptional globenet/conf-available/*.conf");
      expect(readFileSync("/etc/apache2/sites-enabled/zz-globenet.conf", "utf8")).toContain("IncludeOptional globenet/sites-available/*.conf");
      for (const m of ["proxy_fcgi", "setenvif", "rewrite", "headers", "expires"]) expect(existsSync(`/etc/apache2/mods-enabled/${m}.load`)).toBe(true);
      const mods = enabledMods();
      expect(mods).toEqual(expect.arrayContaining(["mpm_prefork", "mpm_itk"]));
      expect(mods.filter((m) => ["mpm_event", "mpm_worker", "status", "info"].includes(m))).toEqual([]);
      // What the host had, for delete to put back.
      expect(readFileSync("/etc/apache2/globenet.d/.modules-before", "utf8").split("\n").filter(Boolean).sort()).toEqual(["mpm_event", "status"]);
      await waitFor("a.test to be served", () => get("a.test") === "site a.test");
      // A new master: Apache was restarted for its MPM, and it now runs mpm-itk.
      expect(apache.currentPid()).not.toBe(apache.pid);
      expect(run("apache2ctl", ["-M"]).stdout).toMatch(/mpm_itk_module/);
      expect(run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: a.test", `http://127.0.0.1:${port}/server-status`]).stdout).toBe("404");
      expect(get("b.test")).toBe("site b.test");
      // The first vhost of the port answers names it does not know: www.b.test is not served by b yet.
      expect(get("www.b.test")).toBe("site a.test");
      expect(stagingLeft("/etc/apache2/globenet.d")).toEqual([]);
    });

    it("update: an added alias is served after graceful; the previous generation is kept", async () => {
      const before = readLink("/etc/apache2/globenet");
      const master = apache.currentPid();
      const news = inputs({ ...applied, "sites-available/b.test.conf": vhost("b.test", "ServerAlias www.b.test") });
      expect(fileSetType.diff(id, outs, news)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
      outs = await fileSetType.update(id, outs, news);
      applied = news.files;
      expect(fileSetType.diff(id, outs, news).changes).toBe(false);
      await waitFor("www.b.test to be served by b.test", () => get("www.b.test") === "site b.test");
      expect(readdirSync("/etc/apache2/globenet.d").filter((d) => !d.startsWith(".")).sort()).toEqual([before?.split("/").pop(), outs.generation].sort());
      expect(get("a.test")).toBe("site a.test");
      // Nothing to switch this time: a graceful reload, the same master.
      expect(apache.currentPid()).toBe(master);
    });

    it("read: a hand edit of a live vhost shows as drift; the next update puts the rendered file back", async () => {
      expect(await fileSetType.read(id, outs)).toEqual(outs);
      const live = "/etc/apache2/globenet/sites-available/a.test.conf";
      const edited = `${readFileSync(live, "utf8")}# edited by hand\n`;
      writeFileSync(live, edited);
      writeFileSync("/etc/apache2/globenet/sites-available/extra.conf", "# not from git\n");
      const seen = await fileSetType.read(id, outs);
      expect(seen?.hashes).toEqual(hashesOf({ ...applied, "sites-available/a.test.conf": edited, "sites-available/extra.conf": "# not from git\n" }));
      expect(seen?.generation).not.toBe(outs.generation);
      const news = inputs(applied);
      expect(fileSetType.diff(id, seen as FileSetOutputs, news).changes).toBe(true);
      outs = await fileSetType.update(id, seen as FileSetOutputs, news);
      expect(readFileSync(live, "utf8")).toBe(news.files["sites-available/a.test.conf"]);
      expect(existsSync("/etc/apache2/globenet/sites-available/extra.conf")).toBe(false);
      expect(await fileSetType.read(id, outs)).toEqual(outs);
    });

    it("update: a broken vhost fails with Apache's message; the live set and the sites stay", async () => {
      const before = readLink("/etc/apache2/globenet");
      const broken = inputs({ ...applied, "sites-available/b.test.conf": vhost("b.test", "NotADirective on") });
      const err = await fileSetType.update(id, outs, broken).then(
        () => undefined,
        (e: unknown) => (e instanceof Error ? e.message : String(e)),
      );
      expect(err).toMatch(/^lab: apache2 file set rejected, the live files are untouched:/);
      expect(err).toContain("Invalid command 'NotADirective'");
      expect(err).toContain("/etc/apache2/globenet/sites-available/b.test.conf"); // the staging path, shown as the live one
      expect(err).not.toMatch(/globenet-fileset\.|\.stage\./);
      expect(readLink("/etc/apache2/globenet")).toBe(before);
      expect(stagingLeft("/etc/apache2/globenet.d")).toEqual([]);
      expect(readdirSync("/tmp").filter((f) => f.startsWith("globenet-fileset."))).toEqual([]);
      expect(get("a.test")).toBe("site a.test");
      expect(get("www.b.test")).toBe("site b.test");
      expect(await fileSetType.read(id, outs)).toEqual(outs);
    });

    // A web host's members split by hash: each bucket's sites in a part of its own, checked with the host's set and the other parts live.
    const partInputs = (part: string, files: Record<string, string>): FileSetInputs => ({ target: target(), kind: "apache2", part, files });
    const partOuts: Record<string, { id: string; outs: FileSetOutputs; files: Record<string, string> }> = {};
    const rejection = (p: Promise<unknown>) =>
      p.then(
        () => "applied",
        (e: unknown) => (e instanceof Error ? e.message : String(e)),
      );

    it("parts: two buckets' sites, applied at once, go live beside the host's set; the host's own sites stay", async () => {
      for (const host of ["c.test", "d.test"]) {
        mkdirSync(join(web, host), { recursive: true });
        writeFileSync(join(web, host, "index.html"), `site ${host}\n`);
      }
      // A host wired before parts existed: the parts' first apply adds their include to its wiring.
      const wiring = "/etc/apache2/sites-enabled/zz-globenet.conf";
      expect(readFileSync(wiring, "utf8")).toContain("IncludeOptional globenet-parts/*.conf");
      writeFileSync(wiring, readFileSync(wiring, "utf8").replace("IncludeOptional globenet-parts/*.conf\n", ""));
      // Rewritten by a rename that keeps the file's mode (an admin's 0640 here).
      chmodSync(wiring, 0o640);
      const inode = lstatSync(wiring).ino;
      const wanted = { b0: { "sites-available/c.test.conf": vhost("c.test") }, b1: { "sites-available/d.test.conf": vhost("d.test") } };
      // Two shards applying at once: the daemon's lock makes each check see the other's set as it is.
      const made = await Promise.all(Object.entries(wanted).map(async ([part, files]) => [part, files, await fileSetType.create(partInputs(part, files))] as const));
      for (const [part, files, r] of made) partOuts[part] = { id: r.id, outs: r.outs, files };
      expect(partOuts.b0?.id).toBe("lab:apache2:b0");
      expect(readFileSync(wiring, "utf8")).toContain("IncludeOptional globenet-parts/*.conf");
      expect([lstatSync(wiring).mode & 0o777, lstatSync(wiring).ino === inode, existsSync(`${wiring}.globenet-new`)]).toEqual([0o640, false, false]);
      expect(partOuts.b1?.outs.mpm).toBeUndefined();
      expect(readLink("/etc/apache2/globenet-parts/b0")).toBe(`/etc/apache2/globenet-parts.d/b0/${partOuts.b0?.outs.generation}`);
      expect(readFileSync("/etc/apache2/globenet-parts/b0.conf", "utf8")).toContain("IncludeOptional globenet-parts/b0/sites-available/*.conf");
      await waitFor("c.test and d.test to be served", () => get("c.test") === "site c.test" && get("d.test") === "site d.test");
      expect(get("a.test")).toBe("site a.test");
      expect(get("www.b.test")).toBe("site b.test");
      for (const part of ["b0", "b1"]) expect(await fileSetType.read(partOuts[part]?.id as string, partOuts[part]?.outs as FileSetOutputs)).toEqual(partOuts[part]?.outs);
      expect(stagingLeft("/etc/apache2/globenet-parts.d/b0")).toEqual([]);
    });

    it("parts: a site in two sets with two contents is refused (mod_md would stop Apache), naming both; a broken part is refused; the live sites stay", async () => {
      const b1 = partOuts.b1 as { id: string; outs: FileSetOutputs; files: Record<string, string> };
      const before = readLink("/etc/apache2/globenet-parts/b1");
      const twice = await rejection(fileSetType.update(b1.id, b1.outs, partInputs("b1", { ...b1.files, "sites-available/a.test.conf": vhost("a.test", "ServerAlias other.a.test") })));
      expect(twice).toMatch(/^lab: apache2 file set of part b1 rejected, the live files are untouched:/);
      expect(twice).toContain("sites-available/a.test.conf: in /etc/apache2/globenet-parts/b1/sites-available/a.test.conf and in /etc/apache2/globenet/sites-available/a.test.conf");
      expect(twice).toContain("apply first the set that drops it");
      // The host's set is checked with the parts live: it cannot take a part's site either.
      const hostTwice = await rejection(fileSetType.update(id, outs, inputs({ ...applied, "sites-available/c.test.conf": vhost("c.test", "ServerAlias other.c.test") })));
      expect(hostTwice).toContain("sites-available/c.test.conf: in /etc/apache2/globenet-parts/b0/sites-available/c.test.conf and in /etc/apache2/globenet/sites-available/c.test.conf");
      const broken = await rejection(fileSetType.update(b1.id, b1.outs, partInputs("b1", { "sites-available/d.test.conf": vhost("d.test", "NotADirective on") })));
      expect(broken).toContain("Invalid command 'NotADirective'");
      expect(broken).toContain("/etc/apache2/globenet-parts/b1/sites-available/d.test.conf");
      expect(broken).not.toMatch(/globenet-fileset\.|\.stage\./);
      expect(readLink("/etc/apache2/globenet-parts/b1")).toBe(before);
      for (const host of ["a.test", "c.test", "d.test"]) expect(get(host)).toBe(`site ${host}`);
    });

    it("parts: a site a part brings byte for byte from the host's set moves at the part's one reload, answering throughout; the host's next apply without it is accepted", async () => {
      const b1 = partOuts.b1 as { id: string; outs: FileSetOutputs; files: Record<string, string> };
      const moving = applied["sites-available/b.test.conf"] as string;
      const answers: string[] = [];
      let polling = true;
      const poll = (async () => {
        while (polling) {
          answers.push(get("www.b.test"));
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      try {
        const files = { ...b1.files, "sites-available/b.test.conf": moving };
        b1.outs = await fileSetType.update(b1.id, b1.outs, partInputs("b1", files));
        b1.files = files;
      } finally {
        polling = false;
        await poll;
      }
      expect(answers.length).toBeGreaterThan(3);
      expect(answers.filter((a) => a !== "site b.test")).toEqual([]);
      expect(readdirSync("/etc/apache2/globenet-parts/b1/sites-available").sort()).toEqual(["b.test.conf", "d.test.conf"]);
      expect(readdirSync("/etc/apache2/globenet/sites-available").sort()).toEqual(["a.test.conf"]);
      // The host's state still lists it: a refresh sees it gone; the next apply without it goes through.
      expect(Object.keys((await fileSetType.read(id, outs))?.hashes ?? {})).not.toContain("sites-available/b.test.conf");
      const { "sites-available/b.test.conf": _moved, ...rest } = applied;
      outs = await fileSetType.update(id, outs, inputs(rest));
      applied = rest;
      expect(await fileSetType.read(id, outs)).toEqual(outs);
      expect(get("www.b.test")).toBe("site b.test");
    });

    it("parts: without the host's own set wired in, a part is refused and says to apply the host's shard first", async () => {
      const wiring = "/etc/apache2/sites-enabled/zz-globenet.conf";
      renameSync(wiring, `${wiring}.aside`);
      try {
        const err = await rejection(fileSetType.create(partInputs("b2", { "sites-available/e.test.conf": vhost("e.test") })));
        expect(err).toContain("apply the host's own shard first, then this part");
        expect(existsSync("/etc/apache2/globenet-parts/b2")).toBe(false);
      } finally {
        renameSync(`${wiring}.aside`, wiring);
      }
    });

    it("parts: deleting one takes its sites out at one reload; the other part and the host's sites stay", async () => {
      const b1 = partOuts.b1 as { id: string; outs: FileSetOutputs };
      await fileSetType.delete(b1.id, b1.outs);
      await waitFor("d.test to be gone", () => get("d.test") !== "site d.test");
      expect(existsSync("/etc/apache2/globenet-parts/b1")).toBe(false);
      expect(existsSync("/etc/apache2/globenet-parts.d/b1")).toBe(false);
      expect(existsSync("/etc/apache2/globenet-parts/b1.conf")).toBe(false);
      expect(get("c.test")).toBe("site c.test");
      expect(get("a.test")).toBe("site a.test");
      expect(await fileSetType.read(b1.id, b1.outs)).toBeUndefined();
      const b0 = partOuts.b0 as { id: string; outs: FileSetOutputs };
      await fileSetType.delete(b0.id, b0.outs);
      await waitFor("c.test to be gone", () => get("c.test") !== "site c.test");
    });

    it("delete: removes the wiring, the link and the generations, puts the MPM and status module back, and reloads", async () => {
      const itkMaster = apache.currentPid();
      await fileSetType.delete(id, outs);
      expect(enabledMods()).toEqual(expect.arrayContaining(["mpm_event", "status"]));
      expect(enabledMods()).not.toContain("mpm_itk");
      expect(run("apache2ctl", ["-M"]).stdout).toMatch(/mpm_event_module/);
      // Restarted again for the MPM: another master, answering.
      await waitFor("Apache to answer after its restart", () => apache.currentPid() !== undefined && apache.currentPid() !== itkMaster && run("curl", ["-s", "-m", "2", `http://127.0.0.1:${port}/`]).status === 0);
      expect(existsSync("/etc/apache2/conf-enabled/zz-globenet.conf")).toBe(false);
      expect(existsSync("/etc/apache2/sites-enabled/zz-globenet.conf")).toBe(false);
      expect(existsSync("/etc/apache2/globenet")).toBe(false);
      expect(existsSync("/etc/apache2/globenet.d")).toBe(false);
      await waitFor("a.test to be gone", () => get("a.test") !== "site a.test");
      expect(await fileSetType.read(id, outs)).toBeUndefined();
      expect(run("apache2ctl", ["-t"]).status).toBe(0);
    });
  });

  // ─────────────────────────────────────────── bind-primary ───────────────────────────────────────────
  describe("bind-primary", () => {
    let bind: Bind;
    let outs: FileSetOutputs;
    let applied: Record<string, string>;
    let id: string;
    const today = todaySerial(new Date());
    const namedConf = ["alpha.test", "beta.test"].map((z) => `zone "${z}" {\n    type primary;\n    file "/etc/bind/globenet/zones/${z}.zone";\n};\n`).join("\n");
    const zone = (name: string, www: string, extra = "") =>
      [
        `$ORIGIN ${name}.`,
        "$TTL 300",
        `@ IN SOA ns1.${name}. hostmaster.${name}. (`,
        `        ${SERIAL_TOKEN} ; serial`,
        "        3600 900 1209600 300 )",
        `@   IN NS ns1.${name}.`,
        ...(extra ? [extra] : []),
        "ns1 IN A 192.0.2.1",
        `www IN A ${www}`,
        "",
      ].join("\n");
    const dig = (name: string, type: string) => run("dig", [`@127.0.0.1`, "-p", String(bind.port), "+short", "+time=2", "+tries=1", name, type]).stdout.trim();
    const soaSerial = (name: string) => Number(dig(name, "SOA").split(/\s+/)[2]);
    const inputs = (files: Record<string, string>): FileSetInputs => ({ target: target(), kind: "bind-primary", files });
    // As the program sends them: sha256 refs into the runner's store.
    let store = "";
    const asRefs = (files: Record<string, string>) => ({ target: target(), kind: "bind-primary" as const, fileRefs: storeFiles(store, files), fileStore: store });

    beforeAll(async () => {
      bind = await startBind();
      cleanups.push(() => bind.stop());
      const root = mkdtempSync("/tmp/globenet-file-set-store-");
      store = fileStoreOf(root);
      cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    });

    it("create: two zones answer with serial YYYYMMDD01", async () => {
      applied = { "named.conf.globenet": namedConf, "zones/alpha.test.zone": zone("alpha.test", "192.0.2.10"), "zones/beta.test.zone": zone("beta.test", "192.0.2.20") };
      const r = await fileSetType.create(inputs(applied));
      id = r.id;
      outs = r.outs;
      // The serials are the host's (its zones' SOA), not the state's.
      expect(outs.serials).toBeUndefined();
      expect(outs.hashes).toBeUndefined();
      expect(outs.zoneNames).toBe("alpha.test\nbeta.test");
      expect(readFileSync("/etc/bind/named.conf.local", "utf8")).toContain('include "/etc/bind/globenet/named.conf.globenet";');
      expect(existsSync("/var/cache/bind/globenet")).toBe(true);
      await waitFor("alpha.test to answer", () => soaSerial("alpha.test") === today);
      expect(soaSerial("beta.test")).toBe(today);
      expect(dig("www.beta.test", "A")).toBe("192.0.2.20");
      expect(await fileSetType.read(id, outs)).toEqual(outs);
    });

    it("update: only the changed zone's serial rises", async () => {
      applied = { ...applied, "zones/beta.test.zone": zone("beta.test", "192.0.2.21") };
      outs = await fileSetType.update(id, outs, inputs(applied));
      expect(fileSetType.diff(id, outs, inputs(applied)).changes).toBe(false);
      await waitFor("beta.test's new serial", () => soaSerial("beta.test") === today + 1);
      expect(dig("www.beta.test", "A")).toBe("192.0.2.21");
      expect(soaSerial("alpha.test")).toBe(today);
    });

    it("read: a hand edit that raised a zone's serial shows as drift; the next update goes past that serial", async () => {
      const live = "/etc/bind/globenet/zones/beta.test.zone";
      const hand = today + 50;
      // Applied from these refs: their digest says "no change" with no zone read.
      expect(outs.tokenDigest).toMatch(/^[0-9a-f]{64}$/);
      expect(fileSetType.diff(id, outs, asRefs(applied) as never).changes).toBe(false);
      writeFileSync(live, `${readFileSync(live, "utf8").replace(`${today + 1} ; serial`, `${hand} ; serial`)}extra IN A 192.0.2.99\n`);
      const seen = (await fileSetType.read(id, outs)) as FileSetOutputs;
      // Drift seen: the digest of what was applied no longer describes the host, and must not hide the edit.
      expect(seen.tokenDigest).toBeUndefined();
      expect(fileSetType.diff(id, seen, asRefs(applied) as never).changes).toBe(true);
      // Each file as the host has it, each zone's serial as it serves it (the drift report names the files from them).
      expect(seen.serials).toEqual({ "zones/alpha.test.zone": today, "zones/beta.test.zone": hand });
      expect(seen.hashes?.["zones/beta.test.zone"]).toBe(sha256Hex(readFileSync(live, "utf8")));
      expect(seen.hashes?.["zones/alpha.test.zone"]).toBe(sha256Hex(readFileSync("/etc/bind/globenet/zones/alpha.test.zone", "utf8")));
      expect(seen.zoneNames).toBe(outs.zoneNames);
      expect(fileSetType.diff(id, seen, inputs(applied)).changes).toBe(true);
      outs = await fileSetType.update(id, seen, inputs(applied));
      await waitFor("beta.test's serial past the hand-made one", () => soaSerial("beta.test") === hand + 1);
      expect(dig("extra.beta.test", "A")).toBe("");
      expect(await fileSetType.read(id, outs)).toEqual(outs);
    });

    it("update with no refresh after a hand edit: the serials are the host's, so the edited zone goes past the hand's serial, an unchanged one keeps its own", async () => {
      const live = "/etc/bind/globenet/zones/alpha.test.zone";
      const hand = today + 70;
      const beta = soaSerial("beta.test");
      writeFileSync(live, `${readFileSync(live, "utf8").replace(`${today} ; serial`, `${hand} ; serial`)}extra IN A 192.0.2.98\n`);
      // The state still says "as applied" (no refresh): only the host knows alpha.test was edited.
      applied = { ...applied, "named.conf.globenet": `${namedConf}// another comment\n` };
      outs = await fileSetType.update(id, outs, inputs(applied));
      await waitFor("alpha.test's serial past the hand-made one", () => soaSerial("alpha.test") === hand + 1);
      expect(dig("extra.alpha.test", "A")).toBe("");
      expect(soaSerial("beta.test")).toBe(beta);
      expect(await fileSetType.read(id, outs)).toEqual(outs);
    });

    it("update: a broken zone (CNAME beside the SOA) fails; the old zone still answers", async () => {
      const before = readLink("/etc/bind/globenet");
      const alpha = soaSerial("alpha.test");
      const broken = inputs({ ...applied, "zones/alpha.test.zone": zone("alpha.test", "192.0.2.11", "@   IN CNAME elsewhere.test.") });
      await expect(fileSetType.update(id, outs, broken)).rejects.toThrow(/bind-primary file set rejected, the live files are untouched:[\s\S]*CNAME and other data/);
      expect(readLink("/etc/bind/globenet")).toBe(before);
      expect(stagingLeft("/etc/bind/globenet.d")).toEqual([]);
      expect(soaSerial("alpha.test")).toBe(alpha);
      expect(dig("www.alpha.test", "A")).toBe("192.0.2.10");
    });

    it("delete: unwires and reconfigures (named.conf.local rewritten by a rename, its owner and mode kept); named stops serving the zones", async () => {
      const local = "/etc/bind/named.conf.local";
      chmodSync(local, 0o640);
      const before = lstatSync(local);
      await fileSetType.delete(id, outs);
      expect(readFileSync(local, "utf8")).not.toContain("globenet");
      const after = lstatSync(local);
      expect([after.mode, after.uid, after.gid]).toEqual([before.mode, before.uid, before.gid]);
      expect(after.ino).not.toBe(before.ino);
      expect(existsSync(`${local}.globenet-new`)).toBe(false);
      expect(existsSync("/etc/bind/globenet")).toBe(false);
      await waitFor("alpha.test to be gone", () => dig("alpha.test", "SOA") === "");
      expect(await fileSetType.read(id, outs)).toBeUndefined();
    });
  });

  // ───────────────────────────────────────────── php-fpm ─────────────────────────────────────────────
  describe("php-fpm", () => {
    let fpm: Daemon;
    const user = `gfst${process.pid % 100_000}`;
    const socket = `/run/php/globenet-${user}-php8.2.sock`;
    const STOCK_POOL = "/etc/php/8.2/fpm/pool.d/www.conf";
    const STOCK_SOCKET = "/run/php/php8.2-fpm.sock";
    /** Whether something accepts connections on a unix socket. */
    const answers = (path: string) =>
      new Promise<boolean>((resolve) => {
        const c = connect({ path }, () => {
          c.destroy();
          resolve(true);
        });
        c.on("error", () => resolve(false));
      });
    const poolFile = `pool.d/globenet-${user}.conf`;
    const pool = (u: string) =>
      [`[globenet-${user}]`, `user = ${u}`, `group = ${u}`, `listen = ${socket}`, "listen.owner = www-data", "listen.group = www-data", "listen.mode = 0660", "pm = ondemand", "pm.max_children = 2", "chdir = /", ""].join("\n");
    const inputs = (files: Record<string, string>): FileSetInputs => ({ target: target(), kind: "php-fpm", phpVersion: "8.2", files });
    let outs: FileSetOutputs;
    let id: string;

    beforeAll(async () => {
      const r = run("useradd", ["--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", "--user-group", user]);
      if (r.status !== 0) throw new Error(`useradd ${user}: ${r.stderr}`);
      cleanups.push(() => void run("userdel", [user]));
      // A lab killed before its destroy leaves Debian's stock pool renamed away: start from the
      // machine's own state (the snapshot puts back whatever was there).
      if (!existsSync(STOCK_POOL) && existsSync(`${STOCK_POOL}.globenet-disabled`)) renameSync(`${STOCK_POOL}.globenet-disabled`, STOCK_POOL);
      fpm = await startFpm("8.2");
      cleanups.push(() => fpm.stop());
    });

    it("create: the member's pool socket appears after one reload, and Debian's stock pool is off", async () => {
      expect(await answers(STOCK_SOCKET)).toBe(true);
      const stockPool = readFileSync(STOCK_POOL, "utf8");
      const r = await fileSetType.create(inputs({ [poolFile]: pool(user) }));
      id = r.id;
      outs = r.outs;
      expect(id).toBe("lab:php-fpm:8.2");
      expect(readFileSync("/etc/php/8.2/fpm/php-fpm.conf", "utf8")).toContain("\ninclude=/etc/php/8.2/fpm/globenet/pool.d/*.conf\n");
      await waitFor(`${socket} to appear`, () => existsSync(socket));
      expect(await answers(socket)).toBe(true);
      // The stock pool (www-data, no open_basedir) no longer answers; its file is kept aside as it was.
      await waitFor(`${STOCK_SOCKET} to stop answering`, async () => !(await answers(STOCK_SOCKET)));
      expect(existsSync(STOCK_POOL)).toBe(false);
      expect(readFileSync(`${STOCK_POOL}.globenet-disabled`, "utf8")).toBe(stockPool);
      expect(await fileSetType.read(id, outs)).toEqual(outs);
    });

    it("update: a pool for a user that does not exist fails the check; the live pool stays", async () => {
      const before = readLink("/etc/php/8.2/fpm/globenet");
      await expect(fileSetType.update(id, outs, inputs({ [poolFile]: pool("no-such-member") }))).rejects.toThrow(
        /php-fpm file set rejected, the live files are untouched:[\s\S]*cannot get uid for user 'no-such-member'/,
      );
      expect(readLink("/etc/php/8.2/fpm/globenet")).toBe(before);
      expect(stagingLeft("/etc/php/8.2/fpm/globenet.d")).toEqual([]);
      expect(existsSync(socket)).toBe(true);
      expect(run("kill", ["-0", String(fpm.pid)]).status).toBe(0);
    });

    // A web host's members split by hash: a bucket's pools in a part of their own.
    const partUser = `gfsp${process.pid % 100_000}`;
    const partSocket = `/run/php/globenet-${partUser}-php8.2.sock`;
    const partPool = (u: string, sock: string) =>
      [`[globenet-${u}]`, `user = ${u}`, `group = ${u}`, `listen = ${sock}`, "listen.owner = www-data", "listen.group = www-data", "listen.mode = 0660", "pm = ondemand", "pm.max_children = 2", "chdir = /", ""].join("\n");
    const partInputs = (part: string, files: Record<string, string>): FileSetInputs => ({ target: target(), kind: "php-fpm", phpVersion: "8.2", part, files });
    const FPM_PARTS_INCLUDE = "include=/etc/php/8.2/fpm/globenet-parts/*/pool.d/*.conf";
    let part: { id: string; outs: FileSetOutputs } | undefined;

    it("parts: a bucket's pool goes live beside the host's; a pool in two sets is refused, naming both", async () => {
      const r = run("useradd", ["--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", "--user-group", partUser]);
      if (r.status !== 0) throw new Error(`useradd ${partUser}: ${r.stderr}`);
      cleanups.push(() => void run("userdel", [partUser]));
      part = await fileSetType.create(partInputs("b0", { [`pool.d/globenet-${partUser}.conf`]: partPool(partUser, partSocket) }));
      expect(part.id).toBe("lab:php-fpm:8.2:b0");
      expect(readFileSync("/etc/php/8.2/fpm/php-fpm.conf", "utf8")).toContain(`\n${FPM_PARTS_INCLUDE}\n`);
      await waitFor(`${partSocket} to appear`, () => existsSync(partSocket));
      expect(await answers(partSocket)).toBe(true);
      expect(await answers(socket)).toBe(true);
      // FPM would merge two sections of one name without a word: refused, in a part or in the host's set.
      const twice = await fileSetType.create(partInputs("b1", { [poolFile]: pool(user).replace("pm.max_children = 2", "pm.max_children = 3") })).then(
        () => "applied",
        (e: unknown) => (e instanceof Error ? e.message : String(e)),
      );
      expect(twice).toContain(`pool globenet-${user}: in /etc/php/8.2/fpm/globenet-parts/b1/pool.d/globenet-${user}.conf and in /etc/php/8.2/fpm/globenet/pool.d/globenet-${user}.conf`);
      expect(existsSync("/etc/php/8.2/fpm/globenet-parts/b1")).toBe(false);
      const hostTwice = await fileSetType.update(id, outs, inputs({ [poolFile]: pool(user), [`pool.d/globenet-${partUser}.conf`]: partPool(partUser, partSocket).replace("pm.max_children = 2", "pm.max_children = 3") })).then(
        () => "applied",
        (e: unknown) => (e instanceof Error ? e.message : String(e)),
      );
      expect(hostTwice).toContain(`pool globenet-${partUser}: in /etc/php/8.2/fpm/globenet-parts/b0/pool.d/globenet-${partUser}.conf and in /etc/php/8.2/fpm/globenet/pool.d/globenet-${partUser}.conf`);
      expect(await answers(partSocket)).toBe(true);
    });

    it("parts: a pool brought byte for byte moves between the host's set and a part at one reload, both ways; its socket answers throughout", async () => {
      const hostPools = "/etc/php/8.2/fpm/globenet/pool.d";
      const moved = await fileSetType.create(partInputs("b1", { [poolFile]: pool(user) }));
      expect(readdirSync("/etc/php/8.2/fpm/globenet-parts/b1/pool.d")).toEqual([poolFile.slice("pool.d/".length)]);
      expect(existsSync(join(hostPools, poolFile.slice("pool.d/".length)))).toBe(false);
      expect(await answers(socket)).toBe(true);
      // Back: the host's refresh sees the pool gone, and its apply takes it back from the part.
      const seen = (await fileSetType.read(id, outs)) as FileSetOutputs;
      expect(seen.hashes).toEqual({});
      outs = await fileSetType.update(id, seen, inputs({ [poolFile]: pool(user) }));
      expect(existsSync(join(hostPools, poolFile.slice("pool.d/".length)))).toBe(true);
      expect(readdirSync("/etc/php/8.2/fpm/globenet-parts/b1/pool.d")).toEqual([]);
      expect(await answers(socket)).toBe(true);
      await fileSetType.delete(moved.id, moved.outs);
      expect(existsSync("/etc/php/8.2/fpm/globenet-parts/b1")).toBe(false);
      expect(await answers(socket)).toBe(true);
    });

    it("parts: deleting the last part takes its pool and include out; the host's set keeps the stock pool off", async () => {
      await fileSetType.delete(part?.id as string, part?.outs as FileSetOutputs);
      await waitFor(`${partSocket} to go`, () => !existsSync(partSocket));
      expect(readFileSync("/etc/php/8.2/fpm/php-fpm.conf", "utf8")).not.toContain(FPM_PARTS_INCLUDE);
      expect(existsSync(STOCK_POOL)).toBe(false);
      expect(await answers(socket)).toBe(true);
    });

    it("delete: unwires the pools and reloads; the socket goes, the stock pool comes back", async () => {
      await fileSetType.delete(id, outs);
      expect(readFileSync("/etc/php/8.2/fpm/php-fpm.conf", "utf8")).not.toContain("globenet");
      await waitFor(`${socket} to go`, () => !existsSync(socket));
      expect(run("kill", ["-0", String(fpm.pid)]).status).toBe(0);
      expect(existsSync(STOCK_POOL)).toBe(true);
      expect(existsSync(`${STOCK_POOL}.globenet-disabled`)).toBe(false);
      await waitFor(`${STOCK_SOCKET} to answer again`, () => answers(STOCK_SOCKET));
    });

    it("parts: on a host whose pools are all in parts, a part wires its own include and turns the stock pool off; its delete puts both back", async () => {
      const alone = await fileSetType.create(partInputs("b3", { [`pool.d/globenet-${partUser}.conf`]: partPool(partUser, partSocket) }));
      expect(readFileSync("/etc/php/8.2/fpm/php-fpm.conf", "utf8")).toContain(`\n${FPM_PARTS_INCLUDE}\n`);
      await waitFor(`${partSocket} to appear`, () => existsSync(partSocket));
      await waitFor(`${STOCK_SOCKET} to stop answering`, async () => !(await answers(STOCK_SOCKET)));
      await fileSetType.delete(alone.id, alone.outs);
      await waitFor(`${partSocket} to go`, () => !existsSync(partSocket));
      expect(readFileSync("/etc/php/8.2/fpm/php-fpm.conf", "utf8")).not.toContain("globenet");
      expect(existsSync(STOCK_POOL)).toBe(true);
      await waitFor(`${STOCK_SOCKET} to answer again`, () => answers(STOCK_SOCKET));
    });
  });

  // ─────────────────────────────────────────────── www ───────────────────────────────────────────────
  describe("www", () => {
    it("create, read (with drift), delete", async () => {
      const page = "<!doctype html><title>Suspendu</title><p>Ce site est suspendu.</p>\n";
      const { id, outs } = await fileSetType.create({ target: target(), kind: "www", files: { "index.html": page } });
      expect(readFileSync("/var/www/globenet-suspended/index.html", "utf8")).toBe(page);
      expect(readLink("/var/www/globenet-suspended")).toBe(`/var/www/globenet-suspended.d/${outs.generation}`);
      expect(await fileSetType.read(id, outs)).toEqual(outs);
      writeFileSync("/var/www/globenet-suspended/robots.txt", "User-agent: *\n");
      expect((await fileSetType.read(id, outs))?.hashes).toEqual({ "index.html": sha256Hex(page), "robots.txt": sha256Hex("User-agent: *\n") });
      await fileSetType.delete(id, outs);
      expect(existsSync("/var/www/globenet-suspended")).toBe(false);
      expect(existsSync("/var/www/globenet-suspended.d")).toBe(false);
      expect(await fileSetType.read(id, outs)).toBeUndefined();
    });
  });

  // ────────────────────────────────────────── node-exporter ──────────────────────────────────────────
  // Every host's node exporter (lib/render/monitoring-units.ts): the drop-in checked by the
  // exporter itself (it parses the flags) before the swap. This machine has no systemd: the
  // apply says so and starts nothing (the lab starts its own exporters); the systemd path is
  // checked by systemd-analyze verify in tests/monitoring-checkers.test.ts.
  describe.skipIf(!requireTools("prometheus-node-exporter", "nft"))("node-exporter", () => {
    it("create (the port's table loaded), a wrong flag refused naming the file (the live set stays), delete (the table gone)", async () => {
      const conf = renderNodeExporterDropIn({ name: "lab", address: "127.0.0.1" });
      const nft = renderNodeExporterNft({ name: "lab" }, { name: "lab", address: "127.0.0.1" });
      const inputs = (text: string): FileSetInputs => ({ target: target(), kind: "node-exporter", files: { [NODE_EXPORTER_FILE]: text, [NODE_EXPORTER_NFT]: nft, [DAEMON_FILES.script]: daemonsScript(), [DAEMON_FILES.expected]: "ssh sshd root\n", [DAEMON_FILES.service]: renderDaemonsService(), [DAEMON_FILES.timer]: renderDaemonsTimer() } });
      const table = () => run("nft", ["list", "table", "inet", "globenet_node_exporter"], { timeoutMs: 10_000 });
      const { id, outs } = await fileSetType.create(inputs(conf));
      expect(readFileSync(`/etc/prometheus/globenet-node/${NODE_EXPORTER_FILE}`, "utf8")).toBe(conf);
      expect(table().stdout).toContain("tcp dport 9100 ip saddr 127.0.0.1 accept");
      expect(readLink("/etc/prometheus/globenet-node")).toBe(`/etc/prometheus/globenet-node.d/${outs.generation}`);
      expect(await fileSetType.read(id, outs)).toEqual(outs);
      const err = await fileSetType.update(id, outs, inputs(conf.replace("--web.listen-address", "--web.listen-adress"))).then(
        () => "",
        (e: unknown) => (e instanceof Error ? e.message : String(e)),
      );
      expect(err).toContain(`prometheus-node-exporter refuses the flags of /etc/prometheus/globenet-node/${NODE_EXPORTER_FILE}`);
      expect(readFileSync(`/etc/prometheus/globenet-node/${NODE_EXPORTER_FILE}`, "utf8")).toBe(conf);
      expect(stagingLeft("/etc/prometheus/globenet-node.d")).toEqual([]);
      await fileSetType.delete(id, outs);
      expect(table().status).not.toBe(0);
      expect(existsSync("/etc/prometheus/globenet-node")).toBe(false);
      expect(existsSync("/etc/prometheus/globenet-node.d")).toBe(false);
    });
  });

  // ─────────────────────────────────────────── monitoring ───────────────────────────────────────────
  // The monitor host's set (lib/render/monitoring.ts, rendered from the repository's data): each
  // file checked by promtool / amtool / the blackbox exporter on the host before the swap, a
  // running Prometheus reloaded by SIGHUP through its PID file, a site added in git probed after
  // the next apply, a broken rule refused naming the file while the old configuration keeps running.
  describe.skipIf(!requireTools("prometheus", "promtool", "amtool", "prometheus-blackbox-exporter"))("monitoring", () => {
    const PIDS = "/run/globenet-monitoring";
    let prom: ReturnType<typeof spawn> | undefined;
    let tsdb = "";
    let port = 0;
    let id = "";
    let outs: FileSetOutputs;
    const rendered = (extraSite?: string) => {
      const { model, errors } = loadModel(REPO_ROOT, "prod");
      if (!model) throw new Error(JSON.stringify(errors));
      model.hosts.find((h) => h.name === "ns2")?.roles.push("monitor");
      const base = model.sites.find((x) => x.status === "active" && x.tls === "acme");
      if (extraSite && base) model.sites.push({ ...base, handle: "nouveau", host: extraSite });
      return renderMonitoring(monitoringPlan(model), model);
    };
    const inputs = (files: Record<string, string>): FileSetInputs => ({ target: target(), kind: "monitoring", files });
    const siteTargets = async () => {
      const r = await fetch(`http://127.0.0.1:${port}/api/v1/targets`);
      const body = (await r.json()) as { data: { activeTargets: Array<{ labels: Record<string, string> }> } };
      return body.data.activeTargets.filter((t) => t.labels.job === "site").map((t) => t.labels.site).sort();
    };

    beforeAll(() => {
      for (const p of ["/etc/prometheus/globenet", "/etc/prometheus/globenet.d", PIDS]) if (existsSync(p)) throw new Error(`${p} exists: a lab or an earlier run uses this machine's monitoring set`);
      tsdb = mkdtempSync("/tmp/globenet-test-tsdb-");
    });
    afterAll(async () => {
      if (prom?.pid) process.kill(prom.pid, "SIGTERM");
      await waitFor("Prometheus to stop", () => prom?.exitCode !== null || prom?.signalCode !== null, 15_000).catch(() => undefined);
      rmSync(tsdb, { recursive: true, force: true });
      rmSync(PIDS, { recursive: true, force: true });
      rmSync("/etc/prometheus/globenet", { recursive: true, force: true });
      rmSync("/etc/prometheus/globenet.d", { recursive: true, force: true });
    });

    it("create: the checked set goes live under /etc/prometheus/globenet; Prometheus started on it probes every site of the data", async () => {
      const files = rendered();
      ({ id, outs } = await fileSetType.create(inputs(files)));
      expect(readLink("/etc/prometheus/globenet")).toBe(`/etc/prometheus/globenet.d/${outs.generation}`);
      expect(readFileSync("/etc/prometheus/globenet/rules/globenet.yml", "utf8")).toBe(files["rules/globenet.yml"]);
      port = await freePort();
      prom = spawn("prometheus", ["--config.file=/etc/prometheus/globenet/prometheus.yml", `--storage.tsdb.path=${tsdb}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: "ignore" });
      mkdirSync(PIDS, { recursive: true });
      writeFileSync(`${PIDS}/prometheus.pid`, `${prom.pid}\n`);
      const sites = loadModel(REPO_ROOT, "prod").model?.sites.map((x) => x.host).sort();
      await waitFor("Prometheus to list its targets", async () => (await siteTargets().catch(() => [])).length > 0, 30_000);
      expect(await siteTargets()).toEqual(sites);
    });

    it("update: a site added in git is probed after the apply (SIGHUP through the PID file), with no restart", async () => {
      const pid = prom?.pid;
      outs = await fileSetType.update(id, outs, inputs(rendered("nouveau.example")));
      await waitFor("the new site among the targets", async () => (await siteTargets()).includes("nouveau.example"), 30_000);
      expect(prom?.pid).toBe(pid);
      expect(prom?.exitCode).toBeNull();
    });

    it("update: a broken rule is refused on the host naming the file; the live set and the running configuration stay", async () => {
      const before = readLink("/etc/prometheus/globenet");
      const files = rendered("nouveau.example");
      const broken = { ...files, "rules/globenet.yml": (files["rules/globenet.yml"] as string).replace('probe_success{job="site"} == 0', 'probe_success{job="site" == 0') };
      const err = await fileSetType.update(id, outs, inputs(broken)).then(
        () => undefined,
        (e: unknown) => (e instanceof Error ? e.message : String(e)),
      );
      expect(err).toMatch(/^lab: monitoring file set rejected, the live files are untouched:/);
      expect(err).toContain("/etc/prometheus/globenet/rules/globenet.yml");
      expect(err).not.toMatch(/globenet-fileset\.|\.stage\./);
      expect(readLink("/etc/prometheus/globenet")).toBe(before);
      expect(stagingLeft("/etc/prometheus/globenet.d")).toEqual([]);
      expect(await siteTargets()).toContain("nouveau.example");
      // A broken alertmanager.yml is refused by amtool the same way.
      const am = { ...files, "alertmanager.yml": (files["alertmanager.yml"] as string).replace("receiver: volunteers", "receiver: nobody") };
      const err2 = await fileSetType.update(id, outs, inputs(am)).then(() => "", (e: unknown) => String(e));
      expect(err2).toContain("/etc/prometheus/globenet/alertmanager.yml");
      expect(readLink("/etc/prometheus/globenet")).toBe(before);
    });

    it("update: the site removed from git is no longer probed; delete removes the set", async () => {
      outs = await fileSetType.update(id, outs, inputs(rendered()));
      await waitFor("the removed site to leave the targets", async () => !(await siteTargets()).includes("nouveau.example"), 30_000);
      await fileSetType.delete(id, outs);
      expect(existsSync("/etc/prometheus/globenet")).toBe(false);
      expect(existsSync("/etc/prometheus/globenet.d")).toBe(false);
      expect(await fileSetType.read(id, outs)).toBeUndefined();
    });
  });
  // ─────────────────────────────────────────── mail ───────────────────────────────────────────
  // The mail host's set (lib/render/mail.ts): the maps compiled by postmap in the staged
  // generation, the whole set checked by postconf, doveconf and opendkim before the swap,
  // Debian's files linked into it; a running Postfix takes a new mailbox after the apply.
  describe.skipIf(!requireTools("postfix", "postmap", "postconf", "dovecot", "doveconf", "opendkim", "swaks", "openssl"))("mail", () => {
    const ROOT = "/etc/globenet/mail/conf";
    const HASH = "{CRYPT}$y$j9T$40b7r1AlrfQHpo6uVN/4w0$4DFJCbWQyPXFjBFK1bQ9b4RR8i/kcF/oNaWGP.CLGJ5";
    const SMTP = 2525;
    let tls = "";
    let id = "";
    let outs: FileSetOutputs;
    let postfixUp = false;
    const rendered = (locals: string[]) => {
      const mail = `mail:\n  - domain: velo-libre.example\n    mailboxes:\n${locals.map((l) => `      - { local: ${l}, password_hash: "${HASH}" }\n`).join("")}`;
      const { model, errors } = loadModel(writeTree({ "Pulumi.test.yaml": inventoryWithMailHost(), "zones/velo-libre.example.yaml": "owner: velo-libre\n", "members/velo-libre/member.yaml": `${baseFiles()["members/velo-libre/member.yaml"]}${mail}` }), "test");
      if (!model) throw new Error(JSON.stringify(errors));
      // The loopback and other ports than a mail host's: never the inventory's address.
      const plan = mailPlan(model, "mx1", { listen: ["127.0.0.1"], ports: { smtp: SMTP, submission: 5587, submissions: 5465, imaps: 9993 }, paths: { tlsCert: join(tls, "cert.pem"), tlsKey: join(tls, "key.pem") } });
      // The Postfix exporter on the loopback, its port for a "monitor host" at 127.0.0.2 only.
      return mailSetFiles(renderMailFiles({ ...plan, exporter: { listen: "127.0.0.1", monitor: { name: "mon1", address: "127.0.0.2" } } }, 5000, 1024, "hostmaster@globenet.example"));
    };
    const inputs = (files: Record<string, string>): FileSetInputs => ({ target: target(), kind: "mail", files });
    const rcpt = (to: string) => run("swaks", ["--server", `127.0.0.1:${SMTP}`, "--from", "someone@outside.example", "--to", to, "--quit-after", "RCPT", "--timeout", "20"]).stdout;

    const exporterTable = () => run("nft", ["list", "table", "inet", MAIL_EXPORTER_TABLE], { timeoutMs: 10_000 });
    let exporter: ReturnType<typeof spawn> | undefined;
    const metrics = (from?: string) => run("curl", ["-s", "--max-time", "2", ...(from ? ["--interface", from] : []), "http://127.0.0.1:9154/metrics"], { timeoutMs: 10_000 });

    beforeAll(() => {
      if (existsSync(ROOT)) throw new Error(`${ROOT} exists: a lab or an earlier run uses this machine's mail set`);
      if (exporterTable().status === 0) throw new Error(`the table inet ${MAIL_EXPORTER_TABLE} is loaded on this machine: a lab or an earlier run left it`);
      if (run("postfix", ["status"]).status === 0) throw new Error("a Postfix runs on this machine: this test would reload it");
      tls = mkdtempSync("/tmp/globenet-test-mail-tls-");
      const r = run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=mail.globenet.example", "-keyout", join(tls, "key.pem"), "-out", join(tls, "cert.pem")]);
      if (r.status !== 0) throw new Error(r.stderr);
    });
    afterAll(() => {
      exporter?.kill("SIGTERM");
      if (postfixUp) run("postfix", ["stop"]);
      run("nft", ["delete", "table", "inet", MAIL_EXPORTER_TABLE]);
      rmSync(tls, { recursive: true, force: true });
    });

    it("create: the checked set goes live with its maps compiled; Debian's files link into it; read sees no drift", async () => {
      ({ id, outs } = await fileSetType.create(inputs(rendered(["contact"]))));
      expect(readLink(ROOT)).toBe(`/etc/globenet/mail/conf.d/${outs.generation}`);
      expect(existsSync(`${ROOT}/postfix/maps/mailboxes.db`)).toBe(true);
      expect(readLink("/etc/postfix/main.cf")).toBe(`${ROOT}/postfix/main.cf`);
      expect(readLink("/etc/dovecot/dovecot.conf")).toBe(`${ROOT}/dovecot/dovecot.conf`);
      expect(readLink("/etc/default/postsrsd")).toBe(`${ROOT}/postsrsd/postsrsd.default`);
      expect(existsSync("/etc/postfix/main.cf.pre-globenet")).toBe(true);
      const users = run("stat", ["-c", "%U:%G %a", `${ROOT}/dovecot/globenet-users`]).stdout.trim();
      expect(users).toBe("root:dovecot 640");
      // The Postfix exporter's port table is loaded (no systemd here: the exporter is not started).
      expect(exporterTable().stdout).toContain("tcp dport 9154 ip saddr 127.0.0.2 accept");
      // The compiled maps are the host's, the table as loaded: no drift.
      expect(await fileSetType.read(id, outs)).toEqual(outs);
    });

    it("update: a new mailbox is taken by the running Postfix after the apply", async () => {
      const started = run("postfix", ["start"]);
      expect(started.status, started.stderr).toBe(0);
      postfixUp = true;
      await waitFor("Postfix on the loopback", () => rcpt("contact@velo-libre.example").includes("250 2.1.5"), 30_000);
      expect(rcpt("tresorier@velo-libre.example")).toMatch(/550 5\.1\.1 <tresorier@velo-libre\.example>/);
      outs = await fileSetType.update(id, outs, inputs(rendered(["contact", "tresorier"])));
      await waitFor("the new mailbox accepted", () => rcpt("tresorier@velo-libre.example").includes("250 2.1.5"), 30_000);
    });

    it("the Postfix exporter, started as the lab starts it (the set's ARGS file), counts the running Postfix's queue for the monitor host's address; this machine's own address is dropped", async () => {
      const file = `${ROOT}/exporter/prometheus-postfix-exporter`;
      const args = postfixExporterArgs(readFileSync(file, "utf8"), file);
      expect(args).toEqual(["--web.listen-address=127.0.0.1:9154", "--postfix.showq_path=/var/spool/postfix/public/showq", "--postfix.logfile_path=/dev/null"]);
      exporter = spawn("prometheus-postfix-exporter", args, { stdio: "ignore" });
      const body = await waitFor("the exporter answers the monitor host's address", () => {
        const r = metrics("127.0.0.2");
        return r.status === 0 && r.stdout.includes("postfix_up") ? r.stdout : undefined;
      }, 30_000, 300);
      // showq answered: the queue is watched (MailQueueGrowing reads postfix_showq_*).
      expect(body).toMatch(/^postfix_up\{[^}]*"\/var\/spool\/postfix\/public\/showq"[^}]*\} 1$/m);
      // The attack: any other address (this machine's own) never gets an answer, and the drop is counted.
      expect(metrics().status).toBe(28);
      expect(exporterTable().stdout).toMatch(/tcp dport 9154 counter packets [1-9]\d* bytes \d+ drop/);
      exporter.kill("SIGTERM");
      exporter = undefined;
    });

    it("the port's table flushed is drift; the next apply loads it again", async () => {
      expect(run("nft", ["delete", "table", "inet", MAIL_EXPORTER_TABLE]).status).toBe(0);
      const read = await fileSetType.read(id, outs);
      expect(read?.hashes?.["exporter/postfix-exporter.nft"]).toBe("nft-table-not-loaded");
      expect(fileSetType.diff(id, read!, inputs(rendered(["contact", "tresorier"]))).changes).toBe(true);
      outs = await fileSetType.update(id, read!, inputs(rendered(["contact", "tresorier"])));
      expect(exporterTable().status).toBe(0);
      expect(await fileSetType.read(id, outs)).toEqual(outs);
    });

    it("update: a misspelt Postfix setting or a broken dovecot.conf is refused naming the file; the live set stays", async () => {
      const before = readLink(ROOT);
      const files = rendered(["contact", "tresorier"]);
      const typo = { ...files, "postfix/main.cf": (files["postfix/main.cf"] as string).replace("virtual_mailbox_domains =", "virtual_mailbox_domans =") };
      const err = await fileSetType.update(id, outs, inputs(typo)).then(() => "", (e: unknown) => String(e));
      expect(err).toMatch(/mail file set rejected, the live files are untouched/);
      expect(err).toContain(`${ROOT}/postfix/main.cf`);
      const dove = { ...files, "dovecot/dovecot.conf": (files["dovecot/dovecot.conf"] as string).replace("protocols = imap lmtp", "protocols = imap lmtp\nnot_a_setting = 1") };
      const err2 = await fileSetType.update(id, outs, inputs(dove)).then(() => "", (e: unknown) => String(e));
      expect(err2).toContain(`${ROOT}/dovecot/dovecot.conf`);
      expect(readLink(ROOT)).toBe(before);
      expect(stagingLeft("/etc/globenet/mail/conf.d")).toEqual([]);
      expect(rcpt("tresorier@velo-libre.example")).toContain("250 2.1.5");
    });

    it("delete: the links go, Debian's files come back, the set is removed", async () => {
      run("postfix", ["stop"]);
      postfixUp = false;
      await fileSetType.delete(id, outs);
      expect(existsSync(ROOT)).toBe(false);
      expect(existsSync("/etc/globenet/mail/conf.d")).toBe(false);
      expect(lstatSync("/etc/postfix/main.cf").isSymbolicLink()).toBe(false);
      expect(readFileSync("/etc/postfix/main.cf", "utf8")).toContain("smtpd_banner");
      expect(existsSync("/etc/postfix/main.cf.pre-globenet")).toBe(false);
      expect(exporterTable().status).not.toBe(0);
      expect(await fileSetType.read(id, outs)).toBeUndefined();
    });
  });
});
