import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LabError, run } from "../base/proc";
import { ensureMailCa, mailCaFile } from "../lab/mail";
import type { LabPaths } from "../lab/paths";

/**
 * The portal's certificate in the lab: for `localhost` and 127.0.0.1, signed by the lab's own
 * CA (the one the lab's mail host and its monitoring trust, .lab/mail-ca/ca.pem), kept in
 * .lab/portal/tls/. Made again when missing, for other names, or no longer verified by that CA.
 * In prod the portal sits behind Apache, whose certificate is mod_md's.
 */
export interface PortalTls {
  key: string;
  cert: string;
  /** The CA file a client trusts (curl --cacert). */
  caFile: string;
}

export const PORTAL_NAMES = ["DNS:localhost", "IP:127.0.0.1"];

export function ensurePortalCert(p: LabPaths): PortalTls {
  ensureMailCa(p);
  const caFile = mailCaFile(p);
  const caKey = join(p.lab, "mail-ca", "ca.key");
  const dir = join(p.lab, "portal", "tls");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const key = join(dir, "portal.key");
  const cert = join(dir, "portal.pem");
  const fresh =
    existsSync(key) &&
    existsSync(cert) &&
    run("openssl", ["verify", "-CAfile", caFile, cert]).status === 0 &&
    PORTAL_NAMES.every((n) => run("openssl", ["x509", "-in", cert, "-noout", "-ext", "subjectAltName"]).stdout.includes(n.replace("IP:", "IP Address:")));
  if (!fresh) {
    const csr = join(dir, "portal.csr");
    const ext = join(dir, "portal.ext");
    openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", key, "-out", csr], "the portal's key");
    writeFileSync(ext, `subjectAltName=${PORTAL_NAMES.join(",")}\nextendedKeyUsage=serverAuth\n`);
    openssl(["x509", "-req", "-in", csr, "-CA", caFile, "-CAkey", caKey, "-CAcreateserial", "-days", "30", "-extfile", ext, "-out", cert], "the portal's certificate");
    run("chmod", ["0600", key]);
  }
  return { key: readFileSync(key, "utf8"), cert: readFileSync(cert, "utf8"), caFile };
}

function openssl(args: string[], what: string): void {
  const r = run("openssl", args, { timeoutMs: 60_000 });
  if (r.status !== 0) throw new LabError(`openssl failed making ${what}: ${r.stderr.trim()}`);
}
