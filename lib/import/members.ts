/**
 * Members out of a live host: one members/<handle>/member.yaml per login account (or per
 * member the mapping file names), with its keys, quota and sites, and a `# TODO(import): …`
 * comment on every value the import guessed. `validate` refuses the files until a volunteer
 * has checked each guess and removed its comment (lib/load/import-todos.ts). Pure.
 */
import { Document, isMap, isSeq, type Node, type YAMLMap } from "yaml";
import { paths } from "../model/paths";
import type { ImportMap } from "../schema/import-map";
import { memberSchema } from "../schema/member";
import { handleProblem } from "../schema/system-names";
import type { AccountDetails, UnixAccount } from "./accounts";
import { databasesNode, type DatabaseEntry } from "./databases";
import type { LiveSite } from "./sites";
import type { ImportNote } from "./zone-file";
import { groupBy } from "../base/group";

export interface MemberFile {
  handle: string;
  /** Repository-relative: members/<handle>/member.yaml. */
  path: string;
  yaml: string;
  todos: number;
}

export interface MembersInput {
  host: string;
  accounts: readonly UnixAccount[];
  /** Keys, crontab, quota of each account (only when accounts were imported). */
  details: ReadonlyMap<string, AccountDetails>;
  sites: readonly LiveSite[];
  map: ImportMap;
  /** Whether the host serves the sites (web_host is written then). */
  webHost: boolean;
  /** The databases read on this host, by member handle (lib/import/databases.ts), and this host's name for db_host. */
  databases?: { byMember: ReadonlyMap<string, readonly DatabaseEntry[]>; dbHost: string };
}

/** The handle an account becomes: the mapping file's, else the unix name itself. */
export function handleOf(map: ImportMap, user: string): string {
  return map.accounts[user]?.member ?? user;
}

/** The login accounts that are members (the mapping file's ignore: true left out). */
export function memberAccounts(map: ImportMap, accounts: readonly UnixAccount[]): UnixAccount[] {
  return accounts.filter((a) => !map.accounts[a.user]?.ignore);
}

const oneLine = (s: string) => s.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, " "); // eslint-disable-line no-control-regex

export function importMembers(input: MembersInput): { files: MemberFile[]; notes: ImportNote[] } {
  const notes: ImportNote[] = [];
  const byHandle = groupBy(memberAccounts(input.map, input.accounts), (a) => handleOf(input.map, a.user));
  const files: MemberFile[] = [];
  for (const [handle, accounts] of [...byHandle].sort(([a], [b]) => a.localeCompare(b))) {
    const first = accounts[0] as UnixAccount;
    const where = `${input.host}:getent passwd line ${first.line}`;
    const bad = handleProblem(handle);
    if (bad) {
      notes.push({ where, record: `account ${first.user}`, why: `"${handle}" cannot be a handle: ${bad} (give it one in the map file: accounts: { ${first.user}: { member: <handle> } })` });
      continue;
    }
    const mapped = input.map.accounts[first.user] ?? {};
    const todo: Record<string, string[]> = {};
    const mark = (key: string, why: string) => (todo[key] = [...(todo[key] ?? []), why]);
    for (const extra of accounts.slice(1)) {
      notes.push({ where: `${input.host}:getent passwd line ${extra.line}`, record: `account ${extra.user}`, why: `mapped to member ${handle} with ${first.user}: the stack knows one unix user per member, ${extra.user} and its files stay as they are on the host` });
    }
    const name = mapped.name ?? (first.gecos || handle);
    if (!mapped.name) mark("name", first.gecos ? `the member's name, taken from the account's GECOS field "${oneLine(first.gecos)}"` : "the member's name (the account has no GECOS name)");
    const email = mapped.email ?? `todo@${handle}.invalid`;
    if (!mapped.email) mark("contact", "the member's contact address (.invalid is a placeholder that never delivers)");
    if (first.home !== paths.home(handle)) mark("handle", `the account's home is ${first.home}; the stack's is ${paths.home(handle)}: move it when adopting`);
    const keys: string[] = [];
    let quota: number | undefined;
    const cron: string[] = [];
    for (const a of accounts) {
      const d = input.details.get(a.user);
      if (!d) continue;
      for (const k of d.keys) if (!keys.includes(k)) keys.push(k);
      for (const r of d.refusedKeys) notes.push({ where: `${input.host}:${a.home}/.ssh/authorized_keys:${r.line}`, record: `key of ${a.user}`, why: `${r.why} (left out)` });
      if (d.quotaMb !== undefined) quota = Math.max(quota ?? 0, d.quotaMb);
      cron.push(...d.cron);
    }
    const sites = input.sites.filter((s) => accounts.some((a) => a.user === s.owner));
    const dbs = input.databases?.byMember.get(handle) ?? [];
    const value: Record<string, unknown> = {
      handle,
      name,
      contact: { email },
      status: "active",
      ...(keys.length ? { ssh_keys: keys } : {}),
      ...(quota !== undefined ? { disk_quota_mb: quota } : {}),
      ...(sites.length && input.webHost ? { web_host: input.host } : {}),
      ...(sites.length
        ? {
            sites: sites.map((s) => ({
              host: s.host,
              ...(s.aliases.length ? { aliases: s.aliases } : {}),
              ...(s.redirects.length ? { redirects: s.redirects } : {}),
              ...(s.webroot ? { webroot: s.webroot } : {}),
              php: s.php,
              ...(s.tls === "none" ? { tls: "none", tls_none_reason: "the live site had no HTTPS when it was imported" } : {}),
            })),
          }
        : {}),
      ...(dbs.length && input.databases ? { db_host: input.databases.dbHost, databases: dbs.map((d) => d.value) } : {}),
    };
    const checked = memberSchema.safeParse(value);
    if (!checked.success) {
      const i = checked.error.issues[0];
      notes.push({ where, record: `member ${handle}`, why: `the member schema refuses what was read: ${i?.path.join(".")} ${i?.message} (not written)` });
      continue;
    }
    const doc = new Document(value);
    doc.commentBefore = ` Imported from ${input.host} by npm run import (lib/import). Review it, then resolve each import TODO below.`;
    const root = doc.contents as YAMLMap;
    const pair = (k: string) => root.items.find((p) => (p.key as { value?: unknown }).value === k);
    let todos = 0;
    const comment = (node: unknown, lines: string[]) => {
      if (!lines.length || !node) return;
      const n = node as Node & { commentBefore?: string | null };
      n.commentBefore = [n.commentBefore, ...lines.map((l) => ` TODO(import): ${oneLine(l)}`)].filter(Boolean).join("\n");
      todos += lines.length;
    };
    for (const [k, lines] of Object.entries(todo)) comment(pair(k)?.key, lines);
    if (cron.length) {
      const p = pair("status");
      if (p) (p.key as { commentBefore?: string }).commentBefore = ` The live crontab (${cron.length} line(s)) stays on ${input.host}: the stack leaves a member's crontab alone.`;
    }
    if (dbs.length) {
      root.set("databases", databasesNode(doc, dbs));
      todos += dbs.reduce((n, d) => n + d.todos.length, 0);
    }
    const seq = pair("sites")?.value;
    if (isSeq(seq)) {
      seq.items.forEach((item, i) => {
        const s = sites[i];
        if (!s || !isMap(item)) return;
        (item as { commentBefore?: string }).commentBefore = ` from ${input.host}:${s.where}`;
        comment(item, s.todos);
      });
    }
    files.push({ handle, path: `members/${handle}/member.yaml`, yaml: doc.toString({ lineWidth: 0 }), todos });
  }
  const written = new Set(files.map((f) => f.handle));
  for (const s of input.sites) {
    const h = handleOf(input.map, s.owner);
    if (!written.has(h)) notes.push({ where: `${input.host}:${s.where}`, record: `site ${s.host}`, why: `its member ${h} was not written (see the account's note above): the site is not imported` });
  }
  return { files, notes };
}
