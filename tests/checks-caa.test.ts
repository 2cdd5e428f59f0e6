import { describe, expect, it } from "vitest";
import { caaIssuerDomain, caaValidationMethods } from "../lib/check/caa";
import { loadModel } from "../lib/check/build";
import { baseFiles, errorsOf, writeTree } from "./helpers/data-tree";

const zone = (records: string) => `owner: velo-libre\nrecords:\n${records}`;

// CAA rules for sites with tls: acme, each provoked alone on the base tree, with its exact message.
const rejected: Array<[string, Record<string, string | null>, string[]]> = [
  [
    "an apex CAA naming another CA",
    { "zones/velo-libre.example.yaml": zone('  - { name: "@", type: CAA, tag: issue, value: sectigo.com }\n') },
    ['zones/velo-libre.example.yaml:3:48 records[0].value: CAA at @ does not allow letsencrypt.org, the CA that issues this stack\'s certificates, so velo-libre.example (members/velo-libre/member.yaml:8 sites[0].host) would never get one (add a CAA record with tag issue and value "letsencrypt.org" at @, or remove this one)'],
  ],
  [
    "a CAA at the site's own name forbidding every CA (the closest set wins over the apex)",
    { "zones/velo-libre.example.yaml": zone('  - { name: "@", type: CAA, tag: issue, value: letsencrypt.org }\n  - { name: www, type: CAA, tag: issue, value: ";" }\n') },
    ['zones/velo-libre.example.yaml:4:48 records[1].value: CAA at www does not allow letsencrypt.org, the CA that issues this stack\'s certificates, so www.velo-libre.example (members/velo-libre/member.yaml:9 sites[0].aliases[0]) would never get one (add a CAA record with tag issue and value "letsencrypt.org" at www, or remove this one)'],
  ],
  [
    "a CAA that allows the CA only with another validation method than mod_md's http-01",
    { "zones/velo-libre.example.yaml": zone('  - { name: "@", type: CAA, tag: issue, value: "letsencrypt.org; validationmethods=dns-01,tls-alpn-01" }\n') },
    ["zones/velo-libre.example.yaml:3:48 records[0].value: CAA at @ allows letsencrypt.org only with validationmethods=dns-01,tls-alpn-01, and the web host proves control with http-01, so velo-libre.example (members/velo-libre/member.yaml:8 sites[0].host) would never get a certificate (add http-01 to validationmethods, or remove the parameter)"],
  ],
  [
    "sites wanting certificates on a stack without an acme section",
    { "Pulumi.test.yaml": (baseFiles()["Pulumi.test.yaml"] as string).replace(/^ {4}acme: .*\n/m, "") },
    ["Pulumi.test.yaml:1:1: has no acme section, but sites want HTTPS certificates (first: www.globenet.example at members/globenet/member.yaml:6 sites[0].host; add acme: { directory: …, caa_issuer: … } here, or give those sites tls: none with tls_none_reason)"],
  ],
  [
    "an ACME directory that is not https",
    { "Pulumi.test.yaml": (baseFiles()["Pulumi.test.yaml"] as string).replace('directory: "https://acme-v02.api.letsencrypt.org/directory"', 'directory: "http://acme.example/dir"') },
    ['Pulumi.test.yaml:12:24 config["globenet-infra:inventory"].acme.directory: must be an https:// URL without user, query or spaces (like https://acme-v02.api.letsencrypt.org/directory)'],
  ],
  [
    "a zone whose dnssec is not a boolean",
    { "zones/globenet.example.yaml": "owner: globenet\ndnssec: yes please\n" },
    ["zones/globenet.example.yaml:2:9 dnssec: must be true or false"],
  ],
];

describe("CAA and DNSSEC validation", () => {
  it.each(rejected)("rejects %s", (_name, changes, expected) => {
    expect(errorsOf(changes)).toEqual(expected);
  });

  it.each([
    ["the CA with parameters", '  - { name: "@", type: CAA, tag: issue, value: "letsencrypt.org; validationmethods=http-01" }\n'],
    ["the CA with several methods including http-01", '  - { name: "@", type: CAA, tag: issue, value: "letsencrypt.org; validationmethods=dns-01, HTTP-01" }\n'],
    ["the CA twice, one record usable", '  - { name: "@", type: CAA, tag: issue, value: "letsencrypt.org; validationmethods=dns-01" }\n  - { name: "@", type: CAA, tag: issue, value: letsencrypt.org }\n'],
    ["the CA in capitals, beside another CA", '  - { name: "@", type: CAA, tag: issue, value: LetsEncrypt.org }\n  - { name: "@", type: CAA, tag: issue, value: sectigo.com }\n'],
    ["only an iodef (no issue restriction at all)", '  - { name: "@", type: CAA, tag: iodef, value: "mailto:dns@velo-libre.example" }\n'],
    ["a forbidding CAA on a name no site uses", '  - { name: mail, type: CAA, tag: issue, value: ";" }\n'],
  ])("accepts %s", (_name, records) => {
    expect(errorsOf({ "zones/velo-libre.example.yaml": zone(records) })).toEqual([]);
  });

  it("accepts a forbidding CAA when the site asks for no certificate", () => {
    const member = (baseFiles()["members/velo-libre/member.yaml"] as string).replace('php: "8.2"', 'php: "8.2"\n    tls: none\n    tls_none_reason: static archive');
    expect(errorsOf({ "members/velo-libre/member.yaml": member, "zones/velo-libre.example.yaml": zone('  - { name: "@", type: CAA, tag: issue, value: ";" }\n') })).toEqual([]);
  });

  it.each([
    ["letsencrypt.org", "letsencrypt.org"],
    ["letsencrypt.org; accounturi=https://x", "letsencrypt.org"],
    [" LetsEncrypt.Org. ", "letsencrypt.org"],
    [";", ""],
  ])("reads the issuer of %j as %j", (value, domain) => {
    expect(caaIssuerDomain(value)).toBe(domain);
  });

  it.each([
    ["letsencrypt.org", undefined],
    ["letsencrypt.org; validationmethods=http-01", ["http-01"]],
    ["letsencrypt.org; accounturi=https://x/1; validationmethods = dns-01 , HTTP-01", ["dns-01", "http-01"]],
    ["letsencrypt.org; validationmethods=", []],
  ])("reads the validation methods of %j as %j", (value, methods) => {
    expect(caaValidationMethods(value)).toEqual(methods);
  });
});

describe("derived CAA records", () => {
  const caa = (changes: Record<string, string | null>, zoneName: string) => {
    const { model, errors } = loadModel(writeTree(changes), "test");
    expect(errors).toEqual([]);
    return model?.zones.find((z) => z.name === zoneName)?.records.filter((r) => r.type === "CAA").map((r) => ({ name: r.name, tag: (r as { tag: string }).tag, value: r.value, origin: r.origin }));
  };

  it("allows only the stack's CA at the apex of a zone holding a site, and reports to the hostmaster", () => {
    expect(caa({}, "velo-libre.example")).toEqual([
      { name: "@", tag: "iodef", value: "mailto:hostmaster@globenet.example", origin: "site" },
      { name: "@", tag: "issue", value: "letsencrypt.org", origin: "site" },
    ]);
  });

  it("adds nothing to a zone without a site wanting a certificate", () => {
    expect(caa({}, "113.0.203.in-addr.arpa")).toEqual([]);
  });

  it("keeps a zone's own apex CAA instead (overridable in the zone file)", () => {
    expect(caa({ "zones/velo-libre.example.yaml": zone('  - { name: "@", type: CAA, tag: issue, value: "letsencrypt.org; validationmethods=http-01" }\n') }, "velo-libre.example")).toEqual([
      { name: "@", tag: "issue", value: "letsencrypt.org; validationmethods=http-01", origin: "file" },
    ]);
  });

  it("signs zones unless they say dnssec: false", () => {
    const { model } = loadModel(writeTree({ "zones/globenet.example.yaml": "owner: globenet\ndnssec: false\n" }), "test");
    expect(model?.zones.map((z) => [z.name, z.dnssec])).toEqual([
      ["113.0.203.in-addr.arpa", true],
      ["globenet.example", false],
      ["velo-libre.example", true],
    ]);
  });
});
