/**
 * The program's runs without the Pulumi SDK's bookkeeping that nothing here reads
 * (docs/architecture.md, "Speed": the engine). Two kinds, each paid per resource:
 * - a stack trace per promise the SDK makes (four per input property of every resource, more
 *   when the engine answers), which serves only its promise-leak report:
 *   `Error.stackTraceLimit = 0`;
 * - a source position per resource, for which the SDK lifts the limit itself and formats the
 *   whole stack (`new Error().stack`, under tsx through source maps: about 90 µs a resource, and
 *   ~650 bytes of `stackTrace` in the state): a formatter that gives an error's first line only
 *   leaves it no frame to read, so the state has no source positions (messages here name
 *   resources by their names).
 * (The SDK's three debug-level log calls per resource, each a gRPC call to the engine, were
 * left: not sending them changed neither the driver's CPU time nor the children's in an A/B of
 * web1's no-op preview at 10,000 members.)
 * Errors raised meanwhile keep their name and message, without frames (the limit is 0 anyway).
 * PULUMI_DEBUG_PROMISE_LEAKS=1 keeps everything, for the SDK's report and for debugging.
 */

let depth = 0;
let saved = { limit: Error.stackTraceLimit, prepare: Error.prepareStackTrace };

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

/** Runs `construct` (the resources' constructors) without that bookkeeping; an error thrown keeps its message and says why it has no frames. */
export function withoutSdkOverhead<T>(construct: () => T): T {
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
export async function withoutSdkOverheadWhile<T>(run: () => Promise<T>): Promise<T> {
  if (!enter()) return run();
  try {
    return await run();
  } finally {
    leave();
  }
}
