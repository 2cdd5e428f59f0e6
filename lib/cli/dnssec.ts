import { checkds, readDnssec } from "../status/dnssec";
import { onStackHosts } from "../lab/open-stack";
import { REPO_ROOT, UsageError } from "./args";
import { LabError } from "../base/proc";
import { defaultStack } from "./stack-default";
import type { Args, Io } from "./command";
import { loadOrThrow } from "./status";

/** npm run dnssec (table entry and help: lib/cli/commands.ts). */
export async function runDnssec(a: Args, io: Io): Promise<number> {
  const values = { stack: a.str("stack"), root: a.str("root") };
  const positionals = a.positionals;
  const [what, zone] = positionals;
  if (what !== "ds" && what !== "published" && what !== "withdrawn") throw new UsageError(`unknown action ${what ?? "(none)"}: ds, published or withdrawn`);
  if (!zone) throw new UsageError(`name the zone, like: npm run dnssec -- ${what} velo-libre.example`);
  const stack = defaultStack(values.stack, values.root);
  const root = values.root ?? REPO_ROOT;
  const model = loadOrThrow(root, stack);
  const z = model.zones.find((x) => x.name === zone.replace(/\.$/, "").toLowerCase());
  if (!z) throw new UsageError(`no zone ${zone} in zones/ (known: ${model.zones.map((x) => x.name).join(", ")})`);
  return onStackHosts(root, stack, async () => {
    if (what === "ds") {
      if (!z.dnssec) io.err(`note: ${z.file} says dnssec: false; the DS below (if any) is being withdrawn, do not give it to the registrar`);
      const [row] = await readDnssec(root, model, [z.name]);
      if (!row || row.ds.length === 0) {
        io.err(`${z.name}: BIND on the primary has no key-signing key for it yet (${z.dnssec ? "apply first, then try again in a minute" : "the zone is not signed"})`);
        return 1;
      }
      io.out(row.ds.join("\n"));
      return 0;
    }
    const out = await checkds(root, model, what, z.name);
    io.out(out.trim() || `BIND told: DS ${what} for ${z.name}`);
    return 0;
  });
}

/** A host the route guard refuses to reach (lib/lab/reach.ts): one line and what to do (exit 1). */
export const expected = [LabError];
