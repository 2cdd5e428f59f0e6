import { spawnSync } from "node:child_process";
import { copyFileSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { planNote } from "../lib/ci/note";
import { cli } from "./helpers/cli";
import { formatText, renderedDiff } from "../lib/diff";
import { describeAllowances } from "../lib/guard/allowances";
import { formatOfflineGuard, offlineGuard } from "../lib/diff/offline-guard";
import type { Plan, PlanStep } from "../lib/guard/plan";
import { formatVerdict, judge } from "../lib/guard/rules";
import { DataRepo } from "./helpers/data-repo";
import { withoutPtrWarnings } from "./helpers/ptr-warnings";

/**
 * Unit tier (no root, no daemon, no engine): a volunteer's branch, from the example data, that
 * adds a member, a zone and a VPS (npm run new), then suspends a member who has a VPS and
 * records another's departure. `validate`, `diff` and the offline guard, in French, tell what
 * the merge request note will tell, and the guard asks for the Allow-Destroy lines the rules
 * ask of the engine's plan. Nothing here may load the engine.
 */
const REPO = resolve(__dirname, "..");
const TSX = join(REPO, "node_modules", ".bin", "tsx");

let repo: DataRepo;
let base: string;
/** What the volunteer read in French, kept for the comparison with the note. */
const read: { guard?: string; diff?: string } = {};

/** Runs a command in-process as the volunteer would (GLOBENET_LANG), capturing what it prints. */
async function run(lang: "fr" | "en", command: string, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await cli([command, ...argv], { GLOBENET_LANG: lang });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
  repo = await new DataRepo("globenet-volunteer-").init();
  copyFileSync(join(REPO, ".gitlab-ci.yml"), repo.path(".gitlab-ci.yml"));
  base = await repo.commit("seed", "2026-01-05T10:00:00Z", "The data as it is on main");
  await repo.git.raw(["checkout", "-q", "-b", "nouvelle-asso"]);

  // 1. A new member, its zone and its VPS, as the guide says: npm run new.
  const root = ["--root", repo.dir];
  for (const argv of [
    ["member", "nouvelle-asso", "--name", "Nouvelle Asso", "--email", "bureau@nouvelle-asso.example", "--ssh-key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK+tBZeYUZ4D98ehwVRHgYI6hfIPcJsByHLI3gzNJUtK bureau@nouvelle"],
    ["zone", "nouvelle-asso.example", "--owner", "nouvelle-asso"],
    ["vps", "nouvelle-asso", "radio"],
  ]) {
    const r = await run("fr", "new", [...argv, ...root]);
    expect(r.code, r.err).toBe(0);
  }
  await repo.commit("alice", "2026-01-06T10:00:00Z", "nouvelle-asso: member, zone and VPS");

  // 2. ondes-libres is suspended (unpaid dues): its VPS stream is shut off.
  repo.edit("members/ondes-libres/member.yaml", "status: active", "status: suspended");
  await repo.commit("alice", "2026-01-07T10:00:00Z", "ondes-libres: suspended");

  // 3. velo-libre leaves, as members/README.md says: no sites, databases, keys, VPS or zone.
  const m = "members/velo-libre/member.yaml";
  const text = repo.read(m);
  repo.write(m, `${text.slice(0, text.indexOf("status:"))}status: departed\nnote: "Left on 2026-01-08; archives kept a year."\n`);
  rmSync(repo.path("members/velo-libre/vps"), { recursive: true });
  rmSync(repo.path("zones/velo-libre.example.yaml"));
  await repo.commit("alice", "2026-01-08T10:00:00Z", "velo-libre: departed");
});

afterAll(() => repo?.remove());

describe("a volunteer's branch: member, zone and VPS added, a suspension, a departure", () => {
  it("validate passes and says so in French, against every stack", async () => {
    const r = await run("fr", "validate", ["--root", repo.dir]);
    expect(withoutPtrWarnings(r.err)).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ok {2}lab : \d+ membres, \d+ sites, \d+ bases de données, \d+ VPS, \d+ zones$/m);
    expect(r.out).toMatch(/^ok {2}prod : \d+ membres/m);
    expect(r.out).toMatch(/^validé en /m);
  });

  it("the offline guard blocks, in French, asking for the lines the rules ask of an engine's plan", async () => {
    const r = await run("fr", "guard", ["--root", repo.dir]);
    read.guard = r.out;
    expect(r.code).toBe(1);
    const lines = r.out.split("\n");
    // CI's stack and CI's base, named.
    expect(lines[0]).toBe(`garde-fou hors ligne, pile prod : merge-base of HEAD and main (${base.slice(0, 12)}) → l'arbre de travail (d'après les données seules, sans le moteur)`);
    expect(r.out).toContain("  members/nouvelle-asso : nouveau membre\n");
    expect(r.out).toContain("  members/nouvelle-asso/vps/radio : nouveau VPS sur hv1");
    expect(r.out).toContain("  members/ondes-libres : suspendu : ");
    expect(r.out).toContain("  members/ondes-libres/vps/stream : VPS éteint (le membre est suspendu ; son disque est conservé)\n");
    expect(r.out).toContain("  members/velo-libre : quitte Globenet (status: departed)");
    expect(r.out).toContain("  zones/nouvelle-asso.example : nouvelle zone\n");
    expect(r.out).toContain("  zones/velo-libre.example : n'est plus servie par nos serveurs de noms\n");
    expect(r.out).toContain("garde-fou : BLOQUÉ");
    expect(r.out).toContain("le compte d'hébergement velo-libre (son dossier personnel et ses sites) serait supprimé sur web1");
    expect(r.out).toContain("la base de données velo_wp serait supprimée sur");
    expect(r.out).toContain("le VPS atelier (et son disque) serait supprimé sur hv1");
    expect(r.out).toContain("le courrier de velo-libre.example (le maildir de chaque boîte) serait supprimé sur mail1");
    expect([...r.out.matchAll(/^ {2}Allow-Destroy: (.+)$/gm)].map((x) => x[1])).toEqual(["members/velo-libre"]);

    // The same departure as the engine announces it (steps named and shaped as in a real
    // preview: tests/guard-engine.test.ts): the rules ask for exactly the same lines.
    const g = await offlineGuard({ root: repo.dir, stack: "prod", base: { ref: base } });
    const t = (name: string) => ({ name, address: "192.0.2.10", port: 22, user: "globenet-deploy", hostKey: "k" });
    const step = (op: string, type: string, name: string, old?: Record<string, unknown>): PlanStep => ({ op, type, name, urn: `urn:pulumi:prod::globenet-infra::globenet:member:Member$${type}::${name}`, old });
    const archiveDir = g.plan.steps.find((s) => s.old?.archiveDir)?.old?.archiveDir;
    const engine: Plan = {
      stack: "prod",
      steps: [
        ...g.plan.steps.filter((s) => s.type === "globenet:member:Member" && s.name !== "velo-libre"),
        step("delete", "globenet:member:Member", "velo-libre"),
        step("delete", "globenet:hosting:Account", "velo-libre", { handle: "velo-libre", target: t("web1"), archiveDir }),
        step("delete", "globenet:db:Database", "velo_wp", { handle: "velo-libre", name: "velo_wp", target: t("db1"), archiveDir }),
        step("delete", "globenet:vm:Guest", "velo-libre--atelier", { domain: "velo-libre--atelier", target: t("hv1"), archiveDir }),
        step("delete", "globenet:mail:Maildirs", "mail1-maildirs-velo-libre.example", { handle: "velo-libre", domain: "velo-libre.example", target: t("mail1"), archiveDir }),
      ],
    };
    const fromEngine = judge(engine, { maxShare: 0.1, allowances: [] });
    expect(g.verdict.needed).toEqual(fromEngine.needed);
    expect(g.verdict.losses.map((l) => l.path).sort()).toEqual(fromEngine.losses.map((l) => l.path).sort());
  });

  it("diff shows, in French, the VPS shut off by the suspension and the departure, then the files", async () => {
    const r = await run("fr", "diff", ["--root", repo.dir]);
    read.diff = r.out;
    expect(r.code, r.err).toBe(0);
    expect(r.out.split("\n")[0]).toBe(`diff des fichiers générés, pile prod : merge-base of HEAD and main (${base.slice(0, 12)}) → HEAD (${(await repo.head()).slice(0, 12)})`);
    expect(r.out).toContain("ce qui change pour les membres au-delà des fichiers (d'après les données) :\n");
    expect(r.out).toContain("  members/ondes-libres/vps/stream : VPS éteint (le membre est suspendu ; son disque est conservé)\n");
    expect(r.out).toMatch(/^### retiré: libvirt\/velo-libre--atelier\.xml$/m);
    expect(r.out).toMatch(/^### ajouté: libvirt\/nouvelle-asso--radio\.xml$/m);
  });

  it("what CI's note shows is what the volunteer read, language aside", async () => {
    const head = await repo.head();
    // The note as mr-plans writes it (lib/ci/mr-plans.ts), over this branch's data: its diff and
    // guard blocks are the English of what the commands printed in French above.
    const d = await renderedDiff({ root: repo.dir, stack: "prod", base, head });
    const diffEn = formatText("prod", { label: "main", commit: base }, { label: "!1 merged", commit: head }, d.changes, d.diffs, d.effects);
    const g = await offlineGuard({ root: repo.dir, stack: "prod", base: { ref: base } });
    const guardEn = `${formatVerdict(g.verdict)}\n\n${describeAllowances(g.fromCommits)}`;
    const note = planNote({ stack: "prod", planned: { head, target: base }, targetBranch: "main", plan: g.plan, diff: diffEn, guard: guardEn, guardOk: g.verdict.ok, notPreviewed: [] });

    const guardFr = read.guard ?? (await run("fr", "guard", ["--root", repo.dir])).out;
    const guardEnOut = (await run("en", "guard", ["--root", repo.dir])).out;
    const diffFr = read.diff ?? (await run("fr", "diff", ["--root", repo.dir])).out;
    const diffEnOut = (await run("en", "diff", ["--root", repo.dir])).out;

    // English: the guard's verdict block and the diff's body are the note's, character for character.
    expect(note).toContain(guardEnOut.slice(guardEnOut.indexOf("guard: ")).trimEnd());
    expect(note).toContain(diffEnOut.slice(diffEnOut.indexOf("\n") + 1).trimEnd());
    expect(note).toContain("  members/ondes-libres/vps/stream: VPS shut off (the member is suspended; its disk is kept)\n");
    // French: the same Allow-Destroy lines, the same things in the same order, the same file diffs.
    const allow = (s: string) => [...s.matchAll(/^ {2}Allow-Destroy: .+$/gm)].map((x) => x[0]);
    expect(allow(guardFr)).toEqual(allow(note));
    const paths = (s: string) => [...s.matchAll(/^ {2}((?:members|zones)\/[^\s:]+) ?:/gm)].map((x) => x[1]);
    expect(paths(diffFr)).toEqual(paths(diffEnOut));
    expect(paths(guardFr)).toEqual(paths(guardEnOut));
    const hunks = (s: string) => s.split("\n").filter((l) => /^([+\- @]|---|\+\+\+)/.test(l) && !/^ {2}/.test(l));
    expect(hunks(diffFr)).toEqual(hunks(note.slice(note.indexOf("```diff"))).slice(0, hunks(diffFr).length));
  });

  it("needs no engine: nothing validate, diff or guard import reaches lib/engine or the Pulumi SDK, and the command runs with no pulumi on PATH", () => {
    const seen = new Set<string>();
    const reached: string[] = [];
    const walk = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, "utf8");
      // Static imports only: the engine's driver is require()d inside `guard --engine` alone.
      for (const m of text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+"([^"]+)";/gms)) {
        const spec = m[1] as string;
        if (spec.startsWith("@pulumi/")) reached.push(`${file} → ${spec}`);
        if (!spec.startsWith(".")) continue;
        const next = resolve(dirname(file), spec);
        if (next.includes(`${join("lib", "engine")}`)) reached.push(`${file} → ${spec}`);
        for (const candidate of [`${next}.ts`, join(next, "index.ts")]) {
          try {
            readFileSync(candidate);
            walk(candidate);
            break;
          } catch {
            // not this one
          }
        }
      }
    };
    for (const cmd of ["validate", "diff", "guard", "new"]) walk(join(REPO, "lib", "cli", `${cmd}.ts`));
    expect(seen.size).toBeGreaterThan(20);
    expect(reached).toEqual([]);

    // And the real command, in a process whose PATH has git, diff and node but no pulumi.
    const path = [dirname(process.execPath), "/usr/bin", "/bin"].join(":");
    expect(spawnSync("sh", ["-c", "command -v pulumi"], { env: { PATH: path } }).status).not.toBe(0);
    const r = spawnSync(TSX, [join(REPO, "lib", "cli", "main.ts"), "guard", "--root", repo.dir], { encoding: "utf8", env: { PATH: path, HOME: repo.dir, GLOBENET_LANG: "fr" } });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("  Allow-Destroy: members/velo-libre\n");
  });

  it("once the departure is allowed in a commit, the guard lets it through and says which commit", async () => {
    await repo.git.env({ PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", GIT_AUTHOR_NAME: "Alice", GIT_AUTHOR_EMAIL: "a@globenet.example", GIT_COMMITTER_NAME: "Alice", GIT_COMMITTER_EMAIL: "a@globenet.example" }).raw(["commit", "-q", "--allow-empty", "-m", "velo-libre leaves: archive and delete\n\nAllow-Destroy: members/velo-libre"]);
    const r = await run("fr", "guard", ["--root", repo.dir]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("garde-fou : OK — chaque suppression est autorisée explicitement :");
    expect(r.out).toMatch(/^ {2}autorisé {2}members\/velo-libre : le compte d'hébergement velo-libre/m);
    expect(r.out).toMatch(/^ {2}[0-9a-f]{12} velo-libre leaves: archive and delete: members\/velo-libre$/m);
    const g = await offlineGuard({ root: repo.dir, stack: "prod", base: { ref: base } });
    expect(formatOfflineGuard(g, "en")).toContain("guard: OK — every destructive change is allowed explicitly:");
  });
});
