import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeSyntheticTree } from "../lib/bench/synthetic";
import { openStack } from "../lib/engine/driver";
import { SERIAL_TOKEN } from "../lib/render/bind-zone";
import { fileStoreOf, loadManifest, setFiles } from "../provider/resources/file-store";
import { generationOfHashes, hashesOf, planSerials, substituteSerials } from "../provider/resources/file-set-serials";
import { guestContents } from "../provider/resources/guest-refs";
import { PULUMI_SECRET_SIG, PULUMI_SIG_KEY, RESOURCE_TOKENS } from "../lib/base/tokens";
import { previewPlan } from "../lib/guard/collect";
import { stepDiffs, type PlanStep } from "../lib/guard/plan";
import { flatSpec, OUTPUT_ONLY, specText } from "../lib/base/spec-inputs";

/**
 * File sets' and guests' contents as sha256 refs into the runner's store, on the real engine
 * (docs/architecture.md, "Sharded stacks", "File sets carry sha256 refs", "Guests carry sha256
 * refs too"), and accounts', databases' and guests' inputs as one JSON text (lib/base/spec-inputs.ts): the "bench" stack of
 * a small synthetic tree in a file backend of the test's own, the real provider's check and
 * diff with its dry mode for create/read/update/delete (no host is touched).
 */

type Res = { urn: string; type: string; custom?: boolean; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> };
type Deployment = { resources?: Res[] } & Record<string, unknown>;

describe("file sets' refs on the real engine", () => {
  let dir: string;
  let data: string;
  let stack: Stack;
  const deployment = async () => (await stack.exportStack()).deployment as Deployment;
  const fileSets = (d: Deployment) => (d.resources ?? []).filter((r) => r.type === "globenet:files:FileSet");
  const guests = (d: Deployment) => (d.resources ?? []).filter((r) => r.type === "globenet:vm:Guest");
  /** The operations of a preview other than "same". */
  const changes = async () => Object.entries((await stack.preview({ color: "never" })).changeSummary ?? {}).filter(([op, n]) => op !== "same" && (n ?? 0) > 0);
  /** Inputs sent as one `spec` text, outputs packed beside what is not an input (lib/base/spec-inputs.ts). */
  const isText = (r: Res) => Object.keys(r.inputs ?? {}).join() === "spec" && typeof r.inputs?.spec === "string";
  const packed = (r: Res) => typeof r.outputs?.spec === "string" && Object.keys(r.outputs ?? {}).every((k) => k === "spec" || OUTPUT_ONLY[r.type]?.has(k));
  /** What the code before wrote for `select`'s resources (flat inputs and outputs, or spec as an object) previews as no change; the next up sends the text. */
  const oldSpecFormsPreviewAsNoChange = async (select: (d: Deployment) => Res[]) => {
    for (const [form, rewrite] of [
      ["flat", (spec: Record<string, unknown>) => ({ ...spec })],
      ["an object", (spec: Record<string, unknown>) => ({ spec })],
    ] as const) {
      const exported = await stack.exportStack();
      for (const r of select(exported.deployment as Deployment)) {
        r.inputs = rewrite(JSON.parse(r.inputs?.spec as string));
        r.outputs = flatSpec(r.outputs);
      }
      await stack.importStack(exported);
      expect(select(await deployment()).some((r) => isText(r) || packed(r)), form).toBe(false);
      expect(await changes(), form).toEqual([]);
      expect((await stack.up({ color: "never" })).summary.result, form).toBe("succeeded");
      // A step with no change keeps the outputs as they were; the inputs take the program's form.
      expect(select(await deployment()).every(isText), form).toBe(true);
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "globenet-file-refs-"));
    data = join(dir, "data");
    writeSyntheticTree(data, 20);
    const env = { PULUMI_BACKEND_URL: `file://${dir}/state`, PULUMI_CONFIG_PASSPHRASE: "globenet-file-refs-test-throwaway", GLOBENET_PROVIDER_DRY_RUN: "1", PULUMI_HOME: join(dir, "pulumi-home") };
    stack = await openStack({ stack: "bench", root: data, env });
    expect((await stack.up({ color: "never" })).summary.result).toBe("succeeded");
  }, 600_000);

  afterAll(() => {
    delete process.env.GLOBENET_PROVIDER_DRY_RUN;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("the state holds each set's manifest digest, no content and no list of refs or hashes; the store holds the manifest and each file", async () => {
    const d = await deployment();
    const sets = fileSets(d);
    expect(sets.map((r) => r.inputs?.kind).sort()).toEqual(expect.arrayContaining(["apache2", "bind-primary", "php-fpm", "www"]));
    const store = fileStoreOf(data);
    for (const s of sets) {
      expect(s.inputs?.files, s.urn).toBeUndefined();
      expect(s.inputs?.fileRefs, s.urn).toBeUndefined();
      expect(s.inputs?.fileStore, s.urn).toBe(store);
      const digest = s.inputs?.fileManifest as string;
      expect(s.outputs?.tokenDigest, s.urn).toBe(digest);
      expect(s.outputs?.hashes, s.urn).toBeUndefined();
      expect(s.outputs?.serials, s.urn).toBeUndefined();
      const refs = loadManifest(store, digest);
      expect(Object.keys(refs).length, s.urn).toBeGreaterThan(0);
      for (const ref of Object.values(refs)) expect(existsSync(join(store, ref)), `${s.urn} ${ref}`).toBe(true);
    }
    // The primary's zones are named in its outputs (the guard's share rule), nothing more of them.
    const primary = sets.find((s) => s.inputs?.kind === "bind-primary");
    expect(String(primary?.outputs?.zoneNames).split("\n").length).toBe(Object.keys(loadManifest(store, primary?.inputs?.fileManifest as string)).filter((p) => p.startsWith("zones/")).length);
    // No zone's text in the state: the serial token, and the zones' SOA, are in the store only.
    const text = JSON.stringify(d);
    expect(text).not.toContain(SERIAL_TOKEN);
    expect(text).not.toContain("IN SOA");
  }, 300_000);

  it("a state written with contents (before the store), or with refs and hashes (before the manifests), previews as no change; the next up writes the manifest", async () => {
    const exported = await stack.exportStack();
    // What the code before the store wrote: the same sets, their contents in the inputs.
    for (const s of fileSets(exported.deployment as Deployment)) {
      const { fileManifest, fileStore, ...rest } = s.inputs as Record<string, unknown>;
      s.inputs = { ...rest, files: setFiles({ fileManifest, fileStore }) };
    }
    await stack.importStack(exported);
    const imported = fileSets(await deployment());
    expect(imported.every((s) => typeof s.inputs?.files === "object" && s.inputs?.fileManifest === undefined)).toBe(true);
    expect(JSON.stringify(imported)).toContain(SERIAL_TOKEN);
    expect(await changes()).toEqual([]);
    expect((await stack.up({ color: "never" })).summary.result).toBe("succeeded");
    expect(fileSets(await deployment()).every((s) => s.inputs?.files === undefined && typeof s.inputs?.fileManifest === "string")).toBe(true);

    // What the code before the manifests wrote: refs in the inputs; each file's hash (and a primary's serials) in the outputs, a digest for a primary only.
    const refsState = await stack.exportStack();
    for (const s of fileSets(refsState.deployment as Deployment)) {
      const { fileManifest, fileStore, ...rest } = s.inputs as Record<string, unknown>;
      const refs = loadManifest(fileStore as string, fileManifest as string);
      s.inputs = { ...rest, fileRefs: refs, fileStore };
      const files = setFiles({ fileRefs: refs, fileStore }) as Record<string, string>;
      const serials = s.inputs.kind === "bind-primary" ? planSerials(files, new Date()) : {};
      const { tokenDigest, zoneNames: _z, generation: _g, ...outs } = s.outputs as Record<string, unknown>;
      const hashes = hashesOf(substituteSerials(files, serials));
      s.outputs = { ...outs, hashes, serials, generation: generationOfHashes(hashes), ...(s.inputs.kind === "bind-primary" ? { tokenDigest } : {}) };
    }
    await stack.importStack(refsState);
    expect(fileSets(await deployment()).every((s) => typeof s.inputs?.fileRefs === "object" && typeof s.outputs?.hashes === "object")).toBe(true);
    expect(await changes()).toEqual([]);
    expect((await stack.up({ color: "never" })).summary.result).toBe("succeeded");
    const after = fileSets(await deployment());
    expect(after.every((s) => s.inputs?.fileRefs === undefined && typeof s.inputs?.fileManifest === "string")).toBe(true);
    expect(JSON.stringify(after)).not.toContain(SERIAL_TOKEN);
  }, 600_000);

  it("a guest's inputs and outputs hold refs and hashes, no XML, seed or filter; the store holds each", async () => {
    const gs = guests(await deployment());
    expect(gs.length).toBeGreaterThan(0);
    for (const g of gs) {
      const text = JSON.stringify(g);
      for (const content of ["<domain", "<filter", "#cloud-config", "instance-id"]) expect(text, g.urn).not.toContain(content);
      const inputs = flatSpec(g.inputs) as Record<string, unknown>;
      expect(inputs.fileStore).toBe(fileStoreOf(data));
      const full = guestContents(inputs) as { xml: string; seed: { userData: string } };
      expect(full.xml).toContain("<domain");
      expect(full.seed.userData).toMatch(/^#cloud-config/);
      expect(flatSpec(g.outputs)).toMatchObject({ xmlRef: inputs.xmlRef, seedRefs: inputs.seedRefs, nwfilter: inputs.nwfilter, xmlNormalized: expect.stringMatching(/^[0-9a-f]{64}$/) });
    }
  }, 300_000);

  it("a guest's inputs are one JSON text (spec) in the state, its outputs too with what is not an input beside it; a state written with flat inputs or outputs, or spec as an object, previews as no change; a change in them is named as before", async () => {
    // As the accounts' and databases' test below: the guests' form since they went as spec too.
    const now = guests(await deployment());
    expect(now.length).toBeGreaterThan(0);
    for (const r of now) {
      expect(isText(r), r.urn).toBe(true);
      expect(packed(r), r.urn).toBe(true);
      const inSpec = JSON.parse(r.outputs?.spec as string) as Record<string, unknown>;
      expect(inSpec.domain, r.urn).toBe(JSON.parse(r.inputs?.spec as string).domain);
      // What libvirt says, the declared digest and the drift report stay top-level, never in the text.
      expect(r.outputs, r.urn).toMatchObject({ uuid: expect.any(String), archives: expect.any(Array), state: expect.any(String), mac: expect.any(String), xmlNormalized: expect.stringMatching(/^[0-9a-f]{64}$/), xmlFacts: expect.any(Object) });
      for (const k of OUTPUT_ONLY[r.type] ?? []) expect(inSpec[k], `${r.urn} ${k}`).toBeUndefined();
    }
    // What the code before wrote: flat inputs and outputs (and, as the accounts once had, spec as an object).
    await oldSpecFormsPreviewAsNoChange(guests);
    // A refresh writes the outputs in spec form again (the read's answer, packed at the provider's boundary).
    expect((await stack.refresh({ color: "never" })).summary.result).toBe("succeeded");
    expect(guests(await deployment()).every(packed)).toBe(true);
    expect(await changes()).toEqual([]);

    // The state says a guest has more memory than git: the step names memoryMb, the guard reads
    // it flat, the CLI's diff shows the text as JSON.
    const drifted = await stack.exportStack();
    const g = guests(drifted.deployment as Deployment)[0] as Res;
    const gitMemory = JSON.parse(g.inputs?.spec as string).memoryMb as number;
    g.outputs = { ...g.outputs, spec: specText({ ...JSON.parse(g.outputs?.spec as string), memoryMb: gitMemory + 256 }) };
    g.inputs = { spec: specText({ ...JSON.parse(g.inputs?.spec as string), memoryMb: gitMemory + 256 }) };
    await stack.importStack(drifted);
    let shown = "";
    const { plan } = await previewPlan(stack, { diff: true, onOutput: (t) => (shown += t) });
    const moved = plan.steps.filter((x) => x.op !== "same");
    expect(moved.map((x) => [x.op, x.urn])).toEqual([["update", g.urn]]);
    expect(moved[0]?.old?.memoryMb).toBe(gitMemory + 256);
    expect(moved[0]?.oldOutputs?.memoryMb).toBe(gitMemory + 256);
    expect(moved[0]?.new?.memoryMb).toBe(gitMemory);
    expect(stepDiffs(moved[0] as PlanStep)).toEqual(["memoryMb"]);
    expect(shown).toMatch(new RegExp(`~ spec\\s*: \\(json\\) \\{[^]*~ memoryMb[^\\n]*${gitMemory + 256}[^\\n]*${gitMemory}`));
    // The one-line summary names the property the engine compares, spec: the SDK's provider
    // server drops the provider's own list (docs/architecture.md, "The engine and the provider").
    let summary = "";
    await stack.preview({ color: "never", onOutput: (t) => (summary += t) });
    expect(summary).toMatch(new RegExp(`~ +globenet:vm:Guest ${g.urn.split("::").pop()} update \\[diff: ~spec\\]`));
    expect((await stack.up({ color: "never" })).summary.result).toBe("succeeded");
    expect(await changes()).toEqual([]);
  }, 600_000);

  it("a guest state written with contents (in its inputs and outputs) previews as no change; the next up writes refs in its inputs", async () => {
    const exported = await stack.exportStack();
    for (const g of guests(exported.deployment as Deployment)) {
      const full = guestContents(flatSpec(g.inputs) as Record<string, unknown>);
      const { uuid, archives, state, mac } = g.outputs as Record<string, unknown>;
      g.inputs = full;
      g.outputs = { ...full, uuid, archives, state, mac };
    }
    await stack.importStack(exported);
    expect(JSON.stringify(guests(await deployment()))).toContain("<domain");
    expect(await changes()).toEqual([]);
    expect((await stack.up({ color: "never" })).summary.result).toBe("succeeded");
    const after = guests(await deployment());
    expect(after.every((g) => flatSpec(g.inputs)?.xml === undefined && typeof flatSpec(g.inputs)?.xmlRef === "string")).toBe(true);
    expect(JSON.stringify(after.map((g) => g.inputs))).not.toContain("<domain");
    // A step with no change keeps the state's outputs as they were: the contents leave them at
    // the guest's next update or refresh (its read answers the new form: provider-guest).
    expect(JSON.stringify(after.map((g) => g.outputs))).toContain("<domain");
    expect(await changes()).toEqual([]);
  }, 600_000);

  it("accounts' and databases' inputs are one JSON text (spec) in the state, their outputs too with what is not an input beside it; a state written with flat inputs or outputs, or spec as an object, previews as no change; a change in them is named as before", async () => {
    const specced = (d: Deployment) => (d.resources ?? []).filter((r) => r.type === RESOURCE_TOKENS.account || r.type === RESOURCE_TOKENS.database);
    const now = specced(await deployment());
    expect(now.filter((r) => r.type === RESOURCE_TOKENS.account).length).toBeGreaterThan(0);
    expect(now.filter((r) => r.type === RESOURCE_TOKENS.database).length).toBeGreaterThan(0);
    for (const r of now) {
      expect(isText(r), r.urn).toBe(true);
      expect(packed(r), r.urn).toBe(true);
      expect(JSON.parse(r.outputs?.spec as string).handle, r.urn).toBe(JSON.parse(r.inputs?.spec as string).handle);
      expect(Array.isArray(r.outputs?.archives), r.urn).toBe(true);
      // A database's password stays a secret of its own (the engine encrypts it in the state), never in the text.
      if (r.type === RESOURCE_TOKENS.database) expect((r.outputs?.password as Record<string, unknown>)[PULUMI_SIG_KEY], r.urn).toBe(PULUMI_SECRET_SIG);
    }
    // What the code before wrote: flat inputs (and, for a while, spec as an object), flat outputs.
    await oldSpecFormsPreviewAsNoChange(specced);
    // An update writes them in spec form again (the refresh's read too).
    expect((await stack.refresh({ color: "never" })).summary.result).toBe("succeeded");
    expect(specced(await deployment()).every(packed)).toBe(true);
    expect(await changes()).toEqual([]);

    // The state says an account serves one more site than git (as after git removed it): the
    // step names sites, the guard reads them flat, the CLI's diff shows the text as JSON.
    const drifted = await stack.exportStack();
    const acct = specced(drifted.deployment as Deployment).find((r) => r.type === RESOURCE_TOKENS.account && Array.isArray(JSON.parse(r.outputs?.spec as string).sites)) as Res;
    const gitSites = JSON.parse(acct.inputs?.spec as string).sites as string[];
    acct.outputs = { ...acct.outputs, spec: specText({ ...JSON.parse(acct.outputs?.spec as string), sites: [...gitSites, "gone.example"] }) };
    acct.inputs = { spec: specText({ ...JSON.parse(acct.inputs?.spec as string), sites: [...gitSites, "gone.example"] }) };
    await stack.importStack(drifted);
    let shown = "";
    const { plan } = await previewPlan(stack, { diff: true, onOutput: (t) => (shown += t) });
    const moved = plan.steps.filter((x) => x.op !== "same");
    expect(moved.map((x) => [x.op, x.urn])).toEqual([["update", acct.urn]]);
    expect(moved[0]?.new?.handle).toBe(JSON.parse(acct.outputs?.spec as string).handle);
    expect(moved[0]?.oldOutputs?.sites).toEqual([...gitSites, "gone.example"]);
    expect(moved[0]?.old?.sites).toEqual([...gitSites, "gone.example"]);
    expect(moved[0]?.new?.sites).toEqual(gitSites);
    expect(stepDiffs(moved[0] as PlanStep)).toEqual(["sites"]);
    expect(shown).toMatch(/~ spec\s*: \(json\) \{[^]*~ sites[^]*"gone\.example"/);
    expect((await stack.up({ color: "never" })).summary.result).toBe("succeeded");
    expect(await changes()).toEqual([]);
  }, 600_000);

  it("a guest's XML altered in the store to the same size: the preview refuses it, naming the guest; removed, the program writes it again", async () => {
    const g = guests(await deployment())[0] as Res;
    const xmlRef = flatSpec(g.inputs)?.xmlRef as string;
    const file = join(fileStoreOf(data), xmlRef);
    const text = readFileSync(file, "utf8");
    const evil = text.replace("-seed.iso'", "-seeD.iso'");
    expect(evil).not.toBe(text);
    expect(evil.length).toBe(text.length);
    writeFileSync(file, evil);
    const name = g.urn.split("::").pop() as string;
    await expect(stack.preview({ color: "never" })).rejects.toThrow(new RegExp(`globenet:vm:Guest ${name}: xmlRef: the store file .*does not hold the content of sha256 ${xmlRef}.*refused`, "s"));
    rmSync(file);
    expect(await changes()).toEqual([]);
    expect(readFileSync(file, "utf8")).toBe(text);
  }, 600_000);

  it("a zone altered in the store to the same size: a no-op preview reads nothing it checked before; the set's apply refuses it, naming the zone, and nothing goes to the host; removed, the program writes it again", async () => {
    const primary = fileSets(await deployment()).find((s) => s.inputs?.kind === "bind-primary") as Res;
    const refs = loadManifest(primary.inputs?.fileStore as string, primary.inputs?.fileManifest as string);
    const [path, ref] = Object.entries(refs).find(([p]) => p.startsWith("zones/")) as [string, string];
    const file = join(fileStoreOf(data), ref);
    const text = readFileSync(file, "utf8");
    const evil = text.replace(/ IN NS +\S+/, (m) => m.replace(/[a-z]/g, "x"));
    expect(evil).not.toBe(text);
    expect(evil.length).toBe(text.length);
    writeFileSync(file, evil);
    // The refs are the state's: check trusts them and the diff their digest; nothing is read, nothing applied.
    expect(await changes()).toEqual([]);
    // Whatever sends the set to the host reads every file of it, and refuses this one.
    await expect(stack.up({ color: "never", replace: [primary.urn] })).rejects.toThrow(new RegExp(`fileManifest\\["${path.replace(/\./g, "\\.")}"\\].*does not hold the content of sha256 ${ref}.*refused`, "s"));
    expect(fileSets(await deployment()).find((x) => x.urn === primary.urn)?.outputs).toEqual(primary.outputs);
    rmSync(file);
    expect(await changes()).toEqual([]);
    expect(readFileSync(file, "utf8")).toBe(text);
  }, 600_000);
});
