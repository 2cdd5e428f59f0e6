import { readSigned, runCacheFile, writeSigned } from "../base/signed-file";
import { factsKey, type MachineFacts } from "../model/facts";
import type { Model } from "../model/types";
import type { RenderedFile } from "./index";

/**
 * A shard's rendered files, kept from one run of its program to the next (docs/architecture.md,
 * "Sharded stacks"): the same data (its digest, which starts with the program's fingerprint,
 * lib/load/digest.ts) and the same facts render the same files, so a no-op preview or a refresh
 * reads them back instead of rendering them again (`core`'s 10,000 zones: about 0.45 s of its
 * 1.2 s of preparation, read back in under 0.1 s).
 *
 * Beside the shard index, under the same guard: the header names the engine's stack (a shard
 * renders its hosts' files and its parts only), the digest and the facts that change the model,
 * and an HMAC keyed by the stack's passphrase covers it all. Rendered files hold no secret (a
 * database password is a placeholder the provider fills in), as the checked model beside it.
 */
export function renderedCacheFile(root: string, engineStack: string): string {
  return runCacheFile(root, `${engineStack}.files.json`);
}

const PURPOSE = "globenet-rendered-files";

interface Header {
  v: 1;
  engineStack: string;
  digest: string;
  facts: string;
}

export interface RenderGuard {
  root: string;
  engineStack: string;
  /** The digest of the data the model was loaded from (taken before the load). */
  digest: string;
  /** The stack's passphrase. */
  key: string;
  facts: MachineFacts;
}

/**
 * `render()`'s files, or the files kept by a run with the same guard. A miss renders and keeps
 * them (a read-only checkout: rendered every time).
 */
export function renderCached(model: Pick<Model, "inventory">, guard: RenderGuard | undefined, render: () => RenderedFile[]): { files: RenderedFile[]; via: "kept" | "rendered" } {
  if (!guard) return { files: render(), via: "rendered" };
  const file = renderedCacheFile(guard.root, guard.engineStack);
  const header: Header = { v: 1, engineStack: guard.engineStack, digest: guard.digest, facts: factsKey(model.inventory, guard.facts) };
  const kept = readSigned<Header>(file, PURPOSE, guard.key, (h) => h.v === header.v && h.engineStack === header.engineStack && h.digest === header.digest && h.facts === header.facts);
  if (kept) return { files: JSON.parse(kept.body) as RenderedFile[], via: "kept" };
  const files = render();
  try {
    writeSigned(file, PURPOSE, guard.key, header, JSON.stringify(files));
  } catch {
    // A read-only checkout: the next run renders again.
  }
  return { files, via: "rendered" };
}
