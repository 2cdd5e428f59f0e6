import * as pulumi from "@pulumi/pulumi";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadModel } from "../lib/check/build";
import { checkedModelFile, readCheckedModel, writeCheckedModel } from "../lib/check/checked-model";
import { loadShardModel, loadWholeIndexed } from "../lib/check/shard-index";
import { dataDigest } from "../lib/load/digest";
import { backupPlan } from "../lib/model/backup";
import { factsKey } from "../lib/model/facts";
import { MAIL_PATHS, mailPlan } from "../lib/model/mail";
import { monitoringPlan } from "../lib/model/monitoring";
import type { Model } from "../lib/model/types";
import { renderAll } from "../lib/render";
import { claimSiteTwice, KEY, shardedTrees } from "./helpers/shard-tree";

/**
 * The shard that reads every file (`core`: name servers, database host, hypervisor) declares
 * from the model the whole load kept (lib/check/checked-model.ts): it must be the model the load
 * gives, and only for the data and passphrase it was made with.
 */

const { tree } = shardedTrees("globenet-checked-model-", 30);

/** Every resource the program declares for `stack` from `root`, with its inputs as the engine gets them. */
async function declared(root: string, stack: string): Promise<Map<string, unknown>> {
  const seen = new Map<string, unknown>();
  pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === "globenet:db:Database") state.password = pulumi.secret("mock-password-0123456789abcdef");
        if (args.type === "globenet:mail:DkimKey") state.publicKey = `MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA${"A".repeat(300)}IDAQAB`;
        seen.set(`${args.type}::${args.name}`, args.inputs);
        return { id: `${args.name}-id`, state };
      },
      call: (args: pulumi.runtime.MockCallArgs) => args.inputs,
    },
    "globenet-infra",
    stack,
  );
  const { program } = await import("../index.js");
  await pulumi.runtime.runInPulumiStack(async () => program(root, {}, undefined, KEY));
  // Registrations that wait on outputs (the zones' DKIM records) land a few turns later.
  let size = -1;
  while (size !== seen.size) {
    size = seen.size;
    await new Promise((r) => setTimeout(r, 100));
  }
  return seen;
}

describe("the core shard's program declares from the checked model what the whole load gives", () => {
  it("first run: the whole, which keeps the model; second: the checked model, equal to the long way's in model, files, plans and every resource's inputs", async () => {
    const root = tree();
    const long = loadModel(root, "bench").model as Model;
    expect(loadShardModel(root, "bench", "core", {}, KEY).via).toBe("whole");
    const again = loadShardModel(root, "bench", "core", {}, KEY);
    expect(again.via).toBe("checked");
    const m = again.model as Model;
    // JSON drops properties whose value is undefined, which toEqual treats alike (toStrictEqual would not).
    expect(m).toEqual(long);
    expect(m).not.toStrictEqual(long);
    expect(renderAll(m)).toStrictEqual(renderAll(long));
    expect(backupPlan(m)).toEqual(backupPlan(long));
    for (const h of long.hosts) {
      if (h.roles.includes("mail")) expect(mailPlan(m, h.name, { paths: MAIL_PATHS })).toEqual(mailPlan(long, h.name, { paths: MAIL_PATHS }));
    }
    expect(monitoringPlan(m)).toEqual(monitoringPlan(long));
    // What the engine gets: the program's resources and inputs, from the whole load and from the checked model.
    rmSync(checkedModelFile(root, "bench"));
    const fromWhole = await declared(root, "bench.core");
    expect(loadShardModel(root, "bench", "core", {}, KEY).via).toBe("checked");
    const fromChecked = await declared(root, "bench.core");
    // core's own: the name servers' sets (every zone, as sha256 refs of their contents), the transfer keys, the guests,
    // and db1's MariaDB settings, although every database on db1 is a web shard's member's.
    for (const k of ["globenet:files:FileSet::ns1-bind", "globenet:files:FileSet::ns2-bind", "globenet:dns:TransferKey::ns1-transfer-key", "globenet:vm:Guest::member-00000--vm", "globenet:db:ServerSettings::db1-mariadb"]) expect([...fromWhole.keys()]).toContain(k);
    expect(fromChecked).toStrictEqual(fromWhole);
  }, 120_000);

  it("CI's whole load (mr-plans, the shard-pipeline job) keeps it too; an edit means the whole again", () => {
    const root = tree();
    expect(loadWholeIndexed(root, "bench", KEY).indexed).toBe(true);
    expect(loadShardModel(root, "bench", "core", {}, KEY).via).toBe("checked");
    const file = join(root, "members", "member-00003", "member.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace(/name: .*/, "name: Renamed"));
    const r = loadShardModel(root, "bench", "core", {}, KEY);
    expect(r.via).toBe("whole");
    expect(r.model?.members.find((x) => x.handle === "member-00003")?.name).toBe("Renamed");
    const next = loadShardModel(root, "bench", "core", {}, KEY);
    expect(next.via).toBe("checked");
    expect(next.model?.members.find((x) => x.handle === "member-00003")?.name).toBe("Renamed");
    // Web shards read their part, never the checked model; an unsharded stack keeps none.
    expect(loadShardModel(root, "bench", "one", {}, KEY).via).toBe("part");
  });

  it("without the passphrase, nothing is kept or read", () => {
    const root = tree(6);
    expect(loadShardModel(root, "bench", "core", {}, undefined).via).toBe("whole");
    expect(() => readFileSync(checkedModelFile(root, "bench"))).toThrow();
    expect(loadShardModel(root, "bench", "core", {}, undefined).via).toBe("whole");
  });
});

describe("a checked model is read only for its data, its passphrase and its facts", () => {
  it("planted with another passphrase, or its body altered under the right MAC, it is refused and the whole is loaded and checked", () => {
    const root = tree(8);
    const whole = loadModel(root, "bench").model as Model;
    // A site name claimed twice: only a check over the whole data sees it.
    const host = claimSiteTwice(root);
    const digest = dataDigest(root, "bench");
    // The attacker knows everything but the passphrase: the model of good data, the digest of the bad.
    writeCheckedModel(root, whole, digest, {}, "not-the-passphrase");
    expect(readCheckedModel(root, "bench", digest, {}, KEY)).toBeUndefined();
    const r = loadShardModel(root, "bench", "core", {}, KEY);
    expect(r.via).toBe("whole");
    expect(r.model).toBeUndefined();
    expect(r.errors.map((e) => e.message).join("\n")).toContain(host);
    // A valid file's MAC on another body (one member more, or fewer) does not verify either.
    writeCheckedModel(root, whole, digest, {}, KEY);
    expect(readCheckedModel(root, "bench", digest, {}, KEY)).toEqual(whole);
    const text = readFileSync(checkedModelFile(root, "bench"), "utf8");
    writeFileSync(checkedModelFile(root, "bench"), text.replace('"handle":"member-00001"', '"handle":"member-00009"'));
    expect(readCheckedModel(root, "bench", digest, {}, KEY)).toBeUndefined();
    // Another stack's file, renamed: its header names its stack, under the MAC.
    writeFileSync(checkedModelFile(root, "other"), text);
    expect(readCheckedModel(root, "other", digest, {}, KEY)).toBeUndefined();
    // Another digest (the data changed since): refused.
    writeCheckedModel(root, whole, "0".repeat(64), {}, KEY);
    expect(readCheckedModel(root, "bench", digest, {}, KEY)).toBeUndefined();
    // Truncated or empty: refused, no throw.
    writeFileSync(checkedModelFile(root, "bench"), text.slice(0, 100));
    expect(readCheckedModel(root, "bench", digest, {}, KEY)).toBeUndefined();
    writeFileSync(checkedModelFile(root, "bench"), "");
    expect(readCheckedModel(root, "bench", digest, {}, KEY)).toBeUndefined();
  });

  it("built with another accelerator for a lab hypervisor (domain_type auto), it is not this machine's model", () => {
    const root = tree(4);
    const whole = loadModel(root, "bench").model as Model;
    const digest = dataDigest(root, "bench");
    // Production's hypervisors say kvm: the facts do not change the model, any machine's is the same.
    writeCheckedModel(root, whole, digest, { accel: "kvm" }, KEY);
    expect(readCheckedModel(root, "bench", digest, { accel: "qemu" }, KEY)).toEqual(whole);
    const lab = structuredClone(whole);
    const hv = lab.inventory.hosts.hv1;
    if (!hv?.libvirt) throw new Error("the synthetic tree has no hypervisor hv1");
    hv.libvirt.domain_type = "auto";
    writeCheckedModel(root, lab, digest, { accel: "kvm" }, KEY);
    expect(readCheckedModel(root, "bench", digest, { accel: "qemu" }, KEY)).toBeUndefined();
    expect(readCheckedModel(root, "bench", digest, {}, KEY)).toBeUndefined();
    expect(readCheckedModel(root, "bench", digest, { accel: "kvm" }, KEY)).toEqual(lab);
  });

  it.each([
    [{ hv1: { libvirt: { domain_type: "kvm" } } }, {}, ""],
    [{ hv1: { libvirt: { domain_type: "kvm" } } }, { accel: "kvm" }, ""],
    [{ web1: {} }, { accel: "kvm" }, ""],
    [{ hv1: { libvirt: { domain_type: "auto" } } }, {}, "accel=qemu"],
    [{ hv1: { libvirt: { domain_type: "auto" } } }, { accel: "qemu" }, "accel=qemu"],
    [{ hv1: { libvirt: { domain_type: "auto" } }, hv2: { libvirt: { domain_type: "kvm" } } }, { accel: "kvm" }, "accel=kvm"],
  ])("factsKey(%j, %j) = %j", (hosts, facts, key) => {
    expect(factsKey({ hosts } as never, facts as never)).toBe(key);
  });
});
