import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostKeyMismatch, MAX_CHANNELS } from "../provider/ssh/connection";
import { pool } from "../provider/ssh/pool";
import { run } from "../provider/ssh/remote";
import { startSshd, type Sshd } from "./helpers/sshd";
import { requireRoot, requireTools } from "./helpers/tools";

const ok = requireTools("sshd", "ssh-keygen") && requireRoot("sshd lets the test key in as root");

describe.skipIf(!ok)("provider SSH layer against a real sshd", () => {
  let sshd: Sshd;
  const target = () => ({ name: "lab", address: "127.0.0.1", port: sshd.port, user: "root", hostKey: sshd.hostKey });
  beforeAll(async () => {
    sshd = await startSshd();
    process.env.GLOBENET_SSH_KEY_FILE = sshd.keyFile;
  });
  afterAll(async () => {
    await pool.close();
    await sshd?.stop();
  });

  it("runs a constant script with quoted arguments and stdin, as data", async () => {
    const nasty = `a'b"c$(touch /tmp/pwned)\`x\`;\n`;
    const r = await run(target(), 'printf "%s|" "$1"; cat', { args: [nasty], stdin: "from stdin" });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${nasty}|from stdin`);
  });

  it("reports a failing step with its output, and hides secrets from the message", async () => {
    await expect(run(target(), 'echo "bad thing with $(cat)" >&2; exit 3', { stdin: "hunter2", what: "the test step" }, ["hunter2"])).rejects.toThrow(/lab: the test step failed \(exit 3\):\nbad thing with \[secret\]/);
  });

  it("reuses one connection per host and opens at most 8 channels at once", async () => {
    await pool.close();
    const script = 'n=$(ls /proc | wc -l); echo start; sleep 0.3; echo end';
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 16 }, () => run(target(), script)));
    const elapsed = Date.now() - t0;
    expect(pool.size).toBe(1);
    expect(MAX_CHANNELS).toBe(8);
    // 16 jobs of 0.3 s through 8 channels take at least two rounds.
    expect(elapsed).toBeGreaterThanOrEqual(600);
  });

  it("refuses a host whose key is not the pinned one, before running anything", async () => {
    await pool.close();
    const marker = `/tmp/globenet-should-not-exist-${process.pid}`;
    const bad = { ...target(), hostKey: sshd.otherHostKey };
    await expect(run(bad, `touch ${marker}`)).rejects.toThrow(HostKeyMismatch);
    await expect(run(bad, `touch ${marker}`)).rejects.toThrow(/inventory pins SHA256:.*refusing to connect, nothing was done/);
    const check = await run(target(), `test -e ${marker} && echo yes || echo no`);
    expect(check.stdout.trim()).toBe("no");
  });
});
