import { describe, expect, it } from "vitest";
import { loadModel } from "../lib/check/build";
import { formatDiagnostic } from "../lib/load/diagnostic";
import { baseFiles, runCli, vpsWith, writeTree } from "./helpers/data-tree";

/*
 * Unit tier: "every address has its PTR" (lib/check/ptr.ts). The base tree (tests/helpers/
 * data-tree.ts) serves only 113.0.203.in-addr.arpa, so its hosts and the VPS's IPv6 have no
 * reverse zone of ours; REVERSE adds the zones that cover them all.
 */

const INV = baseFiles()["Pulumi.test.yaml"] as string;
const VPS = "members/velo-libre/vps/atelier.yaml";
const REVERSE = {
  "zones/2.0.192.in-addr.arpa.yaml": "owner: globenet\n",
  "zones/100.51.198.in-addr.arpa.yaml": "owner: globenet\n",
  "zones/0.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.yaml": "owner: globenet\n",
  "zones/0.0.0.0.2.4.0.0.8.b.d.0.1.0.0.2.ip6.arpa.yaml": "owner: globenet\n",
};
const IK = 'config["globenet-infra:inventory"]';

function check(changes: Record<string, string | null>, lang: "en" | "fr" = "en") {
  const { model, errors, warnings } = loadModel(writeTree(changes), "test");
  return { model: !!model, errors: errors.map((d) => formatDiagnostic(d, lang)), warnings: warnings.map((d) => formatDiagnostic(d, lang)) };
}

const noZone = (at: string, a: string, ptr: string, zone: string, fqdn: string) =>
  `${at}: ${a} has no PTR: no reverse zone Globenet serves holds ${ptr} (add zones/${zone}.yaml with owner: globenet and the PTR to ${fqdn} is derived; if that network's reverse DNS is its provider's, ask them for a PTR to ${fqdn})`;

describe("every address has its PTR", () => {
  it.each<[string, Record<string, string | null>, string[]]>([
    ["every address in a reverse zone of ours: nothing to say", REVERSE, []],
    [
      "a VPS address whose reverse zone is gone",
      { ...REVERSE, "zones/113.0.203.in-addr.arpa.yaml": null },
      [noZone(`${VPS}:6:7 ipv4`, "203.0.113.20", "20.113.0.203.in-addr.arpa", "113.0.203.in-addr.arpa", "atelier.velo-libre.vps.globenet.example")],
    ],
    [
      "a host's IPv6 in no zone of ours",
      { ...REVERSE, "zones/0.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.yaml": null },
      [
        noZone(
          `Pulumi.test.yaml:18:15 ${IK}.hosts.web1.ipv6`,
          "2001:db8:1::10",
          "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
          "0.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
          "web1.globenet.example",
        ),
      ],
    ],
    [
      "a host address that is neither its ipv4 nor its ipv6: no PTR is derived for it",
      { ...REVERSE, "Pulumi.test.yaml": INV.replace("        address: 192.0.2.10\n", "        address: 192.0.2.9\n        ipv4: 192.0.2.10\n") },
      [
        `Pulumi.test.yaml:17:18 ${IK}.hosts.web1.address: 192.0.2.9 has no PTR in the reverse zone 2.0.192.in-addr.arpa (PTRs are derived from a host's ipv4 and ipv6 only, and this address is neither) (write { name: "9", type: PTR, value: web1.globenet.example. } in zones/2.0.192.in-addr.arpa.yaml, or make it the host's ipv4/ipv6)`,
      ],
    ],
    [
      "the same, with the PTR written by hand: nothing to say",
      {
        ...REVERSE,
        "Pulumi.test.yaml": INV.replace("        address: 192.0.2.10\n", "        address: 192.0.2.9\n        ipv4: 192.0.2.10\n"),
        "zones/2.0.192.in-addr.arpa.yaml": 'owner: globenet\nrecords:\n  - { name: "9", type: PTR, value: web1.globenet.example. }\n',
      },
      [],
    ],
    [
      "loopback (the single-address lab) has no public reverse: skipped",
      { ...REVERSE, "Pulumi.test.yaml": INV.replace("address: 198.51.100.53", "address: 127.0.0.1") },
      [],
    ],
    [
      "a reverse zone that failed to load says its own error, not one per address",
      { ...REVERSE, "zones/2.0.192.in-addr.arpa.yaml": "owner: [\n" },
      [],
    ],
  ])("%s", (_what, changes, want) => {
    const r = check(changes);
    if (_what.includes("failed to load")) expect(r.errors.join("\n")).toContain("zones/2.0.192.in-addr.arpa.yaml:");
    else expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual(want);
  });

  it("the base tree: each host address and the VPS's IPv6, at its file:line and field", () => {
    const r = check({});
    expect(r.model).toBe(true);
    expect(r.warnings.map((w) => w.split(": ")[0])).toEqual([
      `Pulumi.test.yaml:17:18 ${IK}.hosts.web1.address`,
      `Pulumi.test.yaml:18:15 ${IK}.hosts.web1.ipv6`,
      `Pulumi.test.yaml:23:18 ${IK}.hosts.ns1.address`,
      `Pulumi.test.yaml:28:18 ${IK}.hosts.ns2.address`,
      `Pulumi.test.yaml:33:18 ${IK}.hosts.hv1.address`,
      `${VPS}:7:7 ipv6`,
    ]);
  });

  it("in French for a French-speaking volunteer", () => {
    const r = check({ ...REVERSE, "zones/113.0.203.in-addr.arpa.yaml": null }, "fr");
    expect(r.warnings).toEqual([
      `${VPS}:6:7 ipv4: 203.0.113.20 n'a pas de PTR : aucune zone inverse servie par Globenet ne contient 20.113.0.203.in-addr.arpa (ajoutez zones/113.0.203.in-addr.arpa.yaml avec owner: globenet et le PTR vers atelier.velo-libre.vps.globenet.example est déduit ; si le DNS inverse de ce réseau est celui de son fournisseur, demandez-lui un PTR vers atelier.velo-libre.vps.globenet.example)`,
    ]);
  });

  it("checks: { ptr: error } makes them errors: no model, nothing applied", () => {
    const r = check({ ...REVERSE, "zones/113.0.203.in-addr.arpa.yaml": null, "Pulumi.test.yaml": INV.replace("    hosts:\n", "    checks: { ptr: error }\n    hosts:\n") });
    expect(r.model).toBe(false);
    expect(r.warnings).toEqual([]);
    expect(r.errors).toEqual([noZone(`${VPS}:6:7 ipv4`, "203.0.113.20", "20.113.0.203.in-addr.arpa", "113.0.203.in-addr.arpa", "atelier.velo-libre.vps.globenet.example")]);
  });

  it("checks: { ptr: warn } is the default; anything else is refused with the choices", () => {
    const r = check({ "Pulumi.test.yaml": INV.replace("    hosts:\n", "    checks: { ptr: strict }\n    hosts:\n") }, "fr");
    expect(r.errors).toEqual([`Pulumi.test.yaml:13:20 ${IK}.checks.ptr: doit être "warn" (validate l'affiche, rien n'est refusé) ou "error" (validate refuse les données)`]);
    const en = check({ "Pulumi.test.yaml": INV.replace("    hosts:\n", "    checks: { ptr: strict }\n    hosts:\n") });
    expect(en.errors).toEqual([`Pulumi.test.yaml:13:20 ${IK}.checks.ptr: must be "warn" (validate prints it, nothing is refused) or "error" (validate refuses the data)`]);
    const unknown = check({ "Pulumi.test.yaml": INV.replace("    hosts:\n", "    checks: { ptrs: warn }\n    hosts:\n") });
    expect(unknown.errors[0]).toMatch(/checks\.ptrs: unknown key/);
  });

  it("npm run validate prints the warnings and still says ok (exit 0)", async () => {
    const root = writeTree({ ...REVERSE, [VPS]: vpsWith("ipv4: 203.0.113.20", "ipv4: 203.0.113.21"), "zones/113.0.203.in-addr.arpa.yaml": null });
    const r = await runCli("validate", "--root", root, "--stack", "test");
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`warning: ${VPS}:6:7 ipv4: 203.0.113.21 has no PTR`);
    expect(r.stderr).toContain(`1 warning(s): the data stays valid (checks: { ptr: error } in Pulumi.<stack>.yaml makes them errors; docs/architecture.md, "Every address has its PTR")`);
    expect(r.stdout).toContain("ok  test:");
  });
});
