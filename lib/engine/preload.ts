/**
 * The program's preparation (index.ts prepareProgram: load, check, render) started by the
 * driver as soon as the CLI is spawned for a run that calls the program, rather than when the
 * CLI calls it. The CLI takes about 0.65 s to start and to call the program back (10,000
 * members, 2 cores); the driver sits idle meanwhile, and its preparation is 1 to 1.8 s on the
 * critical path of a shard's no-op preview (docs/architecture.md, "Sharded stacks").
 *
 * Nothing is kept across runs: each run prepares from the data as it is when its CLI starts,
 * and what a run did not take is dropped when it ends (a failed start, a CLI that refuses).
 * An error (the data's, a shard's refusal) is kept and thrown by the program where it would
 * have been thrown, so the run reports it as before.
 */

/** The run of the CLI the Automation API makes (PulumiCommand.run's first arguments). */
type CliRun = (args: string[], ...rest: never[]) => Promise<unknown>;

type Slot<T> = { engineStack: string; value?: T; error?: unknown };

/** The stack these CLI arguments run the inline program for (a preview or an up, with the program's address); undefined for any other run. */
export function runsInlineProgram(args: readonly string[]): string | undefined {
  if (args[0] !== "preview" && args[0] !== "up") return undefined;
  if (!args.some((a) => a.startsWith("--client="))) return undefined;
  const at = args.indexOf("--stack");
  return at > 0 ? args[at + 1] : undefined;
}

export interface Preload<T> {
  /** The preparation for `engineStack` made for the run under way, once; undefined when there is none. Throws what the preparation threw. */
  take(engineStack: string): T | undefined;
}

/**
 * Wraps `cmd.run` so that a run of the program prepares it (`prepare(engineStack)`) right after
 * the CLI is spawned (execa spawns within run's call: the next turn of the event loop comes
 * after it).
 */
export function preloadOnSpawn<T>(cmd: { run: CliRun }, prepare: (engineStack: string) => T): Preload<T> {
  let slot: Slot<T> | undefined;
  const run = cmd.run.bind(cmd);
  cmd.run = (args, ...rest) => {
    const engineStack = runsInlineProgram(args);
    const running = run(args, ...rest);
    if (engineStack === undefined) return running;
    const mine: Slot<T> = { engineStack };
    slot = mine;
    setImmediate(() => {
      if (slot !== mine) return;
      try {
        mine.value = prepare(engineStack);
      } catch (e) {
        mine.error = e;
      }
    });
    const drop = () => {
      if (slot === mine) slot = undefined;
    };
    running.then(drop, drop);
    return running;
  };
  return {
    take(engineStack) {
      const s = slot;
      if (!s || s.engineStack !== engineStack) return undefined;
      // Taken now, made or not: a preparation the program did not wait for is not made after it.
      slot = undefined;
      if (s.error !== undefined) throw s.error;
      // Let go here too, not when the run ends (the run's callbacks hold the slot): the whole
      // model and every rendered file would otherwise stay live through the engine's work, and
      // each major collection would mark them again.
      const value = s.value;
      s.value = undefined;
      return value;
    },
  };
}
