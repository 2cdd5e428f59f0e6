// Unit tier: SRS for forwards (docs/architecture.md, "Mail", "SRS"). What Postfix and postsrsd are
// told for a given data tree (the daemons run them in tests/mail-daemons.test.ts and in the
// multi-host lab), the SPF derived for the SRS domain, and the values refused.
import { describe, expect, it } from "vitest";
import { loadModel } from "../lib/check/build";
import { formatDiagnostic } from "../lib/load/diagnostic";
import { MAIL_SRS, mailPlan } from "../lib/model/mail";
import type { ModelRecord } from "../lib/model/types";
import { UnsafeValueError } from "../lib/render/escape";
import { MAIL_SET_PATHS, mailSetFiles, postsrsdArgs, renderMailFiles } from "../lib/render/mail";
import { MAIL_SET_LINKS } from "../lib/lab/mail-set-aside";
import { baseFiles, inventoryWithMailHost, writeTree } from "./helpers/data-tree";

const valueOf = (r: ModelRecord) => ("value" in r ? String(r.value) : "");
const H1 = "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$W0sZ5L+y4MqCgBYIwug8AQ$af4YQ6pd6/Gh8C98+tNSLpk7wbxdtpSe7Zws4frieNY";

function model(extra: Record<string, string> = {}, mailSettings = '{ relay: "smtp.relay.example:587" }') {
  const files = {
    "Pulumi.test.yaml": inventoryWithMailHost(mailSettings),
    "zones/velo-libre.example.yaml": "owner: velo-libre\n",
    "zones/ondes.example.yaml": "owner: ondes\n",
    "members/velo-libre/member.yaml": `${baseFiles()["members/velo-libre/member.yaml"]}mail:
  - domain: velo-libre.example
    mailboxes:
      - { local: contact, password_hash: "${H1}" }
    aliases:
      - { local: atelier, to: [mecano@example.net] }
`,
    "members/ondes/member.yaml": `handle: ondes\nname: Ondes\ncontact: { email: a@ondes.example }\nstatus: active\nmail:\n  - domain: ondes.example\n    mailboxes:\n      - { local: radio, password_hash: "${H1}" }\n`,
    ...extra,
  };
  const r = loadModel(writeTree(files), "test");
  return r;
}

function okModel(extra: Record<string, string> = {}, mailSettings?: string) {
  const { model: m, errors } = model(extra, mailSettings);
  if (!m) throw new Error(errors.map((e) => formatDiagnostic(e)).join("\n"));
  return m;
}

describe("SRS for forwards: Postfix's and postsrsd's files", () => {
  const plan = mailPlan(okModel(), "mx1");
  const f = renderMailFiles(plan, 5000, 1024, "hostmaster@globenet.example");
  const main = f.postfix["main.cf"];
  const master = f.postfix["master.cf"];
  const setting = (name: string) => new RegExp(`^${name} = (.*)$`, "m").exec(main)?.[1];

  it("the SRS domain is the mail host's public name, postsrsd on Debian's loopback ports", () => {
    expect(plan.srs).toEqual({ domain: "mail.globenet.example", ...MAIL_SRS });
    expect(mailPlan(okModel({}, "{ public_name: mx.globenet.example }"), "mx1").srs.domain).toBe("mx.globenet.example");
  });

  /** What Postfix's regexp table answers for a lookup key (the first matching line, case-insensitive as Postfix's default). */
  const lookup = (key: string) => {
    for (const l of f.srs["direct-senders.regexp"].split("\n")) {
      const m = /^\/(.*)\/ (\S+)$/.exec(l);
      if (m && new RegExp(m[1] as string, "i").test(key)) return m[2];
    }
    return undefined;
  };
  // Which sender leaves directly (DUNNO: the global default_transport, the relay) and which goes to the re-injection.
  it.each([
    ["<>", "DUNNO", "a bounce (Postfix's lookup key for the null sender)"],
    ["", undefined, "a bounce, if Postfix passed an empty key: not found, the global default_transport"],
    ["MAILER-DAEMON", undefined, "any key without @: not found"],
    ["SRS0=dArG=JY=example.org=someone@mail.globenet.example", "DUNNO", "a sender already rewritten: never re-injected twice"],
    ["double-bounce@mail.globenet.example", "DUNNO", "Postfix's own notices"],
    ["contact@velo-libre.example", "DUNNO", "a member's own address (its submission; its SPF covers it)"],
    ["Radio@Ondes.Example", "DUNNO", "another member's domain, any case"],
    ["someone@example.org", "globenet-srs:[127.0.0.1]:10026", "an outside sender: its mail for outside is a forward"],
    ["someone@velo-libre.example.evil.example", "globenet-srs:[127.0.0.1]:10026", "a look-alike of a member's domain"],
    ["someone@mail.globenet.example.evil.example", "globenet-srs:[127.0.0.1]:10026", "a look-alike of the SRS domain"],
  ] as [string, string | undefined, string][])("direct-senders: %s → %s (%s)", (key, want) => {
    expect(lookup(key)).toBe(want);
  });

  it("one regexp table (the full address is the first key tried: a static fallback in a second table would answer before a hash map saw @domain)", () => {
    expect(setting("sender_dependent_default_transport_maps")).toBe("regexp:/etc/globenet/mail/conf/postfix/maps/direct-senders.regexp");
    expect(f.srs["direct-senders.regexp"].split("\n").filter((l) => l.startsWith("/")).pop()).toBe("/@/ globenet-srs:[127.0.0.1]:10026");
    // The global transport and relay stay as they were for everything else.
    expect(setting("relayhost")).toBe("[smtp.relay.example]:587");
    expect(setting("default_transport")).toBeUndefined();
  });

  it("only the re-injection's cleanup rewrites senders (postsrsd's forward table); the main cleanup never does, so local deliveries keep theirs", () => {
    expect(setting("sender_canonical_maps")).toBeUndefined();
    expect(main).not.toMatch(/tcp:127\.0\.0\.1:10001/);
    expect(master).toMatch(/^127\.0\.0\.1:10026 inet .* smtpd\n(  -o .*\n)*  -o cleanup_service_name=globenet-srs-cleanup\n/m);
    expect(master).toMatch(/^globenet-srs-cleanup unix .* cleanup\n(  -o .*\n)*  -o sender_canonical_maps=tcp:127\.0\.0\.1:10001\n  -o sender_canonical_classes=envelope_sender\n/m);
    // From the loopback: with one address in inet_interfaces Postfix's client would leave from it, and the re-injection (mynetworks only) refused it (the lab's first run).
    expect(master).toMatch(/^globenet-srs unix .* smtp\n  -o syslog_name=postfix\/srs\n  -o smtp_bind_address=127\.0\.0\.1\n  -o smtp_bind_address6=::1\n/m);
  });

  it("the re-injection listens on the loopback only, takes mail from it only, without TLS, login or milter, under its own name (no loop refused)", () => {
    const block = /^127\.0\.0\.1:10026 inet[^\n]*\n((?: {2}-o [^\n]*\n)*)/m.exec(master)?.[1] ?? "";
    for (const o of ["smtpd_client_restrictions=permit_mynetworks,reject", "smtpd_relay_restrictions=permit_mynetworks,reject", "smtpd_recipient_restrictions=permit_mynetworks,reject", "smtpd_sasl_auth_enable=no", "smtpd_milters=", "myhostname=srs.localhost"]) expect(block).toContain(`  -o ${o}\n`);
    // No other listener of master.cf is on the loopback; the public ones are the host's addresses.
    expect(master.split("\n").filter((l) => /^\S*127\.0\.0\.1:\d+ inet/.test(l))).toEqual(["127.0.0.1:10026 inet n   -       n       -       -       smtpd"]);
    expect(setting("mynetworks")).toBe("127.0.0.0/8 [::1]/128");
  });

  it("bounces to the SRS domain: a virtual alias domain whose addresses only postsrsd's reverse table knows, asked only for SRS addresses of that domain", () => {
    expect(setting("virtual_alias_domains")).toBe("mail.globenet.example");
    expect(setting("recipient_canonical_maps")).toBe("pipemap:{regexp:/etc/globenet/mail/conf/postfix/maps/srs-reverse.regexp, tcp:127.0.0.1:10002}");
    expect(setting("recipient_canonical_classes")).toBe("envelope_recipient");
    const re = f.srs["srs-reverse.regexp"].split("\n").filter((l) => l.startsWith("/"));
    expect(re).toEqual(["/^(srs[01][-=+].*@mail\\.globenet\\.example)$/ ${1}"]);
    // The pattern as Postfix reads it (case-insensitive by default): SRS0 and SRS1 of our domain only.
    const rx = new RegExp(/^\/(.*)\/ /.exec(re[0] as string)?.[1] ?? "", "i");
    for (const [a, hit] of [
      ["SRS0=dArG=JY=example.org=someone@mail.globenet.example", true],
      ["srs1=abcd=other.example==AbCd=JY=example.org=someone@mail.globenet.example", true],
      ["SRS0=dArG=JY=example.org=someone@velo-libre.example", false],
      ["contact@velo-libre.example", false],
      ["SRS0=x@mail.globenet.example.evil.example", false],
    ] as const)
      expect(rx.test(a), a).toBe(hit);
  });

  it("the SRS domain's RFC 2142 addresses are Globenet's, like every domain's", () => {
    for (const l of ["postmaster", "abuse", "hostmaster", "mailer-daemon"]) expect(f.maps.aliases).toContain(`${l}@mail.globenet.example hostmaster@globenet.example\n`);
  });

  it("Debian's /etc/default/postsrsd: the domain, the loopback, the ports, Debian's secret file (its path, never a secret), and the lab's reading of it is Debian's launcher's", () => {
    const d = f.srs["postsrsd.default"];
    expect(d).toContain("SRS_DOMAIN=mail.globenet.example\n");
    expect(d).toContain("SRS_LISTEN_ADDR=127.0.0.1\n");
    expect(d).toContain("SRS_SECRET=/etc/postsrsd.secret\n");
    expect(d.split("\n").filter((l) => l && !l.startsWith("#")).every((l) => /^[A-Z_]+=[A-Za-z0-9._/=:-]*$/.test(l))).toBe(true);
    expect(postsrsdArgs(d)).toEqual(["-f10001", "-r10002", "-dmail.globenet.example", "-s/etc/postsrsd.secret", "-a=", "-n4", "-N4", "-upostsrsd", "-l127.0.0.1", "-c/var/lib/postsrsd", "-X"]);
  });

  it("the set holds the new files, and links Debian's default file like the daemons' configuration (the lab puts the same list back)", () => {
    const files = mailSetFiles(f);
    for (const p of ["postfix/maps/direct-senders.regexp", "postfix/maps/srs-reverse.regexp", "postsrsd/postsrsd.default"]) {
      expect(MAIL_SET_PATHS).toContain(p);
      expect(files[p]).toBeTruthy();
    }
    expect(MAIL_SET_LINKS).toContain("/etc/default/postsrsd");
  });

  it.each([
    ["a listen address off the loopback", { listen: "192.0.2.25" }, /only the host's IPv4 loopback/],
    ["a port out of range", { reinjectPort: 70000 }, /not a TCP port/],
    ["a secret path with a space", { secret: "/etc/post srsd.secret" }, /not an absolute path/],
  ])("refused: %s", (_what, srs, why) => {
    const bad = mailPlan(okModel(), "mx1", { srs });
    expect(() => renderMailFiles(bad, 5000, 1024, "hostmaster@globenet.example")).toThrow(UnsafeValueError);
    expect(() => renderMailFiles(bad, 5000, 1024, "hostmaster@globenet.example")).toThrow(why);
  });

  it.each([
    ["a line that is not KEY=word", "SRS_DOMAIN=a.example; rm -rf /\n", /only KEY=word lines/],
    ["a missing setting", "SRS_DOMAIN=a.example\n", /SRS_FORWARD_PORT is missing/],
  ])("the lab refuses a default file with %s", (_what, text, why) => {
    expect(() => postsrsdArgs(text)).toThrow(why);
  });
});

describe("SRS for forwards: the SRS domain's SPF", () => {
  const zone = "owner: globenet\n";
  it("derived at the public name when we serve its zone: the host's own addresses (a), once", () => {
    const m = okModel({ "zones/globenet.example.yaml": zone });
    const recs = m.zones.find((z) => z.name === "globenet.example")?.records ?? [];
    expect(recs.filter((r) => r.type === "TXT" && /^v=spf1/.test(valueOf(r))).map((r) => [r.name, valueOf(r), r.origin])).toEqual([["mail", "v=spf1 a -all", "mail"]]);
    // The host's A/AAAA the `a` mechanism reads are derived at the same name.
    expect(recs.filter((r) => r.name === "mail" && (r.type === "A" || r.type === "AAAA")).map((r) => valueOf(r)).sort()).toEqual(["192.0.2.25", "2001:db8:1::25"]);
  });

  it("a hand-written SPF at the public name is an error naming the derived one", () => {
    const r = model({ "zones/globenet.example.yaml": `${zone}records:\n  - { name: mail, type: TXT, value: "v=spf1 ip4:192.0.2.25 -all" }\n` });
    const text = r.errors.map((e) => formatDiagnostic(e)).join("\n");
    expect(text).toMatch(/zones\/globenet\.example\.yaml:3:\d+ .*collides with the SPF record derived at mail\.globenet\.example from SRS: forwards from mx1 leave with a sender at mail\.globenet\.example/);
  });

  it("no zone of ours holds the public name: nothing derived (its SPF is the operator's)", () => {
    const m = okModel({}, "{ public_name: mx.elsewhere.example }");
    expect(mailPlan(m, "mx1").srs.domain).toBe("mx.elsewhere.example");
    expect(m.zones.flatMap((z) => z.records).filter((r) => r.type === "TXT" && valueOf(r) === "v=spf1 a -all")).toEqual([]);
  });
});
