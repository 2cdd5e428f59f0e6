/**
 * globenet:hosting:Crontab against a real host: a throwaway sshd on 127.0.0.1 lets the provider
 * in as root, the member is a real unix user made by the Account resource, and Debian's
 * crontab(1) installs what the resource writes. The member's own jobs stay; the block is git's.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeTestAccounts } from "./helpers/test-accounts";
import { tempDir } from "./helpers/temp-dir";
import { renderCronBlock } from "../lib/render/crontab";
import { accountType, type AccountInputs } from "../provider/resources/account";
import { crontabType, type CrontabInputs } from "../provider/resources/crontab";
import { pool } from "../provider/ssh/pool";
import { startSshd, type Sshd } from "./helpers/sshd";
import { requireRoot, requireTools, run } from "./helpers/tools";

const ok = requireTools("sshd", "ssh-keygen", "useradd", "userdel", "groupdel", "crontab", "setpriv", "getent") && requireRoot("the Crontab resource writes a real member's crontab");

const handle = `gtcron-${process.pid}`;
/** A login of this machine that Globenet did not make. */
const alice = `gtcrona-${process.pid}`;
const SPOOL = (h: string) => `/var/spool/cron/crontabs/${h}`;
const OWN = "# my own jobs\n@daily echo mine >> $HOME/mine.log\n";

const sh = (cmd: string, args: string[], input?: string) => run(cmd, args, { timeoutMs: 30_000, ...(input !== undefined ? { input } : {}) });
const tab = (h: string) => sh("crontab", ["-u", h, "-l"]).stdout;

const member = (cron: { schedule: string; command: string; comment?: string }[]) => ({ handle, email: "bureau@velo-libre.example", cron, file: `members/${handle}/member.yaml` });

describe.skipIf(!ok)("globenet:hosting:Crontab against a real host over SSH", () => {
  let sshd: Sshd;
  let account: AccountInputs;
  let inputs: CrontabInputs;

  beforeAll(async () => {
    sshd = await startSshd();
    process.env.GLOBENET_SSH_KEY_FILE = sshd.keyFile;
    const target = { name: "web1", address: "127.0.0.1", port: sshd.port, user: "root", hostKey: sshd.hostKey };
    account = { target, handle, home: `/home/${handle}`, status: "active", sshKeys: [], sites: ["velo.example"], archiveDir: tempDir("globenet-cron-archive-"), diskQuotaMb: 512, inodeQuota: 10_000, homeQuota: "warn", sshd: { dropinDir: sshd.dropinDir, pidFile: sshd.pidFile }, contact: "hostmaster@globenet.example" };
    await accountType.create(account);
    inputs = {
      target,
      handle,
      block: renderCronBlock(member([
        { schedule: "*/15 * * * *", command: "cd ~/sites/velo.example/htdocs && php wp-cron.php", comment: "WordPress" },
        { schedule: "@daily", command: "tar czf ~/backup-$(date +%F).tgz ~/sites" },
      ])),
      active: true,
    };
    expect(sh("crontab", ["-u", handle, "-"], OWN).status).toBe(0);
  });

  afterAll(async () => {
    // The account's delete keeps its site logs (root's only): a test's own are removed here.
    await pool.close();
    await sshd?.stop();
    removeTestAccounts([handle, alice]);
  });

  it("create adds the block after the member's own jobs, % escaped for cron, the spool file the member's", async () => {
    await crontabType.create(inputs);
    const live = tab(handle);
    expect(live.startsWith(OWN)).toBe(true);
    expect(live).toContain("MAILTO=bureau@velo-libre.example\n# WordPress\n*/15 * * * * cd ~/sites/velo.example/htdocs && php wp-cron.php\n");
    expect(live).toContain("@daily tar czf ~/backup-$(date +\\%F).tgz ~/sites\n");
    expect(live.trimEnd().endsWith("# END globenet")).toBe(true);
    expect(sh("stat", ["-c", "%U:%G:%a", SPOOL(handle)]).stdout.trim()).toBe(`${handle}:crontab:600`);
  });

  it("a second apply changes nothing (no block pushed down, no blank line added)", async () => {
    const before = tab(handle);
    await crontabType.update(handle, inputs, inputs);
    expect(tab(handle)).toBe(before);
  });

  it("read sees the member's edit inside the block as drift; update puts git's block back and keeps the member's new job", async () => {
    const edited = tab(handle).replace("*/15 * * * *", "* * * * *").replace(OWN, `${OWN}@hourly echo added >> $HOME/added.log\n`);
    expect(sh("crontab", ["-u", handle, "-"], edited).status).toBe(0);
    const seen = await crontabType.read(handle, inputs);
    expect(seen?.block).not.toBe(inputs.block);
    expect(seen?.block).toContain("* * * * * cd ~/sites");
    expect(crontabType.diff(handle, seen!, inputs).changes).toBe(true);
    await crontabType.update(handle, seen!, inputs);
    const live = tab(handle);
    expect(live).toContain("*/15 * * * * cd ~/sites");
    expect(live).not.toContain("* * * * * cd ~/sites/velo.example/htdocs && php wp-cron.php\n# END");
    expect(live).toContain("@hourly echo added");
    expect((await crontabType.read(handle, inputs))?.block).toBe(inputs.block);
  });

  it("a block cron refuses fails naming cron's reason, and the crontab on the host is unchanged", async () => {
    const before = tab(handle);
    const bad = { ...inputs, block: "# BEGIN globenet: test\n61 * * * * echo never\n# END globenet\n" };
    await expect(crontabType.update(handle, inputs, bad)).rejects.toThrow(/cron refused .*crontab/);
    expect(tab(handle)).toBe(before);
  });

  it("while suspended nothing is written; the block waits in the state", async () => {
    const before = tab(handle);
    const suspended = { ...inputs, active: false, block: renderCronBlock(member([{ schedule: "@hourly", command: "echo later" }])) };
    expect(await crontabType.update(handle, inputs, suspended)).toEqual(suspended);
    expect(tab(handle)).toBe(before);
  });

  it("the provider's check refuses what is not one rendered block", () => {
    for (const block of ["* * * * * echo no markers\n", "# BEGIN globenet\n# END globenet\n# BEGIN globenet\n# END globenet\n", "# BEGIN globenet\n\u0007\n# END globenet\n"]) {
      expect(crontabType.check({ ...inputs, block }).failures?.map((f) => f.property)).toEqual(["block"]);
    }
  });

  it("a user Globenet did not make is refused, and its crontab is untouched", async () => {
    expect(sh("useradd", ["-m", "-s", "/bin/bash", alice]).status).toBe(0);
    expect(sh("crontab", ["-u", alice, "-"], "@daily echo alice\n").status).toBe(0);
    await expect(crontabType.create({ ...inputs, handle: alice })).rejects.toThrow(/was not created by Globenet/);
    expect(tab(alice)).toBe("@daily echo alice\n");
  });

  it("delete removes the block and keeps the member's own jobs", async () => {
    await crontabType.delete(handle, inputs);
    const live = tab(handle);
    expect(live).not.toContain("globenet");
    expect(live.startsWith(OWN)).toBe(true);
    expect(live).toContain("@hourly echo added");
    expect(readFileSync(SPOOL(handle), "utf8")).not.toContain("wp-cron");
  });
});
