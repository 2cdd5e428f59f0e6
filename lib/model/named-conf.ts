/**
 * named.conf's syntax, with positions (pure): words, quoted strings (unquoted), braces and
 * semicolons, each with its offsets in the text; comments (`//`, `#`, C-style) skipped. The
 * import reads a server's zones with it (lib/import/bind-config.ts); the adoption's zone
 * takeover finds the hand-made `zone` statements to disable with it (provider/resources/takeover.ts).
 */
export interface NamedConfToken {
  text: string;
  /** Offset of the token's first character (a quoted string: its opening quote). */
  start: number;
  /** Offset just after it. */
  end: number;
}

export function namedConfTokens(text: string): NamedConfToken[] {
  const out: NamedConfToken[] = [];
  const re = /\/\*[\s\S]*?\*\/|(?:\/\/|#)[^\n]*|"((?:[^"\\]|\\.)*)"|([{};])|([^\s{};"#]+)/g;
  for (const m of text.matchAll(re)) {
    if (m[1] === undefined && m[2] === undefined && m[3] === undefined) continue;
    const t = m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : (m[2] ?? m[3] ?? "");
    out.push({ text: t, start: m.index, end: m.index + m[0].length });
  }
  return out;
}

/** One top-level statement: its words, whether it has a block, and where it starts and ends (after its `;`). */
export interface NamedConfStatement {
  words: string[];
  /** The statements of its block, when it has one. */
  block?: NamedConfStatement[];
  start: number;
  end: number;
}

/** The statement tree of a named.conf text, with positions. */
export function parseNamedConfStatements(text: string): NamedConfStatement[] {
  const toks = namedConfTokens(text);
  let i = 0;
  const list = (): NamedConfStatement[] => {
    const out: NamedConfStatement[] = [];
    let words: string[] = [];
    let start = -1;
    while (i < toks.length) {
      const t = toks[i++] as NamedConfToken;
      if (t.text === "}" && t.end - t.start === 1) break;
      if (start < 0) start = t.start;
      if (t.text === ";" && t.end - t.start === 1) {
        if (words.length) out.push({ words, start, end: t.end });
        words = [];
        start = -1;
      } else if (t.text === "{" && t.end - t.start === 1) {
        const block = list();
        let end = toks[i - 1]?.end ?? text.length;
        if (toks[i]?.text === ";") end = (toks[i++] as NamedConfToken).end;
        out.push({ words, block, start, end });
        words = [];
        start = -1;
      } else words.push(t.text);
    }
    if (words.length) out.push({ words, start, end: toks[i - 1]?.end ?? text.length });
    return out;
  };
  return list();
}
