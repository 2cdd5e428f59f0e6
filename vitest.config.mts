import { defineConfig } from "vitest/config";

/**
 * Two tiers (docs/architecture.md, "Commands and test tiers"):
 *   unit    no root, no daemon, no engine, no Debian package beyond what `npm ci` brings: the
 *           default for a new file. `npm run test:unit`; files run in parallel.
 *   system  real daemons, the engine (Pulumi CLI), the labs, Debian tools: the files listed
 *           here, one after another (ports and CPU stay calm).
 * `npm test` runs both. tests/test-tiers.test.ts fails when a file that needs root, a daemon
 * or the engine is missing from SYSTEM.
 */
export const SYSTEM = [
  "tests/adopt-engine.test.ts",
  "tests/adopt-legacy-host.test.ts",
  "tests/adopt-secondary.test.ts",
  "tests/ci-apply-drift.test.ts",
  "tests/ci-gitlab.test.ts",
  "tests/db-remote.test.ts",
  "tests/dns-secondary.test.ts",
  "tests/dns-transfer-key-engine.test.ts",
  "tests/engine-e2e.test.ts",
  "tests/file-refs-engine.test.ts",
  "tests/guard-apply.test.ts",
  "tests/guard-engine.test.ts",
  "tests/guard-offline-engine.test.ts",
  "tests/guest-nwfilter.test.ts",
  "tests/import-legacy-host.test.ts",
  "tests/import-live.test.ts",
  "tests/lab-e2e.test.ts",
  "tests/lab-multi.test.ts",
  "tests/lab-tls.test.ts",
  "tests/lab-vps.test.ts",
  "tests/mail-cert.test.ts",
  "tests/mail-daemons.test.ts",
  "tests/mail-monitoring.test.ts",
  "tests/mail-ops.test.ts",
  "tests/monitoring-checkers.test.ts",
  "tests/monitoring-daemons.test.ts",
  "tests/monitoring-rrsig-validity.test.ts",
  "tests/provider-node-exporter.test.ts",
  "tests/portal-browser.test.ts",
  "tests/portal-deploy.test.ts",
  "tests/portal-live-real.test.ts",
  "tests/provider-account.test.ts",
  "tests/provider-backup.test.ts",
  "tests/provider-bind-links.test.ts",
  "tests/provider-crontab.test.ts",
  "tests/provider-database.test.ts",
  "tests/provider-dkim-key.test.ts",
  "tests/provider-maildirs.test.ts",
  "tests/provider-file-set.test.ts",
  "tests/provider-alert-bridge.test.ts",
  "tests/provider-guest.test.ts",
  "tests/provider-quota.test.ts",
  "tests/provider-sftp.test.ts",
  "tests/provider-sshd-reloads.test.ts",
  "tests/provider-ssh.test.ts",
  "tests/render-web-systemd.test.ts",
  "tests/shards-engine.test.ts",
  "tests/shards-secrets-engine.test.ts",
  "tests/state-postgres.test.ts",
  "tests/status-slow-queries.test.ts",
  "tests/tier2-rendered.test.ts",
  "tests/tools.test.ts",
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    setupFiles: ["tests/setup/temp-dirs.ts"],
    reporters: ["default"],
    projects: [
      {
        extends: true,
        // isolate: false shares loaded modules between the files of a worker: the unit tier went
        // from 71 s to 34 s wall on 2 cores (fresh clone). Unit files restore what they change
        // (process.env, spies), so sharing is safe; a file that cannot must go to SYSTEM.
        test: { name: "unit", include: ["tests/**/*.test.ts"], exclude: SYSTEM, isolate: false, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        // After the unit tier, so no unit file competes with a daemon for CPU or a port.
        test: { name: "system", include: SYSTEM, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
