import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { volunteerLang } from "../i18n/lang";
import { formatDiagnostic } from "../load/diagnostic";
import { loadModel } from "../check/build";
import { renderAll } from "../render";
import { REPO_ROOT, seconds, UsageError } from "./args";
import type { Args, Io } from "./command";

/** Marks a folder as ours, so re-rendering may replace it without deleting someone's files. */
const MARKER = ".globenet-render";

export function runRender(args: Args, io: Io): number {
  const outArg = args.str("out");
  if (!outArg) throw new UsageError("--out DIR is required (where the files go)");
  const root = resolve(args.str("root") ?? REPO_ROOT);
  const stack = args.str("stack") ?? "lab";
  const out = resolve(outArg);
  if (existsSync(out) && readdirSync(out).length > 0 && !existsSync(join(out, MARKER))) {
    throw new UsageError(`${out} is not empty and was not made by render (give an empty or new folder)`);
  }
  const t0 = process.hrtime.bigint();
  const { model, errors } = loadModel(root, stack);
  if (!model) {
    for (const d of errors) io.err(formatDiagnostic(d, volunteerLang()));
    io.err(`\n${errors.length} error(s); nothing was written.`);
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
  // One mkdir per folder, not per file (10,000 members: 46,000 files in a few hundred folders).
  const made = new Set<string>();
  for (const f of files) {
    const p = join(tmp, f.host, f.path);
    const dir = dirname(p);
    if (!made.has(dir)) mkdirSync(dir, { recursive: true });
    made.add(dir);
    writeFileSync(p, f.content, { mode: f.mode ?? 0o644 });
    hosts.add(f.host);
  }
  rmSync(out, { recursive: true, force: true });
  renameSync(tmp, out);
  io.out(`rendered ${files.length} files for ${hosts.size} host(s) of stack ${stack} into ${out} (validate ${tValid}, total ${seconds(t0)})`);
  return 0;
}
