import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeDriftIssue, DRIFT_MARKER, upsertDriftIssue } from "../lib/ci/gitlab";
import { driftDetails, fileSetDrift } from "../lib/ci/drift";
import { driftIssue, driftResolved } from "../lib/ci/note";
import { parsePlan, stepFromEvent, type PlanStep } from "../lib/guard/plan";
import { SERIAL_TOKEN } from "../lib/render/bind-zone";
import { fakeGitLab } from "./helpers/fake-gitlab";
import { freePort } from "./helpers/tools";

/** What the drift job says drifted (lib/ci/drift.ts) and how it keeps its one issue (lib/ci/gitlab.ts). */

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const VHOST = "apache2/sites-available/velo.test.conf";
const ZONE = "bind/zones/velo.test.zone";

describe("what of a file set differs from git", () => {
  const git = { [VHOST]: "ServerName velo.test\n", [ZONE]: `$TTL 300\n@ SOA ns1 h ( ${SERIAL_TOKEN} ; serial\n)\n` };
  const asApplied = { [VHOST]: sha(git[VHOST]), [ZONE]: sha(git[ZONE].replace(SERIAL_TOKEN, "2026120401")) };
  it.each<[string, Record<string, string>, string[]]>([
    ["nothing (the zone's serial as the host has it)", asApplied, []],
    ["a vhost edited by hand", { ...asApplied, [VHOST]: sha("ServerName velo.test\nServerAlias x\n") }, [`${VHOST} (changed on the host)`]],
    ["a zone file edited by hand", { ...asApplied, [ZONE]: sha("edited") }, [`${ZONE} (changed on the host)`]],
    ["a file removed from the host", { [ZONE]: asApplied[ZONE] }, [`${VHOST} (missing on the host)`]],
    ["a file added on the host", { ...asApplied, "apache2/sites-available/extra.conf": sha("x") }, ["apache2/sites-available/extra.conf (on the host, not in git)"]],
  ])("%s", (_what, live, want) => {
    expect(fileSetDrift(live, git, { [ZONE]: 2026120401 })).toEqual(want);
  });
});

describe("the drift issue names the resource and what of it drifted", () => {
  const fileSet: PlanStep = {
    op: "update",
    urn: "urn:pulumi:lab::globenet-infra::globenet:files:FileSet::lab-apache",
    type: "globenet:files:FileSet",
    name: "lab-apache",
    old: { kind: "apache", files: "[stored as hashes]" },
    oldOutputs: { kind: "apache", hashes: { [VHOST]: sha("by hand") }, serials: {} },
    new: { kind: "apache", files: { [VHOST]: "ServerName velo.test\n" } },
  };
  const account: PlanStep = {
    op: "update",
    urn: "urn:pulumi:lab::globenet-infra::globenet:hosting:Account::velo",
    type: "globenet:hosting:Account",
    name: "velo",
    oldOutputs: { shell: "/bin/bash", drift: ["authorized_keys changed"] },
    new: { shell: "/usr/sbin/nologin" },
  };
  // A guest's read keeps its notes in `drift` and a note's sha256 in place of the ref (provider/resources/guest.ts).
  const guest: PlanStep = {
    op: "update",
    urn: "urn:pulumi:lab::globenet-infra::globenet:vm:Guest::velo--atelier",
    type: "globenet:vm:Guest",
    name: "velo--atelier",
    oldOutputs: { xmlRef: sha("drift: MACs"), drift: ["live definition differs from the declared XML: MACs 52:54:00:aa:bb:cc (declared 52:54:00:12:34:56)"] },
    new: { xmlRef: sha("<domain/>"), fileStore: "/srv/data/.pulumi/globenet-files" },
    diffs: ["xmlRef"],
  };
  // The same guest as the plan reads it now: inputs sent as spec, so the engine's list names spec only and the plan drops it (lib/guard/plan.ts).
  const guestSpec = stepFromEvent({
    urn: guest.urn,
    op: "update",
    old: { inputs: { spec: JSON.stringify({ domain: "velo--atelier", xmlRef: sha("<domain/>"), fileStore: "/builds/runner-a/.pulumi/globenet-files" }) }, outputs: { spec: JSON.stringify({ domain: "velo--atelier", xmlRef: sha("drift: MACs"), fileStore: "/builds/runner-a/.pulumi/globenet-files" }), drift: guest.oldOutputs?.drift } },
    new: { inputs: { spec: JSON.stringify({ domain: "velo--atelier", xmlRef: sha("<domain/>"), fileStore: "/builds/runner-b/.pulumi/globenet-files" }) } },
    diffs: ["spec"],
  }) as PlanStep;
  it.each<[string, PlanStep, string[]]>([
    ["a guest: its read's notes and the ref", guest, ["drift: live definition differs from the declared XML: MACs 52:54:00:aa:bb:cc (declared 52:54:00:12:34:56)", "xmlRef"]],
    ["a guest sent as spec, applied from another checkout: the notes and the ref, not the store's folder", guestSpec, ["drift: live definition differs from the declared XML: MACs 52:54:00:aa:bb:cc (declared 52:54:00:12:34:56)", "xmlRef"]],
    ["a file set: the file", fileSet, [`files: ${VHOST} (changed on the host)`]],
    ["an account: its own drift list and the property", account, ["drift: authorized_keys changed", "shell"]],
    ["the engine's own list when it gives one", { ...account, oldOutputs: {}, diffs: ["status"] }, ["status"]],
    ["a resource gone from the host", { ...account, op: "create" }, ["(gone from the host, or never applied)"]],
    ["a file set whose contents are hidden (secret)", { ...fileSet, new: { kind: "apache", files: "[secret]" } }, ["files"]],
  ])("%s", (_what, step, want) => {
    expect(driftDetails(step)).toEqual(want);
  });

  it("the issue lists each changed resource with its details, never a value", () => {
    const { title, body } = driftIssue("lab", { stack: "lab", steps: [fileSet, { ...account, op: "same" }] }, "2026-12-04T17:00:00Z");
    expect(title).toBe("Drift on stack lab: 1 resource(s) differ from git");
    expect(body).toContain(`update   globenet:files:FileSet lab-apache\n    files: ${VHOST} (changed on the host)\n`);
    expect(body).not.toContain("ServerName");
    expect(body).not.toContain("globenet:hosting:Account");
    expect(body).toContain("closes it once the hosts match the repository again");
  });

  it("a step keeps the outputs before and the engine's diffs, from an event and from a plan file", () => {
    const meta = { op: "update", urn: fileSet.urn, type: fileSet.type, old: { inputs: { kind: "apache" }, outputs: { hashes: { a: "1" } } }, new: { inputs: { kind: "apache" } }, diffs: ["files"] };
    const step = stepFromEvent(meta);
    expect(step).toMatchObject({ oldOutputs: { hashes: { a: "1" } }, diffs: ["files"] });
    expect(parsePlan(JSON.stringify({ stack: "lab", steps: [step] }), "plan.json").steps[0]).toMatchObject({ oldOutputs: { hashes: { a: "1" } }, diffs: ["files"] });
  });

  it("a preview with --refresh announces a refresh step per resource: read, not a change, so not drift", () => {
    const steps = [
      { op: "refresh", urn: fileSet.urn },
      { op: "update", urn: fileSet.urn },
      { op: "refresh", urn: account.urn },
      { op: "same", urn: account.urn },
    ];
    expect(parsePlan(JSON.stringify({ stack: "lab", steps }), "plan.json").steps.map((s) => s.op)).toEqual(["update", "same"]);
  });
});

describe("the one drift issue: opened, updated, closed once the hosts match git", () => {
  const token = "glpat-unit";
  const gl = fakeGitLab(token, { id: 9, username: "bot" });
  let api = "";
  beforeAll(async () => {
    const port = await freePort();
    await new Promise<void>((r) => gl.server.listen(port, "127.0.0.1", r));
    api = `http://127.0.0.1:${port}/api/v4`;
  });
  afterAll(() => new Promise<void>((r) => gl.server.close(() => r())));

  it("closes the open drift issue with the resolution appended, and nothing when none is open", async () => {
    const g = { api, project: "42", token };
    // Anyone can open an issue that looks like the job's: neither updated nor closed by it.
    gl.issues.push({ iid: 1, title: "Drift (forged)", description: `${DRIFT_MARKER}\nforged`, labels: "drift", state: "opened", author: { id: 5 } });
    expect(await closeDriftIssue(g, driftResolved("lab", "t0"))).toBeUndefined();
    expect(await upsertDriftIssue(g, "Drift", "body 1")).toBe("created");
    expect(await upsertDriftIssue(g, "Drift", "body 2")).toBe("updated");
    expect(await closeDriftIssue(g, driftResolved("lab", "t1"))).toBe(2);
    expect(gl.issues).toHaveLength(2);
    expect(gl.issues[1]).toMatchObject({ state: "closed", description: `${DRIFT_MARKER}\nbody 2\n\n---\n**Resolved:** the scheduled preview of \`lab\` on t1 found the hosts match the repository again; closed by the drift job.` });
    expect(gl.issues[0]).toMatchObject({ state: "opened", description: `${DRIFT_MARKER}\nforged` });
    // Drift again later: a new issue (the closed one stays as the record of the last episode).
    expect(await upsertDriftIssue(g, "Drift", "body 3")).toBe("created");
    expect(gl.issues.map((i) => i.state)).toEqual(["opened", "closed", "opened"]);
  });
});
