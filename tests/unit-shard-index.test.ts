import { readFileSync, rmSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadModel } from "../lib/check/build";
import { loadShardModel, partialShard, readShardIndex, shardIndex, shardIndexFile, writeShardIndex } from "../lib/check/shard-index";
import { dataDigest } from "../lib/load/digest";
import { backupPlan } from "../lib/model/backup";
import { shardBackups, shardSecretNames, shardView } from "../lib/model/shards";
import { shardSecretKeys } from "../lib/engine/shards";
import type { Model } from "../lib/model/types";
import { renderAll } from "../lib/render";
import { writeShardedTree } from "./helpers/shard-tree";

/**
 * A shard's program loads its own members only (lib/check/shard-index.ts): what it declares and
 * renders must be exactly what the whole load gives for that shard, and the index that lets it
 * skip the whole load must match the data and verify with the stack's passphrase.
 */

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const KEY = "the-stack-passphrase";
const SHARDS = { core: ["db1", "ns1", "ns2", "hv1"], one: ["web1"], two: ["web2"] };

function tree(members = 40): string {
  const d = mkdtempSync(join(tmpdir(), "globenet-shard-index-"));
  dirs.push(d);
  writeShardedTree(d, members, SHARDS);
  return d;
}

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
    const a = join(root, "members", "member-00000", "member.yaml");
    const b = join(root, "members", "member-00001", "member.yaml");
    const host = /- host: (\S+)/.exec(readFileSync(a, "utf8"))?.[1] as string;
    writeFileSync(b, readFileSync(b, "utf8").replace(/- host: \S+/, `- host: ${host}`));
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
    const doc = JSON.parse(readFileSync(shardIndexFile(root, "bench"), "utf8")) as { mac: string };
    writeFileSync(shardIndexFile(root, "bench"), JSON.stringify({ index: forged, mac: doc.mac }));
    expect(readShardIndex(root, "bench", digest, KEY)).toBeUndefined();
    // With the right key, the index of valid data (bad data never gets one) is read.
    writeShardIndex(root, forged, KEY);
    expect(readShardIndex(root, "bench", digest, KEY)).toEqual(forged);
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
