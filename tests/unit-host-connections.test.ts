import { afterEach, describe, expect, it, vi } from "vitest";
import { pool } from "../provider/ssh/pool";
import { closeHostConnections, withHostConnections } from "../lib/status/remote";

// The status readers share the provider's one pool: a reader ending must not close the
// connections under another still reading, and a lingering reader (the lab portal) keeps them
// for the next page.
describe("withHostConnections", () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it("closes the pool once, after the last of two overlapping readers", async () => {
    const close = vi.spyOn(pool, "close").mockResolvedValue();
    let release!: () => void;
    const slow = withHostConnections(undefined, () => new Promise<string>((r) => (release = () => r("slow"))));
    const fast = await withHostConnections(undefined, async () => "fast");
    expect(fast).toBe("fast");
    expect(close).not.toHaveBeenCalled();
    release();
    expect(await slow).toBe("slow");
    expect(close).toHaveBeenCalledTimes(1);
  });

  it("closes at once without lingerMs, even when the reader throws", async () => {
    const close = vi.spyOn(pool, "close").mockResolvedValue();
    await expect(withHostConnections(undefined, async () => Promise.reject(new Error("host down")))).rejects.toThrow("host down");
    expect(close).toHaveBeenCalledTimes(1);
  });

  it("with lingerMs keeps the pool for that long; a reader in between postpones the close", async () => {
    vi.useFakeTimers();
    const close = vi.spyOn(pool, "close").mockResolvedValue();
    await withHostConnections(undefined, async () => 1, { lingerMs: 60_000 });
    vi.advanceTimersByTime(59_000);
    expect(close).not.toHaveBeenCalled();
    await withHostConnections(undefined, async () => 2, { lingerMs: 60_000 });
    vi.advanceTimersByTime(59_000);
    expect(close).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1_001);
    expect(close).toHaveBeenCalledTimes(1);
  });

  it("closeHostConnections ends a lingering pool at once and cancels its timer", async () => {
    vi.useFakeTimers();
    const close = vi.spyOn(pool, "close").mockResolvedValue();
    await withHostConnections(undefined, async () => 1, { lingerMs: 60_000 });
    await closeHostConnections();
    expect(close).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(120_000);
    expect(close).toHaveBeenCalledTimes(1);
  });
});
