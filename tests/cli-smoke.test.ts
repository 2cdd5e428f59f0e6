/**
 * Unit tier. One spawned smoke test per command: `<command> --help` through the entry every
 * package.json script calls (lib/cli/main.ts under tsx's loader, in a process of its own), and
 * one through npm itself. That each script is `tsx lib/cli/main.ts <name>` is checked in
 * tests/cli-table.test.ts, and everything else about the commands in-process: a process costs
 * most of a second of CPU, start-up alone.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { COMMANDS } from "../lib/cli/commands";

const REPO = join(__dirname, "..");

function spawned(cmd: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

describe("<command> --help, each in a process of its own", () => {
  it.concurrent.each(COMMANDS.map((c) => c.name))("tsx lib/cli/main.ts %s --help", async (name) => {
    const r = await spawned(process.execPath, ["--import", "tsx", "lib/cli/main.ts", name, "--help"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.startsWith(`Usage: npm run ${name}`)).toBe(true);
  });

  it("through npm itself: an unknown option is exit 2, the option named", async () => {
    const r = await spawned("npm", ["run", "--silent", "validate", "--", "--sataks", "prod"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("error: unknown option --sataks for npm run validate (its options: --root, --stack, --base, --help)");
  });
});
