/**
 * The pure parts of the mail host's operations: the bench's reading of what an apply touched
 * (tests/mail-ops.test.ts runs it on real daemons).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { applySaid, formatMailBench, touched, writeSyntheticMailTree, type MailSnapshot } from "../lib/bench/mail";
import { loadModel } from "../lib/check/build";
import { mailPlan } from "../lib/model/mail";
import { compareMailDns, expectedMailDns, formatMail, mailNeedsAttention, parseQueue, parseQuota, parseReadMail, type ExpectedMailDns, type MailStatus, type Served } from "../lib/status/mail";
import { baseFiles, inventoryWithMailHost, writeTree } from "./helpers/data-tree";

describe("bench -- mail: what an apply touched (pure)", () => {
  const before: MailSnapshot = {
    maps: { aliases: "1:10", domains: "2:10", mailboxes: "3:10", senders: "4:10" },
    procs: [
      { name: "postfix master", pid: 100 },
      { name: "postfix qmgr", pid: 101 },
      { name: "dovecot master", pid: 200 },
    ],
  };

  it("a map is replaced when its inode or its mtime moved; a process lives through when its PID is still there under its name", () => {
    const after: MailSnapshot = {
      maps: { aliases: "1:10", domains: "2:11", mailboxes: "9:20", senders: "4:10" },
      procs: [
        { name: "postfix master", pid: 100 },
        { name: "postfix qmgr", pid: 150 },
        { name: "dovecot master", pid: 200 },
        { name: "dovecot config", pid: 201 },
      ],
    };
    expect(touched(before, after)).toEqual({
      recompiled: ["domains", "mailboxes"],
      kept: ["aliases", "senders"],
      same: [before.procs[0], before.procs[2]],
      replaced: [before.procs[1]],
    });
    expect(touched(before, before)).toMatchObject({ recompiled: [], replaced: [] });
    // A PID reused by another program is not the same process.
    expect(touched(before, { ...before, procs: [{ name: "dovecot master", pid: 100 }] }).replaced.map((p) => p.name)).toEqual(["postfix master", "postfix qmgr", "dovecot master"]);
  });

  it("keeps the apply's lines about maps and reloads, not its other notes", () => {
    const stderr = "note: dovecot is not running: it reads the set when it starts\nmaps recompiled: mailboxes senders (Postfix's daemons take them on their next request)\nno daemon reloaded: their configuration is unchanged\n";
    expect(applySaid(stderr)).toEqual(["maps recompiled: mailboxes senders (Postfix's daemons take them on their next request)", "no daemon reloaded: their configuration is unchanged"]);
    expect(applySaid("postfix/postfix-script: refreshing the Postfix mail system\nreloaded: postfix\n")).toEqual(["reloaded: postfix"]);
  });

  it("prints each phase beside its floor, and says when the new address was not taken", () => {
    const report = { recompiled: ["mailboxes"], kept: ["aliases"], same: [{ name: "postfix master", pid: 1 }], replaced: [], said: ["no daemon reloaded: their configuration is unchanged"] };
    const text = formatMailBench({
      domains: 2, mailboxes: 3, aliases: 10, files: 13,
      phases: [{ what: "one mailbox added: the set applied", seconds: 3, floor: { what: "the same files applied again (nothing to do)", seconds: 2 } }],
      change: { ...report, acceptedAfterSeconds: 0.25 },
      contrast: { ...report, said: ["reloaded: postfix"] },
    });
    expect(text).toMatch(/one mailbox added: the set applied +3\.00 +2\.00 +1\.50  the same files applied again \(nothing to do\)/);
    expect(text).toContain("compiled maps replaced: mailboxes; kept (same file): aliases");
    expect(text).toContain("accepts the new address 0.25 s after the apply returned (no reload)");
    expect(formatMailBench({ domains: 1, mailboxes: 1, aliases: 0, files: 13, phases: [], change: report, contrast: report })).toContain("did NOT accept the new address");
  });

  it("the synthetic tree is valid data: N domains of M mailboxes on the mail host, one more with extra", () => {
    const dir = mkdtempSync(join(tmpdir(), "globenet-mail-tree-"));
    try {
      writeSyntheticMailTree(dir, 3, 4, { extra: 1 });
      const { model, errors } = loadModel(dir, "bench");
      expect(errors).toEqual([]);
      const plan = mailPlan(model!, "mx1");
      expect(plan.domains).toEqual(["member-00000.example", "member-00001.example", "member-00002.example"]);
      expect(plan.mailboxes).toHaveLength(13);
      expect(plan.mailboxes.map((b) => b.address)).toContain("box4@member-00000.example");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("status -- mail (pure)", () => {
  const e: ExpectedMailDns = { domain: "velo-libre.example", zone: "velo-libre.example", mx: ["10 mail.globenet.example."], spf: "v=spf1 mx -all", dmarc: "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@globenet.example; adkim=r; aspf=r", dkimName: "g1._domainkey.velo-libre.example" };
  const dkim = "v=DKIM1; k=rsa; p=MIIBIjANBgkq";
  const served: Served = { MX: ["10 mail.globenet.example."], SPF: ["v=spf1 mx -all", "google-site-verification=abc"], DKIM: ["v=DKIM1; k=rsa; p=MIIBIjANBgkq"], DMARC: [e.dmarc as string] };
  const states = (c: ReturnType<typeof compareMailDns>) => Object.fromEntries(c.map((x) => [x.kind, x.state]));

  it("served as derived: every kind ok (other TXT records at the name are not SPF; DNS names case-insensitive)", () => {
    expect(states(compareMailDns(e, served, dkim))).toEqual({ MX: "ok", SPF: "ok", DKIM: "ok", DMARC: "ok" });
    expect(states(compareMailDns(e, { ...served, MX: ["10 MAIL.globenet.example."] }, dkim)).MX).toBe("ok");
  });

  it("each way a record can be wrong has its state", () => {
    const c = compareMailDns(e, { MX: ["10 mx.elsewhere.example."], SPF: [], DKIM: ["v=DKIM1; k=rsa; p=OTHERKEY"], DMARC: { error: "ETIMEOUT from 192.0.2.53" } }, dkim);
    expect(states(c)).toEqual({ MX: "differs", SPF: "missing", DKIM: "differs", DMARC: "unanswered" });
    expect(c.find((x) => x.kind === "DMARC")?.error).toBe("ETIMEOUT from 192.0.2.53");
    // Two SPF records are an SPF permerror at receivers: differs, even when one is right.
    expect(states(compareMailDns(e, { ...served, SPF: ["v=spf1 mx -all", "v=spf1 a -all"] }, dkim)).SPF).toBe("differs");
    // A second MX beside ours differs too (mail would go elsewhere).
    expect(states(compareMailDns(e, { ...served, MX: ["10 mail.globenet.example.", "20 backup.example."] }, dkim)).MX).toBe("differs");
    // No key on the mail host: said as such, whatever is served.
    expect(states(compareMailDns(e, served, undefined)).DKIM).toBe("no key");
    expect(states(compareMailDns(e, { ...served, DKIM: { error: "ECONNREFUSED from 127.0.0.1" } }, undefined)).DKIM).toBe("no key");
    expect(states(compareMailDns(e, { ...served, MX: [] }, dkim)).MX).toBe("missing");
  });

  it("reads doveadm's tab output: storage in KiB to bytes, messages", () => {
    const tab = "Username\tQuota name\tType\tValue\tLimit\t%\ncontact@velo-libre.example\tUser quota\tSTORAGE\t700\t1024\t68\ncontact@velo-libre.example\tUser quota\tMESSAGE\t2\t-\t0\nRadio@ondes.example\tUser quota\tSTORAGE\t0\t1024\t0\n";
    const q = parseQuota(tab);
    expect(q.get("contact@velo-libre.example")).toEqual({ bytes: 700 * 1024, messages: 2 });
    expect(q.get("radio@ondes.example")).toEqual({ bytes: 0 });
    expect(parseQuota("not a table\n").size).toBe(0);
  });

  it("reads postqueue -j: one message a line, deferred with each recipient's reason", () => {
    const j = [
      '{"queue_name": "deferred", "queue_id": "4F2A11C0A3", "arrival_time": 1764900000, "message_size": 716800, "forced_expire": false, "sender": "someone@outside.example", "recipients": [{"address": "contact@velo-libre.example", "delay_reason": "host 127.0.0.1[private/dovecot-lmtp] said: 452 4.2.2 Quota exceeded"}]}',
      '{"queue_name": "active", "queue_id": "5A", "arrival_time": 1764900100, "message_size": 10, "sender": "", "recipients": [{"address": "x@elsewhere.example"}]}',
      "postqueue: warning: something",
    ].join("\n");
    const q = parseQueue(j);
    expect(q).toHaveLength(2);
    expect(q[0]).toMatchObject({ queue: "deferred", id: "4F2A11C0A3", size: 716800, recipients: [{ address: "contact@velo-libre.example", reason: expect.stringContaining("Quota exceeded") }] });
    expect(q[1]?.recipients[0]).toEqual({ address: "x@elsewhere.example" });
  });

  it("reads the script's sections, and says which could not be read", () => {
    const r = parseReadMail("ok\nUsername\tType\tValue\n\0error postqueue: fatal: Queue report unavailable - mail system is down \0ok\nvelo-libre.example MIIB\nondes.example none\n\0");
    expect(r.quota).toContain("Username");
    expect(r.queue).toBeUndefined();
    expect(r.errors).toEqual(["postqueue -j: postqueue: fatal: Queue report unavailable - mail system is down"]);
    expect([...r.dkim]).toEqual([["velo-libre.example", "MIIB"], ["ondes.example", undefined]]);
  });

  it("the expected records come from the model's derived ones", () => {
    const { model } = loadModel(writeTree({ "Pulumi.test.yaml": inventoryWithMailHost("{ public_name: mail.globenet.example }"), "zones/velo-libre.example.yaml": "owner: velo-libre\n", "members/velo-libre/member.yaml": `${baseFiles()["members/velo-libre/member.yaml"]}mail:\n  - domain: velo-libre.example\n    mailboxes: []\n` }), "test");
    expect(expectedMailDns(model!, "velo-libre.example", "g1")).toEqual({ domain: "velo-libre.example", zone: "velo-libre.example", mx: ["10 mail.globenet.example."], spf: "v=spf1 mx -all", dmarc: "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@globenet.example; adkim=r; aspf=r", dkimName: "g1._domainkey.velo-libre.example" });
    expect(expectedMailDns(model!, "nowhere.example", "g1")).toBeUndefined();
  });

  it("prints a table per host in English and French, the differences, the mailboxes near full and the deferred mail", () => {
    const status: MailStatus[] = [
      {
        host: "mx1",
        domains: [{ domain: "velo-libre.example", handle: "velo-libre", checks: compareMailDns(e, { ...served, SPF: [] }, dkim) }],
        mailboxes: [{ handle: "velo-libre", address: "contact@velo-libre.example", bytes: 950 * 1024 * 1024, messages: 3, quotaMb: 1024 }],
        queue: parseQueue('{"queue_name": "deferred", "queue_id": "4F2A", "arrival_time": 1764900000, "message_size": 1, "sender": "a@b.example", "recipients": [{"address": "contact@velo-libre.example", "delay_reason": "Quota exceeded"}]}'),
        errors: [],
      },
    ];
    const now = new Date(1764900000 * 1000 + 30 * 60_000);
    const en = formatMail(status, now, "en");
    expect(en).toMatch(/velo-libre\.example +velo-libre +ok +MISSING +ok +ok/);
    expect(en).toContain('velo-libre.example SPF: served nothing; expected "v=spf1 mx -all"');
    expect(en).toMatch(/contact@velo-libre\.example +950\.0 MiB +1024 MiB +92 !/);
    expect(en).toContain("queue: 1 message(s) (active 0, deferred 1, on hold 0)");
    expect(en).toContain("4F2A a@b.example → contact@velo-libre.example, 30 min: Quota exceeded");
    expect(en).toContain("needs attention");
    expect(mailNeedsAttention(status)).toBe(true);
    const fr = formatMail(status, now, "fr");
    expect(fr).toContain("velo-libre.example SPF : servi rien ; attendu");
    expect(fr).toContain("file d'attente : 1 message(s) (actifs 0, différés 1, retenus 0)");
    const fine: MailStatus[] = [{ host: "mx1", domains: [{ domain: "velo-libre.example", handle: "velo-libre", checks: compareMailDns(e, served, dkim) }], mailboxes: [], queue: [], errors: [] }];
    expect(mailNeedsAttention(fine)).toBe(false);
    expect(formatMail(fine, now, "fr")).toContain("tout est comme git le décrit");
    expect(mailNeedsAttention([{ ...fine[0]!, errors: ["doveadm quota get: no answer"] }])).toBe(true);
  });
});
