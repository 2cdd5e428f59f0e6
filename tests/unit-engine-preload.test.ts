import { describe, expect, it } from "vitest";
import { preloadOnSpawn, runsInlineProgram } from "../lib/engine/preload";

/** A CLI whose runs end when the test says; records the order of events. */
function fakeCli(events: string[]) {
  const ends: Array<() => void> = [];
  const cmd = {
    run: (args: string[]) => {
      events.push(`spawn ${args[0]}`);
      return new Promise<unknown>((resolve) => ends.push(() => resolve({ stdout: "" })));
    },
  };
  return { cmd, end: async () => { ends.shift()?.(); await new Promise((r) => setImmediate(r)); } };
}
const tick = () => new Promise((r) => setImmediate(r));
const PREVIEW = ["preview", "--client=127.0.0.1:4000", "--exec-kind", "auto.inline", "--stack", "bench.web1"];

describe("the program's preparation while the CLI starts (lib/engine/preload.ts)", () => {
  it.each<[string, string[], string | undefined]>([
    ["a preview of the inline program", PREVIEW, "bench.web1"],
    ["an up of the inline program", ["up", "--yes", "--client=127.0.0.1:1", "--stack", "lab"], "lab"],
    ["a refresh (the program does not run)", ["refresh", "--client=127.0.0.1:1", "--stack", "lab"], undefined],
    ["a preview without the program's address", ["preview", "--stack", "lab"], undefined],
    ["the config a shard's secrets come from", ["config", "get", "k", "--json", "--stack", "bench.core"], undefined],
    ["no stack named", ["preview", "--client=127.0.0.1:1"], undefined],
  ])("%s", (_what, args, stack) => {
    expect(runsInlineProgram(args)).toBe(stack);
  });

  it("prepares after the CLI is spawned, once, for the run's stack; the program takes it once", async () => {
    const events: string[] = [];
    const { cmd, end } = fakeCli(events);
    const preload = preloadOnSpawn(cmd, (s) => (events.push(`prepare ${s}`), { s }));
    const running = cmd.run([...PREVIEW]);
    expect(events).toEqual(["spawn preview"]);
    await tick();
    expect(events).toEqual(["spawn preview", "prepare bench.web1"]);
    expect(preload.take("bench.core")).toBeUndefined();
    expect(preload.take("bench.web1")).toEqual({ s: "bench.web1" });
    expect(preload.take("bench.web1")).toBeUndefined();
    await end();
    await running;
  });

  it("a preparation not yet made when the program asks is not made after it: the program prepares itself", async () => {
    const events: string[] = [];
    const { cmd, end } = fakeCli(events);
    const preload = preloadOnSpawn(cmd, (s) => (events.push(`prepare ${s}`), { s }));
    void cmd.run([...PREVIEW]);
    expect(preload.take("bench.web1")).toBeUndefined();
    await tick();
    expect(events).toEqual(["spawn preview"]);
    await end();
  });

  it("prepares nothing for a command that does not run the program", async () => {
    const events: string[] = [];
    const { cmd, end } = fakeCli(events);
    const preload = preloadOnSpawn(cmd, (s) => (events.push(`prepare ${s}`), { s }));
    void cmd.run(["config", "get", "k", "--stack", "bench.core"]);
    await tick();
    await end();
    expect(events).toEqual(["spawn config"]);
    expect(preload.take("bench.core")).toBeUndefined();
  });

  it("drops what a run did not take when it ends: the next run prepares from the data as it is then", async () => {
    const events: string[] = [];
    const { cmd, end } = fakeCli(events);
    let n = 0;
    const preload = preloadOnSpawn(cmd, () => ++n);
    void cmd.run([...PREVIEW]);
    await tick();
    await end();
    expect(preload.take("bench.web1")).toBeUndefined();
    void cmd.run([...PREVIEW]);
    await tick();
    expect(preload.take("bench.web1")).toBe(2);
    await end();
  });

  it("keeps the preparation's error for the program to throw, where it would have been thrown", async () => {
    const { cmd, end } = fakeCli([]);
    const preload = preloadOnSpawn(cmd, () => {
      throw new Error("members/x/member.yaml:3: handle: bad");
    });
    void cmd.run([...PREVIEW]);
    await tick();
    expect(() => preload.take("bench.web1")).toThrow("members/x/member.yaml:3: handle: bad");
    expect(preload.take("bench.web1")).toBeUndefined();
    await end();
  });
});
