import { COMPONENT_TOKENS, RESOURCE_TOKENS, type ResourceToken } from "../base/tokens";
import type { Lang } from "../i18n/lang";
import type { Plan, PlanStep } from "./plan";
import { mailboxLosses } from "./mailbox-removal";
import { siteLosses } from "./site-removal";
import { formatMpmSwitches, mpmSwitches, type MpmSwitch } from "./mpm";
import { isRecord as isPlainRecord } from "../base/record";
import { setPaths } from "../../provider/resources/file-store";

/**
 * The destructive-change guard: a plan that deletes or replaces what holds members' data
 * (a hosting account and its home, a database, a VPS and its disk), or that removes more
 * than a set share of the members or zones at once, is refused unless a commit being applied
 * says so, one `Allow-Destroy: <path>` line per thing (where those lines may come from:
 * ./allowances.ts). The removal of a site from an account that stays is a loss too: the
 * provider archives the site's folder, then deletes it; so is a mailbox's from a mail domain
 * that stays (its maildir). The provider archives before every
 * such delete; the guard makes sure nobody loses data by accident even so.
 *
 * The same rules judge a plan the engine made (CI, `up`) and one built from the data alone
 * (./offline.ts, `npm run guard -- --base main` without the engine): both ask for the same lines.
 */

const DESTRUCTIVE = new Set(["delete", "replace", "create-replacement", "delete-replaced", "discard"]);

type LossKind = { what: string; folder: string; ext: string };

/**
 * The guard's decision for every resource type the provider serves (the type makes it
 * exhaustive; tests/tokens.test.ts checks it against provider/registry.ts): the member data its
 * deletion loses and where the provider archives it first, or why its deletion loses none.
 */
export const GUARD_DECISIONS: Record<ResourceToken, LossKind | { noLoss: string }> = {
  [RESOURCE_TOKENS.account]: { what: "hosting account and home", folder: "accounts", ext: ".tar.gz" },
  [RESOURCE_TOKENS.database]: { what: "database", folder: "databases", ext: ".sql.gz" },
  [RESOURCE_TOKENS.guest]: { what: "VPS and its disk", folder: "vps", ext: ".qcow2" },
  [RESOURCE_TOKENS.dbSettings]: { noLoss: "the database host's slow query log settings, set again from the inventory by the next apply" },
  [RESOURCE_TOKENS.crontab]: { noLoss: "the jobs of a member file (cron:), rendered from the data; the member's own jobs in the same crontab are kept" },
  [RESOURCE_TOKENS.fileSet]: { noLoss: "config files rendered from the data, written again by the next apply; a primary's zones removed at once are checked by the share rule" },
  // Its delete removes the host's key and leaves the repository, but the host's history stops
  // growing and the next step is a purge: a volunteer says so first (Allow-Destroy: backups/<host>).
  [RESOURCE_TOKENS.backupRepository]: { what: "backup repository (a host's history)", folder: "backups", ext: "" },
  [RESOURCE_TOKENS.backupClient]: { noLoss: "the schedule and configuration of a host's backups, rendered from the data; its key and passphrase stay on the host" },
  [RESOURCE_TOKENS.alertBridge]: { noLoss: "the alert bridge's unit and GitLab token file on the monitor host, written again from the data and the stack's secret by the next apply" },
  // Its delete moves the key to the archive folder on the mail host: never destroyed.
  // Its delete archives <vmail>/<domain> (every maildir), verified, then removes it.
  [RESOURCE_TOKENS.maildirs]: { what: "mail domain's mailboxes (every maildir)", folder: "mail", ext: ".tar.gz" },
  [RESOURCE_TOKENS.dkimKey]: { noLoss: "a domain's DKIM key, moved to the mail host's archive folder by its delete (a new selector's key signs from the same apply)" },
  [RESOURCE_TOKENS.portal]: { noLoss: "the member portal's user, unit, token file, password hashes and shipped code and data on its web host, written and shipped again from the repository and the stack's secret by the next apply (members log in again)" },
  [RESOURCE_TOKENS.portalPassword]: { noLoss: "a member's portal password file; the next apply makes a new password and delivers it in the member's home" },
  [RESOURCE_TOKENS.transferKey]: { noLoss: "the TSIG key of zone transfers, made again at the next apply (the secondaries keep serving what they have meanwhile)" },
};

const KINDS: Record<string, LossKind> = Object.fromEntries(Object.entries(GUARD_DECISIONS).flatMap(([t, d]) => ("noLoss" in d ? [] : [[t, d]])));

export interface Loss {
  /** The path in the repository an Allow-Destroy line names to allow it. */
  path: string;
  /** Paths that also allow it (the member as a whole). */
  coveredBy: string[];
  description: string;
  archive: string;
  /** The same two texts in French, for a volunteer reading in French. */
  fr: { description: string; archive: string };
  allowedBy?: string;
  /** Nothing is archived because nothing is removed from disk (a backup repository): `archive` says where it stays. */
  keptInPlace?: boolean;
}

export interface Verdict {
  ok: boolean;
  losses: Loss[];
  /** Share rules broken (and not allowed). */
  share: string[];
  /** The same in French. */
  shareFr: string[];
  /** The paths not allowed yet, one Allow-Destroy line each (a member's path covers its parts). */
  needed: string[];
  /** Summary of the plan: op → count. */
  counts: Record<string, number>;
  /** Web hosts whose Apache the apply would restart for its MPM (./mpm.ts), each allowed by `restart/<host>` or not. */
  restarts: MpmSwitch[];
  allowances: string[];
}

export interface GuardOptions {
  /** Largest share of members (and of zones) one change may remove without each being allowed. */
  maxShare: number;
  /** Paths from Allow-Destroy lines (commit messages) and --allow. */
  allowances: string[];
  /** Departed members whose archives the change declares to purge (./departures.ts). */
  purges?: string[];
}

/**
 * The Allow-Destroy lines of one commit message, normalised. Any line of the message counts,
 * not only git's trailer block: a squash commit made from GitLab's `%{all_commits}` template
 * keeps each commit's lines in the middle of its message.
 */
export function allowancesIn(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^[ \t]*Allow-Destroy:[ \t]*(.+)$/gim)) {
    for (const p of (m[1] ?? "").split(/[\s,]+/)) {
      const n = normalisePath(p);
      if (n) out.push(n);
    }
  }
  // Allow-Restart: <host> lets the apply restart that web host's Apache for its MPM (./mpm.ts).
  for (const m of text.matchAll(/^[ \t]*Allow-Restart:[ \t]*(.+)$/gim)) {
    for (const h of (m[1] ?? "").split(/[\s,]+/)) if (/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(h)) out.push(`restart/${h}`);
  }
  return [...new Set(out)].sort();
}

export function normalisePath(p: string): string {
  return p.trim().replace(/^\.\//, "").replace(/\/+$/, "").replace(/\/member\.yaml$/, "").replace(/\.yaml$/, "");
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

function targetName(inputs: Record<string, unknown> | undefined): string {
  const t = inputs?.target;
  return t && typeof t === "object" ? (str((t as Record<string, unknown>).name) ?? "?") : "?";
}

function lossesOf(step: PlanStep): Loss[] {
  const kind = KINDS[step.type];
  if (!kind) return [];
  if (!DESTRUCTIVE.has(step.op)) return [];
  // A create-replacement and its delete-replaced are one replacement: report the delete side.
  if (step.op === "create-replacement") return [];
  const i = step.old ?? step.new ?? {};
  const host = targetName(i);
  const archiveDir = str(i.archiveDir) ?? "<archive_dir>";
  let handle: string;
  let path: string;
  let label: string;
  let labelFr: string;
  let file: string;
  if (step.type === RESOURCE_TOKENS.guest) {
    const domain = str(i.domain) ?? step.name;
    const [h, name] = domain.split("--");
    handle = h ?? domain;
    path = `members/${handle}/vps/${name ?? domain}`;
    label = `VPS ${name ?? domain}`;
    labelFr = `le VPS ${name ?? domain} (et son disque)`;
    file = domain;
  } else if (step.type === RESOURCE_TOKENS.maildirs) {
    handle = str(i.handle) ?? "?";
    const domain = str(i.domain) ?? step.name;
    path = `members/${handle}/mail/${domain}`;
    label = `the mail of ${domain} (every mailbox's maildir)`;
    labelFr = `le courrier de ${domain} (le maildir de chaque boîte)`;
    file = `${handle}--${domain}`;
  } else if (step.type === RESOURCE_TOKENS.database) {
    handle = str(i.handle) ?? "?";
    const name = str(i.name) ?? step.name;
    path = `members/${handle}/databases/${name}`;
    label = `database ${name}`;
    labelFr = `la base de données ${name}`;
    file = name;
  } else {
    handle = str(i.handle) ?? step.name;
    path = `members/${handle}`;
    label = `hosting account ${handle} (its home and sites)`;
    labelFr = `le compte d'hébergement ${handle} (son dossier personnel et ses sites)`;
    file = handle;
  }
  if (step.type === RESOURCE_TOKENS.backupRepository) return [repositoryLoss(step, host)];
  const deleted = step.op === "delete";
  const verb = deleted ? "deleted" : "replaced (the old one deleted)";
  // French agrees with the thing: "la base … supprimée", "le VPS … supprimé".
  const e = step.type === RESOURCE_TOKENS.database ? "e" : "";
  const verbFr = deleted ? `serait supprimé${e}` : `serait remplacé${e} (l'ancien${e ? "ne" : ""} supprimé${e})`;
  const archive = `${archiveDir}/${kind.folder}/${file}-<UTC time>${kind.ext}`;
  return [
    {
      path,
      coveredBy: [`members/${handle}`],
      description: `members/${handle}: ${label} would be ${verb} on ${host}`,
      archive: `${archive} on ${host}, verified before anything is removed`,
      fr: {
        description: `members/${handle} : ${labelFr} ${verbFr} sur ${host}`,
        archive: `${archive.replace("<UTC time>", "<heure UTC>")} sur ${host}, vérifiée avant toute suppression`,
      },
    },
  ];
}

/** A declared purge of a departed member's archives: removed from the hosts later, by a command; the backup repository keeps its copies. */
function purgeLoss(handle: string): Loss {
  return {
    path: `departures/${handle}`,
    coveredBy: [],
    description: `departures/${handle}: the departure archives of ${handle} (home, crontab, sites, database dumps, VPS disks, maildirs in archive_dir) may then be removed from the hosts (npm run backup -- purge-departure ${handle})`,
    archive: "in the backup repository, until retention prunes the last snapshot that holds them",
    fr: {
      description: `departures/${handle} : les archives de départ de ${handle} (dossier personnel, crontab, sites, copies des bases, disques de VPS, maildirs dans archive_dir) pourront ensuite être effacées des serveurs (npm run backup -- purge-departure ${handle})`,
      archive: "dans le dépôt de sauvegarde, jusqu'à ce que la rétention efface le dernier instantané qui les contient",
    },
    keptInPlace: true,
  };
}

/** A backup repository: nothing is archived, the repository itself stays where it is. */
function repositoryLoss(step: PlanStep, host: string): Loss {
  const i = step.old ?? step.new ?? {};
  const source = str(i.sourceHost) ?? step.name;
  const path = str(i.path) ?? `<backup.path>/${source}`;
  const deleted = step.op === "delete";
  return {
    path: `backups/${source}`,
    coveredBy: [],
    description: `backups/${source}: the backup repository of ${source} would be ${deleted ? "deleted" : "replaced"} on ${host} (${source} stops adding to its history)`,
    archive: `${path} on ${host}: only ${source}'s key is removed; purging the repository is a separate command`,
    fr: {
      description: `backups/${source} : le dépôt de sauvegarde de ${source} serait ${deleted ? "supprimé" : "remplacé"} sur ${host} (${source} n'ajoute plus à son historique)`,
      archive: `${path} sur ${host} : seule la clé de ${source} est retirée ; purger le dépôt est une commande à part`,
    },
    keptInPlace: true,
  };
}

/**
 * A primary's zones, from its set's paths (any form of the inputs: contents, refs, or a
 * manifest the store gives; no content is read), else from what its outputs say it was
 * applied with: its zones' names, or the files a refresh or an adoption saw. A manifest
 * written on another runner is not in this one's store, and nothing here may make a primary
 * look emptier before than it was (that would hide zones from the share rule).
 */
function zonesOf(inputs: Record<string, unknown> | undefined, outputs?: Record<string, unknown>): Set<string> {
  const out = new Set<string>();
  const paths = setPaths(inputs) ?? appliedPaths(outputs);
  for (const k of paths ?? []) {
    const m = /^zones\/(.+)\.zone$/.exec(k);
    if (m?.[1]) out.add(m[1]);
  }
  return out;
}

/** The paths a set's outputs say it has (zone files from `zoneNames`, else the keys of `hashes`); undefined when they say none. */
function appliedPaths(outputs: Record<string, unknown> | undefined): string[] | undefined {
  if (typeof outputs?.zoneNames === "string") return outputs.zoneNames === "" ? [] : outputs.zoneNames.split("\n").map((z) => `zones/${z}.zone`);
  return isPlainRecord(outputs?.hashes) ? Object.keys(outputs.hashes) : undefined;
}

function allowedBy(paths: string[], allowances: string[]): string | undefined {
  return paths.find((p) => allowances.includes(p));
}

export function judge(plan: Plan, opts: GuardOptions): Verdict {
  const counts: Record<string, number> = {};
  for (const s of plan.steps) counts[s.op] = (counts[s.op] ?? 0) + 1;
  const losses: Loss[] = [];
  for (const s of plan.steps) {
    for (const l of [...lossesOf(s), ...siteLosses(s), ...mailboxLosses(s)]) {
      l.allowedBy = allowedBy([l.path, ...l.coveredBy], opts.allowances);
      losses.push(l);
    }
  }
  for (const h of opts.purges ?? []) {
    const l = purgeLoss(h);
    l.allowedBy = allowedBy([l.path], opts.allowances);
    losses.push(l);
  }
  const share: string[] = [];
  const shareFr: string[] = [];
  const wantedByShare: string[] = [];
  const pct = `${Math.round(opts.maxShare * 100)} %`;
  // Members: the Member components the plan deletes, among those that existed.
  const members = plan.steps.filter((s) => s.type === COMPONENT_TOKENS.member && s.op !== "create");
  const gone = members.filter((s) => s.op === "delete").map((s) => `members/${s.name}`);
  const goneUnallowed = gone.filter((p) => !opts.allowances.includes(p));
  if (members.length > 0 && gone.length / members.length > opts.maxShare && goneUnallowed.length > 0) {
    share.push(`${gone.length} of ${members.length} members would be removed at once (over ${pct}): ${goneUnallowed.join(", ")} not allowed`);
    shareFr.push(`${gone.length} membres sur ${members.length} seraient retirés d'un coup (plus de ${pct}) : ${goneUnallowed.join(", ")} sans autorisation`);
    wantedByShare.push(...goneUnallowed);
  }
  // Zones: what the primary's file set serves before and after.
  for (const s of plan.steps.filter((x) => x.type === RESOURCE_TOKENS.fileSet && (x.old?.kind ?? x.new?.kind) === "bind-primary")) {
    const before = zonesOf(s.old, s.oldOutputs);
    const after = s.op === "delete" ? new Set<string>() : zonesOf(s.new);
    const removed = [...before].filter((z) => !after.has(z)).map((z) => `zones/${z}`);
    const unallowed = removed.filter((p) => !opts.allowances.includes(p));
    if (before.size > 0 && removed.length / before.size > opts.maxShare && unallowed.length > 0) {
      share.push(`${removed.length} of ${before.size} zones on ${targetName(s.old)} would stop being served at once (over ${pct}): ${unallowed.join(", ")} not allowed`);
      shareFr.push(`${removed.length} zones sur ${before.size} ne seraient plus servies d'un coup par ${targetName(s.old)} (plus de ${pct}) : ${unallowed.join(", ")} sans autorisation`);
      wantedByShare.push(...unallowed);
    }
  }
  const restarts = mpmSwitches(plan, opts.allowances);
  const ok = losses.every((l) => l.allowedBy) && share.length === 0 && restarts.every((r) => r.allowedBy);
  const wanted = [...new Set([...losses.filter((l) => !l.allowedBy).map((l) => l.path), ...wantedByShare])];
  // members/x covers everything of member x: no need to list its parts too.
  const needed = wanted.filter((p) => !wanted.some((q) => q !== p && p.startsWith(`${q}/`))).sort();
  return { ok, losses, share, shareFr, needed, counts, restarts, allowances: opts.allowances };
}

/**
 * The verdict in words: English for the job log and the merge request note, French for a
 * volunteer who reads French. The Allow-Destroy lines are the same in both.
 */
export function formatVerdict(v: Verdict, lang: Lang = "en"): string {
  const fr = lang === "fr";
  const lines: string[] = [];
  if (v.ok) {
    if (fr) lines.push(v.losses.length ? "garde-fou : OK — chaque suppression est autorisée explicitement :" : "garde-fou : OK — aucune donnée de membre ne serait supprimée ni remplacée.");
    else lines.push(v.losses.length ? "guard: OK — every destructive change is allowed explicitly:" : "guard: OK — no member data would be deleted or replaced.");
  } else if (v.losses.every((l) => l.allowedBy) && v.share.length === 0) {
    // Only a restart blocks (./mpm.ts): no data would be lost, but the sites would stop a moment.
    lines.push(fr ? "garde-fou : BLOQUÉ — cette application redémarrerait Apache (changement de MPM), sans autorisation :" : "guard: BLOCKED — this apply would restart Apache (an MPM change), which is not allowed:");
  } else {
    lines.push(fr ? "garde-fou : BLOQUÉ — ce changement détruirait des données de membres ou retirerait trop de choses d'un coup :" : "guard: BLOCKED — this change would destroy member data or remove too much at once:");
  }
  for (const l of v.losses) {
    const state = l.allowedBy ? (fr ? "autorisé" : "allowed") : fr ? "BLOQUÉ" : "BLOCKED";
    lines.push(`  ${state.padEnd(7)}  ${fr ? l.fr.description : l.description}`);
    const where = l.keptInPlace ? (fr ? `conservé sur place : ${l.fr.archive}` : `kept in place: ${l.archive}`) : fr ? `archivé d'abord dans ${l.fr.archive}` : `archived first to ${l.archive}`;
    lines.push(`           ${where}${l.allowedBy ? ` (Allow-Destroy: ${l.allowedBy})` : ""}`);
  }
  for (const s of fr ? v.shareFr : v.share) lines.push(`  ${fr ? "BLOQUÉ " : "BLOCKED"}  ${s}`);
  if (v.restarts.length) lines.push(formatMpmSwitches(v.restarts, lang));
  if (!v.ok && v.losses.every((l) => l.allowedBy) && v.share.length === 0) return lines.join("\n");
  if (!v.ok) {
    if (fr) lines.push("", "Si c'est voulu, dites-le dans un message de commit du changement (par exemple git commit --allow-empty), une ligne par chose ;", "la description de la merge request ne compte pas :");
    else lines.push("", "If this is intended, say so in a commit message of the change (e.g. git commit --allow-empty), one line each;", "the merge request's description does not count:");
    for (const p of v.needed) lines.push(`  Allow-Destroy: ${p}`);
  }
  return lines.join("\n");
}
