import * as pulumi from "@pulumi/pulumi";
import { afterEach, describe, expect, it } from "vitest";
import { withoutSdkOverhead, withoutSdkOverheadWhile } from "../lib/base/sdk-overhead";

// The SDK's own reader of a resource's source position (resource.js: Resource.stackTrace → callsites, which lifts the limit to Infinity itself).
const callsites = (): Array<{ file?: string }> => (pulumi.Resource as unknown as { callsites(): Array<{ file?: string }> }).callsites();
const positioned = () => callsites().filter((c) => c.file !== undefined).length;

afterEach(() => {
  delete process.env.PULUMI_DEBUG_PROMISE_LEAKS;
});

describe("the program's runs without the SDK's stack traces", () => {
  it("the SDK finds no source position inside (it lifts the limit itself), and finds them again after", () => {
    const limit = Error.stackTraceLimit;
    expect(positioned()).toBeGreaterThan(0);
    expect(withoutSdkOverhead(() => ({ frames: positioned(), limit: Error.stackTraceLimit }))).toEqual({ frames: 0, limit: 0 });
    expect(positioned()).toBeGreaterThan(0);
    expect(Error.stackTraceLimit).toBe(limit);
  });

  it("an error thrown while declaring keeps its name and message, and says why it has no frames", () => {
    let caught: Error | undefined;
    try {
      withoutSdkOverhead(() => {
        throw new TypeError("members/alice.yaml: bad");
      });
    } catch (e) {
      caught = e as Error;
    }
    expect(caught?.message).toBe("members/alice.yaml: bad");
    expect(caught?.stack).toMatch(/^TypeError: members\/alice\.yaml: bad\n {4}\(no stack frames: thrown while declaring the resources; run again with PULUMI_DEBUG_PROMISE_LEAKS=1 to get them\)$/);
    // Outside, errors have their frames again.
    expect(new Error("x").stack).toMatch(/\n {4}at /);
  });

  it("overlapping runs: the limit and the formatter come back when the last one ends", async () => {
    const limit = Error.stackTraceLimit;
    let release: () => void = () => undefined;
    const first = withoutSdkOverheadWhile(() => new Promise<void>((r) => (release = r)));
    const second = withoutSdkOverheadWhile(async () => positioned());
    expect(await second).toBe(0);
    expect(positioned()).toBe(0);
    release();
    await first;
    expect(positioned()).toBeGreaterThan(0);
    expect(Error.stackTraceLimit).toBe(limit);
  });

  it("a run that fails puts them back too", async () => {
    await expect(withoutSdkOverheadWhile(() => Promise.reject(new Error("engine failed")))).rejects.toThrow("engine failed");
    expect(positioned()).toBeGreaterThan(0);
  });

  it("PULUMI_DEBUG_PROMISE_LEAKS=1 keeps every trace, for the SDK's report", async () => {
    process.env.PULUMI_DEBUG_PROMISE_LEAKS = "1";
    expect(withoutSdkOverhead(() => positioned())).toBeGreaterThan(0);
    expect(await withoutSdkOverheadWhile(async () => positioned())).toBeGreaterThan(0);
  });
});
