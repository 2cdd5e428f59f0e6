/**
 * globenet:monitor:AlertBridge over SSH on this machine (a throwaway sshd, no systemd here): the
 * bridge's unit and its environment file with the GitLab token, root:root 0600; the token never
 * in any process's argv while the apply runs (every /proc/<pid>/cmdline sampled), never in the
 * outputs but as a secret, never in a drift message or a refusal; read sees a changed mode and a
 * changed file; delete removes both. The systemd start (daemon-reload, enable, restart) cannot
 * run here (no systemd as PID 1): the apply says so; the unit passes systemd-analyze verify in
 * tests/monitoring-checkers.test.ts.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync, chmodSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { alertBridgeType } from "../provider/resources/alert-bridge";
import { ALERT_BRIDGE_ENV, ALERT_BRIDGE_UNIT, renderAlertBridgeEnv, renderAlertBridgeUnit } from "../lib/render/monitoring-units";
import { startSshd, type Sshd } from "./helpers/sshd";
import { requireRoot, requireTools } from "./helpers/tools";

const ok = requireTools("sshd", "ssh-keygen") && requireRoot("the bridge's files are root's, written by the provider as root");
const UNIT_FILE = `/etc/systemd/system/${ALERT_BRIDGE_UNIT}`;
const TOKEN = `glpat-${Math.random().toString(36).slice(2)}abcdefgh`;

describe.skipIf(!ok)("AlertBridge over SSH: the token on stdin into a root 0600 file, nowhere else", () => {
  let sshd: Sshd | undefined;
  const target = () => ({ name: "mon1", address: "127.0.0.1", port: sshd?.port ?? 0, user: "root", hostKey: sshd?.hostKey ?? "" });
  const unit = renderAlertBridgeUnit({ monitor: { name: "mon1" }, settings: {} } as unknown as Parameters<typeof renderAlertBridgeUnit>[0]) as string;
  const env = renderAlertBridgeEnv({ api: "https://gitlab.example/api/v4", project: "42", token: TOKEN });
  let hadEnv = false;
  let hadUnit = false;

  beforeAll(async () => {
    hadEnv = existsSync(ALERT_BRIDGE_ENV);
    hadUnit = existsSync(UNIT_FILE);
    if (hadEnv || hadUnit) throw new Error(`${ALERT_BRIDGE_ENV} or ${UNIT_FILE} exists on this machine: this test would clobber it`);
    sshd = await startSshd();
    process.env.GLOBENET_SSH_KEY_FILE = sshd.keyFile;
  });
  afterAll(async () => {
    rmSync(ALERT_BRIDGE_ENV, { force: true });
    rmSync(UNIT_FILE, { force: true });
    await sshd?.stop();
  });

  it("check refuses a unit holding the token and a bad environment file, without showing the token", () => {
    const failures = alertBridgeType.check({ target: target(), unit: `${unit}Environment=GITLAB_API_TOKEN=${TOKEN}\n`, env: `${env}LD_PRELOAD=/tmp/x.so\n` }).failures ?? [];
    expect(failures.map((f) => f.property)).toEqual(["unit", "env"]);
    expect(JSON.stringify(failures)).not.toContain(TOKEN);
    expect(alertBridgeType.check({ target: target(), unit, env }).failures).toBeUndefined();
  });

  it("create writes both files (env root:root 0600) with the token never in argv; read finds no drift, then a changed mode and file; delete removes both", async () => {
    // Every process's command line, sampled while the apply runs (ssh, sshd, sudo, bash, timeout…).
    const leaks: string[] = [];
    const sample = () => {
      for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
        try {
          const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
          if (cmd.includes(TOKEN)) leaks.push(`${pid}: ${cmd.replace(/\0/g, " ").slice(0, 200)}`);
        } catch {
          // gone meanwhile
        }
      }
    };
    const timer = setInterval(sample, 5);
    const said: string[] = [];
    const notes = vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void said.push(a.map(String).join(" ")));
    let created: Awaited<ReturnType<typeof alertBridgeType.create>>;
    try {
      created = await alertBridgeType.create({ target: target(), unit, env });
    } finally {
      clearInterval(timer);
      notes.mockRestore();
    }
    expect(leaks).toEqual([]);
    expect(said.join("\n")).toContain("systemd does not run on this host");
    // The checkout the unit runs from is not deployed by the apply: the apply says what is missing (none here).
    expect(existsSync("/opt/globenet-infra")).toBe(false);
    expect(said.join("\n")).toContain("the checkout of the bridge is incomplete (missing: /opt/globenet-infra/lib/cli/main.ts /opt/globenet-infra/node_modules/tsx/dist/cli.mjs");
    expect(said.join("\n")).toContain("git clone <this repository> /opt/globenet-infra; cd /opt/globenet-infra && npm ci");
    expect(said.join("\n")).not.toContain(TOKEN);
    const st = statSync(ALERT_BRIDGE_ENV);
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([0, 0, 0o600]);
    expect(readFileSync(ALERT_BRIDGE_ENV, "utf8")).toBe(env);
    expect(readFileSync(UNIT_FILE, "utf8")).toBe(unit);
    expect(readFileSync(UNIT_FILE, "utf8")).not.toContain(TOKEN);
    // The token is in the outputs only as a secret (the state keeps it encrypted).
    const { outs } = created;
    expect(JSON.stringify({ ...outs, env: undefined })).not.toContain(TOKEN);
    expect((outs.env as unknown as Record<string, unknown>).value).toBe(env);
    expect(Object.keys(outs.env as object)).toContain("4dabf18193072939515e22adb298388d");

    expect((await alertBridgeType.read(created.id, outs))?.drift).toEqual([]);
    chmodSync(ALERT_BRIDGE_ENV, 0o644);
    writeFileSync(UNIT_FILE, unit.replace("Restart=on-failure", "Restart=no"));
    const drift = (await alertBridgeType.read(created.id, outs))?.drift ?? [];
    expect(drift).toEqual([`${UNIT_FILE} differs from what was written`, `${ALERT_BRIDGE_ENV} is root:root 644, not root:root 600`]);
    expect(drift.join("\n")).not.toContain(TOKEN);
    // The next apply puts both back.
    await alertBridgeType.update(created.id, outs, { target: target(), unit, env });
    expect(statSync(ALERT_BRIDGE_ENV).mode & 0o777).toBe(0o600);
    expect((await alertBridgeType.read(created.id, outs))?.drift).toEqual([]);

    await alertBridgeType.delete(created.id, outs);
    expect(existsSync(ALERT_BRIDGE_ENV)).toBe(false);
    expect(existsSync(UNIT_FILE)).toBe(false);
    expect(await alertBridgeType.read(created.id, outs)).toBeUndefined();
  }, 120_000);
});
