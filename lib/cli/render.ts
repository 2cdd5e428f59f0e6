import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { formatDiagnostic } from "../load/diagnostic";
import { loadModel } from "../check/build";
import { renderAll } from "../render";
import { REPO_ROOT, seconds, UsageError } from "./args";

export const RENDER_HELP = `Usage: npm run render -- --out DIR [--root DIR] [--stack NAME]

Validates, then writes every generated config file under DIR/<host>/… (apache2, php,
bind, libvirt, cloud-init, mariadb). Nothing is written if the data has any error.
Database passwords are not known here: the SQL carries a placeholder, filled at apply time.
  --out DIR      where to write (replaced as a whole; must be empty or a previous render)
  --root DIR     data tree to read (default: the repository)
  --stack NAME   whose inventory to use (default: lab)`;

/** Marks a folder as ours, so re-rendering may replace it without deleting someone's files. */
const MARKER = ".globenet-render";

export function renderCommand(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { root: { type: "string" }, stack: { type: "string" }, out: { type: "string" }, help: { type: "boolean", short: "h" } }, strict: true });
  if (values.help) {
    console.log(RENDER_HELP);
    return 0;
  }
  if (!values.out) throw new UsageError("--out DIR is required (where the files go)");
  const root = resolve(values.root ?? REPO_ROOT);
  const stack = values.stack ?? "lab";
  const out = resolve(values.out);
  if (existsSync(out) && readdirSync(out).length > 0 && !existsSync(join(out, MARKER))) {
    throw new UsageError(`${out} is not empty and was not made by render (give an empty or new folder)`);
  }
  const t0 = process.hrtime.bigint();
  const { model, errors } = loadModel(root, stack);
  if (!model) {
    for (const d of errors) console.error(formatDiagnostic(d));
    console.error(`\n${errors.length} error(s); nothing was written.`);
    return 1;
  }
  const tValid = seconds(t0);
  const files = renderAll(model);
  // Write beside the target, then swap, so a failed render never leaves half a tree.
  const tmp = `${out}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(tmp, MARKER), `stack ${stack}\n`);
  const hosts = new Set<string>();
  for (const f of files) {
    const p = join(tmp, f.host, f.path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, f.content, { mode: f.mode ?? 0o644 });
    hosts.add(f.host);
  }
  rmSync(out, { recursive: true, force: true });
  renameSync(tmp, out);
  console.log(`rendered ${files.length} files for ${hosts.size} host(s) of stack ${stack} into ${out} (validate ${tValid}, total ${seconds(t0)})`);
  return 0;
}
