import { existsSync, mkdirSync, rmdirSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { formatDiagnostic, sortDiagnostics, type Diagnostic } from "../load/diagnostic";
import { loadModel } from "../check/build";
import { describeSize, isSize, SIZES, type SizeName } from "../scaffold/hypervisor";
import { loadData, planMember, planVps, planZone, Refusal, TreeInvalid, type Scaffold } from "../scaffold/plan";
import { volunteerLang } from "../i18n/lang";
import { REPO_ROOT, stacksIn, UsageError } from "./args";
import type { Args, Io } from "./command";

const sizes = (Object.keys(SIZES) as SizeName[]).map((s) => `${s} (${describeSize(SIZES[s])})`).join(", ");

function commandLine(kind: string, positionals: string[], extra: Array<[string, string | undefined]>): string {
  const opts = extra.filter(([, v]) => v !== undefined).map(([k, v]) => ` --${k} ${v}`).join("");
  return `npm run new -- ${[kind, ...positionals].join(" ")}${opts}`;
}

/** Creates the file and the folders it needs; returns what to undo: the file, then the created folders deepest first. */
function write(root: string, s: Scaffold): string[] {
  const abs = join(root, s.file);
  const created: string[] = [];
  for (let d = dirname(abs); !existsSync(d); d = dirname(d)) created.push(d);
  mkdirSync(dirname(abs), { recursive: true });
  writeFileSync(abs, s.text, { flag: "wx" });
  return [abs, ...created];
}

function undo(paths: string[]): void {
  const [file, ...dirs] = paths;
  if (file) unlinkSync(file);
  for (const d of dirs) rmdirSync(d);
}

/** The whole tree against every stack, as npm run validate checks it. */
function validateAll(root: string, stacks: string[]): Diagnostic[] {
  const seen = new Map<string, Diagnostic>();
  for (const stack of stacks) for (const d of loadModel(root, stack).errors) seen.set(formatDiagnostic(d), d);
  return sortDiagnostics([...seen.values()]);
}

/** npm run new (table entry and help: lib/cli/commands.ts). */
export function runNew(a: Args, io: Io): number {
  const values = { name: a.str("name"), email: a.str("email"), size: a.str("size"), image: a.str("image"), owner: a.str("owner"), "ssh-key": a.list("ssh-key") };
  const [kind, ...args] = a.positionals;
  const want = (n: number, what: string) => {
    if (args.length !== n) throw new UsageError(`${kind} takes ${what} (got ${args.length === 0 ? "nothing" : args.map((a) => `"${a}"`).join(" ")})`);
  };
  const only = (allowed: string[]) => {
    for (const k of ["size", "image", "owner", "name", "email", "ssh-key"] as const) {
      if (values[k] !== undefined && !allowed.includes(k)) throw new UsageError(`--${k} does not apply to ${kind}`);
    }
  };
  const root = resolve(a.str("root") ?? REPO_ROOT);
  const stacks = stacksIn(root);
  if (stacks.length === 0) throw new UsageError(`no Pulumi.<stack>.yaml in ${root} (is --root the repository or a data tree?)`);

  let plan: (d: ReturnType<typeof loadData>) => Scaffold;
  switch (kind) {
    case "member": {
      want(1, "one argument: the handle");
      only(["name", "email", "ssh-key"]);
      const handle = args[0] as string;
      plan = (d) => planMember(d, handle, { name: values.name, email: values.email, sshKeys: values["ssh-key"], command: commandLine(kind, args, []) });
      break;
    }
    case "vps": {
      want(2, "two arguments: the member's handle and the VPS name");
      only(["size", "image"]);
      const size = values.size ?? "small";
      if (!isSize(size)) throw new UsageError(`--size "${size}" is not a size (use one of: ${sizes})`);
      const [handle, name] = args as [string, string];
      plan = (d) => planVps(d, handle, name, { size, image: values.image, command: commandLine(kind, args, [["size", size], ["image", values.image]]) });
      break;
    }
    case "zone": {
      want(1, "one argument: the domain");
      only(["owner"]);
      const domain = args[0] as string;
      plan = (d) => planZone(d, domain, { owner: values.owner, command: commandLine(kind, args, [["owner", values.owner]]) });
      break;
    }
    case undefined:
      throw new UsageError("say what to create: member, vps or zone (npm run new -- --help)");
    default:
      throw new UsageError(`cannot create "${kind}" (use member, vps or zone)`);
  }

  const lang = volunteerLang();
  const fr = lang === "fr";
  let s: Scaffold;
  try {
    s = plan(loadData(root, stacks));
  } catch (e) {
    if (e instanceof TreeInvalid) {
      for (const d of sortDiagnostics(e.diagnostics)) io.err(formatDiagnostic(d, lang));
      io.err(fr ? `erreur : ${e.fr}` : `error: ${e.message}`);
      return 1;
    }
    if (e instanceof Refusal) {
      io.err(fr ? `erreur : ${e.fr ?? e.message}` : `error: ${e.message}`);
      return 1;
    }
    throw e;
  }
  const notes = fr ? s.notesFr : s.notes;

  if (a.flag("dry-run")) {
    io.write(s.text);
    io.err(fr ? `(essai à blanc : rien n'est écrit ; ce serait ${s.file})` : `(dry run: nothing written; this would be ${s.file})`);
    for (const n of notes) io.err(`  ${n}`);
    return 0;
  }

  const written = write(root, s);
  const errors = validateAll(root, stacks);
  if (errors.length > 0) {
    undo(written);
    for (const d of errors) io.err(formatDiagnostic(d, lang));
    io.err(
      fr
        ? `erreur : ${s.file} ne passerait pas la validation (${errors.length} erreur(s) ci-dessus), il a donc été retiré : npm run new n'a pas prévu ce conflit (corrigez-en la cause, ou écrivez le fichier à la main : members/README.md, zones/README.md ; et prévenez les mainteneurs de cet outil)`
        : `error: ${s.file} would not validate (${errors.length} error(s) above), so it was removed again: npm run new did not foresee this conflict (fix its cause, or write the file by hand: members/README.md, zones/README.md; and tell the maintainers of this tool)`,
    );
    return 1;
  }
  io.out(fr ? `${s.file} écrit (validé pour ${stacks.join(", ")})` : `wrote ${s.file} (validated against ${stacks.join(", ")})`);
  for (const n of notes) io.out(`  ${n}`);
  io.out(fr ? `ensuite : complétez ${s.file}, puis npm run validate, git add, commit et ouvrez une merge request` : `next: edit ${s.file}, then npm run validate, commit and open a merge request`);
  return 0;
}
