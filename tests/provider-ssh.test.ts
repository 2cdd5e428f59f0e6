import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostKeyMismatch, MAX_CHANNELS } from "../provider/ssh/connection";
import { pool } from "../provider/ssh/pool";
import { RemoteTimeout, run, timeoutSeconds, TIMEOUT_DEFAULTS } from "../provider/ssh/remote";
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

  it("a step blocked on a FIFO fails within its bound, names host and step, kills the remote processes, and the connection stays usable", async () => {
    await pool.close();
    const fifo = `/tmp/globenet-fifo-${process.pid}`;
    const tag = `globenet-hang-${process.pid}`;
    // A FIFO where a step reads (what a member can plant in its home): nobody ever writes to it.
    await run(target(), 'rm -f "$1"; mkfifo -m 0666 "$1"', { args: [fifo] });
    const t0 = Date.now();
    // The step and a child of its own both block; the child is tagged so it can be looked for.
    const err = await run(target(), 'bash -c "exec -a $2 sleep 600" & cat "$1"', { args: [fifo, tag], what: "reading the planted file", timeoutMs: 3_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const elapsed = Date.now() - t0;
    expect(err).toBeInstanceOf(RemoteTimeout);
    expect(String((err as Error).message)).toMatch(/^lab: reading the planted file timed out after 3 s and was stopped \(its processes on lab were killed; nothing after it ran\)\. .*Look on lab \(ps, lsof, SHOW PROCESSLIST\), stop or remove what blocks, then run the apply again\./);
    // The remote bound fired (3 s), not only the local grace (15 s more).
    expect(elapsed).toBeGreaterThanOrEqual(3_000);
    expect(elapsed).toBeLessThan(12_000);
    // Nothing of the step is left on the host: not the reader, not its child.
    // (Matched on whole argv words: the checking script's own arguments name them too.)
    const left = await run(target(), 'ps -eo pid=,args= | awk -v t="$1" -v f="$2" \'$2 == t || ($2 == "cat" && $3 == f)\'', { args: [tag, fifo] });
    expect(left.stdout.trim()).toBe("");
    // The same connection carries the next step.
    expect(pool.size).toBe(1);
    expect((await run(target(), "echo still here")).stdout).toBe("still here\n");
    await run(target(), 'rm -f "$1"', { args: [fifo] });
  });

  it("a step's bound comes from its kind, overridable in the environment; a normal step is unaffected", async () => {
    expect(timeoutSeconds("sql", {})).toBe(TIMEOUT_DEFAULTS.sql);
    expect(timeoutSeconds("sql", { GLOBENET_TIMEOUT_SQL: "42" })).toBe(42);
    expect(() => timeoutSeconds("dump", { GLOBENET_TIMEOUT_DUMP: "soon" })).toThrow(/GLOBENET_TIMEOUT_DUMP=soon is not a whole number of seconds from 1 to 604800 \(unset it to use 21600 s\)/);
    process.env.GLOBENET_TIMEOUT_READ = "2";
    try {
      await expect(run(target(), "sleep 30", { what: "a slow read", kind: "read" })).rejects.toThrow(/lab: a slow read timed out after 2 s .*GLOBENET_TIMEOUT_READ=<seconds>/);
      // Within its bound a step runs to its end, exit code and output as before.
      const r = await run(target(), "sleep 1; echo done; exit 3", { kind: "read", check: false });
      expect(r).toEqual({ code: 3, stdout: "done\n", stderr: "" });
    } finally {
      delete process.env.GLOBENET_TIMEOUT_READ;
    }
  });
});
