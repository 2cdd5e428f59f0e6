/**
 * The test helpers that decide whether a system test runs (tests/helpers/tools.ts): run never
 * goes through a shell and enforces its timeout; requireTool skips outside CI and fails in CI.
 * Unit tier: only sh and programs that do not exist.
 */
import { afterAll, describe, expect, it } from "vitest";
import { findTool, requireTool, requireTools, run } from "./helpers/tools";

describe("run", () => {
  it("returns status and output, and never goes through a shell", () => {
    const r = run("echo", ["a; touch /tmp/should-not-exist-$$", "$(id)"]);
    expect(r).toEqual({ status: 0, stdout: "a; touch /tmp/should-not-exist-$$ $(id)\n", stderr: "" });
    expect(run("false", []).status).toBe(1);
    expect(run("cat", [], { input: "secret on stdin" }).stdout).toBe("secret on stdin");
  });

  it("kills the child at the timeout", () => {
    const t0 = Date.now();
    const r = run("sleep", ["10"], { timeoutMs: 300 });
    expect(r.status).toBeNull();
    expect(r.stderr).toMatch(/timed out after 300 ms/);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it("reports a program that does not exist", () => {
    const r = run("/nonexistent/tool", []);
    expect(r.status).toBeNull();
    expect(r.stderr).toMatch(/ENOENT/);
  });
});

describe("requireTool", () => {
  const saved = process.env.CI;
  afterAll(() => {
    if (saved === undefined) delete process.env.CI;
    else process.env.CI = saved;
  });

  it("is true for a tool on PATH (or in an sbin directory)", () => {
    expect(requireTool("sh")).toBe(true);
    expect(findTool("sh")).toMatch(/\/sh$/);
  });

  it("outside CI, a missing tool returns false (the test skips)", () => {
    delete process.env.CI;
    expect(requireTool("globenet-no-such-tool")).toBe(false);
    expect(requireTools("sh", "globenet-no-such-tool")).toBe(false);
  });

  it("in CI, a missing tool is an error naming the Debian package", () => {
    process.env.CI = "true";
    expect(() => requireTool("globenet-no-such-tool", "globenet-pkg")).toThrow(/install the Debian package "globenet-pkg"/);
    expect(() => requireTools("sh", "globenet-no-such-tool")).toThrow(/globenet-no-such-tool/);
    expect(requireTool("sh")).toBe(true);
  });
});

