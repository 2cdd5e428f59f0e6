import { UnsafeValueError } from "./escape";

/**
 * Splits text into UTF-8 chunks of at most maxBytes bytes, never inside a character, so each
 * chunk is valid UTF-8 on its own (a TXT character-string holds at most 255 bytes, and a
 * reader that decodes each string separately must not see half a character). Splitting is
 * by Unicode code point, so a combining sequence may be split, never a code point.
 */
// eslint-disable-next-line no-control-regex
const ASCII = /^[\x00-\x7f]*$/;

export function splitUtf8(text: string, maxBytes: number): Buffer[] {
  if (maxBytes < 4) throw new RangeError("maxBytes must be at least 4, the longest UTF-8 character");
  const chunks: Buffer[] = [];
  // ASCII text (nearly every TXT value): one byte per character, cut every maxBytes.
  if (ASCII.test(text)) {
    for (let i = 0; i < text.length || chunks.length === 0; i += maxBytes) chunks.push(Buffer.from(text.slice(i, i + maxBytes), "latin1"));
    return chunks;
  }
  let current: Buffer[] = [];
  let size = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0) as number;
    if (code >= 0xd800 && code <= 0xdfff) throw new UnsafeValueError("a zone file", text, "it is not well-formed Unicode");
    const bytes = Buffer.from(ch, "utf8");
    if (size + bytes.length > maxBytes) {
      chunks.push(Buffer.concat(current));
      current = [];
      size = 0;
    }
    current.push(bytes);
    size += bytes.length;
  }
  if (size > 0 || chunks.length === 0) chunks.push(Buffer.concat(current));
  return chunks;
}
