/**
 * The program's runs without the stack traces the Pulumi SDK captures for its own
 * bookkeeping (docs/architecture.md, "Speed": the engine). Two kinds:
 * - one per promise it makes, four per input property of every resource and more when the
 *   engine answers, which serve only its promise-leak report: `Error.stackTraceLimit = 0`;
 * - one per resource for its source position, for which the SDK lifts the limit itself and
 *   formats the whole stack (`new Error().stack`, under tsx through source maps: about 90 µs a
 *   resource, and ~650 bytes of `stackTrace` in the state per resource). A formatter that
 *   gives the error's first line only leaves it no frame to read: the state then has no source
 *   positions, which nothing here uses (messages name resources by their names).
 * Errors raised meanwhile keep their name and message, without frames (the limit is 0 anyway).
 * PULUMI_DEBUG_PROMISE_LEAKS=1 keeps everything, for the SDK's report and for debugging.
 */

let depth = 0;
let saved: { limit: number; prepare: typeof Error.prepareStackTrace } = { limit: Error.stackTraceLimit, prepare: Error.prepareStackTrace };

const firstLine = (error: Error): string => `${error.name}: ${error.message}`;

function enter(): boolean {
  if (process.env.PULUMI_DEBUG_PROMISE_LEAKS) return false;
  if (depth++ === 0) {
    saved = { limit: Error.stackTraceLimit, prepare: Error.prepareStackTrace };
    Error.stackTraceLimit = 0;
    Error.prepareStackTrace = firstLine;
  }
  return true;
}

function leave(): void {
  if (--depth === 0) {
    Error.stackTraceLimit = saved.limit;
    Error.prepareStackTrace = saved.prepare;
  }
}

/** Runs `construct` (the resources' constructors) without those traces; an error thrown keeps its message and says why it has no frames. */
export function withoutStackTraces<T>(construct: () => T): T {
  if (!enter()) return construct();
  try {
    return construct();
  } catch (e) {
    if (e instanceof Error && e.stack !== undefined && !e.stack.includes("\n    at ")) {
      e.stack += "\n    (no stack frames: thrown while declaring the resources; run again with PULUMI_DEBUG_PROMISE_LEAKS=1 to get them)";
    }
    throw e;
  } finally {
    leave();
  }
}

/** The same for a whole engine run in this process (runs may overlap: the last one out puts things back). */
export async function withoutStackTracesWhile<T>(run: () => Promise<T>): Promise<T> {
  if (!enter()) return run();
  try {
    return await run();
  } finally {
    leave();
  }
}
