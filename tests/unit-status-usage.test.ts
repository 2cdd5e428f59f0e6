// Unit tier: what npm run status -- usage makes of the hosts' answers (parse, rows, table).
import { describe, expect, it } from "vitest";
import { formatUsage, inodePercent, mailDomainDir, parseDbSizes, parseHomes, quotaPercent, usageRows } from "../lib/status/usage";
import { makeModel } from "./fixtures/model";

const hex = (s: string) => Buffer.from(s).toString("hex").toUpperCase();

describe("parsing the hosts' answers", () => {
  it("homes: bytes and inodes, missing ones, and nothing from a line that is not one", () => {
    const m = parseHomes("home /home/a 4096 3\nhome /home/b missing\nhome /home/c x 1\nnoise\nhome /home/d 10\n");
    expect([...m.entries()]).toEqual([["/home/a", { bytes: 4096, inodes: 3 }], ["/home/b", "missing"]]);
  });
  it("database sizes come as hex names, so a name with a tab or a line break stays one name", () => {
    const m = parseDbSizes(`db ${hex("velo_wp")} 16384\ndb ${hex("odd\tname\n")} 1\ndb zz 5\ndb ${hex("x")} -1\n`);
    expect([...m.entries()]).toEqual([["velo_wp", 16384], ["odd\tname\n", 1]]);
  });
});

describe("rows and the table", () => {
  const model = makeModel();
  const velo = model.members.find((m) => m.handle === "velo-libre")!;
  const dbs = model.databases.filter((d) => d.handle === "velo-libre");
  const sizes = new Map([[dbs[0]!.dbHost, new Map(dbs.map((d) => [d.name, 1_048_576]))]]);

  const table: [string, number, number | undefined, boolean][] = [
    ["a home well within its quota", 100 * 1024 * 1024, 4, false],
    ["a home at 95 % of its quota", Math.ceil(velo.diskQuotaMb * 1024 * 1024 * 0.95), 95, true],
  ];
  it.each(table)("%s", (_what, bytes, pct, flagged) => {
    const homes = new Map([[velo.webHost!, parseHomes(`home ${velo.home} ${bytes} 42\n`)]]);
    const rows = usageRows(model, homes, sizes);
    const r = rows.find((x) => x.handle === "velo-libre")!;
    expect(r).toMatchObject({ homeBytes: bytes, homeInodes: 42, quotaMb: velo.diskQuotaMb, inodeQuota: velo.inodeQuota, homeMissing: false });
    expect(r.databases.every((d) => d.bytes === 1_048_576)).toBe(true);
    expect(quotaPercent(r)).toBe(pct);
    const out = formatUsage(rows, "en");
    expect(out.split("\n")[0]).toMatch(/^member +host +disk +quota +% +inodes +databases +mail$/);
    expect(out).toContain(flagged ? "1 member(s) at 90 % or more of their quota (velo-libre): tell them, or raise disk_quota_mb (disk) or inode_quota (inodes) in their file" : "every member is below 90 % of its quota");
    // The inode count beside the member's inode quota.
    expect(out).toMatch(new RegExp(`^velo-libre +web1 +\\S+ \\S+ +${velo.diskQuotaMb} MiB +\\d+( !)? +42 / ${velo.inodeQuota} +velo_wp`, "m"));
    expect(formatUsage(rows, "fr").split("\n")[0]).toMatch(/^adhérent +hôte +disque/);
  });

  const inodes: [string, number, number, boolean][] = [
    ["well within its inode quota", 1_000, 0, false],
    ["at 89 % of its inode quota", Math.floor(velo.inodeQuota * 0.89), 89, false],
    ["at 90 % of its inode quota", Math.ceil(velo.inodeQuota * 0.9), 90, true],
    ["over its inode quota (a limit not enforced)", velo.inodeQuota + 5, 100, true],
  ];
  it.each(inodes)("a home %s: shown beside the count, flagged from 90 %, in English and French", (_what, count, pct, flagged) => {
    const rows = usageRows(model, new Map([[velo.webHost!, parseHomes(`home ${velo.home} 4096 ${count} off\n`)]]), sizes);
    const r = rows.find((x) => x.handle === "velo-libre")!;
    expect(inodePercent(r)).toBe(pct);
    // The disk is at 0 %: only the inodes can flag it.
    expect(quotaPercent(r)).toBe(0);
    const en = formatUsage(rows, "en");
    expect(en).toMatch(new RegExp(`^velo-libre .* ${count} / ${velo.inodeQuota}${flagged ? " !" : ""} +velo_wp`, "m"));
    expect(en).toContain(flagged ? "1 member(s) at 90 % or more of their quota (velo-libre): tell them, or raise disk_quota_mb (disk) or inode_quota (inodes) in their file" : "every member is below 90 % of its quota");
    expect(formatUsage(rows, "fr")).toContain(flagged ? "1 adhérent(s) à 90 % ou plus de leur quota (velo-libre) : prévenez-les, ou relevez disk_quota_mb (disque) ou inode_quota (inodes) dans leur fichier" : "chaque adhérent est sous 90 % de son quota");
  });

  it("a quota the kernel does not enforce is said in the row and under the table, in English and French; an enforced one is not", () => {
    expect([...parseHomes(`home /home/a 4096 3 off\nhome /home/b 8192 4 on\n`).entries()]).toEqual([
      ["/home/a", { bytes: 4096, inodes: 3, quota: false }],
      ["/home/b", { bytes: 8192, inodes: 4, quota: true }],
    ]);
    const off = usageRows(model, new Map([[velo.webHost!, parseHomes(`home ${velo.home} 4096 3 off\n`)]]), sizes);
    expect(off.find((x) => x.handle === "velo-libre")!.quotaEnforced).toBe(false);
    const en = formatUsage(off, "en");
    expect(en).toMatch(new RegExp(`^velo-libre +web1 +4\\.0 KiB +${velo.diskQuotaMb} MiB \\(not enforced\\) +0 +3 / ${velo.inodeQuota} `, "m"));
    expect(en).toContain("disk quotas NOT enforced on web1: the homes' file system has no user quota on; the figures are du's, and nothing stops a member at its quota");
    const fr = formatUsage(off, "fr");
    expect(fr).toMatch(new RegExp(`^velo-libre +web1 +4\\.0 KiB +${velo.diskQuotaMb} MiB \\(non appliqué\\) `, "m"));
    expect(fr).toContain("quotas disque NON appliqués sur web1 : le système de fichiers des dossiers personnels n'a pas de quota utilisateur actif");
    const on = formatUsage(usageRows(model, new Map([[velo.webHost!, parseHomes(`home ${velo.home} 4096 3 on\n`)]]), sizes), "en");
    expect(on).not.toMatch(/not enforced|NOT enforced/);
  });

  it("a missing home and a missing database are shown as such, not as zero", () => {
    const rows = usageRows(model, new Map([[velo.webHost!, parseHomes(`home ${velo.home} missing\n`)]]), new Map());
    const r = rows.find((x) => x.handle === "velo-libre")!;
    expect(r.homeMissing).toBe(true);
    expect(r.homeBytes).toBeUndefined();
    expect(r.databases.every((d) => d.bytes === undefined)).toBe(true);
    expect(formatUsage(rows, "en")).toMatch(/^velo-libre +web1 +NO HOME .*missing/m);
    expect(formatUsage(rows, "en")).toMatch(/^missing on the host although git describes it: .*velo-libre: home \(web1\), velo-libre: database velo_wp \(web1\)/m);
  });

  it("a member's mail is its domains' folders on the mail host added up; a domain without a folder yet counts 0; an unread mail host is '-', not 0", () => {
    // Two domains of the member on mail1: one has mail, the other none yet (no folder).
    const model = makeModel();
    const domain = (d: string) => ({ handle: "velo-libre", status: "active" as const, domain: d, zone: "velo-libre.example", mailHost: "mail1", mailboxes: [], aliases: [], file: "members/velo-libre/member.yaml" });
    model.mail.push(domain("velo-libre.example"), domain("lists.velo-libre.example"));
    const domains = model.mail.filter((d) => d.handle === "velo-libre");
    const mailHost = domains[0]!.mailHost;
    const homes = new Map([[velo.webHost!, parseHomes(`home ${velo.home} 4096 3 on\n`)]]);
    const answer = domains.map((d, i) => (i === 0 ? `home ${mailDomainDir(d.domain)} 3145728 40 off` : `home ${mailDomainDir(d.domain)} missing`)).join("\n");
    const rows = usageRows(model, homes, sizes, new Map([[mailHost, parseHomes(answer)]]));
    const r = rows.find((x) => x.handle === "velo-libre")!;
    expect(r.mail).toEqual({ host: mailHost, domains: domains.map((d) => d.domain), bytes: 3145728 });
    expect(mailDomainDir("velo-libre.example")).toBe("/var/vmail/velo-libre.example");
    expect(formatUsage(rows, "en")).toMatch(new RegExp(`^velo-libre +web1 .* 3\\.0 MiB \\(${mailHost}\\)$`, "m"));
    expect(formatUsage(rows, "fr").split("\n")[0]).toMatch(/ courriel$/);
    const unread = usageRows(model, homes, sizes).find((x) => x.handle === "velo-libre")!;
    expect(unread.mail).toEqual({ host: mailHost, domains: domains.map((d) => d.domain) });
    expect(formatUsage([unread], "en")).toMatch(new RegExp(`^velo-libre .* - \\(${mailHost}\\)$`, "m"));
    // A member without mail has no mail column value.
    const other = rows.find((x) => !model.mail.some((d) => d.handle === x.handle));
    if (other) expect(other.mail).toBeUndefined();
  });
});
