import { describe, expect, it } from "vitest";
import { loadModel } from "../lib/check/build";
import { dbClientHost } from "../lib/model/db-client";
import { listeningProblem } from "../provider/resources/database";
import { baseFiles, errorsOf, HOST_KEY, writeTree } from "./helpers/data-tree";

/*
 * Unit tier: a database on its own host (docs/architecture.md, "Databases on their own
 * host"): the account's host part the model derives, and what the provider accepts as the
 * server's listening address. The real thing: tests/db-remote.test.ts.
 */

describe("dbClientHost: the MariaDB account's host part", () => {
  it.each([
    ["one machine", { address: "192.0.2.10" }, { address: "192.0.2.10" }, "localhost"],
    ["IPv4 db, web's address", { address: "192.0.2.10", ipv6: "2001:db8::10" }, { address: "192.0.2.11" }, "192.0.2.10"],
    ["IPv6 db, web's address is IPv4: its ipv6", { address: "192.0.2.10", ipv6: "2001:db8::10" }, { address: "2001:db8::11" }, "2001:db8::10"],
    ["IPv4 db, web's address is IPv6: its ipv4", { address: "2001:db8::10", ipv4: "192.0.2.10" }, { address: "192.0.2.11" }, "192.0.2.10"],
    ["web's own address wins over its public ipv4", { address: "10.0.0.10", ipv4: "192.0.2.10" }, { address: "10.0.0.11" }, "10.0.0.10"],
    ["IPv6 db, web has no IPv6", { address: "192.0.2.10" }, { address: "2001:db8::11" }, undefined],
  ])("%s", (_what, web, db, want) => {
    expect(dbClientHost(web, db)).toBe(want);
  });
});

const DB1 = `      db1:
        roles: [db]
        fqdn: db1.globenet.example
        address: 192.0.2.11
        ssh: { user: globenet-deploy, host_key: "${HOST_KEY}" }
`;
const INV = (baseFiles()["Pulumi.test.yaml"] as string).replace("roles: [web, db]", "roles: [web]");

describe("the model's databases on a db host of their own", () => {
  it("grants by the web host's address; the database's host is db1", () => {
    const { model, errors } = loadModel(writeTree({ "Pulumi.test.yaml": INV + DB1 }), "test");
    expect(errors.map((e) => e.message)).toEqual([]);
    expect(model?.databases.map((d) => [d.name, d.dbHost, d.webHost, d.clientHost])).toEqual([["velo_wp", "db1", "web1", "192.0.2.10"]]);
  });

  it("web and db on one host: the socket (localhost)", () => {
    const { model } = loadModel(writeTree({}), "test");
    expect(model?.databases.map((d) => d.clientHost)).toEqual(["localhost"]);
  });

  it("an IPv6-only db host and a web host without IPv6 is an error naming the web host's entry", () => {
    const inv = INV.replace("        ipv6: 2001:db8:1::10\n", "") + DB1.replace("address: 192.0.2.11", 'address: "2001:db8::11"');
    expect(errorsOf({ "Pulumi.test.yaml": inv })).toEqual([
      "Pulumi.test.yaml:15:9 config[\"globenet-infra:inventory\"].hosts.web1: web host web1 has no IPv6 address, and the database host db1 is reached at 2001:db8::11 (give web1 an address of that family, or move the databases of velo-libre with db_host)",
    ]);
  });
});

describe("listeningProblem: where the db host's MariaDB must listen", () => {
  const A = "192.0.2.11";
  it.each([
    ["exactly the address", "0", A, "3306", undefined],
    ["the address and loopback", "0", `127.0.0.1,${A}`, "3306", undefined],
    ["skip-networking", "1", "", "3306", "MariaDB there has skip-networking (no TCP), so the web host cannot reach it"],
    ["Debian's default", "0", "127.0.0.1", "3306", `MariaDB there listens on 127.0.0.1, not on ${A} where the member's credentials file sends PHP`],
    ["every address", "0", "0.0.0.0", "3306", 'MariaDB there listens on every address (bind-address "0.0.0.0"), not only on 192.0.2.11 as the inventory says'],
    ["unset", "0", "", "3306", 'MariaDB there listens on every address (bind-address ""), not only on 192.0.2.11 as the inventory says'],
    ["another address too", "0", `${A},198.51.100.7`, "3306", "MariaDB there also listens on 198.51.100.7, which the inventory does not give this host"],
    ["another port", "0", A, "3307", "MariaDB there listens on port 3307, and the credentials file names none, so the client uses 3306"],
  ])("%s", (_what, skip, bind, port, want) => {
    const p = listeningProblem(A, skip, bind, port);
    if (want === undefined) expect(p).toBeUndefined();
    else expect(p).toBe(`${want} (set bind-address = ${A} and port = 3306 under [mysqld] in /etc/mysql/mariadb.conf.d/50-server.cnf on the database host and restart MariaDB; see docs/architecture.md, "Databases on their own host")`);
  });
});
