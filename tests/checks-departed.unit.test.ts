import { describe, expect, it } from "vitest";
import { loadModel } from "../lib/check/build";
import { formatDiagnostic } from "../lib/load/diagnostic";
import { errorsOf, KEY, memberWith, writeTree } from "./helpers/data-tree";

/*
 * Unit tier: a departed member's leftovers (sites, databases, keys, VPS files, zones) are
 * errors saying what to remove, instead of being silently ignored by the model.
 */

const M = "members/velo-libre/member.yaml";
const departed = (s: string) => s.replace("status: active", "status: departed");
/** velo-libre departed, having removed everything the README says to remove. */
const clean = {
  [M]: `handle: velo-libre\nname: Association Vélo Libre\ncontact:\n  email: bureau@velo-libre.example\nstatus: departed\nnote: left on 2026-11-30\n`,
  "members/velo-libre/vps/atelier.yaml": null,
  "zones/velo-libre.example.yaml": null,
};
const GUIDE = 'see members/README.md, "A member leaves"';

describe("a departed member's leftovers", () => {
  it("a departure done as the README says validates, and the member is left out of the model", () => {
    const { model, errors } = loadModel(writeTree(clean), "test");
    expect(errors).toEqual([]);
    expect(model?.members.map((m) => m.handle)).toEqual(["globenet"]);
  });

  it.each<[string, Record<string, string | null>, string[]]>([
    ["its sites", { [M]: `${clean[M]}sites:\n  - host: velo-libre.example\n` }, [
      `${M}:8:3 sites: velo-libre has departed: its site velo-libre.example is no longer served, and its folder is archived, then deleted with the home (remove sites:; ${GUIDE})`,
    ]],
    ["its databases", { [M]: `${clean[M]}databases:\n  - name: velo_wp\n  - name: velo_old\n` }, [
      `${M}:8:3 databases: velo-libre has departed: its 2 databases are dumped to the archive, then dropped (remove databases:; ${GUIDE})`,
    ]],
    ["its SSH keys", { [M]: `${clean[M]}ssh_keys: ["${KEY}"]\n` }, [
      `${M}:7:11 ssh_keys: velo-libre has departed: its SSH key opens nothing any more (remove ssh_keys:; ${GUIDE})`,
    ]],
    ["its SFTP password hash", { [M]: `${clean[M]}access: sftp\nsftp_password_hash: "$y$j9T$RlYz6AzpzgzsXCBYMBEar/$umQKrp1pplpPA07J0feIaWfaRv4zckuQGNhscfRkgwC"\n` }, [
      `${M}:8:21 sftp_password_hash: velo-libre has departed: its SFTP password opens nothing any more (remove sftp_password_hash: and access:; ${GUIDE})`,
    ]],
    ["a VPS file (reported by the VPS checks)", { "members/velo-libre/vps/atelier.yaml": "hypervisor: hv1\nvcpus: 1\nmemory_mb: 1024\ndisk_gb: 10\nimage: debian-12\nipv4: 203.0.113.20\n" }, [
      "members/velo-libre/vps/atelier.yaml:1:1: member velo-libre has departed and keeps no VPS (delete this file; the apply archives the disk before removing the VPS)",
    ]],
    ["a zone (reported by the zone checks)", { "zones/velo-libre.example.yaml": "owner: velo-libre\n" }, [
      "zones/velo-libre.example.yaml:1:8 owner: member \"velo-libre\" has departed (transfer the zone to another member, or delete the file to stop serving it)",
    ]],
  ])("%s", (_what, changes, expected) => {
    expect(errorsOf({ ...clean, ...changes })).toEqual(expected);
  });

  it("only status changed: every leftover at once, each with its fix", () => {
    const errors = errorsOf({ [M]: departed(memberWith("status: active", "status: active")) });
    expect(errors.map((e) => e.split(" ").slice(0, 2).join(" "))).toEqual([
      `${M}:6:11 ssh_keys:`,
      `${M}:8:3 sites:`,
      `${M}:12:3 databases:`,
      "members/velo-libre/vps/atelier.yaml:1:1: member",
      "zones/velo-libre.example.yaml:1:8 owner:",
    ]);
  });

  it("says it in French", () => {
    const { errors } = loadModel(writeTree({ ...clean, [M]: `${clean[M]}ssh_keys: ["${KEY}"]\n` }), "test");
    expect(errors.map((d) => formatDiagnostic(d, "fr"))).toEqual([
      `${M}:7:11 ssh_keys: velo-libre est parti : sa clé SSH n'ouvre plus rien (supprimez ssh_keys: ; voir docs/guide-benevole.md, 3.7 « Un adhérent part »)`,
    ]);
  });

  it("a suspended member keeps everything", () => {
    expect(errorsOf({ [M]: memberWith("status: active", "status: suspended") })).toEqual([]);
  });
});
