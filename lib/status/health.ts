/**
 * What fires now (`npm run status -- health`): Alertmanager's API on the monitor host
 * (GET /api/v2/alerts, active alerts only: not silenced, not inhibited), shown per member and
 * per host. The labels come from the data (lib/model/monitoring.ts): handle (a site's or VPS's
 * member) or owner (a zone's), and the host that serves the object (host, web_host, nameserver,
 * hypervisor). Reading is one HTTP request; the grouping and the text are pure (formatHealth).
 */
import type { Lang } from "../i18n/lang";
import { bracket } from "../model/address";
import { PORTS } from "../model/monitoring";
import type { Model } from "../model/types";
import { apiAlertsSchema, type ApiAlert } from "../schema/alertmanager";
import { textTable } from "./text-table";

export interface Firing {
  alertname: string;
  /** The member whose object it is, when there is one. */
  member?: string;
  /** The host that serves it, when there is one. */
  host?: string;
  /** The object: site, zone, VPS, mount point… */
  what: string;
  summary: string;
  startsAt: string;
}

const MEMBER_LABELS = ["handle", "owner"] as const;
const HOST_LABELS = ["host", "web_host", "nameserver", "hypervisor"] as const;
const WHAT_LABELS = ["site", "zone", "vps", "mountpoint", "instance"] as const;

/** Alertmanager's alerts that fire now, as the view shows them (pure). */
export function firingOf(alerts: readonly ApiAlert[]): Firing[] {
  const first = (l: Record<string, string>, keys: readonly string[]) => keys.map((k) => l[k]).find((v) => v !== undefined && v !== "");
  return alerts
    .filter((a) => a.status.state === "active")
    .map((a) => ({
      alertname: a.labels.alertname as string,
      member: first(a.labels, MEMBER_LABELS),
      host: first(a.labels, HOST_LABELS),
      what: first(a.labels, WHAT_LABELS) ?? "-",
      summary: a.annotations.summary ?? "",
      startsAt: a.startsAt,
    }))
    .sort((x, y) => (x.startsAt < y.startsAt ? -1 : x.startsAt > y.startsAt ? 1 : x.alertname < y.alertname ? -1 : 1));
}

/** "45 s", "12 min", "3 h", "2 d" since `startsAt` (pure: `now` is given). */
export function since(startsAt: string, now: Date): string {
  const s = Math.max(0, Math.round((now.getTime() - Date.parse(startsAt)) / 1000));
  if (!Number.isFinite(s)) return "?";
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} d`;
}

/** The view: a count, then the alerts per member, then per host (pure). */
export function formatHealth(firing: readonly Firing[], now: Date, lang: Lang = "en"): string {
  const fr = lang === "fr";
  if (firing.length === 0) return fr ? "aucune alerte : tout ce que les données décrivent répond comme prévu" : "nothing fires: everything the data describes answers as intended";
  const globenet = "(Globenet)";
  const none = "-";
  const by = (key: (f: Firing) => string) => {
    const groups = new Map<string, Firing[]>();
    for (const f of firing) groups.set(key(f), [...(groups.get(key(f)) ?? []), f]);
    return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  };
  const head = (first: string, other: string) => (fr ? [first, "alerte", "quoi", other, "depuis", "résumé"] : [first, "alert", "what", other, "since", "summary"]);
  const rows = (groups: Array<[string, Firing[]]>, other: (f: Firing) => string) => groups.flatMap(([k, fs]) => fs.map((f, i) => [i === 0 ? k : "", f.alertname, f.what, other(f), since(f.startsAt, now), f.summary]));
  const members = by((f) => f.member ?? globenet);
  const hosts = by((f) => f.host ?? none);
  const n = firing.length;
  return [
    fr ? `${n} alerte${n > 1 ? "s" : ""} en cours` : `${n} alert${n > 1 ? "s" : ""} firing`,
    "",
    fr ? "par adhérent" : "per member",
    ...textTable(head(fr ? "adhérent" : "member", fr ? "hôte" : "host"), rows(members, (f) => f.host ?? none)).map((l) => `  ${l}`),
    "",
    fr ? "par hôte" : "per host",
    ...textTable(head(fr ? "hôte" : "host", fr ? "adhérent" : "member"), rows(hosts, (f) => f.member ?? globenet)).map((l) => `  ${l}`),
  ].join("\n");
}

/** Alertmanager's API on the monitor host (its address, port 9093). */
export function alertmanagerUrl(model: Model): string | undefined {
  const mon = model.hosts.find((h) => h.roles.includes("monitor"));
  return mon ? `http://${bracket(mon.address)}:${PORTS.alertmanager}/api/v2/alerts?active=true&silenced=false&inhibited=false` : undefined;
}

/** Reads what fires now; an unreachable Alertmanager or an answer that is not its API is an error naming the URL. */
export async function readHealth(url: string, timeoutMs = 10_000): Promise<Firing[]> {
  let body: unknown;
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    body = await r.json();
  } catch (e) {
    throw new Error(`Alertmanager does not answer at ${url}: ${e instanceof Error ? e.message : String(e)} (is it running on the monitor host?)`);
  }
  const parsed = apiAlertsSchema.safeParse(body);
  if (!parsed.success) throw new Error(`${url} did not answer Alertmanager's list of alerts: ${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return firingOf(parsed.data);
}
