import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadModel } from "../lib/check/build";
import { loadShardModel, loadWholeIndexed, partialShard, readShardIndex, shardIndex, shardIndexFile, writeShardIndex } from "../lib/check/shard-index";
import { parse } from "yaml";
import { REPO_ROOT } from "../lib/cli/args";
import { cli } from "./helpers/cli";
import { dataDigest } from "../lib/load/digest";
import { backupPlan } from "../lib/model/backup";
import { shardBackups, shardSecretNames, shardView } from "../lib/model/shards";
import { shardSecretKeys } from "../lib/engine/shards";
import type { Model } from "../lib/model/types";
import { renderAll } from "../lib/render";
import { KEY, claimSiteTwice, committedRepo, setShards, shardedTrees } from "./helpers/shard-tree";

/**
 * A shard's program loads its own members only (lib/check/shard-index.ts): what it declares and
 * renders must be exactly what the whole load gives for that shard, and the index that lets it
 * skip the whole load must match the data and verify with the stack's passphrase.
 */

const { tree, temp } = shardedTrees("globenet-shard-index-", 40);

describe("a web shard's part of the data gives what the whole gives", () => {
  const root = tree();
  const whole = loadModel(root, "bench").model as Model;

  it("web-only shards are partial; the shard of the name servers, database host and hypervisor is not", () => {
    expect(["core", "one", "two"].map((s) => partialShard(whole, s))).toEqual([false, true, true]);
  });

  for (const shard of ["one", "two"]) {
    it(`shard ${shard}: same members, sites, databases, guests, files and backups, from its own member folders only`, () => {
      const index = shardIndex(whole, dataDigest(root, "bench"));
      const part = loadShardModel(root, "bench", shard, {}, undefined);
      expect(part.via).toBe("whole");
      writeShardIndex(root, index, KEY);
      const loaded = loadShardModel(root, "bench", shard, {}, KEY);
      expect(loaded.via).toBe("part");
      const m = loaded.model as Model;
      // Half the members (alternating web hosts), and no zone at all.
      expect(m.members.length).toBe(20);
      expect(m.zones).toEqual([]);
      const mine = shardView(m, shard);
      const theirs = shardView(whole, shard);
      expect(mine).toEqual(theirs);
      expect(mine.members.length).toBe(20);
      expect(mine.sites.length).toBeGreaterThan(0);
      expect(mine.databases.length).toBeGreaterThan(0);
      const hosts = new Set(mine.hosts.map((h) => h.name));
      const files = renderAll(m, { hosts });
      expect(files).toEqual(renderAll(whole).filter((f) => hosts.has(f.host)));
      expect(files.some((f) => f.daemon === "php-fpm")).toBe(true);
      expect(shardBackups(backupPlan(m), mine)).toEqual(shardBackups(backupPlan(whole), theirs));
    });
  }

  it("the shard holding the name servers loads the whole data, index or not", () => {
    writeShardIndex(root, shardIndex(whole, dataDigest(root, "bench")), KEY);
    const r = loadShardModel(root, "bench", "core", {}, KEY);
    expect(r.via).toBe("whole");
    expect(r.model?.members.length).toBe(whole.members.length);
  });
});

describe("the index is used only for the data it was made from, and only with the stack's passphrase", () => {
  it("first run: the whole, then the index; an edited member file: the whole again (and a new index)", () => {
    const root = tree();
    expect(loadShardModel(root, "bench", "one", {}, KEY).via).toBe("whole");
    expect(loadShardModel(root, "bench", "one", {}, KEY).via).toBe("part");
    const file = join(root, "members", "member-00002", "member.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace(/name: .*/, "name: Renamed"));
    expect(loadShardModel(root, "bench", "one", {}, KEY).via).toBe("whole");
    const again = loadShardModel(root, "bench", "one", {}, KEY);
    expect(again.via).toBe("part");
    expect(again.model?.members.find((m) => m.handle === "member-00002")?.name).toBe("Renamed");
    // A new file (a member folder) changes the digest too.
    writeFileSync(join(root, "members", "README.md"), "notes\n");
    expect(loadShardModel(root, "bench", "one", {}, KEY).via).toBe("whole");
  });

  it("an index planted in the checkout, or made with another passphrase, is refused: the whole is loaded and checked", () => {
    const root = tree();
    const whole = loadModel(root, "bench").model as Model;
    // A site name claimed twice across shards: only a check over the whole data sees it.
    const host = claimSiteTwice(root);
    const digest = dataDigest(root, "bench");
    const forged = shardIndex(whole, digest);
    // The attacker knows everything but the passphrase.
    writeShardIndex(root, forged, "not-the-passphrase");
    expect(readShardIndex(root, "bench", digest, KEY)).toBeUndefined();
    const r = loadShardModel(root, "bench", "two", {}, KEY);
    expect(r.via).toBe("whole");
    expect(r.model).toBeUndefined();
    expect(r.errors.map((e) => e.message).join("\n")).toContain(host);
    // A MAC copied from a valid index onto other contents does not verify either.
    writeShardIndex(root, { ...forged, digest: "0".repeat(64) }, KEY);
    // A signed file (lib/base/signed-file.ts): header, MAC, body; the forged header and body under the valid MAC.
    const mac = readFileSync(shardIndexFile(root, "bench"), "utf8").split("\n")[1] as string;
    expect(mac).toMatch(/^[0-9a-f]{64}$/);
    writeFileSync(shardIndexFile(root, "bench"), `${JSON.stringify({ v: 1, stack: "bench", digest })}\n${mac}\n${JSON.stringify(forged)}`);
    expect(readShardIndex(root, "bench", digest, KEY)).toBeUndefined();
    // With the right key, the index of valid data (bad data never gets one) is read.
    writeShardIndex(root, forged, KEY);
    expect(readShardIndex(root, "bench", digest, KEY)).toEqual(forged);
  });
});

describe("CI's parent job hands its index to the shard jobs (an artifact)", () => {
  it("npm run shards -- pipeline writes the index with the passphrase; another checkout of the same data loads its part with it, of other data the whole", async () => {
    const root = tree(12);
    const git = committedRepo(root);
    const out = join(root, "shards-pipeline.yml");
    // Without the passphrase (an MR job has none), no index.
    const plain = await cli(["shards", "pipeline", "--base", "HEAD", "--out", out, "--root", root, "--stack", "bench"], { PULUMI_CONFIG_PASSPHRASE: undefined });
    expect(plain.status).toBe(0);
    expect(readShardIndex(root, "bench", dataDigest(root, "bench"), KEY)).toBeUndefined();
    const r = await cli(["shards", "pipeline", "--base", "HEAD", "--out", out, "--root", root, "--stack", "bench"], { PULUMI_CONFIG_PASSPHRASE: KEY });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("the index of the validated data, for the shard jobs");
    // A child job: a fresh checkout of the same commit (other inodes and times), and the
    // artifacts exactly as .gitlab-ci.yml's shard-pipeline job lists them (the index, the load cache, the checked model).
    const child = temp();
    for (const f of ["Pulumi.bench.yaml", "members", "zones"]) cpSync(join(root, f), join(child, f), { recursive: true });
    const ci = parse(readFileSync(join(REPO_ROOT, ".gitlab-ci.yml"), "utf8")) as { "shard-pipeline": { artifacts: { paths: string[] } } };
    const handed = ci["shard-pipeline"].artifacts.paths.filter((p) => p.startsWith(".pulumi/")).map((p) => p.replace("$GLOBENET_STACK", "bench"));
    expect(handed).toEqual([".pulumi/globenet-shard-index/bench.json", ".pulumi/globenet-shard-index/bench.load-cache.json", ".pulumi/globenet-shard-index/bench.model.json"]);
    for (const p of handed) {
      mkdirSync(dirname(join(child, p)), { recursive: true });
      cpSync(join(root, p), join(child, p));
    }
    // First run in the child: with the handed load cache, a whole load parses no member, VPS or zone file.
    const counts = { parsed: 0, cached: 0 };
    expect(loadModel(child, "bench", {}, { cache: { key: KEY, counts } }).errors).toEqual([]);
    expect(counts).toEqual({ parsed: 0, cached: expect.any(Number) });
    expect(counts.cached).toBeGreaterThan(12);
    const whole = loadModel(root, "bench").model as Model;
    for (const s of ["one", "two"]) {
      const part = loadShardModel(child, "bench", s, {}, KEY);
      expect(part.via).toBe("part");
      expect(shardView(part.model as Model, s)).toEqual(shardView(whole, s));
    }
    // The shard holding the name servers declares from the whole model the parent checked (lib/check/checked-model.ts).
    const core = loadShardModel(child, "bench", "core", {}, KEY);
    expect(core.via).toBe("checked");
    expect(core.model).toEqual(whole);
    // A checkout of other data (the artifact of another commit): the whole, which checks it.
    const other = temp();
    for (const f of ["Pulumi.bench.yaml", "members", "zones"]) cpSync(join(root, f), join(other, f), { recursive: true });
    mkdirSync(dirname(shardIndexFile(other, "bench")), { recursive: true });
    cpSync(shardIndexFile(root, "bench"), shardIndexFile(other, "bench"));
    const host = claimSiteTwice(other);
    const bad = loadShardModel(other, "bench", "two", {}, KEY);
    expect(bad.via).toBe("whole");
    expect(bad.errors.map((e) => e.message).join("\n")).toContain(host);
  }, 60_000);
});

describe("mr-plans validates the merged tree and indexes it at once", () => {
  it("the touched web shards' previews then load their part, whichever runs first; an unsharded stack gets no index", () => {
    const root = tree(8);
    const r = loadWholeIndexed(root, "bench", KEY, {}, { changed: new Set(["members/member-00001/member.yaml"]) });
    expect(r.errors).toEqual([]);
    expect(r.indexed).toBe(true);
    expect(loadShardModel(root, "bench", "two", {}, KEY).via).toBe("part");
    expect(loadShardModel(root, "bench", "one", {}, KEY).via).toBe("part");
    // Invalid data: no model, no index.
    const bad = tree(8);
    const b = join(bad, "members", "member-00001", "member.yaml");
    writeFileSync(b, readFileSync(b, "utf8").replace(/- host: \S+/, `- host: ${/- host: (\S+)/.exec(readFileSync(join(bad, "members", "member-00000", "member.yaml"), "utf8"))?.[1]}`));
    const refused = loadWholeIndexed(bad, "bench", KEY, {}, { changed: new Set(["members/member-00001/member.yaml"]) });
    expect(refused.model).toBeUndefined();
    expect(refused.indexed).toBe(false);
    expect(refused.errors.some((e) => e.file === "members/member-00001/member.yaml")).toBe(true);
    // Without shards, nothing to index.
    const plain = tree(4);
    setShards(plain, {});
    writeFileSync(join(plain, "Pulumi.bench.yaml"), readFileSync(join(plain, "Pulumi.bench.yaml"), "utf8").replace("    shards:\n", ""));
    const p = loadWholeIndexed(plain, "bench", KEY);
    expect(p.errors).toEqual([]);
    expect(p.indexed).toBe(false);
  });
});

describe("a stack's secrets go to the shard that reads them", () => {
  it("the alert bridge's token to the shard holding the monitor host, to no other; written in clear, refused", () => {
    const root = tree(4);
    const file = join(root, "Pulumi.bench.yaml");
    let inv = readFileSync(file, "utf8");
    const ns2 = /      ns2:\n(?:        .*\n)+/.exec(inv)?.[0] as string;
    inv = inv.replace(ns2, ns2 + ns2.replace(/ns2/g, "mon1").replace("[dns-secondary]", "[monitor]").replace("192.0.2.14", "192.0.2.15"));
    inv = inv.replace("core: { hosts: [db1, ns1, ns2, hv1] }", "core: { hosts: [db1, ns1, ns2, hv1, mon1] }");
    writeFileSync(file, `${inv}  globenet-infra:alertBridgeToken:\n    secure: v1:AAAA:BBBB\n`.replace(/\nencryptionsalt.*\n/, "\n"));
    expect(loadModel(root, "bench").errors).toEqual([]);
    expect(shardSecretKeys(root, "bench", "core", "globenet-infra")).toEqual(["globenet-infra:alertBridgeToken"]);
    expect(shardSecretKeys(root, "bench", "one", "globenet-infra")).toEqual([]);
    const m = loadModel(root, "bench").model as Model;
    expect(shardSecretNames(m.inventory, "core")).toEqual(["alertBridgeToken"]);
    expect(shardSecretNames(m.inventory, "two")).toEqual([]);
    writeFileSync(file, readFileSync(file, "utf8").replace(/alertBridgeToken:\n    secure: v1:AAAA:BBBB\n/, "alertBridgeToken: glpat-in-clear\n"));
    const errors = loadModel(root, "bench").errors;
    expect(errors.map((e) => `${e.file}:${e.line} ${e.field}: ${e.message}`).join("\n")).toMatch(/^Pulumi\.bench\.yaml:\d+ config\.globenet-infra:alertBridgeToken: is a secret and is written in clear/);
    writeFileSync(file, readFileSync(file, "utf8").replace("alertBridgeToken: glpat-in-clear", "alertBridgeTokn: x"));
    expect(loadModel(root, "bench").errors.map((e) => e.message).join("\n")).toContain("unknown key (check the spelling; the stack's secrets: alertBridgeToken, portalToken)");
  });
});
