/**
 * Keeping the state backend's credentials out of every message. Pure.
 *
 * A backend URL may carry a password (`postgres://user:secret@host/db`), and so may a
 * libpq key/value string (`password=secret`) or a query parameter (`?password=secret`).
 * Everything the driver and `npm run state` print goes through `mask`, which hides those
 * and any value the caller knows to be secret (PGPASSWORD, the lab's generated password).
 */

const HIDDEN = "****";

/** `scheme://user:password@` → `scheme://user:****@` (the user stays: it helps to see who connects). */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:/@?#]*):([^\s@/]*)@/gi;
/** `password=…` in a libpq key/value string or a URL's query. */
const KV_PASSWORD = /\b(password|passwd|pgpassword)(\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&'"]+)/gi;

/** The text with every URL password, `password=` value and each of `secrets` replaced by ****. */
export function mask(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text.replace(URL_USERINFO, (_m, scheme: string, user: string, pass: string) => (pass === "" ? `${scheme}${user}@` : `${scheme}${user}:${HIDDEN}@`));
  out = out.replace(KV_PASSWORD, (_m, k: string, eq: string) => `${k}${eq}${HIDDEN}`);
  // Longest first, so a secret that contains another is hidden whole.
  const known = [...new Set(secrets.filter((s): s is string => typeof s === "string" && s.length >= 4))].sort((a, b) => b.length - a.length);
  for (const s of known) {
    out = out.split(s).join(HIDDEN);
    // The same secret percent-encoded, as it appears inside a URL.
    const enc = encodeURIComponent(s);
    if (enc !== s) out = out.split(enc).join(HIDDEN);
  }
  return out;
}

/** The password inside a URL (percent-decoded), or undefined. */
export function urlPassword(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.password ? decodeURIComponent(u.password) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A short human description of a backend URL, with no credentials:
 *   postgres://app:pw@db.example:5432/state?sslmode=verify-full&table=t
 *     → "PostgreSQL app@db.example:5432/state, table t, sslmode verify-full"
 *   file:///srv/x/.lab/state → "file /srv/x/.lab/state"
 */
export function describeBackend(url: string): string {
  if (url.startsWith("file://")) return `file ${url.slice("file://".length) || "/"}`;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return mask(url);
  }
  if (u.protocol === "postgres:" || u.protocol === "postgresql:") {
    const q = u.searchParams;
    const user = u.username ? `${decodeURIComponent(u.username)}@` : "";
    const where = `${user}${u.hostname || "localhost"}:${u.port || "5432"}${u.pathname || "/"}`;
    const extras = [`table ${q.get("table") ?? "pulumi_state"}`, `sslmode ${q.get("sslmode") ?? "(libpq default)"}`];
    return `PostgreSQL ${where}, ${extras.join(", ")}`;
  }
  return `${u.protocol.replace(/:$/, "")} ${u.host}${u.pathname}`;
}
