/**
 * Where a record came from in the original zone file. named-checkzone's canonical dump (what
 * lib/import/zone-file.ts reads the values from) has no line numbers, so this walks the
 * original text only far enough to point back at it: comments and parentheses are folded
 * into logical records, $ORIGIN and the inherited owner are followed, and each logical record
 * is keyed by (absolute owner, type); records a $GENERATE made point at its line. The values
 * themselves are never taken from here.
 */

/** One logical record of the source: its first line and the fields needed to find it again. */
export interface SourceRecord {
  line: number;
  /** Absolute owner, lowercase, with the final dot. */
  owner: string;
  /** Type mnemonic in capitals ("MX", "TYPE65534"). */
  type: string;
  /** The first rdata token, absolutised when it looks like a name, lowercase; quotes removed. */
  first: string;
  /** The source text of the first line, trimmed (for reports). */
  text: string;
}

/** The owner under which $GENERATE lines are kept: they match any owner of their type. */
const GENERATE = "$generate";
const CLASSES = new Set(["IN", "CH", "HS", "CS"]);
const TTL = /^\d+[smhdw]?(\d+[smhdw])*$/i;

/** Splits a line at whitespace outside quotes; drops a comment; notes "(" and ")" outside quotes. */
function tokens(line: string): { toks: string[]; open: number } {
  const toks: string[] = [];
  let cur = "";
  let inQ = false;
  let open = 0;
  let has = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === "\\" && i + 1 < line.length) {
      cur += c + line[i + 1];
      has = true;
      i++;
      continue;
    }
    if (c === '"') {
      inQ = !inQ;
      cur += c;
      has = true;
      continue;
    }
    if (!inQ && c === ";") break;
    if (!inQ && (c === "(" || c === ")")) {
      open += c === "(" ? 1 : -1;
      if (has) toks.push(cur);
      cur = "";
      has = false;
      continue;
    }
    if (!inQ && /\s/.test(c)) {
      if (has) toks.push(cur);
      cur = "";
      has = false;
      continue;
    }
    cur += c;
    has = true;
  }
  if (has) toks.push(cur);
  return { toks, open };
}

function absolute(name: string, origin: string): string {
  // Decoded the way the canonical owner is (\DDD and \X), so escaped names find each other.
  const n = unquote(name).toLowerCase();
  if (n === "@") return origin;
  return n.endsWith(".") ? n : `${n}.${origin}`;
}

/** The logical records of `text`, a zone file whose origin is `zone` (no final dot needed). */
export function sourceRecords(text: string, zone: string): SourceRecord[] {
  const out: SourceRecord[] = [];
  let origin = `${zone.toLowerCase().replace(/\.$/, "")}.`;
  let owner = origin;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string;
    const startLine = i + 1;
    let { toks, open } = tokens(raw);
    // Parentheses continue a record over lines (the SOA, long TXT and DNSKEY).
    while (open > 0 && i + 1 < lines.length) {
      i++;
      const more = tokens(lines[i] as string);
      toks = toks.concat(more.toks);
      open += more.open;
    }
    if (toks.length === 0) continue;
    const head = toks[0] as string;
    if (/^\$ORIGIN$/i.test(head)) {
      if (toks[1]) origin = absolute(toks[1], origin);
      continue;
    }
    if (/^\$GENERATE$/i.test(head)) {
      // $GENERATE range lhs [ttl] [class] type rhs: its records all point back at this line.
      let g = toks.slice(3);
      while (g.length > 0 && (TTL.test(g[0] as string) || CLASSES.has((g[0] as string).toUpperCase()))) g = g.slice(1);
      if (g[0]) out.push({ line: startLine, owner: GENERATE, type: g[0].toUpperCase(), first: "", text: raw.trim().slice(0, 200) });
      continue;
    }
    if (head.startsWith("$")) continue;
    let rest = toks;
    if (!/^\s/.test(raw)) {
      owner = absolute(head, origin);
      rest = toks.slice(1);
    }
    while (rest.length > 0 && (TTL.test(rest[0] as string) || CLASSES.has((rest[0] as string).toUpperCase()))) rest = rest.slice(1);
    const type = rest[0]?.toUpperCase();
    if (!type) continue;
    const f = rest[1] ?? "";
    const first = f.startsWith('"') ? f.replace(/^"|"$/g, "") : /^[a-z_*@][a-z0-9_.*-]*$/i.test(f) && !/^\d/.test(f) ? absolute(f, origin) : f.toLowerCase();
    out.push({ line: startLine, owner, type, first, text: raw.trim().slice(0, 200) });
  }
  return out;
}

/**
 * Finds the source record for each canonical one, consuming each source record once: the
 * same owner and type, preferring the one whose first rdata token also matches (two MX at the
 * apex are told apart by their priority, two A records by their address).
 */
export class SourceIndex {
  private readonly byKey = new Map<string, SourceRecord[]>();
  constructor(records: readonly SourceRecord[]) {
    for (const r of records) {
      const k = `${r.owner} ${r.type}`;
      const list = this.byKey.get(k) ?? [];
      list.push(r);
      this.byKey.set(k, list);
    }
  }

  take(owner: string, type: string, first: string): SourceRecord | undefined {
    const list = this.byKey.get(`${owner.toLowerCase()} ${type}`);
    if (!list || list.length === 0) return this.byKey.get(`${GENERATE} ${type}`)?.[0];
    const f = first.toLowerCase().replace(/^"|"$/g, "");
    let i = list.findIndex((r) => r.first === f);
    if (i < 0) i = 0;
    const [hit] = list.splice(i, 1);
    return hit;
  }
}

/** A quoted character-string of BIND's output, unescaped (\DDD are bytes, read as UTF-8). */
export function unquote(tok: string): string {
  const s = tok.startsWith('"') && tok.endsWith('"') && tok.length >= 2 ? tok.slice(1, -1) : tok;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === "\\") {
      const d = s.slice(i + 1, i + 4);
      if (/^\d{3}$/.test(d)) {
        bytes.push(Number(d));
        i += 3;
        continue;
      }
      i++;
      if (i < s.length) bytes.push(...Buffer.from(s[i] as string));
      continue;
    }
    bytes.push(...Buffer.from(c));
  }
  return Buffer.from(bytes).toString("utf8");
}

