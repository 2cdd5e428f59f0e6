import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { comm, pidAlive, sessionOf, sleep, tcpHello, waitFor } from "../lib/base/proc";
import { detachedChild, leftoverHolders, record, stopDaemon, type LabDaemon } from "../lib/lab/daemons";
import { ensureLabDirs, labPaths } from "../lib/lab/paths";
import { acmeDiagnostics } from "../lib/lab/pebble";

// A daemon whose child outlives its master, holding a listening socket and deaf to SIGTERM: what
// the multi-host lab once met with Apache (a www-data child left with parent 1 kept web1's 80
// and 443, and the next start of Apache failed).
const CHILD = `
const s = require("node:net").createServer().listen(0, "127.0.0.1", () => {
  require("node:fs").writeFileSync(process.argv[1], String(s.address().port) + " " + process.pid);
});
process.on("SIGTERM", () => {});
`;

const dirs: string[] = [];
const pids: number[] = [];
afterEach(() => {
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function daemonWithStubbornChild(ownSession: boolean) {
  const root = mkdtempSync(join(tmpdir(), "globenet-stop-"));
  dirs.push(root);
  const p = labPaths(root);
  ensureLabDirs(p);
  const info = join(root, "child");
  const d: LabDaemon = {
    name: "stubborn",
    where: "a port of its child's",
    comm: "sleep",
    graceMs: 2_000,
    killAfterGrace: true,
    ownSession,
    running: async () => undefined,
    start: async () => {
      const c = detachedChild(p, "stubborn", "bash", ["-c", `"$0" -e "$1" "$2" & exec sleep 300`, process.execPath, CHILD, info]);
      pids.push(c.pid);
      return c.pid;
    },
  };
  const master = await d.start(() => {});
  const child = await waitFor(() => {
    try {
      const [port, pid] = readFileSync(info, "utf8").split(" ").map(Number);
      return port && pid ? { port, pid } : undefined;
    } catch {
      return undefined;
    }
  }, 10_000);
  if (!child) throw new Error("the stubborn child did not start");
  pids.push(child.pid);
  await waitFor(() => readFileSync(`/proc/${master}/comm`, "utf8").trim() === "sleep", 5_000, 20);
  record(p, d.name, master);
  return { p, d, master, child };
}

describe("stopDaemon: what is left of the daemon's session", () => {
  it("a daemon that leads its own session: the child that outlived its master is stopped too, and its port is free", async () => {
    const { p, d, master, child } = await daemonWithStubbornChild(true);
    expect(sessionOf(master)).toBe(master);
    expect(sessionOf(child.pid)).toBe(master);
    expect(await tcpHello("127.0.0.1", child.port, 500)).toBe("");
    const outcome = await stopDaemon(p, d);
    expect(outcome).toEqual({ pid: master, result: "stopped" });
    expect(pidAlive(master)).toBe(false);
    expect(pidAlive(child.pid)).toBe(false);
    expect(await tcpHello("127.0.0.1", child.port, 500)).toBeUndefined();
  }, 30_000);

  it("without ownSession only the recorded master is stopped (the child lives on, as it did in the lab): the case above is not luck", async () => {
    const { p, d, master, child } = await daemonWithStubbornChild(false);
    expect((await stopDaemon(p, d)).result).toBe("stopped");
    expect(pidAlive(master)).toBe(false);
    await sleep(300);
    expect(pidAlive(child.pid)).toBe(true);
    expect(await tcpHello("127.0.0.1", child.port, 500)).toBe("");
  }, 30_000);

  it("a process of another session is left alone", async () => {
    const dir = mkdtempSync(join(tmpdir(), "globenet-other-"));
    dirs.push(dir);
    const op = labPaths(dir);
    ensureLabDirs(op);
    const other = detachedChild(op, "other", "sleep", ["300"]);
    pids.push(other.pid);
    const { p, d } = await daemonWithStubbornChild(true);
    expect((await stopDaemon(p, d)).result).toBe("stopped");
    expect(pidAlive(other.pid)).toBe(true);
  }, 30_000);
});

describe("leftoverHolders: which holders of a lab host's ports are the daemon's own leftovers", () => {
  it("only live processes whose command is the daemon's, whatever ss says", () => {
    const me = process.pid;
    const mine = comm(me);
    const ss = `LISTEN 0 511 192.0.2.10:80 0.0.0.0:* users:(("${mine}",pid=${me},fd=3),("${mine}",pid=${me},fd=4))\nLISTEN 0 511 192.0.2.10:443 0.0.0.0:* users:(("apache2",pid=999999999,fd=4))`;
    expect(leftoverHolders(ss, mine)).toEqual([me]);
    // ss's name is not trusted: the pid's command is read from /proc.
    expect(leftoverHolders(ss.replaceAll(`"${mine}"`, '"apache2"'), "apache2")).toEqual([]);
    expect(leftoverHolders("", mine)).toEqual([]);
  });
});

describe("acmeDiagnostics: what the logs say when a site has no certificate", () => {
  it("pebble's last lines, only mod_md's lines of Apache's error log, the watcher's; a missing log says nothing", () => {
    const root = mkdtempSync(join(tmpdir(), "globenet-acme-diag-"));
    dirs.push(root);
    const p = labPaths(root);
    ensureLabDirs(p);
    writeFileSync(join(p.log, "pebble.log"), "Pebble 2026/12/07 18:20:01 POST /order-plz\nPebble 2026/12/07 18:20:02 http-01 challenge for velo-libre.example failed: connection refused\n");
    const errorLog = join(root, "error.log");
    writeFileSync(errorLog, "[ssl:warn] AH01909: no match\n[md:error] [pid 9] AH10056: processing velo-libre.example: the ACME server could not be reached\n[core:notice] AH00094: Command line\n");
    const out = acmeDiagnostics(p, errorLog).join("\n");
    expect(out).toContain("http-01 challenge for velo-libre.example failed: connection refused");
    expect(out).toContain("AH10056: processing velo-libre.example");
    expect(out).not.toContain("AH01909");
    expect(out).not.toContain("AH00094");
    expect(out).toMatch(/the md-reload watcher's log .*: nothing/);
  });
});
