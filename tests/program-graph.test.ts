import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../lib/base/repo";
import { fileStoreOf, loadManifest, setFiles } from "../provider/resources/file-store";
import { guestType } from "../provider/resources/guest";
import { guestContents } from "../provider/resources/guest-refs";
import { flatSpec } from "../lib/base/spec-inputs";

interface Seen {
  type: string;
  name: string;
  parentType?: string;
  parentName?: string;
  inputs?: Record<string, unknown>;
  custom: boolean;
  resource: pulumi.Resource;
  /** The names of what it depends on (opts.dependsOn). */
  dependsOn: string[];
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
          // Made on the mail host in an apply: a public half of the right shape, distinct per key.
          if (args.type === "globenet:mail:DkimKey") state.publicKey = `MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA${Buffer.from(args.name).toString("base64").replace(/=/g, "")}${"A".repeat(300)}IDAQAB`;
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
        dependsOn: ([] as unknown[]).concat(args.opts.dependsOn ?? []).map((r) => (r as { __name?: string }).__name ?? "?"),
      });
      return undefined;
    });
      return program();
    });
    result = outs as Record<string, unknown>;
    // The primary's zone set waits for the DKIM keys' outputs (the zones carry their TXT): its
    // registration reaches the mocks a few turns after the program returned.
    for (let i = 0; i < 100 && !outputs.has("globenet:files:FileSet::ns1-bind"); i++) await new Promise((r) => setTimeout(r, 20));
  });

  const names = (type: string) => seen.filter((s) => s.type === type).map((s) => s.name).sort();
  /** A file set's contents: the engine gets sha256 refs into the runner's store, read back here. */
  const setOf = (name: string) => setFiles(outputs.get(`globenet:files:FileSet::${name}`)) as Record<string, string>;

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

  it("sends accounts', databases' and guests' inputs as one JSON text, spec (lib/base/spec-inputs.ts), keys sorted; the other types' as properties", () => {
    for (const type of ["globenet:hosting:Account", "globenet:db:Database", "globenet:vm:Guest"]) {
      const of = seen.filter((s) => s.type === type);
      expect(of.length, type).toBeGreaterThan(0);
      // The output properties (archives, a database's password, a guest's uuid) go as undefined: not sent.
      for (const s of of) {
        expect(Object.keys(s.inputs ?? {}).filter((k) => s.inputs?.[k] !== undefined), `${type} ${s.name}`).toEqual(["spec"]);
        const text = s.inputs?.spec as string;
        expect(typeof text).toBe("string");
        expect(Object.keys(JSON.parse(text))).toEqual(Object.keys(JSON.parse(text)).sort());
        expect(JSON.parse(text).target).toMatchObject({ name: expect.any(String) });
      }
    }
    const sets = seen.filter((s) => s.type === "globenet:files:FileSet");
    expect(sets.length).toBeGreaterThan(0);
    expect(sets.every((s) => s.inputs?.spec === undefined && typeof s.inputs?.kind === "string")).toBe(true);
  });

  it("passes each member's access to its account: biblio-menil (no key) is sftp with its hash, the others ssh without one", () => {
    const spec = (n: string) => seen.find((s) => s.type === "globenet:hosting:Account" && s.name === n)?.inputs?.spec as string | undefined;
    const acct = (n: string) => JSON.parse(spec(n) ?? "{}") as { access: string; passwordHash?: string; sshKeys: string[] };
    expect(acct("biblio-menil")).toMatchObject({ access: "sftp", sshKeys: [], passwordHash: expect.stringMatching(/^\$y\$/) });
    expect(acct("velo-libre").access).toBe("ssh");
    expect(acct("velo-libre").passwordHash).toBeUndefined();
  });

  it("gives each guest its hypervisor's shutdown timeout and runs it only for an active member", () => {
    const guest = (n: string) => flatSpec(seen.find((s) => s.type === "globenet:vm:Guest" && s.name === n)?.inputs) as { shutdownTimeoutSec: number; running: boolean; memoryMb: number };
    // Pulumi.prod.yaml: hv1 sets shutdown_timeout_sec: 120; hv2 leaves the default.
    expect(guest("velo-libre--atelier")).toMatchObject({ shutdownTimeoutSec: 120, running: true, memoryMb: 2048 });
    expect(guest("ondes-libres--stream").shutdownTimeoutSec).toBe(90);
  });

  it("hands each guest's XML, seed and filter to the provider as refs into the data root's store, which read back pass its check", () => {
    const g = flatSpec(outputs.get("globenet:vm:Guest::velo-libre--atelier")) as Record<string, unknown>;
    // No content reaches the engine.
    for (const k of ["xml", "seed"]) expect(g[k]).toBeUndefined();
    expect(g.fileStore).toBe(fileStoreOf(REPO_ROOT));
    expect(g.xmlRef).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.values(g.seedRefs as Record<string, string>).every((r) => /^[0-9a-f]{64}$/.test(r))).toBe(true);
    expect(g.nwfilter).toEqual({ name: "globenet-clean-traffic", xmlRef: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const full = guestContents(g) as { xml: string; seed: { userData: string }; nwfilter: { xml: string } };
    expect(full.xml).toContain("<name>velo-libre--atelier</name>");
    expect(full.seed.userData).toMatch(/^#cloud-config/);
    expect(full.nwfilter.xml).toContain("<filter name='globenet-clean-traffic'");
    expect(guestType.check(g)).toEqual({ inputs: expect.objectContaining({ xmlRef: g.xmlRef, fileStore: g.fileStore }) });
  });

  it("makes one file set per daemon and host, under its server component", () => {
    expect(names("globenet:files:FileSet")).toEqual(["mail1-mail", "ns1-bind", "ns2-bind", "web1-apache2", "web1-php8.2", "web1-www"]);
    const kinds = Object.fromEntries(seen.filter((s) => s.type === "globenet:files:FileSet").map((s) => [s.name, s.inputs?.kind]));
    expect(kinds).toEqual({ "mail1-mail": "mail", "ns1-bind": "bind-primary", "ns2-bind": "bind-secondary", "web1-apache2": "apache2", "web1-php8.2": "php-fpm", "web1-www": "www" });
    expect(seen.find((s) => s.name === "web1-apache2")?.parentType).toBe("globenet:web:WebServer");
    expect(seen.find((s) => s.name === "ns1-bind")?.parentType).toBe("globenet:dns:DnsServer");
  });

  it("applies a secondary name server after the primary: a new zone is loaded on ns1 before ns2 asks for it", () => {
    const servers = seen.filter((s) => s.type === "globenet:dns:DnsServer");
    expect(servers.map((s) => [s.name, s.dependsOn])).toEqual([
      ["ns1", []],
      ["ns2", ["ns1"]],
    ]);
  });

  it("hands zone files to the provider with the serial left for it to set", () => {
    const bind = outputs.get("globenet:files:FileSet::ns1-bind") as { files?: unknown; fileRefs?: unknown; fileManifest: string; fileStore: string };
    // No content reaches the engine, nor the list of refs: the sha256 of the manifest in the data root's store.
    expect(bind.files).toBeUndefined();
    expect(bind.fileRefs).toBeUndefined();
    expect(bind.fileStore).toBe(fileStoreOf(REPO_ROOT));
    expect(bind.fileManifest).toMatch(/^[0-9a-f]{64}$/);
    const refs = loadManifest(bind.fileStore, bind.fileManifest);
    expect(Object.keys(refs)).toContain("zones/velo-libre.example.zone");
    expect(refs["zones/velo-libre.example.zone"]).toMatch(/^[0-9a-f]{64}$/);
    expect(setOf("ns1-bind")["zones/velo-libre.example.zone"]).toContain("@@GLOBENET_SERIAL@@");
  });

  it("the mail host: a MailServer on mail1, one DKIM key per mail domain made there, the mail set after the keys, each key's TXT appended to its zone on ns1", () => {
    expect(names("globenet:mail:MailServer")).toEqual(["mail1"]);
    expect(names("globenet:mail:DkimKey")).toEqual(["mail1-dkim-velo-libre.example-g1"]);
    const key = seen.find((s) => s.type === "globenet:mail:DkimKey");
    expect(key?.parentType).toBe("globenet:mail:MailServer");
    expect(key?.inputs).toMatchObject({ selector: "g1", domain: "velo-libre.example", archiveDir: "/var/backups/globenet-archive", target: { name: "mail1", address: "192.0.2.25" } });
    const set = seen.find((s) => s.name === "mail1-mail");
    expect(set?.parentType).toBe("globenet:mail:MailServer");
    // OpenDKIM's key table names the key: the key exists before the set goes live.
    expect(set?.dependsOn).toEqual(["mail1-dkim-velo-libre.example-g1"]);
    const files = setOf("mail1-mail");
    expect(files["postfix/maps/mailboxes"]).toBe("contact@velo-libre.example velo-libre.example/contact/\ntresorier@velo-libre.example velo-libre.example/tresorier/\n");
    expect(files["postfix/maps/aliases"]).toContain("bureau@velo-libre.example contact@velo-libre.example, tresorier@velo-libre.example\n");
    expect(files["opendkim/globenet-keytable"]).toBe("g1._domainkey.velo-libre.example velo-libre.example:g1:/etc/globenet/mail/dkim/g1/velo-libre.example.private\n");
    // The prod paths and the fixed vmail uid; the member's hash only in Dovecot's users file.
    expect(files["dovecot/dovecot.conf"]).toContain("first_valid_uid = 5000\n");
    expect(files["dovecot/dovecot.conf"]).toContain("mail_location = maildir:/var/vmail/%d/%n/Maildir\n");
    expect(Object.entries(files).filter(([, c]) => c.includes("$argon2id$")).map(([p]) => p)).toEqual(["dovecot/globenet-users"]);
    // The DKIM record: the key's output, split in 255-byte strings, relative to the zone's origin.
    const zone = setOf("ns1-bind")["zones/velo-libre.example.zone"] as string;
    const mock = `MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA${Buffer.from("mail1-dkim-velo-libre.example-g1").toString("base64").replace(/=/g, "")}${"A".repeat(300)}IDAQAB`;
    const txt = `v=DKIM1; k=rsa; p=${mock}`;
    expect(zone).toContain(`g1._domainkey IN TXT   ( ; derived: DKIM key g1 of velo-libre.example, made on mail1\n`);
    const strings = [...zone.slice(zone.indexOf("g1._domainkey")).matchAll(/"([^"]*)"/g)].map((m) => m[1]).slice(0, 2);
    expect(strings.join("")).toBe(txt);
    expect(strings[0]).toHaveLength(255);
    // The derived MX, SPF and DMARC of the data are in the same file.
    expect(zone).toMatch(/^@\s+IN MX\s+10 mail1\.globenet\.example\./m);
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
