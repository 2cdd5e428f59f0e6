import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";

interface Seen {
  type: string;
  name: string;
  parentType?: string;
  parentName?: string;
  inputs?: Record<string, unknown>;
  custom: boolean;
  resource: pulumi.Resource;
}

const seen: Seen[] = [];
const outputs = new Map<string, Record<string, unknown>>();
let program: typeof import("../index.js").program;
let result: Record<string, unknown>;

describe("the resource graph of the example data (stack prod, under mocks)", () => {
  beforeAll(async () => {
    pulumi.runtime.setMocks(
      {
        newResource(args: pulumi.runtime.MockResourceArgs) {
          const state: Record<string, unknown> = { ...args.inputs };
          // Mocks ignore additionalSecretOutputs: a secret output must be made secret here.
          if (args.type === "globenet:db:Database") state.password = pulumi.secret("mock-password-0123456789abcdef");
          outputs.set(`${args.type}::${args.name}`, state);
          return { id: `${args.name}-id`, state };
        },
        call: (args: pulumi.runtime.MockCallArgs) => args.inputs,
      },
      "globenet-infra",
      "prod",
    );
    // The code under test is imported after setMocks.
    ({ program } = await import("../index.js"));
    const outs = await pulumi.runtime.runInPulumiStack(async () => {
      pulumi.runtime.registerStackTransformation((args) => {
      const parent = args.opts.parent as (pulumi.Resource & { __pulumiType?: string; __name?: string }) | undefined;
      seen.push({
        type: args.type,
        name: args.name,
        parentType: parent?.__pulumiType,
        parentName: parent?.__name,
        inputs: args.props as Record<string, unknown>,
        custom: args.resource instanceof pulumi.CustomResource,
        resource: args.resource,
      });
      return undefined;
    });
      return program();
    });
    result = outs as Record<string, unknown>;
  });

  const names = (type: string) => seen.filter((s) => s.type === type).map((s) => s.name).sort();

  it("makes one Member component per current member, named by handle", () => {
    expect(names("globenet:member:Member")).toEqual(["biblio-menil", "cine-quartier", "globenet", "jardins-partages", "ondes-libres", "theatre-aube", "velo-libre"]);
    expect(result.members).toBe(7);
  });

  it("gives each member's account, databases and VPS that member as parent", () => {
    for (const type of ["globenet:hosting:Account", "globenet:db:Database", "globenet:vm:Guest"]) {
      for (const s of seen.filter((x) => x.type === type)) {
        expect(s.parentType, `${type} ${s.name}`).toBe("globenet:member:Member");
      }
    }
    const db = seen.find((s) => s.type === "globenet:db:Database" && s.name === "velo_wp");
    expect(db?.parentName).toBe("velo-libre");
    expect(names("globenet:db:Database")).toEqual(["aube_wp", "globenet_spip", "jardins_doli", "jardins_wp", "ondes_wp", "velo_wp"]);
    expect(names("globenet:vm:Guest")).toEqual(["ondes-libres--stream", "velo-libre--atelier"]);
    // biblio-menil has a site: an account; every member with sites has one.
    expect(names("globenet:hosting:Account")).toContain("biblio-menil");
  });

  it("passes each member's access to its account: biblio-menil (no key) is sftp with its hash, the others ssh without one", () => {
    const acct = (n: string) => seen.find((s) => s.type === "globenet:hosting:Account" && s.name === n)?.inputs as { access: string; passwordHash?: string; sshKeys: string[] };
    expect(acct("biblio-menil")).toMatchObject({ access: "sftp", sshKeys: [], passwordHash: expect.stringMatching(/^\$y\$/) });
    expect(acct("velo-libre").access).toBe("ssh");
    expect(acct("velo-libre").passwordHash).toBeUndefined();
  });

  it("gives each guest its hypervisor's shutdown timeout and runs it only for an active member", () => {
    const guest = (n: string) => seen.find((s) => s.type === "globenet:vm:Guest" && s.name === n)?.inputs as { shutdownTimeoutSec: number; running: boolean; memoryMb: number };
    // Pulumi.prod.yaml: hv1 sets shutdown_timeout_sec: 120; hv2 leaves the default.
    expect(guest("velo-libre--atelier")).toMatchObject({ shutdownTimeoutSec: 120, running: true, memoryMb: 2048 });
    expect(guest("ondes-libres--stream").shutdownTimeoutSec).toBe(90);
  });

  it("makes one file set per daemon and host, under its server component", () => {
    expect(names("globenet:files:FileSet")).toEqual(["ns1-bind", "ns2-bind", "web1-apache2", "web1-php8.2", "web1-www"]);
    const kinds = Object.fromEntries(seen.filter((s) => s.type === "globenet:files:FileSet").map((s) => [s.name, s.inputs?.kind]));
    expect(kinds).toEqual({ "ns1-bind": "bind-primary", "ns2-bind": "bind-secondary", "web1-apache2": "apache2", "web1-php8.2": "php-fpm", "web1-www": "www" });
    expect(seen.find((s) => s.name === "web1-apache2")?.parentType).toBe("globenet:web:WebServer");
    expect(seen.find((s) => s.name === "ns1-bind")?.parentType).toBe("globenet:dns:DnsServer");
  });

  it("hands zone files to the provider with the serial left for it to set", () => {
    const bind = outputs.get("globenet:files:FileSet::ns1-bind") as { files: Record<string, string> };
    expect(Object.keys(bind.files)).toContain("zones/velo-libre.example.zone");
    expect(bind.files["zones/velo-libre.example.zone"]).toContain("@@GLOBENET_SERIAL@@");
  });

  it("keeps database passwords secret and carries no key material in any input", async () => {
    const dbs = seen.filter((s) => s.type === "globenet:db:Database");
    expect(dbs.length).toBe(6);
    for (const d of dbs) {
      const password = (d.resource as unknown as { password: pulumi.Output<string> }).password;
      expect(await pulumi.isSecret(password)).toBe(true);
    }
    for (const s of seen) {
      const text = JSON.stringify(s.inputs ?? {});
      expect(text).not.toMatch(/PRIVATE KEY/);
      expect(text).not.toMatch(/password"\s*:\s*"[^"]/);
    }
    const all = [...outputs.values()].map((o) => JSON.stringify(o)).join("\n");
    expect(all).not.toMatch(/BEGIN OPENSSH/);
  });
});
