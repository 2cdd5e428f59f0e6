import type { ModelRecord, ZoneModel } from "../model/types";
import { lineComment, zoneCharacterString, zoneDomainName, zoneHex } from "./escape";
import { renderTemplate } from "./handlebars";
import { generatedNotice } from "./notice";
import { splitUtf8 } from "./utf8-split";

/** SOA timers, the same for every zone. templates/zone.hbs explains them in words: change both. */
export const SOA_TIMERS = { refresh: 3600, retry: 900, expire: 1_209_600, negativeTtl: 300 };

/** A TXT character-string holds at most 255 bytes (RFC 1035 §3.3). */
const MAX_STRING_BYTES = 255;

/** Owner names longer than this push their line out rather than widen the whole column. */
const MAX_OWNER_COLUMN = 32;

/**
 * bind/zones/<zone>.zone, for the zone's primary. Records keep the model's order (sorted
 * there); derived records say why they exist in a trailing comment. The file is ASCII.
 */
/**
 * Stands for the SOA serial in zone files rendered for the provider, which owns the serial:
 * it raises it only for zones whose content changed.
 */
export const SERIAL_TOKEN = "@@GLOBENET_SERIAL@@";

export function renderZone(zone: ZoneModel, serial: number | typeof SERIAL_TOKEN): string {
  if (serial !== SERIAL_TOKEN && (!Number.isInteger(serial) || serial < 0 || serial > 0xffffffff)) throw new RangeError(`serial ${serial} for zone ${zone.name} is not a 32-bit unsigned integer`);
  const apexNs = zone.nameservers.map((ns) => ({ owner: "@", ttl: "", type: "NS", rdata: [zoneDomainName(ns)], comment: "" }));
  const records = zone.records.filter((r) => !isApexNsRepeat(zone, r)).map(recordLine);
  const lines = [...apexNs, ...records];
  const ownerWidth = Math.min(MAX_OWNER_COLUMN, Math.max(...lines.map((l) => l.owner.length)));
  const ttlWidth = Math.max(0, ...lines.map((l) => l.ttl.length));
  const layout = (l: RecordLine) => layoutLine(l, ownerWidth, ttlWidth);
  return renderTemplate("zone", {
    notice: lineComment(generatedNotice(zone.file)),
    origin: zoneDomainName(`${zone.name}.`),
    ttl: String(zone.ttl),
    mname: zoneDomainName(zone.nameservers[0] ?? missing(zone, "nameservers")),
    rname: zoneDomainName(zone.hostmaster),
    serial: String(serial).padEnd(10),
    timers: {
      refresh: String(SOA_TIMERS.refresh).padEnd(10),
      retry: String(SOA_TIMERS.retry).padEnd(10),
      expire: String(SOA_TIMERS.expire).padEnd(10),
      negativeTtl: `${SOA_TIMERS.negativeTtl} )`.padEnd(10),
    },
    records: lines.map(layout),
  });
}

function layoutLine(l: RecordLine, ownerWidth: number, ttlWidth: number): string {
  const head = `${l.owner.padEnd(ownerWidth)} ${ttlWidth > 0 ? `${l.ttl.padEnd(ttlWidth)} ` : ""}IN ${l.type.padEnd(5)} `;
  const comment = l.comment ? ` ; ${l.comment}` : "";
  if (l.rdata.length === 1) return `${head}${l.rdata[0]}${comment}`;
  // Several character-strings: one per line inside parentheses, aligned under the first.
  const indent = " ".repeat(head.length + 2);
  return [`${head}(${comment}`, ...l.rdata.map((s, i) => `${indent}${s}${i === l.rdata.length - 1 ? " )" : ""}`)].join("\n");
}

/**
 * Records whose value is known only at apply (a mail domain's DKIM TXT, from the key made on
 * the mail host), as lines the DNS server's component appends to the zone file renderZone made:
 * the same escaping, splitting and layout, owner names relative to the zone's $ORIGIN.
 */
export function renderAppendedRecords(records: ModelRecord[]): string {
  return records.map((r) => `${layoutLine(recordLine(r), 0, 0)}\n`).join("");
}

interface RecordLine {
  owner: string;
  ttl: string;
  type: string;
  /** One element, or several character-strings of one TXT record. */
  rdata: string[];
  comment: string;
}

function recordLine(r: ModelRecord): RecordLine {
  return {
    owner: zoneDomainName(r.name),
    ttl: r.ttl === undefined ? "" : String(r.ttl),
    type: r.type,
    rdata: rdata(r),
    comment: r.origin === "file" ? "" : lineComment(`derived: ${r.why ?? `from ${r.origin}`}`),
  };
}

function rdata(r: ModelRecord): string[] {
  switch (r.type) {
    case "A":
    case "AAAA":
      return [ipLiteral(r.value)];
    case "CNAME":
    case "NS":
    case "PTR":
      return [zoneDomainName(r.value)];
    case "MX":
      return [`${int(r.priority)} ${zoneDomainName(r.value)}`];
    case "SRV":
      return [`${int(r.priority)} ${int(r.weight)} ${int(r.port)} ${zoneDomainName(r.value)}`];
    case "CAA":
      return [`${int(r.flags)} ${caaTag(r.tag)} ${zoneCharacterString(Buffer.from(r.value, "utf8"))}`];
    case "SSHFP":
      return [`${int(r.algorithm)} ${int(r.fingerprint_type)} ${zoneHex(r.fingerprint)}`];
    case "TLSA":
      return [`${int(r.usage)} ${int(r.selector)} ${int(r.matching_type)} ${zoneHex(r.data)}`];
    case "TXT":
      return splitUtf8(r.value, MAX_STRING_BYTES).map(zoneCharacterString);
  }
}

/** The apex NS lines come from zone.nameservers; the same record listed again is not repeated. */
function isApexNsRepeat(zone: ZoneModel, r: ModelRecord): boolean {
  return r.type === "NS" && r.name === "@" && r.ttl === undefined && zone.nameservers.includes(r.value);
}

function int(n: number): string {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${n} is not a non-negative integer`);
  return String(n);
}

function ipLiteral(s: string): string {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) throw new RangeError(`${JSON.stringify(s)} is not an IP address`);
  return s;
}

function caaTag(s: string): string {
  if (!/^[a-z0-9]+$/i.test(s)) throw new RangeError(`${JSON.stringify(s)} is not a CAA tag`);
  return s;
}

function missing(zone: ZoneModel, what: string): never {
  throw new RangeError(`zone ${zone.name} has no ${what}`);
}

/** bind/zones/<zone>.zone */
export function zonePath(zone: ZoneModel): string {
  return `bind/zones/${zone.name}.zone`;
}
