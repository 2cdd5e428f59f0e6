/**
 * npm run backup -- export-key <host>: the two volunteers' offline copy of one repository's
 * key (docs/architecture.md, "Backups", "The passphrase and the keys"). The passphrase and
 * `borg key export --paper` come from the protected host (globenet-backup export-key, as root,
 * the passphrase on a file descriptor); they are written only to a terminal or to a new 0600
 * file outside any git checkout, never to a log.
 */
import { closeSync, existsSync, lstatSync, openSync, realpathSync, writeSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { loadScript } from "../../provider/scripts/load";
import { run } from "../../provider/ssh/remote";
import type { Target } from "../../provider/types";
import type { Lang } from "../i18n/lang";
import { REPO_ROOT, UsageError } from "./args";
import { CommandFailure, type Io } from "./command";

/** Runs globenet-backup on a protected host (provider/scripts/tools/backup.sh). */
const INVOKE = loadScript("tools/backup.sh");

export interface KeyExport {
  host: string;
  /** The repository's borg location, as the host reaches it (ssh://account@backup-host:port/path). */
  repository: string;
  passphrase: string;
  /** `borg key export --paper` as borg prints it: the "id:" line, then numbered lines. */
  paper: string;
}

/** Where the export may go: undefined for the terminal; else the absolute path of a new file. Throws when refused. */
export function exportDestination(to: string | undefined, isTTY: boolean, env: NodeJS.ProcessEnv, checkouts: string[] = [REPO_ROOT]): string | undefined {
  if (to === undefined) {
    if (!isTTY || env.CI === "true") {
      throw new UsageError(
        "refusing to print the backup passphrase and key: the output is not a terminal (or CI=true), so it could end up in a log. Run it in a terminal, or write it to a new file with --to <file> outside the repository (print it, then delete it)",
      );
    }
    return undefined;
  }
  const path = resolve(to);
  if (existsSync(path) || isLink(path)) throw new UsageError(`--to ${to}: the file exists already; give a new file (the export never overwrites)`);
  const parent = dirname(path);
  if (!existsSync(parent)) throw new UsageError(`--to ${to}: the folder ${parent} does not exist`);
  const real = realpathSync(parent);
  for (const c of checkouts) {
    const top = existsSync(c) ? realpathSync(c) : resolve(c);
    const rel = relative(top, real);
    if (rel === "" || (!rel.startsWith("..") && !isAbsolute(rel))) throw new UsageError(`--to ${to}: inside the repository checkout ${top}: a secret must never be where git can pick it up; write it elsewhere (like your home folder)`);
  }
  for (let d = real; ; d = dirname(d)) {
    if (existsSync(join(d, ".git"))) throw new UsageError(`--to ${to}: inside the git checkout ${d}: a secret must never be where git can pick it up; write it elsewhere (like your home folder)`);
    if (d === dirname(d)) break;
  }
  return join(real, path.slice(parent.length + 1));
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** The passphrase and paper key of HOST's repository, read on the protected host over SSH. */
export async function readKeyExport(target: Target, host: string): Promise<KeyExport> {
  const r = await run(target, INVOKE, { args: [host, "export-key"], what: "exporting the backup key", check: false, timeoutMs: 120_000 });
  // Never stdout in an error: it holds the passphrase.
  if (r.code !== 0) throw new CommandFailure(`${host}: exporting the backup key failed (exit ${r.code}):\n${r.stderr.trim()}`, "npm run status -- backups shows whether the host reaches its repository");
  const repository = /^repository=(.+)$/m.exec(r.stdout)?.[1];
  const passphrase = /^passphrase=(.+)$/m.exec(r.stdout)?.[1];
  const at = r.stdout.indexOf("BORG PAPER KEY v1\n");
  const paper = at >= 0 ? r.stdout.slice(at).trimEnd() : "";
  if (!repository || !passphrase || !/^[A-Za-z0-9_-]{16,200}$/.test(passphrase) || !/^id: .+\n\s*1: /m.test(paper)) {
    throw new CommandFailure(`${host}: the host's answer is not a passphrase and a paper key`, "is globenet-backup on the host this repository's version? npm run up installs it");
  }
  return { host, repository, passphrase, paper };
}

/** The sheet the two volunteers print: the secrets, then what to do with them. */
export function keyExportSheet(e: KeyExport, lang: Lang, now = new Date()): string {
  const when = now.toISOString().replace(/\.\d+Z$/, "Z");
  const fr = lang === "fr";
  const head = fr
    ? [`GLOBENET — CLÉ DE SAUVEGARDE DE ${e.host} (à garder hors ligne)`, `Dépôt : ${e.repository}`, `Exportée le : ${when}`, "", "Phrase de passe (une ligne, à taper telle quelle) :", `  ${e.passphrase}`, "", "Clé du dépôt (borg key export --paper) :"]
    : [`GLOBENET — BACKUP KEY OF ${e.host} (keep offline)`, `Repository: ${e.repository}`, `Exported: ${when}`, "", "Passphrase (one line, type it exactly):", `  ${e.passphrase}`, "", "Repository key (borg key export --paper):"];
  const todo = fr
    ? [
        "Que faire de cette feuille :",
        " 1. L'imprimer deux fois, maintenant ; si elle est dans un fichier, l'effacer ensuite (shred -u FICHIER). Ne la garder sur aucun ordinateur ni téléphone.",
        " 2. Un exemplaire à chacun des deux bénévoles qui gardent les clés de sauvegarde ; chacun le range hors ligne (tiroir fermé, coffre).",
        " 3. Jamais dans git, une messagerie, un courriel, un ticket ni un partage de fichiers : avec elle, qui atteint le dépôt lit les données de tous les membres.",
        " 4. Pour relire le dépôt avec cette seule feuille : borg key import --paper <copie du dépôt> (taper ce qui suit « id: » puis chaque ligne numérotée), puis borg list <copie du dépôt> avec la phrase de passe.",
        " 5. Une fois par an, faire ce test (docs/guide-benevole.md, « 6 ter ») ; refaire l'export si le dépôt de l'hôte est recréé.",
      ]
    : [
        "What to do with this sheet:",
        " 1. Print it twice, now; if it went to a file, delete the file after printing (shred -u FILE). Keep it on no computer or phone.",
        " 2. One copy for each of the two volunteers who keep the backup keys; each keeps it offline (a locked drawer, a safe).",
        " 3. Never in git, a chat, an e-mail, a ticket or a shared drive: with it, whoever reaches the repository reads every member's data.",
        " 4. To read the repository with this sheet alone: borg key import --paper <copy of the repository> (type what follows \"id:\" and then each numbered line), then borg list <copy of the repository> with the passphrase.",
        " 5. Once a year, do that test (docs/guide-benevole.md, \"6 ter\"); export again when the host's repository is made again.",
      ];
  return [...head, e.paper, "", ...todo, ""].join("\n");
}

/**
 * The whole command once the host's target is known: refuses an unsafe destination before
 * reaching the host, then writes the sheet to the terminal or to a new 0600 file.
 */
export async function exportKey(opts: { target: Target; host: string; to?: string; io: Io; lang: Lang; env?: NodeJS.ProcessEnv; checkouts?: string[] }): Promise<void> {
  const dest = exportDestination(opts.to, opts.io.isTTY, opts.env ?? process.env, opts.checkouts);
  const sheet = keyExportSheet(await readKeyExport(opts.target, opts.host), opts.lang);
  if (dest === undefined) {
    opts.io.write(sheet);
    return;
  }
  // O_EXCL: never an existing file, nor one a link planted meanwhile points to.
  const fd = openSync(dest, "wx", 0o600);
  try {
    writeSync(fd, sheet);
  } finally {
    closeSync(fd);
  }
  opts.io.err(
    opts.lang === "fr"
      ? `clé de sauvegarde de ${opts.host} écrite dans ${dest} (0600) : imprimez-la deux fois pour les deux bénévoles, puis effacez le fichier (shred -u ${dest})`
      : `backup key of ${opts.host} written to ${dest} (0600): print it twice for the two volunteers, then delete the file (shred -u ${dest})`,
  );
}
