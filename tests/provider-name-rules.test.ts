import { describe, expect, it } from "vitest";
import { accountType } from "../provider/resources/account";
import { checkInputs } from "../provider/resources/file-set-inputs";
import { checkGuest } from "../provider/resources/guest-check";
import { guestDomainProblem, identifierProblem, vpsNameProblem } from "../lib/schema/names";
import { KEY_JARDIN, KEY_VELO } from "./fixtures/model";

/**
 * Unit tier: the provider checks names with the schema's own rules (lib/schema/names.ts,
 * system-names.ts, ssh-key.ts), not copies of their regexes, so a value the data refuses is
 * refused by the provider too, with the schema's reason.
 */
const HOST_KEY = KEY_VELO.split(" ").slice(0, 2).join(" ");
const target = { name: "web1", address: "127.0.0.1", port: 22, user: "root", hostKey: HOST_KEY };
const account = { target, handle: "velo-libre", home: "/home/velo-libre", status: "active", sshKeys: [KEY_VELO], sites: ["velo-libre.example"], archiveDir: "/var/backups/globenet-archive", diskQuotaMb: 1000, inodeQuota: 10_000, homeQuota: "required", contact: "hostmaster@globenet.example", sshd: { dropinDir: "/etc/ssh/sshd_config.d", pidFile: "/run/sshd.pid" } };
const failed = (r: { failures?: Array<{ property: string; reason: string }> }) => Object.fromEntries((r.failures ?? []).map((f) => [f.property, f.reason]));

describe("the provider's name checks are the schema's", () => {
  it("an account with valid inputs passes (the control)", () => {
    expect(failed(accountType.check(account as unknown as Record<string, unknown>))).toEqual({});
  });

  it.each([
    ["target.name", { target: { ...target, name: "web--1" } }, identifierProblem("web--1", "host name", 32, "web1")],
    ["target.user", { target: { ...target, user: "Root" } }, identifierProblem("Root", "user name", 32, "globenet-deploy")],
    ["target.hostKey", { target: { ...target, hostKey: "ssh-dss AAAAB3NzaC1kc3M" } }, "pinned public key"],
    ["sshKeys[1]", { sshKeys: [KEY_VELO, "ssh-ed25519 AAAAnotakey jardin@laptop"] }, "is not one public key line"],
    ["sshKeys[1]", { sshKeys: [KEY_VELO, `no-pty ${KEY_JARDIN}`] }, "is not one public key line"],
  ])("account %s: %j is refused", (prop, change, reason) => {
    const f = failed(accountType.check({ ...account, ...change } as unknown as Record<string, unknown>));
    expect(Object.keys(f)).toEqual([prop]);
    expect(f[prop]).toContain(reason as string);
  });

  it("a file set's SSH user and PHP version follow the schema", () => {
    const base = { target, kind: "php-fpm", files: { "pool.d/globenet-velo-libre.conf": "[x]\n" } };
    expect(checkInputs({ ...base, phpVersion: "8.2" }).failures).toEqual([]);
    // "10.1" was accepted by the provider's own \d+\.\d+; the schema allows 5.x to 9.x.
    expect(checkInputs({ ...base, phpVersion: "10.1" }).failures.map((f) => f.property)).toEqual(["phpVersion"]);
    expect(checkInputs({ ...base, phpVersion: "8.2", target: { ...target, user: "deploy.user" } }).failures.map((f) => f.property)).toEqual(["target.user"]);
  });

  it.each([
    ["velo-libre--atelier", undefined],
    ["velo-libre--a", vpsNameProblem("a")],
    ["x--atelier", identifierProblem("x", "handle", 32, "velo-libre")],
    ["velo-libre-atelier", 'must be <handle>--<VPS name> (like "velo-libre--atelier")'],
    ["velo-libre--ate--lier", vpsNameProblem("ate--lier")],
  ])("guest domain %s", (domain, problem) => {
    expect(guestDomainProblem(domain)).toBe(problem);
    const props = (checkGuest({ domain }).failures ?? []).map((f) => f.property);
    expect(props.includes("domain")).toBe(problem !== undefined);
  });
});
