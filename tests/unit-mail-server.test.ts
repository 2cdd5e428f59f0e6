// Unit tier: no root, no daemon. The mail host as the program deploys it (components/mail-server.ts):
// the fixed vmail uid the file set makes, where each domain's DKIM TXT goes and how it is laid
// out in the zone file, and validate refusing a hand-written record at that name.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../lib/base/repo";
import { loadModel } from "../lib/check/build";
import { dkimRecordPlaces, dkimRecordValue, VMAIL_UID } from "../lib/model/mail";
import type { ModelRecord } from "../lib/model/types";
import { renderAppendedRecords } from "../lib/render/bind-zone";
import { baseFiles, errorsOf, inventoryWithMailHost, writeTree } from "./helpers/data-tree";

const M = "members/velo-libre/member.yaml";
const ZONE = "zones/velo-libre.example.yaml";
const ARGON = "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
const mail = (domains: string[]) => `mail:\n${domains.map((d) => `  - domain: ${d}\n    mailboxes:\n      - { local: contact, password_hash: "${ARGON}" }\n`).join("")}`;
const tree = (domains: string[], zone = "owner: velo-libre\nrecords: []\n") => ({ "Pulumi.test.yaml": inventoryWithMailHost(), [M]: `${baseFiles()[M]}${mail(domains)}`, [ZONE]: zone });
/** A 2048-bit RSA public key's base64 length (392 characters). */
const PUBLIC = `MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA${"x".repeat(342)}IDAQAB`;

describe("the mail host's component: vmail and the DKIM records", () => {
  it("the vmail uid the program renders is the one the mail file set makes the user with", () => {
    const script = readFileSync(join(REPO_ROOT, "provider/scripts/file-set/file-set.sh"), "utf8");
    expect(script).toContain(`\nVMAIL_UID=${VMAIL_UID}\n`);
  });

  it("each mail domain's DKIM record goes in its zone, its name relative to it (a sub-domain too)", () => {
    const { model, errors } = loadModel(writeTree(tree(["velo-libre.example", "lettres.velo-libre.example"])), "test");
    expect(errors.map((e) => e.message)).toEqual([]);
    expect(dkimRecordPlaces(model!, "mx1")).toEqual([
      { domain: "lettres.velo-libre.example", zone: "velo-libre.example", name: "g1._domainkey.lettres", selector: "g1", retired: false },
      { domain: "velo-libre.example", zone: "velo-libre.example", name: "g1._domainkey", selector: "g1", retired: false },
    ]);
    expect(dkimRecordPlaces(model!, "web1")).toEqual([]);
  });

  it.each([
    { retired: "[]", names: ["g2._domainkey"] },
    { retired: "[g1]", names: ["g2._domainkey", "g1._domainkey"] },
    { retired: "[g1, g0]", names: ["g2._domainkey", "g1._domainkey", "g0._domainkey"] },
  ])("a rotation to g2 with retired selectors $retired: the current record first, each retired one kept published", ({ retired, names }) => {
    const t = { ...tree(["velo-libre.example"]), "Pulumi.test.yaml": inventoryWithMailHost(`{ dkim_selector: g2, dkim_retired_selectors: ${retired} }`) };
    const { model, errors } = loadModel(writeTree(t), "test");
    expect(errors.map((e) => e.message)).toEqual([]);
    const places = dkimRecordPlaces(model!, "mx1");
    expect(places.map((p) => p.name)).toEqual(names);
    expect(places.map((p) => p.retired)).toEqual(names.map((_, i) => i > 0));
  });

  it.each([
    { retired: "[g2]", error: '"g2" is the current dkim_selector: a retired selector is an earlier one (list the selector you rotated away from)', at: 0 },
    { retired: "[g1, g1]", error: '"g1" is listed twice (keep one)', at: 1 },
    { retired: "[G1]", error: 'must be a short name of a-z, 0-9 and -, like "g2026"', at: 0 },
  ])("retired selectors $retired are refused in the inventory, naming the entry", ({ retired, error, at }) => {
    const errs = errorsOf({ ...tree(["velo-libre.example"]), "Pulumi.test.yaml": inventoryWithMailHost(`{ dkim_selector: g2, dkim_retired_selectors: ${retired} }`) });
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(new RegExp(`^Pulumi\\.test\\.yaml:\\d+:\\d+ .*mail\\.dkim_retired_selectors\\[${at}\\]: `));
    expect(errs[0]).toContain(error);
  });

  it("validate refuses a hand-written record at a retired selector's DKIM name too (the apply keeps publishing it)", () => {
    const zone = `owner: velo-libre\nrecords:\n  - { name: g1._domainkey, type: TXT, value: "v=DKIM1; k=rsa; p=${PUBLIC}" }\n`;
    const errs = errorsOf({ ...tree(["velo-libre.example"], zone), "Pulumi.test.yaml": inventoryWithMailHost("{ dkim_selector: g2, dkim_retired_selectors: [g1] }") });
    expect(errs).toEqual([`${ZONE}:3:5 records[0]: collides with the DKIM record the apply publishes at g1._domainkey.velo-libre.example from the key made on the mail host for mail of velo-libre.example (${M}): remove it`]);
  });

  it("the appended TXT is split in 255-byte strings inside parentheses, with the reason it is there", () => {
    const value = dkimRecordValue(PUBLIC);
    const text = renderAppendedRecords([{ name: "g1._domainkey", type: "TXT", value, origin: "mail", why: "DKIM key g1 of velo-libre.example, made on mx1" } as ModelRecord]);
    const lines = text.split("\n");
    expect(lines[0]).toBe("g1._domainkey IN TXT   ( ; derived: DKIM key g1 of velo-libre.example, made on mx1");
    const strings = [...text.matchAll(/"([^"]*)"/g)].map((m) => m[1] as string);
    expect(strings.map((s) => s.length)).toEqual([255, value.length - 255]);
    expect(strings.join("")).toBe(value);
    expect(text.endsWith(` )\n`)).toBe(true);
  });

  it("validate refuses a hand-written record at a mail domain's DKIM name, naming file and line", () => {
    const zone = `owner: velo-libre\nrecords:\n  - { name: g1._domainkey, type: TXT, value: "v=DKIM1; k=rsa; p=${PUBLIC}" }\n  - { name: old._domainkey, type: TXT, value: "v=DKIM1; k=rsa; p=${PUBLIC}" }\n`;
    const errs = errorsOf(tree(["velo-libre.example"], zone));
    expect(errs).toEqual([`${ZONE}:3:5 records[0]: collides with the DKIM record the apply publishes at g1._domainkey.velo-libre.example from the key made on the mail host for mail of velo-libre.example (${M}): remove it`]);
  });
});
