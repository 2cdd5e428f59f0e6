import { readSigned, runCacheFile, writeSigned } from "../base/signed-file";
import { factsKey, type MachineFacts } from "../model/facts";
import type { Model } from "../model/types";

/**
 * The checked model (docs/architecture.md, "Sharded stacks"): a shard that holds a DNS server,
 * the mail host, the monitor, a database host or a hypervisor (`core`) declares objects made from
 * every file, so it cannot load a part; it needs the whole model, which is what the whole load
 * that wrote the shard index has just built and checked. That load keeps it here, beside the
 * index, as JSON under the same guard: the data's digest and an HMAC keyed by the stack's
 * passphrase. Such a shard's program reads it back instead of loading, checking and modelling
 * every file again (at 10,000 members: 0.4 s against 2.8 s with the load cache).
 *
 * A model goes through JSON unchanged but for properties whose value is `undefined`, which it
 * drops; every reader of the model treats a missing property as an undefined one (and the engine
 * drops them from inputs too), which `tests/unit-checked-model.test.ts` checks on the rendered
 * files, the plans and the resource inputs. The machine's facts the model was built with are in
 * the guard as well (only those that change the model: lib/model/facts.ts's factsKey).
 */
export function checkedModelFile(root: string, stack: string): string {
  return runCacheFile(root, `${stack}.model.json`);
}

const PURPOSE = "globenet-checked-model";

interface Header {
  v: 1;
  stack: string;
  digest: string;
  facts: string;
}

/** Keeps `model`, built with `facts` from the data whose digest is `digest` and checked without error. */
export function writeCheckedModel(root: string, model: Model, digest: string, facts: MachineFacts, key: string): void {
  writeSigned(checkedModelFile(root, model.stack), PURPOSE, key, { v: 1, stack: model.stack, digest, facts: factsKey(model.inventory, facts) } satisfies Header, JSON.stringify(model));
}

/** The checked model of this data (`digest`) and these facts, when there is one and its MAC verifies with `key`. */
export function readCheckedModel(root: string, stack: string, digest: string, facts: MachineFacts, key: string): Model | undefined {
  const read = readSigned<Header>(checkedModelFile(root, stack), PURPOSE, key, (h) => h.v === 1 && h.stack === stack && h.digest === digest);
  if (!read) return undefined;
  const model = JSON.parse(read.body) as Model;
  // Built with other facts that matter to this data (a lab hypervisor's accel): not this run's model.
  return read.header.facts === factsKey(model.inventory, facts) ? model : undefined;
}
