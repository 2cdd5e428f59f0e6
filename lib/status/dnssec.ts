/**
 * DNSSEC as the primary name server holds it: `rndc dnssec -status` for each zone (policy, keys
 * and their states) and the DS records of its key-signing keys (dnssec-dsfromkey on BIND's own
 * key files), read over SSH.
 */
import { loadScript } from "../../provider/scripts/load";
import { paths } from "../model/paths";
import type { Model } from "../model/types";
import { hostsWith, onHost } from "./remote";

/**
 * provider/scripts/status: each runs itself again as bind first (as-bind.sh says why).
 * READ_DNSSEC: for each zone, NUL-separated: zone, `rndc dnssec -status` output, DS lines of
 * its KSKs. CHECKDS: rndc dnssec -checkds published|withdrawn, what the registrar now shows.
 */
const READ_DNSSEC = loadScript("status/as-bind.sh", "status/read-dnssec.sh");
const CHECKDS = loadScript("status/as-bind.sh", "status/checkds.sh");

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
