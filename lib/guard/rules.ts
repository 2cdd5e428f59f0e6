import { COMPONENT_TOKENS, RESOURCE_TOKENS, type ResourceToken } from "../base/tokens";
import type { Plan, PlanStep } from "./plan";
import { siteLosses } from "./site-removal";

/**
 * The destructive-change guard: a plan that deletes or replaces what holds members' data
 * (a hosting account and its home, a database, a VPS and its disk), or that removes more
 * than a set share of the members or zones at once, is refused unless a commit being applied
 * says so, one `Allow-Destroy: <path>` line per thing (where those lines may come from:
 * ./allowances.ts). The provider archives before every such delete; the guard makes sure
 * nobody loses data by accident even so.
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
  [RESOURCE_TOKENS.fileSet]: { noLoss: "config files rendered from the data, written again by the next apply; a primary's zones removed at once are checked by the share rule" },
};

const KINDS: Record<string, LossKind> = Object.fromEntries(Object.entries(GUARD_DECISIONS).flatMap(([t, d]) => ("noLoss" in d ? [] : [[t, d]])));

export interface Loss {
  /** The path in the repository an Allow-Destroy line names to allow it. */
  path: string;
  /** Paths that also allow it (the member as a whole). */
  coveredBy: string[];
  description: string;
  archive: string;
  allowedBy?: string;
}

export interface Verdict {
  ok: boolean;
  losses: Loss[];
  /** Share rules broken (and not allowed). */
  share: string[];
  /** Summary of the plan: op → count. */
  counts: Record<string, number>;
  allowances: string[];
}

export interface GuardOptions {
  /** Largest share of members (and of zones) one change may remove without each being allowed. */
  maxShare: number;
  /** Paths from Allow-Destroy lines (commit messages) and --allow. */
  allowances: string[];
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

function lossOf(step: PlanStep): Loss | undefined {
  const kind = KINDS[step.type];
  if (!kind || !DESTRUCTIVE.has(step.op)) return undefined;
  // A create-replacement and its delete-replaced are one replacement: report the delete side.
  if (step.op === "create-replacement") return undefined;
  const i = step.old ?? step.new ?? {};
  const host = targetName(i);
  const archiveDir = str(i.archiveDir) ?? "<archive_dir>";
  let handle: string;
  let path: string;
  let label: string;
  let file: string;
  if (step.type === RESOURCE_TOKENS.guest) {
    const domain = str(i.domain) ?? step.name;
    const [h, name] = domain.split("--");
    handle = h ?? domain;
    path = `members/${handle}/vps/${name ?? domain}`;
    label = `VPS ${name ?? domain}`;
    file = domain;
  } else if (step.type === RESOURCE_TOKENS.database) {
    handle = str(i.handle) ?? "?";
    const name = str(i.name) ?? step.name;
    path = `members/${handle}/databases/${name}`;
    label = `database ${name}`;
    file = name;
  } else {
    handle = str(i.handle) ?? step.name;
    path = `members/${handle}`;
    label = `hosting account ${handle} (its home and sites)`;
    file = handle;
  }
  const verb = step.op === "delete" ? "deleted" : "replaced (the old one deleted)";
  return {
    path,
    coveredBy: [`members/${handle}`],
    description: `members/${handle}: ${label} would be ${verb} on ${host}`,
    archive: `${archiveDir}/${kind.folder}/${file}-<UTC time>${kind.ext} on ${host}, verified before anything is removed`,
  };
}

function zonesOf(inputs: Record<string, unknown> | undefined): Set<string> {
  const files = inputs?.files;
  const out = new Set<string>();
  if (files && typeof files === "object") for (const k of Object.keys(files)) {
    const m = /^zones\/(.+)\.zone$/.exec(k);
    if (m?.[1]) out.add(m[1]);
  }
  return out;
}

function allowedBy(paths: string[], allowances: string[]): string | undefined {
  return paths.find((p) => allowances.includes(p));
}

export function judge(plan: Plan, opts: GuardOptions): Verdict {
  const counts: Record<string, number> = {};
  for (const s of plan.steps) counts[s.op] = (counts[s.op] ?? 0) + 1;
  const losses: Loss[] = [];
  for (const s of plan.steps) {
    for (const l of [lossOf(s), ...siteLosses(s)]) {
      if (!l) continue;
      l.allowedBy = allowedBy([l.path, ...l.coveredBy], opts.allowances);
      losses.push(l);
    }
  }
  const share: string[] = [];
  // Members: the Member components the plan deletes, among those that existed.
  const members = plan.steps.filter((s) => s.type === COMPONENT_TOKENS.member && s.op !== "create");
  const gone = members.filter((s) => s.op === "delete").map((s) => `members/${s.name}`);
  const goneUnallowed = gone.filter((p) => !opts.allowances.includes(p));
  if (members.length > 0 && gone.length / members.length > opts.maxShare && goneUnallowed.length > 0) {
    share.push(`${gone.length} of ${members.length} members would be removed at once (over ${Math.round(opts.maxShare * 100)} %): ${goneUnallowed.join(", ")} not allowed`);
  }
  // Zones: what the primary's file set serves before and after.
  for (const s of plan.steps.filter((x) => x.type === RESOURCE_TOKENS.fileSet && (x.old?.kind ?? x.new?.kind) === "bind-primary")) {
    const before = zonesOf(s.old);
    const after = s.op === "delete" ? new Set<string>() : zonesOf(s.new);
    const removed = [...before].filter((z) => !after.has(z)).map((z) => `zones/${z}`);
    const unallowed = removed.filter((p) => !opts.allowances.includes(p));
    if (before.size > 0 && removed.length / before.size > opts.maxShare && unallowed.length > 0) {
      share.push(`${removed.length} of ${before.size} zones on ${targetName(s.old)} would stop being served at once (over ${Math.round(opts.maxShare * 100)} %): ${unallowed.join(", ")} not allowed`);
    }
  }
  const ok = losses.every((l) => l.allowedBy) && share.length === 0;
  return { ok, losses, share, counts, allowances: opts.allowances };
}

/** The verdict in words, for the job log and the merge request note. */
export function formatVerdict(v: Verdict): string {
  const lines: string[] = [];
  if (v.ok) {
    lines.push(v.losses.length ? "guard: OK — every destructive change is allowed explicitly:" : "guard: OK — no member data would be deleted or replaced.");
  } else {
    lines.push("guard: BLOCKED — this change would destroy member data or remove too much at once:");
  }
  for (const l of v.losses) {
    lines.push(`  ${l.allowedBy ? "allowed" : "BLOCKED"}  ${l.description}`);
    lines.push(`           archived first to ${l.archive}${l.allowedBy ? ` (Allow-Destroy: ${l.allowedBy})` : ""}`);
  }
  for (const s of v.share) lines.push(`  BLOCKED  ${s}`);
  if (!v.ok) {
    const wanted = [...new Set([...v.losses.filter((l) => !l.allowedBy).map((l) => l.path), ...v.share.flatMap((s) => /: (.*) not allowed$/.exec(s)?.[1]?.split(", ") ?? [])])];
    // members/x covers everything of member x: no need to list its parts too.
    const needed = wanted.filter((p) => !wanted.some((q) => q !== p && p.startsWith(`${q}/`))).sort();
    lines.push("", "If this is intended, say so in a commit message of the change (e.g. git commit --allow-empty), one line each;", "the merge request's description does not count:");
    for (const p of needed) lines.push(`  Allow-Destroy: ${p}`);
  }
  return lines.join("\n");
}
