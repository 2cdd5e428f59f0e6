import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "./helpers/cli";
import { DataRepo } from "./helpers/data-repo";
import { withoutPtrWarnings } from "./helpers/ptr-warnings";

/**
 * Unit tier: what validate and new tell a volunteer about a branch: a value claimed twice is
 * blamed on the file the branch changed, a data file git does not know is pointed out (CI
 * would not see it), and new lists each error of a broken tree once.
 */
let repo: DataRepo;

/** The command in-process as the volunteer runs it (GLOBENET_LANG), with what it prints. */
async function capture(lang: "fr" | "en", argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await cli(argv, { GLOBENET_LANG: lang });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
  repo = await new DataRepo("globenet-volunteer-validate-").init();
  await repo.commit("seed", "2026-01-05T10:00:00Z", "main");
  await repo.git.raw(["checkout", "-q", "-b", "branch"]);
});
afterAll(() => repo?.remove());

describe("validate and new on a volunteer's branch", () => {
  it("an address taken twice is blamed on the file the branch changed, not on the untouched one", async () => {
    // ondes-libres sorts first, so without the base the error would land on velo-libre's untouched file.
    repo.edit("members/velo-libre/vps/atelier.yaml", "ipv4: 203.0.113.20", "ipv4: 203.0.113.21");
    const untouchedSide = await capture("en", ["validate", "--root", repo.dir, "--stack", "prod", "--base", "HEAD"]);
    expect(untouchedSide.code).toBe(1);
    expect(untouchedSide.err).toMatch(/^members\/velo-libre\/vps\/atelier\.yaml:\d+:\d+ ipv4: 203\.0\.113\.21 is already used by members\/ondes-libres\/vps\/stream\.yaml:\d+ ipv4 \(each address is used once\)$/m);
    await repo.git.raw(["checkout", "--", "members/velo-libre/vps/atelier.yaml"]);

    repo.edit("members/ondes-libres/vps/stream.yaml", "ipv4: 203.0.113.21", "ipv4: 203.0.113.20");
    const r = await capture("fr", ["validate", "--root", repo.dir, "--stack", "prod"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^members\/ondes-libres\/vps\/stream\.yaml:\d+:\d+ ipv4: 203\.0\.113\.20 est déjà utilisée en members\/velo-libre\/vps\/atelier\.yaml:\d+ ipv4 \(chaque adresse ne sert qu'une fois\)$/m);
    expect(r.err).not.toMatch(/^members\/velo-libre\/vps\/atelier\.yaml/m);
    await repo.git.raw(["checkout", "--", "members/ondes-libres/vps/stream.yaml"]);
  });

  it("a data file git does not know is pointed out: CI would not see it", async () => {
    repo.write("zones/nouvelle.example.yaml", "owner: velo-libre\nrecords: []\n");
    const fr = await capture("fr", ["validate", "--root", repo.dir]);
    expect(fr.code).toBe(0);
    expect(withoutPtrWarnings(fr.err)).toBe("attention : zones/nouvelle.example.yaml n'est pas suivi par git : la CI ne le verra pas (git add zones/nouvelle.example.yaml)\n");
    const en = await capture("en", ["validate", "--root", repo.dir]);
    expect(withoutPtrWarnings(en.err)).toBe("warning: zones/nouvelle.example.yaml is not tracked by git, so CI will not see it (git add zones/nouvelle.example.yaml)\n");
  });

  it("git add silences it", async () => {
    await repo.git.add(["zones/nouvelle.example.yaml"]);
    expect(withoutPtrWarnings((await capture("en", ["validate", "--root", repo.dir])).err)).toBe("");
  });

  it("new refuses in French, and says what to fill in in French", async () => {
    const taken = await capture("fr", ["new", "member", "velo-libre", "--root", repo.dir]);
    expect([taken.code, taken.err]).toEqual([1, "erreur : members/velo-libre/ existe déjà : l'identifiant « velo-libre » est pris (un identifiant n'est jamais réutilisé, même après le départ de son membre ; choisissez-en un autre)\n"]);
    const bad = await capture("fr", ["new", "member", "Velo", "--root", repo.dir]);
    expect(bad.err).toMatch(/^erreur : l'identifiant « Velo » (contient|doit)/);
    const ok = await capture("fr", ["new", "zone", "nouvelle-zone.example", "--owner", "velo-libre", "--dry-run", "--root", repo.dir]);
    expect(ok.code).toBe(0);
    expect(ok.err).toContain("(essai à blanc : rien n'est écrit ; ce serait zones/nouvelle-zone.example.yaml)\n  à compléter : records");
  });

  it("new on a tree with an error lists each error once, in French", async () => {
    repo.edit("members/velo-libre/member.yaml", "status: active", "status: actif");
    const r = await capture("fr", ["new", "member", "nouvelle-asso", "--root", repo.dir]);
    expect(r.code).toBe(1);
    const lines = r.err.trimEnd().split("\n");
    expect(lines.filter((l) => l.startsWith("members/velo-libre/member.yaml"))).toEqual([expect.stringMatching(/^members\/velo-libre\/member\.yaml:\d+:\d+ status: doit être "active", "suspended" ou "departed"$/)]);
    expect(new Set(lines).size).toBe(lines.length);
  });
});
