/**
 * The mail host's operations against this machine's real Postfix and Dovecot (throwaway,
 * loopback): `npm run bench -- mail`'s run applies the mail set by the file set's own script,
 * and a one-mailbox change replaces only the maps it touched and reloads no daemon, while a
 * configuration change does reload Postfix (the measure can tell them apart); `npm run status --
 * mail`'s reading of the mail host (its constant script run here, as over SSH) sees mailbox
 * sizes, a deferred message and the DKIM key's public half.
 */
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { mailBench, throwawayMailHost, writeSyntheticMailTree } from "../lib/bench/mail";
import { REPO_ROOT } from "../lib/base/repo";
import { waitFor } from "../lib/base/proc";
import { loadModel } from "../lib/check/build";
import { dkimRecordValue, MAIL_PATHS } from "../lib/model/mail";
import { formatMail, mailNeedsAttention, readMail } from "../lib/status/mail";
import { importMail, parseMailRead } from "../lib/import/mail";
import { freePort, requireRoot, requireTools, run } from "./helpers/tools";

const ok = requireTools("postfix", "postmap", "postconf", "dovecot", "doveconf", "doveadm", "opendkim", "openssl") && requireRoot("the bench applies the mail set to this machine's Postfix and Dovecot");

describe.skipIf(!ok)("npm run bench -- mail, on this machine's Postfix and Dovecot", () => {
  it("one mailbox added: only mailboxes and senders are recompiled, no daemon process is replaced, the running Postfix takes the address; a main.cf change reloads Postfix", async () => {
    const r = await mailBench({ domains: 4, mailboxes: 3 });
    expect(r.change.recompiled).toEqual(["mailboxes", "senders"]);
    expect(r.change.kept).toEqual(["aliases", "domains"]);
    expect(r.change.replaced).toEqual([]);
    expect(r.change.same.map((p) => p.name)).toEqual(expect.arrayContaining(["postfix master", "postfix qmgr", "dovecot master", "dovecot config"]));
    expect(r.change.said).toContain("no daemon reloaded: their configuration is unchanged");
    expect(r.change.acceptedAfterSeconds).toBeLessThan(10);
    // The contrast: a message size change reloads Postfix (its queue manager is replaced), no map is recompiled, Dovecot is left alone.
    expect(r.contrast.said).toContain("reloaded: postfix");
    expect(r.contrast.recompiled).toEqual([]);
    expect(r.contrast.replaced.map((p) => p.name)).toEqual(["postfix qmgr"]);
    expect(r.contrast.same.map((p) => p.name)).toEqual(expect.arrayContaining(["postfix master", "dovecot master", "dovecot config"]));
    for (const p of r.phases) expect(p.seconds).toBeGreaterThan(0);
  }, 180_000);
});

describe.skipIf(!ok)("npm run status -- mail, on this machine's Postfix and Dovecot", () => {
  it("mailbox sizes against quotas (doveadm), a message deferred for quota in the queue (postqueue -j), the DKIM value from the key on the host; a name server that does not answer is said so", async () => {
    const started = Math.floor(Date.now() / 1000);
    const h = await throwawayMailHost();
    try {
      const tree = join(h.dir, "data");
      writeSyntheticMailTree(tree, 2, 2, { firstQuotaMb: 1 });
      const { model } = loadModel(tree, "bench");
      await h.script("apply", h.render(tree).files);
      await h.start("box0@member-00000.example");
      // box1 has 1 MB: the first 700 kB message fits, the second is deferred (quota_full_tempfail).
      const big = `${"x".repeat(76)}\n`.repeat(9200);
      for (const [to, subject] of [["box0@member-00000.example", "small"], ["box1@member-00000.example", "big-1"], ["box1@member-00000.example", "big-2"]] as const) {
        const r = run("sendmail", ["-f", "someone@outside.example", to], { input: `Subject: ${subject}\n\n${subject === "small" ? "hello\n" : big}` });
        expect(r.status, r.stderr).toBe(0);
        if (subject !== "big-2") await waitFor(() => run("doveadm", ["-f", "tab", "quota", "get", "-u", to]).stdout.match(/STORAGE\t[1-9]/), 30_000, 200);
      }
      await waitFor(() => /"queue_name": ?"deferred"/.test(run("postqueue", ["-j"]).stdout), 30_000, 200);
      // The DKIM key of the first domain, where the mail host keeps it (another folder here).
      const keys = join(h.dir, "dkim");
      mkdirSync(join(keys, "g1"), { recursive: true });
      expect(run("openssl", ["genrsa", "-out", join(keys, "g1", "member-00000.example.private"), "2048"]).status).toBe(0);
      const pub = dkimRecordValue(run("openssl", ["rsa", "-in", join(keys, "g1", "member-00000.example.private"), "-pubout"]).stdout);
      const script = readFileSync(join(REPO_ROOT, "provider", "scripts", "status", "read-mail.sh"), "utf8");
      const closed = await freePort();
      const status = await readMail(REPO_ROOT, model!, {
        paths: { ...MAIL_PATHS, dkimKeyDir: keys },
        dnsServer: () => `127.0.0.1:${closed}`,
        readHost: async (args) => {
          const r = run("bash", ["-c", `set -euo pipefail\n${script}`, "read-mail", ...args]);
          expect(r.status, r.stderr).toBe(0);
          return r.stdout;
        },
      });
      expect(status).toHaveLength(1);
      const host = status[0]!;
      expect(host.errors).toEqual([]);
      const box = (a: string) => host.mailboxes.find((b) => b.address === a);
      expect(box("box1@member-00000.example")).toMatchObject({ quotaMb: 1, messages: 1 });
      expect(box("box1@member-00000.example")?.bytes).toBeGreaterThan(600 * 1024);
      expect(box("box0@member-00000.example")?.messages).toBe(1);
      expect(box("box0@member-00001.example")).toMatchObject({ bytes: 0, messages: 0 });
      const deferred = host.queue?.filter((m) => m.queue === "deferred" && m.arrival >= started) ?? [];
      expect(deferred).toHaveLength(1);
      expect(deferred[0]?.recipients[0]?.address).toBe("box1@member-00000.example");
      expect(deferred[0]?.recipients[0]?.reason).toMatch(/[Qq]uota/);
      const dkim = (d: string) => host.domains.find((x) => x.domain === d)?.checks.find((c) => c.kind === "DKIM");
      expect(dkim("member-00000.example")).toMatchObject({ state: "unanswered", expected: pub });
      expect(dkim("member-00001.example")?.state).toBe("no key");
      expect(host.domains.find((x) => x.domain === "member-00000.example")?.checks.find((c) => c.kind === "MX")?.state).toBe("unanswered");
      expect(mailNeedsAttention(status)).toBe(true);
      const text = formatMail(status, new Date(), "en");
      expect(text).toMatch(/deferred [1-9]/);
      expect(text).toMatch(/box1@member-00000\.example +\d+\.\d KiB +1 MiB +[6-9]\d/);

      // npm run import -- mail on the same live Postfix and Dovecot (the import's script as over SSH): the data comes back.
      const read = run("bash", ["-c", `set -euo pipefail\n${readFileSync(join(REPO_ROOT, "lib", "import", "scripts", "mail-read.sh"), "utf8")}`, "mail-read"]);
      expect(read.status, read.stderr).toBe(0);
      const imported = importMail(parseMailRead(read.stdout), { host: "mx1", zoneOwners: new Map(model!.zones.map((z) => [z.name, z.owner])) });
      expect(imported.notes).toEqual([]);
      const first = imported.byMember.get("member-00000")?.[0];
      expect(first?.mailboxes.map((b) => [b.local, b.quotaMb, b.hash])).toEqual([
        ["box0", 1024, model!.mail[0]!.mailboxes[0]!.passwordHash],
        ["box1", 1, model!.mail[0]!.mailboxes[1]!.passwordHash],
      ]);
      expect(first?.aliases).toEqual([{ local: "bureau", to: ["box0", "box1"] }]);
      expect(imported.derived.map((d) => d.record.split(" ")[0])).toContain("postmaster@member-00001.example");
    } finally {
      await h.stop();
      rmSync(h.dir, { recursive: true, force: true });
    }
  }, 180_000);
});
