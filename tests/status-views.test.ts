import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { SiteModel } from "../lib/model/types";
import { classify, describeCert, formatCerts, jobError } from "../lib/status/certs";
import { formatDnssec, parseDnssecStatus } from "../lib/status/dnssec";
import { requireTools } from "./helpers/tools";

const NOW = new Date("2026-11-26T12:00:00Z");
const tmp = mkdtempSync(join(tmpdir(), "globenet-status-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A certificate made by openssl for these names, valid `days` from now (the store's pubcert.pem shape). */
function cert(names: string[], days: number): string {
  const out = join(tmp, `${names[0]}-${days}.pem`);
  const r = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(tmp, "k.pem"), "-out", out, "-days", String(days), "-subj", "/CN=Test Intermediate CA 42", "-addext", `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}`], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return readFileSync(out, "utf8");
}

const site = (over: Partial<SiteModel> = {}): SiteModel => ({
  handle: "velo", status: "active", host: "velo.example", aliases: ["www.velo.example"], redirects: [], php: "none", tls: "acme", dns: "managed", webHost: "web1", docroot: "/home/velo/sites/velo.example/htdocs", poolFields: {}, file: "members/velo/member.yaml", ...over,
});

const ok = requireTools("openssl");

describe.skipIf(!ok)("certificate status (pure)", () => {
  it("reads issuer, names and days left from the first certificate of a chain", () => {
    const now = new Date();
    const c = describeCert(cert(["velo.example", "www.velo.example"], 90) + cert(["other.example"], 10), now);
    expect(c?.issuer).toBe("Test Intermediate CA 42");
    expect(c?.names).toEqual(["velo.example", "www.velo.example"]);
    expect(c?.daysLeft).toBeGreaterThanOrEqual(89);
    expect(c?.daysLeft).toBeLessThanOrEqual(90);
    expect(describeCert("not a certificate", now)).toBeUndefined();
  });

  it.each([
    ["all names, 90 days", ["velo.example", "www.velo.example"], 90, {}, "ok", [], []],
    ["all names, 10 days: flagged under 20", ["velo.example", "www.velo.example"], 10, {}, "expiring", [], []],
    ["an alias added since", ["velo.example"], 90, {}, "pending", ["www.velo.example"], []],
    ["an alias removed since", ["velo.example", "www.velo.example", "old.velo.example"], 90, {}, "ok", [], ["old.velo.example"]],
    ["a redirect name counts too", ["velo.example", "www.velo.example"], 90, { redirects: ["velo.test"] as string[] }, "pending", ["velo.test"], []],
  ] as const)("%s → %s", (_n, names, days, over, state, missing, extra) => {
    const r = classify(site(over as Partial<SiteModel>), "web1", cert([...names], days), undefined, new Date());
    expect([r.state, r.missing, r.extra]).toEqual([state, missing, extra]);
  });

  it("no certificate: missing, with mod_md's most specific error and what to do for each kind of DNS", () => {
    const job = {
      errors: 3,
      last: { status: 22, detail: "Error waiting on domain names to be validated" },
      log: { entries: [{ type: "renewal-error", detail: "Error waiting on domain names to be validated" }, { type: "progress", detail: "Monitoring challenge status for velo.example: domain authorization for www.velo.example failed, CA considers answer to challenge invalid." }] },
    };
    expect(jobError(job)).toBe("domain authorization for www.velo.example failed, CA considers answer to challenge invalid. (3 failed attempts; mod_md retries by itself)");
    expect(jobError({ errors: 0 })).toBeUndefined();
    expect(jobError({ errors: 1, last: { detail: "boom" } })).toBe("boom (1 failed attempt; mod_md retries by itself)");
    const ext = classify(site({ dns: "external" }), "web1", "", job, NOW, "192.0.2.10 / 2001:db8::10");
    expect(ext.state).toBe("missing");
    expect(ext.next).toBe("the site's DNS is not ours (dns: external): the member must point velo.example, www.velo.example at 192.0.2.10 / 2001:db8::10 at their DNS provider; then mod_md gets the certificate by itself");
    const managed = classify(site(), "web1", "", undefined, NOW, "192.0.2.10");
    expect(managed.next).toMatch(/^the zone derives velo\.example, www\.velo\.example → 192\.0\.2\.10: check that the zone is served/);
    const text = formatCerts([ext]);
    expect(text).toContain("MISSING  velo.example (web1)\n  no certificate yet: the site answers on HTTP only\n  last attempt failed: domain authorization");
    expect(text.endsWith("1 site(s), 1 need attention")).toBe(true);
  });
});

// `rndc dnssec -status` of BIND 9.18, as the lab printed it.
const STATUS = `dnssec-policy: globenet
current time:  Thu Nov 26 13:33:02 2026

key: 6220 (ECDSAP256SHA256), KSK
  published:      yes - since Mon Aug 24 10:00:00 2026
  key signing:    yes - since Mon Aug 24 10:00:00 2026

  No rollover scheduled
  - goal:           omnipresent
  - dnskey:         omnipresent
  - ds:             hidden
  - key rrsig:      omnipresent

key: 18629 (ECDSAP256SHA256), KSK
  published:      no
  key signing:    no

  Key has been removed from the zone
  - goal:           hidden
  - dnskey:         hidden
  - ds:             hidden
  - key rrsig:      hidden

key: 57451 (ECDSAP256SHA256), ZSK
  published:      yes - since Wed Nov 25 13:33:02 2026
  zone signing:   yes - since Wed Nov 25 13:33:02 2026

  Next rollover scheduled on Mon Feb 23 13:33:02 2027
  - goal:           omnipresent
  - dnskey:         omnipresent
  - zone rrsig:     rumoured
`;

describe("DNSSEC status (pure)", () => {
  it("parses the policy, each key's role, publication date, age and states", () => {
    const p = parseDnssecStatus(STATUS, new Date("2026-11-26T13:33:02"));
    expect(p.policy).toBe("globenet");
    expect(p.keys.map((k) => [k.id, k.role, k.ageDays, k.goal])).toEqual([
      [6220, "KSK", 94, "omnipresent"],
      [18629, "KSK", undefined, "hidden"],
      [57451, "ZSK", 1, "omnipresent"],
    ]);
    expect(p.keys[0]?.states).toEqual({ dnskey: "omnipresent", ds: "hidden", "key rrsig": "omnipresent" });
  });

  it("shows live keys first, withdrawn ones on one line, and the DS to give the registrar", () => {
    const p = parseDnssecStatus(STATUS, new Date("2026-11-26T13:33:02"));
    const text = formatDnssec([{ zone: "velo.example", wanted: true, ...p, ds: ["velo.example. IN DS 6220 13 2 ABCD"], raw: STATUS }]);
    expect(text.split("\n")).toEqual([
      "velo.example: signed; policy globenet; dnssec: true in git",
      "  key 6220 KSK: published 2026-08-24 (94 days), goal omnipresent, dnskey omnipresent, ds hidden, key rrsig omnipresent",
      "  key 57451 ZSK: published 2026-11-25 (1 day), goal omnipresent, dnskey omnipresent, zone rrsig rumoured",
      "  retired keys (withdrawn, kept on disk): 18629 KSK",
      "  DS: velo.example. IN DS 6220 13 2 ABCD",
    ]);
  });

  it.each([
    [true, STATUS, "signed"],
    [true, "dnssec-policy: globenet\n", "NOT SIGNED YET"],
    [false, STATUS.replace("globenet", "insecure"), "unsigning"],
    [false, "dnssec-policy: insecure\n", "unsigned"],
  ])("dnssec: %s in git, BIND says … → %s", (wanted, status, state) => {
    const p = parseDnssecStatus(status, NOW);
    expect(formatDnssec([{ zone: "z.example", wanted, ...p, ds: [], raw: status }]).split("\n")[0]).toMatch(new RegExp(`^z\\.example: ${state}`));
  });
});
