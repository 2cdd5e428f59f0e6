// Unit tier: no root, no daemon. What the mail host's files say for a given data tree (the
// daemons run them in tests/mail-daemons.test.ts), and the escapers that guard every field.
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { loadModel } from "../lib/check/build";
import { formatDiagnostic } from "../lib/load/diagnostic";
import { dkimRecordValue, mailPlan } from "../lib/model/mail";
import { dovecotPasswdField, mailAddress, mailMapWord, UnsafeValueError } from "../lib/render/escape";
import { MAIL_ACME_PATHS, mailSetFiles, relayhost, renderMailFiles } from "../lib/render/mail";
import { baseFiles, inventoryWithMailHost, writeTree } from "./helpers/data-tree";

const H1 = "{CRYPT}$y$j9T$40b7r1AlrfQHpo6uVN/4w0$4DFJCbWQyPXFjBFK1bQ9b4RR8i/kcF/oNaWGP.CLGJ5";
const H2 = "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$W0sZ5L+y4MqCgBYIwug8AQ$af4YQ6pd6/Gh8C98+tNSLpk7wbxdtpSe7Zws4frieNY";

function model() {
  const files = {
    "Pulumi.test.yaml": inventoryWithMailHost('{ relay: "smtp.relay.example:587", dkim_selector: g2026 }'),
    "zones/velo-libre.example.yaml": "owner: velo-libre\n",
    "zones/ondes.example.yaml": "owner: ondes\n",
    "members/velo-libre/member.yaml": `${baseFiles()["members/velo-libre/member.yaml"]}mail:
  - domain: velo-libre.example
    mailboxes:
      - { local: contact, password_hash: "${H1}" }
      - { local: tresorier, quota_mb: 2048, password_hash: "${H2}" }
    aliases:
      - { local: bureau, to: [contact, tresorier, Ami@dehors.example] }
    catch_all: contact
`,
    "members/ondes/member.yaml": `handle: ondes\nname: Ondes\ncontact: { email: a@ondes.example }\nstatus: suspended\nmail:\n  - domain: ondes.example\n    mailboxes:\n      - { local: radio, password_hash: "${H1}" }\n`,
  };
  const { model: m, errors } = loadModel(writeTree(files), "test");
  if (!m) throw new Error(errors.map((e) => formatDiagnostic(e)).join("\n"));
  return m;
}

describe("the mail host's plan and files", () => {
  const m = model();
  const plan = mailPlan(m, "mx1");
  const f = renderMailFiles(plan, 5000, 1024, "hostmaster@globenet.example");

  it("one line per domain, mailbox, alias and sender; RFC 2142 to Globenet; the catch-all after each mailbox's own line", () => {
    expect(f.maps.domains).toBe("ondes.example OK\nvelo-libre.example OK\n");
    expect(f.maps.mailboxes).toBe("contact@velo-libre.example velo-libre.example/contact/\nradio@ondes.example ondes.example/radio/\ntresorier@velo-libre.example velo-libre.example/tresorier/\n");
    expect(f.maps.aliases.split("\n")).toEqual([
      "postmaster@ondes.example hostmaster@globenet.example",
      "abuse@ondes.example hostmaster@globenet.example",
      "hostmaster@ondes.example hostmaster@globenet.example",
      "mailer-daemon@ondes.example hostmaster@globenet.example",
      "postmaster@velo-libre.example hostmaster@globenet.example",
      "abuse@velo-libre.example hostmaster@globenet.example",
      "hostmaster@velo-libre.example hostmaster@globenet.example",
      "mailer-daemon@velo-libre.example hostmaster@globenet.example",
      "bureau@velo-libre.example contact@velo-libre.example, tresorier@velo-libre.example, ami@dehors.example",
      "contact@velo-libre.example contact@velo-libre.example",
      "tresorier@velo-libre.example tresorier@velo-libre.example",
      "@velo-libre.example contact@velo-libre.example",
      // The SRS domain (the public name) takes bounces to rewritten senders: its RFC 2142 addresses too.
      "postmaster@mail.globenet.example hostmaster@globenet.example",
      "abuse@mail.globenet.example hostmaster@globenet.example",
      "hostmaster@mail.globenet.example hostmaster@globenet.example",
      "mailer-daemon@mail.globenet.example hostmaster@globenet.example",
      "",
    ]);
    // A mailbox sends as itself; bureau@ as either of its mailboxes, not as the outside address.
    expect(f.maps.senders).toContain("bureau@velo-libre.example contact@velo-libre.example, tresorier@velo-libre.example\n");
    expect(f.maps.senders).toContain("radio@ondes.example radio@ondes.example\n");
  });

  it("Dovecot's users carry hash and quota; a suspended member's mailbox is in the deny list, its hash kept", () => {
    expect(f.dovecot["globenet-users"]).toContain(`tresorier@velo-libre.example:${H2}::::::userdb_quota_rule=*:storage=2048M\n`);
    expect(f.dovecot["globenet-users"]).toContain(`radio@ondes.example:${H1}::::::userdb_quota_rule=*:storage=1024M\n`);
    expect(f.dovecot["globenet-suspended"]).toBe("radio@ondes.example:\n");
    expect(f.dovecot["dovecot.conf"]).toMatch(/passdb \{\n {2}driver = passwd-file\n {2}args = username_format=%Lu \/etc\/globenet\/mail\/conf\/dovecot\/globenet-suspended\n {2}deny = yes\n\}/);
    expect(f.dovecot["dovecot.conf"]).toContain("listen = 192.0.2.25, 2001:db8:1::25\n");
  });

  it("the host's IPv6 too: Postfix's interfaces and each port of master.cf on both addresses, Dovecot on both", () => {
    expect(plan.listen).toEqual(["192.0.2.25", "2001:db8:1::25"]);
    expect(f.postfix["main.cf"]).toContain("inet_interfaces = 192.0.2.25, [2001:db8:1::25]\n");
    expect(f.postfix["main.cf"]).toContain("inet_protocols = all\n");
    for (const port of [25, 587, 465]) {
      expect(f.postfix["master.cf"]).toMatch(new RegExp(`^192\\.0\\.2\\.25:${port} inet`, "m"));
      expect(f.postfix["master.cf"]).toMatch(new RegExp(`^\\[2001:db8:1::25\\]:${port} inet`, "m"));
    }
    // A host without IPv6 listens on its IPv4 address only.
    const v4only = { ...m, hosts: m.hosts.map((h) => (h.name === "mx1" ? { ...h, ipv6: undefined } : h)) };
    expect(mailPlan(v4only, "mx1").listen).toEqual(["192.0.2.25"]);
  });

  it("the certificate from the inventory's ACME CA: lego's settings for the public name, the script, a oneshot service and a twice-daily timer", () => {
    expect(plan.acme).toEqual({ directory: "https://acme-v02.api.letsencrypt.org/directory", email: "hostmaster@globenet.example", renewDays: 30 });
    const a = f.acme as NonNullable<typeof f.acme>;
    expect(a["mail-cert.conf"].split("\n").filter((l) => !l.startsWith("#"))).toEqual([
      "directory=https://acme-v02.api.letsencrypt.org/directory",
      "email=hostmaster@globenet.example",
      "name=mail.globenet.example",
      "ca_trust=",
      "store=/var/lib/globenet/mail-acme",
      "cert=/etc/globenet/mail/tls/fullchain.pem",
      "key=/etc/globenet/mail/tls/privkey.pem",
      "renew_days=30",
      "",
    ]);
    expect(a["mail-cert.sh"]).toMatch(/^#!\/usr\/bin\/env bash\n/);
    expect(a["globenet-mail-cert.service"]).toContain("ExecStart=/bin/bash /etc/globenet/mail/conf/acme/mail-cert.sh /etc/globenet/mail/conf/acme/mail-cert.conf\n");
    expect(a["globenet-mail-cert.timer"]).toContain("OnCalendar=*-*-* 03,15:17:00\n");
    expect(Object.keys(mailSetFiles(f)).filter((k) => k.startsWith("acme/"))).toEqual(MAIL_ACME_PATHS);
    // The lab's CA: its listener's root for lego only.
    const lab = renderMailFiles({ ...plan, acme: { ...plan.acme!, caTrust: "/var/lib/globenet-lab/acme/pebble-listener.pem" } }, 5000, 1024, "hostmaster@globenet.example");
    expect(lab.acme?.["mail-cert.conf"]).toContain("\nca_trust=/var/lib/globenet-lab/acme/pebble-listener.pem\n");
    // No acme: in the inventory: no ACME files (the certificate is placed by hand).
    expect(renderMailFiles({ ...plan, acme: undefined }, 5000, 1024, "hostmaster@globenet.example").acme).toBeUndefined();
    // A value that is not a name, path or URL never reaches the settings.
    expect(() => renderMailFiles({ ...plan, acme: { ...plan.acme!, email: "a@b.example\nkey=/tmp/x" } }, 5000, 1024, "x@y.example")).toThrow(UnsafeValueError);
  });

  it("Postfix: the relay in brackets, the host's address, submission marked ORIGINATING for OpenDKIM; OpenDKIM's tables per domain", () => {
    expect(f.postfix["main.cf"]).toContain("relayhost = [smtp.relay.example]:587\n");
    expect(f.postfix["main.cf"]).toContain("myhostname = mail.globenet.example\n");
    expect(f.postfix["master.cf"]).toMatch(/^192\.0\.2\.25:587 inet .*\n {2}-o syslog_name=postfix\/submission\n {2}-o milter_macro_daemon_name=ORIGINATING$/m);
    expect(f.opendkim["globenet-keytable"]).toBe("g2026._domainkey.ondes.example ondes.example:g2026:/etc/globenet/mail/dkim/g2026/ondes.example.private\ng2026._domainkey.velo-libre.example velo-libre.example:g2026:/etc/globenet/mail/dkim/g2026/velo-libre.example.private\n");
    expect(f.opendkim["globenet-signingtable"]).toBe("*@ondes.example g2026._domainkey.ondes.example\n*@velo-libre.example g2026._domainkey.velo-libre.example\n");
    const v6 = renderMailFiles({ ...plan, listen: ["2001:db8:1::25"] }, 5000, 1024, "hostmaster@globenet.example");
    expect(v6.postfix["main.cf"]).toContain("inet_interfaces = [2001:db8:1::25]\n");
    expect(v6.postfix["master.cf"]).toContain("[2001:db8:1::25]:25 inet");
    expect(v6.dovecot["dovecot.conf"]).toContain("listen = 2001:db8:1::25\n");
  });

  it("a departed member's domain is not served", () => {
    const gone = { ...m, mail: m.mail.map((d) => (d.handle === "ondes" ? { ...d, status: "departed" as const } : d)) };
    expect(mailPlan(gone, "mx1").domains).toEqual(["velo-libre.example"]);
  });
});

describe("escapers of the mail files", () => {
  const refused: [string, () => string][] = [
    ["a space in a map word", () => mailMapWord("a b@x.example")],
    ["a comma in a map word (a second target)", () => mailMapWord("a@x.example,evil@y.example")],
    ["a colon in a map word", () => mailMapWord("a:b")],
    ["a # in a map word (a comment)", () => mailMapWord("#a")],
    ["a line break in a map word", () => mailMapWord("a@x.example\nevil@y.example OK")],
    ["an empty map word", () => mailMapWord("")],
    ["a colon in a passwd-file field", () => dovecotPasswdField("{PLAIN}x:0:0")],
    ["a space in a passwd-file field", () => dovecotPasswdField("a b")],
    ["a listen address that is not an IP", () => mailAddress("127.0.0.1, 0.0.0.0", "postfix")],
    ["a relay with a space", () => relayhost("relay.example 587")],
  ];
  it.each(refused)("refuses %s", (_what, f) => expect(f).toThrow(UnsafeValueError));
  it("keeps what is safe as it is", () => {
    expect(mailMapWord("jean.dupont+x@velo-libre.example")).toBe("jean.dupont+x@velo-libre.example");
    expect(dovecotPasswdField(H2)).toBe(H2);
    expect(mailAddress("2001:db8:0:0::25", "postfix")).toBe("[2001:db8::25]");
    expect(relayhost("smtp.relay.example")).toBe("[smtp.relay.example]");
  });
});

describe("the DKIM record", () => {
  it("is the public key in base64 after v=DKIM1; k=rsa;", () => {
    const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const pem = publicKey.export({ type: "spki", format: "pem" }).toString();
    const v = dkimRecordValue(pem);
    expect(v).toMatch(/^v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA[A-Za-z0-9+/]+={0,2}$/);
    expect(v).not.toContain("\n");
  });
  it("refuses what is not a key", () => {
    expect(() => dkimRecordValue("-----BEGIN PUBLIC KEY-----\nnot base64 ;\n-----END PUBLIC KEY-----")).toThrow(/not an RSA public key/);
    expect(() => dkimRecordValue("AAAA")).toThrow(/not an RSA public key/);
  });
});
