/**
 * System tier: the mail host's certificate from ACME (lib/render/mail.ts renderMailAcme, the
 * script lib/render/scripts/mail-cert.sh). systemd's own verifier on the service and timer the
 * mail set installs; the script's decisions (a first certificate asked with `lego run`, later
 * ones with `lego renew`, installed only when lego's differs, the running daemons reloaded and a
 * stopped one never started, a failure loud and the live certificate untouched) with stand-ins
 * for lego, postfix and doveadm first on PATH that record how they were called. The real lego
 * against the lab's pebble, and the daemons serving what it got, are in tests/lab-multi.test.ts.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mailPlan } from "../lib/model/mail";
import { renderMailAcme } from "../lib/render/mail";
import { loadModel } from "../lib/check/build";
import { formatDiagnostic } from "../lib/load/diagnostic";
import { inventoryWithMailHost, writeTree } from "./helpers/data-tree";
import { requireTools, run } from "./helpers/tools";

function plan(paths: { tlsCert: string; tlsKey: string; acmeDir: string }) {
  const { model, errors } = loadModel(writeTree({ "Pulumi.test.yaml": inventoryWithMailHost() }), "test");
  if (!model) throw new Error(errors.map((e) => formatDiagnostic(e)).join("\n"));
  return mailPlan(model, "mx1", { paths });
}

describe.skipIf(!requireTools("systemd-analyze", "bash", "openssl"))("the mail host's certificate from ACME", () => {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "globenet-mail-cert-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("the service and timer the mail set installs pass systemd-analyze verify; a service whose command is missing is refused", () => {
    const files = renderMailAcme(plan({ tlsCert: "/etc/globenet/mail/tls/fullchain.pem", tlsKey: "/etc/globenet/mail/tls/privkey.pem", acmeDir: "/var/lib/globenet/mail-acme" }));
    const units = mkdtempSync(join(dir, "u-"));
    const env = { ...process.env, SYSTEMD_UNIT_PATH: `${units}:`, SYSTEMD_LOG_LEVEL: "notice" };
    const verify = (service: string) => {
      writeFileSync(join(units, "globenet-mail-cert.service"), service);
      writeFileSync(join(units, "globenet-mail-cert.timer"), files["globenet-mail-cert.timer"]);
      return run("systemd-analyze", ["verify", join(units, "globenet-mail-cert.service"), join(units, "globenet-mail-cert.timer")], { timeoutMs: 60_000, env });
    };
    const good = verify(files["globenet-mail-cert.service"]);
    expect(good.status, good.stdout + good.stderr).toBe(0);
    const bad = verify(files["globenet-mail-cert.service"].replace("ExecStart=/bin/bash ", "ExecStart=/bin/bash-missing "));
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/bash-missing/);
  });

  it("first run asks (lego run) and installs key 0600 and certificate, reloading the running Postfix and leaving the stopped Dovecot stopped; nothing due: nothing installed or reloaded; renewed: installed and reloaded; lego failing: exit 1, the live certificate untouched", () => {
    const d = mkdtempSync(join(dir, "run-"));
    const bin = join(d, "bin");
    mkdirSync(bin);
    const calls = join(d, "calls");
    const tls = join(d, "tls");
    const store = join(d, "store");
    // The stand-in lego writes a certificate named as lego names it, whose text says which issue it is (LEGO_ISSUE).
    writeFileSync(
      join(bin, "lego"),
      `#!/bin/bash\nprintf 'lego %s\\n' "$*" >> ${calls}\nprintf 'trust=%s\\n' "\${LEGO_CA_CERTIFICATES:-}" >> ${calls}\n[ "\${LEGO_FAIL:-}" = 1 ] && exit 1\npath=""; while [ $# -gt 0 ]; do [ "$1" = --path ] && path=$2; shift; done\nmkdir -p "$path/certificates"\nprintf 'CERT %s\\n' "$LEGO_ISSUE" > "$path/certificates/mail.globenet.example.crt"\nprintf 'KEY %s\\n' "$LEGO_ISSUE" > "$path/certificates/mail.globenet.example.key"\n`,
    );
    // Postfix runs (status 0) and records its reload; Dovecot does not (doveadm reload fails) and must stay so.
    writeFileSync(join(bin, "postfix"), `#!/bin/bash\nprintf 'postfix %s\\n' "$*" >> ${calls}\nexit 0\n`);
    writeFileSync(join(bin, "doveadm"), `#!/bin/bash\nprintf 'doveadm %s\\n' "$*" >> ${calls}\nexit 1\n`);
    writeFileSync(join(bin, "dovecot"), `#!/bin/bash\nprintf 'dovecot STARTED %s\\n' "$*" >> ${calls}\n`);
    for (const f of ["lego", "postfix", "doveadm", "dovecot"]) chmodSync(join(bin, f), 0o755);
    const p = plan({ tlsCert: join(tls, "fullchain.pem"), tlsKey: join(tls, "privkey.pem"), acmeDir: store });
    const files = renderMailAcme({ ...p, acme: { ...p.acme!, caTrust: "/var/lib/globenet-lab/acme/pebble-listener.pem" } });
    writeFileSync(join(d, "mail-cert.sh"), files["mail-cert.sh"]);
    writeFileSync(join(d, "mail-cert.conf"), files["mail-cert.conf"]);
    const script = (issue: string, extra: Record<string, string> = {}, conf = join(d, "mail-cert.conf")) => {
      writeFileSync(calls, "");
      const r = run("bash", [join(d, "mail-cert.sh"), conf], { timeoutMs: 30_000, env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, LEGO_ISSUE: issue, ...extra } });
      return { ...r, calls: readFileSync(calls, "utf8") };
    };

    const first = script("1");
    expect(first.status, first.stderr).toBe(0);
    expect(first.calls).toMatch(/^lego --accept-tos --path \S+ --server https:\/\/acme-v02\.api\.letsencrypt\.org\/directory --email hostmaster@globenet\.example --domains mail\.globenet\.example --key-type rsa2048 --http --http\.port :80 run$/m);
    expect(first.calls).toContain("trust=/var/lib/globenet-lab/acme/pebble-listener.pem\n");
    expect(readFileSync(join(tls, "fullchain.pem"), "utf8")).toBe("CERT 1\n");
    expect(statSync(join(tls, "privkey.pem")).mode & 0o777).toBe(0o600);
    expect(first.calls).toContain("postfix reload\n");
    expect(first.calls).toContain("doveadm reload\n");
    expect(first.calls).not.toContain("STARTED");
    expect(first.stderr).toContain("dovecot is not running: it reads the certificate when it starts");

    const same = script("1");
    expect(same.status, same.stderr).toBe(0);
    expect(same.calls).toMatch(/ renew --days 30 --no-random-sleep$/m);
    expect(same.calls).not.toMatch(/postfix reload|doveadm/);
    expect(same.stderr).toContain("unchanged: nothing reloaded");

    const renewed = script("2");
    expect(renewed.status, renewed.stderr).toBe(0);
    expect(readFileSync(join(tls, "fullchain.pem"), "utf8")).toBe("CERT 2\n");
    expect(readFileSync(join(tls, "privkey.pem"), "utf8")).toBe("KEY 2\n");
    expect(renewed.calls).toContain("postfix reload\n");

    const failed = script("3", { LEGO_FAIL: "1" });
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain("lego could not renew the certificate of mail.globenet.example");
    expect(readFileSync(join(tls, "fullchain.pem"), "utf8")).toBe("CERT 2\n");
    expect(failed.calls).not.toContain("postfix reload");

    // A setting the renderer never writes: refused before lego runs.
    const odd = join(d, "odd.conf");
    writeFileSync(odd, `${files["mail-cert.conf"]}hook=/tmp/x\n`);
    const refused = script("4", {}, odd);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain("unknown setting 'hook'");
    expect(refused.calls).toBe("");
    expect(existsSync(join(store, "certificates"))).toBe(true);
  });
});
