// Unit tier: no root, no daemon. Members' mail in the data: what validate refuses (with file,
// line and field), what the model holds, and the DNS records derived for a mail domain.
import { describe, expect, it } from "vitest";
import { localPartProblem, mailPasswordHashProblem } from "../lib/schema/mail";
import { loadModel } from "../lib/check/build";
import { baseFiles, errorsOf, inventoryWithMailHost, writeTree } from "./helpers/data-tree";
import type { ModelRecord } from "../lib/model/types";

const M = "members/velo-libre/member.yaml";
const ZONE = "zones/velo-libre.example.yaml";
const ARGON = "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
const YESCRYPT = "{CRYPT}$y$j9T$40b7r1AlrfQHpo6uVN/4w0$4DFJCbWQyPXFjBFK1bQ9b4RR8i/kcF/oNaWGP.CLGJ5";

/** The base member with `mail:` appended (line 13 is "mail:"). */
const member = (mail: string) => `${baseFiles()[M]}mail:\n${mail}`;
const valueOf = (r?: ModelRecord) => (r && "value" in r ? r.value : undefined);
const ZONE_NO_MAIL = "owner: velo-libre\nrecords: []\n";

const GOOD = `  - domain: velo-libre.example
    mailboxes:
      - { local: contact, password_hash: "${ARGON}" }
      - { local: tresorier, quota_mb: 2048, password_hash: "${YESCRYPT}" }
    aliases:
      - { local: bureau, to: [contact, tresorier] }
      - { local: president, to: [contact, "Presidente.Velo@example.org"] }
    catch_all: contact
`;

const tree = (mail: string, extra: Record<string, string | null> = {}) => ({ "Pulumi.test.yaml": inventoryWithMailHost(), [M]: member(mail), [ZONE]: ZONE_NO_MAIL, ...extra });

describe("local parts and password hashes", () => {
  it.each(["contact", "jean.dupont", "a", "b-2", "x_y"])("accepts %j", (s) => expect(localPartProblem(s)).toBeUndefined());
  const refused: [string, RegExp][] = [
    ["", /must not be empty/],
    ["Contact", /must be in lower case \(write "contact"\)/],
    ["a..b", /two dots in a row/],
    [".a", /starting and ending with a letter or digit/],
    ["a$(id)", /may hold only a-z/],
    ["a\nb", /may hold only a-z/],
    ["a b", /may hold only a-z/],
    ["a@b.example", /the part before the @ only \(write "a"\)/],
    ["x".repeat(65), /over the 64/],
  ];
  it.each(refused)("refuses %j", (s, why) => expect(localPartProblem(s)).toMatch(why));

  it.each([ARGON, YESCRYPT, "{BLF-CRYPT}$2y$05$" + "a".repeat(53), "{SHA512-CRYPT}$6$saltsalt$" + "b".repeat(86)])("accepts the hash %j", (h) => expect(mailPasswordHashProblem(h)).toBeUndefined());
  const badHashes: [string, RegExp][] = [
    ["hunter2", /never the password itself \(make one with: doveadm pw -s ARGON2ID/],
    ["{PLAIN}hunter2", /too weak/],
    ["{MD5-CRYPT}$1$abc$def", /too weak/],
    ["{ARGON2ID}nothash", /is not a hash Dovecot accepts here/],
    [`${ARGON}\n`, /is not a hash Dovecot accepts here/],
  ];
  it.each(badHashes)("refuses the hash %j", (h, why) => expect(mailPasswordHashProblem(h)).toMatch(why));
});

describe("validate: mail in a member file", () => {
  it("accepts mailboxes, aliases, a forward and a catch-all; the model holds whole addresses", () => {
    const { model, errors, warnings } = loadModel(writeTree(tree(GOOD)), "test");
    expect(errors.map((e) => e.message)).toEqual([]);
    // The mail host's component deploys the daemons (components/mail-server.ts): no warning beside the role any more.
    expect(warnings.filter((w) => /mail role/.test(w.message)).map((w) => w.message)).toEqual([]);
    expect(model?.mail).toEqual([
      {
        handle: "velo-libre", status: "active", domain: "velo-libre.example", zone: "velo-libre.example", mailHost: "mx1", file: M,
        mailboxes: [
          { address: "contact@velo-libre.example", local: "contact", quotaMb: 1024, passwordHash: ARGON },
          { address: "tresorier@velo-libre.example", local: "tresorier", quotaMb: 2048, passwordHash: YESCRYPT },
        ],
        aliases: [
          { address: "bureau@velo-libre.example", local: "bureau", to: ["contact@velo-libre.example", "tresorier@velo-libre.example"] },
          { address: "president@velo-libre.example", local: "president", to: ["contact@velo-libre.example", "presidente.velo@example.org"] },
        ],
        catchAll: "contact@velo-libre.example",
      },
    ]);
  });

  it("derives MX, SPF, DMARC, TLS-RPT and the mail clients' SRV records into the member's zone", () => {
    const { model } = loadModel(writeTree(tree(GOOD)), "test");
    const zone = model?.zones.find((z) => z.name === "velo-libre.example");
    const mail = zone?.records.filter((r) => r.origin === "mail").map(({ origin: _o, why: _w, ...r }) => r);
    expect(mail).toEqual([
      { name: "@", type: "MX", priority: 10, value: "mail.globenet.example." },
      { name: "@", type: "TXT", value: "v=spf1 mx -all" },
      { name: "_dmarc", type: "TXT", value: "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@globenet.example; adkim=r; aspf=r" },
      { name: "_imaps._tcp", type: "SRV", priority: 0, weight: 1, port: 993, value: "mail.globenet.example." },
      { name: "_submission._tcp", type: "SRV", priority: 0, weight: 1, port: 587, value: "mail.globenet.example." },
      { name: "_submissions._tcp", type: "SRV", priority: 0, weight: 1, port: 465, value: "mail.globenet.example." },
      { name: "_smtp._tls", type: "TXT", value: "v=TLSRPTv1; rua=mailto:dmarc-reports@globenet.example" },
    ]);
    expect(zone?.records.find((r) => r.type === "MX")?.why).toBe(`mail for velo-libre.example (${M})`);
    // The reports' domain (ours) says it takes velo-libre.example's reports (RFC 7489 7.1).
    const own = model?.zones.find((z) => z.name === "globenet.example")?.records.filter((r) => r.origin === "mail");
    // And the SRS domain (the mail host's public name) has its SPF: forwards leave with a sender there.
    expect(own?.map((r) => [r.name, r.type, valueOf(r)])).toEqual([["velo-libre.example._report._dmarc", "TXT", "v=DMARC1"], ["mail", "TXT", "v=spf1 a -all"]]);
  });

  it("follows the inventory: public name, DMARC policy, reports address", () => {
    const inv = inventoryWithMailHost("{ public_name: smtp.globenet.example, dmarc_policy: reject, reports_to: postmaster@globenet.example }");
    const { model, errors } = loadModel(writeTree({ ...tree(GOOD), "Pulumi.test.yaml": inv }), "test");
    expect(errors.map((e) => e.message)).toEqual([]);
    const recs = model?.zones.find((z) => z.name === "velo-libre.example")?.records ?? [];
    expect(valueOf(recs.find((r) => r.type === "MX"))).toBe("smtp.globenet.example.");
    expect(valueOf(recs.find((r) => r.name === "_dmarc"))).toBe("v=DMARC1; p=reject; rua=mailto:postmaster@globenet.example; adkim=r; aspf=r");
  });

  // Each: the mail, other files, and the error expected (file:line:column field: message).
  const refused: [string, string, Record<string, string | null>, string][] = [
    ["a hand-written MX where mail derives one", GOOD, { [ZONE]: 'owner: velo-libre\nrecords:\n  - { name: "@", type: MX, priority: 10, value: mx.elsewhere.example. }\n' },
      `${ZONE}:3:5 records[0]: collides with the MX record derived at velo-libre.example from mail for velo-libre.example (${M}) (remove it: a mail domain's MX is written for you; its source is at ${M}:14 mail[0].domain)`],
    ["a hand-written SPF where mail derives one", GOOD, { [ZONE]: 'owner: velo-libre\nrecords:\n  - { name: "@", type: TXT, value: "google-site-verification=abc" }\n  - { name: "@", type: TXT, value: "v=spf1 include:_spf.example ~all" }\n' },
      `${ZONE}:4:5 records[1]: collides with the SPF record derived at velo-libre.example`],
    ["a hand-written DMARC record", GOOD, { [ZONE]: 'owner: velo-libre\nrecords:\n  - { name: "_dmarc", type: TXT, value: "v=DMARC1; p=none" }\n' },
      `${ZONE}:3:5 records[0]: collides with the DMARC record derived at _dmarc.velo-libre.example`],
    ["a domain in a zone another member owns", "  - domain: globenet.example\n    mailboxes: []\n", {},
      `${M}:14:13 mail[0].domain: globenet.example is in the zone globenet.example, owned by globenet (mail is for a domain the member owns`],
    ["a domain in no zone we serve", "  - domain: velo.elsewhere.example\n", {},
      `${M}:14:13 mail[0].domain: velo.elsewhere.example is in no zone Globenet serves`],
    ["the same domain twice", "  - domain: velo-libre.example\n  - domain: velo-libre.example\n", {},
      `${M}:15:13 mail[1].domain: mail for velo-libre.example is already declared also at mail[0]`],
    ["postmaster taken by a member", `  - domain: velo-libre.example\n    mailboxes:\n      - { local: postmaster, password_hash: "${ARGON}" }\n`, {},
      `${M}:16:18 mail[0].mailboxes[0].local: postmaster@velo-libre.example is Globenet's (RFC 2142`],
    ["one address as mailbox and alias", `  - domain: velo-libre.example\n    mailboxes:\n      - { local: contact, password_hash: "${ARGON}" }\n    aliases:\n      - { local: contact, to: [x@example.org] }\n`, {},
      `${M}:18:18 mail[0].aliases[0].local: contact@velo-libre.example is already defined at mailboxes.0.local`],
    ["aliases in a loop", `  - domain: velo-libre.example\n    aliases:\n      - { local: a, to: [b] }\n      - { local: b, to: [c, x@example.org] }\n      - { local: c, to: [a] }\n`, {},
      `${M}:16:25 mail[0].aliases[0].to: the aliases loop: a@velo-libre.example → b@velo-libre.example → c@velo-libre.example → a@velo-libre.example`],
    ["a forward to a local address that does not exist", `  - domain: velo-libre.example\n    mailboxes:\n      - { local: contact, password_hash: "${ARGON}" }\n    aliases:\n      - { local: bureau, to: [contact, secretaire] }\n`, {},
      `${M}:18:40 mail[0].aliases[0].to[1]: secretaire@velo-libre.example does not exist`],
    ["a catch-all that is no mailbox", "  - domain: velo-libre.example\n    catch_all: personne\n", {},
      `${M}:15:16 mail[0].catch_all: personne@velo-libre.example is not a mailbox of this domain`],
    ["a quota over the inventory's maximum", `  - domain: velo-libre.example\n    mailboxes:\n      - { local: contact, quota_mb: 20000, password_hash: "${ARGON}" }\n`, {},
      `${M}:16:37 mail[0].mailboxes[0].quota_mb: 20000 MB is over the inventory's mail.max_quota_mb of 10240 MB`],
    ["a clear password", "  - domain: velo-libre.example\n    mailboxes:\n      - { local: contact, password_hash: hunter2 }\n", {},
      `${M}:16:42 mail[0].mailboxes[0].password_hash: must be a password hash, never the password itself`],
    ["a local part with shell syntax", `  - domain: velo-libre.example\n    mailboxes:\n      - { local: "a$(id)", password_hash: "${ARGON}" }\n`, {},
      `${M}:16:18 mail[0].mailboxes[0].local: may hold only a-z`],
    ["too many forwards", "  - domain: velo-libre.example\n    aliases:\n      - { local: a, to: [x@example.org, y@example.org] }\n", { "Pulumi.test.yaml": inventoryWithMailHost("{ max_forwards: 1 }") },
      `${M}:16:7 mail[0].aliases: forwards to 2 outside addresses, over the inventory's mail.max_forwards of 1`],
    ["mail on a stack without a mail host", GOOD, { "Pulumi.test.yaml": baseFiles()["Pulumi.test.yaml"] as string },
      `${M}:14:3 mail: the stack has no host with the mail role (add one to Pulumi.test.yaml, or remove mail)`],
  ];
  it.each(refused)("refuses %s, naming file:line and field", (_what, mail, extra, expected) => {
    const errors = errorsOf(tree(mail, extra));
    expect(errors.some((e) => e.startsWith(expected)), errors.join("\n")).toBe(true);
  });

  it("refuses another member's mail for the same domain, naming the first", () => {
    const other = `handle: ondes\nname: Ondes\ncontact: { email: a@ondes.example }\nstatus: active\nmail:\n  - domain: velo-libre.example\n`;
    const errors = errorsOf(tree(GOOD, { "members/ondes/member.yaml": other }));
    expect(errors.join("\n")).toMatch(/mail\[0\]\.domain: (mail for velo-libre\.example is already declared by|velo-libre\.example is in the zone velo-libre\.example, owned by velo-libre)/);
  });

  it("an alias may point at another member's address served here, and at Globenet's postmaster", () => {
    const ondes = `handle: ondes\nname: Ondes\ncontact: { email: a@ondes.example }\nstatus: active\nmail:\n  - domain: ondes.example\n    mailboxes:\n      - { local: radio, password_hash: "${ARGON}" }\n`;
    const mail = "  - domain: velo-libre.example\n    aliases:\n      - { local: radio, to: [radio@ondes.example, postmaster@velo-libre.example] }\n";
    const errors = errorsOf(tree(mail, { "members/ondes/member.yaml": ondes, "zones/ondes.example.yaml": "owner: ondes\n" }));
    expect(errors).toEqual([]);
    const bad = errorsOf(tree(mail.replace("radio@ondes", "tele@ondes"), { "members/ondes/member.yaml": ondes, "zones/ondes.example.yaml": "owner: ondes\n" }));
    expect(bad.join("\n")).toContain("tele@ondes.example does not exist: ondes.example is served here and has no mailbox or alias tele");
  });
});
