/**
 * What the Account and Database resources share: input validation for the values that reach
 * a host (handles, homes, host names, paths, SSH targets), Pulumi's secret wrapping, archive
 * time stamps. The bash prelude that does member-side work with the member's own rights is
 * provider/scripts/account/prelude.sh.
 */
import type { CheckFailure } from "@pulumi/pulumi/provider";
import { hostnameProblem, identifierProblem } from "../../lib/schema/names";
import { sshPublicKeyProblem } from "../../lib/schema/ssh-key";
import { databaseNameProblem, handleProblem as schemaHandleProblem } from "../../lib/schema/system-names";
import type { Target } from "../types";
import { UNKNOWN } from "../types";
import { PULUMI_SECRET_SIG, PULUMI_SIG_KEY } from "../../lib/base/tokens";

export { sameHost } from "../../lib/base/same-host";

/** Absolute paths the provider writes to or reads from: plain characters only, no `..`. */
const SAFE_PATH = /^\/[A-Za-z0-9._/-]*$/;

// ---- secrets ----------------------------------------------------------------------------

// Pulumi's wire form of a secret value (the provider server accepts secrets): lib/base/tokens.ts.

export interface SecretValue<T> {
  [PULUMI_SIG_KEY]: typeof PULUMI_SECRET_SIG;
  value: T;
}

/** Marks an output secret on the wire, so the state holds it encrypted whatever the caller registered. */
export function secret<T>(value: T): SecretValue<T> {
  return { [PULUMI_SIG_KEY]: PULUMI_SECRET_SIG, value };
}

/** Removes Pulumi's secret wrappers, recursively (the engine sends secrets wrapped to us). */
export function plain<T = unknown>(v: unknown): T {
  if (Array.isArray(v)) return v.map((x) => plain(x)) as T;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (o[PULUMI_SIG_KEY] === PULUMI_SECRET_SIG) return plain(o.value);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) out[k] = plain(x);
    return out as T;
  }
  return v as T;
}

/** True when any value inside is not known yet: check then leaves validation to the real run. */
export function hasUnknown(v: unknown): boolean {
  if (v === UNKNOWN) return true;
  if (Array.isArray(v)) return v.some(hasUnknown);
  if (v && typeof v === "object") return Object.values(v as Record<string, unknown>).some(hasUnknown);
  return false;
}

// ---- validation -------------------------------------------------------------------------

/** Collects check failures, property by property. */
export class Failures {
  readonly list: CheckFailure[] = [];
  add(property: string, reason: string): void {
    this.list.push({ property, reason });
  }
  get ok(): boolean {
    return this.list.length === 0;
  }
}

export function str(v: unknown): v is string {
  return typeof v === "string";
}

/**
 * The member schema's own rules (lib/schema/system-names.ts), applied again here: the provider
 * must not hand a system user, group, database or account to a member even if its inputs came
 * from somewhere else than a validated tree.
 */
export function handleProblem(h: unknown): string | undefined {
  if (!str(h)) return "must be a string";
  const p = schemaHandleProblem(h);
  return p ? `"${printable(h)}" is not a member handle: ${p.replace(/^"[^"]*" /, "")}` : undefined;
}

export function homeProblem(home: unknown, handle: unknown): string | undefined {
  if (!str(home)) return "must be a string";
  if (!str(handle) || home !== `/home/${handle}`) return `must be /home/<handle> (here /home/${str(handle) ? printable(handle) : "?"}), not "${printable(home)}"`;
  return undefined;
}

/** A password's rotation value: absent, or a counter (1, 2, …) or a date (the member file's rotate_password). */
const ROTATION = /^(\d{1,7}|\d{4}-\d{2}-\d{2})$/;
export function rotationProblem(r: unknown): string | undefined {
  if (r === undefined || r === null || r === "" || (str(r) && ROTATION.test(r))) return undefined;
  return "must be a counter (1, 2, …) or a date like 2026-12-04";
}

export function dbNameProblem(n: unknown): string | undefined {
  if (!str(n)) return "must be a string";
  const p = databaseNameProblem(n);
  return p ? `"${printable(n)}" is not a database name: ${p.replace(/^"[^"]*" /, "")}` : undefined;
}

/** A lowercase DNS name of at least two labels (the schema's rule). */
export function hostProblem(h: unknown): string | undefined {
  if (!str(h)) return "must be a string";
  const p = hostnameProblem(h);
  return p ? `"${printable(h)}" ${p}` : undefined;
}

export function pathProblem(p: unknown, what: string): string | undefined {
  if (!str(p)) return "must be a string";
  if (!SAFE_PATH.test(p) || p.split("/").some((s) => s === "..") || p === "/" || p.length > 200) {
    return `"${printable(p)}" is not a usable ${what} (an absolute path of letters, digits, '.', '_', '-' and '/', without '..')`;
  }
  return undefined;
}

/** Validates a `target` input (connection facts); failures go under `prop.<field>`. */
export function checkTarget(f: Failures, prop: string, t: unknown): void {
  if (!t || typeof t !== "object" || Array.isArray(t)) {
    f.add(prop, "must be an object { name, address, port, user, hostKey }");
    return;
  }
  const o = t as Record<string, unknown>;
  // The inventory's own rules (lib/schema/inventory.ts: hosts' names, ssh.user, ssh.host_key).
  const nameP = str(o.name) ? identifierProblem(o.name, "host name", 32, "web1") : "must be a string";
  if (nameP) f.add(`${prop}.name`, `must be the inventory host name: ${nameP}`);
  if (!str(o.address) || !/^[A-Za-z0-9.:-]{1,253}$/.test(o.address)) f.add(`${prop}.address`, "must be an IP address or a host name");
  if (typeof o.port !== "number" || !Number.isInteger(o.port) || o.port < 1 || o.port > 65535) f.add(`${prop}.port`, "must be a TCP port (1-65535)");
  const userP = str(o.user) ? identifierProblem(o.user, "user name", 32, "globenet-deploy") : "must be a string";
  if (userP) f.add(`${prop}.user`, `must be a unix user name: ${userP}`);
  if (!str(o.hostKey) || sshPublicKeyProblem(o.hostKey.trim())) f.add(`${prop}.hostKey`, "must be the host's pinned public key line (\"ssh-ed25519 AAAA…\")");
}

export function asTarget(t: unknown): Target {
  const o = t as Target;
  return { name: o.name, address: o.address, port: o.port, user: o.user, hostKey: o.hostKey };
}

/** For messages: cut, and without control characters. */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  const t = s.replace(/[\u0000-\u001f\u007f]/g, "?");
  return t.length > 60 ? `${t.slice(0, 60)}…` : t;
}

// ---- archives ---------------------------------------------------------------------------

/** UTC time stamp for archive names: yyyymmddThhmmssZ. */
export function utcStamp(d = new Date()): string {
  return d.toISOString().replace(/\.\d+Z$/, "Z").replace(/[-:]/g, "");
}

/** `key=value` lines of a script's output. Repeated keys collect in order. */
export function parseLines(out: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of out.split("\n")) {
    const i = line.indexOf("=");
    if (i <= 0) continue;
    const k = line.slice(0, i);
    m.set(k, [...(m.get(k) ?? []), line.slice(i + 1)]);
  }
  return m;
}

/** The provider's root-only registry of the unix users and groups it created (see OWNERSHIP below). */
export const OWNED_DIR = "/var/lib/globenet/owned";
/** Where a suspended member's crontab waits, root-only, until the member is active again. */
export const CRONTAB_ASIDE_DIR = "/var/lib/globenet/suspended-crontabs";
/** The host's lock of sshd changes (account/sshd.sh): one reload at a time. Root's only (0600). */
export const SSHD_LOCK = "/var/lib/globenet/sshd.lock";
/** The host's lock of new users (account/converge.sh): from an adoption's uid check to useradd. Root's only (0600). */
export const USERS_LOCK = "/var/lib/globenet/users.lock";
