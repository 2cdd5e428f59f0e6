import { describe, expect, it } from "vitest";
import { nameOfUrn, replayPlan, reviveSecrets, type StateResource } from "../lib/bench/shape-floor";
import { BENCH_NOOP_TOKEN, PULUMI_SECRET_SIG, PULUMI_SIG_KEY } from "../lib/base/tokens";

const STACK = "urn:pulumi:bench.web1::globenet-infra::pulumi:pulumi:Stack::globenet-infra-bench.web1";
const MEMBER = "urn:pulumi:bench.web1::globenet-infra::globenet:member:Member::member-00001";
const ACCOUNT = "urn:pulumi:bench.web1::globenet-infra::globenet:member:Member$globenet:hosting:Account::member-00001";
const DB = "urn:pulumi:bench.web1::globenet-infra::globenet:member:Member$globenet:db:Database::db_00001";
const secretOf = (v: unknown) => ({ [PULUMI_SIG_KEY]: PULUMI_SECRET_SIG, plaintext: JSON.stringify(v) });

const state: StateResource[] = [
  { urn: STACK, type: "pulumi:pulumi:Stack", custom: false },
  { urn: "urn:pulumi:bench.web1::globenet-infra::pulumi:providers:globenet::default", type: "pulumi:providers:globenet", custom: true, inputs: {} },
  { urn: MEMBER, type: "globenet:member:Member", custom: false, parent: STACK, inputs: { ignored: 1 } },
  { urn: ACCOUNT, type: "globenet:hosting:Account", custom: true, parent: MEMBER, dependencies: [], inputs: { handle: "member-00001", sshKeys: ["k"] } },
  { urn: DB, type: "globenet:db:Database", custom: true, parent: MEMBER, dependencies: [ACCOUNT, STACK], inputs: { name: "db_00001", pw: secretOf("s3") } },
];

describe("the same-shape floor's replay of a state", () => {
  it("keeps components with their type, makes custom resources the trivial type, skips the stack and providers, keeps parents, dependencies and inputs", () => {
    const plan = replayPlan(state);
    expect(plan.map((r) => [r.name, r.type, r.custom, r.parent ?? "-", r.dependsOn.length])).toEqual([
      ["member-00001", "globenet:member:Member", false, "-", 0],
      ["member-00001", BENCH_NOOP_TOKEN, true, MEMBER, 0],
      ["db_00001", BENCH_NOOP_TOKEN, true, MEMBER, 1],
    ]);
    expect(plan[0]?.inputs).toEqual({});
    expect(plan[1]?.inputs).toEqual({ handle: "member-00001", sshKeys: ["k"] });
    expect(plan[2]?.dependsOn).toEqual([ACCOUNT]);
  });

  it.each([
    ["a parent after its child", [state[0], state[3], state[2]]],
    ["a dependency after its dependent", [state[0], state[2], state[4], state[3]]],
  ] as Array<[string, StateResource[]]>)("refuses %s (the state is not in order)", (_what, resources) => {
    expect(() => replayPlan(resources)).toThrow(/comes after it in the state/);
  });

  it.each([
    [ACCOUNT, "member-00001"],
    ["urn:pulumi:s::p::t::a::b", "a::b"],
  ])("names %s %s", (urn, name) => expect(nameOfUrn(urn)).toBe(name));

  it("refuses what is not a URN", () => expect(() => nameOfUrn("member-00001")).toThrow(/not a resource URN/));

  it("declares a decrypted export's secrets as secrets, nested and in arrays, and refuses ciphertext", () => {
    const mark = (x: unknown) => ({ SECRET: x });
    expect(reviveSecrets({ a: 1, b: [secretOf({ c: "x" })], d: { e: secretOf("y") } }, mark)).toEqual({ a: 1, b: [{ SECRET: { c: "x" } }], d: { e: { SECRET: "y" } } });
    expect(() => reviveSecrets({ pw: { [PULUMI_SIG_KEY]: PULUMI_SECRET_SIG, ciphertext: "v1:…" } }, mark)).toThrow(/not decrypted/);
  });
});
