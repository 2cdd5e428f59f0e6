import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { removeTempDirs, tempDir } from "./helpers/temp-dir";

describe("tests' temporary directories", () => {
  it("are removed with what is in them, once", () => {
    const a = tempDir("globenet-tempdir-test-");
    const b = tempDir("globenet-tempdir-test-");
    writeFileSync(join(a, "f"), "x");
    expect([existsSync(a), existsSync(b), a === b]).toEqual([true, true, false]);
    expect(removeTempDirs()).toBe(2);
    expect([existsSync(a), existsSync(b)]).toEqual([false, false]);
    expect(removeTempDirs()).toBe(0);
  });
});
