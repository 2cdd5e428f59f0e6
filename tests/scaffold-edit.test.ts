import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../lib/base/repo";
import { addDatabase, addMailAlias, addSite, addSiteAlias, addSshKey, removeSiteAlias, resizeVps, setMailboxPassword, suspend } from "../lib/scaffold/edit";
import { Refusal } from "../lib/scaffold/plan";

/**
 * lib/scaffold/edit.ts on every member file of the repository: each edit changes the parsed
 * data by exactly the change, and the text by only the lines of the change (the rest byte for
 * byte, comments included), whether the list exists (block or flow), is empty (`[]`) or absent.
 */
const members = readdirSync(join(REPO_ROOT, "members"), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILhL+iQEIR82xSa+H9wl0efV2wpxN5c8lA7fqFK9utZ3 benevole@atelier";

/** Lines of `after` not in `before` and the reverse (as multisets). */
function lineDiff(before: string, after: string): { added: string[]; removed: string[] } {
  const count = (t: string) => t.split("\n").reduce((m, l) => m.set(l, (m.get(l) ?? 0) + 1), new Map<string, number>());
  const [b, a] = [count(before), count(after)];
  const more = (x: Map<string, number>, y: Map<string, number>) => [...x].flatMap(([l, n]) => Array<string>(Math.max(0, n - (y.get(l) ?? 0))).fill(l));
  return { added: more(a, b), removed: more(b, a) };
}

describe("member-file edits touch only the change (every member file of the repository)", () => {
  for (const h of members) {
    const text = readFileSync(join(REPO_ROOT, "members", h, "member.yaml"), "utf8");
    const before = parse(text) as Record<string, unknown> & { status: string; sites?: { host: string; aliases?: string[] }[] };
    it(`${h}: database, SSH key, site, suspension`, () => {
      const db = addDatabase(text, "zz_portal");
      expect(parse(db)).toEqual({ ...before, databases: [...((before.databases as object[]) ?? []), { name: "zz_portal" }] });
      expect(lineDiff(text, db).removed.filter((l) => !/^databases:/.test(l))).toEqual([]);

      const key = addSshKey(text, KEY);
      expect(parse(key)).toEqual({ ...before, ssh_keys: [...((before.ssh_keys as string[]) ?? []), KEY] });
      expect(lineDiff(text, key).added.filter((l) => l.includes("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILhL"))).toHaveLength(1);

      const site = addSite(text, `blog.${h}.example`, "8.2");
      expect(parse(site)).toEqual({ ...before, sites: [...(before.sites ?? []), { host: `blog.${h}.example`, php: "8.2" }] });
      const d = lineDiff(text, site);
      expect(d.removed).toEqual([]);
      expect(d.added.length).toBeLessThanOrEqual(3);

      if (before.status === "active") {
        const s = suspend(text, "pause");
        const p = parse(s) as Record<string, unknown>;
        expect(p.status).toBe("suspended");
        expect(String(p.note).startsWith("pause")).toBe(true);
        expect({ ...p, status: before.status, note: before.note }).toEqual({ ...before, note: before.note });
      } else expect(() => suspend(text, "pause")).toThrow(Refusal);

      const first = before.sites?.[0];
      if (first) {
        const withAlias = addSiteAlias(text, first.host, `autre.${first.host}`);
        expect((parse(withAlias) as typeof before).sites?.[0]?.aliases).toEqual([...(first.aliases ?? []), `autre.${first.host}`]);
        expect(lineDiff(text, withAlias).added).toHaveLength(1);
        // And back: the file is the same text again when the alias list existed.
        const back = removeSiteAlias(withAlias, first.host, `autre.${first.host}`);
        if (first.aliases?.length) expect(back).toBe(text);
        else expect(parse(back)).toEqual(before);
      }
    });
  }

  it("a mailbox's new password: for every mailbox of every member file, only that mailbox's password_hash line changes", () => {
    const HASH = "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$bm91dmVhdXNlbDAwMDAwMA$bm91dmVhdWhhY2hhZ2UwMDAwMDAwMDAwMDAwMDAwMDAw";
    let boxes = 0;
    for (const h of members) {
      const text = readFileSync(join(REPO_ROOT, "members", h, "member.yaml"), "utf8");
      const before = parse(text) as { mail?: { domain: string; mailboxes?: { local: string; password_hash: string }[] }[] };
      for (const [di, d] of (before.mail ?? []).entries()) {
        for (const [bi, b] of (d.mailboxes ?? []).entries()) {
          const after = setMailboxPassword(text, d.domain, b.local, HASH);
          const want = structuredClone(before);
          (want.mail?.[di]?.mailboxes?.[bi] as { password_hash: string }).password_hash = HASH;
          expect(parse(after)).toEqual(want);
          const diff = lineDiff(text, after);
          expect(diff.removed, `${b.local}@${d.domain}`).toHaveLength(1);
          expect(diff.removed[0]).toContain(`password_hash: "${b.password_hash}"`);
          expect(diff.added).toEqual([diff.removed[0]?.replace(`"${b.password_hash}"`, JSON.stringify(HASH))]);
          boxes++;
        }
      }
    }
    // The repository's data has mailboxes (velo-libre's two at least): the loop above ran.
    expect(boxes).toBeGreaterThanOrEqual(2);
    const velo = readFileSync(join(REPO_ROOT, "members/velo-libre/member.yaml"), "utf8");
    // An alias is not a mailbox; a domain of someone else is not the member's.
    expect(() => setMailboxPassword(velo, "velo-libre.example", "bureau", HASH)).toThrow(/n'est pas une de vos boîtes|is not one of the member's mailboxes/);
    expect(() => setMailboxPassword(velo, "globenet.example", "contact", HASH)).toThrow(Refusal);
  });

  it("refusals: unknown domain or site, existing alias, same size, a shrinking disk", () => {
    const velo = readFileSync(join(REPO_ROOT, "members/velo-libre/member.yaml"), "utf8");
    expect(() => addMailAlias(velo, "globenet.example", "x", ["contact"])).toThrow(Refusal);
    expect(() => addSiteAlias(velo, "cine-quartier.test", "x.cine-quartier.test")).toThrow(Refusal);
    expect(() => addMailAlias(velo, "velo-libre.example", "contact", ["bureau"])).toThrow(Refusal);
    const vps = readFileSync(join(REPO_ROOT, "members/velo-libre/vps/atelier.yaml"), "utf8");
    expect(() => resizeVps(vps, { vcpus: 2, memoryMb: 2048, diskGb: 20 })).toThrow(Refusal);
    expect(() => resizeVps(vps, { vcpus: 1, memoryMb: 1024, diskGb: 10 })).toThrow(/disk only grows/);
    const grown = resizeVps(vps, { vcpus: 4, memoryMb: 4096, diskGb: 40 });
    expect(lineDiff(vps, grown)).toEqual({ added: ["vcpus: 4", "memory_mb: 4096", "disk_gb: 40"], removed: ["vcpus: 2", "memory_mb: 2048", "disk_gb: 20"] });
  });
});
