import { utils } from "ssh2";
import { afterEach, describe, expect, it, vi } from "vitest";
import { freshSshPublicKey } from "../lib/bench/synthetic";
import { sshKeyAnswersKept, sshPublicKeyProblem } from "../lib/schema/ssh-key";

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
