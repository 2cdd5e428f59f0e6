import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../lib/base/repo";
import { loadModel } from "../lib/check/build";
import { compileZone, derivedOf, importZone, importZoneFile, type DerivedRecord, type ZoneImport } from "../lib/import/zone-file";
import { renderZone } from "../lib/render/bind-zone";
import { parseYamlFile } from "../lib/load/yaml-file";
import { zoneSchema } from "../lib/schema/zone";
import { errorsOf } from "./helpers/data-tree";
import { requireTool } from "./helpers/tools";

/**
 * Unit tier (named-checkzone is one of the unit tier's checkers): a legacy zone file goes
 * through BIND's parser and comes out as zones/<zone>.yaml; the YAML is read back with the
 * project's own loader and zone schema, and the left-out and unexpressible records are
 * asserted with the original file's line.
 */
const haveBind = requireTool("named-checkzone");
const FIX = join(REPO_ROOT, "tests/fixtures/import");
const tmp = mkdtempSync(join(tmpdir(), "gn-import-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function load(zone: string, file: string, rest: { owner?: string; derivedByModel?: DerivedRecord[] } = {}): ZoneImport {
  const r = importZoneFile(zone, join(FIX, file), `ns1:/etc/bind/${file}`, rest);
  if ("error" in r) throw new Error(r.error);
  return r;
}

/** The YAML read back the way `validate` reads zones/*.yaml: the loader, then the zone schema. */
function readBack(r: ZoneImport) {
  const { yf, errors } = parseYamlFile("zones/imported.yaml", r.yaml);
  expect(errors).toEqual([]);
  return zoneSchema.parse(yf?.data);
}

/** "line why-prefix" of each note, for compact assertions. */
const lines = (notes: ZoneImport["derived"]) => notes.map((n) => `${n.where.replace(/^.*:(\d+|\?)$/, "$1")} ${n.record.split(" ")[3]}`);

describe.skipIf(!haveBind)("zone import: a hand-written legacy zone ($TTL, $ORIGIN, comments, multi-line SOA)", () => {
  const r = load("velo-legacy.example", "db.velo-legacy.example");

  it("keeps every record the schema can express, with relative names made relative to the zone and targets absolute", () => {
    const z = readBack(r);
    expect(z).toEqual(r.zone);
    const byName = (n: string) => z.records.filter((x) => x.name === n);
    expect(z.ttl).toBe(86400); // $TTL 1d, the most common TTL
    expect(byName("@")).toEqual([
      { name: "@", type: "MX", priority: 10, value: "mail.globenet.example." },
      { name: "@", type: "MX", priority: 20, value: "backup-mx.velo-legacy.example." },
      { name: "@", type: "TXT", value: "v=spf1 include:_spf.globenet.example -all" },
      { name: "@", type: "CAA", flags: 0, tag: "issue", value: "letsencrypt.org" },
    ]);
    expect(byName("atelier")).toEqual([{ name: "atelier", type: "A", value: "203.0.113.7", ttl: 300 }]);
    expect(byName("webmail")).toEqual([{ name: "webmail", type: "CNAME", value: "mail.globenet.example." }]);
    expect(byName("*.pages")).toEqual([{ name: "*.pages", type: "CNAME", value: "www.velo-legacy.example." }]);
    expect(byName("_dmarc")).toEqual([{ name: "_dmarc", type: "TXT", value: "v=DMARC1; p=quarantine; rua=mailto:dmarc@velo-legacy.example" }]);
    expect(byName("gn2011._domainkey")).toEqual([{ name: "gn2011._domainkey", type: "TXT", value: "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC" }]);
    expect(byName("_sip._tcp")).toEqual([{ name: "_sip._tcp", type: "SRV", priority: 10, weight: 5, port: 5060, value: "sip.provider.example." }]);
    expect(byName("bench.lab")).toEqual([{ name: "bench.lab", type: "A", value: "192.0.2.83" }]); // after $ORIGIN lab.…
    expect(byName("www").map((x) => x.type)).toEqual(["A", "AAAA"]);
    expect(byName("salle").map((x) => x.type)).toEqual(["A"]); // its HINFO is reported
  });

  it("leaves out the SOA and the apex NS, naming their line in the original file", () => {
    expect(r.derived.map((n) => n.where)).toEqual(["ns1:/etc/bind/db.velo-legacy.example:4", "ns1:/etc/bind/db.velo-legacy.example:10", "ns1:/etc/bind/db.velo-legacy.example:11"]);
    expect(lines(r.derived)).toEqual(["4 SOA", "10 NS", "11 NS"]);
    expect(r.derived[1]?.why).toMatch(/apex NS: derived from the stack's DNS hosts/);
  });

  it("reports what the schema cannot hold line by line: a type it lacks, a TXT with quotes, a TTL under 60", () => {
    expect(r.unexpressible.map((n) => `${n.where} ${n.why}`)).toEqual([
      "ns1:/etc/bind/db.velo-legacy.example:26 the zone schema refuses it: value contains a double quote (remove it; the value is quoted for you)",
      "ns1:/etc/bind/db.velo-legacy.example:28 the zone schema has no HINFO records (lib/schema/zone.ts lists the types it holds)",
      "ns1:/etc/bind/db.velo-legacy.example:30 TTL 30 is outside the schema's 60..604800 seconds: written with ttl 60",
    ]);
    const src = readFileSync(join(FIX, "db.velo-legacy.example"), "utf8").split("\n");
    expect(src[27]).toMatch(/^salle\s+IN\s+HINFO/);
    expect(src[25]).toMatch(/^quoted\s+IN\s+TXT/);
  });

  it("marks every guess with a TODO(import) comment next to the record, and each record with its source line", () => {
    expect(r.yaml).toContain("# TODO(import): the member who owns this zone");
    expect(r.yaml).toContain("# TODO(import): the live zone is unsigned");
    expect(r.yaml).toMatch(/# from ns1:\/etc\/bind\/db\.velo-legacy\.example:30\n\s+# TODO\(import\): the live TTL was 30[^\n]*\n(\s+# TODO[^\n]*\n)?\s+- \{ name: old, type: A, value: 192\.0\.2\.82, ttl: 60 \}/);
    expect(r.yaml).toMatch(/# TODO\(import\): was 2 strings[^\n]*\n\s+- \{ name: gn2011\._domainkey/);
    expect(r.yaml).toMatch(/# TODO\(import\): if www is a site, VPS or host name of the stack, remove this record: its A is derived\n\s+- \{ name: www, type: A/);
    expect((r.yaml.match(/TODO\(import\)/g) ?? []).length).toBe(r.todos);
  });

  it("given the stack's derived records, leaves out exactly the sites' A/AAAA and the derived CAA, without the site TODOs", () => {
    const derivedByModel: DerivedRecord[] = [
      { name: "www", type: "A", value: "192.0.2.80", why: "site velo-legacy.example (members/velo/member.yaml)" },
      { name: "www", type: "AAAA", value: "2001:db8::80", why: "site velo-legacy.example (members/velo/member.yaml)" },
      { name: "@", type: "CAA", flags: 0, tag: "issue", value: "letsencrypt.org", why: "HTTPS certificates" },
      { name: "atelier", type: "A", value: "203.0.113.99", why: "VPS velo/atelier" }, // another address: the live one stays
    ];
    const m = load("velo-legacy.example", "db.velo-legacy.example", { owner: "velo-libre", derivedByModel });
    const z = readBack(m);
    expect(z.owner).toBe("velo-libre");
    expect(z.records.filter((x) => x.name === "www")).toEqual([]);
    expect(z.records.filter((x) => x.type === "CAA")).toEqual([]);
    expect(z.records.filter((x) => x.name === "atelier")).toHaveLength(1);
    expect(lines(m.derived)).toEqual(["4 SOA", "10 NS", "11 NS", "15 CAA", "16 A", "17 AAAA"]);
    expect(m.derived.find((n) => n.where.endsWith(":16"))?.why).toBe("A: derived from site velo-legacy.example (members/velo/member.yaml)");
    expect(m.yaml).not.toMatch(/is a site, VPS or host name/);
    expect(m.yaml).not.toContain("the member who owns this zone");
  });
});

describe.skipIf(!haveBind)("zone import: a signed zone (dnssec-signzone output, NSEC3)", () => {
  const r = load("signed-legacy.example", "db.signed-legacy.example");

  it("leaves out DNSKEY, RRSIG, NSEC3 and NSEC3PARAM with their lines, keeps the records, and says dnssec: true without a TODO", () => {
    const types = new Set(r.derived.map((n) => n.record.split(" ")[3]));
    expect([...types].sort()).toEqual(["DNSKEY", "NS", "NSEC3", "NSEC3PARAM", "RRSIG", "SOA"]);
    expect(r.derived.filter((n) => n.where.endsWith(":?"))).toEqual([]);
    const src = readFileSync(join(FIX, "db.signed-legacy.example"), "utf8").split("\n");
    for (const n of r.derived) {
      const line = Number(n.where.split(":").pop());
      expect(src[line - 1], n.where).toMatch(new RegExp(`\\b${n.record.split(" ")[3]}\\b`));
    }
    const z = readBack(r);
    expect(z.dnssec).toBe(true);
    expect(r.yaml).not.toMatch(/live zone is unsigned/);
    expect(z.records.map((x) => `${x.name} ${x.type}`)).toEqual(["@ MX", "info TXT", "www A"]);
    expect(r.unexpressible).toEqual([]);
  });
});

describe.skipIf(!haveBind)("zone import: hostile input", () => {
  const marker = "/tmp/gn-import-pwned";

  it("names and TXT holding newlines, $(…), backticks and quotes are reported, never written, never run", () => {
    rmSync(marker, { force: true });
    const r = load("hostile.example", "db.hostile.example");
    expect(existsSync(marker)).toBe(false);
    const z = readBack(r);
    expect(z.records).toEqual([{ name: "fine", type: "TXT", value: "plain text; with a semicolon" }]);
    expect(r.unexpressible.map((n) => n.where.split(":").pop()).sort()).toEqual(["10", "5", "6", "7", "8", "9"]);
    for (const n of r.unexpressible) expect(n.why).toMatch(/the zone schema refuses it: (name|value) contains/);
    expect(r.yaml).not.toContain("injected");
    expect(r.yaml).not.toContain("$(");
    // The note's text shows BIND's escapes, never a raw line break.
    expect(r.unexpressible.every((n) => !/[\n\r]/.test(n.record))).toBe(true);
  });

  it("a source name with a line break cannot start a YAML line in the header comment", () => {
    const file = join(FIX, "db.hostile.example");
    const c = compileZone("hostile.example", file);
    if (!c.ok) throw new Error(c.error);
    const r = importZone({ zone: "hostile.example", source: readFileSync(file, "utf8"), sourceFile: "ns1:/x\nowner: attacker", canonical: c.canonical });
    expect(r.yaml).not.toMatch(/^owner: attacker/m);
    expect(readBack(r).owner).toBe("to-be-decided");
  });

  it("TXT values YAML would read as something else come back as the same strings", () => {
    const values = ["true", "123", "null", "0x1F", "- item", "a: b", "#hash", "@at", "*star", "'single'", "{ x: 1 }", "[1]", "~", "é ü 漢字", " leading space", "trailing space "];
    const f = join(tmp, "db.yamlish");
    writeFileSync(f, ["$TTL 3600", "@ IN SOA ns1.globenet.example. h.globenet.example. 1 3600 900 604800 300", "@ IN NS ns1.globenet.example.", ...values.map((v, i) => `t${i} IN TXT "${v}"`), ""].join("\n"));
    const r = importZoneFile("yamlish.example", f, "ns1:db.yamlish", { owner: "globenet", derivedByModel: [] });
    if ("error" in r) throw new Error(r.error);
    const back = readBack(r).records.map((x) => [x.name, "value" in x ? x.value : undefined]);
    expect(back.sort()).toEqual(values.map((v, i) => [`t${i}`, v]).sort());
  });

  it("records made by $GENERATE point back at its line", () => {
    const f = join(tmp, "db.generate");
    writeFileSync(f, "$TTL 3600\n@ IN SOA ns1.globenet.example. h.globenet.example. 1 3600 900 604800 300\n@ IN NS ns1.globenet.example.\n; pool\n$GENERATE 1-3 host$ 600 IN A 192.0.2.$\n");
    const r = importZoneFile("generate.example", f, "ns1:db.generate", { owner: "globenet", derivedByModel: [] });
    if ("error" in r) throw new Error(r.error);
    expect(readBack(r).records).toEqual([1, 2, 3].map((i) => ({ name: `host${i}`, type: "A", value: `192.0.2.${i}` })));
    expect((r.yaml.match(/# from ns1:db\.generate:5\n/g) ?? []).length).toBe(3);
  });

  it("$INCLUDE is refused before BIND reads the file (it would read this machine's files), naming the line", () => {
    const f = join(tmp, "db.include");
    writeFileSync(f, "$TTL 3600\n@ IN SOA ns1.globenet.example. h.globenet.example. 1 3600 900 604800 300\n@ IN NS ns1.globenet.example.\n$INCLUDE /etc/passwd\n");
    const r = importZoneFile("include.example", f, "ns1:db.include");
    expect(r).toEqual({ error: `${f}:4: $INCLUDE is not followed by the import (it would read a file of this machine; paste the included file in its place, then import again)` });
  });

  it("a zone name that looks like an option is refused, and a zone BIND refuses is an error naming the file", () => {
    const f = join(FIX, "db.hostile.example");
    const opt = compileZone("-o/tmp/gn-import-opt", f);
    expect(opt.ok).toBe(false);
    expect(existsSync("/tmp/gn-import-opt")).toBe(false);
    const wrong = compileZone("other.example", join(FIX, "db.velo-legacy.example"));
    expect(wrong.ok).toBe(false);
    if (!wrong.ok) expect(wrong.error).toMatch(/BIND refuses the zone other\.example/);
  });
});

describe.skipIf(!haveBind)("zone import: the repository's own zones, rendered by the project and imported back", () => {
  it("gives back exactly the hand-written records of every prod zone, the derived ones left out by the model", () => {
    const { model, errors } = loadModel(REPO_ROOT, "prod");
    expect(errors).toEqual([]);
    const zones = model?.zones ?? [];
    expect(zones.length).toBeGreaterThan(5);
    let derivedSeen = 0;
    for (const z of zones) {
      const file = join(tmp, `db.${z.name}`);
      writeFileSync(file, renderZone(z, 2026120401));
      const r = importZoneFile(z.name, file, `ns1:db.${z.name}`, { owner: z.owner, derivedByModel: derivedOf(z) });
      if ("error" in r) throw new Error(r.error);
      const key = (x: Record<string, unknown>) => JSON.stringify(Object.entries(x).filter(([k]) => k !== "origin" && k !== "why").sort());
      const want = z.records.filter((x) => x.origin === "file").map((x) => key({ ...x, ttl: x.ttl ?? z.ttl }));
      const got = readBack(r).records.map((x) => key({ ...x, ttl: x.ttl ?? r.zone.ttl }));
      expect(got.sort(), z.name).toEqual(want.sort());
      expect(r.unexpressible, z.name).toEqual([]);
      derivedSeen += r.derived.filter((n) => !/^(SOA|apex NS)/.test(n.why)).length;
      expect(r.derived.filter((n) => n.where.endsWith(":?")), z.name).toEqual([]);
    }
    expect(derivedSeen).toBeGreaterThan(10);
    expect(derivedSeen).toBe(zones.flatMap(derivedOf).filter((x) => !(x.type === "NS" && x.name === "@")).length);
  });
});

describe.skipIf(!haveBind)("zone import: validate refuses the TODO(import) guesses until a volunteer resolves them", () => {
  it("each TODO(import) comment is an error at its file:line:col; resolved (comments removed), they are gone", () => {
    const r = load("velo-legacy.example", "db.velo-legacy.example", { owner: "velo-libre" });
    const rel = "zones/velo-legacy.example.yaml";
    const todoLines = r.yaml.split("\n").flatMap((l, i) => (l.includes("# TODO(import)") ? [`${rel}:${i + 1}:${l.indexOf("TODO(import)") + 1}`] : []));
    expect(todoLines.length).toBe(r.todos);
    const errors = errorsOf({ [rel]: r.yaml }).filter((e) => e.includes("import guess"));
    expect(errors.map((e) => e.split(": ")[0])).toEqual(todoLines);
    expect(errors[0]).toMatch(/still has an import guess to check: "the live zone is unsigned; true signs it/);
    const resolved = r.yaml.split("\n").filter((l) => !l.includes("TODO(import)")).join("\n");
    expect(errorsOf({ [rel]: resolved }).filter((e) => e.includes("import guess"))).toEqual([]);
  });
});
