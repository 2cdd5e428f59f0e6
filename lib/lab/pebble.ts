/**
 * The lab's ACME CA: pebble (Debian package `pebble`, Let's Encrypt's test server) on
 * 127.0.0.1:14000, management API on 127.0.0.1:15000. It resolves names through the lab's BIND
 * (127.0.0.1:53) and validates http-01 on port 80 of the address the zone gives, which is the lab
 * Apache: a site gets a certificate only when the zone in git points its names at the web host.
 *
 * Pebble keeps nothing between runs and makes a new root at each start, so the lab (1) writes
 * that root to .lab/acme/pebble-root.pem for clients (curl --cacert), and (2) empties the lab's
 * mod_md store when it starts pebble, so Apache asks the new pebble instead of keeping
 * certificates nobody can check any more. Pebble's own HTTPS listener uses a certificate the lab
 * makes once (openssl), which the inventory names as acme.ca_trust for mod_md.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:https";
import { dirname, join } from "node:path";
import type { Acme } from "../schema/inventory";
import type { LabPaths } from "./paths";
import { fileTail, LabError, waitFor } from "../base/proc";
import { labHello } from "./reach";
import { bracket } from "./netns";

export const PEBBLE_PORT = 14000;
export const PEBBLE_MANAGEMENT_PORT = 15000;
/** Only a store under this folder is the lab's to empty. */
const LAB_STATE = "/var/lib/globenet-lab/";

/**
 * When a site has no certificate after the lab's wait, what the logs say, printed under the
 * report: pebble's own log (orders, validations and their errors), mod_md's lines in Apache's
 * error log, and the md-reload watcher's. mod_md writes no job.json until its first attempt, so
 * "no certificate yet" alone does not say whether it asked at all.
 */
export function acmeDiagnostics(p: LabPaths, apacheErrorLog = "/var/log/apache2/error.log"): string[] {
  const block = (title: string, file: string, n: number, keep: (l: string) => boolean = () => true) => {
    const lines = fileTail(file, n, (l) => l.trim() !== "" && keep(l)) ?? [];
    return lines.length ? [title, ...lines.map((l) => `  ${l.slice(0, 300)}`)] : [`${title}: nothing`];
  };
  return [
    ...block(`pebble's log (${join(p.log, "pebble.log")}), last lines`, join(p.log, "pebble.log"), 12),
    ...block(`mod_md in ${apacheErrorLog}, last lines`, apacheErrorLog, 12, (l) => /\[md:|mod_md|AH100[0-9]{2}|AH101[0-9]{2}/.test(l)),
    ...block(`the md-reload watcher's log (${join(p.log, "md-reload.log")}), last lines`, join(p.log, "md-reload.log"), 4),
  ];
}

export function pebbleRootFile(p: LabPaths): string {
  return join(p.lab, "acme", "pebble-root.pem");
}

/**
 * Is the stack's CA the lab's pebble? Then the lab runs it: on 127.0.0.1 (single lab) or, given
 * `at`, on that address (the multi-host lab's "ca" namespace).
 */
export function usesPebble(acme: Acme | undefined, at = "127.0.0.1"): acme is Acme & { ca_trust: string } {
  return !!acme && !!acme.ca_trust && new URL(acme.directory).host === `${bracket(at)}:${PEBBLE_PORT}`;
}

/** The address the stack's ACME directory names (where the lab's pebble must listen). */
export function acmeAddress(acme: Acme): string {
  return new URL(acme.directory).hostname.replace(/^\[|\]$/g, "");
}

/** pebble's listener certificate and key beside acme.ca_trust (made once, for `at`: 127.0.0.1 and localhost in the single lab). */
export function ensureListenerCert(acme: Acme & { ca_trust: string }, at = "127.0.0.1"): { cert: string; key: string; made: boolean } {
  const cert = acme.ca_trust;
  const key = cert.replace(/\.pem$/, "") + ".key";
  if (existsSync(cert) && existsSync(key)) {
    // A certificate made for another address (the other topology) is made again for this one.
    const san = spawnSync("openssl", ["x509", "-in", cert, "-noout", "-ext", "subjectAltName"], { encoding: "utf8" }).stdout ?? "";
    if (san.includes(`IP Address:${at}`) || (at.includes(":") && san.toLowerCase().includes("ip address:" + at.toLowerCase()))) return { cert, key, made: false };
  }
  mkdirSync(dirname(cert), { recursive: true, mode: 0o755 });
  const r = spawnSync(
    "openssl",
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "3650", "-subj", "/CN=globenet-infra lab pebble", "-addext", `subjectAltName=IP:${at},DNS:localhost`, "-keyout", key, "-out", cert],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new LabError(`openssl could not make pebble's listener certificate: ${(r.stderr || r.error?.message || "").trim()}`, "install the Debian package openssl (bash scripts/ensure-debs.sh)");
  return { cert, key, made: true };
}

/**
 * How long the multi-host lab's certificates are valid: 30 days (pebble's default is five
 * years), so the monitor host's certificate alert can be crossed by raising monitoring.cert_days
 * above it (tests/lab-multi.test.ts), while mod_md (which renews in the last third) and
 * `status -- certs` (which flags under 20 days) see them as healthy.
 */
export const MULTI_LAB_CERT_VALIDITY_SEC = 30 * 86_400;

export function writePebbleConfig(p: LabPaths, cert: string, key: string, at = "127.0.0.1", validitySec?: number): string {
  const dir = join(p.lab, "acme");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, "pebble.json");
  const config = {
    pebble: {
      listenAddress: `${bracket(at)}:${PEBBLE_PORT}`,
      managementListenAddress: `${bracket(at)}:${PEBBLE_MANAGEMENT_PORT}`,
      certificate: cert,
      privateKey: key,
      // http-01 is checked on port 80 of the name's address: the lab Apache.
      httpPort: 80,
      tlsPort: 443,
      ocspResponderURL: "",
      externalAccountBindingRequired: false,
      ...(validitySec ? { certificateValidityPeriod: validitySec } : {}),
    },
  };
  writeFileSync(file, JSON.stringify(config, null, 2) + "\n");
  return file;
}

/** No random sleeps and no rejected nonces: the lab wants the certificate, not chaos testing. */
export function pebbleEnv(): NodeJS.ProcessEnv {
  return { ...process.env, PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0", PEBBLE_AUTHZREUSE: "0" };
}

function fetchText(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(url, { ca, timeout: 5_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: HTTP ${res.statusCode}`))));
    });
    req.on("timeout", () => req.destroy(new Error(`${url}: no answer in 5 s`)));
    req.on("error", reject);
  });
}

/** Waits for pebble's API, then saves the root it made for this run. */
export async function savePebbleRoot(p: LabPaths, listenerCert: string, caPem: string, at = "127.0.0.1"): Promise<string> {
  const host = bracket(at);
  const up = await waitFor(async () => (await labHello(at, PEBBLE_MANAGEMENT_PORT, 500, "pebble's management API")) !== undefined || undefined, 20_000, 100);
  if (!up) throw new LabError(`pebble does not answer on ${host}:${PEBBLE_MANAGEMENT_PORT} (listener ${listenerCert})`);
  const root = await fetchText(`https://${host}:${PEBBLE_MANAGEMENT_PORT}/roots/0`, caPem);
  if (!root.includes("BEGIN CERTIFICATE")) throw new LabError("pebble's management API gave no root certificate");
  const file = pebbleRootFile(p);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, root);
  return file;
}

/** Empties the lab's mod_md store (a fresh pebble knows none of its accounts or certificates). */
export function resetLabStore(acme: Acme): string | undefined {
  if (!acme.store_dir.startsWith(LAB_STATE) || !existsSync(acme.store_dir)) return undefined;
  rmSync(acme.store_dir, { recursive: true, force: true });
  return acme.store_dir;
}
