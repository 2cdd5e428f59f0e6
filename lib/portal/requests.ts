import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel } from "../check/build";
import { formatDiagnostic } from "../load/diagnostic";
import { call, type GitLab } from "../ci/gitlab";
import { addMailAlias } from "../scaffold/edit";
import { Refusal } from "../scaffold/plan";

/**
 * A member's request becomes a merge request, never a change on the servers (docs/
 * architecture.md, "Member portal"): the portal reads the member's file as the target branch
 * holds it (GitLab's API), changes it with the `yaml` library (comments and order kept),
 * validates the whole data tree with that one file changed (the same loader and checks as
 * `npm run validate`), and only then commits it on a new branch and opens the merge request,
 * with a French description, a `Requested-by:` line and the diff. Nothing is applied until a
 * volunteer merges.
 */

export class RequestRefused extends Error {}

/** A scaffold edit (lib/scaffold/edit.ts) whose refusal becomes the form's French message. */
export function refusedInFrench<T>(edit: () => T): T {
  try {
    return edit();
  } catch (e) {
    if (e instanceof Refusal) throw new RequestRefused(e.fr ?? e.message);
    throw e;
  }
}

/** The member file with one more alias on `domain`; throws RequestRefused when the domain is not the member's or the alias exists. */
export const addAlias = (text: string, domain: string, local: string, to: string[]): string => refusedInFrench(() => addMailAlias(text, domain, local, to));

/** Diagnostics (French) of the data tree at `root` with `file` replaced by `text`; empty when it validates. */
export function validateWith(root: string, stack: string, file: string, text: string): string[] {
  const tmp = mkdtempSync(join(tmpdir(), "globenet-portal-request-"));
  try {
    for (const part of ["members", "zones", `Pulumi.${stack}.yaml`]) if (existsSync(join(root, part))) cpSync(join(root, part), join(tmp, part), { recursive: true });
    writeFileSync(join(tmp, file), text);
    const { errors } = loadModel(tmp, stack);
    return errors.map((d) => formatDiagnostic(d, "fr"));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** `diff -u` of the two texts, labelled with the file's path. */
export function unified(file: string, before: string, after: string): string {
  const tmp = mkdtempSync(join(tmpdir(), "globenet-portal-diff-"));
  try {
    writeFileSync(join(tmp, "a"), before);
    writeFileSync(join(tmp, "b"), after);
    try {
      execFileSync("diff", ["-u", "--label", `a/${file}`, "--label", `b/${file}`, join(tmp, "a"), join(tmp, "b")], { encoding: "utf8" });
      return "";
    } catch (e) {
      const out = (e as { stdout?: string }).stdout;
      if (typeof out === "string" && (e as { status?: number }).status === 1) return out;
      throw e;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export interface MemberRequest {
  handle: string;
  /** French, one line: the MR's title. */
  title: string;
  /** What the member asked, in French, for the description. */
  what: string;
  /** The file changed, relative to the root; default members/<handle>/member.yaml. Always under members/<handle>/. */
  file?: string;
  change: (text: string) => string;
  /** The mailbox the member logged in with, when not the portal credential (named in the description). */
  via?: string;
}

export interface OpenedRequest {
  iid: number;
  webUrl?: string;
  branch: string;
  diff: string;
}

/** The `Requested-by:` line and, for a mailbox login, which mailbox asked. */
function requestedBy(handle: string, via?: string): string[] {
  return [...(via ? [`Connecté·e avec la boîte \`${via}\` (pas l'identifiant du compte).`, ""] : []), `Requested-by: ${handle}`];
}

/** A new branch name of the member's requests: portal/<handle>/<time>-<random>. */
const newBranch = (handle: string, now: Date) => `${requestBranchPrefix(handle)}${now.toISOString().replace(/[-:]/g, "").replace(/\..*$/, "")}-${randomBytes(3).toString("hex")}`;

/**
 * Reads the request's file (members/<handle>/member.yaml unless said) at `target` through the
 * API, applies the change, validates (root: this checkout's other data files) and opens the
 * merge request. Refused (RequestRefused, French message) when the change does not validate:
 * no branch, no MR.
 */
export async function openRequest(gl: GitLab, target: string, root: string, stack: string, r: MemberRequest, now = new Date()): Promise<OpenedRequest> {
  const file = r.file ?? `members/${r.handle}/member.yaml`;
  if (!file.startsWith(`members/${r.handle}/`)) throw new Error(`a request of ${r.handle} may only change members/${r.handle}/`);
  const path = `/repository/files/${encodeURIComponent(file)}`;
  const current = await call<{ content: string; encoding: string }>(gl, "GET", `${path}?ref=${encodeURIComponent(target)}`);
  const before = Buffer.from(current.content, current.encoding === "base64" ? "base64" : "utf8").toString("utf8");
  const after = r.change(before);
  const problems = validateWith(root, stack, file, after).filter((p) => p.startsWith(file));
  if (problems.length) throw new RequestRefused(problems.join("\n"));
  const diff = unified(file, before, after);
  const branch = newBranch(r.handle, now);
  const message = `${r.title}\n\nDemandé depuis l'espace adhérent.\n\n${requestedBy(r.handle, r.via).join("\n")}`;
  await call(gl, "POST", "/repository/commits", { branch, start_branch: target, commit_message: message, actions: [{ action: "update", file_path: file, content: after }] });
  const description = [
    `**Demande de l'adhérent \`${r.handle}\`** depuis l'espace adhérent : ${r.what}.`,
    "",
    "Rien n'est appliqué avant la fusion par un·e bénévole. Vérifiez la demande (l'adhérent est-il bien celui qui écrit ? la cible est-elle raisonnable ?), puis fusionnez ou fermez avec un mot.",
    "",
    ...requestedBy(r.handle, r.via),
    "",
    "```diff",
    diff.trimEnd(),
    "```",
  ].join("\n");
  const mr = await call<{ iid: number; web_url?: string }>(gl, "POST", "/merge_requests", { source_branch: branch, target_branch: target, title: r.title, description, remove_source_branch: true });
  return { iid: mr.iid, webUrl: mr.web_url, branch, diff };
}

/** The label of the issues the portal opens (requests that change no data: a restart, a restore). */
export const REQUEST_LABEL = "portal-request";

/** A request that is an act, not a change of the data: an issue for the volunteers, with the exact command. */
export interface MemberAct {
  handle: string;
  title: string;
  what: string;
  /** The command(s) a volunteer runs, one per line, the member's values already checked and quoted. */
  commands: string[];
  /** What to check before running them, in French. */
  before: string;
  via?: string;
}

export interface OpenedIssue {
  iid: number;
  webUrl?: string;
}

/**
 * Opens an issue labelled `portal-request` (and `portal:<handle>`, so the member's requests page
 * finds it): French description, the command to run, `Requested-by:`. Nothing is run by the
 * portal: a volunteer reads it, checks with the member if needed, runs the command and closes.
 */
export async function openIssue(gl: GitLab, a: MemberAct): Promise<OpenedIssue> {
  const description = [
    `**Demande de l'adhérent \`${a.handle}\`** depuis l'espace adhérent : ${a.what}.`,
    "",
    "Ce n'est pas une modification des données : rien ne change dans le dépôt. Un·e bénévole la fait à la main, puis ferme ce ticket avec un mot pour l'adhérent.",
    "",
    `Avant : ${a.before}`,
    "",
    "Commande :",
    "",
    "```sh",
    ...a.commands,
    "```",
    "",
    ...requestedBy(a.handle, a.via),
  ].join("\n");
  const issue = await call<{ iid: number; web_url?: string }>(gl, "POST", "/issues", { title: a.title, description, labels: `${REQUEST_LABEL},${memberLabel(a.handle)}` });
  return { iid: issue.iid, webUrl: issue.web_url };
}

/** The label that ties an issue to its member. */
export const memberLabel = (handle: string) => `portal:${handle}`;

/** One of the member's requests as GitLab has it now. */
export interface MemberMr {
  iid: number;
  title: string;
  /** GitLab's state: opened, merged, closed (locked reads as opened). */
  state: "opened" | "merged" | "closed";
  webUrl?: string;
  /** ISO date GitLab gives: the creation. */
  created?: string;
  branch: string;
  /** A merge request (a data change) or an issue (an act: restart, restore). */
  kind?: "mr" | "issue";
}

interface ApiMr {
  iid: number;
  title: string;
  state: string;
  web_url?: string;
  created_at?: string;
  source_branch: string;
  author?: { id: number };
}

/** The branch prefix of a member's requests: the handle, then a slash (so `portal/velo-libre-evil/…` is not velo-libre's). */
export const requestBranchPrefix = (handle: string) => `portal/${handle}/`;

/**
 * The member's requests, newest first: the merge requests the portal's own bot opened (its
 * user, asked once from the token) whose source branch starts with `portal/<handle>/`. Another
 * account's merge request on such a branch is not the member's request (a volunteer's MR is not
 * shown as theirs), and another member's never starts with this prefix. Reads at most `pages`
 * pages of 100 of the bot's merge requests, most recently updated first.
 */
export async function memberRequests(gl: GitLab, botId: number, handle: string, limit = 20, pages = 3): Promise<MemberMr[]> {
  const prefix = requestBranchPrefix(handle);
  const out: MemberMr[] = [];
  for (let page = 1; page <= pages && out.length < limit; page++) {
    const items = await call<ApiMr[]>(gl, "GET", `/merge_requests?author_id=${botId}&state=all&order_by=updated_at&sort=desc&per_page=100&page=${page}`);
    for (const m of items) {
      if (m.author?.id !== botId || !m.source_branch.startsWith(prefix)) continue;
      const state = m.state === "merged" ? "merged" : m.state === "closed" ? "closed" : "opened";
      out.push({ iid: m.iid, title: m.title, state, branch: m.source_branch, ...(m.web_url ? { webUrl: m.web_url } : {}), ...(m.created_at ? { created: m.created_at } : {}) });
    }
    if (items.length < 100) break;
  }
  return out.slice(0, limit);
}

interface ApiIssue {
  iid: number;
  title: string;
  state: string;
  web_url?: string;
  created_at?: string;
  labels?: string[];
  author?: { id: number };
}

/**
 * The member's requests that are issues (restart, restore): the bot's issues labelled
 * `portal:<handle>` (label checked again on each: a label is an exact name, so
 * `portal:velo-libre-evil` is not velo-libre's), newest first, at most `limit`.
 */
export async function memberIssues(gl: GitLab, botId: number, handle: string, limit = 20): Promise<MemberMr[]> {
  const label = memberLabel(handle);
  const items = await call<ApiIssue[]>(gl, "GET", `/issues?author_id=${botId}&labels=${encodeURIComponent(label)}&state=all&order_by=created_at&sort=desc&per_page=${limit}`);
  return items
    .filter((i) => i.author?.id === botId && (i.labels ?? []).includes(label))
    .map((i) => ({ iid: i.iid, title: i.title, state: i.state === "closed" ? ("closed" as const) : ("opened" as const), branch: "", kind: "issue" as const, ...(i.web_url ? { webUrl: i.web_url } : {}), ...(i.created_at ? { created: i.created_at } : {}) }));
}
