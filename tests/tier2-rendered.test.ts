import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModel } from "../lib/check/build";
import { renderAll, renderDatabaseSql } from "../lib/render";
import type { Model } from "../lib/model/types";
import { checkHost, errorsOnly, formatProblems } from "./helpers/checkers";
import { startMariaDB, type MariaDB } from "./helpers/mariadb";
import { requireRoot, requireTools } from "./helpers/tools";

const REPO = join(__dirname, "..");

function modelOf(stack: string): Model {
  const { model, errors } = loadModel(REPO, stack);
  if (!model) throw new Error(`the repository's data has errors:\n${errors.map((e) => `${e.file}:${e.line} ${e.message}`).join("\n")}`);
  return model;
}

function renderTo(model: Model): string {
  const out = mkdtempSync(join(tmpdir(), `globenet-tier2-${model.stack}-`));
  for (const f of renderAll(model)) {
    const p = join(out, f.host, f.path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, f.content, { mode: f.mode ?? 0o644 });
  }
  return out;
}

const haveCheckers = requireTools("apache2ctl", "php-fpm8.2", "named-checkconf", "named-checkzone", "virt-xml-validate", "cloud-init") && requireRoot("the PHP-FPM check creates the pools' users");

describe.each(["prod", "lab"])("the %s stack's rendered files pass the daemons' own checkers", (stack) => {
  const model = modelOf(stack);
  const out = renderTo(model);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it("renders something for every host that has a role to play", () => {
    const hosts = readdirSync(out).sort();
    expect(hosts.length).toBeGreaterThan(0);
    const web = model.hosts.filter((h) => h.roles.includes("web")).map((h) => h.name);
    for (const w of web) expect(hosts).toContain(w);
  });

  it.skipIf(!haveCheckers).each(readdirSync(out).sort())("host %s", async (host) => {
    const problems = errorsOnly(await checkHost(join(out, host)));
    expect(formatProblems(problems)).toBe("");
  }, 120_000);
});

describe("the rendered SQL on a real MariaDB", () => {
  const model = modelOf("lab");
  const ok = requireTools("mariadbd", "mariadb", "mariadb-install-db") && requireRoot("MariaDB runs as the mysql user");
  let db: MariaDB | undefined;
  const passwords = new Map<string, string>();

  beforeAll(async () => {
    if (!ok) return;
    db = await startMariaDB();
    for (const d of model.databases) {
      const pw = randomBytes(18).toString("base64url");
      passwords.set(d.name, pw);
      const sql = renderDatabaseSql(d, pw);
      // Twice: the script must converge when run again.
      for (let i = 0; i < 2; i++) {
        const r = db.exec(sql);
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
      }
    }
  }, 120_000);
  afterAll(async () => {
    await db?.stop();
  });

  it.skipIf(!ok).each(model.databases.filter((d) => d.status === "active").map((d) => d.name))("user %s logs in to its own database and no other", (name) => {
    const mine = db!.exec("CREATE TABLE IF NOT EXISTS t (x int); INSERT INTO t VALUES (1); SELECT count(*) FROM t;", { user: name, password: passwords.get(name), database: name });
    expect(mine.stderr).toBe("");
    expect(mine.stdout.trim()).toMatch(/^\d+$/);
    const other = model.databases.find((d) => d.name !== name)!.name;
    const theirs = db!.exec("SELECT 1;", { user: name, password: passwords.get(name), database: other });
    expect(theirs.status).not.toBe(0);
    expect(theirs.stderr).toContain("Access denied");
    const wrong = db!.exec("SELECT 1;", { user: name, password: `${passwords.get(name)}x`, database: name });
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toContain("Access denied");
  });

  it.skipIf(!ok)("a suspended member's database user is locked out, its data kept", () => {
    const suspended = model.databases.filter((d) => d.status === "suspended");
    expect(suspended.length).toBeGreaterThan(0);
    for (const d of suspended) {
      const r = db!.exec("SELECT 1;", { user: d.name, password: passwords.get(d.name), database: d.name });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/locked/i);
      expect(db!.exec(`SHOW DATABASES LIKE '${d.name}';`).stdout.trim()).toBe(d.name);
    }
  });

  it.skipIf(!ok)("limits from the YAML reach the account", () => {
    for (const d of model.databases) {
      const r = db!.exec(`SELECT max_user_connections FROM mysql.user WHERE user='${d.user}' AND host='${d.clientHost}';`);
      expect(r.stdout.trim()).toBe(String(d.limits.max_user_connections));
    }
  });
});
