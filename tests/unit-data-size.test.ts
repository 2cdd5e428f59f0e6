// Unit tier: what issue 24 changed to make validate + render grow with the data, not faster
// (docs/architecture.md, "Speed"). Each shortcut is checked against the long way it replaced:
// the same answers, on the cases where a shortcut could differ.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { firstInvalidUtf8 } from "../lib/load/text-file";
import { importTodos } from "../lib/load/import-todos";
import { locate, parseYamlFile, releaseSyntax } from "../lib/load/yaml-file";
import { loadTree } from "../lib/load/tree";
import { memberOf, type MemberModel } from "../lib/model/types";
import { writeSyntheticTree } from "../lib/bench/synthetic";
import { dataBench, formatDataBench } from "../lib/bench/data";
import { zoneCharacterString, zoneDomainName } from "../lib/render/escape";
import { splitUtf8 } from "../lib/render/utf8-split";
import { sortRecords } from "../lib/check/records";
import type { ModelRecord } from "../lib/model/types";

const tmp = mkdtempSync(join(tmpdir(), "globenet-data-size-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The byte walk firstInvalidUtf8 had before Node's validator answered first. */
function walk(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) [n, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [n, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [n, min] = [3, 0x10000];
    else return i;
    let cp = b & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return i;
    i += n + 1;
  }
  return -1;
}

describe("UTF-8: Node's validator first, the walk only to say where", () => {
  const cases: Array<[string, number[], number]> = [
    ["ASCII", [...Buffer.from("handle: velo\n")], -1],
    ["accents and an emoji", [...Buffer.from("name: Vélo Libre 🚲\n")], -1],
    ["empty", [], -1],
    ["Latin-1 é", [0x61, 0xe9, 0x62], 1],
    ["overlong slash (C0 AF)", [0x41, 0xc0, 0xaf], 1],
    ["overlong three bytes (E0 80 AF)", [0xe0, 0x80, 0xaf], 0],
    ["UTF-16 surrogate (ED A0 80)", [0x41, 0x42, 0xed, 0xa0, 0x80], 2],
    ["past U+10FFFF (F4 90 80 80)", [0xf4, 0x90, 0x80, 0x80], 0],
    ["F5 lead byte", [0xf5, 0x80, 0x80, 0x80], 0],
    ["truncated at the end", [0x41, 0xe2, 0x82], 1],
    ["lone continuation byte", [0x41, 0x80], 1],
  ];
  it.each(cases)("%s", (_name, bytes, at) => {
    const b = Uint8Array.from(bytes);
    expect(firstInvalidUtf8(b)).toBe(at);
    expect(walk(b)).toBe(at);
  });
});

describe("import guesses: a file without the marker is not split into lines", () => {
  it.each([
    ["no marker", "handle: a\n", 0],
    ["marker in a comment", "handle: a # TODO(import): check the handle\n", 1],
    ["marker in a value, no comment", 'name: "TODO(import)"\n', 0],
    ["marker on two comment lines", "# TODO(import): one\nx: 1\n  # TODO(import): two\n", 2],
  ])("%s", (_n, text, count) => {
    expect(importTodos("members/a/member.yaml", text)).toHaveLength(count);
  });
});

describe("YAML: the tree is walked for anchors, aliases and tags only when the text can hold one", () => {
  it.each([
    ["an anchor and an alias", "a: &x 1\nb: *x\n", ["YAML anchor", "YAML alias"]],
    ["a tag", "a: !!str 1\n", ["YAML tag"]],
    ["a custom tag", "a: !secret x\n", ["YAML tag"]],
    ["& * ! inside quoted text only", "a: \"R&D * ok!\"\n", []],
    ["none of the three", "a: 1\nb: [x, y]\n", []],
  ])("%s", (_n, text, expected) => {
    const { errors } = parseYamlFile("zones/x.example.yaml", text);
    expect(errors.map((e) => e.message.split(" ").slice(0, 2).join(" "))).toEqual(expected);
  });

  it("a released file answers positions and values as before it let its tree go", () => {
    const text = "owner: velo\nrecords:\n  - { name: www, type: A, value: 203.0.113.5 }\n  - name: mail\n    type: MX\n";
    const { yf } = parseYamlFile("zones/velo.example.yaml", text);
    if (!yf) throw new Error("no file");
    const paths: Array<Array<string | number>> = [["owner"], ["records", 0, "value"], ["records", 1, "type"], ["records", 5], []];
    const before = paths.map((p) => locate(yf, p));
    const data = structuredClone(yf.data);
    releaseSyntax(yf);
    expect(yf.data).toEqual(data);
    expect(paths.map((p) => locate(yf, p))).toEqual(before);
    expect(before[1]).toEqual({ line: 3, col: 34 });
  });
});

describe("the loader reads each folder once, and follows links as stat did", () => {
  const root = join(tmp, "links");
  writeSyntheticTree(root, 3);
  const m = (h: string, ...p: string[]) => join(root, "members", h, ...p);
  // A member folder that is a link to a folder elsewhere loads like any other.
  const elsewhere = join(tmp, "elsewhere", "member-linked");
  mkdirSync(join(elsewhere, "vps"), { recursive: true });
  writeFileSync(join(elsewhere, "member.yaml"), "handle: member-linked\nname: Lien\ncontact: { email: a@member-linked.example }\nstatus: active\n");
  symlinkSync(elsewhere, m("member-linked"));
  // member.yaml a dangling link: "is missing", as existsSync said.
  mkdirSync(m("member-dangling"));
  symlinkSync(join(tmp, "nowhere.yaml"), m("member-dangling", "member.yaml"));
  // vps/ a link to a folder: its VPS are read; vps a plain file: refused.
  mkdirSync(m("member-vpslink"));
  writeFileSync(m("member-vpslink", "member.yaml"), "handle: member-vpslink\nname: L\ncontact: { email: a@member-vpslink.example }\nstatus: active\n");
  mkdirSync(join(tmp, "vps-elsewhere"));
  writeFileSync(join(tmp, "vps-elsewhere", "box.yaml"), "hypervisor: hv1\nvcpus: 1\nmemory_mb: 512\ndisk_gb: 5\nimage: debian-12\nipv4: 198.18.9.9\n");
  symlinkSync(join(tmp, "vps-elsewhere"), m("member-vpslink", "vps"));
  mkdirSync(m("member-vpsfile"));
  writeFileSync(m("member-vpsfile", "member.yaml"), "handle: member-vpsfile\nname: F\ncontact: { email: a@member-vpsfile.example }\nstatus: active\n");
  writeFileSync(m("member-vpsfile", "vps"), "not a folder\n");
  // A dangling vps link: nothing, as before (existsSync was false).
  mkdirSync(m("member-vpsdangling"));
  writeFileSync(m("member-vpsdangling", "member.yaml"), "handle: member-vpsdangling\nname: D\ncontact: { email: a@member-vpsdangling.example }\nstatus: active\n");
  symlinkSync(join(tmp, "no-vps"), m("member-vpsdangling", "vps"));
  // A link at the members level to a file: an unexpected file.
  writeFileSync(join(tmp, "stray.yaml"), "x: 1\n");
  symlinkSync(join(tmp, "stray.yaml"), join(root, "members", "stray"));

  // Files that are not files: a FIFO (never waited on), a folder, a dangling link, an oversized file.
  execFileSync("mkfifo", [join(root, "zones", "fifo.example.yaml")]);
  mkdirSync(join(root, "zones", "folder.example.yaml"));
  symlinkSync(join(tmp, "gone.yaml"), join(root, "zones", "gone.example.yaml"));
  writeFileSync(join(root, "zones", "big.example.yaml"), `owner: globenet\n# ${"x".repeat(300 * 1024)}\n`);

  const { tree, errors } = loadTree(root, "bench");
  const messages = errors.map((e) => `${e.file}: ${e.message.replace(/ \(.*$/, "")}`);

  it.each([
    ["a linked member folder", () => tree.members.has("member-linked")],
    ["the dangling member.yaml is missing", () => messages.includes("members/member-dangling/member.yaml: is missing") && tree.broken.members.has("member-dangling")],
    ["a linked vps folder's VPS", () => tree.members.get("member-vpslink")?.vps.has("box") === true],
    ["vps as a file", () => messages.includes("members/member-vpsfile/vps: must be a folder holding one <name>.yaml per VPS")],
    ["a dangling vps link is no VPS and no error", () => tree.members.get("member-vpsdangling")?.vps.size === 0 && !messages.some((x) => x.startsWith("members/member-vpsdangling"))],
    ["a link to a file among members", () => messages.includes("members/stray: unexpected file")],
    ["globenet's, the three synthetic members and the four above; the zones", () => tree.members.size === 8 && tree.zones.size === 4],
  ])("%s", (_n, ok) => {
    expect(ok(), messages.join("\n")).toBe(true);
  });

  it("nothing else is reported", () => {
    expect(messages.sort()).toEqual([
      "members/member-dangling/member.yaml: is missing",
      "members/member-vpsfile/vps: must be a folder holding one <name>.yaml per VPS",
      "members/stray: unexpected file",
      "zones/big.example.yaml: file is 307219 bytes, over the 262144-byte limit",
      "zones/fifo.example.yaml: is not a regular file",
      "zones/folder.example.yaml: is not a regular file",
      "zones/gone.example.yaml: cannot be read: ENOENT",
    ]);
  });
});

describe("zone file escapes: plain text is returned as it is, the rest walked byte by byte as before", () => {
  // The byte walks the escapers did for every value before their plain-text shortcut.
  const nameWalk = (s: string) => [...Buffer.from(s, "utf8")].map((b) => (/[A-Za-z0-9._*-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `\\${String(b).padStart(3, "0")}`)).join("");
  const stringWalk = (bytes: Uint8Array) => {
    let out = '"';
    for (const b of bytes) {
      if (b === 0x22 || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
      else if (b >= 0x20 && b <= 0x7e) out += String.fromCharCode(b);
      else out += `\\${String(b).padStart(3, "0")}`;
    }
    return `${out}"`;
  };
  const splitWalk = (text: string, max: number) => {
    const chunks: Buffer[] = [];
    let current: Buffer[] = [];
    let size = 0;
    for (const ch of text) {
      const bytes = Buffer.from(ch, "utf8");
      if (size + bytes.length > max) {
        chunks.push(Buffer.concat(current));
        current = [];
        size = 0;
      }
      current.push(bytes);
      size += bytes.length;
    }
    if (size > 0 || chunks.length === 0) chunks.push(Buffer.concat(current));
    return chunks;
  };
  const texts = ["www.velo-libre.example.", "_dmarc", "*.wild", "a b", "é.example", "semi;colon", 'quo"te', "back\\slash", "tab\tx", "~tilde", "v=spf1 mx -all", "", "x".repeat(600), `${"a".repeat(254)}é${"b".repeat(300)}`, "🚲".repeat(70), "\u007f"];
  it.each(texts.filter((t) => t !== "").map((t) => [t.slice(0, 30), t]))("name %j", (_n, t) => {
    expect(zoneDomainName(t)).toBe(nameWalk(t));
  });
  it.each(texts.map((t) => [t.slice(0, 30), t]))("character-string and split %j", (_n, t) => {
    for (const max of [4, 255]) {
      const got = splitUtf8(t, max);
      expect(got).toEqual(splitWalk(t, max));
      for (const c of got) expect(zoneCharacterString(c)).toBe(stringWalk(c));
    }
  });
});

describe("sortRecords: keys made once per record, the order the comparison made them at each step", () => {
  const TYPE_ORDER = ["NS", "A", "AAAA", "CNAME", "MX", "TXT", "SRV", "CAA", "PTR", "SSHFP", "TLSA"];
  const before = (records: ModelRecord[]) => {
    const key = (r: ModelRecord) => (r.name === "@" ? "" : r.name.split(".").reverse().join("."));
    return [...records].sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      if (ka !== kb) return ka < kb ? -1 : 1;
      const ta = TYPE_ORDER.indexOf(a.type);
      const tb = TYPE_ORDER.indexOf(b.type);
      if (ta !== tb) return ta - tb;
      const va = JSON.stringify({ ...a, origin: undefined, why: undefined });
      const vb = JSON.stringify({ ...b, origin: undefined, why: undefined });
      return va < vb ? -1 : va > vb ? 1 : 0;
    });
  };
  const r = (name: string, type: string, value: string, extra: object = {}) => ({ name, type, value, origin: "file", ...extra }) as unknown as ModelRecord;
  const records: ModelRecord[] = [
    r("@", "MX", "b.example.", { priority: 20 }), r("www", "A", "203.0.113.5"), r("@", "MX", "a.example.", { priority: 10 }), r("a.b", "TXT", "x"), r("b.a", "TXT", "x"),
    r("@", "NS", "ns1.example."), r("www", "AAAA", "2001:db8::5"), r("www", "A", "203.0.113.4", { origin: "site", why: "site www" }), r("mail", "A", "203.0.113.9"),
    r("@", "TXT", "v=spf1 -all"), r("@", "TXT", "v=spf1 -all", { ttl: 60 }), r("_dmarc", "TXT", "v=DMARC1"), r("x", "CAA", "letsencrypt.org", { flags: 0, tag: "issue" }), r("www", "A", "203.0.113.5", { origin: "site", why: "dup" }),
  ];
  it.each([
    ["as written", records],
    ["reversed", [...records].reverse()],
    ["rotated", [...records.slice(5), ...records.slice(0, 5)]],
    ["empty", []],
  ])("%s", (_n, list) => {
    expect(sortRecords(list)).toEqual(before(list));
    // Equal keys keep their order (the sort is stable): the same objects, in the same places.
    sortRecords(list).forEach((x, i) => expect(x).toBe(before(list)[i]));
  });
});

describe("memberOf: an index built once, the answer a scan would give", () => {
  const mk = (handle: string, file = `members/${handle}/member.yaml`) => ({ handle, file }) as MemberModel;
  it.each([
    ["first of three", ["a", "b", "c"], "a", 0],
    ["last of three", ["a", "b", "c"], "c", 2],
    ["absent", ["a", "b"], "z", -1],
    ["empty", [], "a", -1],
  ] as const)("%s", (_n, handles, ask, at) => {
    const members = handles.map((h) => mk(h));
    expect(memberOf({ members }, ask)).toBe(at < 0 ? undefined : members[at]);
  });
  it("a list that grew is indexed again", () => {
    const members = [mk("a")];
    expect(memberOf({ members }, "b")).toBeUndefined();
    members.push(mk("b"));
    expect(memberOf({ members }, "b")).toBe(members[1]);
  });
  it("an entry replaced in place is not answered from the old index", () => {
    const members = [mk("a"), mk("b")];
    expect(memberOf({ members }, "b")).toBe(members[1]);
    members[1] = mk("c");
    expect(memberOf({ members }, "b")).toBeUndefined();
    expect(memberOf({ members }, "c")).toBe(members[1]);
  });
});

describe("npm run bench -- data, small", () => {
  it("every phase runs on a realistic tree that validates, beside its floor", () => {
    const r = dataBench({ members: 40, zones: 45, vps: 4, runs: 1 });
    expect(r.phases.map((p) => p.phase)).toEqual(["parse (floor: read + yaml.parse)", "load (read, parse, schemas)", "checks (model, every check)", "render (every file, in memory)", "load, from the load cache (no file changed)"]);
    // 40 member.yaml + globenet's, 4 VPS, 45 zones + globenet's + one IPv4 and one IPv6 reverse zone, the stack file.
    expect(r.files).toBe(41 + 4 + 45 + 1 + 2 + 1);
    expect(r.phases[2]?.detail).toMatch(/^50 sites, 40 databases, 4 VPS, \d+ records/);
    const table = formatDataBench(r);
    expect(table).toContain("load + checks + render");
    expect(table).toMatch(/target ≤ ×2: wall (met|NOT met), CPU (met|NOT met)/);
    expect(r.ratio).toBeCloseTo((r.phases[1]!.best + r.phases[2]!.best + r.phases[3]!.best) / r.phases[0]!.best, 6);
    // Every one of the 94 files loaded from the load cache, and its ratio printed beside the long way's.
    expect(r.phases[4]?.detail).toBe("93 files from the cache");
    expect(r.cachedCpuRatio).toBeCloseTo((r.phases[4]!.bestCpu + r.phases[2]!.bestCpu + r.phases[3]!.bestCpu) / r.phases[0]!.bestCpu, 6);
    expect(table).toMatch(/with the load cache \(no file changed since the last run\): load \+ checks \+ render CPU ×\d+\.\d\d the floor/);
  });
});
