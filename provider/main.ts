import { main, type Provider } from "@pulumi/pulumi/provider";
import { ReadRequest } from "@pulumi/pulumi/proto/provider_pb";
import { createRequire } from "node:module";
import type { ResourceType } from "./types";
import { registry } from "./registry";
import { dryRunImpl } from "./dry-run";
import { definedOnly, parseImportId } from "./adopt-ids";
import { flatSpecFor, specFormOf, specOutputsOf } from "../lib/base/spec-inputs";
import { splitUrn } from "../lib/base/urn";

/** The type token's last part picks the implementation: globenet:<module>:<Type>. */
function typeOf(urn: string): { token: string; impl: ResourceType } {
  const token = splitUrn(urn).type;
  const impl = dryRunImpl(urn, token, registry[token]); // the real one unless GLOBENET_PROVIDER_DRY_RUN=1 (bench)
  if (!impl) throw new Error(`the globenet provider has no resource type ${token} (known: ${Object.keys(registry).join(", ")})`);
  return { token, impl };
}

// The engine's import (adoption) sends Read no properties at all, and the SDK's server (3.248)
// calls toJavaScript() on them unchecked: an absent properties struct reads as an empty one.
// The Struct class is the one the SDK's server loads (google-protobuf, a dependency of the SDK's).
type StructOf = NonNullable<ReturnType<ReadRequest["getProperties"]>>;
const { Struct } = createRequire(require.resolve("@pulumi/pulumi/provider"))("google-protobuf/google/protobuf/struct_pb") as { Struct: new () => StructOf };
const readProperties = ReadRequest.prototype.getProperties;
ReadRequest.prototype.getProperties = function (this: ReadRequest) {
  return readProperties.call(this) ?? new Struct();
};

// The engine reads the plugin's port from stdout (the SDK prints it with console.log):
// the provider's own code writes to stderr only.

// Accounts', databases' and guests' inputs come as one JSON text, `spec` (lib/base/spec-inputs.ts
// says why): the types below see them flat, whichever form the engine hands over (a state written
// before holds them flat, or `spec` as an object); check answers in the program's form (an
// adoption's read too), and so are their outputs (what is not an input beside `spec`): the
// olds that diff, update, read and delete get are brought up the same way, whichever form the
// state holds (outputs written before stay flat until the resource's next update or refresh).
// Any other type's inputs go as they are: the bench's trivial type must carry a replayed `spec`
// text as the engine carries it, one property.
const provider: Provider = {
  version: "0.1.0",
  async check(urn, olds, news) {
    const { token, impl } = typeOf(urn);
    const flatNews = flatSpecFor(token, news);
    const r = impl.check(flatNews, flatSpecFor(token, olds));
    return { inputs: specFormOf(token, r.inputs ?? flatNews), failures: r.failures };
  },
  async diff(id, urn, olds, news) {
    const { token, impl } = typeOf(urn);
    return impl.diff(id, flatSpecFor(token, olds), flatSpecFor(token, news));
  },
  async create(urn, inputs) {
    const { token, impl } = typeOf(urn);
    const r = await impl.create(flatSpecFor(token, inputs));
    return { id: r.id, outs: specOutputsOf(token, r.outs) };
  },
  async read(id, urn, props) {
    // The engine's import (adoption): the id carries where to look; the answer keeps the plain id.
    const adopting = parseImportId(id);
    if (adopting) {
      const { token, impl } = typeOf(urn);
      if (!impl.adopt) throw new Error(`${token} ${adopting.id}: this type is not adopted (provider/adopt-ids.ts says why)`);
      const r = await impl.adopt(adopting.id, adopting.facts);
      // The SDK's server turns these into protobuf Structs, which refuse an undefined value
      // ("Unexpected struct type."): a field the host does not have (an account's passwordHash) is left out.
      return { id: adopting.id, props: specOutputsOf(token, definedOnly(r.outs)), inputs: specFormOf(token, definedOnly(r.inputs)) };
    }
    const { token, impl } = typeOf(urn);
    const live = await impl.read(id, flatSpecFor(token, props));
    // An empty id tells the engine the resource is gone.
    return live === undefined ? { id: "", props: {} } : { id, props: specOutputsOf(token, live) };
  },
  async update(id, urn, olds, news) {
    const { token, impl } = typeOf(urn);
    return { outs: specOutputsOf(token, await impl.update(id, flatSpecFor(token, olds), flatSpecFor(token, news))) };
  },
  async delete(id, urn, props) {
    const { token, impl } = typeOf(urn);
    await impl.delete(id, flatSpecFor(token, props));
  },
};

main(provider, process.argv.slice(2)).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
