import { execFileSync } from "node:child_process";
import { chromium, type Browser } from "playwright-core";

/** base64 SHA-256 of the certificate's public key: chromium's --ignore-certificate-errors-spki-list. */
export function spkiPin(certPem: string): string {
  const der = execFileSync("openssl", ["x509", "-pubkey", "-noout"], { input: certPem });
  const raw = execFileSync("openssl", ["pkey", "-pubin", "-outform", "der"], { input: der });
  return execFileSync("openssl", ["dgst", "-sha256", "-binary"], { input: raw }).toString("base64");
}

/**
 * Debian's chromium driven by playwright-core (no browser download), trusting the portal's
 * certificate by its key only (the SPKI pin of the lab-signed certificate, nothing else ignored).
 */
export function launchChromium(certPem: string): Promise<Browser> {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    // root in CI: chromium's sandbox needs an unprivileged user.
    args: ["--no-sandbox", `--ignore-certificate-errors-spki-list=${spkiPin(certPem)}`],
  });
}
