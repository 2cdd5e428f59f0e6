import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportEncrypted, openStack, openWorkspace, type StackOptions } from "../lib/engine/driver";
import { writeShardedTree } from "./helpers/shard-tree";

/**
 * A sharded stack's secrets on the real engine (docs/architecture.md, "Sharded stacks"): the
 * alert bridge's token is set once, encrypted, in the stack's Pulumi.bench.yaml; the shard
 * holding the monitor host (bench.core) gets it, the other (bench.webs) never holds it — not
 * in its program, its config file or its state. A file backend of the test's own, the
 * provider's dry mode (no host is touched).
 */

const TOKEN = "glpat-shard-secret-test-3f9c2e";
type Res = { urn: string; type: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> };

describe("a sharded stack's secrets reach the shard that needs them, and no other", () => {
  let dir: string;
  let data: string;
  let opts: (stack: string) => StackOptions;
  const stacks: Record<string, Stack> = {};
  const printed = { core: "", webs: "" } as Record<string, string> & { core: string; webs: string };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "globenet-shards-secrets-"));
    data = join(dir, "data");
    writeShardedTree(data, 6, { core: ["db1", "ns1", "ns2", "hv1", "mon1"], webs: ["web1", "web2"] });
    // A monitor host, and the GitLab project its alert bridge reports to.
    const file = join(data, "Pulumi.bench.yaml");
    let inv = readFileSync(file, "utf8");
    const ns2 = /      ns2:\n(?:        .*\n)+/.exec(inv)?.[0] as string;
    inv = inv.replace(ns2, ns2 + ns2.replace(/ns2/g, "mon1").replace("[dns-secondary]", "[monitor]").replace("192.0.2.14", "192.0.2.15"));
    inv = inv.replace("    hosts:\n", "    monitoring:\n      gitlab: { api: https://gitlab.example/api/v4, project: globenet/infra }\n    hosts:\n");
    writeFileSync(file, inv);
    const env = { PULUMI_BACKEND_URL: `file://${dir}/state`, PULUMI_CONFIG_PASSPHRASE: "globenet-shards-secrets-throwaway", GLOBENET_PROVIDER_DRY_RUN: "1", PULUMI_HOME: join(dir, "pulumi-home") };
    opts = (stack) => ({ stack, root: data, env });
    for (const s of ["core", "webs"]) stacks[s] = await openStack(opts(`bench.${s}`));
    // As a volunteer sets it (the value on standard input, never in argv): into the stack's own file.
    const w = await openWorkspace(opts("bench.core"));
    execFileSync("pulumi", ["config", "set", "--secret", "alertBridgeToken", "--config-file", file, "--stack", "bench.core", "--non-interactive"], { cwd: data, env: { ...process.env, ...w.ws.envVars }, input: TOKEN });
  }, 300_000);

  afterAll(() => {
    delete process.env.GLOBENET_PROVIDER_DRY_RUN;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("the stack's file holds the token encrypted only", () => {
    const text = readFileSync(join(data, "Pulumi.bench.yaml"), "utf8");
    expect(text).toMatch(/globenet-infra:alertBridgeToken:\n\s+secure: v1:/);
    expect(text).not.toContain(TOKEN);
  });

  it("both shards apply; the monitor's shard installs the bridge with the token, the other never holds it", async () => {
    for (const s of ["core", "webs"]) {
      const r = await stacks[s]!.up({ color: "never", onOutput: (o: string) => (printed[s] += o) });
      expect(r.summary.result).toBe("succeeded");
    }
    // exportStack decrypts the state's secrets: what each shard's state holds, in clear.
    const state = async (s: string) => JSON.stringify((await stacks[s]!.exportStack()).deployment);
    const core = await state("core");
    const bridge = ((JSON.parse(core) as { resources: Res[] }).resources ?? []).filter((r) => r.type.startsWith("globenet:") && r.urn.includes("alert-bridge"));
    expect(bridge.length).toBeGreaterThan(0);
    expect(core).toContain(TOKEN);
    expect(await state("webs")).not.toContain(TOKEN);
    expect(await state("webs")).not.toContain("alert-bridge");
    // Stored encrypted in the shard's state, and never printed.
    const w = await openWorkspace(opts("bench.core"));
    expect(JSON.stringify(await exportEncrypted(w, "bench.core"))).not.toContain(TOKEN);
    expect(printed.core + printed.webs).not.toContain(TOKEN);
    // No shard has a config file holding it (the driver writes none), nor does any file of the backend.
    for (const f of readdirSync(data).filter((x) => /^Pulumi\.bench\..+\.yaml$/.test(x))) {
      expect(readFileSync(join(data, f), "utf8"), f).not.toMatch(/alertBridgeToken|glpat/);
    }
    const grep = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? grep(join(d, e.name)) : readFileSync(join(d, e.name)).includes(TOKEN) ? [join(d, e.name)] : []));
    expect(existsSync(join(dir, "state"))).toBe(true);
    expect(grep(join(dir, "state"))).toEqual([]);
  }, 600_000);

  it("a token written in clear in the stack's file is refused before anything runs", async () => {
    const file = join(data, "Pulumi.bench.yaml");
    const text = readFileSync(file, "utf8");
    writeFileSync(file, text.replace(/  globenet-infra:alertBridgeToken:\n\s+secure: .*\n/, "  globenet-infra:alertBridgeToken: glpat-in-clear\n"));
    try {
      await expect(stacks.core!.preview({ color: "never" })).rejects.toThrow(/config\.globenet-infra:alertBridgeToken: is a secret and is written in clear/);
    } finally {
      writeFileSync(file, text);
    }
  }, 300_000);
});
