import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadModel } from "../lib/check/build";
import { formatDiagnostic } from "../lib/load/diagnostic";
import { shardOfObjects, shardProblem, shardStackName, shardView, splitStackName } from "../lib/model/shards";
import type { Model } from "../lib/model/types";
import { committedRepo, setShards, touchedBy, validModel, writeShardedTree } from "./helpers/shard-tree";
import { touchedShards } from "../lib/ci/touched-shards";
import { freshSshPublicKey } from "../lib/bench/synthetic";
import { parse } from "yaml";
import { childPipeline } from "../lib/ci/shard-pipeline";
import { errorsOf, inventoryWithMailHost, runCli } from "./helpers/data-tree";

/** Sharded stacks' pure rule (lib/model/shards.ts) and validate's refusals (lib/check/shards.ts). */

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tree(shards: Record<string, string[]>, members = 40): string {
  const d = mkdtempSync(join(tmpdir(), "globenet-shards-"));
  dirs.push(d);
  writeShardedTree(d, members, shards);
  return d;
}

const model = validModel;

const TWO = { one: ["web1", "db1", "ns1", "ns2"], two: ["web2", "hv1"] };

describe("every object has one shard, from the inventory's rule", () => {
  const root = tree(TWO);
  const m = model(root);
  const a = shardOfObjects(m)!;

  it.each([
    ["host web1", () => a.hosts.get("web1"), "one"],
    ["host ns2 (secondary, with its primary)", () => a.hosts.get("ns2"), "one"],
    ["host hv1", () => a.hosts.get("hv1"), "two"],
    ["member-00000 (web1): account, databases", () => a.members.get("member-00000"), "one"],
    ["member-00001 (web2)", () => a.members.get("member-00001"), "two"],
    ["member-00000's guest (hv1)", () => a.vps.get("member-00000--vm"), "two"],
    ["globenet (no host at all): the first shard", () => a.members.get("globenet"), "one"],
  ])("%s", (_what, got, want) => {
    expect(got()).toBe(want);
  });

  it("each shard's view declares its own objects only, and together they are the whole", () => {
    const va = shardView(m, "one");
    const vb = shardView(m, "two");
    expect(va.hosts.map((h) => h.name)).toEqual(["db1", "ns1", "ns2", "web1"]);
    expect(vb.hosts.map((h) => h.name)).toEqual(["hv1", "web2"]);
    expect(va.databases.map((d) => d.name).slice(0, 3)).toEqual(["db_00000", "db_00002", "db_00004"]);
    expect(vb.databases.map((d) => d.name).slice(0, 3)).toEqual(["db_00001", "db_00003", "db_00005"]);
    expect(va.databases.length + vb.databases.length).toBe(m.databases.length);
    // member-00000's guest is on hv1 (shard b): its node is there too, without its account.
    expect(vb.members.find((x) => x.handle === "member-00000")).toMatchObject({ webHost: undefined, cron: [] });
    expect(va.members.find((x) => x.handle === "member-00000")?.webHost).toBe("web1");
    expect(vb.vps.map((v) => v.domain)).toEqual(["member-00000--vm", "member-00020--vm"]);
    expect(va.vps).toEqual([]);
    const owners = [...va.members, ...vb.members].filter((x) => x.webHost).map((x) => x.handle).sort();
    expect(owners).toEqual(m.members.filter((x) => x.webHost).map((x) => x.handle).sort());
  });

  it("is stable: the same data gives the same shards, and adding members moves no one", () => {
    expect(shardOfObjects(model(root))).toEqual(a);
    const bigger = shardOfObjects(model(tree(TWO, 60)))!;
    for (const [h, s] of a.members) expect(bigger.members.get(h)).toBe(s);
    for (const [d, s] of a.vps) expect(bigger.vps.get(d)).toBe(s);
  });

  it("no shards: none", () => {
    expect(shardOfObjects({ ...m, inventory: { ...m.inventory, shards: undefined } })).toBeUndefined();
  });
});

describe("stack names and --shard", () => {
  it.each([
    ["prod", { stack: "prod" }],
    ["prod.web-a", { stack: "prod", shard: "web-a" }],
    ["lab-multi.b", { stack: "lab-multi", shard: "b" }],
  ])("%s", (name, want) => {
    expect(splitStackName(name)).toEqual(want);
  });
  it("round-trips", () => expect(splitStackName(shardStackName("prod", "web-a"))).toEqual({ stack: "prod", shard: "web-a" }));

  const sharded = { stack: "prod", inventory: { shards: { one: { hosts: TWO.one }, two: { hosts: TWO.two } } } };
  it.each([
    [sharded, undefined, "stack prod is sharded: name one shard with --shard (one, two); each is the stack prod.<shard> with its own state and lock"],
    [sharded, "three", 'stack prod has no shard "three" (its shards: one, two)'],
    [sharded, "two", undefined],
    [{ stack: "prod", inventory: {} }, "one", "stack prod has no shards (no `shards:` in Pulumi.prod.yaml): run it without --shard"],
    [{ stack: "prod", inventory: {} }, undefined, undefined],
  ])("%# shardProblem", (m, shard, want) => {
    expect(shardProblem(m, shard)).toBe(want);
  });
});

describe("validate refuses a rule that makes two shards write one object", () => {
  const errorsOf = (shards: Record<string, string[]>) => {
    const root = tree(TWO, 2);
    setShards(root, shards);
    const text = readFileSync(join(root, "Pulumi.bench.yaml"), "utf8").split("\n");
    const errs = loadModel(root, "bench").errors.map((e) => formatDiagnostic(e));
    return { errs, lineOf: (s: string) => text.findIndex((l) => l.includes(s)) + 1 };
  };

  it("a host in two shards (its Apache vhosts would be written by both), at the second listing", () => {
    const { errs, lineOf } = errorsOf({ one: ["web1", "db1", "ns1", "ns2"], two: ["web2", "hv1", "web1"] });
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(new RegExp(`^Pulumi\\.bench\\.yaml:${lineOf("two: { hosts: [web2, hv1, web1] }")}:\\d+ .*host "web1" is already in shard one: its host-wide objects \\(file sets, server settings, backups\\) would be written by two shards \\(keep it in one\\)`));
  });

  it("a host in no shard, and an unknown host", () => {
    const { errs, lineOf } = errorsOf({ one: ["web1", "db1", "ns1", "ns2", "web3"], two: ["web2"] });
    expect(errs.join("\n")).toContain('unknown host "web3"');
    expect(errs.join("\n")).toMatch(new RegExp(`Pulumi\\.bench\\.yaml:${lineOf("one: { hosts: [")}:\\d+ .*host\\(s\\) hv1 in no shard`));
  });

  it("a DNS secondary apart from its primary (the transfer key flows between them)", () => {
    const { errs, lineOf } = errorsOf({ one: ["web1", "db1", "ns1"], two: ["web2", "hv1", "ns2"] });
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(new RegExp(`^Pulumi\\.bench\\.yaml:${lineOf("two: { hosts: [web2, hv1, ns2] }")}:\\d+ .*dns-secondary "ns2" is in shard two, the dns-primary "ns1" in one`));
  });
});

describe("a change touches only the shards whose objects it changes", () => {
  const root = tree(TWO, 20);
  const base = model(root);
  const edit = touchedBy(root, base);

  it.each([
    ["nothing", "members/member-00003/member.yaml", (t: string) => t, []],
    ["a web2 member's SSH key: its account only", "members/member-00003/member.yaml", (t: string) => t.replace(/ssh_keys: .*/, `ssh_keys: ["${freshSshPublicKey("new@laptop")}"]`), ["two"]],
    ["a web1 member's site alias: vhost and zone, both in shard one", "members/member-00002/member.yaml", (t: string) => t.replace("aliases: [www.member-00002.example]", "aliases: [www.member-00002.example, blog.member-00002.example]"), ["one"]],
    ["a web2 member's zone record: the DNS primary's shard", "zones/member-00003.example.yaml", (t: string) => `${t}  - { name: txt, type: TXT, value: hello }\n`, ["one"]],
    ["a web2 member's site alias: its vhost (two) and its zone (one)", "members/member-00003/member.yaml", (t: string) => t.replace("aliases: [www.member-00003.example]", "aliases: [www.member-00003.example, blog.member-00003.example]"), ["one", "two"]],
    ["web2 moved to shard one: both", "Pulumi.bench.yaml", (t: string) => t.replace("one: { hosts: [web1, db1, ns1, ns2] }", "one: { hosts: [web1, web2, db1, ns1, ns2] }").replace("two: { hosts: [web2, hv1] }", "two: { hosts: [hv1] }"), ["one", "two"]],
  ])("%s", (_what, file, f, want) => {
    expect(edit(file, f)).toEqual(want);
  });

  it("without a base model (the target's data did not load): every shard", () => {
    expect(touchedShards(undefined, base)).toEqual(["one", "two"]);
  });
});

describe("CI's child pipeline: one apply job per touched shard, each in its own resource group", () => {
  it("two shards", () => {
    const p = parse(childPipeline("prod", ["front", "vps"])) as Record<string, Record<string, unknown>>;
    const jobs = Object.keys(p).filter((k) => !k.startsWith(".") && k !== "stages");
    expect(jobs).toEqual(["apply-front", "apply-vps"]);
    expect(p["apply-front"]).toMatchObject({ extends: ".protected-apply", resource_group: "prod-front" });
    expect(p["apply-vps"]?.script).toContain("npm run up -- --stack prod --shard vps --guard --lock-wait 900 --cert-wait 120");
    expect(p[".protected-apply"]).toMatchObject({ tags: ["globenet-prod"], cache: [], before_script: ["bash .ci/trusted-setup"] });
    // Each shard job takes the parent's shard index, and no other artifact.
    expect(p["apply-front"]?.needs).toEqual([{ pipeline: "$PARENT_PIPELINE_ID", job: "shard-pipeline" }]);
    expect(p["apply-front"]?.dependencies).toBeUndefined();
  });
  it("none touched: one job that applies nothing", () => {
    const p = parse(childPipeline("prod", [])) as Record<string, Record<string, unknown>>;
    expect(Object.keys(p).filter((k) => !k.startsWith(".") && k !== "stages")).toEqual(["no-shard-touched"]);
    expect(JSON.stringify(p)).not.toContain("npm run up");
    expect(p["no-shard-touched"]).toMatchObject({ dependencies: [] });
  });
});

describe("npm run shards", () => {
  it("lists the shards and names the ones a commit range touches; the engine commands refuse a sharded stack without --shard", async () => {
    const root = tree(TWO, 20);
    const git = committedRepo(root);
    const list = await runCli("shards", "list", "--root", root, "--stack", "bench");
    expect(list.status).toBe(0);
    expect(list.stdout).toContain("one  stack bench.one  hosts db1, ns1, ns2, web1  members 10, sites 10, databases 10, VPS 0");
    expect(list.stdout).toContain("two  stack bench.two  hosts hv1, web2  members 10, sites 10, databases 10, VPS 1");
    const key = join(root, "members/member-00003/member.yaml");
    writeFileSync(key, readFileSync(key, "utf8").replace(/ssh_keys: .*/, `ssh_keys: ["${freshSshPublicKey("new@laptop")}"]`));
    const touched = await runCli("shards", "touched", "--base", "HEAD", "--root", root, "--stack", "bench");
    expect(touched.stdout.trim()).toBe("two");
    const preview = await runCli("preview", "--root", root, "--stack", "bench");
    expect(preview.status).toBe(2);
    expect(preview.stderr).toContain("stack bench is sharded: name one shard with --shard (one, two)");
    // A shard the inventory no longer lists: no program of it runs, but its stack can be emptied.
    const gone = await runCli("preview", "--root", root, "--stack", "bench", "--shard", "gone");
    expect(gone.status).toBe(2);
    expect(gone.stderr).toContain('stack bench has no shard "gone" (its shards: one, two)');
    const destroy = await runCli("destroy", "--root", root, "--stack", "bench", "--shard", "gone");
    expect(destroy.status).toBe(2);
    expect(destroy.stderr).toContain("destroy removes everything stack bench.gone manages (members' data is archived first): confirm with --confirm bench.gone");
  }, 120_000);
});

describe("a mail host shares the DNS primary's shard", () => {
  const withShards = (shards: string) => inventoryWithMailHost().replace("    hosts:\n", `    shards:\n${shards}    hosts:\n`);

  it("apart from the primary, it is refused at its listing (the zones publish its DKIM keys)", () => {
    const errs = errorsOf({ "Pulumi.test.yaml": withShards("      one: { hosts: [web1, ns1, ns2, hv1] }\n      two: { hosts: [mx1] }\n") });
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(/^Pulumi\.test\.yaml:\d+:\d+ .*mail host "mx1" is in shard two, the dns-primary "ns1" in one: the zones publish the DKIM keys/);
  });

  it("beside the primary, it is accepted", () => {
    expect(errorsOf({ "Pulumi.test.yaml": withShards("      one: { hosts: [web1, ns1, ns2, mx1] }\n      two: { hosts: [hv1] }\n") })).toEqual([]);
  });
});
