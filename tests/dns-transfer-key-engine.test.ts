import { readFileSync, readdirSync, rmSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeSyntheticTree } from "../lib/bench/synthetic";
import { RESOURCE_TOKENS } from "../lib/base/tokens";
import { openStack } from "../lib/engine/driver";

/**
 * The zone transfer key through the real engine (system tier: the Pulumi CLI; the provider in
 * its dry mode, stack "bench" only, so no host is touched but check, diff and the key's making
 * run as in an apply): the primary's copy makes the key, the secondary's copy gets the same
 * one through the program's output → input, the state holds it encrypted only, the
 * secondary's bind file set waits for its key, and raising dns_transfers.key_rotation makes a
 * new key that the secondary follows in the same `up`.
 */
describe("the zone transfer key through the engine", () => {
  let dir: string;
  let data: string;
  let stack: Stack;
  const inv = () => join(data, "Pulumi.bench.yaml");

  type Res = { urn: string; type: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown>; dependencies?: string[] };
  const plaintext = (v: unknown): string => {
    const o = v as { plaintext?: string } | undefined;
    return o?.plaintext ? (JSON.parse(o.plaintext) as string) : "";
  };
  const keys = async () => {
    const d = (await stack.exportStack()).deployment as { resources: Res[] };
    const byName = (n: string) => d.resources.find((r) => r.urn.endsWith(`::${n}`));
    return { d, ns1: byName("ns1-transfer-key"), ns2: byName("ns2-transfer-key"), set2: byName("ns2-bind") };
  };
  /** The raw state file(s) of the file backend, as kept on disk. */
  const stateText = () => {
    const out: string[] = [];
    const walk = (p: string) => {
      for (const e of readdirSync(p, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(p, e.name));
        else if (e.name.endsWith(".json")) out.push(readFileSync(join(p, e.name), "utf8"));
      }
    };
    walk(join(dir, ".pulumi"));
    return out.join("\n");
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "globenet-tkey-"));
    data = join(dir, "data");
    writeSyntheticTree(data, 3);
    // A secondary beside the synthetic tree's primary (same shape as ns1's entry).
    const text = readFileSync(inv(), "utf8");
    const ns1 = /( {6}ns1:\n(?: {8}.*\n)+)/.exec(text)?.[1];
    if (!ns1) throw new Error("the synthetic inventory has no ns1 entry");
    const ns2 = ns1.replace("ns1:", "ns2:").replace("dns-primary", "dns-secondary").replace("ns1.globenet", "ns2.globenet").replace(/address: \S+/, "address: 198.51.100.53");
    writeFileSync(inv(), text.replace(ns1, ns1 + ns2));
    stack = await openStack({
      stack: "bench",
      root: data,
      env: { PULUMI_BACKEND_URL: `file://${dir}`, PULUMI_CONFIG_PASSPHRASE: "globenet-tkey-test-throwaway", GLOBENET_PROVIDER_DRY_RUN: "1", PULUMI_HOME: join(dir, "pulumi-home") },
    });
  }, 600_000);

  afterAll(() => {
    delete process.env.GLOBENET_PROVIDER_DRY_RUN;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("the primary's copy makes the key, the secondary's gets the same one, the state holds it encrypted only", async () => {
    const up = await stack.up({ color: "never" });
    expect(up.summary.result).toBe("succeeded");
    const { ns1, ns2, set2 } = await keys();
    expect(ns1?.type).toBe(RESOURCE_TOKENS.transferKey);
    const secret = plaintext(ns1?.outputs?.secret);
    expect(secret).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(plaintext(ns2?.inputs?.secret)).toBe(secret);
    expect(plaintext(ns2?.outputs?.secret)).toBe(secret);
    // The secondary's bind set (which includes the key's file) is applied after its key.
    expect(set2?.dependencies).toContain(ns2?.urn);
    const raw = stateText();
    expect(raw).toContain("ns2-transfer-key");
    expect(raw).toContain("ciphertext");
    expect(raw.includes(secret)).toBe(false);
  }, 600_000);

  it("raising dns_transfers.key_rotation makes a new key, and the secondary follows in the same up", async () => {
    const before = plaintext((await keys()).ns1?.outputs?.secret);
    writeFileSync(inv(), readFileSync(inv(), "utf8").replace("    hosts:\n", "    dns_transfers: { key_rotation: 1 }\n    hosts:\n"));
    const up = await stack.up({ color: "never" });
    expect(up.summary.result).toBe("succeeded");
    expect(up.summary.resourceChanges?.update).toBe(2);
    const { ns1, ns2 } = await keys();
    const after = plaintext(ns1?.outputs?.secret);
    expect(after).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(after).not.toBe(before);
    expect(plaintext(ns2?.outputs?.secret)).toBe(after);
    expect(stateText().includes(after)).toBe(false);
    // Nothing changed: nothing to do, the key stays.
    const again = await stack.preview({ color: "never" });
    expect(again.changeSummary.update ?? 0).toBe(0);
  }, 600_000);
});
