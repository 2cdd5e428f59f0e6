import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { formatDiagnostic } from "../lib/load/diagnostic";
import { decodeDataFile, firstInvalidUtf8 } from "../lib/load/text-file";
import { withoutConsequences } from "../lib/load/zod-issues";
import { loadModel } from "../lib/check/build";
import { baseFiles, errorsOf, KEY, memberWith, writeTree } from "./helpers/data-tree";

/*
 * Unit tier (no root, no daemon, no engine): whole-file and YAML syntax errors name the file,
 * line and column, show the line with a caret, and say how to fix it in English and French.
 */

const M = "members/velo-libre/member.yaml";
/** The member file replaced by `content` (its VPS removed so only this file speaks). */
const errorsFor = (content: string | Buffer, lang: "en" | "fr" = "en"): string[] => {
  const root = writeTree({ "members/velo-libre/vps/atelier.yaml": null });
  writeFileSync(join(root, M), content);
  return loadModel(root, "test").errors.map((d) => formatDiagnostic(d, lang));
};

describe("YAML syntax errors: the line, a caret under the column, a hint", () => {
  it.each<[string, string, string[]]>([
    ["an unclosed [ (the parser gives up on the next line)", "handle: velo-libre\nsites: [a, b\nname: x\n", [
      `${M}:2:8: YAML syntax error: this [ is never closed (close it with ]; a list written on several lines needs its closing ] and each following line indented)`,
      "    sites: [a, b",
      "           ^",
    ]],
    ["an unclosed {", "handle: velo-libre\ncontact: { email: a@b.example\nstatus: active\n", [
      `${M}:2:10: YAML syntax error: this { is never closed (close it with }; a mapping written on several lines needs its closing } and each following line indented)`,
      "    contact: { email: a@b.example",
      "             ^",
    ]],
    ["an unclosed quote", 'handle: velo-libre\nname: "Vélo Libre\nstatus: active\n', [
      `${M}:2:7: YAML syntax error: this quoted text is never closed (add the closing " at the end of the value, on the same line)`,
      '    name: "Vélo Libre',
      "          ^",
    ]],
    ["a value holding \": \"", "handle: velo-libre\nname: Vélo: Libre\n", [
      `${M}:2:7: YAML syntax error: this value contains ": " (a colon and a space), which YAML reads as a new key (put the whole value in quotes: "…")`,
      "    name: Vélo: Libre",
      "          ^",
    ]],
    ["a line indented too deep (reported once, on that line)", "handle: velo-libre\n  name: x\n", [
      `${M}:2:3: YAML syntax error: this line is indented more than the key above it (align it with the other keys; a value written on several lines must be quoted)`,
      "      name: x",
      "      ^",
    ]],
    ["a tab as indentation", "handle: velo-libre\nsites:\n\t- host: a.example\n", [
      `${M}:3:1: YAML syntax error: indented with a tab (YAML indents with spaces only: replace the tab with spaces)`,
      "    \t- host: a.example",
      "    ^",
    ]],
    ["list items at different columns", "handle: velo-libre\nsites:\n  - host: a.example\n   - host: b.example\n", [
      `${M}:4:4: YAML syntax error: is not indented like the lines around it (the items of a list start at the same column with -, the keys of a mapping at the same column)`,
      "       - host: b.example",
      "       ^",
    ]],
    ["a value starting with @", "handle: velo-libre\nname: @velo\n", [
      `${M}:2:7: YAML syntax error: a value cannot start with @ (put the value in quotes: "@…")`,
      "    name: @velo",
      "          ^",
    ]],
    ["a key without a space after its colon", "handle: velo-libre\nname:velo\nstatus: active\n", [
      `${M}:2:6: YAML syntax error: "name:" needs a space after the colon, or YAML reads the whole line as one word (write "name: …")`,
      "    name:velo",
      "         ^",
    ]],
    ["a line that is no key: value", "handle: velo-libre\njuste un mot\n", [
      `${M}:2:1: YAML syntax error: this line is not a key: value line (write key: value, or start a list item with - )`,
      "    juste un mot",
      "    ^",
    ]],
    ["a quote inside a quoted value", 'handle: velo-libre\nname: "Vélo "Libre""\n', [
      `${M}:2:14: YAML syntax error: text after the end of a quoted value (a quote inside a quoted value ends it: quote the value with the other kind of quote, like 'a "b" c', or remove the inner quotes)`,
      '    name: "Vélo "Libre""',
      "                 ^",
    ]],
    ["a ] that closes nothing", "handle: velo-libre\nsites: [a, b]]\n", [
      `${M}:2:14: YAML syntax error: this ] closes nothing (remove it, or add the matching [ before)`,
      "    sites: [a, b]]",
      "                 ^",
    ]],
    ["a missing comma in { … }", "handle: velo-libre\ncontact: { email: a@b.example backup_email: c@d.example }\n", [
      `${M}:2:31: YAML syntax error: a comma is missing before this key inside { … } or [ … ] (separate the entries with ", ")`,
      "    contact: { email: a@b.example backup_email: c@d.example }",
      "                                  ^",
    ]],
    ["a list line without its dash", "handle: velo-libre\nsites:\n- host: a.example\n -host: b.example\n", [
      `${M}:4:1: YAML syntax error: this line is inside a list but is not an item (start it with "- ", a dash and a space, aligned with the other items)`,
      "     -host: b.example",
      "    ^",
    ]],
    ["a duplicate key", "handle: velo-libre\nhandle: velo-libre\n", [
      `${M}:2:1: duplicate key (each key may appear once in a mapping; remove or merge the repeated one)`,
      "    handle: velo-libre",
      "    ^",
    ]],
  ])("%s", (_what, content, lines) => {
    expect(errorsFor(content)).toEqual([lines.join("\n")]);
  });

  it("in French with the same place and caret", () => {
    expect(errorsFor('handle: velo-libre\nname: "abc\n', "fr")).toEqual([
      `${M}:2:7: erreur de syntaxe YAML : ce texte entre guillemets n'est jamais fermé (ajoutez le " fermant à la fin de la valeur, sur la même ligne)\n    name: "abc\n          ^`,
    ]);
  });
});

describe("whole-file errors: a line when one exists, a clear message when none does", () => {
  it.each<[string, string | Buffer, string[]]>([
    ["an empty file", "", [`${M}: is empty: it holds no data, only blank lines or comments (write its fields, as in the examples of members/README.md, or delete the file)`]],
    ["comments only", "# velo-libre, to be written\n\n", [`${M}: is empty: it holds no data, only blank lines or comments (write its fields, as in the examples of members/README.md, or delete the file)`]],
    ["a list at the top", "- handle: velo-libre\n", [`${M}:1:1: must be a mapping of key: value lines at the top, not a list (lines starting with -) (start from the examples of members/README.md)`, "    - handle: velo-libre", "    ^"]],
    ["a lone value at the top", "velo-libre\n", [`${M}:1:1: must be a mapping of key: value lines at the top, not a single value (string) (start from the examples of members/README.md)`, "    velo-libre", "    ^"]],
    ["a byte-order mark", "\ufeffhandle: velo-libre\n", [`${M}:1:1: starts with a byte-order mark (BOM), an invisible character (save the file as UTF-8 without BOM)`, "    \ufeffhandle: velo-libre", "    ^"]],
    ["a NUL character", "handle: velo-libre\nname: a\u0000b\n", [`${M}:2:8: contains a NUL character: this is not a text file (save it as plain UTF-8 text)`, "    name: a·b", "           ^"]],
    ["a lone carriage return (old Mac line ends)", "handle: velo-libre\rname: x\r", [`${M}:1:19: has a carriage return (CR) without a line feed: the line ends are an old Mac format that YAML does not read as new lines (save the file with LF line ends)`, "    handle: velo-libre·name: x·", "                      ^"]],
    ["Latin-1 bytes (not UTF-8)", Buffer.concat([Buffer.from("handle: velo-libre\nname: Association V"), Buffer.from([0xe9]), Buffer.from("lo Libre\n")]), [
      `${M}:2:20: is not UTF-8 text: byte 0xE9 here is not valid UTF-8 (the file was probably saved as Latin-1 or Windows-1252: save it again as UTF-8, then check the accented letters)`,
      "    name: Association V\ufffdlo Libre",
      "                       ^",
    ]],
    ["UTF-16 text", Buffer.from("\ufeffhandle: velo-libre\n", "utf16le"), [`${M}: is UTF-16 text, not UTF-8 (save it again as UTF-8: in most editors, Save as… → Encoding: UTF-8)`]],
  ])("%s", (_what, content, lines) => {
    expect(errorsFor(content)).toEqual([lines.join("\n")]);
  });

  it("a zone file's hint names zones/README.md, in French too", () => {
    const root = writeTree({ "zones/velo-libre.example.yaml": "# à écrire\n" });
    expect(loadModel(root, "test").errors.map((d) => formatDiagnostic(d, "fr"))).toContain(
      "zones/velo-libre.example.yaml: est vide : il ne contient aucune donnée, seulement des lignes blanches ou des commentaires (écrivez ses champs, comme dans les exemples de zones/README.md, ou supprimez le fichier)",
    );
  });

  it("CRLF line ends do not matter: the same data as with LF", () => {
    const crlf = Object.fromEntries(Object.entries(baseFiles()).map(([k, v]) => [k, v.replace(/\n/g, "\r\n")]));
    const a = loadModel(writeTree(), "test");
    const b = loadModel(writeTree(crlf), "test");
    expect(b.errors).toEqual([]);
    expect(JSON.stringify(b.model)).toBe(JSON.stringify(a.model));
  });

  it("accented UTF-8 text is read as written", () => {
    const model = loadModel(writeTree(), "test").model;
    expect(model?.members.find((m) => m.handle === "velo-libre")?.name).toBe("Association Vélo Libre");
  });
});

describe("the UTF-8 byte check", () => {
  it.each<[string, number[], number]>([
    ["ASCII", [0x61, 0x62], -1],
    ["é in UTF-8", [0x61, 0xc3, 0xa9], -1],
    ["an emoji (4 bytes)", [0xf0, 0x9f, 0x9a, 0xb2], -1],
    ["a lone Latin-1 é", [0x61, 0xe9, 0x62], 1],
    ["a truncated sequence at the end", [0x61, 0xc3], 1],
    ["an overlong /", [0xc0, 0xaf], 0],
    ["an overlong 3-byte form", [0xe0, 0x80, 0xaf], 0],
    ["a UTF-16 surrogate", [0xed, 0xa0, 0x80], 0],
    ["past U+10FFFF", [0xf4, 0x90, 0x80, 0x80], 0],
    ["a continuation byte alone", [0x80], 0],
  ])("%s", (_what, bytes, at) => {
    expect(firstInvalidUtf8(Uint8Array.from(bytes))).toBe(at);
    expect(decodeDataFile("f.yaml", Uint8Array.from(bytes)).text === undefined).toBe(at >= 0);
  });
});

describe("a value of the wrong type is one message, not also its size", () => {
  it("ssh_keys written as one string", () => {
    expect(errorsOf({ [M]: memberWith(`ssh_keys: ["${KEY}"]`, `ssh_keys: "${KEY}"`) })).toEqual([
      `${M}:6:11 ssh_keys: must be a list (lines starting with -), not the text "${KEY.slice(0, 40)}…" (check the example in the README)`,
    ]);
  });

  it.each<[string, z.ZodType, unknown, string[]]>([
    ["a list's maximum on a long string", z.array(z.string()).max(2), "abcdef", ["invalid_type"]],
    ["a list's minimum on an empty string", z.array(z.string()).min(1), "", ["invalid_type"]],
    ["a mapping's checks on a string", z.strictObject({ a: z.string() }).refine(() => false), "x", ["invalid_type"]],
    ["a nested list written as a string", z.strictObject({ keys: z.array(z.string()).max(2) }), { keys: "abcdef" }, ["invalid_type"]],
    ["a real size error stays", z.array(z.string()).max(1), ["a", "b"], ["too_big"]],
    ["a sibling's error stays", z.strictObject({ keys: z.array(z.string()).max(2), name: z.string().max(2) }), { keys: "abcdef", name: "long" }, ["invalid_type", "too_big"]],
  ])("%s", (_what, schema, input, codes) => {
    const r = schema.safeParse(input);
    expect(r.success).toBe(false);
    expect(withoutConsequences(r.error?.issues ?? []).map((i) => i.code)).toEqual(codes);
  });
});
