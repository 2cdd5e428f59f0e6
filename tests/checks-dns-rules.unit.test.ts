import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "./helpers/temp-dir";
import { formatDiagnostic } from "../lib/load/diagnostic";
import { loadModel } from "../lib/check/build";
import type { ModelRecord, ZoneModel } from "../lib/model/types";
import { renderZone } from "../lib/render/bind-zone";
import { errorsOf, memberWith, writeTree } from "./helpers/data-tree";
import { requireTool, run } from "./helpers/tools";

/*
 * Unit tier: DNS data that BIND would load but silently rewrite, that the RFCs forbid, or
 * that a zone cannot serve is refused at its record, with the fix. Each rule provoked alone
 * on the base tree (tests/helpers/data-tree.ts), next to the legitimate uses that must pass.
 * The last block shows, with BIND's own named-checkzone (a program, no daemon), that BIND
 * loads such data anyway and rewrites it without failing: why validate has to refuse it.
 */

const Z = "zones/velo-libre.example.yaml";
const zone = (...records: string[]) => ({ [Z]: `owner: velo-libre\nrecords:\n${records.map((r) => `  - ${r}\n`).join("")}` });
const G = "zones/globenet.example.yaml";

const legitimate: Array<[string, Record<string, string | null>]> = [
  ["an RRset whose records share one TTL", zone('{ name: "@", type: MX, priority: 10, value: mx1.globenet.example., ttl: 300 }', '{ name: "@", type: MX, priority: 20, value: mx2.globenet.example., ttl: 300 }')],
  ["an RRset relying on the zone's TTL", zone('{ name: "@", type: MX, priority: 10, value: mx1.globenet.example. }', '{ name: "@", type: MX, priority: 20, value: mx2.globenet.example., ttl: 3600 }')],
  ["different TTLs on different types at one name", zone('{ name: mail, type: A, value: 198.51.100.25, ttl: 300 }', '{ name: mail, type: TXT, value: hello, ttl: 60 }')],
  ["a null MX alone", zone('{ name: "@", type: MX, priority: 0, value: . }')],
  ["an MX target with address records", zone('{ name: "@", type: MX, priority: 10, value: mail.velo-libre.example. }', "{ name: mail, type: A, value: 198.51.100.25 }")],
  ["a CNAME pointed at by a CNAME (not an MX, NS or SRV)", zone("{ name: webmail, type: CNAME, value: mail.globenet.example. }", "{ name: courrier, type: CNAME, value: webmail.velo-libre.example. }")],
  ["an SRV target with its own A beside a wildcard CNAME", zone("{ name: \"*.svc\", type: CNAME, value: x.globenet.example. }", "{ name: xmpp.svc, type: A, value: 198.51.100.26 }", "{ name: _xmpp-client._tcp, type: SRV, priority: 5, weight: 0, port: 5222, value: xmpp.svc.velo-libre.example. }")],
  ["a delegation with its glue", zone("{ name: dyn, type: NS, value: ns.dyn.velo-libre.example. }", "{ name: ns.dyn, type: A, value: 198.51.100.53 }", '{ name: ns.dyn, type: AAAA, value: "2001:db8:5::53" }')],
  ["a delegation to name servers elsewhere, records beside it", zone("{ name: dyn, type: NS, value: ns1.other.example. }", "{ name: dynamo, type: TXT, value: not below the cut }")],
  ["a relative name that merely contains the zone's first label", zone("{ name: velo-libre, type: TXT, value: fine }")],
];

const refused: Array<[string, Record<string, string | null>, string[]]> = [
  ["an RRset with two TTLs", zone('{ name: "@", type: MX, priority: 10, value: mx1.globenet.example., ttl: 300 }', '{ name: "@", type: MX, priority: 20, value: mx2.globenet.example., ttl: 600 }'), [
    `${Z}:4:77 records[1].ttl: the MX records at velo-libre.example must share one TTL: this one has 600 s, the one at ${Z}:3 records[0] has 300 s, and BIND would serve the whole set with one of them (give every MX record at this name the same ttl:)`,
  ]],
  ["an RRset mixing a TTL and the zone's default", zone("{ name: www2, type: A, value: 198.51.100.1 }", "{ name: www2, type: A, value: 198.51.100.2, ttl: 60 }"), [
    `${Z}:4:54 records[1].ttl: the A records at www2.velo-libre.example must share one TTL: this one has 60 s, the one at ${Z}:3 records[0] has the zone's 3600 s, and BIND would serve the whole set with one of them (give every A record at this name the same ttl:)`,
  ]],
  ["the same record twice with two TTLs: one message", zone('{ name: "@", type: TXT, value: a }', '{ name: "@", type: TXT, value: a, ttl: 60 }'), [
    `${Z}:4:5 records[1]: the same TXT record is written twice (also at ${Z}:3 records[0]; remove one)`,
  ]],
  ["a null MX beside another MX", zone('{ name: "@", type: MX, priority: 10, value: mail.globenet.example. }', '{ name: "@", type: MX, priority: 0, value: . }'), [
    `${Z}:4:48 records[1].value: a null MX (value ".") says velo-libre.example receives no mail, so it must be the only MX record there, and there is another at ${Z}:3 records[0] (RFC 7505: remove the null MX, or the other MX records)`,
  ]],
  ["an MX target that is a CNAME in the same zone", zone('{ name: "@", type: MX, priority: 10, value: mail.velo-libre.example. }', "{ name: mail, type: CNAME, value: mx.globenet.example. }"), [
    `${Z}:3:49 records[0].value: mail.velo-libre.example is an alias (a CNAME, at ${Z}:4 records[1]), and the target of an MX record must not be one (RFC 2181 §10.3: mail servers and resolvers may refuse to follow it; point it at mx.globenet.example., where the CNAME leads, or replace the CNAME with A/AAAA records)`,
  ]],
  ["an MX target that is a CNAME in another managed zone", { ...zone('{ name: "@", type: MX, priority: 10, value: mail.globenet.example. }'), [G]: "owner: globenet\nrecords:\n  - { name: mail, type: CNAME, value: mx.provider.example. }\n" }, [
    `${Z}:3:49 records[0].value: mail.globenet.example is an alias (a CNAME, at ${G}:3 records[0]), and the target of an MX record must not be one (RFC 2181 §10.3: mail servers and resolvers may refuse to follow it; point it at mx.provider.example., where the CNAME leads, or replace the CNAME with A/AAAA records)`,
  ]],
  ["an NS target that is a CNAME", zone("{ name: dyn, type: NS, value: ns.velo-libre.example. }", "{ name: ns, type: CNAME, value: ns1.other.example. }"), [
    `${Z}:3:35 records[0].value: ns.velo-libre.example is an alias (a CNAME, at ${Z}:4 records[1]), and the target of an NS record must not be one (RFC 2181 §10.3: mail servers and resolvers may refuse to follow it; point it at ns1.other.example., where the CNAME leads, or replace the CNAME with A/AAAA records)`,
  ]],
  ["an SRV target that a wildcard CNAME answers for", zone('{ name: "*.svc", type: CNAME, value: x.globenet.example. }', "{ name: _xmpp-client._tcp, type: SRV, priority: 5, weight: 0, port: 5222, value: xmpp.svc.velo-libre.example. }"), [
    `${Z}:4:86 records[1].value: xmpp.svc.velo-libre.example is an alias (a CNAME through the wildcard *.svc.velo-libre.example, at ${Z}:3 records[0]), and the target of an SRV record must not be one (RFC 2782: mail servers and resolvers may refuse to follow it; point it at x.globenet.example., where the CNAME leads, or replace the CNAME with A/AAAA records)`,
  ]],
  ["a name written in full", zone("{ name: blog.velo-libre.example, type: TXT, value: x }"), [
    `${Z}:3:13 records[0].name: "blog.velo-libre.example" is written in full, but names are relative to the zone: this record would be blog.velo-libre.example.velo-libre.example (write "blog")`,
  ]],
  ["the zone's own name as a record name", zone("{ name: velo-libre.example, type: TXT, value: x }"), [
    `${Z}:3:13 records[0].name: "velo-libre.example" is written in full, but names are relative to the zone: this record would be velo-libre.example.velo-libre.example (write "@")`,
  ]],
  ["a name of another managed zone", zone("{ name: _dmarc.globenet.example, type: TXT, value: x }"), [
    `${Z}:3:13 records[0].name: "_dmarc.globenet.example" is a name of the zone globenet.example, but names here are relative to velo-libre.example: this record would be _dmarc.globenet.example.velo-libre.example (write it in zones/globenet.example.yaml as "_dmarc")`,
  ]],
  ["a record below a delegation", zone("{ name: dyn, type: NS, value: ns1.other.example. }", "{ name: www.dyn, type: A, value: 198.51.100.9 }"), [
    `${Z}:4:5 records[1]: www.dyn.velo-libre.example is at or below dyn.velo-libre.example, which this zone delegates to other name servers (NS at ${Z}:3 records[0]): this A record would never be served (write it in the delegated zone on its name servers; only the addresses of those name servers, "glue", belong here)`,
  ]],
  ["a record at the delegation point", zone("{ name: dyn, type: NS, value: ns1.other.example. }", "{ name: dyn, type: TXT, value: hello }"), [
    `${Z}:4:5 records[1]: dyn.velo-libre.example is at or below dyn.velo-libre.example, which this zone delegates to other name servers (NS at ${Z}:3 records[0]): this TXT record would never be served (write it in the delegated zone on its name servers; only the addresses of those name servers, "glue", belong here)`,
  ]],
  ["an address below a delegation that no NS names (not glue)", zone("{ name: dyn, type: NS, value: ns.dyn.velo-libre.example. }", "{ name: ns.dyn, type: A, value: 198.51.100.53 }", "{ name: other.dyn, type: A, value: 198.51.100.54 }"), [
    `${Z}:5:5 records[2]: other.dyn.velo-libre.example is at or below dyn.velo-libre.example, which this zone delegates to other name servers (NS at ${Z}:3 records[0]): this A record would never be served (write it in the delegated zone on its name servers; only the addresses of those name servers, "glue", belong here)`,
  ]],
  ["a site whose name is below a delegation", {
    ...zone("{ name: dyn, type: NS, value: ns1.other.example. }"),
    "members/velo-libre/member.yaml": memberWith("aliases: [www.velo-libre.example]", "aliases: [www.velo-libre.example, blog.dyn.velo-libre.example]"),
  }, [
    "members/velo-libre/member.yaml:9:39 sites[0].aliases[1]: blog.dyn.velo-libre.example is at or below dyn.velo-libre.example, which zones/velo-libre.example.yaml delegates to other name servers (NS at zones/velo-libre.example.yaml:3 records[0]): the A record derived for it would never be served (choose a name outside dyn.velo-libre.example, or remove that delegation)",
  ]],
  ["hand-written NS for a sub-zone served from its own file", { ...zone("{ name: shop, type: NS, value: ns1.other.example. }"), "zones/shop.velo-libre.example.yaml": "owner: velo-libre\n" }, [
    `${Z}:3:5 records[0]: shop.velo-libre.example has its own zone file, zones/shop.velo-libre.example.yaml, so the NS records delegating it are derived from the stack's DNS hosts (remove this record)`,
  ]],
  ["a record at a name delegated to a sub-zone file (existing rule)", { ...zone("{ name: shop, type: TXT, value: x }"), "zones/shop.velo-libre.example.yaml": "owner: velo-libre\n" }, [
    `${Z}:3:13 records[0].name: shop.velo-libre.example lies in the zone shop.velo-libre.example, which has its own file (move the record to zones/shop.velo-libre.example.yaml)`,
  ]],
  ["a CNAME beside other data (existing rule)", zone("{ name: mail, type: CNAME, value: x.example. }", "{ name: mail, type: MX, priority: 10, value: mx.globenet.example. }"), [
    `${Z}:3:5 records[0]: a CNAME at mail.velo-libre.example cannot stand beside other records, and there is a MX record at ${Z}:4 records[1] (keep either the CNAME or the other records)`,
  ]],
];

describe("DNS: what BIND rewrites, what the RFCs forbid, what a zone cannot hold", () => {
  it.each(legitimate)("accepts %s", (_what, changes) => {
    expect(errorsOf(changes)).toEqual([]);
  });

  it.each(refused)("refuses %s", (_what, changes, expected) => {
    expect(errorsOf(changes)).toEqual(expected);
  });

  it.each<[string, Record<string, string | null>, string]>([
    ["two TTLs", zone("{ name: www2, type: A, value: 198.51.100.1 }", "{ name: www2, type: A, value: 198.51.100.2, ttl: 60 }"),
      `${Z}:4:54 records[1].ttl: les enregistrements A de www2.velo-libre.example doivent avoir le même TTL : celui-ci a 60 s, celui de ${Z}:3 records[0] a le TTL de la zone (3600 s), et BIND servirait tout l'ensemble avec un seul des deux (donnez le même ttl: à tous les enregistrements A de ce nom)`],
    ["a name written in full", zone("{ name: blog.velo-libre.example, type: TXT, value: x }"),
      `${Z}:3:13 records[0].name: « blog.velo-libre.example » est écrit en entier, mais les noms sont relatifs à la zone : cet enregistrement serait blog.velo-libre.example.velo-libre.example (écrivez "blog")`],
    ["a record below a delegation", zone("{ name: dyn, type: NS, value: ns1.other.example. }", "{ name: www.dyn, type: A, value: 198.51.100.9 }"),
      `${Z}:4:5 records[1]: www.dyn.velo-libre.example se trouve à dyn.velo-libre.example ou en dessous, nom que cette zone délègue à d'autres serveurs de noms (NS à ${Z}:3 records[0]) : cet enregistrement A ne serait jamais servi (écrivez-le dans la zone déléguée, sur ses serveurs de noms ; seules les adresses de ces serveurs, la « glue », ont leur place ici)`],
  ])("in French: %s", (_what, changes, expected) => {
    expect(loadModel(writeTree(changes), "test").errors.map((d) => formatDiagnostic(d, "fr"))).toEqual([expected]);
  });

  it("says it in French", () => {
    const { errors } = loadModel(writeTree(zone('{ name: "@", type: MX, priority: 10, value: mail.velo-libre.example. }', "{ name: mail, type: CNAME, value: mx.globenet.example. }")), "test");
    expect(errors.map((d) => formatDiagnostic(d, "fr"))).toEqual([
      `${Z}:3:49 records[0].value: mail.velo-libre.example est un alias (un CNAME, à ${Z}:4 records[1]), et la cible d'un enregistrement MX ne doit pas en être un (RFC 2181 §10.3 : les serveurs de courrier et les résolveurs peuvent refuser de le suivre ; pointez vers mx.globenet.example., là où mène le CNAME, ou remplacez le CNAME par des enregistrements A/AAAA)`,
    ]);
  });
});

describe("what BIND does with such records when nothing refuses them", () => {
  const haveBind = requireTool("named-checkzone");
  const rendered = (records: ModelRecord[]): string => {
    const zone: ZoneModel = {
      name: "velo-libre.example", reverse: false, owner: "velo-libre", ttl: 3600, dnssec: false, records,
      primary: "ns1", secondaries: [], nameservers: ["ns1.globenet.example."], hostmaster: "hostmaster.globenet.example.", file: Z,
    };
    const dir = tempDir("globenet-zone-");
    writeFileSync(join(dir, "zone"), renderZone(zone, 1));
    const r = run("named-checkzone", ["-D", "-o", "-", "velo-libre.example", join(dir, "zone")]);
    return `${r.status}\n${r.stdout}\n${r.stderr}`;
  };

  it.skipIf(!haveBind)("two TTLs in one RRset: BIND loads the zone and serves both records with the first TTL", () => {
    const out = rendered([
      { name: "www2", type: "A", value: "198.51.100.1", ttl: 300, origin: "file" },
      { name: "www2", type: "A", value: "198.51.100.2", ttl: 60, origin: "file" },
    ]);
    expect(out.startsWith("0\n")).toBe(true);
    expect(out).toContain("TTL set to prior TTL (300)");
    expect(out).toMatch(/^www2\.velo-libre\.example\.\s+300 IN A\s+198\.51\.100\.2$/m);
  });

  it.skipIf(!haveBind)("an MX target that is a CNAME: BIND only warns and loads it", () => {
    const out = rendered([
      { name: "@", type: "MX", priority: 10, value: "mail.velo-libre.example.", origin: "file" },
      { name: "mail", type: "CNAME", value: "mx.globenet.example.", origin: "file" },
    ]);
    expect(out.startsWith("0\n")).toBe(true);
    expect(out).toContain("MX 'mail.velo-libre.example' is a CNAME (illegal)");
    expect(out).toContain("loaded serial 1");
  });
});
