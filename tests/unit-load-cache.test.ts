import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadModel } from "../lib/check/build";
import { LOAD_CACHE_SHARE, loadCachePays, loadShardModel } from "../lib/check/shard-index";
import { checkedModelFile } from "../lib/check/checked-model";
import { bytesSha, loadCacheFile, readLoadCache, schemaFingerprint, writeLoadCache, type LoadCacheEntries } from "../lib/load/load-cache";
import { loadTree } from "../lib/load/tree";
import { shardView } from "../lib/model/shards";
import type { Model } from "../lib/model/types";
import { renderAll, SERIAL_TOKEN } from "../lib/render";
import { KEY, shardedTrees } from "./helpers/shard-tree";

/**
 * The load cache (lib/load/load-cache.ts) is a shortcut: with it, a load must give the model,
 * the rendered files and the diagnostics (file, line, column, field, message) the long way
 * gives, edit by edit; a file is parsed again whenever its bytes or the schemas changed; an
 * error is never recorded; and a cache not signed with the stack's passphrase is not read.
 */

const MEMBERS = 12;
const { tree } = shardedTrees("globenet-load-cache-", MEMBERS);

function cached(root: string, key = KEY, fingerprint?: string) {
  const counts = { parsed: 0, cached: 0 };
  const r = loadModel(root, "bench", {}, { cache: { key, counts, ...(fingerprint ? { fingerprint } : {}) } });
  return { ...r, counts };
}

function files(model: Model | undefined): Record<string, string> {
  return Object.fromEntries(renderAll(model as Model, { serial: () => SERIAL_TOKEN }).map((f) => [`${f.host}:${f.path}`, f.content]));
}

const member = (root: string, i: number) => join(root, "members", `member-${String(i).padStart(5, "0")}`, "member.yaml");

describe("the load cache gives what the long way gives", () => {
  const root = tree();
  const long = loadModel(root, "bench");
  const dataFiles = Object.keys(readLoadCache(root, "bench", KEY, schemaFingerprint() as string) ?? {}).length;

  it("no cache file yet (a miss): every member, VPS and zone file is parsed, the model is the long way's, and the cache is written", () => {
    expect(dataFiles).toBe(0);
    const r = cached(root);
    expect(r.errors).toEqual([]);
    expect(r.counts.cached).toBe(0);
    expect(r.counts.parsed).toBeGreaterThan(2 * MEMBERS);
    expect(r.model).toEqual(long.model);
    expect(Object.keys(readLoadCache(root, "bench", KEY, schemaFingerprint() as string) ?? {}).length).toBe(r.counts.parsed);
  });

  it("a second run (a hit): nothing parsed, the same model and the same rendered files", () => {
    const r = cached(root);
    expect(r.counts.parsed).toBe(0);
    expect(r.model).toStrictEqual(long.model);
    expect(files(r.model)).toEqual(files(long.model));
  });

  it("a member edited: that file alone is parsed again, and the model has the edit", () => {
    const all = cached(root).counts.cached;
    writeFileSync(member(root, 3), readFileSync(member(root, 3), "utf8").replace("name: Association numéro 3", "name: Association numéro trois"));
    const r = cached(root);
    expect(r.counts).toEqual({ parsed: 1, cached: all - 1 });
    expect(r.model?.members.find((m) => m.handle === "member-00003")?.name).toBe("Association numéro trois");
    expect(r.model).toEqual(loadModel(root, "bench").model);
    expect(cached(root).counts).toEqual({ parsed: 0, cached: all });
  });

  it("the schemas changed (another fingerprint): every file parsed again; back to the first: that cache is gone too", () => {
    const all = cached(root).counts.cached;
    expect(cached(root, KEY, "schemas-v2").counts).toEqual({ parsed: all, cached: 0 });
    expect(cached(root, KEY, "schemas-v2").counts).toEqual({ parsed: 0, cached: all });
    expect(cached(root).counts).toEqual({ parsed: all, cached: 0 });
  });

  it("the fingerprint covers the schemas' source and is stable within a run", () => {
    expect(schemaFingerprint()).toMatch(/^[0-9a-f]{64}$/);
    expect(schemaFingerprint()).toBe(schemaFingerprint());
  });
});

describe("errors are found again at every run, with their file, line and field", () => {
  it("a file with a bad SSH key is reported the same each run and never recorded", () => {
    const root = tree();
    writeFileSync(member(root, 2), readFileSync(member(root, 2), "utf8").replace(/ssh_keys: \["ssh-ed25519 AAAA/, 'ssh_keys: ["ssh-ed25519 BAAA'));
    const first = cached(root);
    const second = cached(root);
    expect(first.errors.length).toBeGreaterThan(0);
    expect(first.errors[0]).toMatchObject({ file: "members/member-00002/member.yaml", line: 5, field: "ssh_keys[0]" });
    expect(second.errors).toEqual(first.errors);
    expect(second.errors).toEqual(loadModel(root, "bench").errors);
    expect(second.counts.parsed).toBe(1);
    const entries = readLoadCache(root, "bench", KEY, schemaFingerprint() as string) ?? {};
    expect(entries["members/member-00002/member.yaml"]).toBeUndefined();
    expect(entries["members/member-00003/member.yaml"]).toBeDefined();
  });

  it("a check across files pointing into cached files gives the long way's lines (the text is parsed again for them)", () => {
    const root = tree();
    expect(cached(root).errors).toEqual([]);
    // Member 5 claims member 3's site: member 5's file is parsed, member 3's comes from the cache.
    writeFileSync(member(root, 5), readFileSync(member(root, 5), "utf8").replace("host: member-00005.example", "host: member-00003.example"));
    const r = cached(root);
    expect(r.counts.parsed).toBe(1);
    const long = loadModel(root, "bench").errors;
    expect(long.length).toBeGreaterThan(0);
    expect(r.errors).toEqual(long);
    // The member whose file came from the cache is named with its line too, when a message points at it.
    const lines = r.errors.map((e) => `${e.file}:${e.line}:${e.field}`);
    expect(lines.some((l) => /member-0000[35]\/member\.yaml:[1-9]\d*:sites/.test(l))).toBe(true);
  });
});

describe("a cache not signed with the stack's passphrase is not read", () => {
  function plant(root: string, key: string): void {
    // The attack: the bad file's bytes mapped to a valid member's value, in a cache written by someone without the passphrase.
    const bad = member(root, 4);
    const good = loadTree(root, "bench").tree.members.get("member-00004")?.value;
    writeFileSync(bad, readFileSync(bad, "utf8").replace("status: active", "status: sleeping"));
    const entries: LoadCacheEntries = { "members/member-00004/member.yaml": [bytesSha(readFileSync(bad)), good] };
    writeLoadCache(root, "bench", entries, key, schemaFingerprint() as string);
  }

  it("planted with another key: refused, every file parsed, the bad status reported", () => {
    const root = tree();
    plant(root, "not-the-passphrase");
    const r = cached(root);
    expect(r.counts.cached).toBe(0);
    expect(r.errors.map((e) => `${e.file}:${e.line}:${e.field}`)).toEqual(["members/member-00004/member.yaml:4:status"]);
  });

  it("the same cache signed with the passphrase would be read (what the MAC guards): the bad file passes", () => {
    const root = tree();
    plant(root, KEY);
    const r = cached(root);
    expect(r.counts.cached).toBe(1);
    expect(r.errors).toEqual([]);
  });

  it("a valid cache whose body is edited after signing: refused", () => {
    const root = tree();
    expect(cached(root).errors).toEqual([]);
    const file = loadCacheFile(root, "bench");
    const text = readFileSync(file, "utf8");
    expect(text).toContain('"status":"active"');
    writeFileSync(member(root, 4), readFileSync(member(root, 4), "utf8").replace("status: active", "status: sleeping"));
    // Point member 4's new bytes at its old (valid) value, MAC left as it was.
    const sha = bytesSha(readFileSync(member(root, 4)));
    // A signed file (lib/base/signed-file.ts): its header, its MAC, then the entries.
    const old = (JSON.parse(text.slice(text.indexOf("\n", text.indexOf("\n") + 1) + 1)) as LoadCacheEntries)["members/member-00004/member.yaml"]?.[0] as string;
    writeFileSync(file, text.replace(old, sha));
    expect(readLoadCache(root, "bench", KEY, schemaFingerprint() as string)).toBeUndefined();
    const r = cached(root);
    expect(r.counts.cached).toBe(0);
    expect(r.errors.map((e) => `${e.file}:${e.line}:${e.field}`)).toEqual(["members/member-00004/member.yaml:4:status"]);
  });

  it("another stack's cache is not this stack's", () => {
    const root = tree();
    writeLoadCache(root, "bench", {}, KEY, schemaFingerprint() as string);
    expect(readLoadCache(root, "bench", KEY, schemaFingerprint() as string)).toEqual({});
    writeFileSync(loadCacheFile(root, "other"), readFileSync(loadCacheFile(root, "bench")));
    expect(readLoadCache(root, "other", KEY, schemaFingerprint() as string)).toBeUndefined();
  });
});

describe("the core shard's program loads the whole through the cache", () => {
  it("its second run parses nothing, and its model is the long way's", () => {
    const root = tree();
    const long = loadModel(root, "bench").model;
    expect(loadShardModel(root, "bench", "core", {}, KEY).via).toBe("whole");
    const before = readFileSync(loadCacheFile(root, "bench"), "utf8");
    // The cache's way: without the model the first run kept (tests/unit-checked-model.test.ts reads that one).
    rmSync(checkedModelFile(root, "bench"));
    const again = loadShardModel(root, "bench", "core", {}, KEY);
    expect(again.via).toBe("whole");
    expect(again.model).toEqual(long);
    // Nothing new to record: the cache file is not rewritten.
    expect(readFileSync(loadCacheFile(root, "bench"), "utf8")).toBe(before);
  });

  it("a web shard's part, through the index and the cache the core's run wrote, declares what the whole gives for it; an edit in the part is recorded, the others kept", () => {
    const root = tree();
    const long = loadModel(root, "bench").model as Model;
    expect(loadShardModel(root, "bench", "core", {}, KEY).via).toBe("whole");
    const all = Object.keys(readLoadCache(root, "bench", KEY, schemaFingerprint() as string) ?? {}).length;
    const part = loadShardModel(root, "bench", "one", {}, KEY);
    expect(part.via).toBe("part");
    expect(shardView(part.model as Model, "one")).toEqual(shardView(long, "one"));
    // member-00000 is web1's (shard one): edited, the index no longer matches: the whole again, then the part.
    writeFileSync(member(root, 0), readFileSync(member(root, 0), "utf8").replace("name: Association numéro 0", "name: Association zéro"));
    expect(loadShardModel(root, "bench", "one", {}, KEY).via).toBe("whole");
    const again = loadShardModel(root, "bench", "one", {}, KEY);
    expect(again.via).toBe("part");
    expect(again.model?.members.find((m) => m.handle === "member-00000")?.name).toBe("Association zéro");
    const entries = readLoadCache(root, "bench", KEY, schemaFingerprint() as string) ?? {};
    expect(Object.keys(entries).length).toBe(all);
    expect(entries["members/member-00000/member.yaml"]?.[0]).toBe(bytesSha(readFileSync(member(root, 0))));
  });
});

describe("a shard's part reads the load cache only when it pays", () => {
  // 400 members listed by the index, some in two shards' lists (counted once).
  const handles = Array.from({ length: 400 }, (_, i) => `member-${i}`);
  const index = { members: { a: handles.slice(0, 250), b: handles.slice(200), empty: [] } };
  it.each([
    [0, false, "a web host's own shard whose members are split by hash: nothing to take from the cache"],
    [1, false, "one member: parsing it costs less than reading every member's values"],
    [400 / LOAD_CACHE_SHARE - 1, false, "just under a twentieth"],
    [400 / LOAD_CACHE_SHARE, true, "a twentieth"],
    [250, true, "a bucket"],
  ])("%i members of 400: %s (%s)", (size, pays) => {
    expect(loadCachePays(size, index)).toBe(pays);
  });
});
