import { parseArgs } from "node:util";
import { loadModel } from "../check/build";
import type { Model } from "../model/types";
import { formatCerts, type CertStatus } from "../status/certs";
import { waitForCerts } from "../status/cert-wait";
import { formatDnssec, readDnssec } from "../status/dnssec";
import { onStackHosts } from "../lab/open-stack";
import { REPO_ROOT, runMain, UsageError } from "./args";

export const STATUS_HELP = `Usage: npm run status -- certs|dnssec [options]

Reads the live hosts of a stack over SSH (the deploy key: GLOBENET_SSH_KEY_FILE or an agent;
the lab's own key for the lab stack):
  certs    each site's certificate on its web host (mod_md's store): issuer, names, not-after
           and days left; flags any under 20 days, any missing, and mod_md's last error
  dnssec   each zone's signing state on the primary: policy, keys and their ages, DS records

  --stack NAME   stack (default lab)
  --root DIR     data tree (default: the repository)
  --wait SEC     certs: wait up to SEC seconds for every certificate to be live (default 0)
  --json         machine-readable output

Exit 0 when everything is live and signed as git says, 1 when something needs attention.`;

export function loadOrThrow(root: string, stack: string): Model {
  const { model, errors } = loadModel(root, stack);
  if (!model) throw new UsageError(`the data does not validate (${errors.length} error(s)): run npm run validate -- --stack ${stack}`);
  return model;
}

export async function statusCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { stack: { type: "string" }, root: { type: "string" }, wait: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log(STATUS_HELP);
    return 0;
  }
  const what = positionals[0];
  if (what !== "certs" && what !== "dnssec") throw new UsageError(`say what to show: certs or dnssec (got ${what ?? "nothing"})`);
  const stack = values.stack ?? "lab";
  const root = values.root ?? REPO_ROOT;
  const wait = Number(values.wait ?? 0);
  if (!Number.isFinite(wait) || wait < 0 || wait > 3600) throw new UsageError("--wait must be seconds from 0 to 3600");
  const model = loadOrThrow(root, stack);
  return onStackHosts(root, stack, async () => {
    if (what === "certs") {
      let rounds = 0;
      const rows = await waitForCerts(root, model, wait, (r) => {
        if (wait > 0 && ++rounds % 5 === 1) console.error(`[status] ${r.filter((x) => x.state === "ok").length} of ${r.length} certificates live …`);
      });
      console.log(values.json ? JSON.stringify(rows, null, 2) : formatCerts(rows));
      return rows.every((r) => r.state === "ok") ? 0 : 1;
    }
    const rows = await readDnssec(root, model);
    console.log(values.json ? JSON.stringify(rows.map(({ raw: _raw, ...r }) => r), null, 2) : formatDnssec(rows));
    return rows.every((r) => (r.wanted ? r.keys.some((k) => !!k.since) : true)) ? 0 : 1;
  });
}

if (require.main === module) runMain("status", statusCommand);
