import type { Model } from "../model/types";
import { readCerts, type CertStatus } from "./certs";

/**
 * Polls until every certificate is live, or until the sites still without one have each failed
 * for SETTLE_S (mod_md retries on its own; a first failure may just be a zone not loaded yet),
 * or the time is up; the last reading is returned.
 */
const SETTLE_S = 20;
export async function waitForCerts(root: string, model: Model, waitSec: number, onRound?: (rows: CertStatus[]) => void): Promise<CertStatus[]> {
  const t0 = Date.now();
  const until = t0 + waitSec * 1000;
  for (;;) {
    const rows = await readCerts(root, model);
    onRound?.(rows);
    const settled = Date.now() - t0 >= SETTLE_S * 1000 && rows.every((r) => r.state === "ok" || (r.state === "missing" && r.error));
    if (rows.every((r) => r.state === "ok") || settled || Date.now() >= until) return rows;
    await new Promise((r) => setTimeout(r, 2_000));
  }
}
