/**
 * globenet:mail:DkimKey against a real host: a throwaway sshd on 127.0.0.1 lets the provider in
 * as root, Debian's opendkim-genkey makes the key in /etc/globenet/mail/dkim (the mail host's
 * folder, here this machine's), and only its public half comes back. The key signs a message
 * that verifies (python3-dkim) against the TXT value published from the output. Attacks for
 * real: a key replaced on the host, opened to others, a folder opened, a selector folder made a
 * link; a rotation makes a second key beside the first; delete archives, never destroys.
 */
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmdirSync, rmSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dkimKeyPath, dkimRecordValue, MAIL_PATHS } from "../lib/model/mail";
import { dkimKeyType, type DkimKeyInputs, type DkimKeyOutputs } from "../provider/resources/dkim-key";
import { pool } from "../provider/ssh/pool";
import { startSshd, type Sshd } from "./helpers/sshd";
import { requireRoot, requireTools, run } from "./helpers/tools";

const ok = requireTools("sshd", "ssh-keygen", "opendkim-genkey", "openssl", "setpriv") && requireRoot("the DkimKey resource writes under /etc/globenet/mail/dkim as root");

/** The test's own selectors: nothing else on this machine uses them. */
const SEL = `gt${process.pid}`;
const SEL2 = `gt${process.pid}b`;
const DOMAIN = "velo-libre.example";
const sh = (cmd: string, args: string[], input?: string) => run(cmd, args, { timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) });
const stat = (p: string) => sh("stat", ["-c", "%U:%G %a", p]).stdout.trim();

/** Signs a message with the key file and verifies it against `txt` as the DNS answer (python3-dkim). */
function signAndVerify(keyFile: string, selector: string, txt: string): string {
  const py = `
import sys, dkim
key = open(sys.argv[1], "rb").read()
msg = b"From: contact@${DOMAIN}\\r\\nTo: x@example.net\\r\\nSubject: hello\\r\\n\\r\\nhello\\r\\n"
sig = dkim.sign(msg, sys.argv[2].encode(), b"${DOMAIN}", key, include_headers=[b"from", b"to", b"subject"])
txt = sys.stdin.read().strip().encode()
def dns(name, timeout=5):
    return txt if name == (sys.argv[2] + "._domainkey.${DOMAIN}.").encode() else None
print("pass" if dkim.verify(sig + msg, dnsfunc=dns) else "fail")
`;
  return sh("/usr/bin/python3", ["-c", py, keyFile, selector], txt).stdout.trim();
}

describe.skipIf(!ok)("globenet:mail:DkimKey against a real host over SSH", () => {
  let sshd: Sshd;
  let archive = "";
  let inputs: DkimKeyInputs;
  let outs: DkimKeyOutputs;
  let id = "";
  const file = dkimKeyPath(MAIL_PATHS, SEL, DOMAIN);

  beforeAll(async () => {
    sshd = await startSshd();
    process.env.GLOBENET_SSH_KEY_FILE = sshd.keyFile;
    archive = mkdtempSync("/tmp/globenet-dkim-archive-");
    inputs = { target: { name: "mail1", address: "127.0.0.1", port: sshd.port, user: "root", hostKey: sshd.hostKey }, selector: SEL, domain: DOMAIN, archiveDir: archive };
  });

  afterAll(async () => {
    await pool.close();
    await sshd?.stop();
    for (const s of [SEL, SEL2]) rmSync(join(MAIL_PATHS.dkimKeyDir, s), { recursive: true, force: true });
    rmSync(archive, { recursive: true, force: true });
    // The folders the resource made, when empty: the provider's file-set test refuses to start beside a mail set.
    for (const dir of [MAIL_PATHS.dkimKeyDir, dirname(MAIL_PATHS.dkimKeyDir)]) {
      try {
        rmdirSync(dir);
      } catch {
        // not empty (another run's key or set) or absent: left as it is
      }
    }
  });

  it("check refuses a selector, domain or archive folder that could leave the key folder", () => {
    const f = dkimKeyType.check({ ...inputs, selector: "../etc", domain: "velo;rm -rf /", archiveDir: "/tmp/../etc" }).failures?.map((x) => x.property);
    expect(f).toEqual(["selector", "domain", "archiveDir"]);
    expect(dkimKeyType.check({ ...inputs }).failures).toBeUndefined();
  });

  it("create makes the key on the host (opendkim:opendkim 0600, folders root's 0711: OpenDKIM, running with group postfix, reads it through them), returns only its public half, which verifies a signature made with it", async () => {
    ({ id, outs } = await dkimKeyType.create(inputs));
    expect(id).toBe(`mail1:dkim:${SEL}:${DOMAIN}`);
    expect(stat(file)).toBe("opendkim:opendkim 600");
    expect(stat(join(MAIL_PATHS.dkimKeyDir, SEL))).toBe("root:root 711");
    expect(stat(MAIL_PATHS.dkimKeyDir)).toBe("root:root 711");
    // OpenDKIM reads it as Postfix's milter runs it (UserID opendkim:postfix); nobody else reads it or lists the folder.
    const as = (user: string, group: string, cmd: string[]) => sh("setpriv", [`--reuid=${user}`, `--regid=${group}`, "--clear-groups", ...cmd]);
    expect(as("opendkim", "postfix", ["head", "-c", "27", file]).stdout).toMatch(/^-----BEGIN (RSA )?PRIVATE KEY/);
    expect(as("nobody", "nogroup", ["head", "-c", "1", file]).status).not.toBe(0);
    expect(as("nobody", "nogroup", ["ls", join(MAIL_PATHS.dkimKeyDir, SEL)]).status).not.toBe(0);
    // The output is the host key's public half, and nothing of the private key is in it.
    const pub = sh("openssl", ["pkey", "-in", file, "-pubout"]).stdout.replace(/-----[^-]+-----|\s/g, "");
    expect(outs.publicKey).toBe(pub);
    const privateBody = readFileSync(file, "utf8").replace(/-----[^-]+-----|\s/g, "");
    for (let i = 0; i + 40 <= privateBody.length; i += 40) expect(JSON.stringify(outs)).not.toContain(privateBody.slice(i, i + 40));
    // RSA 2048: what opendkim-genkey was asked for.
    expect(sh("openssl", ["pkey", "-in", file, "-noout", "-text"]).stdout).toMatch(/Private-Key: \(2048 bit/);
    expect(signAndVerify(file, SEL, dkimRecordValue(outs.publicKey))).toBe("pass");
    expect(await dkimKeyType.read(id, outs)).toEqual(outs);
  });

  it("a second apply keeps the key (an existing key is never made again)", async () => {
    const before = readFileSync(file);
    const again = await dkimKeyType.update(id, outs, inputs);
    expect(again.publicKey).toBe(outs.publicKey);
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it("a key replaced on the host is drift; the update publishes the host's key, and the old TXT no longer verifies its mail", async () => {
    const other = mkdtempSync("/tmp/globenet-dkim-other-");
    expect(sh("openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", join(other, "k.pem")]).status).toBe(0);
    expect(sh("install", ["-o", "opendkim", "-g", "opendkim", "-m", "0600", join(other, "k.pem"), file]).status).toBe(0);
    rmSync(other, { recursive: true, force: true });
    const read = await dkimKeyType.read(id, outs);
    expect(read?.drift).toEqual([`${file} holds another key than the one published (the next apply publishes the host's)`]);
    expect(dkimKeyType.diff(id, read as DkimKeyOutputs, inputs).changes).toBe(true);
    expect(signAndVerify(file, SEL, dkimRecordValue(outs.publicKey))).toBe("fail");
    const updated = await dkimKeyType.update(id, read as DkimKeyOutputs, inputs);
    expect(updated.publicKey).not.toBe(outs.publicKey);
    expect(signAndVerify(file, SEL, dkimRecordValue(updated.publicKey))).toBe("pass");
    outs = updated;
  });

  it("a key opened to others or a folder others may write is drift, closed again by the update", async () => {
    sh("chmod", ["0644", file]);
    sh("chmod", ["0777", join(MAIL_PATHS.dkimKeyDir, SEL)]);
    const read = await dkimKeyType.read(id, outs);
    expect(read?.drift).toEqual([`${file} is opendkim:opendkim 644, not opendkim:opendkim 600`, `a folder above ${file} is not root's alone (others may write it; OpenDKIM refuses such a key)`]);
    outs = await dkimKeyType.update(id, read as DkimKeyOutputs, inputs);
    expect(stat(file)).toBe("opendkim:opendkim 600");
    expect(stat(join(MAIL_PATHS.dkimKeyDir, SEL))).toBe("root:root 711");
    expect((await dkimKeyType.read(id, outs))?.drift).toEqual([]);
  });

  it("a selector folder made a symbolic link is refused: no key is written through it", async () => {
    const elsewhere = mkdtempSync("/tmp/globenet-dkim-link-");
    const dir = join(MAIL_PATHS.dkimKeyDir, SEL2);
    symlinkSync(elsewhere, dir);
    const err = await dkimKeyType.create({ ...inputs, selector: SEL2 }).then(() => "", (e: unknown) => String(e));
    expect(err).toContain(`${dir} is a symbolic link`);
    expect(readdirSync(elsewhere)).toEqual([]);
    rmSync(dir);
    rmSync(elsewhere, { recursive: true, force: true });
  });

  it("a new selector is a rotation: replaced (the new key made first), a second key beside the first", async () => {
    const d = dkimKeyType.diff(id, outs, { ...inputs, selector: SEL2 });
    expect(d.replaces).toEqual(["selector"]);
    expect(d.deleteBeforeReplace).toBe(false);
    const second = await dkimKeyType.create({ ...inputs, selector: SEL2 });
    expect(second.outs.publicKey).not.toBe(outs.publicKey);
    expect(existsSync(file)).toBe(true);
    expect(signAndVerify(dkimKeyPath(MAIL_PATHS, SEL2, DOMAIN), SEL2, dkimRecordValue(second.outs.publicKey))).toBe("pass");
    await dkimKeyType.delete(second.id, second.outs);
  });

  it("delete archives the key (root 0600, the same bytes), never destroys it; read then reports it missing", async () => {
    const before = readFileSync(file);
    await dkimKeyType.delete(id, outs);
    expect(existsSync(file)).toBe(false);
    const archived = readdirSync(join(archive, "dkim")).filter((f) => f.startsWith(`${SEL}.${DOMAIN}.`));
    expect(archived).toHaveLength(1);
    const kept = join(archive, "dkim", archived[0] as string);
    expect(readFileSync(kept).equals(before)).toBe(true);
    expect(stat(kept)).toBe("root:root 600");
    expect(lstatSync(join(archive, "dkim")).mode & 0o777).toBe(0o700);
    expect((await dkimKeyType.read(id, outs))?.drift).toEqual([`${file} is missing (the next apply makes a new key and publishes it)`]);
    // A second delete (the key already gone) is not an error.
    await dkimKeyType.delete(id, outs);
  });
});
