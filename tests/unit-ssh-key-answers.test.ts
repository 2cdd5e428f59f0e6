import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { utils } from "ssh2";
import { afterEach, describe, expect, it, vi } from "vitest";
import { freshSshPublicKey } from "../lib/bench/synthetic";
import { sshKeyAnswersKept, sshPublicKeyProblem, wireString } from "../lib/schema/ssh-key";
import { tempDir } from "./helpers/temp-dir";

describe("an SSH key line's check, answered again from memory (lib/schema/ssh-key.ts)", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each([
    ["a valid key", freshSshPublicKey("host@web1"), undefined],
    ["a key with $( )", `${freshSshPublicKey("x")} $(id)`, /control character, quote, backslash, backtick or `\$`/],
    ["a truncated key", freshSshPublicKey("y").slice(0, 40), /not a valid OpenSSH public key/],
  ] as const)("%s: judged once, the same answer the second time without parsing it again", (_what, line, want) => {
    const parse = vi.spyOn(utils, "parseKey");
    const first = sshPublicKeyProblem(line);
    if (want === undefined) expect(first).toBeUndefined();
    else expect(first).toMatch(want);
    const parsed = parse.mock.calls.length;
    expect(sshPublicKeyProblem(line)).toBe(first);
    expect(parse.mock.calls.length).toBe(parsed);
  });

  it("keeps at most 10,000 answers, and still answers right past them", () => {
    const good = freshSshPublicKey("host@web2");
    for (let i = 0; i < 10_050; i++) sshPublicKeyProblem(`ssh-ed25519 AAAA${i}`);
    expect(sshKeyAnswersKept()).toBeLessThanOrEqual(10_000);
    expect(sshPublicKeyProblem(good)).toBeUndefined();
    expect(sshPublicKeyProblem(good.slice(0, 40))).toMatch(/not a valid OpenSSH public key/);
  });
});

describe("an RSA key's size, read from its wire form (lib/schema/ssh-key.ts)", () => {
  /** An mpint (RFC 4251): big-endian, a zero byte first when the high bit is set. */
  const mpint = (b: Buffer) => (b[0] !== undefined && b[0] >= 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);

  function rsaLine(bits: number): string {
    const jwk = generateKeyPairSync("rsa", { modulusLength: bits }).publicKey.export({ format: "jwk" });
    const blob = Buffer.concat([wireString(Buffer.from("ssh-rsa")), wireString(mpint(Buffer.from(jwk.e as string, "base64url"))), wireString(mpint(Buffer.from(jwk.n as string, "base64url")))]);
    return `ssh-rsa ${blob.toString("base64")} member@old-laptop`;
  }

  it.each([
    [1024, /^is an RSA key of 1024 bits, under the 2048 required \(generate one with: ssh-keygen -t ed25519\)$/],
    [2048, undefined],
    [3072, undefined],
  ] as const)("%i bits: %s", (bits, want) => {
    const line = rsaLine(bits);
    // OpenSSH reads the same size from the same line.
    const dir = tempDir("globenet-rsa-");
    writeFileSync(join(dir, "k.pub"), `${line}\n`);
    expect(execFileSync("ssh-keygen", ["-l", "-f", join(dir, "k.pub")], { encoding: "utf8" }).split(" ")[0]).toBe(String(bits));
    const problem = sshPublicKeyProblem(line);
    if (want === undefined) expect(problem).toBeUndefined();
    else expect(problem).toMatch(want);
  });
});
