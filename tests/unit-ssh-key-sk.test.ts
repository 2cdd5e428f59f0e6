import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { freshSshPublicKey } from "../lib/bench/synthetic";
import { sshHostKey } from "../lib/schema/common";
import { securityKeyLine, sshPublicKeyProblem, wireString as str } from "../lib/schema/ssh-key";
import { seededRandom as rng } from "./helpers/seeded-random";
import { tempDir } from "./helpers/temp-dir";

/**
 * Security-key (FIDO) public keys, as `ssh-keygen -t ed25519-sk` and `-t ecdsa-sk` write them.
 * The oracle is OpenSSH itself: `ssh-keygen -l -f` parses a public key the way sshd reads
 * authorized_keys, and needs no security key to do it.
 */

const ED_SK = "sk-ssh-ed25519@openssh.com";
const EC_SK = "sk-ecdsa-sha2-nistp256@openssh.com";

function edSkBlob(application = "ssh:"): Buffer {
  const raw = Buffer.from(freshSshPublicKey("x").split(" ")[1] as string, "base64").subarray(-32);
  return Buffer.concat([str(Buffer.from(ED_SK)), str(raw), str(Buffer.from(application))]);
}

function ecSkBlob(application = "ssh:"): Buffer {
  const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ format: "jwk" });
  const q = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x as string, "base64url"), Buffer.from(jwk.y as string, "base64url")]);
  return Buffer.concat([str(Buffer.from(EC_SK)), str(Buffer.from("nistp256")), str(q), str(Buffer.from(application))]);
}

const dir = tempDir("globenet-sk-");
let n = 0;

/** What OpenSSH says of the line: a key, or not. */
function openssh(line: string): boolean {
  const f = join(dir, `k${n++}.pub`);
  writeFileSync(f, `${line}\n`);
  try {
    execFileSync("ssh-keygen", ["-l", "-f", f], { stdio: "pipe" });
    return true;
  } catch (e) {
    // ssh-keygen missing is a failure of the test's machine, not a refusal of the key.
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new Error("ssh-keygen is not installed (scripts/ensure-debs.sh --unit installs openssh-client)");
    return false;
  }
}

describe("a member's security-key (FIDO) SSH key is taken, as OpenSSH takes it (lib/schema/ssh-key.ts)", () => {
  it.each([
    ["ed25519-sk", () => edSkBlob(), ED_SK],
    ["ecdsa-sk", () => ecSkBlob(), EC_SK],
    ["ed25519-sk of another application", () => edSkBlob("ssh:globenet"), ED_SK],
    ["ed25519-sk with an empty application", () => edSkBlob(""), ED_SK],
  ] as const)("%s: valid, and OpenSSH agrees", (_what, blob, type) => {
    const line = `${type} ${blob().toString("base64")} member@yubikey`;
    expect(openssh(line)).toBe(true);
    expect(sshPublicKeyProblem(line)).toBeUndefined();
  });

  it.each([
    ["an application with a NUL", `${ED_SK} ${edSkBlob("ss\0h:").toString("base64")} m`],
    ["the other type's blob", `${EC_SK} ${edSkBlob().toString("base64")} m`],
    ["bytes after the application", `${ED_SK} ${Buffer.concat([edSkBlob(), Buffer.alloc(4)]).toString("base64")} m`],
    ["no application", `${ED_SK} ${edSkBlob().subarray(0, -8).toString("base64")} m`],
  ])("%s: refused, as OpenSSH refuses it", (_what, line) => {
    expect(openssh(line)).toBe(false);
    expect(sshPublicKeyProblem(line)).toMatch(/is not a valid OpenSSH public key/);
  });

  it.each([
    ["ed25519-sk", ED_SK, edSkBlob],
    ["ecdsa-sk", EC_SK, ecSkBlob],
  ] as const)("%s: 150 altered keys (lengths, types, curve, point, cut), each judged as OpenSSH judges it", (_what, type, make) => {
    const next = rng(type.length);
    const base = make();
    let taken = 0;
    for (let i = 0; i < 150; i++) {
      const blob = Buffer.from(base);
      // The first bytes hold the lengths, the type and (ecdsa) the curve; the rest the key and the application.
      const at = next() < 0.6 ? Math.floor(next() * 50) : Math.floor(next() * blob.length);
      blob[at] = next() < 0.3 ? 0 : Math.floor(next() * 256);
      const cut = next() < 0.15 ? Math.floor(next() * blob.length) : blob.length;
      const line = `${type} ${blob.subarray(0, cut).toString("base64")} member@yubikey`;
      const ours = securityKeyLine(line);
      expect(ours, line).toBe(openssh(line));
      if (ours) taken++;
    }
    // Some alterations leave a valid key (an application's or the point's byte on ed25519): both sides were compared on those too.
    expect(taken).toBeGreaterThan(0);
  });

  it("is never a host's pinned key, which stays an ordinary one", () => {
    const sk = `${ED_SK} ${edSkBlob().toString("base64")}`;
    const refused = sshHostKey.safeParse(sk);
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]?.message).toMatch(/^is a security-key \(FIDO\) key, which a person holds; a host key is the host's own \(get it with: ssh-keyscan -t ed25519 HOST\)$/);
    expect(sshHostKey.safeParse(freshSshPublicKey("host@web1")).success).toBe(true);
  });
});
