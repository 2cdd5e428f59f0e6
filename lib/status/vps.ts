/**
 * Each VPS's state as its hypervisor reports it (`npm run status -- vps`, and the member portal's
 * live figures): `virsh domstate` of the guests the data places on each hypervisor, over the
 * provider's SSH (lib/status/remote.ts) with a constant script (provider/scripts/status/read-vps.sh).
 */
import type { Lang } from "../i18n/lang";
import type { Model } from "../model/types";
import { loadScript } from "../../provider/scripts/load";
import { onHost } from "./remote";
import { textTable } from "./text-table";

const READ_VPS = loadScript("status/read-vps.sh");

export interface VpsState {
  handle: string;
  name: string;
  domain: string;
  hypervisor: string;
  /** libvirt's word (running, paused, shut off, crashed …); "undefined": the hypervisor has no such guest. */
  state: string;
  /** The member is suspended: the apply shuts the guest down. */
  suspended: boolean;
}

/** `vps <domain> <state>` lines (spaces in the state written '_'), by domain. */
export function parseVpsStates(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of out.split("\n")) {
    const f = line.trim().split(" ");
    if (f[0] !== "vps" || !/^[a-z0-9-]+$/.test(f[1] ?? "") || !/^[a-z_]+$/.test(f[2] ?? "") || f.length !== 3) continue;
    m.set(f[1] as string, (f[2] as string).replace(/_/g, " "));
  }
  return m;
}

/** The VPS the data holds (departed ones excepted), with their state from each hypervisor's answer. */
export function vpsStates(model: Model, answers: Map<string, Map<string, string>>): VpsState[] {
  return model.vps
    .filter((v) => v.status !== "departed")
    .map((v) => ({ handle: v.handle, name: v.name, domain: v.domain, hypervisor: v.hypervisor, state: answers.get(v.hypervisor)?.get(v.domain) ?? "not read", suspended: v.status === "suspended" }))
    .sort((a, b) => (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0));
}

export async function readVps(root: string, model: Model): Promise<VpsState[]> {
  const answers = new Map<string, Map<string, string>>();
  const byHost = new Map<string, string[]>();
  for (const v of model.vps) byHost.set(v.hypervisor, [...(byHost.get(v.hypervisor) ?? []), v.domain]);
  await Promise.all(
    [...byHost].map(async ([name, domains]) => {
      const host = model.hosts.find((h) => h.name === name);
      if (!host) return;
      answers.set(name, parseVpsStates(await onHost(root, host, READ_VPS, domains, `read the guests' states on ${name}`)));
    }),
  );
  return vpsStates(model, answers);
}

/** A guest not in the state the data wants: an active member's runs, a suspended member's is shut down (provider/resources/guest-check.ts). */
export const vpsNeedsAttention = (rows: VpsState[]) => rows.filter((r) => r.state !== (r.suspended ? "shut off" : "running"));

export function formatVps(rows: VpsState[], lang: Lang = "en"): string {
  if (rows.length === 0) return lang === "fr" ? "aucun VPS sur cette pile" : "no VPS on this stack";
  const head = lang === "fr" ? ["VPS", "adhérent", "hyperviseur", "état"] : ["VPS", "member", "hypervisor", "state"];
  const word = (r: VpsState) => (r.suspended ? `${r.state} (${lang === "fr" ? "suspendu" : "suspended"})` : r.state);
  const bad = vpsNeedsAttention(rows).length;
  const tail = lang === "fr" ? `${rows.length} VPS, ${bad === 0 ? "tous dans l'état voulu" : `${bad} pas dans l'état voulu (en marche, ou arrêté si l'adhérent est suspendu) : npm run up le remet`}` : `${rows.length} VPS, ${bad === 0 ? "all as the data wants" : `${bad} not in the state the data wants (running, or shut off for a suspended member): npm run up puts it back`}`;
  return [...textTable(head, rows.map((r) => [r.domain, r.handle, r.hypervisor, word(r)])), tail].join("\n");
}
