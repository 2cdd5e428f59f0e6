import { describe, expect, it } from "vitest";
import { freshSshPublicKey } from "../lib/bench/synthetic";
import { sshPublicKeyProblem } from "../lib/schema/ssh-key";

describe("an SSH key line's check, answered again from memory (lib/schema/ssh-key.ts)", () => {
  const good = freshSshPublicKey("host@web1");
  it.each([
    ["a valid key", good, undefined],
    ["a private key", "-----BEGIN OPENSSH PRIVATE KEY-----", /PRIVATE key/],
    ["a key with $( )", `${good} $(id)`, /control character, quote, backslash, backtick or `\$`/],
    ["a truncated key", good.slice(0, 40), /not a valid OpenSSH public key/],
  ] as const)("%s: the same answer the second time", (_what, line, want) => {
    const first = sshPublicKeyProblem(line);
    if (want === undefined) expect(first).toBeUndefined();
    else expect(first).toMatch(want);
    expect(sshPublicKeyProblem(line)).toBe(first);
  });

  it("still answers right past the number of answers it keeps", () => {
    for (let i = 0; i < 10_050; i++) sshPublicKeyProblem(`ssh-ed25519 AAAA${i}`);
    expect(sshPublicKeyProblem(good)).toBeUndefined();
    expect(sshPublicKeyProblem(good.slice(0, 40))).toMatch(/not a valid OpenSSH public key/);
  });
});
