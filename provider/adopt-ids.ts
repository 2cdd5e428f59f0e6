/**
 * Adoption (docs/architecture.md, "Adoption"): which resource of the program the first `up`
 * after an import takes over from the host instead of creating, and with which import id.
 * Pure: the program (index.ts) decides with it, the provider (provider/main.ts) decodes the id.
 *
 * The engine's import calls the provider's Read with the id alone (no inputs, no state), and
 * Read needs to know where to look: the host (its address, port, user, pinned key) and the
 * object's identity (handle, database name, file-set kind). An adoption id is therefore the
 * resource's own id followed by those facts, taken from the program's inputs:
 *     <id>@adopt:<base64url(JSON facts)>
 * Read answers with the resource's own id, so the state never keeps the long form. The facts
 * are connection facts and names, never a secret (the provider's key stays in its environment).
 */
import { RESOURCE_TOKENS, type ResourceToken } from "../lib/base/tokens";
import { takeoverNames } from "./resources/takeover";
import { setFiles } from "./resources/file-store";
import { flatSpec } from "../lib/base/spec-inputs";
import { splitUrn } from "../lib/base/urn";

const MARK = "@adopt:";

type Props = Record<string, unknown>;

interface Adoptable {
  /** The id create gives this resource (provider/resources/<type>.ts). */
  id(p: Props): string;
  /** What Read needs to find the live object: the inputs without what it reads itself. */
  facts(p: Props): Props;
}

const targetName = (p: Props) => String((p.target as { name?: unknown } | undefined)?.name ?? "");
const without = (p: Props, ...keys: string[]): Props => Object.fromEntries(Object.entries(p).filter(([k, v]) => v !== undefined && !keys.includes(k)));

/**
 * Every provider type: how it is adopted, created anew, or why adoption refuses it (the type
 * makes this exhaustive, as the guard's decisions are). "create": nothing on the host is lost
 * by making it again. "refuse": the message says what to do instead.
 */
export const ADOPTION: Record<ResourceToken, Adoptable | { create: string } | { refuse: string }> = {
  [RESOURCE_TOKENS.account]: { id: (p) => String(p.handle), facts: (p) => without(p, "archives") },
  [RESOURCE_TOKENS.database]: { id: (p) => String(p.name), facts: (p) => without(p, "password", "archives") },
  // The files are read from the host (their contents are the import's inputs), never sent in the id.
  [RESOURCE_TOKENS.fileSet]: {
    id: (p) => [targetName(p), String(p.kind), ...(p.phpVersion ? [String(p.phpVersion)] : [])].join(":"),
    // takeover: the names whose hand-made definitions the adoption takes over (provider/resources/takeover.ts);
    // fileStore: the program's content store, where the read puts the live contents (the import's inputs are then refs).
    facts: (p) => without({ target: p.target, kind: p.kind, phpVersion: p.phpVersion, takeover: p.takeover, fileStore: p.fileStore }),
  },
  // Made anew rather than read: its read refuses an account without Globenet's marker, which a
  // hand-made account gets only from the update that follows its own import. Jobs the import
  // moved from the member's own lines into `cron:` stay there too until a volunteer removes
  // them (the guide's last adoption step).
  [RESOURCE_TOKENS.dbSettings]: { create: "the slow query log is set on the database server from the inventory; nothing of the members' is touched" },
  [RESOURCE_TOKENS.crontab]: { create: "the data's jobs are written as Globenet's block at the end of the member's crontab; the member's own lines above it are never touched" },
  [RESOURCE_TOKENS.alertBridge]: { create: "the alert bridge's unit and token file are written from the data and the stack's secret, replacing any hand-made ones" },
  // Its create keeps a key already on the host at that path and publishes its public half.
  [RESOURCE_TOKENS.dkimKey]: { create: "a DKIM key already at its path on the mail host is kept and published; a missing one is made there" },
  // Its create touches nothing on the host: the maildirs there are kept as they are.
  [RESOURCE_TOKENS.maildirs]: { create: "a mail domain's maildirs already on the mail host are kept as they are (nothing is written there)" },
  [RESOURCE_TOKENS.portal]: { create: "the member portal's user, unit, token file and password hashes are written from the data and the stack's secret, its code and data shipped again" },
  [RESOURCE_TOKENS.portalPassword]: { create: "a new portal password is made and delivered in the member's home (~/.portal-password)" },
  [RESOURCE_TOKENS.transferKey]: { create: "the TSIG key of zone transfers is made anew (the secondaries keep serving what they have meanwhile)" },
  [RESOURCE_TOKENS.backupClient]: { create: "a host's backup schedule is rendered from the data; an existing key and passphrase on the host are kept by its create" },
  // The domain's name; the facts are the declared names, paths and XML (public: rendered from
  // the data) that the read judges drift against. What runs (vCPUs, memory, disk size, seed,
  // running, the disk's base image) is read, never sent: the diff against git is the update.
  [RESOURCE_TOKENS.guest]: { id: (p) => String(p.domain), facts: (p) => without(p, "seed", "seedRefs", "vcpus", "memoryMb", "diskGb", "running", "baseImage", "uuid", "archives") },
  [RESOURCE_TOKENS.backupRepository]: {
    refuse: "adopting an existing backup repository is not supported (its passphrase cannot be read back): adopt without the backup role, then add it (a new repository is made)",
  },
};

export type AdoptionDecision =
  /** Not a provider resource (a component, the stack), or already in the state: nothing special. */
  | { kind: "as-is" }
  | { kind: "import"; id: string; importId: string }
  | { kind: "create"; why: string }
  | { kind: "refuse"; message: string };

/** `type::name`: how the program's transform and the state's URNs name one resource. */
export function resourceKey(type: string, name: string): string {
  return `${type}::${name}`;
}

/** The state's resources as resourceKey()s (from `pulumi stack export`'s URNs). */
export function keysOfUrns(urns: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const urn of urns) {
    const { type, name } = splitUrn(urn);
    out.add(resourceKey(type, name));
  }
  return out;
}

/** What adoption does with one resource the program declares. */
export function adoptionOf(r: { type: string; name: string; custom: boolean; props: Props }, inState: ReadonlySet<string>): AdoptionDecision {
  const rule = (ADOPTION as Record<string, (typeof ADOPTION)[ResourceToken] | undefined>)[r.type];
  if (!r.custom || !rule || inState.has(resourceKey(r.type, r.name))) return { kind: "as-is" };
  if ("refuse" in rule) return { kind: "refuse", message: `${r.type} ${r.name}: ${rule.refuse}` };
  // A bucket's part cannot take hand-made sites over (only the host's own set does), and a hand-made site beside a part's of the same name would stop Apache (mod_md refuses a domain defined twice).
  if (r.type === RESOURCE_TOKENS.fileSet && r.props.part !== undefined) return { kind: "refuse", message: `${r.type} ${r.name}: adopting a web host whose members are split by hash is not supported: adopt it with its members in its own shard (no members_of: shards), then split them (npm run shards -- move)` };
  if ("create" in rule) return { kind: "create", why: rule.create };
  // An account's, a database's or a guest's inputs come as one JSON text, spec (lib/base/spec-inputs.ts): the facts are the flat ones.
  const props = flatSpec(r.props);
  const id = rule.id(props);
  return { kind: "import", id, importId: importIdOf(id, rule.facts(props)) };
}

/**
 * The props an adopted resource is declared with: an apache2, bind-primary, bind-secondary or php-fpm file set gets
 * `takeover`, the names it defines, so its update disables their hand-made definitions on the
 * host in the same checked reload (explicit: only adoption asks it; the preview shows it as an
 * update of "takeover"). Other resources: as they are.
 */
export function adoptedProps(type: string, props: Props): Props {
  if (type !== RESOURCE_TOKENS.fileSet || (props.kind !== "apache2" && props.kind !== "bind-primary" && props.kind !== "bind-secondary" && props.kind !== "php-fpm")) return props;
  // Either form of the contents (refs read from the program's store); none known yet (an output): no names.
  return { ...props, takeover: takeoverNames(props.kind, setFiles(props) ?? {}) };
}

export function importIdOf(id: string, facts: Props): string {
  if (id.includes(MARK)) throw new Error(`an id cannot contain "${MARK}" (${id})`);
  return `${id}${MARK}${Buffer.from(JSON.stringify(facts), "utf8").toString("base64url")}`;
}

/** The resource's own id and Read's facts, or undefined for an ordinary id. */
export function parseImportId(importId: string): { id: string; facts: Props } | undefined {
  const at = importId.indexOf(MARK);
  if (at < 0) return undefined;
  const text = Buffer.from(importId.slice(at + MARK.length), "base64url").toString("utf8");
  let facts: unknown;
  try {
    facts = JSON.parse(text);
  } catch {
    throw new Error(`the adoption id of ${importId.slice(0, at)} is damaged (its facts are not JSON): run the adoption again from the CLI (npm run up -- --adopt)`);
  }
  if (!facts || typeof facts !== "object" || Array.isArray(facts)) throw new Error(`the adoption id of ${importId.slice(0, at)} carries no facts object`);
  return { id: importId.slice(0, at), facts: facts as Props };
}

/** A plain JSON value without its undefined fields, at any depth (undefined in a list becomes null, as JSON says). */
export function definedOnly<T>(v: T): T {
  if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : definedOnly(x))) as T;
  if (v && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, definedOnly(x)])) as T;
  }
  return v;
}
