// Unit tier: a member's slow queries, from the slow log's lines to the table.
import { describe, expect, it } from "vitest";
import { formatSlowQueries, normalizeQuery, parseSlowLog, slowGroups } from "../lib/status/slow-queries";

const hex = (s: string) => Buffer.from(s).toString("hex").toUpperCase();
const line = (user: string, secs: string, db: string, sql: string) => [hex(`${user}[${user}] @ localhost []`), secs, hex(db), hex(sql)].join("\t");

describe("normalizing a query", () => {
  it.each([
    ["SELECT * FROM wp_posts WHERE ID = 42", "SELECT * FROM wp_posts WHERE ID = ?"],
    ["SELECT * FROM t WHERE name = 'O''Brien' AND x = \"a\\\"b\"", "SELECT * FROM t WHERE name = ? AND x = ?"],
    ["SELECT * FROM t WHERE id IN (1, 2,3 ,  4)", "SELECT * FROM t WHERE id IN (?+)"],
    ["SELECT   SLEEP(1.5)\n  FROM dual", "SELECT SLEEP(?) FROM dual"],
    ["SELECT col2, t1.x FROM t1 WHERE v = -3.25 AND h = 0xFF", "SELECT col2, t1.x FROM t1 WHERE v = ? AND h = ?"],
  ])("%j → %j", (sql, shape) => expect(normalizeQuery(sql)).toBe(shape));
});

describe("the member's groups", () => {
  const out = [
    line("velo_wp", "2.500000", "velo_wp", "SELECT * FROM wp_posts WHERE ID = 1"),
    line("velo_wp", "4.000000", "velo_wp", "SELECT * FROM wp_posts WHERE ID = 2"),
    line("velo_wp", "1.200000", "velo_wp", "SELECT SLEEP(1.2)"),
    line("ondes_db", "9.000000", "ondes_db", "SELECT * FROM secrets WHERE 1"),
    line("root", "30.000000", "", "OPTIMIZE TABLE velo_wp.wp_posts"),
    "not a line",
    [hex("x"), "abc", "", ""].join("\t"),
  ].join("\n");

  it("keeps the member's own database users only, groups by shape, costliest first", () => {
    const groups = slowGroups(parseSlowLog(out), new Set(["velo_wp"]));
    expect(groups).toEqual([
      { query: "SELECT * FROM wp_posts WHERE ID = ?", db: "velo_wp", count: 2, totalSeconds: 6.5, maxSeconds: 4 },
      { query: "SELECT SLEEP(?)", db: "velo_wp", count: 1, totalSeconds: 1.2, maxSeconds: 1.2 },
    ]);
    expect(JSON.stringify(groups)).not.toContain("secrets");
  });

  it("prints a table, or says there is nothing over the threshold (English and French)", () => {
    const groups = slowGroups(parseSlowLog(out), new Set(["velo_wp"]));
    expect(formatSlowQueries("velo-libre", groups, 2).split("\n")[1]).toMatch(/^2 +6\.5 s +4\.0 s +velo_wp +SELECT \* FROM wp_posts WHERE ID = \?$/);
    expect(formatSlowQueries("velo-libre", [], 2)).toBe("velo-libre: no query over 2 s in the log");
    expect(formatSlowQueries("velo-libre", [], 2, "fr")).toBe("velo-libre : aucune requête de plus de 2 s dans le journal");
  });
});
