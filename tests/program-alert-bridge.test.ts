import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { RESOURCE_TOKENS } from "../lib/base/tokens";
import { loadModel } from "../lib/check/build";
import { renderAll } from "../lib/render";
import { baseFiles, writeTree } from "./helpers/data-tree";

/**
 * Unit tier, under Pulumi's mocks: the program installs the alert bridge on the monitor host
 * when the inventory names the GitLab project (monitoring.gitlab) and the stack has the secret
 * alertBridgeToken; the environment file reaches the resource as a secret Output, and nothing
 * rendered from the data holds the token. (The example data of tests/tokens.test.ts has no
 * monitor host; this tree has one.)
 */
const TOKEN = "glpat-graphtest0123456789";
const MON = '      mon1:\n        roles: [monitor]\n        fqdn: mon1.globenet.example\n        address: 192.0.2.90\n        ssh: { user: globenet-deploy, host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIt66hsl0UmhbWOOYYARi4o8U8BR+ZZgOBKkbfMpve29" }\n';
const inventory = (baseFiles()["Pulumi.test.yaml"] as string).replace("    hosts:\n", `    monitoring: { gitlab: { api: "https://gitlab.example/api/v4", project: globenet/infra } }\n    hosts:\n${MON}`);

interface Seen {
  type: string;
  name: string;
  props: Record<string, unknown>;
}
const seen: Seen[] = [];
let root = "";

describe("the alert bridge in the resource graph (monitor host, monitoring.gitlab, stack secret)", () => {
  beforeAll(async () => {
    root = writeTree({ "Pulumi.test.yaml": inventory });
    pulumi.runtime.setMocks(
      {
        newResource: (args: pulumi.runtime.MockResourceArgs) => ({ id: `${args.name}-id`, state: { ...args.inputs } }),
        call: (args: pulumi.runtime.MockCallArgs) => args.inputs,
      },
      "globenet-infra",
      "test",
    );
    pulumi.runtime.setAllConfig({ "globenet-infra:alertBridgeToken": TOKEN }, ["globenet-infra:alertBridgeToken"]);
    const { program } = await import("../index.js");
    await pulumi.runtime.runInPulumiStack(async () => {
      pulumi.runtime.registerStackTransformation((args) => {
        seen.push({ type: args.type, name: args.name, props: args.props as Record<string, unknown> });
        return undefined;
      });
      return program(root);
    });
  });

  it("one AlertBridge on mon1: its unit from the data, its environment file a secret with the token", async () => {
    const bridges = seen.filter((s) => s.type === RESOURCE_TOKENS.alertBridge);
    expect(bridges.map((b) => b.name)).toEqual(["mon1-alert-bridge"]);
    const b = bridges[0]!;
    expect((b.props.target as { name: string }).name).toBe("mon1");
    expect(b.props.unit).toContain("monitor bridge --listen 127.0.0.1:9099\n");
    expect(b.props.unit).not.toContain(TOKEN);
    const env = b.props.env as pulumi.Output<string>;
    expect(await pulumi.isSecret(env)).toBe(true);
    const text = await new Promise<string>((resolve) => env.apply((v) => resolve(v)));
    expect(text).toBe(`CI_API_V4_URL=https://gitlab.example/api/v4\nCI_PROJECT_ID=globenet/infra\nGITLAB_API_TOKEN=${TOKEN}\n`);
  });

  it("nothing rendered from the data (what CI diffs and posts) holds the token", () => {
    const { model } = loadModel(root, "test");
    const all = renderAll(model!);
    expect(all.length).toBeGreaterThan(10);
    expect(all.filter((f) => f.content.includes(TOKEN)).map((f) => f.path)).toEqual([]);
  });
});
