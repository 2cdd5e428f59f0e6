import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from "yaml";
import type { Diagnostic } from "./diagnostic";
import { textProblem } from "./text-file";
import { yamlErrorDiagnostic } from "./yaml-syntax";

/** A data file is a few kilobytes; anything this big is a mistake or an attack. */
export const MAX_FILE_BYTES = 256 * 1024;

export interface YamlFile {
  /** Path relative to the data root. */
  file: string;
  /** The syntax tree, for positions: kept while parsing, then (after `release`) parsed again on demand. */
  readonly doc: Document;
  readonly lines: LineCounter;
  data: unknown;
}

const PARSE_OPTIONS = { uniqueKeys: true, prettyErrors: false, strict: true, schema: "core", merge: false } as const;

function syntaxOf(text: string): { doc: Document; lines: LineCounter } {
  const lines = new LineCounter();
  return { doc: parseDocument(text, { ...PARSE_OPTIONS, lineCounter: lines }), lines };
}

/**
 * A parsed file that can let go of its syntax tree: a tree holds about ten times the memory of
 * the values read from it, and a loaded data tree is ten thousands of files whose positions are
 * asked for only when a message points into one. The same text parsed again with the same
 * options gives the same positions.
 */
class ParsedFile implements YamlFile {
  #syntax: { doc: Document; lines: LineCounter } | undefined;
  #data: unknown;
  #released = false;
  constructor(
    readonly file: string,
    readonly text: string,
    data: unknown,
    syntax: { doc: Document; lines: LineCounter } | undefined,
  ) {
    this.#data = data;
    this.#syntax = syntax;
  }
  get doc(): Document {
    this.#syntax ??= syntaxOf(this.text);
    return this.#syntax.doc;
  }
  get lines(): LineCounter {
    this.#syntax ??= syntaxOf(this.text);
    return this.#syntax.lines;
  }
  get data(): unknown {
    if (this.#released) {
      this.#data = this.doc.toJS({ maxAliasCount: 0 });
      this.#released = false;
    }
    return this.#data;
  }
  set data(v: unknown) {
    this.#data = v;
    this.#released = false;
  }
  /** Lets the tree and the values read from it go (the schema's values are what the checks use). */
  release(): void {
    this.#syntax = undefined;
    this.#data = undefined;
    this.#released = true;
  }
}

/**
 * A file whose schema value came from the load cache (lib/load/load-cache.ts): nothing parsed
 * yet; its tree, positions and raw values are parsed from `text` only if a message points into
 * it, as for a released file.
 */
export function cachedYamlFile(file: string, text: string): YamlFile {
  const yf = new ParsedFile(file, text, undefined, undefined);
  yf.release();
  return yf;
}

/** Lets a loaded file's syntax tree and raw values go (both are parsed again if asked for). */
export function releaseSyntax(yf: YamlFile): void {
  if (yf instanceof ParsedFile) yf.release();
}

export interface Position {
  line: number;
  col: number;
}

export function positionOf(yf: YamlFile, offset: number): Position {
  const p = yf.lines.linePos(offset);
  return { line: p.line, col: p.col };
}

/**
 * Parses one YAML data file strictly: YAML syntax errors, duplicate keys, anchors/aliases
 * (the way alias bombs are built), explicit tags, several documents and oversized files are
 * all errors, reported with their position.
 */
export function parseYamlFile(file: string, text: string): { yf?: YamlFile; errors: Diagnostic[] } {
  const errors: Diagnostic[] = [];
  const at = (line: number, col: number, message: string): Diagnostic => ({ file, line, col, field: "", message });
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > MAX_FILE_BYTES) {
    return { errors: [at(0, 0, `file is ${bytes} bytes, over the ${MAX_FILE_BYTES}-byte limit (a data file is a few kilobytes; split it or remove what does not belong)`)] };
  }
  const bad = textProblem(file, text);
  if (bad) return { errors: [bad] };
  const { doc, lines } = syntaxOf(text);
  const pos = (offset: number) => {
    const p = lines.linePos(offset);
    return { line: p.line, col: p.col };
  };
  // One message per place: the parser often reports one mistake twice.
  const placed = new Set<string>();
  for (const e of doc.errors) {
    const d = yamlErrorDiagnostic(file, text, e, lines);
    if (!placed.has(`${d.line}:${d.col}`)) errors.push(d);
    placed.add(`${d.line}:${d.col}`);
  }
  // An anchor, an alias and a tag are each written with a character of their own: a file
  // holding none of them has none, and its tree is not walked.
  if (/[&*!]/.test(text)) visit(doc, {
    Node(_key, node) {
      if (isAlias(node)) {
        const p = pos(node.range?.[0] ?? 0);
        errors.push(at(p.line, p.col, `YAML alias *${node.source} is not allowed (write the value out in full)`));
      } else if ((node as Node).anchor) {
        const p = pos((node as Node).range?.[0] ?? 0);
        errors.push(at(p.line, p.col, `YAML anchor &${(node as Node).anchor} is not allowed (write the value out in full)`));
      }
      if ((node as Node).tag) {
        const p = pos((node as Node).range?.[0] ?? 0);
        errors.push(at(p.line, p.col, `YAML tag ${(node as Node).tag} is not allowed (remove the tag; write a plain value)`));
      }
      return undefined;
    },
  });
  if (errors.length > 0) return { errors };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 0 });
  } catch (e) {
    return { errors: [at(0, 0, `cannot read the YAML: ${firstLine(String((e as Error).message))} (fix the file)`)] };
  }
  return { yf: new ParsedFile(file, text, data, { doc, lines }), errors };
}

function firstLine(s: string): string {
  return s.split("\n")[0] ?? s;
}

/**
 * The position of a field path inside a file: the value's node, or with `key` set the key
 * itself (used for unknown keys). Falls back to the nearest existing ancestor.
 */
export function locate(yf: YamlFile, path: ReadonlyArray<PropertyKey>, key = false): Position {
  let node: unknown = yf.doc.contents;
  let best: number = (node as Node | null)?.range?.[0] ?? 0;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      if (last && key && isScalar(pair.key)) {
        best = pair.key.range?.[0] ?? best;
        break;
      }
      node = pair.value;
      const start = (pair.value as Node | null)?.range?.[0] ?? (isScalar(pair.key) ? pair.key.range?.[0] : undefined);
      if (start !== undefined) best = start;
    } else if (isSeq(node) && typeof seg === "number") {
      const item = node.items[seg];
      if (!item) break;
      node = item;
      const start = (item as Node).range?.[0];
      if (start !== undefined) best = start;
    } else break;
  }
  return positionOf(yf, best);
}
