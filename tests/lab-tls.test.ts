import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { waitForCerts } from "../lib/status/cert-wait";
import { openStack } from "../lib/lab/open-stack";
import { labDown, labUp } from "../lib/lab/commands";
import { labPaths } from "../lib/lab/paths";
import { pebbleRootFile } from "../lib/lab/pebble";
import { loadModel } from "../lib/check/build";
import type { Model } from "../lib/model/types";
import { formatDnssec, readDnssec } from "../lib/status/dnssec";
import { onStackHosts } from "../lib/lab/open-stack";
import { labTestTeardown, prepareLabTest, sh } from "./helpers/lab-run";
import { LabTree, ONDES, VELO } from "./helpers/lab-tree";
import { requireRoot, requireTools } from "./helpers/tools";

/**
 * Issue 9's acceptance test on the lab: certificates from a real ACME CA (pebble, started by the
 * lab, resolving through the lab's BIND and validating http-01 against the lab's Apache) and
 * zones signed by BIND, checked with the clients a volunteer would use (curl, dig, delv) and
 * with the project's own status views. No VPS in this tree: nothing here needs one.
 */
const ok =
  requireTools("sshd", "apache2ctl", "named", "rndc", "dig", "delv", "dnssec-dsfromkey", "curl", "pebble", "openssl", "php-fpm8.2", "mariadbd", "libvirtd", "useradd", "sudo") &&
  requireRoot("the lab starts system daemons and manages users on this machine");

const EXTERNAL = "atelier-velo.example";
const STORE = "/var/lib/globenet-lab/acme/md";

function publish(handle: string, site: string, title: string): void {
  const dir = `/home/${handle}/sites/${site}/htdocs`;
  const st = statSync(`/home/${handle}`);
  writeFileSync(join(dir, "index.html"), `<html><head><title>${title}</title></head><body>${title}</body></html>\n`);
  chownSync(join(dir, "index.html"), st.uid, st.gid);
}

/** curl as a visitor: the name resolved to the lab, trusting only this pebble's root. */
function curl(url: string, ca: string, extra: string[] = []) {
  const host = new URL(url).hostname;
  const r = sh("curl", ["-sS", "-m", "10", "-D", "-", "--cacert", ca, "--resolve", `${host}:80:127.0.0.1`, "--resolve", `${host}:443:127.0.0.1`, ...extra, url]);
  const [head = "", ...body] = r.stdout.split(/\r\n\r\n/);
  return { code: r.status, stderr: r.stderr, status: Number(/^HTTP\/[\d.]+ (\d+)/.exec(head)?.[1] ?? 0), head, body: body.join("\r\n\r\n") };
}

interface Served {
  authorized: boolean;
  error?: string;
  issuer: string;
  names: string[];
  serial: string;
}

/** The certificate Apache serves for a name (SNI), and whether it verifies against `ca` for that name. */
function served(name: string, ca: string): Promise<Served> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port: 443, servername: name, ca, rejectUnauthorized: false }, () => {
      const c = s.getPeerCertificate();
      const names = (c.subjectaltname ?? "").split(/,\s*/).filter((n) => n.startsWith("DNS:")).map((n) => n.slice(4));
      resolve({ authorized: s.authorized, error: s.authorizationError?.toString(), issuer: String(c.issuer?.CN ?? ""), names: names.sort(), serial: c.serialNumber });
      s.end();
    });
    s.on("error", reject);
    s.setTimeout(5_000, () => s.destroy(new Error(`no TLS answer for ${name}`)));
  });
}

function dig(...args: string[]): string {
  return sh("dig", ["@127.0.0.1", "+time=2", "+tries=2", ...args]).stdout;
}

describe.skipIf(!ok)("HTTPS from an ACME CA and DNSSEC, on the lab", () => {
  let root: string;
  let tree: LabTree;
  let stack: Stack;
  let ca = "";
  let downDone = false;
  const log: string[] = [];
  const model = (): Model => {
    const m = loadModel(root, "lab").model;
    if (!m) throw new Error("the test's data tree does not validate");
    return m;
  };
  const apply = async () => {
    const r = await stack.up({ color: "never" });
    expect(r.summary.result).toBe("succeeded");
  };
  const certs = (waitSec: number) => onStackHosts(root, "lab", () => waitForCerts(root, model(), waitSec));

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "globenet-lab-tls-"));
    tree = new LabTree(root, undefined, (s) => {
      s.velo.vps = undefined;
      s.velo.external = EXTERNAL;
    });
    model();
    await prepareLabTest(root);
  }, 120_000);

  afterAll(async () => {
    await labTestTeardown(root, downDone);
  }, 600_000);

  it("npm run lab starts pebble, and every site whose zone points at the web host gets its certificate", async () => {
    const spy = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => {
      log.push(a.map(String).join(" "));
      process.stdout.write(`${a.map(String).join(" ")}\n`);
    });
    try {
      expect(await labUp({ root, skipPackages: true })).toBe(0);
    } finally {
      spy.mockRestore();
    }
    stack = await openStack({ stack: "lab", root });
    const rootFile = pebbleRootFile(labPaths(root));
    expect(existsSync(rootFile)).toBe(true);
    ca = readFileSync(rootFile, "utf8");
    expect(readFileSync(join(labPaths(root).run, "pebble.pid"), "utf8")).toMatch(/^\d+\n$/);

    const rows = await certs(0);
    const by = new Map(rows.map((r) => [r.site, r]));
    expect([...by.keys()].sort()).toEqual(["atelier-velo.example", "atelier-velo.test", "blog.atelier-velo.test", "radio-ondes.test"]);
    for (const site of ["atelier-velo.test", "blog.atelier-velo.test", "radio-ondes.test"]) {
      expect(by.get(site)?.state, site).toBe("ok");
      expect(by.get(site)?.cert?.issuer).toMatch(/^Pebble Intermediate CA/);
    }
    expect(by.get("atelier-velo.test")?.cert?.names.sort()).toEqual(["atelier-velo.test", "www.atelier-velo.test"]);
    // The report says which site got none, and what to do about it.
    const report = log.join("\n");
    expect(report).toMatch(/^ {2}certificates\s+[\d.]+ s\s+3 of 4 live$/m);
    expect(report).toContain(`MISSING  ${EXTERNAL} (lab)`);
    expect(report).toContain(`the site's DNS is not ours (dns: external): the member must point ${EXTERNAL} at 127.0.0.1 at their DNS provider`);
  }, 900_000);

  it("serves the member's page over HTTPS with pebble's certificate for the site and its alias; HTTP redirects; HSTS", async () => {
    publish(VELO, "atelier-velo.test", "Atelier Vélo");
    publish(ONDES, "radio-ondes.test", "Radio Ondes");
    const page = curl("https://atelier-velo.test/", pebbleRootFile(labPaths(root)));
    expect(page.code, page.stderr).toBe(0);
    expect(page.status).toBe(200);
    expect(page.body).toContain("Atelier Vélo");
    expect(page.head).toMatch(/^strict-transport-security: max-age=\d+/im);
    for (const name of ["atelier-velo.test", "www.atelier-velo.test"]) {
      const c = await served(name, ca);
      expect(c.authorized, `${name}: ${c.error}`).toBe(true);
      expect(c.issuer).toMatch(/^Pebble Intermediate CA/);
      expect(c.names).toEqual(["atelier-velo.test", "www.atelier-velo.test"]);
    }
    const plain = curl("http://www.atelier-velo.test/some/page?x=1", pebbleRootFile(labPaths(root)));
    expect(plain.status).toBe(301);
    expect(plain.head).toMatch(/^location: https:\/\/www\.atelier-velo\.test\/some\/page\?x=1\r?$/im);
    // Another member's site keeps serving, verified, whatever happens to the external one.
    const ondes = curl("https://radio-ondes.test/", pebbleRootFile(labPaths(root)));
    expect([ondes.code, ondes.status]).toEqual([0, 200]);
    expect(ondes.body).toContain("Radio Ondes");
  }, 120_000);

  it("what a TLS scanner flagged and is ours: no version in the banner, no TRACE, the headers safe for every site", () => {
    const page = curl("https://atelier-velo.test/", pebbleRootFile(labPaths(root)));
    expect([page.code, page.status]).toEqual([0, 200]);
    expect(page.head).toMatch(/^server: Apache\r?$/im);
    expect(page.head).toMatch(/^x-content-type-options: nosniff\r?$/im);
    expect(page.head).toMatch(/^referrer-policy: strict-origin-when-cross-origin\r?$/im);
    // Error pages carry no signature with Apache's version either.
    const missing = curl("https://atelier-velo.test/no-such-page", pebbleRootFile(labPaths(root)));
    expect(missing.status).toBe(404);
    expect(missing.head).toMatch(/^server: Apache\r?$/im);
    expect(missing.body).not.toMatch(/Apache\/\d|<address>/);
    const trace = curl("https://atelier-velo.test/", pebbleRootFile(labPaths(root)), ["-X", "TRACE"]);
    expect(trace.status).toBe(405);
    // TLS 1.2 with AEAD ciphers only: a CBC cipher (LUCKY13) or TLS 1.1 finds no taker.
    const tls = (...args: string[]) => sh("openssl", ["s_client", "-connect", "127.0.0.1:443", "-servername", "atelier-velo.test", ...args], "");
    expect(tls("-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256").stdout).toMatch(/Cipher is ECDHE-RSA-AES128-GCM-SHA256/);
    expect(tls("-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA").stdout).toMatch(/Cipher is \(NONE\)/);
    expect(tls("-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0").stdout).toMatch(/Cipher is \(NONE\)/);
    // A member keeps the last word on these headers: its own .htaccess may drop one.
    const dir = "/home/atelier-velo/sites/atelier-velo.test/htdocs/legacy";
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, ".htaccess"), "Header unset X-Content-Type-Options\n");
    writeFileSync(join(dir, "index.html"), "old page\n");
    const st = statSync("/home/atelier-velo");
    for (const f of [dir, join(dir, ".htaccess"), join(dir, "index.html")]) chownSync(f, st.uid, st.gid);
    const legacy = curl("https://atelier-velo.test/legacy/", pebbleRootFile(labPaths(root)));
    expect(legacy.status).toBe(200);
    expect(legacy.head).not.toMatch(/^x-content-type-options:/im);
    expect(legacy.head).toMatch(/^referrer-policy: /im);
  }, 60_000);

  it("OCSP stapling is on in mod_md; pebble's certificates name no OCSP responder, so there is nothing to staple", () => {
    // mod_md took the setting for the site (its store records it) ...
    const md = JSON.parse(readFileSync(join(STORE, "domains", "atelier-velo.test", "md.json"), "utf8")) as { stapling?: boolean };
    expect(md.stapling).toBe(true);
    // ... but the certificate names no responder (pebble runs none; Let's Encrypt stopped OCSP
    // in 2025), and Apache staples nothing. A CA with OCSP would get its answer stapled.
    const uri = sh("openssl", ["x509", "-noout", "-ocsp_uri", "-in", join(STORE, "domains", "atelier-velo.test", "pubcert.pem")]);
    expect([uri.status, uri.stdout.trim()]).toEqual([0, ""]);
    const hello = sh("openssl", ["s_client", "-connect", "127.0.0.1:443", "-servername", "atelier-velo.test", "-status", "-CAfile", pebbleRootFile(labPaths(root))], "");
    expect(hello.stdout).toContain("OCSP response: no response sent");
    expect(hello.stdout).toMatch(/Verify return code: 0 \(ok\)/);
  }, 60_000);

  it("a site whose names the lab's DNS does not point at the web host gets no certificate and keeps serving HTTP", async () => {
    const http = curl(`http://${EXTERNAL}/`, pebbleRootFile(labPaths(root)));
    // No redirect without a certificate: the vhost answers on HTTP (its docroot is empty: 403).
    expect(http.status).toBe(403);
    const c = await served(EXTERNAL, ca);
    expect(c.authorized).toBe(false);
    expect(c.issuer).not.toMatch(/Pebble/);
    const [row] = (await certs(0)).filter((r) => r.site === EXTERNAL);
    expect(row?.state).toBe("missing");
    expect(row?.error).toMatch(/failed attempt/);
  }, 120_000);

  it("npm run status -- certs prints what the web host holds: issuer, names, not-after, days left", () => {
    const r = sh("npx", ["--no-install", "tsx", "lib/cli/main.ts", "status", "certs", "--stack", "lab", "--root", root]);
    // Exit 1: one site needs attention (the external one).
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^ok {7}atelier-velo\.test \(lab\)\n {2}issuer Pebble Intermediate CA \w+; names atelier-velo\.test, www\.atelier-velo\.test; not after \d{4}-\d\d-\d\d \(\d+ days left\)$/m);
    expect(r.stdout).toContain(`MISSING  ${EXTERNAL} (lab)`);
    expect(r.stdout).toMatch(/^4 site\(s\), 1 need attention$/m);
  }, 60_000);

  it("a new site in git gets its certificate after the apply, without a volunteer doing anything else", async () => {
    tree.edit((s) => (s.velo.shopPhp = "8.2"));
    // Through the CLI a volunteer (or CI's apply job) runs: it waits for the certificates and
    // names the site that has none, with what to do.
    const up = sh("npx", ["--no-install", "tsx", "lib/cli/main.ts", "up", "--stack", "lab", "--root", root, "--cert-wait", "90"]);
    expect(up.status, up.stderr).toBe(0);
    expect(up.stdout).toContain("certificates: 4 of 5 live; these need attention (mod_md keeps trying by itself):");
    expect(up.stdout).toContain(`  MISSING  ${EXTERNAL} (lab)`);
    expect(up.stdout).toContain("what to do: the site's DNS is not ours (dns: external)");
    const rows = await certs(0);
    const shop = rows.find((r) => r.site === "shop.atelier-velo.test");
    expect(shop?.state, JSON.stringify(shop)).toBe("ok");
    publish(VELO, "shop.atelier-velo.test", "Boutique");
    const page = curl("http://shop.atelier-velo.test/", pebbleRootFile(labPaths(root)), ["-L"]);
    expect(page.code, page.stderr).toBe(0);
    expect(page.head).toMatch(/^HTTP\/1\.1 301/m);
    expect(page.body).toContain("Boutique");
  }, 300_000);

  it("an alias added to a site that has its certificate: HTTP keeps redirecting, and the next certificate covers it", async () => {
    const before = await served("atelier-velo.test", ca);
    tree.edit((s) => (s.velo.aliases = ["www.atelier-velo.test", "velo.atelier-velo.test"]));
    await apply();
    // mod_md renews at once for the new name, while the site's redirect stays in place.
    const deadline = Date.now() + 90_000;
    let after = await served("velo.atelier-velo.test", ca);
    while (!after.authorized && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 2_000));
      after = await served("velo.atelier-velo.test", ca);
    }
    expect(after.authorized, after.error).toBe(true);
    expect(after.names).toEqual(["atelier-velo.test", "velo.atelier-velo.test", "www.atelier-velo.test"]);
    expect(after.serial).not.toBe(before.serial);
    const page = curl("http://velo.atelier-velo.test/", pebbleRootFile(labPaths(root)), ["-L"]);
    expect([page.code, page.body.includes("Atelier Vélo")]).toEqual([0, true]);
  }, 180_000);

  it("HTTPS for a name no site serves gets 421, not another member's site", () => {
    const r = sh("curl", ["-sk", "-o", "/dev/null", "-w", "%{http_code}", "--resolve", "nosuch.atelier-velo.test:443:127.0.0.1", "https://nosuch.atelier-velo.test/"]);
    expect(r.stdout).toBe("421");
  });

  it("an alias removed in git: the status says it is still on the certificate, and the next certificate leaves it out", async () => {
    const before = await served("atelier-velo.test", ca);
    tree.edit((s) => (s.velo.aliases = []));
    await apply();
    const [row] = (await certs(0)).filter((r) => r.site === "atelier-velo.test");
    expect(row?.extra).toEqual(["velo.atelier-velo.test", "www.atelier-velo.test"]);
    expect(row?.state).toBe("ok");
    // mod_md gets the next certificate when the current one is due; the lab stands in for time
    // passing by taking the current one out of the store, then lets mod_md and md-event.sh work.
    const dir = join(STORE, "domains", "atelier-velo.test");
    renameSync(dir, join(STORE, "domains", "atelier-velo.test.expired"));
    rmSync(join(STORE, "domains", "atelier-velo.test.expired"), { recursive: true });
    expect(sh("apache2ctl", ["graceful"]).status).toBe(0);
    const deadline = Date.now() + 90_000;
    let after = before;
    while (Date.now() < deadline) {
      after = await served("atelier-velo.test", ca).catch(() => before);
      if (after.authorized && after.serial !== before.serial) break;
      await new Promise((r) => setTimeout(r, 2_000));
    }
    expect(after.serial).not.toBe(before.serial);
    expect(after.authorized).toBe(true);
    expect(after.names).toEqual(["atelier-velo.test"]);
  }, 300_000);

  it("signs the zones: RRSIGs, delv validates with the zone's own key, the DS printed is the key BIND uses", async () => {
    const zone = "atelier-velo.test";
    expect(dig("+dnssec", "+norec", zone, "SOA")).toMatch(new RegExp(`^${zone.replace(/\./g, "\\.")}\\.\\s+\\d+\\s+IN\\s+RRSIG\\s+SOA 13 `, "m"));
    const ksk = dig("+short", zone, "DNSKEY")
      .split("\n")
      .filter((l) => l.startsWith("257 "));
    expect(ksk).toHaveLength(1);
    const [flags, proto, alg, ...key] = (ksk[0] as string).split(/\s+/);
    const anchors = join(root, "anchors.conf");
    writeFileSync(anchors, `trust-anchors {\n  "${zone}." static-key ${flags} ${proto} ${alg} "${key.join("")}";\n};\n`);
    const delv = sh("delv", ["@127.0.0.1", "-a", anchors, `+root=${zone}`, zone, "TXT"]);
    expect(delv.stdout + delv.stderr).toContain("; fully validated");
    expect(delv.stdout).toContain('"v=spf1 -all"');

    await onStackHosts(root, "lab", async () => {
      const [row] = await readDnssec(root, model(), [zone]);
      const fromServed = sh("dnssec-dsfromkey", ["-2", "-f", "-", zone], `${zone}. 3600 IN DNSKEY ${ksk[0]}\n`).stdout.trim();
      expect(row?.ds.map((l) => l.replace(/\s+/g, " "))).toEqual([fromServed.replace(/\s+/g, " ")]);
      expect(row?.policy).toBe("globenet");
      const view = formatDnssec([row as NonNullable<typeof row>]);
      expect(view).toMatch(new RegExp(`^${zone}: signed; policy globenet; dnssec: true in git\\n  key \\d+ (KSK|ZSK): published \\d{4}-\\d\\d-\\d\\d \\(\\d+ days?\\)`));
    });
    const cli = sh("npx", ["--no-install", "tsx", "lib/cli/main.ts", "dnssec", "ds", zone, "--stack", "lab", "--root", root]);
    expect(cli.status, cli.stderr).toBe(0);
    expect(cli.stdout.trim().replace(/\s+/g, " ")).toMatch(new RegExp(`^${zone.replace(/\./g, "\\.")}\\. IN DS \\d+ 13 2 [0-9A-F]{64}$`));
  }, 120_000);

  it("dnssec: false unsigns the zone: BIND's insecure policy withdraws the keys, the zone keeps answering, its serial never goes back", async () => {
    const zone = "atelier-velo.test";
    const serialBefore = Number(dig("+short", zone, "SOA").split(/\s+/)[2]);
    tree.edit((s) => (s.velo.zoneDnssec = false));
    await apply();
    const deadline = Date.now() + 60_000;
    let answer = "";
    while (Date.now() < deadline) {
      answer = dig("+dnssec", "+norec", zone, "SOA") + dig("+dnssec", "+norec", zone, "DNSKEY");
      if (!/\sRRSIG\s|\sDNSKEY\s+25[67]\s/.test(answer)) break;
      await new Promise((r) => setTimeout(r, 2_000));
    }
    expect(answer).not.toMatch(/\sRRSIG\s/);
    expect(answer).not.toMatch(/\sDNSKEY\s+25[67]\s/);
    expect(sh("rndc", ["dnssec", "-status", zone]).stdout).toMatch(/^dnssec-policy: insecure$/m);
    expect(dig("+short", zone, "TXT").trim()).toBe('"v=spf1 -all"');
    expect(Number(dig("+short", zone, "SOA").split(/\s+/)[2])).toBeGreaterThanOrEqual(serialBefore);
    // And the status view says so.
    await onStackHosts(root, "lab", async () => {
      const [row] = await readDnssec(root, model(), [zone]);
      expect(formatDnssec([row as NonNullable<typeof row>])).toMatch(new RegExp(`^${zone}: (unsigned|unsigning[^;]*); policy insecure; dnssec: false in git`));
    });
  }, 180_000);

  it("npm run lab -- down stops pebble with the rest", async () => {
    const pid = Number(readFileSync(join(labPaths(root).run, "pebble.pid"), "utf8"));
    expect(await labDown({ root })).toBe(0);
    downDone = true;
    expect(existsSync(`/proc/${pid}`)).toBe(false);
  }, 600_000);
});
