/**
 * The zones a running BIND serves, from `named-checkconf -p -x` (one canonical syntax, every
 * include followed, secrets hidden): their names, types, files and signing. Pure.
 */
import { join } from "node:path/posix";
import { parseNamedConfStatements, type NamedConfStatement } from "../model/named-conf";

/** One statement of named.conf: its words and, when it has one, its block. */
export interface Statement {
  words: string[];
  block?: Statement[];
}

/** The statement tree of a named.conf text (lib/model/named-conf.ts, without positions). */
export function parseNamedConf(text: string): Statement[] {
  const strip = (list: NamedConfStatement[]): Statement[] => list.map((s) => (s.block ? { words: s.words, block: strip(s.block) } : { words: s.words }));
  return strip(parseNamedConfStatements(text));
}

export interface ServedZone {
  name: string;
  /** "primary", "secondary", "forward", "hint", … (master and slave said the new way). */
  type: string;
  /** Absolute path of the zone file on the host, when the zone has one. */
  file?: string;
  /** The view holding it, if views are used. */
  view?: string;
  /** DNSSEC: the dnssec-policy name, or "auto-dnssec maintain". */
  signing?: string;
  /** Dynamic updates allowed: BIND's journal may hold changes the file does not. */
  dynamic: boolean;
}

export interface BindConfig {
  directory: string;
  keyDirectory?: string;
  zones: ServedZone[];
}

/** Zones Debian's bind9 package serves by itself (named.conf.default-zones): never imported. */
export const DEBIAN_DEFAULT_ZONES = new Set([".", "localhost", "127.in-addr.arpa", "0.in-addr.arpa", "255.in-addr.arpa"]);

const TYPES: Record<string, string> = { master: "primary", slave: "secondary" };

function value(block: readonly Statement[] | undefined, key: string): string | undefined {
  return block?.find((s) => s.words[0] === key)?.words[1];
}

/** The zones of `named-checkconf -p` output, with absolute file paths. */
export function servedZones(text: string): BindConfig {
  const top = parseNamedConf(text);
  const options = top.find((s) => s.words[0] === "options")?.block;
  const directory = value(options, "directory") ?? "/var/cache/bind";
  const keyDir = value(options, "key-directory");
  const policy = value(options, "dnssec-policy");
  const zones: ServedZone[] = [];
  const zone = (s: Statement, view?: string) => {
    const name = (s.words[1] ?? "").toLowerCase().replace(/(.)\.$/, "$1");
    const type = value(s.block, "type") ?? "?";
    const file = value(s.block, "file");
    const p = value(s.block, "dnssec-policy") ?? policy;
    const auto = value(s.block, "auto-dnssec");
    const signing = p && p !== "none" ? p : auto && auto !== "off" ? `auto-dnssec ${auto}` : undefined;
    const dynamic = !!s.block?.some((x) => x.words[0] === "update-policy" || (x.words[0] === "allow-update" && !(x.block?.length === 1 && x.block[0]?.words[0] === "none")));
    zones.push({ name, type: TYPES[type] ?? type, ...(file ? { file: file.startsWith("/") ? file : join(directory, file) } : {}), ...(view ? { view } : {}), ...(signing ? { signing } : {}), dynamic });
  };
  for (const s of top) {
    if (s.words[0] === "zone") zone(s);
    if (s.words[0] === "view") for (const z of s.block ?? []) if (z.words[0] === "zone") zone(z, s.words[1]);
  }
  return { directory, ...(keyDir ? { keyDirectory: keyDir.startsWith("/") ? keyDir : join(directory, keyDir) } : {}), zones };
}
