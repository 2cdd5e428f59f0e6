import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { loadModel } from "../lib/check/build";
import { loadShardModel, partialShard, shardIndex, writeShardIndex } from "../lib/check/shard-index";
import { applyOrder, childPipeline } from "../lib/ci/shard-pipeline";
import { touchedShards } from "../lib/ci/touched-shards";
import { freshSshPublicKey } from "../lib/bench/synthetic";
import type { ShardRule } from "../lib/bench/sharded-tree";
import { formatDiagnostic } from "../lib/load/diagnostic";
import { dataDigest } from "../lib/load/digest";
import { backupPlan } from "../lib/model/backup";
import { memberBucket, ownsFile, shardBackups, shardOfObjects, shardParts, shardPrerequisites, shardSecretNames, shardView } from "../lib/model/shards";
import type { Model } from "../lib/model/types";
import { renderAll } from "../lib/render";
import { KEY, committedRepo, setShards, shardedTrees, touchedBy, validModel } from "./helpers/shard-tree";
import { writeShardedTree } from "./helpers/shard-tree";
import { runCli } from "./helpers/data-tree";
import { missingUsersHint, partsHint } from "../provider/resources/file-set";

/**
 * A web host's members split by a hash of their handle (docs/architecture.md, "Members split by
 * hash"): `one-a` and `one-b` hold web1's members' accounts, crontabs and databases, and each
 * its part of web1's vhosts and pools; `one` keeps web1's own sets (the shared Apache settings,
 * the notice page, the backup client), which wire the parts in.
 */

const { temp } = shardedTrees("globenet-shard-buckets-", 40);

const bucket = (b: number, buckets = 2, of = "web1"): ShardRule => ({ members_of: of, bucket: b, buckets });
const SPLIT: Record<string, ShardRule> = { core: ["db1", "ns1", "ns2", "hv1"], one: ["web1"], two: ["web2"], "one-a": bucket(0), "one-b": bucket(1) };

function tree(shards: Record<string, ShardRule> = SPLIT, members = 40): string {
  const d = temp();
  writeShardedTree(d, members, shards);
  return d;
}

const model = validModel;

describe("a web host's members split by hash", () => {
  const root = tree();
  const m = model(root);
  const a = shardOfObjects(m)!;
  const web1 = m.members.filter((x) => x.webHost === "web1");

  it("each web1 member's own objects are in the shard of its bucket; web1's sets stay in its hosts: shard; web2's members are untouched", () => {
    expect(web1.length).toBe(20);
    for (const x of web1) expect(a.members.get(x.handle)).toBe(memberBucket(x.handle, 2) === 0 ? "one-a" : "one-b");
    for (const x of m.members.filter((y) => y.webHost === "web2")) expect(a.members.get(x.handle)).toBe("two");
    expect(a.hosts.get("web1")).toBe("one");
    const [va, vb, vone] = (["one-a", "one-b", "one"] as const).map((s) => shardView(m, s));
    // Both buckets hold members (20 members in 2 buckets: all in one has odds of 2 in a million).
    expect(va!.members.length).toBeGreaterThan(0);
    expect(vb!.members.length).toBeGreaterThan(0);
    expect(va!.members.length + vb!.members.length).toBe(20);
    expect(va!.hosts).toEqual([]);
    expect(vone!.hosts.map((h) => h.name)).toEqual(["web1"]);
    expect(vone!.members).toEqual([]);
    // Each bucket declares its members' databases (on db1, in core) and no host-wide object.
    expect(va!.databases.map((d) => d.handle).every((h) => va!.members.some((x) => x.handle === h))).toBe(true);
    expect(va!.databases.length + vb!.databases.length).toBe(m.databases.filter((d) => web1.some((x) => x.handle === d.handle)).length);
    // Every account is declared by exactly one shard.
    const owners = ["core", "one", "two", "one-a", "one-b"].flatMap((s) => shardView(m, s).members.filter((x) => x.webHost).map((x) => x.handle));
    expect(owners.sort()).toEqual(m.members.filter((x) => x.webHost).map((x) => x.handle).sort());
  });

  it("a member's bucket reads its handle alone: adding members moves no one, and buckets fill evenly", () => {
    const bigger = shardOfObjects(model(tree(SPLIT, 80)))!;
    for (const [h, s] of a.members) expect(bigger.members.get(h)).toBe(s);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 10_000; i++) counts[memberBucket(`member-${i}`, 4)]! += 1;
    for (const c of counts) expect(c).toBeGreaterThan(2_300);
    expect(new Set(["a", "b", "c"].map((h) => memberBucket(h, 1)))).toEqual(new Set([0]));
  });

  it.each([1, 2, 3, 7, 8, 31])("from %i buckets to one more, about 1/(n+1) of the members move, each into the new bucket", (n) => {
    let moved = 0;
    for (let i = 0; i < 10_000; i++) {
      const before = memberBucket(`member-${i}`, n);
      const after = memberBucket(`member-${i}`, n + 1);
      expect(before).toBeLessThan(n);
      if (after !== before) {
        expect(after).toBe(n);
        moved += 1;
      }
    }
    const share = moved / 10_000;
    expect(share).toBeGreaterThan(0.7 / (n + 1));
    expect(share).toBeLessThan(1.3 / (n + 1));
  });

  it("each bucket applies after web1's shard (which wires its part in); the buckets get none of the stack's secrets", () => {
    expect(shardPrerequisites(m)).toEqual(new Map([["one-a", ["one"]], ["one-b", ["one"]]]));
    expect(shardSecretNames({ ...m.inventory, portal: undefined }, "one-a")).toEqual([]);
    expect(["one-a", "one-b", "one", "core"].map((s) => partialShard(m, s))).toEqual([true, true, true, false]);
  });

  it("CI's child pipeline: a touched bucket's job needs web1's job when web1's shard is touched too, else nothing", () => {
    const after = shardPrerequisites(m);
    const both = parse(childPipeline("prod", ["one", "one-b"], after)) as Record<string, Record<string, unknown>>;
    expect(both["apply-one-b"]?.needs).toEqual([{ pipeline: "$PARENT_PIPELINE_ID", job: "shard-pipeline" }, { job: "apply-one", artifacts: false }]);
    expect(both["apply-one"]?.needs).toEqual([{ pipeline: "$PARENT_PIPELINE_ID", job: "shard-pipeline" }]);
    const alone = parse(childPipeline("prod", ["one-b"], after)) as Record<string, Record<string, unknown>>;
    expect(alone["apply-one-b"]?.needs).toEqual([{ pipeline: "$PARENT_PIPELINE_ID", job: "shard-pipeline" }]);
  });

  for (const shard of ["one-a", "one-b", "one"]) {
    it(`shard ${shard} loads its part by the index: the same view, files and backups as the whole gives`, () => {
      writeShardIndex(root, shardIndex(m, dataDigest(root, "bench")), KEY);
      const loaded = loadShardModel(root, "bench", shard, {}, KEY);
      expect(loaded.via).toBe("part");
      const part = loaded.model as Model;
      const mine = shardView(part, shard);
      const theirs = shardView(m, shard);
      expect(mine).toEqual(theirs);
      // A bucket reads its own members; web1's shard none (their vhosts and pools are in the buckets' parts).
      expect(part.members.length).toBe(shard === "one" ? 0 : theirs.members.length);
      const owns = ownsFile(new Set(mine.hosts.map((h) => h.name)), shardParts(m, shard));
      const hosts = new Set([...mine.hosts.map((h) => h.name), ...shardParts(m, shard).map((p) => p.host)]);
      const files = renderAll(part, { hosts }).filter(owns);
      expect(files).toEqual(renderAll(m).filter(owns));
      // web1's own sets hold no member's file, and each bucket's part its members' vhosts and pools.
      expect(files.filter((f) => f.part !== undefined).length).toBe(shard === "one" ? 0 : 2 * theirs.sites.length);
      expect(files.some((f) => f.host === "web1" && f.path.startsWith("www/"))).toBe(shard === "one");
      expect(shardBackups(backupPlan(part), mine)).toEqual(shardBackups(backupPlan(m), theirs));
    });
  }
});

describe("npm run shards -- list", () => {
  it("says which host's members a bucket holds, and which shard applies after which", async () => {
    const root = tree(SPLIT, 20);
    const m = model(root);
    const n = (s: string) => shardView(m, s).members.length;
    const list = await runCli("shards", "list", "--root", root, "--stack", "bench");
    expect(list.status).toBe(0);
    expect(list.stdout).toContain(`one-a  stack bench.one-a  members of web1, bucket 0 of 2  members ${n("one-a")}, sites ${n("one-a")}, databases ${n("one-a")}, VPS 0`);
    expect(list.stdout).toContain("one  stack bench.one  hosts web1  members 0, sites 0, databases 0, VPS 0\n");
    expect(list.stdout).toContain(`one-b  stack bench.one-b  members of web1, bucket 1 of 2  members ${n("one-b")}, sites ${n("one-b")}, databases ${n("one-b")}, VPS 0  (its part of the sets of shard one)`);
  }, 120_000);

  it("pipeline: a departure or a new member touches its bucket only (and core's zone), which applies alone; web1's own sets come before the buckets", async () => {
    const root = tree(SPLIT, 20);
    const git = committedRepo(root);
    const at = shardOfObjects(model(root))!;
    const bucketOf = at.members.get("member-00002") as string;
    const jobs = async () => {
      const out = join(temp(), "child.yml");
      const r = await runCli("shards", "pipeline", "--base", "HEAD", "--out", out, "--root", root, "--stack", "bench");
      expect(r.status, r.stderr).toBe(0);
      return { said: r.stdout, p: parse(readFileSync(out, "utf8")) as Record<string, { needs?: unknown[]; allow_failure?: boolean }> };
    };
    const index = { pipeline: "$PARENT_PIPELINE_ID", job: "shard-pipeline" };
    // member-00002 (web1, no VPS) leaves: its pool and vhost go from its bucket's part, then its account, in one stack.
    writeFileSync(join(root, "members/member-00002/member.yaml"), "handle: member-00002\nname: Member 2\ncontact: { email: bureau@member-00002.example }\nstatus: departed\n");
    rmSync(join(root, "zones/member-00002.example.yaml"));
    const gone = await jobs();
    expect(Object.keys(gone.p).filter((k) => k.startsWith("apply-")).sort()).toEqual(["apply-core", `apply-${bucketOf}`].sort());
    expect(gone.p[`apply-${bucketOf}`]?.needs).toEqual([index]);
    expect(gone.p[`apply-${bucketOf}`]?.allow_failure).toBeUndefined();
    git("checkout", "-q", "--", ".");
    // A new member on web1: its bucket alone makes the account, then its pool and vhost.
    cpSync(join(root, "members/member-00002"), join(root, "members/member-00098"), { recursive: true });
    const text = readFileSync(join(root, "members/member-00098/member.yaml"), "utf8").replaceAll("member-00002", "member-00098").replaceAll("db_00002", "db_00098");
    writeFileSync(join(root, "members/member-00098/member.yaml"), text);
    writeFileSync(join(root, "zones/member-00098.example.yaml"), readFileSync(join(root, "zones/member-00002.example.yaml"), "utf8").replaceAll("member-00002", "member-00098"));
    const added = await jobs();
    const newBucket = shardOfObjects(model(root))!.members.get("member-00098") as string;
    expect(added.p["apply-one"]).toBeUndefined();
    expect(added.p[`apply-${newBucket}`]?.needs).toEqual([index]);
    git("checkout", "-q", "--", ".");
    git("clean", "-q", "-fd");
    // The inventory's settings touch every shard: web1 is known to its shard and nobody moves, so no job waits for another.
    const inv = join(root, "Pulumi.bench.yaml");
    writeFileSync(inv, readFileSync(inv, "utf8").replace("    shards:\n", "    site_logs: { keep_days: 30 }\n    shards:\n"));
    const all = await jobs();
    for (const s of ["one", "one-a", "one-b", "core"]) expect(all.p[`apply-${s}`]?.needs).toEqual([index]);
    git("checkout", "-q", "--", ".");
    // web1 split where it runs (its shard held its members at HEAD): the buckets take their vhosts and pools over first.
    setShards(root, { core: SPLIT.core as ShardRule, one: ["web1"], two: ["web2"] });
    git("commit", "-q", "-am", "web1 not split");
    setShards(root, SPLIT);
    const split = await jobs();
    expect(split.said).toContain("; one after one-a, one-b");
    expect(split.p["apply-one"]?.needs).toEqual([index, { job: "apply-one-a", artifacts: false }, { job: "apply-one-b", artifacts: false }]);
    for (const b of ["one-a", "one-b"]) expect(split.p[`apply-${b}`]?.needs).toEqual([index]);
  }, 180_000);

  it.each<[string, Record<string, ShardRule> | undefined, Record<string, ShardRule>, string[], Record<string, string[]>]>([
    // A host split where it already runs: its shard applies after the buckets, whose parts take its members' vhosts and pools over.
    ["an existing host split into two buckets", { core: SPLIT.core as ShardRule, one: ["web1"], two: ["web2"] }, SPLIT, ["one", "one-a", "one-b"], { one: ["one-a", "one-b"] }],
    // A new host's shard first: its set wires the parts in.
    ["a new host, split from the start", undefined, SPLIT, ["one", "one-a", "one-b"], { "one-a": ["one"], "one-b": ["one"] }],
    // A setting of the inventory touches every shard: nothing moves, the host is known, no order.
    ["a change that moves nobody", SPLIT, SPLIT, ["core", "one", "two", "one-a", "one-b"], {}],
  ])("the apply order: %s", (_what, before, after, touched, want) => {
    const head = model(tree(after, 20));
    const base = before && model(tree(before, 20));
    const order = applyOrder(head, new Map(touched.map((s) => [s, base])), touched);
    expect(Object.fromEntries(order)).toEqual(want);
  });

  it("the apply order: two buckets to three, the members move only into the new one, which applies before each bucket they leave", () => {
    const three = { ...SPLIT, "one-a": bucket(0, 3), "one-b": bucket(1, 3), "one-c": bucket(2, 3) };
    const head = model(tree(three, 60));
    const base = model(tree(SPLIT, 60));
    const touched = ["one-a", "one-b", "one-c"];
    const leaving = new Set(head.members.filter((x) => x.webHost === "web1" && memberBucket(x.handle, 3) === 2).map((x) => (memberBucket(x.handle, 2) === 0 ? "one-a" : "one-b")));
    expect(leaving.size).toBeGreaterThan(0);
    expect(Object.fromEntries(applyOrder(head, new Map(touched.map((s) => [s, base])), touched))).toEqual(Object.fromEntries([...leaving].sort().map((b) => [b, ["one-c"]])));
  });

  it("bench: --buckets only with engine --sharded", async () => {
    const r = await runCli("bench", "engine", "--buckets", "2");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--buckets splits web1's members of the sharded engine bench: use it with engine --sharded K");
  }, 120_000);
});

describe("a change touches the bucket of the member it changes, and web1's shard when its own files change", () => {
  const root = tree(SPLIT, 20);
  const base = model(root);
  const at = shardOfObjects(base)!;
  const edit = touchedBy(root, base);

  it("a web1 member's SSH key: its bucket only", () => {
    const want = at.members.get("member-00002");
    expect(edit("members/member-00002/member.yaml", (t) => t.replace(/ssh_keys: .*/, `ssh_keys: ["${freshSshPublicKey("new@laptop")}"]`))).toEqual([want]);
  });

  it("a web1 member's site alias: its bucket (the account's sites and its part's vhost) and the zone in core, not web1's own sets", () => {
    const got = edit("members/member-00002/member.yaml", (t) => t.replace("aliases: [www.member-00002.example]", "aliases: [www.member-00002.example, blog.member-00002.example]"));
    expect(got.sort()).toEqual(["core", at.members.get("member-00002") as string].sort());
  });
});

describe("validate refuses a split that would leave a member in no stack or in two, at its line", () => {
  const errorsOf = (shards: Record<string, ShardRule>, portal = false) => {
    const root = tree(shards, 4);
    setShards(root, shards);
    const file = join(root, "Pulumi.bench.yaml");
    if (portal) writeFileSync(file, readFileSync(file, "utf8").replace("    shards:\n", "    portal: { host: web1, name: espace.globenet.example }\n    shards:\n"));
    const text = readFileSync(file, "utf8").split("\n");
    const errs = loadModel(root, "bench").errors.map((e) => formatDiagnostic(e));
    return { errs, lineOf: (s: string) => text.findIndex((l) => l.includes(s)) + 1 };
  };
  const base = { core: ["db1", "ns1", "ns2", "hv1"], one: ["web1"], two: ["web2"] };

  it.each<[string, Record<string, ShardRule>, string, RegExp]>([
    ["a gap: bucket 1 of 2 in no shard", { ...base, "one-a": bucket(0) }, "one-a: {", /web1's bucket\(s\) 1 of 2 in no shard: the members hashed there would be in no stack/],
    ["one bucket twice", { ...base, "one-a": bucket(0), "one-b": bucket(1), "one-c": bucket(1) }, "one-c: {", /bucket 1 of web1's members is already shard one-b: its members' accounts would be written by two shards/],
    ["two counts for one host", { ...base, "one-a": bucket(0), "one-b": bucket(1), "one-c": bucket(2, 3) }, "one-c: {", /web1's members are in 2 buckets by shard one-a, 3 here: every members_of: web1 shard says the same buckets:/],
    ["a bucket beyond the count", { ...base, "one-a": bucket(0, 1), "one-b": bucket(1, 1) }, "one-b: {", /bucket 1 is not below buckets: 1 \(the buckets are numbered 0 to 0\)/],
    ["an unknown host", { ...base, "one-a": bucket(0, 1, "web9") }, "one-a: {", /unknown host "web9"/],
    ["a host that is not a web host", { ...base, "one-a": bucket(0, 1, "db1") }, "one-a: {", /host "db1" is not a web host \(roles db\): only a web host's members are split by hash/],
    ["hosts and members_of at once", { ...base, core: ["db1", "ns1", "ns2"], "one-a": { hosts: "[hv1]", members_of: "web1", bucket: 0, buckets: 1 } }, "one-a: {", /shard one-a has both hosts: and members_of:\/bucket:\/buckets:/],
    ["members_of without its bucket", { ...base, "one-a": { members_of: "web1" } }, "one-a: {", /shard one-a lacks bucket and buckets: a shard of a web host's members needs members_of: <web host>, bucket: <n> and buckets: <count>/],
    ["a shard with nothing", { ...base, "one-a": {} }, "one-a: {", /shard one-a holds nothing: give it hosts: \[\.\.\.\]/],
  ])("%s", (_what, shards, line, want) => {
    const { errs, lineOf } = errorsOf(shards);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(new RegExp(`^Pulumi\\.bench\\.yaml:${lineOf(line)}:\\d+ `));
    expect(errs[0]).toMatch(want);
  });

  it("counts that differ are said once, not also as a bucket in no shard", () => {
    const { errs } = errorsOf({ ...base, "one-a": bucket(0), "one-b": bucket(1, 3) });
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/web1's members are in 2 buckets by shard one-a, 3 here/);
  });

  it("the member portal's host, or a host in the portal host's shard: the portal's logins are that shard's members' passwords", () => {
    const own = errorsOf({ ...base, "one-a": bucket(0, 1) }, true);
    expect(own.errs).toHaveLength(1);
    expect(own.errs[0]).toMatch(new RegExp(`^Pulumi\\.bench\\.yaml:${own.lineOf("one-a: {")}:\\d+ .*host "web1" runs the member portal: the portal's logins are the password hashes of the members of that shard`));
    const beside = errorsOf({ core: base.core, one: ["web1", "web2"], "two-a": bucket(0, 1, "web2") }, true);
    expect(beside.errs).toHaveLength(1);
    expect(beside.errs[0]).toMatch(new RegExp(`^Pulumi\\.bench\\.yaml:${beside.lineOf("two-a: {")}:\\d+ .*host "web2" is in shard one with the member portal's host web1: .* a split would take web2's members out of it`));
    // web2 in a shard of its own: its members' passwords were never the portal's shard's.
    expect(errorsOf({ ...base, "two-a": bucket(0, 1, "web2") }, true).errs).toEqual([]);
  });

  it("a whole split is accepted, and so is one bucket for all", () => {
    expect(errorsOf({ ...base, "one-a": bucket(0), "one-b": bucket(1) }).errs).toEqual([]);
    expect(errorsOf({ ...base, "one-a": bucket(0, 1) }).errs).toEqual([]);
  });
});

describe("a pool or vhost refused for a user that does not exist says what happened and what to do", () => {
  it.each([
    ["PHP-FPM's check (seen in engine-e2e)", "ERROR: [pool ondes] cannot get uid for user 'ondes'\nERROR: FPM initialization failed", "ondes"],
    ["Apache's mpm-itk (apache2 -t on AssignUserID)", "AH00543: apache2: bad user name velo-libre", "velo-libre"],
    ["two pools", "ERROR: [pool a] cannot get uid for user 'a'\nERROR: [pool b] cannot get uid for user 'b'\nERROR: [pool a] cannot get uid for user 'a'", "a, b"],
  ])("%s", (_what, said, users) => {
    const hint = missingUsersHint(said, "web1");
    expect(hint).toContain(`\n${users}: no such user on web1, though the state has the account: it was removed on the host outside Globenet. npm run up -- --refresh sees it gone`);
    expect(hint).toContain(`\n${users} : cet utilisateur n'existe pas sur web1, alors que l'état a le compte`);
  });

  it("a part refused for its host's set, or for a site another set has: said in French too", () => {
    expect(partsHint("the host's own Apache set is not applied (…): apply the host's own shard first, then this part")).toContain("appliquez d'abord le fragment du serveur, puis celui de ce seau");
    expect(partsHint("a site may be in one set only (the host's, or one part's): apply first the set that drops it (its shard), then this one")).toContain("appliquez d'abord le fragment qui le retire");
    expect(partsHint("AH00526: Syntax error")).toBe("");
  });

  it("another refusal: no hint", () => {
    expect(missingUsersHint("AH00526: Syntax error on line 3 of /etc/apache2/globenet/x.conf", "web1")).toBe("");
  });
});
