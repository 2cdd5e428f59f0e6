import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readSigned, writeSigned } from "../lib/base/signed-file";

/**
 * The caches a run keeps for the next (lib/base/signed-file.ts) are read as bytes and their
 * HMAC taken over the bytes: what was written from a string must read back as that string
 * (whatever its characters), and any change to the file, another key or another purpose must
 * not verify.
 */
const dir = mkdtempSync(join(tmpdir(), "globenet-signed-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const KEY = "the-stack-passphrase";
const any = () => true;

describe("a signed file", () => {
  it.each([
    ["ASCII", '{"a":1}'],
    ["accents, several lines", "Association numéro 1\nÉté\n"],
    ["characters outside the BMP", "zone 🚲.example"],
    ["empty", ""],
  ])("reads back what was written (%s)", (_what, body) => {
    const file = join(dir, "round-trip");
    writeSigned(file, "p", KEY, { v: 1 }, body);
    expect(readSigned<{ v: number }>(file, "p", KEY, (h) => h.v === 1)).toEqual({ header: { v: 1 }, body });
  });

  it("is refused with another key, another purpose, a header the reader does not want", () => {
    const file = join(dir, "refused");
    writeSigned(file, "p", KEY, { v: 1 }, "body");
    expect(readSigned(file, "p", "another-key", any)).toBeUndefined();
    expect(readSigned(file, "q", KEY, any)).toBeUndefined();
    expect(readSigned<{ v: number }>(file, "p", KEY, (h) => h.v === 2)).toBeUndefined();
    expect(readSigned(file, "p", KEY, any)?.body).toBe("body");
  });

  it("is refused when one byte of its body or header changed, or when it is cut short", () => {
    const file = join(dir, "altered");
    writeSigned(file, "p", KEY, { v: 1 }, "numéro 1");
    const bytes = readFileSync(file);
    const last = Buffer.from(bytes);
    last[last.length - 1] = (last[last.length - 1] as number) ^ 1;
    writeFileSync(file, last);
    expect(readSigned(file, "p", KEY, any)).toBeUndefined();
    const header = Buffer.from(bytes);
    header[header.indexOf('"v":1') + 4] = "2".charCodeAt(0);
    writeFileSync(file, header);
    expect(readSigned(file, "p", KEY, any)).toBeUndefined();
    writeFileSync(file, bytes.subarray(0, bytes.indexOf(0x0a) + 10));
    expect(readSigned(file, "p", KEY, any)).toBeUndefined();
    writeFileSync(file, bytes);
    expect(readSigned(file, "p", KEY, any)?.body).toBe("numéro 1");
  });

  it("a missing file is no file", () => {
    expect(readSigned(join(dir, "none"), "p", KEY, any)).toBeUndefined();
  });
});
