import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { LabError, run } from "../base/proc";
import type { LabPaths } from "../lab/paths";

/**
 * The portal's certificate in the lab: for `localhost` and 127.0.0.1, signed by the portal's own
 * lab CA (.lab/portal/ca/ca.pem, made once; the mail host's certificate comes from pebble, whose
 * root changes at each pebble start, so a browser or curl trusting it would need it again), kept
 * in .lab/portal/tls/. Made again when missing, for other names, or no longer verified by that CA.
 * In prod the portal sits behind Apache, whose certificate is mod_md's.
 */
export interface PortalTls {
  key: string;
  cert: string;
  /** The CA file a client trusts (curl --cacert). */
  caFile: string;
}

/** The CA a client of the lab's portal trusts (curl --cacert, a browser's import). */
export function portalCaFile(p: LabPaths): string {
  return join(p.lab, "portal", "ca", "ca.pem");
}

function ensurePortalCa(p: LabPaths): void {
  const ca = portalCaFile(p);
  const caKey = join(dirname(ca), "ca.key");
  mkdirSync(dirname(ca), { recursive: true, mode: 0o700 });
  if (existsSync(ca) && existsSync(caKey)) return;
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650", "-subj", "/CN=Globenet lab portal CA", "-keyout", caKey, "-out", ca, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], "the lab's portal CA");
}

export const PORTAL_NAMES = ["DNS:localhost", "IP:127.0.0.1"];

export function ensurePortalCert(p: LabPaths): PortalTls {
  ensurePortalCa(p);
  const caFile = portalCaFile(p);
  const caKey = join(dirname(caFile), "ca.key");
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
