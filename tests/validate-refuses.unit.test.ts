import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "./helpers/temp-dir";
import { KEY, memberWith, runCli, writeTree } from "./helpers/data-tree";

/*
 * Unit tier (spawns the command, no root, daemon or engine): `npm run validate` refuses each
 * class of broken data closed in issue 16 — in one tree, one file per class — naming
 * file:line:col and field with a hint, and `npm run render` writes nothing.
 */

const DEPARTED = "handle: papier-mache\nname: Papier Mâché\ncontact: { email: collectif@papier-mache.example }\nstatus: departed\nsites:\n  - host: papier-mache.example\n";
const GLOBENET_ZONE = `owner: globenet
records:
  - { name: "@", type: MX, priority: 10, value: mail.globenet.example. }
  - { name: mail, type: CNAME, value: mx.provider.example. }
  - { name: txt, type: TXT, value: a, ttl: 60 }
  - { name: txt, type: TXT, value: b }
  - { name: dyn, type: NS, value: ns1.other.example. }
  - { name: www.dyn, type: A, value: 198.51.100.9 }
  - { name: blog.globenet.example, type: TXT, value: x }
`;

describe("npm run validate refuses the classes closed in issue 16", () => {
  it("one tree, every class: file:line:col, field, hint; exit 1; render writes nothing", async () => {
    const root = writeTree({
      "members/velo-libre/member.yaml": memberWith(`ssh_keys: ["${KEY}"]`, `ssh_keys: "${KEY}"`),
      "members/papier-mache/member.yaml": DEPARTED,
      "members/syntaxe/member.yaml": 'handle: syntaxe\nname: "Syntaxe\nstatus: active\n',
      "zones/globenet.example.yaml": GLOBENET_ZONE,
      "zones/vide.example.yaml": "# à remplir\n",
      "members/latin/member.yaml": "replaced below by Latin-1 bytes\n",
    });
    writeFileSync(join(root, "members/latin/member.yaml"), Buffer.concat([Buffer.from("handle: latin\nname: Caf"), Buffer.from([0xe9]), Buffer.from("\n")]));
    const v = await runCli("validate", "--root", root, "--stack", "test");
    expect(v.status).toBe(1);
    expect(v.stderr).toContain([
      "members/latin/member.yaml:2:10: is not UTF-8 text: byte 0xE9 here is not valid UTF-8 (the file was probably saved as Latin-1 or Windows-1252: save it again as UTF-8, then check the accented letters)",
      "    name: Caf\ufffd",
      "             ^",
    ].join("\n"));
    expect(v.stderr).toContain('members/papier-mache/member.yaml:6:3 sites: papier-mache has departed: its site papier-mache.example is no longer served, and its folder is archived, then deleted with the home (remove sites:; see members/README.md, "A member leaves")');
    expect(v.stderr).toContain(['members/syntaxe/member.yaml:2:7: YAML syntax error: this quoted text is never closed (add the closing " at the end of the value, on the same line)', '    name: "Syntaxe', "          ^"].join("\n"));
    // One message for ssh_keys, not also "too big".
    expect(v.stderr.split("\n").filter((l) => l.startsWith("members/velo-libre/member.yaml"))).toEqual([
      `members/velo-libre/member.yaml:6:11 ssh_keys: must be a list (lines starting with -), not the text "${KEY.slice(0, 40)}…" (check the example in the README)`,
    ]);
    const zoneLines = v.stderr.split("\n").filter((l) => l.startsWith("zones/globenet.example.yaml"));
    expect(zoneLines.map((l) => l.split(": ")[0])).toEqual([
      "zones/globenet.example.yaml:3:49 records[0].value",
      "zones/globenet.example.yaml:6:5 records[3]",
      "zones/globenet.example.yaml:8:5 records[5]",
      "zones/globenet.example.yaml:9:13 records[6].name",
    ]);
    expect(zoneLines[0]).toContain("mail.globenet.example is an alias (a CNAME, at zones/globenet.example.yaml:4 records[1]), and the target of an MX record must not be one (RFC 2181 §10.3");
    expect(zoneLines[1]).toContain("the TXT records at txt.globenet.example must share one TTL: this one has the zone's 3600 s, the one at zones/globenet.example.yaml:5 records[2] has 60 s");
    expect(zoneLines[2]).toContain("www.dyn.globenet.example is at or below dyn.globenet.example, which this zone delegates to other name servers");
    expect(zoneLines[3]).toContain('"blog.globenet.example" is written in full, but names are relative to the zone: this record would be blog.globenet.example.globenet.example (write "blog")');
    expect(v.stderr).toContain("zones/vide.example.yaml: is empty: it holds no data, only blank lines or comments (write its fields, as in the examples of zones/README.md, or delete the file)");
    expect(v.stderr).toMatch(/\n\d+ error\(s\); nothing can be applied until they are fixed\./);
    const out = join(tempDir("globenet-out-"), "render");
    const r = await runCli("render", "--root", root, "--stack", "test", "--out", out);
    expect(r.status).toBe(1);
    expect(existsSync(out)).toBe(false);
  });
});
