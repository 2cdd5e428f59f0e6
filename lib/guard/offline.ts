import { sameHost, type HostIdentity } from "../base/same-host";
import { COMPONENT_TOKENS, RESOURCE_TOKENS } from "../base/tokens";
import { mailboxLocals } from "../model/mail";
import type { Model } from "../model/types";
import type { Plan, PlanStep } from "./plan";

/**
 * The guard without the engine: the plan a preview would announce for the resources the guard
 * judges (members, hosting accounts, databases, VPS, the primary's zone files), worked out
 * from the base's model and the head's model, then judged by the very rules of ./rules.ts. So
 * `npm run guard -- --base main` asks a volunteer, offline, for the same Allow-Destroy lines
 * that CI and `up` ask for from the engine's plan.
 *
 * Each resource is keyed as the program names it (index.ts, components/): a member by its
 * handle, an account by its handle, a database by its name, a VPS by <handle>--<name>, a mail
 * domain's maildirs by <mail host>-maildirs-<domain>. Its
 * inputs carry what the rules read (handle, name, domain, target, archiveDir, sites, a mail
 * domain's mailboxes, the zone files); an operation is "replace" where the provider's diff replaces (another host;
 * for a VPS also another base image or disk path), as provider/resources/*.ts decide it.
 */

type Inputs = Record<string, unknown>;

/** A host as the provider's diff compares it (lib/base/same-host.ts): a rename with the same address and port is the same machine. */
function target(m: Model | undefined, name: string): HostIdentity {
  const h = m?.hosts.find((x) => x.name === name);
  return h ? { name, address: h.address, port: h.host.ssh.port } : { name };
}

function opOf(before: Inputs | undefined, after: Inputs | undefined, replaced: (a: Inputs, b: Inputs) => boolean): string {
  if (!before) return "create";
  if (!after) return "delete";
  if (replaced(before, after)) return "replace";
  return JSON.stringify(before) === JSON.stringify(after) ? "same" : "update";
}

function stepsFor(type: string, before: Map<string, Inputs>, after: Map<string, Inputs>, stack: string, replaced: (a: Inputs, b: Inputs) => boolean): PlanStep[] {
  const names = [...new Set([...before.keys(), ...after.keys()])].sort();
  return names.map((name) => {
    const old = before.get(name);
    const nw = after.get(name);
    return { op: opOf(old, nw, replaced), type, name, urn: `urn:pulumi:${stack}::globenet-infra::${type}::${name}`, old, new: nw };
  });
}

const otherHost = (a: Inputs, b: Inputs) => !sameHost(a.target as HostIdentity, b.target as HostIdentity);

function members(m: Model | undefined): Map<string, Inputs> {
  // A component has no inputs of its own: the engine announces it as created, deleted or the same.
  return new Map((m?.members ?? []).map((x) => [x.handle, { handle: x.handle }]));
}

function accounts(m: Model | undefined): Map<string, Inputs> {
  const out = new Map<string, Inputs>();
  for (const x of m?.members ?? []) {
    if (!x.webHost) continue;
    const sites = (m?.sites ?? []).filter((s) => s.handle === x.handle).map((s) => s.host).sort();
    out.set(x.handle, { handle: x.handle, target: target(m, x.webHost), status: x.status === "suspended" ? "suspended" : "active", sites, archiveDir: m?.inventory.archive_dir });
  }
  return out;
}

function databases(m: Model | undefined): Map<string, Inputs> {
  return new Map((m?.databases ?? []).map((d) => [d.name, { handle: d.handle, name: d.name, target: target(m, d.dbHost), status: d.status === "suspended" ? "suspended" : "active", archiveDir: m?.inventory.archive_dir }]));
}

function guests(m: Model | undefined): Map<string, Inputs> {
  return new Map(
    (m?.vps ?? []).map((v) => [
      v.domain,
      { domain: v.domain, target: target(m, v.hypervisor), baseImage: v.imagePath, diskPath: v.diskPath, diskGb: v.diskGb, vcpus: v.vcpus, memoryMb: v.memoryMb, running: v.status === "active", archiveDir: m?.inventory.archive_dir },
    ]),
  );
}

/** Each member mail domain's stored mail on its mail host (components/mail-server.ts names them <host>-maildirs-<domain>). */
function maildirs(m: Model | undefined): Map<string, Inputs> {
  return new Map((m?.mail ?? []).filter((d) => d.status !== "departed").map((d) => [`${d.mailHost}-maildirs-${d.domain}`, { handle: d.handle, domain: d.domain, mailboxes: mailboxLocals(d), target: target(m, d.mailHost), archiveDir: m?.inventory.archive_dir }]));
}

/** The primary's bind file set: the rules read which zones it serves before and after. */
function bindPrimary(m: Model | undefined): Map<string, Inputs> {
  const primary = m?.zones[0]?.primary || m?.hosts.find((h) => h.roles.includes("dns-primary"))?.name;
  if (!m || !primary) return new Map();
  const files = Object.fromEntries(m.zones.map((z) => [`zones/${z.name}.zone`, ""]));
  return new Map([[`${primary}-bind`, { kind: "bind-primary", target: target(m, primary), files }]]);
}

/** The plan the engine would announce, for what the guard judges, going from `base` to `head`. */
export function planFromModels(base: Model | undefined, head: Model): Plan {
  const stack = head.stack;
  const never = () => false;
  return {
    stack,
    steps: [
      ...stepsFor(COMPONENT_TOKENS.member, members(base), members(head), stack, never),
      ...stepsFor(RESOURCE_TOKENS.account, accounts(base), accounts(head), stack, otherHost),
      ...stepsFor(RESOURCE_TOKENS.database, databases(base), databases(head), stack, otherHost),
      ...stepsFor(RESOURCE_TOKENS.guest, guests(base), guests(head), stack, (a, b) => otherHost(a, b) || a.baseImage !== b.baseImage || a.diskPath !== b.diskPath),
      ...stepsFor(RESOURCE_TOKENS.maildirs, maildirs(base), maildirs(head), stack, otherHost),
      ...stepsFor(RESOURCE_TOKENS.fileSet, bindPrimary(base), bindPrimary(head), stack, never),
    ],
  };
}
