/**
 * Unit tier: `npm run import`'s own checks, before any host is read (the real run against a
 * host is tests/import-legacy-host.test.ts): usage errors, guests asked of a host that is no
 * hypervisor, an unknown host, a broken mapping file reported at its line, what `all` reads by
 * role, and the writer that never replaces a file without --force nor writes outside members/
 * and zones/.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { allFor } from "../lib/cli/import";
import { writeDataFiles } from "../lib/import/write-files";
import { cli } from "./helpers/cli";
import { baseFiles, writeTree } from "./helpers/data-tree";

const tmp = mkdtempSync(join(tmpdir(), "globenet-import-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("npm run import", () => {
  const root = writeTree(baseFiles());
  const run = (...argv: string[]) => cli(["import", ...argv, "--root", root, "--stack", "test"], { GLOBENET_LANG: "en" });

  it("says what to import and which host, exit 2", async () => {
    const none = await run();
    expect(none.status).toBe(2);
    expect(none.stderr).toContain("error: say what to import: zones, sites, accounts, databases, guests, mail, all (got nothing)");
    const noHost = await run("zones");
    expect(noHost.stderr).toContain("error: name the host to read: --host <inventory host>");
    const two = await run("zones", "sites", "--host", "ns1");
    expect(two.stderr).toContain('npm run import takes one thing to import, not "sites"');
  });

  it("reads guests on a hypervisor only (English and French usage errors name the role)", async () => {
    const r = await run("guests", "--host", "web1");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("error: host web1 is not a hypervisor in Pulumi.test.yaml: guests are read on a host with the hypervisor role");
  });

  it("names the inventory's hosts when --host is not one of them", async () => {
    const r = await run("zones", "--host", "web9");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("error: no host web9 in Pulumi.test.yaml (its hosts: hv1, ns1, ns2, web1)");
  });

  it("reports a broken mapping file at its line, before reaching any host", async () => {
    const map = join(tmp, "import-map.yaml");
    writeFileSync(map, "accounts:\n  alice: { membre: velo-libre }\n");
    const r = await run("accounts", "--host", "web1", "--map", map);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${map}:2:12 accounts.alice.membre: unknown key (did you mean "member"?)`);
  });

  it("all reads what the host's roles hold", () => {
    expect(allFor({ roles: ["web", "db"] })).toEqual(["sites", "accounts", "databases"]);
    expect(allFor({ roles: ["dns-primary"] })).toEqual(["zones"]);
    expect(allFor({ roles: ["web", "dns-primary"] })).toEqual(["zones", "sites", "accounts"]);
    expect(allFor({ roles: ["hypervisor"] })).toEqual(["guests"]);
    expect(allFor({ roles: ["backup"] })).toEqual([]);
  });
});

describe("writing the imported files", () => {
  it("never replaces a file without --force, and writes only under members/ and zones/", () => {
    const out = join(tmp, "out");
    const f = { path: "zones/a.example.yaml", text: "new\n", todos: 1 };
    expect(writeDataFiles(out, [f], false).written).toEqual([f]);
    writeFileSync(join(out, f.path), "reviewed\n");
    expect(writeDataFiles(out, [{ ...f, text: "newer\n" }], false).kept.map((k) => k.path)).toEqual([f.path]);
    expect(readFileSync(join(out, f.path), "utf8")).toBe("reviewed\n");
    writeDataFiles(out, [{ ...f, text: "newer\n" }], true);
    expect(readFileSync(join(out, f.path), "utf8")).toBe("newer\n");
    for (const path of ["../escape.yaml", "Pulumi.prod.yaml", "members/../../x.yaml"]) {
      expect(() => writeDataFiles(out, [{ path, text: "x", todos: 0 }], true), path).toThrow(/refusing to write/);
    }
    expect(existsSync(join(tmp, "escape.yaml"))).toBe(false);
  });
});
