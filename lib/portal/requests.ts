import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMap, isSeq, parseDocument, YAMLMap, YAMLSeq } from "yaml";
import { loadModel } from "../check/build";
import { formatDiagnostic } from "../load/diagnostic";
import { call, type GitLab } from "../ci/gitlab";

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

/** The member file with one more alias on `domain`; throws RequestRefused when the domain is not the member's or the alias exists. */
export function addAlias(text: string, domain: string, local: string, to: string[]): string {
  const doc = parseDocument(text);
  const mail = doc.get("mail");
  if (!isSeq(mail)) throw new RequestRefused(`pas de courriel pour ${domain} dans votre fiche`);
  const entry = mail.items.find((d) => isMap(d) && d.get("domain") === domain);
  if (!isMap(entry)) throw new RequestRefused(`le domaine ${domain} n'est pas un de vos domaines de courriel`);
  let aliases = entry.get("aliases");
  if (!isSeq(aliases)) {
    aliases = new YAMLSeq();
    entry.set("aliases", aliases);
  }
  const seq = aliases as YAMLSeq;
  if (seq.items.some((a) => isMap(a) && a.get("local") === local)) throw new RequestRefused(`l'alias ${local}@${domain} existe déjà`);
  const node = doc.createNode({ local, to }) as YAMLMap;
  node.flow = true;
  seq.items.push(node);
  return doc.toString();
}

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
  change: (text: string) => string;
}

export interface OpenedRequest {
  iid: number;
  webUrl?: string;
  branch: string;
  diff: string;
}

/**
 * Reads members/<handle>/member.yaml at `target` through the API, applies the change,
 * validates (root: this checkout's other data files) and opens the merge request. Refused
 * (RequestRefused, French message) when the change does not validate: no branch, no MR.
 */
export async function openRequest(gl: GitLab, target: string, root: string, stack: string, r: MemberRequest, now = new Date()): Promise<OpenedRequest> {
  const file = `members/${r.handle}/member.yaml`;
  const path = `/repository/files/${encodeURIComponent(file)}`;
  const current = await call<{ content: string; encoding: string }>(gl, "GET", `${path}?ref=${encodeURIComponent(target)}`);
  const before = Buffer.from(current.content, current.encoding === "base64" ? "base64" : "utf8").toString("utf8");
  const after = r.change(before);
  const problems = validateWith(root, stack, file, after).filter((p) => p.startsWith(file));
  if (problems.length) throw new RequestRefused(problems.join("\n"));
  const diff = unified(file, before, after);
  const branch = `portal/${r.handle}/${now.toISOString().replace(/[-:]/g, "").replace(/\..*$/, "")}-${Math.random().toString(36).slice(2, 8)}`;
  const message = `${r.title}\n\nDemandé depuis l'espace adhérent.\n\nRequested-by: ${r.handle}`;
  await call(gl, "POST", "/repository/commits", { branch, start_branch: target, commit_message: message, actions: [{ action: "update", file_path: file, content: after }] });
  const description = [
    `**Demande de l'adhérent \`${r.handle}\`** depuis l'espace adhérent : ${r.what}.`,
    "",
    "Rien n'est appliqué avant la fusion par un·e bénévole. Vérifiez la demande (l'adhérent est-il bien celui qui écrit ? la cible est-elle raisonnable ?), puis fusionnez ou fermez avec un mot.",
    "",
    `Requested-by: ${r.handle}`,
    "",
    "```diff",
    diff.trimEnd(),
    "```",
  ].join("\n");
  const mr = await call<{ iid: number; web_url?: string }>(gl, "POST", "/merge_requests", { source_branch: branch, target_branch: target, title: r.title, description, remove_source_branch: true });
  return { iid: mr.iid, webUrl: mr.web_url, branch, diff };
}

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
