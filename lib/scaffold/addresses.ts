import ipaddr from "ipaddr.js";

/** A VPS address pool as written in Pulumi.<stack>.yaml. */
export interface Pool {
  cidr: string;
  gateway: string;
}

export type Family = "ipv4" | "ipv6";

const BITS: Record<Family, number> = { ipv4: 32, ipv6: 128 };

export function toBig(address: string): bigint {
  let n = 0n;
  for (const b of ipaddr.parse(address).toByteArray()) n = (n << 8n) | BigInt(b);
  return n;
}

/** The address as the schema wants it: dotted IPv4, canonical short IPv6 (ipaddr's toString). */
export function fromBig(n: bigint, family: Family): string {
  const bytes: number[] = [];
  for (let i = 0; i < BITS[family] / 8; i++) {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  return ipaddr.fromByteArray(bytes).toString();
}

function familyOf(address: string): Family | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(address)) return "ipv4";
  if (ipaddr.IPv6.isValid(address)) return "ipv6";
  return undefined;
}

/** First and last address of a pool, as numbers. */
export function poolRange(pool: Pool): { family: Family; first: bigint; last: bigint; prefixLength: number } {
  const [addr, len] = ipaddr.parseCIDR(pool.cidr);
  const family: Family = addr.kind() === "ipv4" ? "ipv4" : "ipv6";
  const bits = BITS[family];
  const first = toBig(addr.toString()) & ~((1n << BigInt(bits - len)) - 1n);
  return { family, first, last: first + (1n << BigInt(bits - len)) - 1n, prefixLength: len };
}

/**
 * Why a guest may not take `address` in `pool` (the same rules as validate, lib/check/vps.ts):
 * the gateway, an IPv4 network or broadcast address (prefixes shorter than /31), the IPv6
 * subnet-router anycast (the network address). Undefined when the address is fine.
 */
export function reservedInPool(address: string, pool: Pool): string | undefined {
  const { family, first, last, prefixLength } = poolRange(pool);
  const a = toBig(address);
  if (a === toBig(pool.gateway)) return "the gateway";
  if (family === "ipv4" && prefixLength < 31 && (a === first || a === last)) return a === first ? "the network address" : "the broadcast address";
  if (family === "ipv6" && a === first) return "the subnet-router anycast address";
  return undefined;
}

function inPool(a: bigint, pool: Pool): boolean {
  const r = poolRange(pool);
  return a >= r.first && a <= r.last;
}

/**
 * The next free address of a family for a new VPS.
 *
 * `poolsByStack` holds each stack's pools of that family, the reference stack (prod) first:
 * validate checks the VPS file against every stack, so the address must sit in a pool of each
 * (the first pool that contains it, as validate picks) without being that pool's gateway,
 * network or broadcast address. `used` holds the addresses of every VPS and host in any stack.
 *
 * "Next" means what volunteers do by hand: in each pool of the reference stack, in order, the
 * first usable address after the highest one in use; when the pool's end is reached, the
 * lowest free one (a hole left by a removed VPS). Undefined when every pool is full.
 */
export function nextFreeAddress(family: Family, poolsByStack: Pool[][], used: Iterable<string>): string | undefined {
  const taken = new Set<bigint>();
  for (const u of used) if (familyOf(u) === family) taken.add(toBig(u));
  const [reference = [], ...others] = poolsByStack;
  const usable = (a: bigint): boolean => {
    if (taken.has(a)) return false;
    const text = fromBig(a, family);
    return [reference, ...others].every((pools) => {
      const p = pools.find((q) => inPool(a, q));
      return p !== undefined && reservedInPool(text, p) === undefined;
    });
  };
  // Enough steps to get past every used address and a few reserved ones; bounded for /64s.
  const budget = BigInt(taken.size + 4096);
  const scan = (from: bigint, to: bigint): bigint | undefined => {
    let steps = 0n;
    for (let a = from; a <= to && steps < budget; a++, steps++) if (usable(a)) return a;
    return undefined;
  };
  for (const pool of reference) {
    if (poolRange(pool).family !== family) continue;
    const { first, last } = poolRange(pool);
    const gw = toBig(pool.gateway);
    let highest: bigint | undefined;
    for (const t of taken) if (t >= first && t <= last && t !== gw && (highest === undefined || t > highest)) highest = t;
    const found = (highest !== undefined ? scan(highest + 1n, last) : undefined) ?? scan(first, last);
    if (found !== undefined) return fromBig(found, family);
  }
  return undefined;
}
