import * as pulumi from "@pulumi/pulumi";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setFiles } from "../provider/resources/file-store";
import { memberBucket } from "../lib/model/shards";
import { writeShardedTree } from "./helpers/shard-tree";
import { COMPONENT_TOKENS, RESOURCE_TOKENS } from "../lib/base/tokens";

/**
 * The resource graph of a bucket's shard (docs/architecture.md, "Members split by hash"), under
 * mocks: its members' accounts, and its part of web1's Apache and PHP-FPM sets after them; and
 * what web1's own shard keeps (prepareProgram, without mocks): no member's file.
 */
interface Seen {
  type: string;
  name: string;
  parentName?: string;
  inputs: Record<string, unknown>;
  dependsOn: string[];
}

const seen: Seen[] = [];
const outputs = new Map<string, Record<string, unknown>>();
const root = mkdtempSync(join(tmpdir(), "globenet-graph-parts-"));
const SPLIT = { core: ["db1", "ns1", "ns2", "hv1"], one: ["web1"], two: ["web2"], "one-a": { members_of: "web1", bucket: 0, buckets: 2 }, "one-b": { members_of: "web1", bucket: 1, buckets: 2 } };

describe("a bucket's shard declares its part of its host's sets, after its accounts (stack bench.one-b, under mocks)", () => {
  let prepare: typeof import("../index.js").prepareProgram;

  beforeAll(async () => {
    writeShardedTree(root, 20, SPLIT);
    pulumi.runtime.setMocks(
      {
        newResource(args: pulumi.runtime.MockResourceArgs) {
          outputs.set(`${args.type}::${args.name}`, { ...args.inputs });
          return { id: `${args.name}-id`, state: { ...args.inputs } };
        },
        call: (args: pulumi.runtime.MockCallArgs) => args.inputs,
      },
      "globenet-infra",
      "bench.one-b",
    );
    const index = await import("../index.js");
    prepare = index.prepareProgram;
    await pulumi.runtime.runInPulumiStack(async () => {
      pulumi.runtime.registerStackTransformation((args) => {
        seen.push({
          type: args.type,
          name: args.name,
          parentName: (args.opts.parent as { __name?: string } | undefined)?.__name,
          inputs: args.props as Record<string, unknown>,
          dependsOn: ([] as unknown[]).concat(args.opts.dependsOn ?? []).map((r) => (r as { __name?: string }).__name ?? "?"),
        });
        return undefined;
      });
      return index.program(root);
    });
    for (let i = 0; i < 100 && !outputs.has("globenet:files:FileSet::web1-b1-apache2"); i++) await new Promise((r) => setTimeout(r, 20));
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  // web1's members are the even ones (the synthetic tree: two web hosts); bucket 1's by the hash.
  const mine = Array.from({ length: 10 }, (_, i) => `member-${String(2 * i).padStart(5, "0")}`).filter((h) => memberBucket(h, 2) === 1);

  it("one WebPart, web1-b1, with an Apache set and a pool set of part b1 under it, the pools first", () => {
    const part = seen.find((s) => s.type === COMPONENT_TOKENS.webPart);
    expect(part?.name).toBe("web1-b1");
    const sets = seen.filter((s) => s.type === RESOURCE_TOKENS.fileSet);
    expect(sets.map((s) => [s.name, s.inputs.kind, s.inputs.part, s.parentName])).toEqual([
      ["web1-b1-php8.2", "php-fpm", "b1", "web1-b1"],
      ["web1-b1-apache2", "apache2", "b1", "web1-b1"],
    ]);
    expect(sets[1]?.dependsOn).toEqual(["web1-b1-php8.2"]);
    expect(seen.some((s) => s.type === COMPONENT_TOKENS.webServer)).toBe(false);
  });

  it("the part waits for the bucket's accounts on web1, and holds their vhosts and pools only", () => {
    expect(mine.length).toBeGreaterThan(0);
    const accounts = seen.filter((s) => s.type === RESOURCE_TOKENS.account).map((s) => s.name).sort();
    expect(accounts).toEqual(mine.sort());
    expect(seen.find((s) => s.type === COMPONENT_TOKENS.webPart)?.dependsOn.sort()).toEqual(mine.sort());
    const sites = Object.keys(setFiles(outputs.get("globenet:files:FileSet::web1-b1-apache2")) as Record<string, string>);
    expect(sites).toEqual(mine.map((h) => `sites-available/${h}.example.conf`).sort());
    const pools = Object.keys(setFiles(outputs.get("globenet:files:FileSet::web1-b1-php8.2")) as Record<string, string>);
    expect(pools).toEqual(mine.map((h) => `pool.d/globenet-${h}.conf`).sort());
  });

  it("web1's own shard (prepared without mocks) keeps its shared files and the notice page, and no member's vhost or pool", () => {
    const p = prepare(root, "bench.one");
    expect(p.parts).toEqual([]);
    expect(p.model.members).toEqual([]);
    const paths = p.files.filter((f) => f.host === "web1").map((f) => `${f.daemon} ${f.path}`);
    expect(paths.some((x) => x.includes("sites-available/") || x.startsWith("php-fpm"))).toBe(false);
    expect(paths).toContain("www www/globenet-suspended/index.html");
    expect(paths).toContain("apache2 apache2/conf-available/globenet.conf");
  });
});
