import { describe, expect, it } from "vitest";
import { appearances, formatDuration, leadTimeRows, median, type LeadEvent } from "../lib/audit/lead-time";
import { mergeRequestOf } from "../lib/state/merge-request";
import { parseLog, LOG_FORMAT } from "../lib/audit/git-log";
import { classifyPath, describeFileChange, rawChanges, recordData, sshKeyLabel, siteHostsIn } from "../lib/audit/semantic";
import { normalizeUpdates } from "../lib/audit/updates";
import { gitTime } from "../lib/audit/format";
import { targetForPath } from "../lib/audit/target";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK+tBZeYUZ4D98ehwVRHgYI6hfIPcJsByHLI3gzNJUtK bureau@laptop";
const KEY2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK+tBZeYUZ4D98ehwVRHgYI6hfIPcJsByHLI3gzNJUtK tresorier@desktop";

const MEMBER = `handle: velo-libre
name: Association Vélo Libre
contact:
  email: bureau@velo-libre.example
status: active
ssh_keys:
  - ${KEY}
sites:
  - host: velo-libre.example
    aliases: [www.velo-libre.example]
    php: "8.2"
databases:
  - name: velo_wp
`;

const VPS = `hypervisor: hv1
vcpus: 2
memory_mb: 1024
disk_gb: 20
image: debian-12
ipv4: 203.0.113.20
`;

const ZONE = `owner: velo-libre
records:
  - { name: "@", type: MX, priority: 10, value: mail.globenet.example. }
  - { name: "@", type: TXT, value: "v=spf1 mx -all" }
`;

const M = "members/velo-libre/member.yaml";
const V = "members/velo-libre/vps/atelier.yaml";
const Z = "zones/velo-libre.example.yaml";

/** Replaces `from` with `to` once, failing loudly if the fixture does not hold it. */
function edit(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`fixture lacks ${JSON.stringify(from)}`);
  return text.replace(from, to);
}

describe("describeFileChange: members", () => {
  const cases: [string, string | undefined, string | undefined, string[]][] = [
    ["created", undefined, MEMBER, ["member created"]],
    ["removed", MEMBER, undefined, ["member removed"]],
    ["alias added", MEMBER, edit(MEMBER, "[www.velo-libre.example]", "[www.velo-libre.example, blog.velo-libre.example]"), ["site velo-libre.example: alias blog.velo-libre.example added"]],
    ["alias removed", MEMBER, edit(MEMBER, "    aliases: [www.velo-libre.example]\n", ""), ["site velo-libre.example: alias www.velo-libre.example removed"]],
    ["suspended with a note", MEMBER, edit(MEMBER, "status: active\n", 'status: suspended\nnote: "dues unpaid since 2025"\n'), ["status active → suspended", 'note unset → "dues unpaid since 2025"']],
    ["database added", MEMBER, edit(MEMBER, "  - name: velo_wp\n", "  - name: velo_wp\n  - name: velo_forum\n"), ["database velo_forum added"]],
    ["database limit", MEMBER, edit(MEMBER, "  - name: velo_wp\n", "  - name: velo_wp\n    limits: { max_user_connections: 40 }\n"), ["database velo_wp: max_user_connections unset → 40"]],
    ["PHP and TLS", MEMBER, edit(MEMBER, '    php: "8.2"\n', '    php: "8.3"\n    tls: none\n    tls_none_reason: "HTTP-only kiosk"\n'), ["site velo-libre.example: PHP 8.2 → 8.3", "site velo-libre.example: TLS acme → none", 'site velo-libre.example: reason for no TLS unset → "HTTP-only kiosk"']],
    ["site added and one removed", MEMBER, edit(MEMBER, "  - host: velo-libre.example\n    aliases: [www.velo-libre.example]\n", "  - host: atelier.velo-libre.example\n"), ["site atelier.velo-libre.example added", "site velo-libre.example removed"]],
    ["SFTP only, with a password", MEMBER, edit(MEMBER, "status: active\n", 'status: active\naccess: sftp\nsftp_password_hash: "$y$j9T$RlYz6AzpzgzsXCBYMBEar/$umQKrp1pplpPA07J0feIaWfaRv4zckuQGNhscfRkgwC"\n'), ["access ssh → sftp", "SFTP password set (hash …scfRkgwC)"]],
    ["a new SFTP password", edit(MEMBER, "status: active\n", 'status: active\naccess: sftp\nsftp_password_hash: "$y$j9T$RlYz6AzpzgzsXCBYMBEar/$umQKrp1pplpPA07J0feIaWfaRv4zckuQGNhscfRkgwC"\n'), edit(MEMBER, "status: active\n", 'status: active\naccess: sftp\nsftp_password_hash: "$y$j9T$1pVosPlKhTHM2NqSy/daa.$xn6Bk5oSl54zJ5y.I80DB3gmsKp7ODXHHZ1VRU7I387"\n'), ["SFTP password changed (hash …VRU7I387)"]],
    ["back to ssh", edit(MEMBER, "status: active\n", 'status: active\naccess: sftp\nsftp_password_hash: "$y$j9T$RlYz6AzpzgzsXCBYMBEar/$umQKrp1pplpPA07J0feIaWfaRv4zckuQGNhscfRkgwC"\n'), MEMBER, ["access sftp → ssh", "SFTP password removed"]],
    ["SSH key swapped", MEMBER, edit(MEMBER, KEY, KEY2), ["SSH key tresorier@desktop added", "SSH key bureau@laptop removed"]],
    ["quota and web host", MEMBER, `${MEMBER}disk_quota_mb: 2048\nweb_host: web2\n`, ["web host default → web2", "disk quota default → 2048 MB"]],
    ["contact", MEMBER, edit(MEMBER, "  email: bureau@velo-libre.example\n", "  email: contact@velo-libre.example\n  backup_email: pres@velo-libre.example\n"), ["contact email bureau@velo-libre.example → contact@velo-libre.example", "backup email unset → pres@velo-libre.example"]],
    ["comment only", MEMBER, `# WordPress site\n${MEMBER}`, ["no change in meaning (comments or layout only)"]],
    ["default written out", MEMBER, edit(MEMBER, '    php: "8.2"\n', '    php: "8.2"\n    tls: acme\n'), ["no change in meaning (comments or layout only)"]],
  ];
  it.each(cases)("%s", (_name, before, after, expected) => {
    expect(describeFileChange(M, before, after)).toEqual(expected);
  });
});

describe("describeFileChange: VPS", () => {
  const cases: [string, string | undefined, string | undefined, string[]][] = [
    ["created", undefined, VPS, ["VPS atelier created: 2 vCPU, 1024 MB memory, 20 GB disk, debian-12 on hv1"]],
    ["removed", VPS, undefined, ["VPS atelier removed"]],
    ["memory", VPS, edit(VPS, "memory_mb: 1024", "memory_mb: 2048"), ["VPS atelier: memory 1024 → 2048 MB"]],
    ["CPU, disk, move", VPS, edit(edit(edit(VPS, "vcpus: 2", "vcpus: 4"), "disk_gb: 20", "disk_gb: 40"), "hypervisor: hv1", "hypervisor: hv2"), ["VPS atelier: hypervisor hv1 → hv2", "VPS atelier: vCPU 2 → 4", "VPS atelier: disk 20 → 40 GB"]],
    ["IPv6 added", VPS, `${VPS}ipv6: "2001:db8:42::20"\n`, ["VPS atelier: IPv6 unset → 2001:db8:42::20"]],
    ["own keys", VPS, `${VPS}ssh_keys: ["${KEY2}"]\n`, ["VPS atelier: SSH keys the member's → its own (tresorier@desktop)"]],
  ];
  it.each(cases)("%s", (_name, before, after, expected) => {
    expect(describeFileChange(V, before, after)).toEqual(expected);
  });
});

describe("describeFileChange: zones", () => {
  const cases: [string, string | undefined, string | undefined, string[]][] = [
    ["created", undefined, ZONE, ["zone velo-libre.example created with 2 records"]],
    ["removed", ZONE, undefined, ["zone velo-libre.example removed"]],
    ["TXT added", ZONE, `${ZONE}  - { name: _dmarc, type: TXT, value: "v=DMARC1; p=none" }\n`, ['record TXT _dmarc added: "v=DMARC1; p=none"']],
    ["TXT @ added", ZONE, `${ZONE}  - { name: "@", type: TXT, value: "google-site-verification=abc" }\n`, ['record TXT @ added: "google-site-verification=abc"']],
    ["MX changed", ZONE, edit(ZONE, "mail.globenet.example.", "mx.globenet.example."), ["record MX @ changed (value): 10 mail.globenet.example. → 10 mx.globenet.example."]],
    ["DNSSEC switched off (read as no change before the schema drove the audit)", ZONE, `${ZONE}dnssec: false\n`, ["DNSSEC signing true → false"]],
    ["record removed", ZONE, edit(ZONE, '  - { name: "@", type: TXT, value: "v=spf1 mx -all" }\n', ""), ['record TXT @ removed: "v=spf1 mx -all"']],
    ["order only", ZONE, `owner: velo-libre\nrecords:\n  - { name: "@", type: TXT, value: "v=spf1 mx -all" }\n  - { name: "@", type: MX, priority: 10, value: mail.globenet.example. }\n`, ["no change in meaning (comments or layout only)"]],
    ["owner and TTL", ZONE, edit(ZONE, "owner: velo-libre\n", "owner: globenet\nttl: 300\n"), ["owner velo-libre → globenet", "default TTL 3600 → 300 s"]],
  ];
  it.each(cases)("%s", (_name, before, after, expected) => {
    expect(describeFileChange(Z, before, after)).toEqual(expected);
  });
});

describe("describeFileChange: files that do not validate", () => {
  it("names the side and the first error, then the fields that changed", () => {
    expect(describeFileChange(M, MEMBER, edit(MEMBER, 'php: "8.2"', "php: 8.2"))).toEqual([
      'invalid after this commit: members/velo-libre/member.yaml:11:10 sites[0].php: must be quoted, like php: "8.2" (unquoted, YAML reads 8.10 as the number 8.1)',
      'sites[0].php: "8.2" → 8.2',
    ]);
  });
  it("a broken YAML side gives no field list", () => {
    expect(describeFileChange(Z, ZONE, "owner: [velo\n")).toEqual([
      expect.stringMatching(/^invalid after this commit: zones\/velo-libre\.example\.yaml:\d+:\d+: YAML syntax error/),
      "zones/velo-libre.example.yaml changed",
    ]);
  });
  it("a file that is not data is named", () => {
    expect(describeFileChange("members/velo-libre/NOTES.md", undefined, "x")).toEqual(["members/velo-libre/NOTES.md added"]);
  });
});

describe("rawChanges", () => {
  it.each([
    [{ a: 1 }, { a: 2 }, ["a: 1 → 2"]],
    [{ a: 1 }, { a: 1, b: [1] }, ["b added: [1]"]],
    [{ a: 1, b: 2 }, { a: 1 }, ["b removed"]],
    [{ l: [1, 2] }, { l: [1] }, ["l[1] removed"]],
    [{ l: [{ x: "a" }] }, { l: [{ x: "b" }] }, ['l[0].x: "a" → "b"']],
    ["a", 3, ['the whole file: "a" → 3']],
  ] as [unknown, unknown, string[]][])("%j → %j", (a, b, expected) => {
    expect(rawChanges(a, b)).toEqual(expected);
  });
  it("stops after 20 lines", () => {
    const a = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`k${i}`, i]));
    const b = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`k${i}`, i + 1]));
    const out = rawChanges(a, b);
    expect(out).toHaveLength(21);
    expect(out[20]).toBe("… and 5 more field changes");
  });
});

describe("small readers", () => {
  it.each([
    ["Merge branch 'x' into 'main'\n\nAdd alias\n\nSee merge request globenet/infra!12", "globenet/infra!12"],
    ["Raise atelier's memory (!13)", "!13"],
    ["Suspend velo-libre\n\nMerge-Request: !14", "!14"],
    ["Part-of: globenet/infra!15", "globenet/infra!15"],
    ["Add 3 sites (!16) and see merge request !17", "!16"],
    ["Fix typo (see !12 discussion)", undefined],
    ["No mention", undefined],
  ])("mergeRequestOf(%j) = %j", (msg, expected) => {
    expect(mergeRequestOf(msg)).toBe(expected);
  });

  it.each([
    [M, { kind: "member", handle: "velo-libre" }],
    [V, { kind: "vps", handle: "velo-libre", name: "atelier" }],
    [Z, { kind: "zone", zone: "velo-libre.example" }],
    ["members/README.md", { kind: "other" }],
  ])("classifyPath(%s)", (p, expected) => {
    expect(classifyPath(p)).toEqual(expected);
  });

  it.each([
    ["members/velo-libre", { kind: "member", label: "member velo-libre", paths: ["members/velo-libre/"] }],
    ["./members/velo-libre/", { kind: "member", label: "member velo-libre", paths: ["members/velo-libre/"] }],
    [V, { kind: "vps", label: "VPS atelier of velo-libre", paths: [V] }],
    [Z, { kind: "zone", label: "zone velo-libre.example", paths: [Z] }],
    [M, { kind: "member", label: "member velo-libre (members/velo-libre/member.yaml only)", paths: [M] }],
  ])("targetForPath(%s)", (p, expected) => {
    expect(targetForPath(p)).toEqual(expected);
  });

  it("labels SSH keys by comment, else by the end of the key", () => {
    expect(sshKeyLabel(KEY)).toBe("bureau@laptop");
    expect(sshKeyLabel("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK+tBZeYUZ4D98ehwVRHgYI6hfIPcJsByHLI3gzNJUtK")).toBe("ssh-ed25519 …3gzNJUtK");
  });

  it("shows record data as a zone file would, long values cut", () => {
    expect(recordData({ name: "_sip._tcp", type: "SRV", priority: 5, weight: 0, port: 5060, value: "sip.example.", ttl: 300 })).toBe("5 0 5060 sip.example. (TTL 300)");
    expect(recordData({ name: "@", type: "CAA", flags: 0, tag: "issue", value: "letsencrypt.org" })).toBe('0 issue "letsencrypt.org"');
    expect(recordData({ name: "k._domainkey", type: "TXT", value: `v=DKIM1; k=rsa; p=${"A".repeat(80)}` })).toBe(`"v=DKIM1; k=rsa; p=${"A".repeat(28)}…`);
  });

  it("reads site names from valid and invalid member files", () => {
    expect(siteHostsIn(MEMBER)).toEqual(["velo-libre.example"]);
    expect(siteHostsIn(edit(MEMBER, 'php: "8.2"', "php: 8.2"))).toEqual(["velo-libre.example"]);
    expect(siteHostsIn(undefined)).toEqual([]);
  });

  it("shows git dates in the author's own offset", () => {
    expect(gitTime("2026-01-10T10:00:00+01:00")).toBe("2026-01-10 10:00 +01:00");
    expect(gitTime("2026-01-10T10:00:00Z")).toBe("2026-01-10 10:00 +00:00");
  });
});

describe("parseLog", () => {
  it("reads commits, their touched files and blob ids", () => {
    expect(LOG_FORMAT).toContain("%aI");
    const a = "a".repeat(40);
    const b = "b".repeat(40);
    const z = "0".repeat(40);
    const out =
      `\x1e${"1".repeat(40)}\x1f\x1f2026-01-05T09:00:00+01:00\x1f2026-01-05T09:00:00+01:00\x1fAlice Martin\x1falice@example.org\x1fFirst\x1f\x1f\n\n:000000 100644 ${z} ${a} A\tmembers/velo-libre/member.yaml\n` +
      `\x1e${"2".repeat(40)}\x1f${"1".repeat(40)}\x1f2026-01-06T09:00:00+01:00\x1f2026-01-07T09:00:00+01:00\x1fBob\x1fbob@example.org\x1fSecond\x1fBody line\n\nMerge-Request: !3\n\x1f\n\n:100644 100644 ${a} ${b} M\tmembers/velo-libre/member.yaml\n:100644 000000 ${b} ${z} D\tzones/x.example.yaml\n`;
    expect(parseLog(out)).toEqual([
      { hash: "1".repeat(40), parents: [], authored: "2026-01-05T09:00:00+01:00", committed: "2026-01-05T09:00:00+01:00", author: "Alice Martin", email: "alice@example.org", subject: "First", body: "", files: [{ path: M, status: "A", before: undefined, after: a }] },
      {
        hash: "2".repeat(40),
        parents: ["1".repeat(40)],
        authored: "2026-01-06T09:00:00+01:00",
        committed: "2026-01-07T09:00:00+01:00",
        author: "Bob",
        email: "bob@example.org",
        subject: "Second",
        body: "Body line\n\nMerge-Request: !3",
        files: [
          { path: M, status: "M", before: a, after: b },
          { path: "zones/x.example.yaml", status: "D", before: b, after: undefined },
        ],
      },
    ]);
  });
});

describe("update history", () => {
  it("keeps what the audit needs, oldest first, from Date, text or Unix times", () => {
    const head = "c".repeat(40);
    expect(
      normalizeUpdates([
        { version: 2, kind: "update", result: "succeeded", startTime: "2026-01-11T10:00:00Z", endTime: new Date("2026-01-11T10:02:00Z"), environment: { "git.head": head, "git.dirty": "true" }, message: "m" },
        { version: 1, kind: "refresh", result: "failed", startTime: 1767952800, environment: {} },
        { kind: "update", startTime: "2026-01-01T00:00:00Z" },
      ]),
    ).toEqual([
      { version: 1, kind: "refresh", result: "failed", start: "2026-01-09T10:00:00.000Z", end: undefined, head: undefined, dirty: false, message: "" },
      { version: 2, kind: "update", result: "succeeded", start: "2026-01-11T10:00:00.000Z", end: "2026-01-11T10:02:00.000Z", head, dirty: true, message: "m" },
    ]);
    expect(() => normalizeUpdates({})).toThrow(/JSON list/);
  });
});

describe("lead time arithmetic", () => {
  it.each([
    [[], undefined],
    [[5], 5],
    [[9, 1, 5], 5],
    [[4, 1, 3, 2], 2.5],
  ] as [number[], number | undefined][])("median(%j) = %j", (v, m) => {
    expect(median(v)).toBe(m);
  });

  it.each([
    [undefined, "-"],
    [45_000, "45 s"],
    [12 * 60_000, "12 min"],
    [3 * 3_600_000, "3 h"],
    [3 * 3_600_000 + 20 * 60_000, "3 h 20 min"],
    [2 * 86_400_000 + 4 * 3_600_000 + 10 * 60_000, "2 d 4 h"],
    [-2 * 3_600_000, "-2 h"],
  ])("formatDuration(%j) = %s", (ms, s) => {
    expect(formatDuration(ms)).toBe(s);
  });

  it("finds new members, sites, VPS and zones in a commit's files", () => {
    expect(
      appearances([
        { path: M, status: "A", after: MEMBER },
        { path: "members/ondes/member.yaml", status: "M", before: MEMBER.replace(/velo-libre/g, "ondes"), after: MEMBER.replace(/velo-libre/g, "ondes").replace("sites:\n", "sites:\n  - host: radio.ondes.example\n") },
        { path: V, status: "A", after: VPS },
        { path: V, status: "M", before: VPS, after: VPS },
        { path: Z, status: "A", after: ZONE },
        { path: "zones/old.example.yaml", status: "D", before: ZONE },
      ]),
    ).toEqual([
      { kind: "new member", object: "velo-libre" },
      { kind: "new site", object: "velo-libre.example" },
      { kind: "new site", object: "radio.ondes.example" },
      { kind: "new VPS", object: "velo-libre/atelier" },
      { kind: "new zone", object: "velo-libre.example" },
    ]);
  });

  it("takes medians over the events that reached each step", () => {
    const ev = (request: string, merge?: string, applied?: string): LeadEvent => ({
      kind: "new site",
      object: "x",
      commit: "c",
      request,
      merge: merge ? { hash: "m", date: merge } : undefined,
      applied: applied ? { version: 1, date: applied } : undefined,
    });
    const rows = leadTimeRows([ev("2026-01-01T00:00:00Z", "2026-01-01T02:00:00Z", "2026-01-01T03:00:00Z"), ev("2026-01-01T00:00:00Z", "2026-01-01T04:00:00Z"), ev("2026-01-02T00:00:00Z")]);
    expect(rows.find((r) => r.kind === "new site")).toEqual({ kind: "new site", count: 3, merged: 2, applied: 1, requestToMerge: 3 * 3_600_000, mergeToApplied: 3_600_000, requestToApplied: 3 * 3_600_000 });
    expect(rows.find((r) => r.kind === "new VPS")).toEqual({ kind: "new VPS", count: 0, merged: 0, applied: 0, requestToMerge: undefined, mergeToApplied: undefined, requestToApplied: undefined });
  });
});
