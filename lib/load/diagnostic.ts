import { french } from "../i18n/fr-catalog";
import type { Lang } from "../i18n/lang";

/** One problem found in the data, pointing at the place a volunteer must edit. */
export interface Diagnostic {
  /** Path relative to the data root, with forward slashes: `members/velo-libre/member.yaml`. */
  file: string;
  /** 1-based; 0 when the problem concerns the file as a whole. */
  line: number;
  col: number;
  /** Field path inside the file, e.g. `sites[0].host`; empty for the whole file. */
  field: string;
  /** What is wrong, then the hint in parentheses (English: logs, CI, tests). */
  message: string;
  /** The same in French, when written; shown to a volunteer whose language is French. */
  fr?: string;
  /** The source line and a caret under the column, for what a parser or a byte check found. */
  excerpt?: string[];
}

export function formatPath(path: ReadonlyArray<string | number>): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/**
 * The message in French: the one written beside the English (checks), else the catalog's
 * (loader, schemas: lib/i18n/fr-catalog.ts); undefined when neither has it.
 */
export function frenchOf(d: Diagnostic): string | undefined {
  return d.fr ?? french(d.message);
}

/** English by default (logs); pass the volunteer's language where a person reads it. */
export function formatDiagnostic(d: Diagnostic, lang: Lang = "en"): string {
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.col}` : d.file;
  const message = lang === "fr" ? (frenchOf(d) ?? d.message) : d.message;
  const head = d.field ? `${where} ${d.field}: ${message}` : `${where}: ${message}`;
  return d.excerpt ? [head, ...d.excerpt.map((l) => `    ${l}`)].join("\n") : head;
}

export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return [...list].sort(
    (a, b) =>
      (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
      a.line - b.line ||
      a.col - b.col ||
      (a.field < b.field ? -1 : a.field > b.field ? 1 : 0) ||
      (a.message < b.message ? -1 : a.message > b.message ? 1 : 0),
  );
}

/** Thrown by commands when the data has errors; carries all of them. */
export class DataError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(
      `${diagnostics.length} error(s) in the data:\n` +
        sortDiagnostics(diagnostics).map((d) => formatDiagnostic(d)).join("\n"),
    );
    this.name = "DataError";
  }
}
