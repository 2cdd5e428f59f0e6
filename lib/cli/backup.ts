import { resolve } from "node:path";
import { homePathProblem } from "../scaffold/names";
import { targetOf } from "../../components/target";
import { loadScript } from "../../provider/scripts/load";
import { run } from "../../provider/ssh/remote";
import { volunteerLang } from "../i18n/lang";
import { onStackHosts } from "../lab/open-stack";
import { ARCHIVE, archivePrefix, backupPlan, homesPrefix, mayHoldHome, type BackupPlan, type BackupSource } from "../model/backup";
import type { Model } from "../model/types";
import { REPO_ROOT, UsageError } from "./args";
import { LabError } from "../base/proc";
import { defaultStack } from "./stack-default";
import { exportKey } from "./backup-export-key";
import { purgeDeparture } from "./backup-purge-departure";
import { CommandFailure, type Args, type Io } from "./command";
import { loadOrThrow } from "./status";

/** Runs globenet-backup on a protected host (provider/scripts/tools/backup.sh). */
const INVOKE = loadScript("tools/backup.sh");

interface Where {
  host: string;
  source: BackupSource;
}

/** Every source of the plan with the host that sends it. */
function allSources(plan: BackupPlan): Where[] {
  return plan.hosts.flatMap((h) => h.sources.map((source) => ({ host: h.host, source })));
}

/** Which sources a name stands for: a member's (home, databases, VPS), a VPS (handle/name), a zone (the signing keys), or a host's. */
export function sourcesOf(plan: BackupPlan, model: Model, what: string): Where[] {
  const all = allSources(plan);
  if (plan.hosts.some((h) => h.host === what)) return all.filter((w) => w.host === what);
  if (what.includes("/")) {
    const [handle, name] = what.split("/");
    return all.filter((w) => w.source.kind === "vps-disk" && w.source.name === `${handle}--${name}`);
  }
  if (model.zones.some((z) => z.name === what)) return all.filter((w) => w.source.kind === "path" && w.source.name === "dnssec");
  return all.filter((w) => "handle" in w.source && w.source.handle === what);
}

async function onBackupHost(root: string, model: Model, host: string, args: string[], what: string, timeoutMs = 3_600_000): Promise<string> {
  const h = model.hosts.find((x) => x.name === host);
  if (!h) throw new CommandFailure(`unknown host ${host}`);
  const r = await run(targetOf(h, root), INVOKE, { args: [host, ...args], what, check: false, timeoutMs });
  if (r.code !== 0) {
    throw new CommandFailure(`${host}: ${what} failed (exit ${r.code}):\n${(r.stderr || r.stdout).trim()}`, "read borg's message above; npm run status -- backups shows each source's last run");
  }
  return r.stdout;
}

/**
 * A source's archives, oldest first. A home's: the host's homes archives that hold it (their
 * comment names it) and the member's former own archives (home--<handle>--…).
 */
async function archivesOf(root: string, model: Model, w: Where): Promise<string[]> {
  const id = archivePrefix(w.source).slice(0, -2);
  const args = w.source.kind === "home" ? ["list-home", w.source.handle] : ["list", archivePrefix(w.source)];
  const out = await onBackupHost(root, model, w.host, args, `listing the backups of ${id}`, 120_000);
  const names = out.split("\n").filter((l) => ARCHIVE.test(l));
  // By stamp: a home's two kinds of archive interleave in time.
  return w.source.kind === "home" ? names : names.sort();
}

/** The newest archive of a source, or the one given with --at (which must be that source's). */
async function chooseArchive(root: string, model: Model, w: Where, at: string | undefined): Promise<string> {
  const prefix = archivePrefix(w.source);
  if (at) {
    const fits = w.source.kind === "home" ? mayHoldHome(at, w.host, w.source.handle) : ARCHIVE.test(at) && at.startsWith(prefix);
    const which = w.source.kind === "home" ? `${homesPrefix(w.host)}… or ${prefix}…` : `${prefix.slice(0, -2)}`;
    if (!fits) throw new UsageError(`--at ${at} is not an archive of ${which} (npm run backup -- list shows them)`);
    return at;
  }
  const names = await archivesOf(root, model, w);
  const newest = names.at(-1);
  if (!newest) throw new CommandFailure(`${w.host} has no backup of ${prefix.slice(0, -2)} yet`, "npm run backup -- run --host " + w.host + " makes one now");
  return newest;
}

/** A path inside a member's home, as the volunteer writes it (sites/x/htdocs/index.php): nothing that climbs out. */
function homePath(p: string): string {
  const problem = homePathProblem(p);
  if (problem) throw new UsageError(problem);
  return p.replace(/^\/+|\/+$/g, "");
}

/** What restore-disk printed (key=value lines), for the volunteer. */
export function diskRestoreReport(out: string, host: string, fr: boolean): string[] {
  const v = (k: string) => new RegExp(`^${k}=(.+)$`, "m").exec(out)?.[1];
  const lines: string[] = [];
  const replaced = v("replaced");
  if (!replaced) {
    lines.push(fr ? `image restaurée : ${v("staging")} sur ${host} (dossier de root ; relancez avec --replace pour la mettre à la place du disque)` : `restored image: ${v("staging")} on ${host} (root's staging folder; run again with --replace to put it in place of the disk)`);
    return lines;
  }
  if (v("stopped")) lines.push(fr ? `invité ${v("stopped")} arrêté` : `guest ${v("stopped")} stopped`);
  const kept = v("kept");
  if (kept) lines.push(fr ? `l'ancien disque est gardé : ${kept} sur ${host} (à effacer à la main une fois vérifié)` : `the old disk is kept: ${kept} on ${host} (remove it by hand once checked)`);
  lines.push(fr ? `disque restauré en place : ${replaced}` : `restored disk in place: ${replaced}`);
  if (v("started")) lines.push(fr ? `invité ${v("started")} redémarré` : `guest ${v("started")} started`);
  return lines;
}

/** restore <member>/<vps>: the VPS disk into the staging, or with --replace in place of the disk. */
async function restoreDisk(root: string, model: Model, plan: BackupPlan, stack: string, what: string, path: string | undefined, a: Args, io: Io, fr: boolean): Promise<number> {
  if (path) throw new UsageError(`a VPS disk is restored whole: no path after ${what}`);
  if (a.flag("in-place")) throw new UsageError("--in-place is for homes; a VPS disk is put in place with --replace");
  const w = sourcesOf(plan, model, what).find((x) => x.source.kind === "vps-disk");
  if (!w || w.source.kind !== "vps-disk") throw new UsageError(`${what} is not a VPS that is backed up in stack ${stack} (<member>/<vps>, as in members/<member>/vps/<vps>.yaml)`);
  const domain = w.source.domain;
  const vps = model.vps.find((v) => v.domain === domain);
  const archive = await chooseArchive(root, model, w, a.str("at"));
  const args = ["restore-disk", archive, ...(a.flag("replace") ? ["--replace", "--shutdown-timeout", String(vps?.shutdownTimeoutSec ?? 90)] : [])];
  const out = await onBackupHost(root, model, w.host, args, `restoring the disk of ${domain} from ${archive}`);
  io.out(`archive: ${archive}`);
  for (const l of diskRestoreReport(out, w.host, fr)) io.out(l);
  return 0;
}

/** npm run backup (table entry and help: lib/cli/commands.ts). */
export async function runBackup(a: Args, io: Io): Promise<number> {
  const [action, what, path, ...extra] = a.positionals;
  if (extra.length) throw new UsageError(`unexpected "${extra[0]}"`);
  const stack = defaultStack(a.str("stack"), a.str("root"));
  const root = resolve(a.str("root") ?? REPO_ROOT);
  const model = loadOrThrow(root, stack);
  const plan = backupPlan(model);
  if (!plan) throw new UsageError(`stack ${stack} has no backup host (give a host the backup role in Pulumi.${stack}.yaml)`);
  const fr = volunteerLang() === "fr";
  return onStackHosts(root, stack, async () => {
    switch (action) {
      case "list": {
        if (!what) throw new UsageError("say whose backups: a member, a VPS (member/name), a zone or a host");
        const found = sourcesOf(plan, model, what);
        if (!found.length) throw new UsageError(`nothing of "${what}" is backed up in stack ${stack} (a member, member/vps, a zone or a host)`);
        const isHost = plan.hosts.some((h) => h.host === what);
        if (isHost && found.some((w) => w.source.kind === "home")) {
          // A host's homes: its homes archives, then the members' former own ones, each one listing.
          for (const [prefix, label] of [[homesPrefix(what), fr ? "tous les dossiers personnels" : "every home"], ["home--", fr ? "anciennes archives d'un membre chacune" : "former archives of one member each"]] as const) {
            const names = (await onBackupHost(root, model, what, ["list", prefix], `listing the backups of ${prefix}`, 120_000)).split("\n").filter((l) => ARCHIVE.test(l));
            if (prefix === "home--" && !names.length) continue;
            io.out(`${what}  ${prefix.slice(0, -2)}  (${names.length} ${fr ? "sauvegarde(s)" : "backup(s)"}: ${label})`);
            for (const n of names) io.out(`  ${n}`);
          }
        }
        for (const w of found) {
          if (isHost && w.source.kind === "home") continue;
          const names = await archivesOf(root, model, w);
          // A home is in its host's homes archives: say so, the names alone do not.
          const where = w.source.kind === "home" ? (fr ? `, dans les archives ${homesPrefix(w.host)}… de ${w.host}` : `, in ${w.host}'s ${homesPrefix(w.host)}… archives`) : "";
          io.out(`${w.host}  ${archivePrefix(w.source).slice(0, -2)}  (${names.length} ${fr ? "sauvegarde(s)" : "backup(s)"}${where})`);
          for (const n of names) io.out(`  ${n}`);
        }
        return 0;
      }
      case "run": {
        const host = a.str("host");
        const hosts = host ? plan.hosts.filter((h) => h.host === host) : plan.hosts;
        if (!hosts.length) throw new UsageError(`${host} is not a host that backs up (${plan.hosts.map((h) => h.host).join(", ")})`);
        for (const h of hosts) {
          io.err(fr ? `[backup] ${h.host} : ${h.sources.length} source(s) …` : `[backup] ${h.host}: ${h.sources.length} source(s) …`);
          const t0 = Date.now();
          const out = await onBackupHost(root, model, h.host, ["run"], "the backup run");
          // What the run says of each source (a VPS copy frozen or crash-consistent).
          for (const l of out.split("\n")) if (l.trim()) io.err(`[backup] ${h.host}: ${l.trim()}`);
          io.err(fr ? `[backup] ${h.host} : fait en ${((Date.now() - t0) / 1000).toFixed(1)} s` : `[backup] ${h.host}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        }
        return 0;
      }
      case "restore": {
        if (what?.includes("/")) return restoreDisk(root, model, plan, stack, what, path, a, io, fr);
        if (!what) throw new UsageError("say whose home: npm run backup -- restore <member> [<path in the home>] [--at ARCHIVE] [--in-place]");
        const w = sourcesOf(plan, model, what).find((x) => x.source.kind === "home");
        if (!w || w.source.kind !== "home") throw new UsageError(`${what} has no home that is backed up in stack ${stack}`);
        // The path is checked before any host is reached.
        const inArchive = `${w.source.path.replace(/^\//, "")}${path ? `/${homePath(path)}` : ""}`;
        const archive = await chooseArchive(root, model, w, a.str("at"));
        const out = await onBackupHost(root, model, w.host, ["restore", archive, inArchive, ...(a.flag("in-place") ? ["--in-place"] : [])], `restoring ${inArchive} from ${archive}`);
        const staging = /^staging=(.+)$/m.exec(out)?.[1];
        const restored = /^restored=(.+)$/m.exec(out)?.[1];
        io.out(`archive: ${archive}`);
        if (restored) io.out(fr ? `remis en place dans ${restored} (en tant que ${what}, propriétaires et droits d'origine)` : `restored in place into ${restored} (as ${what}, owners and modes as they were)`);
        // An sftp member's home: its top level is root's (the chroot); what the archive held there stays in the staging.
        const skipped = [...out.matchAll(/^skipped=(.+)$/gm)].map((m) => m[1] as string);
        const keptStaging = /^kept_staging=(.+)$/m.exec(out)?.[1];
        if (restored && skipped.length > 0) {
          io.out(
            fr
              ? `laissé dans ${keptStaging} sur ${w.host}, au premier niveau d'un dossier personnel sftp (à root : le chroot de sshd) : ${skipped.join(", ")} (copiez-en le contenu dans un dossier de l'adhérent, comme sites/, si il le demande)`
              : `left in ${keptStaging} on ${w.host}, at the top of an sftp home (root's: sshd's chroot): ${skipped.join(", ")} (copy their content into one of the member's folders, like sites/, if the member asks)`,
          );
        }
        else io.out(fr ? `dans ${staging} sur ${w.host} (dossier de root : copiez ce qu'il faut, ou relancez avec --in-place)` : `into ${staging} on ${w.host} (root's staging folder: copy what is needed, or run again with --in-place)`);
        return 0;
      }
      case "restore-db": {
        if (!what) throw new UsageError("say which database: npm run backup -- restore-db <database> [--at ARCHIVE] [--replace]");
        const w = allSources(plan).find((x) => x.source.kind === "database" && x.source.name === what);
        if (!w) throw new UsageError(`${what} is not a database that is backed up in stack ${stack}`);
        const archive = await chooseArchive(root, model, w, a.str("at"));
        const out = await onBackupHost(root, model, w.host, ["restore-db", archive, what, ...(a.flag("replace") ? ["--replace"] : [])], `restoring database ${what} from ${archive}`);
        const db = /^database=(.+)$/m.exec(out)?.[1];
        const kept = /^kept=(.+)$/m.exec(out)?.[1];
        io.out(`archive: ${archive}`);
        if (kept) io.out(fr ? `ce qui était là avant est gardé dans ${kept} sur ${w.host}` : `what was there before is kept in ${kept} on ${w.host}`);
        io.out(fr ? `restaurée dans la base ${db}` : `restored into database ${db}`);
        return 0;
      }
      case "export-key": {
        const h = plan.hosts.find((x) => x.host === what);
        if (!h || path) throw new UsageError(`say which protected host: npm run backup -- export-key <host> [--to FILE] (${plan.hosts.map((x) => x.host).join(", ")})`);
        const host = model.hosts.find((x) => x.name === h.host);
        if (!host) throw new CommandFailure(`unknown host ${h.host}`);
        await exportKey({ target: targetOf(host, root), host: h.host, to: a.str("to"), io, lang: volunteerLang(), checkouts: [REPO_ROOT, root] });
        return 0;
      }
      case "purge-departure": {
        if (!what || path) throw new UsageError("say whose departure archives: npm run backup -- purge-departure <handle> [--yes]");
        await purgeDeparture({ root, model, handle: what, yes: a.flag("yes"), io, lang: volunteerLang() });
        return 0;
      }
      default:
        throw new UsageError(`say what to do: list, run, restore, restore-db, export-key or purge-departure (got ${action ?? "nothing"})`);
    }
  });
}

/** A host the route guard refuses to reach (lib/lab/reach.ts): one line and what to do (exit 1). */
export const expected = [LabError];
