import { execFileSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadShardModel } from "../lib/check/shard-index";
import { dataDigest, digestCacheFile, readDigestCache, writeDigestCache, type DigestEntries } from "../lib/load/digest";
import { KEY, shardedTrees } from "./helpers/shard-tree";

/**
 * The data digest's stat cache (lib/load/digest.ts) is a shortcut: with it, the digest must be
 * the one the long way (every file read) gives, edit by edit, and a file must be read again
 * whenever its bytes may have changed — also when an edit restores its size and modification
 * time, swaps a link's target, or lands in the same clock tick as the recorded stat.
 */

const { tree } = shardedTrees("globenet-digest-cache-", 12);

/** The file system's clock ticks coarsely (a jiffy): let one pass between a recorded stat and an edit. */
function tick(): void {
  const until = Date.now() + 25;
  while (Date.now() < until) {
    // busy wait: the tests are synchronous
  }
}

function cached(root: string, racyMs = 0): { digest: string; read: number; cached: number } {
  return withFolders(root, racyMs).files;
}

/** The same run, with how many folders were read (readdir) and how many came from the cache. */
function withFolders(root: string, racyMs = 0) {
  const counts = { read: 0, cached: 0 };
  const folders = { listed: 0, kept: 0 };
  const digest = dataDigest(root, "bench", { key: KEY, racyMs, counts, folders });
  return { files: { digest, ...counts }, folders };
}

const member = (root: string, i: number) => join(root, "members", `member-${String(i).padStart(5, "0")}`, "member.yaml");

/** Each edit, applied to a tree whose cache is warm; `reread`: the files the cached run must read again. */
/** Root reads a file whatever its mode: there, "unreadable" changes the change time only. */
const ROOT = process.getuid?.() === 0;

/** Each edit, applied in turn; `same`: the data's digest does not move; `relisted`: the folders read again (the others' listings from the cache). */
const EDITS: Array<{ what: string; edit: (root: string) => void; reread: number; relisted?: number; same?: boolean }> = [
  { what: "nothing changed", edit: () => undefined, reread: 0, relisted: 0, same: true },
  {
    what: "a member file edited (another name)",
    edit: (r) => writeFileSync(member(r, 2), readFileSync(member(r, 2), "utf8").replace(/name: .*/, "name: Renamed")),
    reread: 1,
    relisted: 0,
  },
  {
    what: "an edit of the same size with the modification time put back (utimes)",
    edit: (r) => {
      const f = member(r, 3);
      const ref = join(r, "times");
      // touch -r copies the times to the nanosecond (Node's utimes takes a double of seconds).
      execFileSync("touch", ["-r", f, ref]);
      const st = statSync(f, { bigint: true });
      const text = readFileSync(f, "utf8");
      const swapped = text.replace(/name: (.)/, (_, c: string) => `name: ${c === "X" ? "Y" : "X"}`);
      expect(swapped.length).toBe(text.length);
      writeFileSync(f, swapped);
      execFileSync("touch", ["-r", ref, f]);
      const now = statSync(f, { bigint: true });
      expect([now.size, now.mtimeNs, now.ino]).toEqual([st.size, st.mtimeNs, st.ino]);
      expect(now.ctimeNs).not.toBe(st.ctimeNs);
    },
    reread: 1,
  },
  { what: "a file added", edit: (r) => writeFileSync(join(r, "members", "README.md"), "notes\n"), reread: 1, relisted: 1 },
  { what: "a file removed", edit: (r) => unlinkSync(join(r, "members", "README.md")), reread: 0, relisted: 1 },
  { what: "a file added in a member's folder", edit: (r) => writeFileSync(join(r, "members", "member-00006", "notes.txt"), "x\n"), reread: 1, relisted: 1 },
  {
    what: "a member folder renamed",
    edit: (r) => renameSync(join(r, "members", "member-00004"), join(r, "members", "member-00099")),
    reread: 1,
    // members/ and the folder under its new name (never seen there).
    relisted: 2,
  },
  {
    what: "a member folder replaced by a link to a copy elsewhere",
    edit: (r) => {
      cpSync(join(r, "members", "member-00007"), join(r, "elsewhere"), { recursive: true });
      rmSync(join(r, "members", "member-00007"), { recursive: true });
      symlinkSync(join(r, "elsewhere"), join(r, "members", "member-00007"));
    },
    // Same bytes under the same names: the same digest, but the copy is new to the cache.
    reread: 1,
    relisted: 2,
    same: true,
  },
  { what: "a file added in the linked folder", edit: (r) => writeFileSync(join(r, "elsewhere", "notes.md"), "y\n"), reread: 1, relisted: 1 },
  {
    what: "the link's folder replaced by a file (members/ itself untouched: where a link points is looked up at each run)",
    edit: (r) => {
      const before = statSync(join(r, "members"), { bigint: true }).mtimeNs;
      rmSync(join(r, "elsewhere"), { recursive: true });
      writeFileSync(join(r, "elsewhere"), "not a folder\n");
      expect(statSync(join(r, "members"), { bigint: true }).mtimeNs).toBe(before);
    },
    reread: 1,
    relisted: 0,
  },
  {
    what: "a zone file replaced by a link to another file of the same size",
    edit: (r) => {
      const zones = join(r, "zones");
      const spare = join(r, "spare.yaml");
      const f = join(zones, "member-00001.example.yaml");
      writeFileSync(spare, readFileSync(f, "utf8").replace(/owner: (.)/, (_, c: string) => `owner: ${c === "X" ? "Y" : "X"}`));
      unlinkSync(f);
      symlinkSync(spare, f);
    },
    reread: 1,
  },
  { what: "a file made unreadable", edit: (r) => chmodSync(member(r, 5), 0o000), reread: ROOT ? 1 : 0, same: ROOT },
  { what: "readable again", edit: (r) => chmodSync(member(r, 5), 0o644), reread: 1, same: ROOT },
  { what: "the inventory edited", edit: (r) => writeFileSync(join(r, "Pulumi.bench.yaml"), `${readFileSync(join(r, "Pulumi.bench.yaml"), "utf8")}\n`), reread: 1 },
];

describe("the digest with its stat cache is the digest of every file read", () => {
  const root = tree();
  const long = dataDigest(root, "bench");
  it("a cold cache reads every file and folder and gives the long way's digest; a warm one reads none", () => {
    const cold = withFolders(root);
    expect(cold.files.digest).toBe(long);
    expect(cold.files.cached).toBe(0);
    expect(cold.files.read).toBeGreaterThan(20);
    // members/, zones/, each member's folder and each vps/ folder.
    const folders = execFileSync("find", [join(root, "members"), join(root, "zones"), "-type", "d"], { encoding: "utf8" }).trim().split("\n").length;
    expect(folders).toBeGreaterThan(12 + 2);
    expect(cold.folders).toEqual({ listed: folders, kept: 0 });
    tick();
    const warm = withFolders(root);
    expect(warm).toEqual({ files: { digest: long, read: 0, cached: cold.files.read }, folders: { listed: 0, kept: folders } });
  });

  let previous = long;
  for (const e of EDITS) {
    it(`${e.what}: the long way's digest, ${e.reread} file(s) read again`, () => {
      tick();
      e.edit(root);
      tick();
      const run = withFolders(root);
      const c = run.files;
      const expected = dataDigest(root, "bench");
      expect(c.digest).toBe(expected);
      expect(c.read).toBe(e.reread);
      if (e.relisted !== undefined) expect(run.folders.listed).toBe(e.relisted);
      if (e.same) expect(c.digest).toBe(previous);
      else expect(c.digest).not.toBe(previous);
      previous = c.digest;
      tick();
      // And the cache it left is warm for the new tree.
      expect(withFolders(root)).toMatchObject({ files: { digest: expected, read: 0 }, folders: { listed: 0 } });
    });
  }
});

describe("what the cache does not trust", () => {
  it("a file changed within the racy window is read at every run until it is old enough", () => {
    const root = tree(4);
    const long = dataDigest(root, "bench");
    // The tree was written just now: with the default window, nothing is recorded yet.
    expect(dataDigest(root, "bench", { key: KEY })).toBe(long);
    const counts = { read: 0, cached: 0 };
    expect(dataDigest(root, "bench", { key: KEY, counts })).toBe(long);
    expect(counts.cached).toBe(0);
    // An edit in the same clock tick as the run that saw the file (no tick between): the same
    // size, and possibly the same times to the nanosecond; never recorded, so read again.
    const f = member(root, 1);
    const text = readFileSync(f, "utf8");
    for (let k = 0; k < 5; k++) {
      dataDigest(root, "bench", { key: KEY });
      writeFileSync(f, text.replace(/name: (.)/, `name: ${"VWXYZ"[k]}`));
      const c = { read: 0, cached: 0 };
      expect(dataDigest(root, "bench", { key: KEY, counts: c })).toBe(dataDigest(root, "bench"));
      expect(c.cached).toBe(0);
    }
  });

  it("a cache planted in the checkout, or signed with another key, is ignored; one signed with the key is believed (the key is the trust)", () => {
    const root = tree(4);
    const long = dataDigest(root, "bench");
    cached(root);
    tick();
    const entries = readDigestCache(root, "bench", KEY) as DigestEntries;
    const rel = "members/member-00001/member.yaml";
    expect(entries[rel]).toBeDefined();
    // The attacker knows each stat and wants another file's hash taken for this one.
    const lie: DigestEntries = { ...entries, [rel]: `${"0".repeat(64)}${(entries[rel] as string).slice(64)}` };
    writeDigestCache(root, "bench", lie, "not-the-passphrase");
    expect(readDigestCache(root, "bench", KEY)).toBeUndefined();
    expect(cached(root)).toMatchObject({ digest: long, cached: 0 });
    tick();
    // A MAC moved onto other contents does not verify either.
    const [header, mac, body] = readFileSync(digestCacheFile(root, "bench"), "utf8").split("\n") as [string, string, string];
    expect(JSON.parse(header)).toEqual({ v: 2, stack: "bench" });
    writeFileSync(digestCacheFile(root, "bench"), `${header}\n${mac}\n${JSON.stringify({ ...JSON.parse(body), entries: lie })}`);
    expect(cached(root)).toMatchObject({ digest: long, cached: 0 });
    // Signed with the key, a lie is taken: whoever holds the passphrase can also sign an index.
    writeDigestCache(root, "bench", lie, KEY);
    expect(cached(root).digest).not.toBe(long);
  });

  it("the shard index follows the cached digest: an edit brings the whole load back, then the part", () => {
    const root = tree(8);
    expect(loadShardModel(root, "bench", "one", {}, KEY).via).toBe("whole");
    expect(loadShardModel(root, "bench", "one", {}, KEY).via).toBe("part");
    mkdirSync(join(root, "members", "member-00002", "vps"), { recursive: true });
    expect(loadShardModel(root, "bench", "one", {}, KEY).via).toBe("whole");
    expect(loadShardModel(root, "bench", "one", {}, KEY).via).toBe("part");
  });
});
