import type { Story } from "./story";
import type { Update, UpdateHistory } from "./updates";

/** A git date as the author's clock showed it: "2026-03-02 14:05 +01:00". */
export function gitTime(iso: string): string {
  const offset = iso.slice(19);
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} ${offset === "Z" ? "+00:00" : offset}`;
}

/** An engine time in UTC: "2026-03-02 13:40 UTC". */
export function utcTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

export function appliedAt(u: Update): string {
  return u.end ?? u.start;
}

export function historyLine(h: UpdateHistory): string {
  if (h.unavailable) return `no update history: ${h.unavailable}`;
  const n = h.updates.length;
  return `update history of ${h.stack ? `stack ${h.stack}` : "the stack"}${h.source ? ` (from ${h.source})` : ""}: ${n} update${n === 1 ? "" : "s"}`;
}

function updateText(u: Update, stack: string | undefined): string {
  return `applied ${utcTime(appliedAt(u))} (update #${u.version}${stack ? ` of ${stack}` : ""}${u.dirty ? ", from a working tree with uncommitted changes" : ""})`;
}

/** The story as text: one block per commit, oldest first. */
export function formatStory(s: Story): string {
  const lines = [`Story of ${s.target.label} (${s.target.paths.join(", ")}) on ${s.ref}${s.since ? ` since ${s.since}` : ""}, oldest first`, historyLine(s.history)];
  if (s.entries.length === 0) {
    lines.push("", `no commit changed ${s.target.label}${s.since ? ` since ${s.since}` : ""}`);
    return `${lines.join("\n")}\n`;
  }
  for (const e of s.entries) {
    lines.push("", [gitTime(e.date), e.author, ...(e.mergeRequest ? [e.mergeRequest] : []), `${e.subject} (${e.hash.slice(0, 12)})`].join(" · "));
    for (const f of e.files) for (const c of f.changes) lines.push(`    ${c}`);
    const tail: string[] = [];
    if (!e.landing) tail.push(`not on ${s.ref}`);
    else if (e.landing.direct) tail.push(`committed on ${s.ref} (no merge commit)`);
    else tail.push(`merged ${gitTime(e.landing.committed)} (${e.landing.hash.slice(0, 12)})`);
    if (!s.history.unavailable) tail.push(e.applied ? updateText(e.applied, s.history.stack) : "not applied yet");
    lines.push(`    ${tail.join(" · ")}`);
  }
  const mrs = new Set(s.entries.map((e) => e.mergeRequest).filter(Boolean)).size;
  const applied = s.entries.filter((e) => e.applied).length;
  const n = s.entries.length;
  lines.push(
    "",
    `${n} commit${n === 1 ? "" : "s"}, ${mrs} merge request${mrs === 1 ? "" : "s"}${s.history.unavailable ? "" : `, ${applied} applied`}`,
  );
  return `${lines.join("\n")}\n`;
}

/** The story for machines: stable keys, full hashes, ISO times. */
export function storyJson(s: Story): unknown {
  return {
    target: s.target,
    ref: s.ref,
    since: s.since ?? null,
    history: { stack: s.history.stack ?? null, updates: s.history.updates.length, unavailable: s.history.unavailable ?? null },
    commits: s.entries.map((e) => ({
      hash: e.hash,
      date: e.date,
      author: e.author,
      email: e.email,
      subject: e.subject,
      mergeRequest: e.mergeRequest ?? null,
      changes: e.files,
      merged: e.landing ? { hash: e.landing.hash, date: e.landing.committed, direct: e.landing.direct } : null,
      applied: e.applied ? { version: e.applied.version, date: appliedAt(e.applied), head: e.applied.head ?? null, dirty: e.applied.dirty } : null,
    })),
  };
}
