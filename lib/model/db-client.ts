/**
 * Where a member's PHP reaches its database from: the host part of the MariaDB account.
 *
 * One machine for both (same address): "localhost", the unix socket. Otherwise the web host's
 * address of the db host's address family, because the credentials file names the db host's
 * `address` (provider/resources/database.ts, cnfText) and so the connection leaves the web
 * host from its address of that family. One account per database, so one address: the web
 * host's `address` when it is of that family (the machines' own network, where CI reaches
 * them too), else its `ipv4`/`ipv6`. A grant for both families would be a second account
 * that no connection uses.
 */
export interface DbClientHosts {
  address: string;
  ipv4?: string;
  ipv6?: string;
}

const isV6 = (a: string) => a.includes(":");

/** The account's host part, or undefined when the web host has no address of the db host's family. */
export function dbClientHost(web: DbClientHosts, db: DbClientHosts): string | undefined {
  if (web.address === db.address) return "localhost";
  const v6 = isV6(db.address);
  if (isV6(web.address) === v6) return web.address;
  return v6 ? web.ipv6 : web.ipv4;
}
