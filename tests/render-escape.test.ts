import { describe, expect, it } from "vitest";
import {
  UnsafeValueError,
  apacheQuoted,
  apacheToken,
  fpmIniValue,
  htmlText,
  lineComment,
  namedConfAddress,
  namedConfString,
  qemuOptValue,
  sqlIdentifier,
  sqlString,
  xmlAttr,
  xmlComment,
  xmlText,
  yamlDoubleQuoted,
  zoneCharacterString,
  zoneDomainName,
  zoneHex,
} from "../lib/render/escape";
import { splitUtf8 } from "../lib/render/utf8-split";
import { parse } from "yaml";

type Case = [input: string, expected: string];

describe("escapers: value in, exact text out", () => {
  const tables: Record<string, [(s: string) => string, Case[]]> = {
    lineComment: [lineComment, [["plain", "plain"], ["a\nb\rc", "a b c"], ["tab\there", "tab here"], ["nel\u0085ls\u2028ps\u2029", "nel ls ps "]]],
    xmlComment: [xmlComment, [["a-b", "a-b"], ["a--b", "a- -b"], ["ends-", "ends- "], ["---", "- - - "], ["x\ny", "x y"]]],
    apacheToken: [apacheToken, [["velo-libre.example", "velo-libre.example"], ["*.lists.example", "*.lists.example"]]],
    apacheQuoted: [apacheQuoted, [["/home/a/htdocs", '"/home/a/htdocs"'], ['say "hi"', '"say \\"hi\\""'], ["back\\slash", '"back\\\\slash"'], ["$HOME {x}", '"$HOME {x}"']]],
    fpmIniValue: [fpmIniValue, [["/home/velo-libre/tmp", "/home/velo-libre/tmp"], ["velo-libre", "velo-libre"]]],
    namedConfString: [namedConfString, [["velo-libre.example", '"velo-libre.example"'], ['a"b', '"a\\"b"'], ["a\\b", '"a\\\\b"'], ["a;b}", '"a;b}"']]],
    namedConfAddress: [namedConfAddress, [["192.0.2.53", "192.0.2.53"], ["2001:db8::53", "2001:db8::53"]]],
    zoneDomainName: [
      zoneDomainName,
      [
        ["@", "@"],
        ["www", "www"],
        ["_sip._tcp", "_sip._tcp"],
        ["*.lists", "*.lists"],
        ["mail.example.", "mail.example."],
        ["a b", "a\\032b"],
        ["a;b", "a\\059b"],
        ["a(b)", "a\\040b\\041"],
        ['q"\\', "q\\034\\092"],
        ["$INCLUDE", "\\036INCLUDE"],
        ["a@b", "a\\064b"],
        ["é", "\\195\\169"],
        ["a\nb", "a\\010b"],
      ],
    ],
    zoneHex: [zoneHex, [["0aFf", "0aFf"]]],
    xmlText: [xmlText, [["a<b>&c", "a&lt;b&gt;&amp;c"], [`'"`, `'"`], ["]]>", "]]&gt;"]]],
    xmlAttr: [xmlAttr, [[`a'b"c`, "a&apos;b&quot;c"], ["<&>", "&lt;&amp;&gt;"], ["t\tn\nr\r", "t&#9;n&#10;r&#13;"]]],
    htmlText: [htmlText, [["<script>alert('x')</script>", "&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt;"]]],
    yamlDoubleQuoted: [
      yamlDoubleQuoted,
      [
        ["plain", '"plain"'],
        ['q"b\\', '"q\\"b\\\\"'],
        ["a\nb\tc", '"a\\nb\\tc"'],
        ["#not: a comment", '"#not: a comment"'],
        ["é", '"\\u00E9"'],
        ["🚲", '"\\U0001F6B2"'],
        ["nel\u0085ls\u2028", '"nel\\u0085ls\\u2028"'],
        ["del\u007f", '"del\\u007F"'],
        ["nul\u0000", '"nul\\u0000"'],
      ],
    ],
    sqlIdentifier: [sqlIdentifier, [["velo_wp", "`velo_wp`"], ["a`b", "`a``b`"], ["a'b\"c", "`a'b\"c`"], ["x`; DROP DATABASE y; --", "`x``; DROP DATABASE y; --`"]]],
    sqlString: [
      sqlString,
      [
        ["plain", "'plain'"],
        ["it's", "'it\\'s'"],
        ['say "x"', "'say \\\"x\\\"'"],
        ["back\\slash", "'back\\\\slash'"],
        ["nul\u0000", "'nul\\0'"],
        ["lf\ncr\r", "'lf\\ncr\\r'"],
        ["ctrlz\u001a", "'ctrlz\\Z'"],
        ["' OR 1=1; --", "'\\' OR 1=1; --'"],
        ["\\'", "'\\\\\\''"],
        ["%_é", "'%_é'"],
      ],
    ],
    qemuOptValue: [qemuOptValue, [["203.0.113.0/24", "203.0.113.0/24"], ["a,b", "a,,b"], ["x,hostfwd=tcp::1-:22", "x,,hostfwd=tcp::1-:22"]]],
  };
  for (const [name, [fn, cases]] of Object.entries(tables)) {
    it.each(cases)(`${name}(%j) = %j`, (input, expected) => {
      expect(fn(input)).toBe(expected);
    });
  }
});

describe("escapers refuse what the format cannot carry", () => {
  const refused: [string, () => unknown][] = [
    ["apacheToken with a space", () => apacheToken("a b")],
    ["apacheToken with a quote", () => apacheToken('a"')],
    ["apacheToken with ${", () => apacheToken("${X}")],
    ["apacheToken empty", () => apacheToken("")],
    ["apacheQuoted with a line break", () => apacheQuoted("a\nInclude /etc/shadow")],
    ["apacheQuoted with ${VAR}", () => apacheQuoted("/home/${APACHE_RUN_USER}")],
    ["fpmIniValue with a semicolon", () => fpmIniValue("/home/a;b")],
    ["fpmIniValue with ${}", () => fpmIniValue("${HOME}")],
    ["fpmIniValue with a quote", () => fpmIniValue('a"b')],
    ["fpmIniValue with a space", () => fpmIniValue("a b")],
    ["namedConfString with a line break", () => namedConfString("a\n}; zone")],
    ["namedConfAddress with a keyword", () => namedConfAddress("any")],
    ["namedConfAddress with an ACL trick", () => namedConfAddress("192.0.2.1; any")],
    ["zoneDomainName empty", () => zoneDomainName("")],
    ["zoneHex with a non-hex digit", () => zoneHex("0g")],
    ["zoneCharacterString over 255 bytes", () => zoneCharacterString(Buffer.alloc(256, 0x61))],
    ["xmlText with a C0 control", () => xmlText("a\u0001")],
    ["xmlAttr with a lone surrogate", () => xmlAttr("a\ud800")],
    ["yamlDoubleQuoted with a lone surrogate", () => yamlDoubleQuoted("\udc00")],
    ["sqlIdentifier empty", () => sqlIdentifier("")],
    ["sqlIdentifier with NUL", () => sqlIdentifier("a\u0000")],
    ["qemuOptValue with a line break", () => qemuOptValue("a\nb")],
  ];
  it.each(refused)("%s", (_name, call) => {
    expect(call).toThrow(UnsafeValueError);
  });
});

describe("zoneCharacterString", () => {
  it.each<[string, string]>([
    ["v=spf1 mx -all", '"v=spf1 mx -all"'],
    ['quote " and \\', '"quote \\" and \\\\"'],
    ["semicolon; stays", '"semicolon; stays"'],
    ["Vélo 🚲", '"V\\195\\169lo \\240\\159\\154\\178"'],
    ["tab\there", '"tab\\009here"'],
  ])("%j → %s", (input, expected) => {
    expect(zoneCharacterString(Buffer.from(input, "utf8"))).toBe(expected);
  });

  it("keeps the zone file ASCII", () => {
    expect(zoneCharacterString(Buffer.from("日本語 ÿ €", "utf8"))).toMatch(/^[\x20-\x7e]+$/);
  });
});

describe("yamlDoubleQuoted reads back as the same string", () => {
  it.each(["plain", 'q"b\\', "a\nb", "é🚲", "nel\u0085ls\u2028ps\u2029", "- [x]: {y} # z", "null", "true", "0x10", "~", "'"])("%j", (s) => {
    const out = yamlDoubleQuoted(s);
    expect(out).toMatch(/^[\x20-\x7e]+$/);
    expect(parse(`k: ${out}`)).toEqual({ k: s });
  });
});

describe("splitUtf8", () => {
  const sizes = (chunks: Buffer[]) => chunks.map((c) => c.length);

  it.each<[string, string, number[]]>([
    ["empty text, one empty string", "", [0]],
    ["255 bytes fit in one string", "a".repeat(255), [255]],
    ["256 bytes make two", "a".repeat(256), [255, 1]],
    ["510 bytes make exactly two", "a".repeat(510), [255, 255]],
    ["a 2-byte character that would straddle byte 255 moves to the next string", "a".repeat(254) + "é", [254, 2]],
    ["a 2-byte character that ends exactly at byte 255 stays", "a".repeat(253) + "é", [255]],
    ["a 3-byte character straddling the boundary", "a".repeat(253) + "€", [253, 3]],
    ["a 4-byte character straddling the boundary", "a".repeat(252) + "🚲" + "b", [252, 5]],
    ["a 4-byte character ending exactly at byte 255", "a".repeat(251) + "🚲", [255]],
  ])("%s", (_what, text, expected) => {
    expect(sizes(splitUtf8(text, 255))).toEqual(expected);
  });

  it("never splits a character and loses nothing", () => {
    const text = "é".repeat(200) + "🚲".repeat(100) + "€".repeat(100);
    const chunks = splitUtf8(text, 255);
    for (const c of chunks) {
      expect(c.length).toBeLessThanOrEqual(255);
      expect(Buffer.from(c.toString("utf8"), "utf8").equals(c)).toBe(true);
    }
    expect(chunks.map((c) => c.toString("utf8")).join("")).toBe(text);
  });

  it("refuses text that is not well-formed Unicode", () => {
    expect(() => splitUtf8("a\ud800b", 255)).toThrow(UnsafeValueError);
  });
});
