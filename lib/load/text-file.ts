import { isUtf8 } from "node:buffer";
import type { Diagnostic } from "./diagnostic";

/**
 * A data file is UTF-8 text with LF (or CRLF) line ends, nothing else. Node's "utf8" decoding
 * turns invalid bytes into U+FFFD without a word, so a Latin-1 "é" would reach a vhost or a
 * zone as "�": the bytes are checked here instead, and what is refused is pointed at by line
 * and column with the source line and a caret.
 */

/** The source line and a caret under `col` (1-based), as two lines to print under a message. */
export function excerptAt(text: string, line: number, col: number): string[] | undefined {
  const src = text.split(/\r?\n/)[line - 1];
  if (src === undefined) return undefined;
  // Tabs are copied so the caret lines up whatever the terminal's tab width; controls shown as "·".
  // eslint-disable-next-line no-control-regex
  const shown = src.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "·");
  const pad = [...shown.slice(0, Math.max(0, col - 1))].map((c) => (c === "\t" ? "\t" : " ")).join("");
  return [shown.length > 200 ? `${shown.slice(0, 200)}…` : shown, `${pad}^`];
}

/** Line and column (1-based, in characters) of a character offset in `text`. */
export function lineColOf(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === "\n") {
      line++;
      start = i + 1;
    }
  }
  return { line, col: [...text.slice(start, offset)].length + 1 };
}

/** Byte offset of the first byte that does not belong to a valid UTF-8 sequence, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  // Node's own validator (the same rules: no overlong forms, surrogates or code points past
  // U+10FFFF) answers for the whole file at native speed; the walk below only finds where.
  if (isUtf8(bytes)) return -1;
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
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
    if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return i;
    i += n + 1;
  }
  return -1;
}

/**
 * The file's bytes as text, or a diagnostic saying why they are not UTF-8 text: a UTF-16
 * file (what some Windows editors save), or the first invalid byte with its line and column.
 */
export function decodeDataFile(file: string, bytes: Uint8Array): { text?: string; error?: Diagnostic } {
  const b0 = bytes[0];
  const b1 = bytes[1];
  if ((b0 === 0xff && b1 === 0xfe) || (b0 === 0xfe && b1 === 0xff)) {
    return {
      error: {
        file, line: 0, col: 0, field: "",
        message: "is UTF-16 text, not UTF-8 (save it again as UTF-8: in most editors, Save as… → Encoding: UTF-8)",
        fr: "est un texte UTF-16, pas UTF-8 (réenregistrez-le en UTF-8 : dans la plupart des éditeurs, Enregistrer sous… → Encodage : UTF-8)",
      },
    };
  }
  const bad = firstInvalidUtf8(bytes);
  if (bad < 0) return { text: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8") };
  const before = Buffer.from(bytes.buffer, bytes.byteOffset, bad).toString("utf8");
  const { line, col } = lineColOf(before, before.length);
  const hex = `0x${(bytes[bad] as number).toString(16).toUpperCase().padStart(2, "0")}`;
  const whole = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  return {
    error: {
      file, line, col, field: "",
      message: `is not UTF-8 text: byte ${hex} here is not valid UTF-8 (the file was probably saved as Latin-1 or Windows-1252: save it again as UTF-8, then check the accented letters)`,
      fr: `n'est pas du texte UTF-8 : l'octet ${hex} ici n'est pas de l'UTF-8 valide (le fichier a sans doute été enregistré en Latin-1 ou Windows-1252 : réenregistrez-le en UTF-8, puis vérifiez les lettres accentuées)`,
      excerpt: excerptAt(whole, line, col),
    },
  };
}

/**
 * What YAML would read wrongly or not at all although the text is valid UTF-8: a byte-order
 * mark, a NUL character, a carriage return that is not part of a CRLF line end (old Mac files:
 * the parser does not see a new line there). CRLF line ends are fine: YAML reads them as LF.
 */
export function textProblem(file: string, text: string): Diagnostic | undefined {
  const at = (offset: number, message: string, fr: string): Diagnostic => {
    const { line, col } = lineColOf(text, offset);
    return { file, line, col, field: "", message, fr };
  };
  if (text.startsWith("\ufeff")) {
    return at(0, "starts with a byte-order mark (BOM), an invisible character (save the file as UTF-8 without BOM)", "commence par une marque d'ordre des octets (BOM), un caractère invisible (enregistrez le fichier en UTF-8 sans BOM)");
  }
  const nul = text.indexOf("\u0000");
  if (nul >= 0) {
    return at(nul, "contains a NUL character: this is not a text file (save it as plain UTF-8 text)", "contient un caractère NUL : ce n'est pas un fichier texte (enregistrez-le en texte UTF-8 simple)");
  }
  const cr = /\r(?!\n)/.exec(text);
  if (cr) {
    return at(cr.index, "has a carriage return (CR) without a line feed: the line ends are an old Mac format that YAML does not read as new lines (save the file with LF line ends)", "contient un retour chariot (CR) sans saut de ligne : ces fins de ligne d'un ancien format Mac ne sont pas lues comme des retours à la ligne par YAML (enregistrez le fichier avec des fins de ligne LF)");
  }
  return undefined;
}
