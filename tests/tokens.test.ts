import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../lib/base/repo";
import { BENCH_NOOP_TOKEN, COMPONENT_TOKENS, RESOURCE_TOKENS } from "../lib/base/tokens";
import { GUARD_DECISIONS, judge } from "../lib/guard/rules";
import type { PlanStep } from "../lib/guard/plan";

/**
 * Unit tier (no root, no daemon, no engine): the type tokens that components register, the
 * provider serves and the guard decides on are one set (lib/base/tokens.ts). The program runs
 * under Pulumi's mocks on the example data; every type it registers must be a token the
 * provider (custom resources) or the components know, and deleting each data-holding resource
 * it declared must be caught by the guard with the very type and inputs the program gave it.
 */

interface Seen {
  type: string;
  name: string;
  custom: boolean;
  inputs: Record<string, unknown>;
}
const seen: Seen[] = [];
let registry: Record<string, unknown>;


const ALL_TOKENS = new Set<string>([...Object.values(COMPONENT_TOKENS), ...Object.values(RESOURCE_TOKENS), BENCH_NOOP_TOKEN]);

/** Repository-relative .ts files outside tests/ and node_modules. */
function sources(rel = ""): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(REPO_ROOT, rel), { withFileTypes: true })) {
    if (["node_modules", "tests", "dist"].includes(e.name) || e.name.startsWith(".")) continue;
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

describe("type tokens: components, provider and guard agree", () => {
  beforeAll(async () => {
    pulumi.runtime.setMocks(
      {
        // A DKIM key's public half is its output (made on the mail host): one of the right shape.
        newResource: (args: pulumi.runtime.MockResourceArgs) => ({ id: `${args.name}-id`, state: { ...args.inputs, ...(args.type === "globenet:mail:DkimKey" ? { publicKey: `MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA${"A".repeat(340)}IDAQAB` } : {}) } }),
        call: (args: pulumi.runtime.MockCallArgs) => args.inputs,
      },
      "globenet-infra",
      "prod",
    );
    // Imported after setMocks, as the program must be.
    const { program } = await import("../index.js");
    ({ registry } = await import("../provider/registry.js"));
    await pulumi.runtime.runInPulumiStack(async () => {
      pulumi.runtime.registerStackTransformation((args) => {
        seen.push({ type: args.type, name: args.name, custom: args.resource instanceof pulumi.CustomResource, inputs: args.props as Record<string, unknown> });
        return undefined;
      });
      return program(REPO_ROOT);
    });
  });

  it("the program registers only known tokens: custom ones served by the provider, the others components", () => {
    const custom = [...new Set(seen.filter((s) => s.custom).map((s) => s.type))].sort();
    const components = [...new Set(seen.filter((s) => !s.custom).map((s) => s.type))].sort();
    // The example data exercises every custom type and every component, but the alert bridge
    // and the web part: prod's example has no monitor host (tests/program-alert-bridge.test.ts
    // has one) and splits no web host's members (tests/program-graph-parts.test.ts does).
    expect(custom).toEqual(Object.values(RESOURCE_TOKENS).filter((t) => t !== RESOURCE_TOKENS.alertBridge).sort());
    expect(components).toEqual(Object.values(COMPONENT_TOKENS).filter((t) => t !== COMPONENT_TOKENS.webPart).sort());
    for (const t of custom) expect(registry[t], `${t} is registered by a component but the provider does not serve it`).toBeDefined();
  });

  it("the provider serves exactly the resource tokens, and the guard has a decision for each", () => {
    expect(Object.keys(registry).sort()).toEqual(Object.values(RESOURCE_TOKENS).sort());
    expect(Object.keys(GUARD_DECISIONS).sort()).toEqual(Object.keys(registry).sort());
  });

  it("deleting each data-holding resource the program declared is blocked by the guard", () => {
    const holding = seen.filter((s) => s.custom && !("noLoss" in (GUARD_DECISIONS as Record<string, object>)[s.type]!));
    expect(new Set(holding.map((s) => s.type))).toEqual(new Set([RESOURCE_TOKENS.account, RESOURCE_TOKENS.database, RESOURCE_TOKENS.guest, RESOURCE_TOKENS.backupRepository, RESOURCE_TOKENS.maildirs]));
    for (const s of holding) {
      const step: PlanStep = { op: "delete", type: s.type, name: s.name, urn: `urn:pulumi:prod::globenet-infra::${s.type}::${s.name}`, old: s.inputs } as PlanStep;
      const v = judge({ steps: [step] } as Parameters<typeof judge>[0], { maxShare: 1, allowances: [] });
      expect(v.ok, `${s.type} ${s.name}`).toBe(false);
      expect(v.losses).toHaveLength(1);
    }
  });

  it("deleting a backup repository is a loss allowed by backups/<host> (the repository stays, the message says where)", () => {
    const step = { op: "delete", type: RESOURCE_TOKENS.backupRepository, name: "web1", old: { target: { name: "bk1" }, sourceHost: "web1", path: "/srv/globenet-backup/web1" } } as unknown as PlanStep;
    const blocked = judge({ steps: [step] } as Parameters<typeof judge>[0], { maxShare: 1, allowances: [] });
    expect(blocked.ok).toBe(false);
    expect(blocked.needed).toEqual(["backups/web1"]);
    expect(blocked.losses[0]?.archive).toContain("/srv/globenet-backup/web1 on bk1");
    expect(judge({ steps: [step] } as Parameters<typeof judge>[0], { maxShare: 1, allowances: ["backups/web1"] }).ok).toBe(true);
    const client = { op: "delete", type: RESOURCE_TOKENS.backupClient, name: "web1", old: { target: { name: "web1" } } } as unknown as PlanStep;
    expect(judge({ steps: [client] } as Parameters<typeof judge>[0], { maxShare: 1, allowances: [] }).ok).toBe(true);
  });

  it("the guard misses a delete whose type drifted: why the tokens live in one module", () => {
    const account = seen.find((s) => s.type === RESOURCE_TOKENS.account)!;
    const drifted = { op: "delete", type: "globenet:hosting:HostingAccount", name: account.name, old: account.inputs } as PlanStep;
    expect(judge({ steps: [drifted] } as Parameters<typeof judge>[0], { maxShare: 1, allowances: [] }).ok).toBe(true);
  });

  it("no source writes a globenet:<module>:<Type> string but lib/base/tokens.ts", () => {
    const literal = /["'`](globenet:[a-z]+:[A-Z][A-Za-z]*)["'`]/g;
    const found: string[] = [];
    for (const f of sources()) {
      if (f === "lib/base/tokens.ts") continue;
      const text = readFileSync(join(REPO_ROOT, f), "utf8");
      for (const m of text.matchAll(literal)) found.push(`${f}: ${m[1]}`);
    }
    expect(found).toEqual([]);
    expect(ALL_TOKENS.size).toBe(21);
  });
});
