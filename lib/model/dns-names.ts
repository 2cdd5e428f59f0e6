import ipaddr from "ipaddr.js";

/**
 * The served zone holding `name`: the longest zone name that is `name` or a suffix of it.
 * Walks up the labels, so the cost is the name's depth, not the number of zones.
 */
export function zoneFor(name: string, zones: ReadonlySet<string>): string | undefined {
  let n = name;
  for (;;) {
    if (zones.has(n)) return n;
    const dot = n.indexOf(".");
    if (dot < 0) return undefined;
    n = n.slice(dot + 1);
  }
}

/** `name` relative to `zone`: "@" for the apex. */
export function relativeName(name: string, zone: string): string {
  return name === zone ? "@" : name.slice(0, name.length - zone.length - 1);
}

export function absoluteName(rel: string, zone: string): string {
  return rel === "@" ? zone : `${rel}.${zone}`;
}

/** The reverse-DNS name of an address: 20.113.0.203.in-addr.arpa or the ip6.arpa nibbles. */
export function ptrName(address: string): string {
  const a = ipaddr.parse(address);
  if (a.kind() === "ipv4") return `${(a as ipaddr.IPv4).octets.slice().reverse().join(".")}.in-addr.arpa`;
  const nibbles = (a as ipaddr.IPv6).toByteArray().flatMap((b) => [b >> 4, b & 15]).map((n) => n.toString(16));
  return `${nibbles.reverse().join(".")}.ip6.arpa`;
}
