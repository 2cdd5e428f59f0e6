import { existsSync } from "node:fs";
import { join } from "node:path";
import { french } from "../i18n/fr-catalog";
import { formatDiagnostic, type Diagnostic } from "../load/diagnostic";
import { loadModel } from "../check/build";
import type { MemberModel, Model } from "../model/types";
import { nextFreeAddress } from "./addresses";
import { chooseHypervisor, describeSize, SIZES, type Resources, type SizeName, type StackHypervisors } from "./hypervisor";
import { emailProblem, handleProblem, memberNameProblem, normaliseZoneName, sshKeyProblem, vpsNameProblem } from "./names";
import { memberYaml, vpsYaml, zoneYaml } from "./yaml";

/** The data cannot take this file (it exists, its member is unknown...): the message says why and what to do. */
export class Refusal extends Error {
  /** @param fr the same in French, for a volunteer reading French. */
  constructor(
    message: string,
    readonly fr?: string,
  ) {
    super(message);
  }
}

/** The French of a rule's message (lib/schema), else the English as it is. */
const fr = (problem: string) => french(problem) ?? problem;

/** The data tree does not validate as it is: scaffolding would only add to the confusion. */
export class TreeInvalid extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(`the data does not validate as it is (${diagnostics.length} error(s)): fix them first (npm run validate lists them)`);
  }
  get fr(): string {
    return `les données ne passent pas la validation telles quelles (${this.diagnostics.length} erreur(s)) : corrigez-les d'abord (npm run validate les liste)`;
  }
}

/** Every stack's model, the reference stack (prod, else the first) first. */
export interface Data {
  root: string;
  stacks: Array<{ stack: string; model: Model }>;
}

export function loadData(root: string, stacks: string[]): Data {
  const ordered = [...stacks].sort((a, b) => (a === "prod" ? -1 : b === "prod" ? 1 : a < b ? -1 : a > b ? 1 : 0));
  const errors: Diagnostic[] = [];
  const out: Data["stacks"] = [];
  for (const stack of ordered) {
    const { model, errors: e } = loadModel(root, stack);
    // An error in a member file is found once per stack: list it once.
    for (const d of e) if (!errors.some((x) => formatDiagnostic(x) === formatDiagnostic(d))) errors.push(d);
    if (model) out.push({ stack, model });
  }
  if (errors.length > 0) throw new TreeInvalid(errors);
  return { root, stacks: out };
}

/** What to write: the file (relative to the root), its text, and what to tell the volunteer. */
export interface Scaffold {
  file: string;
  text: string;
  /** Lines to print after writing: what was chosen, what is left to fill in. */
  notes: string[];
  /** The same lines in French. */
  notesFr: string[];
}

function reference(data: Data): Model {
  const first = data.stacks[0];
  if (!first) throw new Refusal("no stack inventory (Pulumi.<stack>.yaml) in the data tree", "aucun inventaire de pile (Pulumi.<pile>.yaml) dans l'arbre de données");
  return first.model;
}

/**
 * A member of the validated tree. The model leaves departed members out; their folder stays
 * (the handle is never reused), so a member.yaml the model does not list is a departed one.
 */
function memberOf(data: Data, handle: string): MemberModel | "departed" | undefined {
  const m = reference(data).members.find((x) => x.handle === handle);
  if (m) return m;
  return existsSync(join(data.root, "members", handle, "member.yaml")) ? "departed" : undefined;
}

function checkHandle(handle: string): void {
  const p = handleProblem(handle);
  if (p) throw new Refusal(p.startsWith('"') ? `handle ${p}` : `handle "${handle}" ${p}`, p.startsWith('"') ? `identifiant ${fr(p)}` : `l'identifiant « ${handle} » ${fr(p)}`);
}

export interface MemberOptions {
  name?: string;
  email?: string;
  sshKeys?: string[];
  command: string;
}

export function planMember(data: Data, handle: string, o: MemberOptions): Scaffold {
  checkHandle(handle);
  const file = `members/${handle}/member.yaml`;
  if (existsSync(join(data.root, "members", handle))) {
    throw new Refusal(
      `members/${handle}/ already exists: the handle "${handle}" is taken (a handle is never reused, even after its member departed; choose another)`,
      `members/${handle}/ existe déjà : l'identifiant « ${handle} » est pris (un identifiant n'est jamais réutilisé, même après le départ de son membre ; choisissez-en un autre)`,
    );
  }
  if (o.name !== undefined) {
    const p = memberNameProblem(o.name);
    if (p) throw new Refusal(`--name ${p}`, `--name ${fr(p)}`);
  }
  if (o.email !== undefined) {
    const p = emailProblem(o.email);
    if (p) throw new Refusal(`--email ${p}`, `--email ${fr(p)}`);
  }
  for (const k of o.sshKeys ?? []) {
    const p = sshKeyProblem(k);
    if (p) throw new Refusal(`--ssh-key ${p}`, `--ssh-key ${fr(p)}`);
  }
  const ref = reference(data);
  const text = memberYaml({ handle, name: o.name, email: o.email, sshKeys: o.sshKeys ?? [], php: ref.inventory.php_versions[0] ?? "8.2", command: o.command });
  const todo = [
    o.name === undefined && "name (the member's full name; or pass --name)",
    o.email === undefined && "contact.email (or pass --email)",
    (o.sshKeys ?? []).length === 0 && "ssh_keys (the member's .pub line; or pass --ssh-key)",
    "sites and databases, if the member asked for any",
  ].filter((s): s is string => typeof s === "string");
  const todoFr = [
    o.name === undefined && "name (le nom complet du membre ; ou passez --name)",
    o.email === undefined && "contact.email (ou passez --email)",
    (o.sshKeys ?? []).length === 0 && "ssh_keys (la ligne .pub du membre ; ou passez --ssh-key)",
    "sites et databases, si le membre en a demandé",
  ].filter((s): s is string => typeof s === "string");
  return { file, text, notes: [`to fill in: ${todo.join("; ")}`], notesFr: [`à compléter : ${todoFr.join(" ; ")}`] };
}

export interface VpsOptions {
  size: SizeName;
  image?: string;
  command: string;
}

/** What the VPS of each stack already take on each hypervisor. */
export function hypervisorsOf(data: Data): StackHypervisors[] {
  return data.stacks.map(({ stack, model }) => {
    const hypervisors: StackHypervisors["hypervisors"] = new Map();
    for (const [name, h] of Object.entries(model.inventory.hosts)) {
      if (!h.roles.includes("hypervisor") || !h.capacity) continue;
      const used: Resources = { vcpus: 0, memoryMb: 0, diskGb: 0 };
      for (const v of model.vps) {
        if (v.hypervisor !== name) continue;
        used.vcpus += v.vcpus;
        used.memoryMb += v.memoryMb;
        used.diskGb += v.diskGb;
      }
      hypervisors.set(name, { capacity: { vcpus: h.capacity.vcpus, memoryMb: h.capacity.memory_mb, diskGb: h.capacity.disk_gb }, used });
    }
    return { stack, hypervisors };
  });
}

/** Every address held by a VPS or a host, in any stack. */
export function usedAddresses(data: Data): Set<string> {
  const used = new Set<string>();
  for (const { model } of data.stacks) {
    for (const v of model.vps) {
      if (v.ipv4) used.add(v.ipv4.address);
      if (v.ipv6) used.add(v.ipv6.address);
    }
    for (const h of model.hosts) for (const a of [h.address, h.ipv4, h.ipv6]) if (a) used.add(a);
    for (const p of [...model.inventory.pools.ipv4, ...model.inventory.pools.ipv6]) used.add(p.gateway);
  }
  return used;
}

export function planVps(data: Data, handle: string, name: string, o: VpsOptions): Scaffold {
  checkHandle(handle);
  const ref = reference(data);
  const member = memberOf(data, handle);
  if (!member) throw new Refusal(`no member "${handle}" (members/${handle}/member.yaml does not exist; create it first: npm run new -- member ${handle})`, `aucun membre « ${handle} » (members/${handle}/member.yaml n'existe pas ; créez-le d'abord : npm run new -- member ${handle})`);
  if (member === "departed") throw new Refusal(`member "${handle}" has departed and may keep no VPS`, `le membre « ${handle} » est parti et ne peut garder aucun VPS`);
  const np = vpsNameProblem(name);
  if (np) throw new Refusal(`"${name}" ${np}`, `« ${name} » ${fr(np)}`);
  const file = `members/${handle}/vps/${name}.yaml`;
  if (existsSync(join(data.root, file))) throw new Refusal(`${file} already exists (a VPS name is unique per member; choose another name, or edit that file to change the VPS)`, `${file} existe déjà (un nom de VPS est unique pour un membre ; choisissez un autre nom, ou modifiez ce fichier pour changer le VPS)`);

  const everywhere = (img: string) => data.stacks.every((s) => Object.hasOwn(s.model.inventory.images, img));
  let image = o.image;
  if (image !== undefined) {
    const missing = data.stacks.filter((s) => !Object.hasOwn(s.model.inventory.images, image as string)).map((s) => s.stack);
    const offered = Object.keys(ref.inventory.images).filter(everywhere).join(", ");
    if (missing.length > 0) throw new Refusal(`image "${image}" is not offered in stack ${missing.join(", ")} (use one of: ${offered || "none"})`, `l'image « ${image} » n'est pas proposée dans la pile ${missing.join(", ")} (utilisez l'une de : ${offered || "aucune"})`);
  } else {
    image = Object.keys(ref.inventory.images).find(everywhere);
    if (!image) throw new Refusal("no image is offered by every stack (images in Pulumi.<stack>.yaml): ask the hosting team", "aucune image n'est proposée par toutes les piles (images dans Pulumi.<pile>.yaml) : demandez à l'équipe d'hébergement");
  }

  const size = SIZES[o.size];
  const { choice, rejected } = chooseHypervisor(hypervisorsOf(data), size);
  if (!choice) {
    const why = rejected.map((r) => `${r.name}: ${r.why}`).join("; ");
    throw new Refusal(
      `no hypervisor can take a ${o.size} VPS (${describeSize(size)}) in every stack${why ? ` — ${why}` : ""} (try a smaller size, or ask the hosting team)`,
      `aucun hyperviseur ne peut accueillir un VPS ${o.size} (${describeSize(size)}) dans toutes les piles${why ? ` — ${why}` : ""} (essayez une taille plus petite, ou demandez à l'équipe d'hébergement)`,
    );
  }

  const used = usedAddresses(data);
  const pick = (family: "ipv4" | "ipv6") => {
    const pools = data.stacks.map((s) => s.model.inventory.pools[family]);
    return pools.every((p) => p.length > 0) ? nextFreeAddress(family, pools, used) : undefined;
  };
  const ipv4 = pick("ipv4");
  const ipv6 = pick("ipv6");
  if (!ipv4 && !ipv6) throw new Refusal("no free address left in the VPS pools shared by every stack (ask the hosting team for a new block)", "plus aucune adresse libre dans les plages des VPS communes à toutes les piles (demandez un nouveau bloc à l'équipe d'hébergement)");
  const needs4 = data.stacks.filter((s) => s.model.inventory.hosts[choice.name]?.libvirt?.network.type === "user").map((s) => s.stack);
  if (!ipv4 && needs4.length > 0) throw new Refusal(`no free IPv4 address left, and ${choice.name} in stack ${needs4.join(", ")} needs one (ask the hosting team)`, `plus aucune adresse IPv4 libre, et ${choice.name} dans la pile ${needs4.join(", ")} en demande une (demandez à l'équipe d'hébergement)`);

  const domain = ref.inventory.domain;
  const defaultName = `${name}.${handle}.vps.${domain}`;
  // Suggested in the member's zone that holds one of its sites' main names (not a zone kept
  // only for redirects), else its shortest zone.
  const hosts = ref.sites.filter((s) => s.handle === handle).map((s) => s.host);
  const main = (zone: string) => (hosts.some((h) => h === zone || h.endsWith(`.${zone}`)) ? 0 : 1);
  const zones = ref.zones
    .filter((z) => z.owner === handle && !z.reverse)
    .sort((a, b) => main(a.name) - main(b.name) || a.name.length - b.name.length || (a.name < b.name ? -1 : 1));
  const free = zones.find((z) => !z.records.some((r) => r.name === name));
  const dnsSuggestion = free ? `${name}.${free.name}` : undefined;

  const others = rejected.map((r) => `${r.name} (${r.why})`);
  const share = Math.round(choice.room * 100);
  const hypervisorWhy =
    `${choice.name}: the hypervisor with the most room in every stack (${share}% of its scarcest resource left after this VPS)` +
    (others.length > 0 ? `;\nnot ${others.join(", ")}.` : ".");
  const text = vpsYaml({ handle, name, sizeName: o.size, size, hypervisor: choice.name, hypervisorWhy, image, ipv4, ipv6, dnsSuggestion, defaultName, memberHasKeys: member.sshKeys.length > 0, command: o.command });
  const notes = [
    `hypervisor ${choice.name}, ${describeSize(size)}, image ${image}`,
    `addresses: ${[ipv4, ipv6].filter(Boolean).join(" and ")}`,
    dnsSuggestion ? `to fill in: what the VPS is for; uncomment dns_name (${dnsSuggestion}) to give it a public name` : `to fill in: what the VPS is for; without dns_name it is ${defaultName}`,
  ];
  const notesFr = [
    `hyperviseur ${choice.name}, ${describeSize(size)}, image ${image}`,
    `adresses : ${[ipv4, ipv6].filter(Boolean).join(" et ")}`,
    dnsSuggestion ? `à compléter : à quoi sert le VPS ; décommentez dns_name (${dnsSuggestion}) pour lui donner un nom public` : `à compléter : à quoi sert le VPS ; sans dns_name, il s'appelle ${defaultName}`,
  ];
  if (member.sshKeys.length === 0) {
    notes.push(`${handle} has no ssh_keys: add the member's key to member.yaml or to this file, or nobody can log in`);
    notesFr.push(`${handle} n'a pas de ssh_keys : ajoutez la clé du membre dans member.yaml ou dans ce fichier, sinon personne ne pourra se connecter`);
  }
  if (member.status === "suspended") {
    notes.push(`${handle} is suspended: the VPS is created shut down until the member is active again`);
    notesFr.push(`${handle} est suspendu : le VPS est créé éteint jusqu'à ce que le membre soit de nouveau actif`);
  }
  return { file, text, notes, notesFr };
}

export interface ZoneOptions {
  owner?: string;
  command: string;
}

export function planZone(data: Data, domain: string, o: ZoneOptions): Scaffold {
  const n = normaliseZoneName(domain);
  if ("problem" in n) throw new Refusal(`zone "${domain}" ${n.problem}`, `la zone « ${domain} » ${fr(n.problem)}`);
  const zone = n.name;
  const file = `zones/${zone}.yaml`;
  if (existsSync(join(data.root, file))) throw new Refusal(`${file} already exists (edit it to add records)`, `${file} existe déjà (modifiez-le pour ajouter des enregistrements)`);
  if (!o.owner) throw new Refusal(`--owner HANDLE is required: the member the zone belongs to (Globenet's own zones: --owner globenet)`, `--owner IDENTIFIANT est obligatoire : le membre à qui appartient la zone (zones propres à Globenet : --owner globenet)`);
  checkHandle(o.owner);
  const ref = reference(data);
  const owner = memberOf(data, o.owner);
  if (!owner) throw new Refusal(`no member "${o.owner}" (the owner is a member handle, a folder under members/; create it first: npm run new -- member ${o.owner})`, `aucun membre « ${o.owner} » (le propriétaire est l'identifiant d'un membre, un dossier sous members/ ; créez-le d'abord : npm run new -- member ${o.owner})`);
  if (owner === "departed") throw new Refusal(`member "${o.owner}" has departed and may not own a zone`, `le membre « ${o.owner} » est parti et ne peut pas posséder de zone`);
  const ns = ref.hosts.filter((h) => h.roles.includes("dns-primary") || h.roles.includes("dns-secondary")).map((h) => h.fqdn).sort();
  const text = zoneYaml({ zone, owner: owner.handle, nameservers: ns, domain: ref.inventory.domain, command: o.command });
  const notes: string[] = [];
  const notesFr: string[] = [];
  if (zone !== domain) {
    notes.push(`zone name: ${zone} (written as the schema wants it, from "${domain}")`);
    notesFr.push(`nom de la zone : ${zone} (écrit comme le schéma le veut, d'après « ${domain} »)`);
  }
  if (zone.endsWith(".arpa")) {
    notes.push("a reverse zone: PTR records are derived, nothing to fill in");
    notesFr.push("une zone inverse : les enregistrements PTR sont déduits, rien à compléter");
  } else {
    notes.push("to fill in: records (MX, TXT for SPF/DMARC/DKIM, CNAME...) if the member needs any");
    notesFr.push("à compléter : records (MX, TXT pour SPF/DMARC/DKIM, CNAME…) si le membre en a besoin");
    if (ns.length > 0) {
      notes.push(`then the member sets the domain's name servers to ${ns.join(" and ")} at their registrar`);
      notesFr.push(`ensuite, le membre indique ${ns.join(" et ")} comme serveurs de noms du domaine chez son bureau d'enregistrement`);
    }
  }
  return { file, text, notes, notesFr };
}
