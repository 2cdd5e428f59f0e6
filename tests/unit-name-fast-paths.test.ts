import { utils } from "ssh2";
import { describe, expect, it, vi } from "vitest";
import { freshSshPublicKey } from "../lib/bench/synthetic";
import { hostnameProblem, hostnameProblemByRules, plainHostname } from "../lib/schema/names";
import { canonicalEd25519, sshPublicKeyProblem, wireString as str } from "../lib/schema/ssh-key";
import { seededRandom as rng } from "./helpers/seeded-random";

const line = (blob: Buffer, sep = " ", rest = " member@laptop") => `ssh-ed25519${sep}${blob.toString("base64")}${rest}`;
const wire = (type: string, key: Buffer, tail = Buffer.alloc(0)) => Buffer.concat([str(Buffer.from(type)), str(key), tail]);
const key32 = Buffer.from(freshSshPublicKey("x").split(" ")[1] as string, "base64").subarray(-32);

describe("a host name of the plain form is answered without every rule, and the same (lib/schema/names.ts)", () => {
  it.each([
    ["www.example.org", true],
    ["a.b", true],
    ["member-00059.example", true],
    ["xn--bcher-kva.example", false],
    ["a--b.example", false],
    ["example.123", false],
    ["1.2.3.4", false],
    ["example.1-2", false],
    ["Example.org", false],
    ["example.org.", false],
    ["a..b", false],
    ["-a.example", false],
    ["a-.example", false],
    ["*.example.org", false],
    ["localhost", false],
    [`${"a".repeat(63)}.example`, true],
    [`${"a".repeat(64)}.example`, false],
    [`${"a.".repeat(126)}ab`, false],
    ["ex ample.org", false],
    ["ex$(id).org", false],
  ])("%s: plain form %s, the same answer as every rule's", (name, plain) => {
    expect(plainHostname(name)).toBe(plain);
    if (plain) expect(hostnameProblemByRules(name)).toBeUndefined();
    expect(hostnameProblem(name)).toBe(hostnameProblemByRules(name));
    expect(hostnameProblem(name, { wildcard: true })).toBe(hostnameProblemByRules(name, { wildcard: true }));
  });

  it("gives every rule's answer on 20,000 generated names", () => {
    const next = rng(24);
    const pick = (chars: string) => chars[Math.floor(next() * chars.length)] as string;
    let plain = 0;
    for (let i = 0; i < 20_000; i++) {
      // Name-like: labels of letters, digits and hyphens, then now and then a wrong character.
      const labels = Array.from({ length: 1 + Math.floor(next() * 4) }, () => {
        const len = next() < 0.01 ? 60 + Math.floor(next() * 8) : 1 + Math.floor(next() * 8);
        return Array.from({ length: len }, () => pick("abxyz0129--")).join("");
      });
      let name = labels.join(".");
      if (next() < 0.3) {
        const at = Math.floor(next() * (name.length + 1));
        name = name.slice(0, at) + pick("*_A .-é") + name.slice(at);
      }
      if (plainHostname(name)) plain++;
      expect(hostnameProblem(name), name).toBe(hostnameProblemByRules(name));
    }
    // Enough of them take the short way for the comparison to mean something.
    expect(plain).toBeGreaterThan(2_000);
  });
});

describe("an ssh-ed25519 key of the exact form is answered without ssh2, and only what ssh2 accepts (lib/schema/ssh-key.ts)", () => {
  it("takes a member's real key without asking ssh2, and answers it as valid", () => {
    const parse = vi.spyOn(utils, "parseKey");
    const good = freshSshPublicKey("member@laptop");
    expect(canonicalEd25519(good)).toBe(true);
    expect(sshPublicKeyProblem(good)).toBeUndefined();
    expect(parse).not.toHaveBeenCalled();
    parse.mockRestore();
  });

  it.each([
    ["a 31-byte key", line(wire("ssh-ed25519", key32.subarray(1))), false],
    ["a 33-byte key", line(wire("ssh-ed25519", Buffer.concat([key32, Buffer.from([1])]))), false],
    ["bytes after the key", line(wire("ssh-ed25519", key32, Buffer.from([0, 0, 0, 0]))), false],
    ["a longer type inside", line(wire("ssh-ed25519-cert-v01@openssh.com", key32)), false],
    ["another type inside", line(wire("ssh-rsa", key32)), false],
    ["a tab after the type", line(wire("ssh-ed25519", key32), "\t"), false],
    ["two spaces after the type", line(wire("ssh-ed25519", key32), "  "), false],
    ["no comment", line(wire("ssh-ed25519", key32), " ", ""), true],
    ["a comment with spaces", line(wire("ssh-ed25519", key32), " ", " a b  c"), true],
    ["truncated base64", line(wire("ssh-ed25519", key32)).slice(0, 40), false],
  ])("%s: exact form %s; ssh2 accepts whatever it takes", (_what, l, exact) => {
    expect(canonicalEd25519(l.trim())).toBe(exact);
    if (exact) expect(utils.parseKey(l.trim())).not.toBeInstanceOf(Error);
  });

  it("takes none of 5,000 altered keys that ssh2 refuses, and answers each as ssh2 does", () => {
    const next = rng(8709);
    const base = wire("ssh-ed25519", key32);
    let exact = 0;
    for (let i = 0; i < 5_000; i++) {
      const blob = Buffer.from(base);
      const edits = 1 + Math.floor(next() * 3);
      for (let e = 0; e < edits; e++) {
        // Mostly the length fields and the type, where a wrong byte changes what the key is.
        const at = next() < 0.7 ? Math.floor(next() * 20) : Math.floor(next() * blob.length);
        blob[at] = next() < 0.5 ? 0 : Math.floor(next() * 256);
      }
      const cut = next() < 0.2 ? Math.floor(next() * blob.length) : blob.length;
      const l = line(blob.subarray(0, cut));
      const parsed = utils.parseKey(l);
      if (canonicalEd25519(l)) {
        exact++;
        expect(parsed, l).not.toBeInstanceOf(Error);
      }
      const bySsh2 = parsed instanceof Error ? "refused" : "accepted";
      expect(sshPublicKeyProblem(l) === undefined ? "accepted" : "refused", l).toBe(bySsh2);
    }
    expect(exact).toBeGreaterThan(100);
  });
});
