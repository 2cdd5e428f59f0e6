import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fingerprintOf, PROGRAM_SOURCES, programFingerprint } from "../lib/base/program-fingerprint";
import { loadModel } from "../lib/check/build";
import { loadShardModel, readShardIndex, shardIndex, writeShardIndex } from "../lib/check/shard-index";
import { writeCheckedModel } from "../lib/check/checked-model";
import { dataDigest } from "../lib/load/digest";
import type { Model } from "../lib/model/types";
import { renderAll, type RenderedFile } from "../lib/render";
import { renderCached, renderedCacheFile } from "../lib/render/rendered-cache";
import { prepareProgram } from "../index";
import { KEY, shardedTrees } from "./helpers/shard-tree";

/**
 * A shard's rendered files kept from one run to the next (lib/render/rendered-cache.ts), and the
 * program's fingerprint that every cache keyed by the data's digest depends on
 * (lib/base/program-fingerprint.ts): a cache is read only for the data, the code, the stack, the
 * facts and the passphrase it was made with.
 */

const { tree } = shardedTrees("globenet-rendered-cache-", 12);

describe("the program's fingerprint", () => {
  function sources(): string {
    const root = mkdtempSync(join(tmpdir(), "globenet-fingerprint-"));
    mkdirSync(join(root, "lib", "render", "templates"), { recursive: true });
    mkdirSync(join(root, "components"));
    mkdirSync(join(root, "provider", "resources"), { recursive: true });
    mkdirSync(join(root, "docs"));
    writeFileSync(join(root, "index.ts"), "export {};\n");
    writeFileSync(join(root, "lib", "render", "zone.ts"), "export const a = 1;\n");
    writeFileSync(join(root, "lib", "render", "templates", "zone.hbs"), "{{name}}\n");
    writeFileSync(join(root, "components", "x.ts"), "export {};\n");
    writeFileSync(join(root, "provider", "resources", "y.ts"), "export {};\n");
    writeFileSync(join(root, "package-lock.json"), '{"packages":{"node_modules/yaml":{"version":"2.8.0"}}}\n');
    writeFileSync(join(root, "docs", "guide.md"), "# guide\n");
    return root;
  }

  it.each<[string, (root: string) => void, boolean]>([
    ["a template edited", (r) => writeFileSync(join(r, "lib", "render", "templates", "zone.hbs"), "{{name}} \n"), true],
    ["a check's source edited", (r) => writeFileSync(join(r, "lib", "render", "zone.ts"), "export const a = 2;\n"), true],
    ["a source added", (r) => writeFileSync(join(r, "lib", "render", "new.ts"), "export {};\n"), true],
    ["a source renamed", (r) => (writeFileSync(join(r, "lib", "render", "zone2.ts"), "export const a = 1;\n"), rmSync(join(r, "lib", "render", "zone.ts"))), true],
    ["a component edited", (r) => writeFileSync(join(r, "components", "x.ts"), "export const b = 1;\n"), true],
    ["the provider's resources edited", (r) => writeFileSync(join(r, "provider", "resources", "y.ts"), "export const c = 1;\n"), true],
    ["a library upgraded", (r) => writeFileSync(join(r, "package-lock.json"), '{"packages":{"node_modules/yaml":{"version":"2.8.1"}}}\n'), true],
    ["the program's entry edited", (r) => writeFileSync(join(r, "index.ts"), "export const d = 1;\n"), true],
    ["the docs edited", (r) => writeFileSync(join(r, "docs", "guide.md"), "# guide, again\n"), false],
    ["nothing", () => undefined, false],
  ])("%s: changed %s", (_what, edit, changes) => {
    const root = sources();
    const before = fingerprintOf(root);
    expect(before).toMatch(/^[0-9a-f]{64}$/);
    edit(root);
    expect(fingerprintOf(root) !== before).toBe(changes);
    rmSync(root, { recursive: true, force: true });
  });

  it("this checkout's covers its sources, and is the same at each call; unreadable sources give a value of this process only", () => {
    expect(PROGRAM_SOURCES).toContain("lib");
    expect(programFingerprint()).toBe(programFingerprint());
    const missing = join(tmpdir(), "globenet-no-such-checkout");
    const a = fingerprintOf(missing);
    expect(a).toMatch(/^unreadable-/);
    expect(fingerprintOf(missing)).not.toBe(a);
  });

  it("the data's digest starts with it: an index and a checked model made by other code are not read", () => {
    const root = tree();
    const whole = loadModel(root, "bench").model as Model;
    const theirs = dataDigest(root, "bench", undefined, "0".repeat(64));
    const ours = dataDigest(root, "bench");
    expect(theirs).not.toBe(ours);
    // Written by a run of the code before a `git pull`, with the same data and passphrase.
    writeShardIndex(root, shardIndex(whole, theirs), KEY);
    writeCheckedModel(root, whole, theirs, {}, KEY);
    expect(readShardIndex(root, "bench", ours, KEY)).toBeUndefined();
    expect(loadShardModel(root, "bench", "one", {}, KEY).via).toBe("whole");
    // That whole load wrote them for this code: now they are read.
    expect(loadShardModel(root, "bench", "one", {}, KEY).via).toBe("part");
    expect(loadShardModel(root, "bench", "core", {}, KEY).via).toBe("checked");
  });
});

describe("a shard's rendered files, kept", () => {
  const guardOf = (root: string, over: Partial<{ engineStack: string; digest: string; key: string }> = {}) => ({
    root,
    engineStack: "bench.core",
    digest: dataDigest(root, "bench"),
    key: KEY,
    facts: {},
    ...over,
  });

  it("a second run reads what the first rendered, file for file (parts and modes kept); the program's preparation gives the same files either way", () => {
    const root = tree();
    const whole = loadModel(root, "bench").model as Model;
    let renders = 0;
    const render = (): RenderedFile[] => (renders++, renderAll(whole));
    const first = renderCached(whole, guardOf(root), render);
    expect(first.via).toBe("rendered");
    const second = renderCached(whole, guardOf(root), render);
    expect(second.via).toBe("kept");
    expect(renders).toBe(1);
    // JSON drops a property whose value is undefined (part, mode): equal as the components read them.
    expect(second.files).toEqual(first.files);
    expect(second.files.some((f) => f.mode !== undefined)).toBe(first.files.some((f) => f.mode !== undefined));
    // The program's preparation of a shard, first rendering, then reading back: the same files.
    for (const shard of ["core", "one", "two"]) {
      rmSync(renderedCacheFile(root, `bench.${shard}`), { force: true });
      const a = prepareProgram(root, `bench.${shard}`, {}, KEY).files;
      expect(readFileSync(renderedCacheFile(root, `bench.${shard}`), "utf8").length).toBeGreaterThan(0);
      const b = prepareProgram(root, `bench.${shard}`, {}, KEY).files;
      expect(b).toEqual(a);
      expect(a.length).toBeGreaterThan(0);
    }
  });

  it.each<[string, (root: string) => Parameters<typeof renderCached>[1]]>([
    ["other data (another digest)", (r) => guardOf(r, { digest: "f".repeat(64) })],
    ["another shard's stack", (r) => guardOf(r, { engineStack: "bench.one" })],
    ["another passphrase", (r) => guardOf(r, { key: "not-the-passphrase" })],
  ])("kept for one guard, not read for %s", (_what, other) => {
    const root = tree();
    const whole = loadModel(root, "bench").model as Model;
    renderCached(whole, guardOf(root), () => renderAll(whole));
    const g = other(root) as NonNullable<Parameters<typeof renderCached>[1]>;
    // Another stack's file renamed into this one's place: its header names its stack, under the MAC.
    if (g.engineStack !== "bench.core") writeFileSync(renderedCacheFile(root, g.engineStack), readFileSync(renderedCacheFile(root, "bench.core")));
    expect(renderCached(whole, g, () => []).via).toBe("rendered");
  });

  it("a file altered under its MAC, truncated, or planted by someone without the passphrase is not read; nothing kept without a passphrase", () => {
    const root = tree();
    const whole = loadModel(root, "bench").model as Model;
    const file = renderedCacheFile(root, "bench.core");
    const planted = [{ host: "ns1", daemon: "bind", path: "zones/db.example.org", content: "example.org. IN NS evil.example.\n" }] satisfies RenderedFile[];
    renderCached(whole, guardOf(root), () => renderAll(whole));
    const text = readFileSync(file, "utf8");
    writeFileSync(file, text.replace(/"content":"/, '"content":"; altered\\n'));
    expect(renderCached(whole, guardOf(root), () => []).via).toBe("rendered");
    writeFileSync(file, text.slice(0, 200));
    expect(renderCached(whole, guardOf(root), () => []).via).toBe("rendered");
    // The attacker knows everything but the passphrase.
    renderCached(whole, guardOf(root, { key: "not-the-passphrase" }), () => planted);
    const g = guardOf(root);
    const r = renderCached(whole, g, () => renderAll(whole));
    expect(r.via).toBe("rendered");
    expect(JSON.stringify(r.files)).not.toContain("evil.example");
    rmSync(file);
    expect(renderCached(whole, undefined, () => renderAll(whole)).via).toBe("rendered");
    expect(() => readFileSync(file)).toThrow();
  });

  it("a checkout where it cannot be written (a file in its folder's place): rendered each time, no error", () => {
    const root = tree();
    const whole = loadModel(root, "bench").model as Model;
    const dir = join(root, ".pulumi", "globenet-shard-index");
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(root, ".pulumi"), { recursive: true });
    writeFileSync(dir, "not a folder");
    let renders = 0;
    const render = () => (renders++, renderAll(whole));
    expect(renderCached(whole, guardOf(root), render).via).toBe("rendered");
    expect(renderCached(whole, guardOf(root), render).via).toBe("rendered");
    expect(renders).toBe(2);
  });
});
