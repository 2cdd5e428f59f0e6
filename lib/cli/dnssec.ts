import { parseArgs } from "node:util";
import { checkds, readDnssec } from "../status/dnssec";
import { onStackHosts } from "../lab/open-stack";
import { REPO_ROOT, runMain, UsageError } from "./args";
import { loadOrThrow } from "./status";

export const DNSSEC_HELP = `Usage: npm run dnssec -- ds|published|withdrawn <zone> [--stack NAME] [--root DIR]

  ds <zone>          prints the DS record(s) of the zone's key-signing key, as BIND holds it on
                     the primary: what to give the registrar (SHA-256 digest)
  published <zone>   tell BIND the registrar now publishes that DS (rndc dnssec -checkds published)
  withdrawn <zone>   tell BIND the registrar no longer has it (after dnssec: false, before BIND
                     removes the keys; rndc dnssec -checkds withdrawn)

--stack defaults to lab. The deploy key: GLOBENET_SSH_KEY_FILE or an agent (the lab's own for lab).`;

export async function dnssecCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { stack: { type: "string" }, root: { type: "string" }, help: { type: "boolean", short: "h" } } });
  if (values.help) {
    console.log(DNSSEC_HELP);
    return 0;
  }
  const [what, zone] = positionals;
  if (what !== "ds" && what !== "published" && what !== "withdrawn") throw new UsageError(`unknown action ${what ?? "(none)"}: ds, published or withdrawn`);
  if (!zone) throw new UsageError(`name the zone, like: npm run dnssec -- ${what} velo-libre.example`);
  const stack = values.stack ?? "lab";
  const root = values.root ?? REPO_ROOT;
  const model = loadOrThrow(root, stack);
  const z = model.zones.find((x) => x.name === zone.replace(/\.$/, "").toLowerCase());
  if (!z) throw new UsageError(`no zone ${zone} in zones/ (known: ${model.zones.map((x) => x.name).join(", ")})`);
  return onStackHosts(root, stack, async () => {
    if (what === "ds") {
      if (!z.dnssec) console.error(`note: ${z.file} says dnssec: false; the DS below (if any) is being withdrawn, do not give it to the registrar`);
      const [row] = await readDnssec(root, model, [z.name]);
      if (!row || row.ds.length === 0) {
        console.error(`${z.name}: BIND on the primary has no key-signing key for it yet (${z.dnssec ? "apply first, then try again in a minute" : "the zone is not signed"})`);
        return 1;
      }
      console.log(row.ds.join("\n"));
      return 0;
    }
    const out = await checkds(root, model, what, z.name);
    console.log(out.trim() || `BIND told: DS ${what} for ${z.name}`);
    return 0;
  });
}

if (require.main === module) runMain("dnssec", dnssecCommand);
