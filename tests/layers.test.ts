import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, posix } from "node:path";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../lib/base/repo";
import { LAYERS, layerOf, layerProblems, type ImportEdge } from "../lib/base/layers";

/**
 * Unit tier (no root, no daemon, no engine): dependencies point down only. Every .ts file of
 * the repository outside tests/, node_modules and build output is parsed with TypeScript's own
 * import scanner (static imports, export … from, import(), require()); an import of a layer
 * above the file's own fails, naming the file, the line, the import and both layers.
 */

const SKIP = new Set(["node_modules", "tests", "dist", ".git", ".lab"]);

/** Repository-relative paths of the .ts files under `root` (tests and build output left out). */
function sourceFiles(root: string, rel = ""): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
    if (SKIP.has(e.name) || e.name.startsWith(".")) continue;
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...sourceFiles(root, p));
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out.sort();
}

/** The relative imports of each file, resolved to repository paths without extension. */
function importEdges(root: string, files: readonly string[]): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of files) {
    const src = readFileSync(join(root, file), "utf8");
    const info = ts.preProcessFile(src, true, true);
    for (const i of info.importedFiles) {
      if (!i.fileName.startsWith(".")) continue;
      const line = src.slice(0, i.pos).split("\n").length;
      const target = posix.normalize(posix.join(posix.dirname(file), i.fileName)).replace(/\.(js|ts)$/, "");
      edges.push({ file, line, specifier: i.fileName, target });
    }
  }
  return edges;
}

function check(root: string): string[] {
  const files = sourceFiles(root);
  return layerProblems(importEdges(root, files), files).map((p) => p.message);
}

describe("layers: dependencies point down only", () => {
  it("the repository has no upward import and no file outside a layer", () => {
    const files = sourceFiles(REPO_ROOT);
    // Guards the scan itself: a wrong root or skip list would find nothing and pass.
    expect(files).toContain("lib/engine/driver.ts");
    expect(files).toContain("index.ts");
    expect(files.some((f) => f.startsWith("tests/"))).toBe(false);
    const edges = importEdges(REPO_ROOT, files);
    expect(edges.length).toBeGreaterThan(300);
    expect(layerProblems(edges, files).map((p) => p.message)).toEqual([]);
  });

  it("every layer of LAYERS holds at least one file (no stale entry)", () => {
    const files = sourceFiles(REPO_ROOT);
    const used = new Set(files.map(layerOf));
    expect(LAYERS.map((l, i) => (used.has(i) ? "" : l.name)).filter(Boolean)).toEqual([]);
  });

  describe("on a planted violation", () => {
    const dir = mkdtempSync(join(tmpdir(), "globenet-layers-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const write = (rel: string, text: string) => {
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      writeFileSync(join(dir, rel), text);
    };

    it("fails naming the file, the line, the import and both layers", () => {
      write("lib/cli/args.ts", 'export const REPO_ROOT = "/";\n');
      write("lib/schema/member.ts", 'export const x = 1;\n');
      // Multi-line and type-only imports count as much as a plain one; a dynamic require too.
      write(
        "lib/engine/driver.ts",
        ['import { x } from "../schema/member";', "import {", "  REPO_ROOT,", '} from "../cli/args";', 'const late = require("../cli/args");', "export { x, REPO_ROOT, late };", ""].join("\n"),
      );
      write("lib/model/types.ts", 'import type { REPO_ROOT } from "../cli/args";\nexport type T = typeof REPO_ROOT;\n');
      // The cli layer is the top one: its index grows when a layer is added below it.
      const CLI = LAYERS.findIndex((l) => l.name === "cli");
      expect(check(dir)).toEqual([
        `lib/engine/driver.ts:4 imports "../cli/args": layer engine (9) must not import layer cli (${CLI}), which is above it (move the code it needs down, or pass it in as an argument)`,
        `lib/engine/driver.ts:5 imports "../cli/args": layer engine (9) must not import layer cli (${CLI}), which is above it (move the code it needs down, or pass it in as an argument)`,
        `lib/model/types.ts:1 imports "../cli/args": layer model (3) must not import layer cli (${CLI}), which is above it (move the code it needs down, or pass it in as an argument)`,
      ]);
    });

    it("fails on a file in a folder no layer holds", () => {
      write("lib/newthing/x.ts", 'import { x } from "../schema/member";\nexport const y = x;\n');
      expect(check(dir)).toContain("lib/newthing/x.ts belongs to no layer: add its folder to LAYERS in lib/base/layers.ts, at the layer it belongs to");
    });

    it("passes the same files once the import points down", () => {
      rmSync(join(dir, "lib/newthing"), { recursive: true });
      write("lib/base/repo.ts", 'export const REPO_ROOT = "/";\n');
      write("lib/engine/driver.ts", 'import { REPO_ROOT } from "../base/repo";\nexport { REPO_ROOT };\n');
      write("lib/model/types.ts", 'import type { REPO_ROOT } from "../base/repo";\nexport type T = typeof REPO_ROOT;\n');
      expect(check(dir)).toEqual([]);
    });
  });
});
