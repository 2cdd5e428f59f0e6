/**
 * DNSSEC as the primary name server holds it: `rndc dnssec -status` for each zone (policy, keys
 * and their states) and the DS records of its key-signing keys (dnssec-dsfromkey on BIND's own
 * key files), read over SSH.
 */
import { paths } from "../model/paths";
import type { Model } from "../model/types";
import { hostsWith, onHost } from "./remote";

/**
 * The keys folder and rndc's key belong to bind, which a compromised named controls: reading
 * them as root would let a planted link make root read any file. So the script runs itself
 * again as bind (BASH_EXECUTION_STRING is this very script) before touching them.
 */
const AS_BIND = String.raw`if [ "$(id -u)" = 0 ]; then cd / && exec setpriv --reuid=bind --regid=bind --clear-groups -- bash -c "$BASH_EXECUTION_STRING" globenet "$@"; fi`;

/** For each zone, NUL-separated: zone, `rndc dnssec -status` output, DS lines of its KSKs. */
const READ_DNSSEC = String.raw`
${AS_BIND}
keys=$1; shift
for zone in "$@"; do
  case "$zone" in *[!a-z0-9.-]*|.*) echo "bad zone name" >&2; exit 2 ;; esac
  printf '%s\0' "$zone"
  rndc dnssec -status "$zone" 2>&1 || true
  printf '\0'
  for k in "$keys"/K"$zone".+*.key; do
    [ -e "$k" ] || continue
    st=$\{k%.key}.state
    if [ -f "$st" ] && grep -qx 'KSK: yes' "$st" && ! grep -q '^Removed:' "$st"; then
      dnssec-dsfromkey -2 "$k" 2> /dev/null || true
    fi
  done
  printf '\0'
done
`.replace(/\$\\\{/g, "${");

/** rndc dnssec -checkds published|withdrawn: tells BIND what the registrar now shows. */
const CHECKDS = String.raw`
${AS_BIND}
what=$1 zone=$2
case "$what" in published|withdrawn) ;; *) echo "bad action" >&2; exit 2 ;; esac
case "$zone" in *[!a-z0-9.-]*|.*) echo "bad zone name" >&2; exit 2 ;; esac
rndc dnssec -checkds "$what" "$zone"
`;

export interface KeyStatus {
  id: number;
  role: string;
  /** When BIND published it (from the status text), and its age in days. */
  since?: Date;
  ageDays?: number;
  goal?: string;
  states: Record<string, string>;
}

export interface ZoneDnssec {
  zone: string;
  wanted: boolean;
  policy?: string;
  keys: KeyStatus[];
  ds: string[];
  raw: string;
}

/** Parses `rndc dnssec -status` (BIND 9.18). */
export function parseDnssecStatus(text: string, now: Date): { policy?: string; keys: KeyStatus[] } {
  const policy = text.match(/^dnssec-policy:\s*(\S+)/m)?.[1];
  const keys: KeyStatus[] = [];
  let cur: KeyStatus | undefined;
  for (const line of text.split("\n")) {
    const k = line.match(/^key:\s*(\d+)\s*\(([^)]*)\),\s*(\S+)/);
    if (k) {
      cur = { id: Number(k[1]), role: k[3] ?? "", states: {} };
      keys.push(cur);
      continue;
    }
    if (!cur) continue;
    const pub = line.match(/^\s*published:\s*yes\s*-\s*since\s+(.+)$/);
    if (pub?.[1]) {
      const since = new Date(pub[1]);
      if (!Number.isNaN(since.getTime())) {
        cur.since = since;
        cur.ageDays = Math.floor((now.getTime() - since.getTime()) / 86_400_000);
      }
    }
    const st = line.match(/^\s*-\s*([a-z ]+):\s*(\S+)/);
    if (st?.[1] && st[2]) {
      if (st[1].trim() === "goal") cur.goal = st[2];
      else cur.states[st[1].trim()] = st[2];
    }
  }
  return { policy, keys };
}

export async function readDnssec(root: string, model: Model, only?: string[], now = new Date()): Promise<ZoneDnssec[]> {
  const [primary] = hostsWith(model, "dns-primary");
  if (!primary) return [];
  const zones = model.zones.filter((z) => z.primary === primary.name && (!only || only.includes(z.name)));
  if (zones.length === 0) return [];
  const out = await onHost(root, primary, READ_DNSSEC, [paths.dnssecKeyDir, ...zones.map((z) => z.name)], `read DNSSEC state on ${primary.name}`);
  const f = out.split("\0");
  const rows: ZoneDnssec[] = [];
  for (let i = 0; i + 2 < f.length; i += 3) {
    const zone = zones.find((z) => z.name === f[i]);
    if (!zone) continue;
    const raw = f[i + 1] ?? "";
    const ds = (f[i + 2] ?? "").split("\n").map((l) => l.trim()).filter((l) => /\sDS\s/.test(l));
    rows.push({ zone: zone.name, wanted: zone.dnssec, ...parseDnssecStatus(raw, now), ds, raw });
  }
  return rows;
}

export async function checkds(root: string, model: Model, what: "published" | "withdrawn", zone: string): Promise<string> {
  const [primary] = hostsWith(model, "dns-primary");
  if (!primary) throw new Error("the stack has no dns-primary host");
  return onHost(root, primary, CHECKDS, [what, zone], `rndc dnssec -checkds ${what} ${zone} on ${primary.name}`);
}

export function formatDnssec(rows: ZoneDnssec[]): string {
  if (rows.length === 0) return "no zone on the primary";
  return rows
    .map((r) => {
      const signed = r.keys.some((k) => !!k.since) && r.policy !== "none";
      const state = r.wanted ? (signed ? "signed" : "NOT SIGNED YET") : signed ? "unsigning (policy insecure: BIND withdraws the keys once the DS is gone)" : "unsigned";
      // Keys BIND has finished withdrawing (from an earlier signing) go on one line at the end.
      const gone = (k: KeyStatus) => !k.since && k.goal === "hidden" && k.states.dnskey === "hidden";
      const keys = r.keys
        .filter((k) => !gone(k))
        .sort((a, b) => Number(!a.since) - Number(!b.since) || a.role.localeCompare(b.role))
        .map((k) => `  key ${k.id} ${k.role}: ${k.since ? `published ${k.since.toISOString().slice(0, 10)} (${k.ageDays} day${k.ageDays === 1 ? "" : "s"})` : "not published"}${k.goal ? `, goal ${k.goal}` : ""}${Object.keys(k.states).length ? `, ${Object.entries(k.states).map(([a, b]) => `${a} ${b}`).join(", ")}` : ""}`);
      const retired = r.keys.filter(gone).map((k) => `${k.id} ${k.role}`);
      return [
        `${r.zone}: ${state}; policy ${r.policy ?? "?"}; dnssec: ${r.wanted} in git`,
        ...keys,
        ...(retired.length ? [`  retired keys (withdrawn, kept on disk): ${retired.join(", ")}`] : []),
        ...(r.ds.length ? [`  DS: ${r.ds.join("\n      ")}`] : []),
      ].join("\n");
    })
    .join("\n");
}
