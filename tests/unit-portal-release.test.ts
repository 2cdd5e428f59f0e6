import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "./helpers/temp-dir";
import { REPO_ROOT } from "../lib/base/repo";
import { isReleaseName, prunable, releaseFiles, releaseName, RELEASE_BUNDLE } from "../provider/release";
import { buildPortalRelease } from "../provider/release-build";
import { startMode } from "../provider/resources/portal";
import { loadScript } from "../provider/scripts/load";

/**
 * Shipping the portal's code (docs/architecture.md, "Member portal", "Shipping the code"): what a
 * release holds, its name, which old releases a host drops, when the portal restarts or reloads,
 * the build itself (the same bytes twice, nothing but the bundle and the templates, runnable
 * away from any node_modules), and the host script's refusal when doveadm is missing.
 */
const A = "a".repeat(64);
const B = "b".repeat(64);
const C = "c".repeat(64);
const D = "d".repeat(64);

describe("a release: its files and name", () => {
  it("the bundle at the top, every template under templates/", () => {
    expect(Object.keys(releaseFiles("x", { "portal/login.hbs": "t", "live-cert.hbs": "l" })).sort()).toEqual(["portal.cjs", "templates/live-cert.hbs", "templates/portal/login.hbs"]);
  });

  it.each([["../x.hbs"], ["/etc/x.hbs"], ["portal/.env"], ["a//b.hbs"], ["Pulumi.prod.yaml"]])("refuses %s", (rel) => {
    expect(() => releaseFiles("x", { [rel]: "t" })).toThrow(/refusing .* templates are lib\/render\/templates/);
  });

  it("refuses an empty bundle; the name is the tar's sha256, and only such names are releases", () => {
    expect(() => releaseFiles("", {})).toThrow(/empty/);
    expect(releaseName(Buffer.from("abc"))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect([A, "current", "..", `${A}x`, A.toUpperCase(), ".incoming.XYZ"].map(isReleaseName)).toEqual([true, false, false, false, false, false]);
  });
});

describe("pruning: the current release and the newest other one stay", () => {
  it.each([
    ["nothing else", [{ name: A, mtime: 1 }], A, []],
    ["one before: kept", [{ name: A, mtime: 2 }, { name: B, mtime: 1 }], A, []],
    ["two before: the older goes", [{ name: A, mtime: 3 }, { name: B, mtime: 2 }, { name: C, mtime: 1 }], A, [C]],
    ["a rollback: current is older than the others", [{ name: A, mtime: 1 }, { name: B, mtime: 3 }, { name: C, mtime: 2 }, { name: D, mtime: 4 }], A, [B, C]],
    ["other names never", [{ name: A, mtime: 3 }, { name: "notes", mtime: 0 }, { name: ".incoming.x", mtime: 0 }, { name: B, mtime: 2 }], A, []],
  ])("%s", (_what, have, current, gone) => {
    expect(prunable(have, current)).toEqual(gone);
  });

  it("keeping one: only the current", () => {
    expect(prunable([{ name: A, mtime: 1 }, { name: B, mtime: 2 }], A, 1)).toEqual([B]);
  });
});

describe("restart, reload or nothing", () => {
  const olds = { unit: "u", env: "", drift: [] as string[] };
  it.each([
    ["first start", undefined, { unit: "u", env: "" }, { code: false, data: true }, "restart"],
    ["new code", olds, { unit: "u", env: "" }, { code: true, data: false }, "restart"],
    ["new code and data", olds, { unit: "u", env: "" }, { code: true, data: true }, "restart"],
    ["new unit", olds, { unit: "v", env: "" }, { code: false, data: false }, "restart"],
    ["new token", olds, { unit: "u", env: "GITLAB_API_TOKEN=x\n" }, { code: false, data: false }, "restart"],
    ["drift", { ...olds, drift: ["x"] }, { unit: "u", env: "" }, { code: false, data: false }, "restart"],
    ["new data only: same process", olds, { unit: "u", env: "" }, { code: false, data: true }, "reload"],
    ["same code, same data (new hashes): left alone", olds, { unit: "u", env: "" }, { code: false, data: false }, undefined],
  ] as const)("%s", (_what, o, i, shipped, want) => {
    expect(startMode(o, i, shipped)).toBe(want);
  });
});

describe("the build (esbuild on the runner)", () => {
  const dir = tempDir("globenet-release-test-");

  it("the same bytes twice; only the bundle and the templates; no runner path; it runs with no node_modules around", async () => {
    // Two builds, each into an empty cache: bundled twice, the same bytes.
    const one = await buildPortalRelease(REPO_ROOT, tempDir("globenet-release-cache-"));
    const two = await buildPortalRelease(REPO_ROOT, tempDir("globenet-release-cache-"));
    expect([one.cached, two.cached]).toEqual([false, false]);
    expect(two.sha256).toBe(one.sha256);
    expect(releaseName(readFileSync(one.file))).toBe(one.sha256);
    expect(one.bytes).toBeLessThan(12 * 1024 * 1024);
    const x = spawnSync("tar", ["-x", "-f", one.file, "-C", dir]);
    expect(x.status, x.stderr.toString()).toBe(0);
    const listed = spawnSync("tar", ["-t", "-f", one.file]).stdout.toString().trim().split("\n");
    expect(listed.every((f) => f === RELEASE_BUNDLE || /^templates\/[a-z0-9/-]+(\.[a-z0-9-]+)*\.hbs$/.test(f)), listed.join(" ")).toBe(true);
    expect(listed).toContain("templates/live-cert.hbs");
    expect(listed.some((f) => f.startsWith("templates/portal/"))).toBe(true);
    const bundle = readFileSync(join(dir, RELEASE_BUNDLE), "utf8");
    expect(bundle).not.toContain(REPO_ROOT);
    // Not the lab, the engine or Pulumi: the deployed portal runs --serve only.
    expect(bundle).not.toMatch(/node_modules\/(typescript|@pulumi)\//);
    expect(readdirSync(dir).sort()).toEqual([RELEASE_BUNDLE, "templates"]);
    const help = spawnSync(process.execPath, [join(dir, RELEASE_BUNDLE), "--help"], { cwd: dir, env: { PATH: "/usr/bin:/bin" } });
    expect(help.status, help.stderr.toString()).toBe(0);
    expect(help.stdout.toString()).toContain("--serve --stack NAME --listen 127.0.0.1:PORT");
    const lab = spawnSync(process.execPath, [join(dir, RELEASE_BUNDLE), "--port", "0"], { cwd: dir, env: { PATH: "/usr/bin:/bin" } });
    expect(lab.status).toBe(2);
    expect(lab.stderr.toString()).toMatch(/runs as deployed only: --serve --root DIR/);
  }, 60_000);
});

describe("the build's cache on the runner: bundled again when anything it read changes, not otherwise", () => {
  const root = tempDir("globenet-release-repo-");
  const cache = tempDir("globenet-release-cache-");
  const put = (rel: string, text: string) => {
    mkdirSync(join(root, rel, ".."), { recursive: true });
    writeFileSync(join(root, rel), text);
  };
  put("package-lock.json", "{}\n");
  put("lib/cli/portal-main.ts", 'import { word } from "../words";\nconsole.log(word);\n');
  put("lib/words.ts", 'export const word = "bonjour";\n');
  put("lib/render/templates/page.hbs", "<p>{{word}}</p>\n");
  const build = () => buildPortalRelease(root, cache);
  const bundleOf = (file: string) => spawnSync("tar", ["-x", "-O", "-f", file, RELEASE_BUNDLE]).stdout.toString();

  it.each([
    ["nothing changed", () => {}, "hit"],
    ["an imported module's content", () => put("lib/words.ts", 'export const word = "salut";\n'), "new"],
    ["nothing changed again", () => {}, "hit"],
    ["a template", () => put("lib/render/templates/page.hbs", "<p>{{word}}!</p>\n"), "new"],
    ["the lock file (another package version)", () => put("package-lock.json", '{"v":2}\n'), "same"],
    ["a new file beside the inputs (an import could resolve to it)", () => put("lib/words/index.ts", "export const word = 1;\n"), "same"],
    ["the cached tar altered on the runner", () => writeFileSync(join(cache, readdirSync(cache).find((n) => n.endsWith(".tar")) as string), "not a release"), "same"],
    ["the manifest gone", () => rmSync(join(cache, "manifest.json")), "same"],
  ] as const)("%s", async (_what, change, want) => {
    const before = await build();
    change();
    const after = await build();
    // "hit": from the cache, no bundling; "new": bundled again, other bytes; "same": bundled again, the same bytes.
    expect(after.cached).toBe(want === "hit");
    if (want === "new") expect(after.sha256).not.toBe(before.sha256);
    else expect(after.sha256).toBe(before.sha256);
    expect(releaseName(readFileSync(after.file))).toBe(after.sha256);
    expect(after.file.startsWith(`${cache}/`)).toBe(true);
  });

  it("the bundle holds the current code after a change, and the cache keeps a few tars only", async () => {
    put("lib/words.ts", 'export const word = "coucou";\n');
    expect(bundleOf((await build()).file)).toContain("coucou");
    for (const w of ["un", "deux", "trois", "quatre", "cinq"]) {
      put("lib/words.ts", `export const word = "${w}";\n`);
      await build();
    }
    expect(readdirSync(cache).filter((n) => n.endsWith(".tar"))).toHaveLength(4);
  });
});

describe("the host needs node, git and doveadm", () => {
  const script = loadScript("account/prelude.sh", "portal/portal.sh");
  const bin = tempDir("globenet-needs-");
  const needs = () => spawnSync("/bin/bash", ["-c", `set -euo pipefail\n${script}`, "globenet", "needs"], { env: { PATH: bin }, stdio: ["ignore", "pipe", "pipe"] });

  it("without doveadm the step refuses, naming the Debian package; with it, it passes", () => {
    symlinkSync(spawnSync("bash", ["-c", "command -v git"]).stdout.toString().trim(), join(bin, "git"));
    const without = needs();
    expect(without.status).toBe(1);
    expect(without.stderr.toString()).toMatch(/install the Debian packages: dovecot-core \(doveadm: mailbox logins check passwords with doveadm pw -t\).*apt-get install nodejs git dovecot-core/);
    expect(without.stderr.toString()).not.toMatch(/ git(?! dovecot)/);
    symlinkSync("/bin/true", join(bin, "doveadm"));
    const withIt = needs();
    expect(withIt.stderr.toString()).toBe("");
    expect(withIt.status).toBe(0);
  });
});
