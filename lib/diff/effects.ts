import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Bilingual, Lang } from "../i18n/lang";
import type { Model, VpsModel } from "../model/types";

/**
 * What a change does to members that the rendered files do not show: a suspension shuts the
 * member's VPS off (the guest's running state is not a file), a departure deletes what the
 * member had, a VPS is resized. Worked out from the two models alone, so a volunteer sees it
 * offline (`npm run diff`, `npm run guard`) and the merge request note shows the same lines.
 */
export interface Effect extends Bilingual {
  /** The data path it concerns: members/<handle>, members/<handle>/vps/<name>, zones/<domain>. */
  path: string;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function byKey<T>(items: readonly T[], key: (t: T) => string): Map<string, T> {
  return new Map(items.map((i) => [key(i), i]));
}

function resize(path: string, a: VpsModel, b: VpsModel): Effect[] {
  const en: string[] = [];
  const fr: string[] = [];
  if (a.vcpus !== b.vcpus) {
    en.push(`${a.vcpus} → ${b.vcpus} vCPU`);
    fr.push(`${a.vcpus} → ${b.vcpus} vCPU`);
  }
  if (a.memoryMb !== b.memoryMb) {
    en.push(`memory ${a.memoryMb} → ${b.memoryMb} MB`);
    fr.push(`mémoire ${a.memoryMb} → ${b.memoryMb} Mo`);
  }
  if (a.diskGb !== b.diskGb) {
    en.push(`disk ${a.diskGb} → ${b.diskGb} GB`);
    fr.push(`disque ${a.diskGb} → ${b.diskGb} Go`);
  }
  if (en.length === 0) return [];
  const out: Effect[] = [{ path, en: `${path}: VPS resized: ${en.join(", ")}`, fr: `${path} : VPS redimensionné : ${fr.join(", ")}` }];
  if (b.diskGb < a.diskGb) {
    out.push({
      path,
      en: `${path}: a disk cannot shrink (${a.diskGb} → ${b.diskGb} GB would lose data): the preview refuses it; keep ${a.diskGb} GB or more`,
      fr: `${path} : un disque ne peut pas rétrécir (${a.diskGb} → ${b.diskGb} Go perdrait des données) : la prévisualisation le refuse ; gardez ${a.diskGb} Go ou plus`,
    });
  }
  return out;
}

/** The effects of going from `base` to `head`, sorted by path. `headRoot` tells a departure (file kept) from a removal. */
export function effectsOf(base: Model | undefined, head: Model, headRoot: string): Effect[] {
  const out: Effect[] = [];
  const before = byKey(base?.members ?? [], (m) => m.handle);
  const after = byKey(head.members, (m) => m.handle);
  for (const [handle, m] of before) {
    const path = `members/${handle}`;
    const now = after.get(handle);
    if (!now) {
      const departed = existsSync(join(headRoot, "members", handle, "member.yaml"));
      out.push(
        departed
          ? { path, en: `${path}: departs (status: departed): its account, sites, databases, VPS and maildirs are archived, then deleted`, fr: `${path} : quitte Globenet (status: departed) : son compte, ses sites, ses bases de données, ses VPS et ses boîtes aux lettres sont archivés, puis supprimés` }
          : { path, en: `${path}: removed from the data: its account, sites, databases, VPS and maildirs are archived, then deleted`, fr: `${path} : retiré des données : son compte, ses sites, ses bases de données, ses VPS et ses boîtes aux lettres sont archivés, puis supprimés` },
      );
    } else if (m.status !== now.status && now.status === "suspended") {
      out.push({ path, en: `${path}: suspended: its sites show the suspension notice, its PHP and SSH access stop, its database accounts are locked, its VPS are shut off, its mailboxes refuse logins (IMAP and sending) but keep receiving`, fr: `${path} : suspendu : ses sites affichent l'avis de suspension, son PHP et son accès SSH s'arrêtent, ses comptes de base de données sont verrouillés, ses VPS sont éteints, ses boîtes aux lettres refusent les connexions (IMAP et envoi) mais continuent de recevoir` });
    } else if (m.status !== now.status && now.status === "active") {
      out.push({ path, en: `${path}: active again (suspension lifted): sites, PHP, SSH, databases and mailboxes reopen, its VPS are started`, fr: `${path} : de nouveau actif (suspension levée) : sites, PHP, SSH, bases de données et boîtes aux lettres rouverts, ses VPS sont démarrés` });
    }
  }
  for (const handle of after.keys()) {
    if (!before.has(handle)) out.push({ path: `members/${handle}`, en: `members/${handle}: new member`, fr: `members/${handle} : nouveau membre` });
  }
  const vOld = byKey(base?.vps ?? [], (v) => v.domain);
  for (const v of head.vps) {
    const path = `members/${v.handle}/vps/${v.name}`;
    const was = vOld.get(v.domain);
    if (!was) {
      out.push({ path, en: `${path}: new VPS on ${v.hypervisor} (${v.vcpus} vCPU, ${v.memoryMb} MB, ${v.diskGb} GB${v.ipv4 ? `, ${v.ipv4.address}` : ""})`, fr: `${path} : nouveau VPS sur ${v.hypervisor} (${v.vcpus} vCPU, ${v.memoryMb} Mo, ${v.diskGb} Go${v.ipv4 ? `, ${v.ipv4.address}` : ""})` });
      continue;
    }
    const running = (x: VpsModel) => x.status === "active";
    if (running(was) && !running(v)) out.push({ path, en: `${path}: VPS shut off (the member is suspended; its disk is kept)`, fr: `${path} : VPS éteint (le membre est suspendu ; son disque est conservé)` });
    if (!running(was) && running(v)) out.push({ path, en: `${path}: VPS started again (the suspension is lifted)`, fr: `${path} : VPS redémarré (la suspension est levée)` });
    out.push(...resize(path, was, v));
  }
  const zOld = new Set((base?.zones ?? []).map((z) => z.name));
  const zNew = new Set(head.zones.map((z) => z.name));
  for (const z of zNew) if (!zOld.has(z)) out.push({ path: `zones/${z}`, en: `zones/${z}: new zone`, fr: `zones/${z} : nouvelle zone` });
  for (const z of zOld) if (!zNew.has(z)) out.push({ path: `zones/${z}`, en: `zones/${z}: no longer served by our name servers`, fr: `zones/${z} : n'est plus servie par nos serveurs de noms` });
  // Stable: by path, a member's own line before its VPS.
  return out.map((e, i) => ({ e, i })).sort((a, b) => cmp(a.e.path, b.e.path) || a.i - b.i).map((x) => x.e);
}

export const EFFECTS_TITLE: Bilingual = {
  en: "what changes for members beyond the files (from the data):",
  fr: "ce qui change pour les membres au-delà des fichiers (d'après les données) :",
};

/** The effects as lines under a title; [] when there is none. */
export function formatEffects(effects: readonly Effect[], lang: Lang = "en"): string[] {
  if (effects.length === 0) return [];
  return [EFFECTS_TITLE[lang], ...effects.map((e) => `  ${e[lang]}`)];
}
