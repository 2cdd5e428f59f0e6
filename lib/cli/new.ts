import { existsSync, mkdirSync, rmdirSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { volunteerLang } from "../i18n/lang";
import { formatDiagnostic, sortDiagnostics, type Diagnostic } from "../load/diagnostic";
import { loadModel } from "../check/build";
import { describeSize, isSize, SIZES, type SizeName } from "../scaffold/hypervisor";
import { loadData, planMember, planVps, planZone, Refusal, TreeInvalid, type Scaffold } from "../scaffold/plan";
import { REPO_ROOT, runMain, stacksIn, UsageError } from "./args";

const sizes = (Object.keys(SIZES) as SizeName[]).map((s) => `${s} (${describeSize(SIZES[s])})`).join(", ");

export const NEW_HELP = `Usage:
  npm run new -- member <handle> [--name "Full Name"] [--email ADDRESS] [--ssh-key "LINE"]
  npm run new -- vps <handle> <name> [--size small|medium|large] [--image NAME]
  npm run new -- zone <domain> --owner <handle>

Writes a new data file that passes npm run validate as it is, with comments saying what to
fill in (lines marked TODO), then checks the whole tree against every stack; if that check
fails, the file is removed again and the errors are printed.

  member   members/<handle>/member.yaml, status active. Without --name/--email the file has
           placeholders that validate (a TODO name, todo@<handle>.invalid) to replace.
  vps      members/<handle>/vps/<name>.yaml: the hypervisor with the most room that fits in
           every stack, the next free IPv4 and IPv6 of the pools (never a gateway, network or
           broadcast address, nor one a VPS or host uses in any stack), the inventory's first
           image, and a dns_name suggestion in a comment. Sizes: ${sizes}; default small.
  zone     zones/<domain>.yaml owned by a member, no records yet and commented examples. An
           accented domain is written in its xn-- form, as the schema asks.

  --root DIR   data tree to work on (default: the repository)
  --dry-run    print the file instead of writing it

Exit 0 when written (or printed), 1 when refused (the file exists, unknown member, no room,
the data already has errors...), 2 on a usage error.`;

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

export function newCommand(argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      root: { type: "string" },
      "dry-run": { type: "boolean" },
      size: { type: "string" },
      image: { type: "string" },
      owner: { type: "string" },
      name: { type: "string" },
      email: { type: "string" },
      "ssh-key": { type: "string", multiple: true },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(NEW_HELP);
    return 0;
  }
  const [kind, ...args] = positionals;
  const want = (n: number, what: string) => {
    if (args.length !== n) throw new UsageError(`${kind} takes ${what} (got ${args.length === 0 ? "nothing" : args.map((a) => `"${a}"`).join(" ")})`);
  };
  const only = (allowed: string[]) => {
    for (const k of ["size", "image", "owner", "name", "email", "ssh-key"] as const) {
      if (values[k] !== undefined && !allowed.includes(k)) throw new UsageError(`--${k} does not apply to ${kind}`);
    }
  };
  const root = resolve(values.root ?? REPO_ROOT);
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
      for (const d of sortDiagnostics(e.diagnostics)) console.error(formatDiagnostic(d, lang));
      console.error(fr ? `erreur : ${e.fr}` : `error: ${e.message}`);
      return 1;
    }
    if (e instanceof Refusal) {
      console.error(fr ? `erreur : ${e.fr ?? e.message}` : `error: ${e.message}`);
      return 1;
    }
    throw e;
  }
  const notes = fr ? s.notesFr : s.notes;

  if (values["dry-run"]) {
    process.stdout.write(s.text);
    console.error(fr ? `(essai à blanc : rien n'est écrit ; ce serait ${s.file})` : `(dry run: nothing written; this would be ${s.file})`);
    for (const n of notes) console.error(`  ${n}`);
    return 0;
  }

  const written = write(root, s);
  const errors = validateAll(root, stacks);
  if (errors.length > 0) {
    undo(written);
    for (const d of errors) console.error(formatDiagnostic(d, lang));
    console.error(
      fr
        ? `erreur : ${s.file} ne passerait pas la validation (${errors.length} erreur(s) ci-dessus), il a donc été retiré : npm run new n'a pas prévu ce conflit (corrigez-en la cause, ou écrivez le fichier à la main : members/README.md, zones/README.md ; et prévenez les mainteneurs de cet outil)`
        : `error: ${s.file} would not validate (${errors.length} error(s) above), so it was removed again: npm run new did not foresee this conflict (fix its cause, or write the file by hand: members/README.md, zones/README.md; and tell the maintainers of this tool)`,
    );
    return 1;
  }
  console.log(fr ? `${s.file} écrit (validé pour ${stacks.join(", ")})` : `wrote ${s.file} (validated against ${stacks.join(", ")})`);
  for (const n of notes) console.log(`  ${n}`);
  console.log(fr ? `ensuite : complétez ${s.file}, puis npm run validate, git add, commit et ouvrez une merge request` : `next: edit ${s.file}, then npm run validate, commit and open a merge request`);
  return 0;
}

if (require.main === module) runMain("new", newCommand);
