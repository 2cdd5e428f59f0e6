/**
 * Unit tier. The tiers hold what they say: a test file that needs root, a real daemon or the
 * engine is listed in vitest.config.mts's SYSTEM, and every file listed there exists. A new
 * file is in the unit tier unless listed, so this is what stops a slow or privileged test
 * from landing in `npm run test:unit`.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const REPO = join(__dirname, "..");

/** What puts a test file in the system tier: root, a daemon started by a helper, the engine, a lab. */
const SYSTEM_MARKS: Array<[RegExp, string]> = [
  [/\brequireRoot\(/, "needs root (requireRoot)"],
  [/helpers\/(sshd|mariadb|libvirtd|lab-run|daemons-web|web-isolation|nwfilter-guest|state-runner|checkers)"/, "starts or checks with a real daemon or Debian tool (tests/helpers)"],
  [/lib\/engine\/(driver|toolchain)"|\bopenStack\(|\bensureEngine\(/, "runs the engine (Pulumi CLI)"],
  [/\blabUp\(|lib\/lab\/commands"/, "runs the lab"],
  // shellcheck, named-checkzone and doveadm (its `pw` only: a hash made or checked, no daemon):
  // checkers, not daemons; `npm run test:unit` installs them (scripts/ensure-debs.sh --unit).
  [/\brequireTools?\("(?!git"|openssl"|bash"|sh"|shellcheck"|named-checkzone"|doveadm"|globenet-no-such-tool")/, "needs a Debian tool beyond git, openssl, the shell and the unit tier's checkers (shellcheck, named-checkzone, doveadm)"],
];

function systemList(config: string): string[] {
  const body = /export const SYSTEM = \[([\s\S]*?)\];/.exec(config)?.[1] ?? "";
  return [...body.matchAll(/"([^"]+)"/g)].map((m) => m[1] as string);
}

function misplaced(files: Record<string, string>, system: string[]): string[] {
  return Object.entries(files).flatMap(([file, text]) => {
    if (system.includes(file)) return [];
    const why = SYSTEM_MARKS.filter(([re]) => re.test(text)).map(([, w]) => w);
    return why.length ? [`${file} ${why.join(", ")}: list it in SYSTEM (vitest.config.mts)`] : [];
  });
}

describe("test tiers", () => {
  const system = systemList(readFileSync(join(REPO, "vitest.config.mts"), "utf8"));
  const files = Object.fromEntries(
    readdirSync(join(REPO, "tests"))
      .filter((f) => f.endsWith(".test.ts") && f !== "test-tiers.test.ts")
      .map((f) => [`tests/${f}`, readFileSync(join(REPO, "tests", f), "utf8")]),
  );

  it("every system file exists; none that needs root, a daemon or the engine is left in the unit tier", () => {
    expect(system.length).toBeGreaterThan(10);
    expect(system.filter((f) => !existsSync(join(REPO, f)))).toEqual([]);
    expect(misplaced(files, system)).toEqual([]);
  });

  it("catches a planted unit file that needs root, another that starts sshd, another that opens a stack", () => {
    const planted = {
      "tests/a.test.ts": 'const ok = requireRoot("sshd needs it");',
      "tests/b.test.ts": 'import { startSshd } from "./helpers/sshd";',
      "tests/c.test.ts": 'import { openStack } from "../lib/engine/driver";',
      "tests/d.test.ts": 'const ok = requireTools("git");',
    };
    expect(misplaced(planted, system)).toEqual([
      "tests/a.test.ts needs root (requireRoot): list it in SYSTEM (vitest.config.mts)",
      "tests/b.test.ts starts or checks with a real daemon or Debian tool (tests/helpers): list it in SYSTEM (vitest.config.mts)",
      "tests/c.test.ts runs the engine (Pulumi CLI): list it in SYSTEM (vitest.config.mts)",
    ]);
  });
});
