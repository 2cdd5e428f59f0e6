import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fileStoreOf, forgetVerified, loadRef, storeFiles } from "../provider/resources/file-store";
import { PRUNE_MARK, pruneStore } from "../provider/resources/file-store-prune";
import { sha256Hex } from "../provider/resources/file-set-serials";

const DAY = 24 * 3600 * 1000;
let root: string;
let store: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "globenet-prune-"));
  store = fileStoreOf(root);
  forgetVerified();
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function age(file: string, days: number, now = Date.now()): void {
  const t = (now - days * DAY) / 1000;
  utimesSync(file, t, t);
}

describe("the store's cleanup: what no run used for a month goes, nothing else", () => {
  it.each([
    // name, age in days, removed?
    ["a content used today", "content", 0, false],
    ["a content last used 29 days ago", "content", 29, false],
    ["a content no run used for 31 days", "content", 31, true],
    ["a run's temporary file of two days ago (cut short)", ".tmp-123-abcdef", 2, true],
    ["a temporary file of a run going on now", ".tmp-456-abcdef", 0, false],
    ["a file the store did not make, however old", "notes.txt", 400, false],
  ])("%s", (_what, kind, days, removed) => {
    const refs = storeFiles(store, { "a.zone": "a content\n" });
    const name = kind === "content" ? (refs["a.zone"] as string) : kind;
    const file = join(store, name);
    if (kind !== "content") writeFileSync(file, "x");
    age(file, days);
    const r = pruneStore(store);
    expect(existsSync(file)).toBe(!removed);
    expect(r?.removed).toBe(removed ? 1 : 0);
  });

  it("a run that uses an old content sets its time, so the cleanup keeps it; a young one is not written at all", () => {
    const files = { "old.zone": "old\n", "young.zone": "young\n" };
    const refs = storeFiles(store, files);
    const oldFile = join(store, refs["old.zone"] as string);
    const youngFile = join(store, refs["young.zone"] as string);
    age(oldFile, 40);
    age(youngFile, 0.5);
    const youngBefore = statSync(youngFile).mtimeMs;
    storeFiles(store, files);
    expect(Date.now() - statSync(oldFile).mtimeMs).toBeLessThan(DAY);
    expect(statSync(youngFile).mtimeMs).toBe(youngBefore);
    expect(pruneStore(store)).toEqual({ removed: 0, bytes: 0, kept: 2 });
  });

  it("a content removed by the cleanup is written again by the next run that needs it, and reads back checked", () => {
    const refs = storeFiles(store, { "a.zone": "a\n" });
    const ref = refs["a.zone"] as string;
    age(join(store, ref), 31);
    expect(pruneStore(store)).toMatchObject({ removed: 1, bytes: 2 });
    expect(() => loadRef(store, "a.zone", ref)).toThrow(/is missing from the file store/);
    expect(storeFiles(store, { "a.zone": "a\n" })).toEqual(refs);
    expect(loadRef(store, "a.zone", ref)).toBe("a\n");
  });

  it("runs at most once a day: each run pays one stat for it", () => {
    const refs = storeFiles(store, { "a.zone": "a\n" });
    const now = Date.now();
    expect(pruneStore(store, { now })).toEqual({ removed: 0, bytes: 0, kept: 1 });
    age(join(store, refs["a.zone"] as string), 31, now);
    expect(pruneStore(store, { now: now + DAY / 2 })).toBeUndefined();
    expect(existsSync(join(store, refs["a.zone"] as string))).toBe(true);
    expect(pruneStore(store, { now: now + DAY + 1000 })).toMatchObject({ removed: 1 });
    expect(statSync(join(store, PRUNE_MARK)).mode & 0o777).toBe(0o600);
  });

  it("never follows a link nor enters a folder named like a content, however old", () => {
    const outside = join(root, "outside");
    writeFileSync(outside, "keep me");
    age(outside, 100);
    storeFiles(store, { "a.zone": "a\n" });
    const linkName = sha256Hex("link");
    const dirName = sha256Hex("dir");
    symlinkSync(outside, join(store, linkName));
    mkdirSync(join(store, dirName));
    writeFileSync(join(store, dirName, "inner"), "x");
    age(join(store, dirName, "inner"), 100);
    expect(pruneStore(store)?.removed).toBe(0);
    expect(existsSync(outside)).toBe(true);
    expect(existsSync(join(store, dirName, "inner"))).toBe(true);
  });

  it("no store, or a file in its place: nothing to do (the store step says what is wrong)", () => {
    expect(pruneStore(store)).toBeUndefined();
    mkdirSync(join(root, ".pulumi"), { recursive: true });
    writeFileSync(store, "not a folder");
    expect(pruneStore(store)).toBeUndefined();
    expect(existsSync(store)).toBe(true);
  });

  it("a shorter limit is never under two days, since a run sets the time once a day", () => {
    const refs = storeFiles(store, { "a.zone": "a\n" });
    const file = join(store, refs["a.zone"] as string);
    age(file, 1.5);
    expect(pruneStore(store, { afterDays: 1 })?.removed).toBe(0);
    rmSync(join(store, PRUNE_MARK));
    age(file, 2.5);
    expect(pruneStore(store, { afterDays: 1 })?.removed).toBe(1);
  });
});
