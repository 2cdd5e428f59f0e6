import { describe, expect, it } from "vitest";
import { prodUrlProblem, resolveBackend } from "../lib/state/backend";
import { age, lockAdvice, parseLockError, readLockFile, type LockHolder } from "../lib/state/lock";
import { describeBackend, mask, urlPassword } from "../lib/state/mask";
import { formatUpdateMessage, parseUpdateMessage, type UpdateFacts } from "../lib/state/metadata";
import { compareDeployments } from "../lib/state/compare";
import { pgClientConfig } from "../lib/state/store";

/** Pure logic of the shared state: masking credentials, reading locks, update messages, restore diffs. */

describe("mask hides the state backend's credentials in any text", () => {
  it.each([
    ["postgres://state:s3cr%2Ft@db.example:5432/pulumi?sslmode=verify-full", "postgres://state:****@db.example:5432/pulumi?sslmode=verify-full"],
    ["error: dial postgres://u:p4ss@127.0.0.1:1/db failed", "error: dial postgres://u:****@127.0.0.1:1/db failed"],
    ["no password: postgres://u@h/db", "no password: postgres://u@h/db"],
    ["empty password: postgres://u:@h/db", "empty password: postgres://u@h/db"],
    ["host=db user=x password=hunter22 sslmode=require", "host=db user=x password=**** sslmode=require"],
    ["postgres://h/db?user=x&password=hunter22&sslmode=require", "postgres://h/db?user=x&password=****&sslmode=require"],
    ["PGPASSWORD=abc123 pulumi up", "PGPASSWORD=**** pulumi up"],
    ["the CLI's own mask stays: postgres://****:****@h/db", "the CLI's own mask stays: postgres://****:****@h/db"],
    ["file:///srv/state is not secret", "file:///srv/state is not secret"],
  ])("%s", (text, want) => {
    expect(mask(text)).toBe(want);
  });

  it("hides known secrets anywhere, also percent-encoded, longest first", () => {
    const text = "failed for s3cr/t-long and s3cr%2Ft-long and the passphrase correct horse";
    expect(mask(text, ["s3cr/t-long", "correct horse", "s3cr", undefined, "ab"])).toBe("failed for **** and **** and the passphrase ****");
  });

  it("reads a URL's password and describes a backend without it", () => {
    expect(urlPassword("postgres://a:b%40c@h/db")).toBe("b@c");
    expect(urlPassword("postgres://a@h/db")).toBeUndefined();
    expect(describeBackend("postgres://app:pw@db.globenet.example:5432/state?sslmode=verify-full&table=t")).toBe("PostgreSQL app@db.globenet.example:5432/state, table t, sslmode verify-full");
    expect(describeBackend("file:///srv/x/.lab/state")).toBe("file /srv/x/.lab/state");
    expect(describeBackend("postgres://app:pw@h/db")).not.toContain("pw");
  });
});

describe("the pg client's settings for a backend URL", () => {
  const b = (url: string, env: Record<string, string> = {}) => ({ url, kind: "postgres" as const, env, secrets: [], display: "", origin: "" });
  it("drops Pulumi's own table parameter and carries the password from PGPASSWORD (pg would let the URL's absent one win)", () => {
    const c = pgClientConfig(b("postgres://globenet_state@127.0.0.1:5433/globenet_state?sslmode=disable&table=state_t", { PGPASSWORD: "p@ss word" }));
    expect(c.table).toBe("state_t");
    expect(c.connectionString).toBe("postgres://globenet_state:p%40ss%20word@127.0.0.1:5433/globenet_state?sslmode=disable");
  });
  it("keeps a password already in the URL, and refuses a table name that is not an identifier", () => {
    expect(pgClientConfig(b("postgres://u:inurl@h/db", { PGPASSWORD: "other" })).connectionString).toBe("postgres://u:inurl@h/db");
    expect(pgClientConfig(b("postgres://u@h/db")).table).toBe("pulumi_state");
    expect(() => pgClientConfig(b("postgres://u@h/db?table=x;drop"))).toThrow(/not a plain identifier/);
  });
});

describe("prod's state: PostgreSQL over TLS", () => {
  it.each([
    ["postgres://s:p@db.globenet.example:5432/state?sslmode=verify-full&sslrootcert=/etc/ca.pem", undefined],
    ["postgres://s@db.globenet.example/state?sslmode=require", undefined],
    ["postgres://s@127.0.0.1:6543/state?sslmode=disable", undefined],
    ["postgres://s@db.globenet.example/state", "no sslmode"],
    ["postgres://s@db.globenet.example/state?sslmode=prefer", "sslmode=prefer"],
    ["file:///tmp/state", "must be a postgres:// URL"],
  ])("%s", (url, problem) => {
    const p = prodUrlProblem(url);
    if (problem === undefined) expect(p).toBeUndefined();
    else expect(p).toContain(problem);
  });

  it("refuses a plaintext prod URL and names the fix, without the password", () => {
    const env: Record<string, string> = { PULUMI_BACKEND_URL: "postgres://s:topsecret@db.example/state" };
    expect(() => resolveBackend("/nonexistent", "prod", (k) => env[k], "/tmp/x")).toThrow(/sslmode=verify-full/);
    try {
      resolveBackend("/nonexistent", "prod", (k) => env[k], "/tmp/x");
    } catch (e) {
      expect((e as Error).message).not.toContain("topsecret");
    }
  });

  it("a stack without a backend says where the URL comes from", () => {
    expect(() => resolveBackend("/nonexistent", "prod", () => undefined, "/tmp/x")).toThrow(/PULUMI_BACKEND_URL is not set/);
  });

  it("the lab defaults to its file backend; an explicit URL wins and its password is a secret", () => {
    expect(resolveBackend("/nonexistent", "lab", () => undefined, "/r/.lab/state")).toMatchObject({ url: "file:///r/.lab/state", kind: "file" });
    const b = resolveBackend("/nonexistent", "lab", (k) => (k === "PULUMI_BACKEND_URL" ? "postgres://u:pw1234@127.0.0.1:5/d?sslmode=disable" : undefined), "/x");
    expect(b.kind).toBe("postgres");
    expect(b.secrets).toEqual(["pw1234"]);
  });
});

const LOCKED = `error: the stack is currently locked by 2 lock(s). Either wait for the other process(es) to end or delete the lock file with \`pulumi cancel\`.
  postgres://****:****@127.0.0.1:5433/globenet_state/.pulumi/locks/organization/globenet-infra/lab/0b6c.json: created by root@ci-runner-3 (pid 4242) at 2025-01-31T12:00:03Z
  file:///srv/.lab/state/.pulumi/locks/organization/globenet-infra/lab/77aa.json: created by DOMAIN\\alice@bob@laptop (pid 17) at 2025-01-31T12:01:00.123456789+01:00
`;

describe("lock messages", () => {
  it("reads every holder of a 'currently locked' error", () => {
    const h = parseLockError(LOCKED);
    expect(h).toHaveLength(2);
    expect(h?.[0]).toMatchObject({ user: "root", host: "ci-runner-3", pid: 4242 });
    expect(h?.[0]?.since.toISOString()).toBe("2025-01-31T12:00:03.000Z");
    expect(h?.[0]?.where).toContain("/lab/0b6c.json");
    expect(h?.[1]).toMatchObject({ user: "DOMAIN\\alice@bob", host: "laptop", pid: 17 });
    expect(h?.[1]?.since.toISOString()).toBe("2025-01-31T11:01:00.123Z");
    expect(parseLockError("error: no stack named 'lab' found")).toBeUndefined();
    // The engine's error repeats the CLI's stdout and stderr: one holder is one holder.
    expect(parseLockError(`${LOCKED}\nstderr: ${LOCKED}`)).toHaveLength(2);
  });

  it("reads a lock file", () => {
    expect(readLockFile('{"pid":12,"username":"root","hostname":"h","timestamp":"2025-01-31T12:00:03Z"}')).toMatchObject({ pid: 12, user: "root", host: "h" });
    expect(readLockFile("not json")).toBeUndefined();
    expect(readLockFile('{"pid":"x"}')).toBeUndefined();
  });

  it.each([
    [5_000, "5 s"],
    [89_000, "89 s"],
    [600_000, "10 min"],
    [3 * 3600_000 + 5 * 60_000, "3 h 5 min"],
    [50 * 3600_000, "2 d 2 h"],
  ])("age(%i) = %s", (ms, want) => expect(age(ms)).toBe(want));

  const holder = (host: string, pid: number): LockHolder => ({ user: "root", host, pid, since: new Date("2025-01-31T12:00:03Z") });
  const here = (alive: number[]) => ({ hostname: "me", now: new Date("2025-01-31T12:10:03Z"), pidAlive: (p: number) => alive.includes(p) });

  it("a holder of this machine that has ended: stale, recover", () => {
    const a = lockAdvice("lab", [holder("me", 4242)], here([]));
    expect(a).toContain("held by root@me, pid 4242, since 2025-01-31T12:00:03Z (10 min ago); that process no longer runs here: the lock is stale");
    expect(a).toContain("npm run state -- recover");
    expect(a).toContain("npm run preview -- --expect-no-changes");
    expect(a).not.toContain("--holder-gone");
  });

  it("a holder still running here: wait, never remove", () => {
    const a = lockAdvice("prod", [holder("me", 4242)], here([4242]));
    expect(a).toContain("still running on this machine");
    expect(a).toContain("--lock-wait");
    expect(a).not.toContain("recover");
  });

  it("a holder on another machine: wait, recover only once checked", () => {
    const a = lockAdvice("prod", [holder("ci-runner-3", 4242)], here([]));
    expect(a).toContain("held by root@ci-runner-3, pid 4242");
    expect(a).toContain("Only once you have checked that nothing runs Pulumi for stack prod on ci-runner-3");
    expect(a).toContain("npm run state -- recover --stack prod --holder-gone");
  });
});

describe("update messages carry the commit, the merge request and who", () => {
  it.each<[UpdateFacts, string]>([
    [{ subject: "Add member velo-libre", commit: "3f2a9c1b7d4e5f60718293a4b5c6d7e8f9012345", mr: "!12", who: "alice (CI job 4711)" }, "Add member velo-libre [commit 3f2a9c1b7d4e, MR !12, by alice (CI job 4711)]"],
    [{ subject: "Fix", commit: "abcdef0123456789", who: "root@lab", dirty: true }, "Fix [commit abcdef012345, uncommitted changes, by root@lab]"],
    [{ subject: "Only a subject" }, "Only a subject"],
    [{ commit: "abcdef0123456789", mr: "globenet/infra!7" }, "[commit abcdef012345, MR globenet/infra!7]"],
  ])("%j", (facts, text) => {
    expect(formatUpdateMessage(facts)).toBe(text);
    const back = parseUpdateMessage(text);
    expect(back.subject).toBe(facts.subject);
    expect(back.commit).toBe(facts.commit?.slice(0, 12));
    expect(back.mr).toBe(facts.mr);
  });

  it("a message the driver did not write is all subject", () => {
    expect(parseUpdateMessage("hand-made [not ours]")).toEqual({ subject: "hand-made [not ours]" });
  });
});

describe("what a restore would change", () => {
  const dep = (resources: Array<{ urn: string; outputs?: unknown }>) => ({ version: 3, deployment: { resources } });
  const u = (t: string, n: string) => `urn:pulumi:lab::globenet-infra::${t}::${n}`;
  it("lists resources added, removed and changed, by type and name", () => {
    const now = dep([{ urn: u("pulumi:pulumi:Stack", "globenet-infra-lab") }, { urn: u("globenet:hosting:Account", "velo-libre"), outputs: { a: 1 } }, { urn: u("globenet:db:Database", "x_db") }]);
    const file = dep([{ urn: u("pulumi:pulumi:Stack", "globenet-infra-lab") }, { urn: u("globenet:hosting:Account", "velo-libre"), outputs: { a: 2 } }, { urn: u("globenet:files:FileSet", "lab-bind") }]);
    const c = compareDeployments(now, file);
    expect(c.added).toEqual(["globenet:files:FileSet lab-bind"]);
    expect(c.removed).toEqual(["globenet:db:Database x_db"]);
    expect(c.changed).toEqual(["globenet:hosting:Account velo-libre"]);
    expect(c.same).toBe(1);
    expect(compareDeployments(undefined, file).added).toHaveLength(3);
  });
  it("secrets compare equal whatever their ciphertext (each import encrypts them again)", () => {
    const sec = (c: string) => ({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: c });
    const a = dep([{ urn: u("globenet:db:Database", "x_db"), outputs: { password: sec("v1:AAA"), name: "x_db" } }]);
    const b = dep([{ urn: u("globenet:db:Database", "x_db"), outputs: { password: sec("v1:BBB"), name: "x_db" } }]);
    expect(compareDeployments(a, b)).toEqual({ added: [], removed: [], changed: [], same: 1 });
  });
});
