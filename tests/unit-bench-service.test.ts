// Unit tier: no root, no daemon, no engine. npm run bench -- service: the engine's events and the
// probes' sightings (a timeline) turned into the table of phases, beside the floors; and the
// throwaway member's files valid for the lab stack, active and departed. The real run is the
// command itself (docs/architecture.md, "Speed"), never part of npm test.
import { cpSync, mkdtempSync, rmSync, writeFileSync, mkdirSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatBootStages, formatServiceTable, guestBootStages, serviceTable, shortName, type Mark } from "../lib/bench/service-table";
import { HANDLE, memberFiles, siteName } from "../lib/bench/service";
import { loadModel } from "../lib/check/build";
import { REPO_ROOT } from "../lib/base/repo";
import { freshSshPublicKey } from "../lib/bench/synthetic";

const U = (t: string, n: string) => `urn:pulumi:lab::globenet-infra::globenet:index:Member$${t}::${n}`;
const ACCOUNT = U("globenet:index/hostingAccount:HostingAccount", "bench-service");
const GUEST = U("globenet:index/guest:Guest", "bench-service--svc");
const VHOSTS = U("globenet:index/fileSet:FileSet", "vhosts-lab");

/** A whole apply: engine start at 1.2 s, two unchanged steps, three changing ones, probes after. */
function fullTimeline(): Mark[] {
  return [
    { kind: "engine-start", at: 1200 },
    { kind: "step-start", at: 3000, urn: U("x:y:Z", "a"), type: "x:y:Z", op: "same" },
    { kind: "step-start", at: 3100, urn: U("x:y:Z", "b"), type: "x:y:Z", op: "same" },
    { kind: "step-start", at: 4000, urn: ACCOUNT, type: "globenet:index/hostingAccount:HostingAccount", op: "create" },
    { kind: "step-start", at: 4100, urn: GUEST, type: "globenet:index/guest:Guest", op: "create" },
    { kind: "step-end", at: 6000, urn: ACCOUNT },
    { kind: "step-start", at: 6100, urn: VHOSTS, type: "globenet:index/fileSet:FileSet", op: "update" },
    { kind: "step-end", at: 9000, urn: VHOSTS },
    { kind: "step-end", at: 12000, urn: GUEST },
    { kind: "engine-end", at: 12500 },
    { kind: "apply-returned", at: 13000 },
    { kind: "probe", at: 11000, probe: "guest-defined", detail: "shut off" },
    { kind: "probe", at: 11500, probe: "guest-running" },
    { kind: "probe", at: 50000, probe: "ssh-banner" },
    { kind: "probe", at: 61500, probe: "ssh-login" },
    { kind: "probe", at: 9500, probe: "site-http", detail: "HTTP 200" },
    { kind: "probe", at: 20000, probe: "site-https", detail: "HTTP 200" },
  ];
}

describe("serviceTable: a timeline to phases", () => {
  it("orders the phases and subtracts each from its own start", () => {
    const t = serviceTable(fullTimeline(), { emptyApply: 6.5, emptyEngineStart: 1.1, bareBootToLogin: 40 });
    const by = Object.fromEntries(t.rows.map((r) => [r.phase, r]));
    expect(t.rows.map((r) => r.phase)).toEqual([
      "engine start (CLI, state, prelude)",
      "plan (program + diffs to the first change)",
      "create HostingAccount bench-service",
      "create Guest bench-service--svc",
      "update FileSet vhosts-lab",
      "engine end (after the last step)",
      "apply returned (whole up)",
      "guest defined (virsh)",
      "guest running (virsh)",
      "guest sshd answers (banner)",
      "member's SSH login accepted",
      "site over HTTP, its own vhost",
      "site over HTTPS, certificate valid",
    ]);
    expect(by["engine start (CLI, state, prelude)"]).toMatchObject({ start: 0, end: 1.2, took: 1.2, floor: 1.1, floorWhat: "the empty apply's engine start" });
    expect(by["plan (program + diffs to the first change)"]).toMatchObject({ start: 1.2, end: 4, detail: "2 unchanged step(s) before it" });
    expect(by["plan (program + diffs to the first change)"]?.took).toBeCloseTo(2.8);
    expect(by["create Guest bench-service--svc"]).toMatchObject({ start: 4.1, end: 12, took: 7.9 });
    expect(by["update FileSet vhosts-lab"]).toMatchObject({ start: 6.1, end: 9 });
    expect(by["engine end (after the last step)"]).toMatchObject({ start: 12, end: 12.5, took: 0.5 });
    expect(by["apply returned (whole up)"]).toMatchObject({ start: 0, end: 13, took: 13, floor: 6.5, floorWhat: "empty apply (no change)" });
    // The guest's boot: running → login, beside the bare boot of the same image.
    expect(by["member's SSH login accepted"]).toMatchObject({ start: 11.5, end: 61.5, took: 50, floor: 40 });
    expect(by["site over HTTPS, certificate valid"]).toMatchObject({ end: 20, detail: "HTTP 200" });
    expect(t).toMatchObject({ steps: 3, same: 2, missing: [] });
  });

  const gaps: Array<[string, (m: Mark[]) => Mark[], string[]]> = [
    ["no prelude", (m) => m.filter((x) => x.kind !== "engine-start"), ["the engine's prelude event"]],
    ["a step that never ended", (m) => m.filter((x) => !(x.kind === "step-end" && x.urn === GUEST)), ["the end of create Guest bench-service--svc"]],
    ["no summary", (m) => m.filter((x) => x.kind !== "engine-end"), ["the engine's summary event"]],
    ["an apply that never returned", (m) => m.filter((x) => x.kind !== "apply-returned"), ["the end of the apply"]],
    ["no login", (m) => m.filter((x) => !(x.kind === "probe" && x.probe === "ssh-login")), ["member's SSH login accepted"]],
    ["no certificate", (m) => m.filter((x) => !(x.kind === "probe" && x.probe === "site-https")), ["site over HTTPS, certificate valid"]],
  ];
  it.each(gaps)("names what never happened: %s", (_what, cut, missing) => {
    const t = serviceTable(cut(fullTimeline()));
    expect(t.missing).toEqual(missing);
  });

  it("a probe never seen stays in the table, said so", () => {
    const t = serviceTable(fullTimeline().filter((x) => !(x.kind === "probe" && x.probe === "ssh-login")));
    expect(t.rows.find((r) => r.phase === "member's SSH login accepted")).toEqual({ phase: "member's SSH login accepted", detail: "never seen" });
  });

  it("a failed step is marked FAILED; the plan ends at the summary when nothing changes", () => {
    const failed = fullTimeline().map((x): Mark => (x.kind === "step-end" && x.urn === VHOSTS ? { ...x, failed: true } : x));
    expect(serviceTable(failed).rows.find((r) => r.phase.startsWith("update FileSet"))?.detail).toBe("FAILED");
    const noop: Mark[] = [
      { kind: "engine-start", at: 1000 },
      { kind: "step-start", at: 2000, urn: U("x:y:Z", "a"), type: "x:y:Z", op: "same" },
      { kind: "step-end", at: 2100, urn: U("x:y:Z", "a") },
      { kind: "engine-end", at: 5000 },
      { kind: "apply-returned", at: 5500 },
    ];
    const t = serviceTable(noop);
    expect(t.rows[1]).toMatchObject({ start: 1, end: 5, took: 4, detail: "1 unchanged step(s) before it" });
    expect(t.steps).toBe(0);
  });

  it("marks given out of order are sorted by time", () => {
    const a = serviceTable(fullTimeline());
    const b = serviceTable([...fullTimeline()].reverse());
    expect(b).toEqual(a);
  });

  const names: Array<[string, string, string]> = [
    [ACCOUNT, "globenet:index/hostingAccount:HostingAccount", "HostingAccount bench-service"],
    ["urn:pulumi:lab::globenet-infra::pulumi:pulumi:Stack::globenet-infra-lab", "pulumi:pulumi:Stack", "Stack globenet-infra-lab"],
  ];
  it.each(names)("shortName(%s)", (urn, type, want) => expect(shortName(urn, type)).toBe(want));

  it("prints the table with the floor and the ratio beside the phase", () => {
    const text = formatServiceTable(serviceTable(fullTimeline(), { emptyApply: 6.5, bareBootToLogin: 40 }));
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^phase +start s +end s +took s +floor s +×floor +floor \/ detail$/);
    expect(lines.find((l) => l.startsWith("apply returned"))).toMatch(/0\.0 +13\.0 +13\.0 +6\.5 +2\.00 +empty apply \(no change\)$/);
    expect(lines.find((l) => l.startsWith("member's SSH login"))).toMatch(/11\.5 +61\.5 +50\.0 +40\.0 +1\.25 +bare boot of the image: running → login$/);
    expect(lines.find((l) => l.startsWith("guest defined"))).toMatch(/- +11\.0 +- +- +shut off$/);
  });
});

describe("the throwaway member's files", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  /** The repository's lab data with the member's files written over it. */
  function labCopyWith(files: Record<string, string | null>): string {
    const d = mkdtempSync(join(tmpdir(), "globenet-unit-bench-service-"));
    dirs.push(d);
    copyFileSync(join(REPO_ROOT, "Pulumi.lab.yaml"), join(d, "Pulumi.lab.yaml"));
    for (const sub of ["members", "zones"]) cpSync(join(REPO_ROOT, sub), join(d, sub), { recursive: true });
    // The lab's host key file, which Pulumi.lab.yaml names (made at run time by the lab).
    mkdirSync(join(d, ".lab", "ssh"), { recursive: true });
    writeFileSync(join(d, ".lab", "ssh", "host_key.pub"), `${freshSshPublicKey("root@lab")}\n`);
    for (const [rel, content] of Object.entries(files)) {
      if (content === null) rmSync(join(d, rel), { force: true });
      else {
        mkdirSync(dirname(join(d, rel)), { recursive: true });
        writeFileSync(join(d, rel), content);
      }
    }
    return d;
  }

  it("are valid on the lab stack: a member with a site, a database and a VPS", () => {
    const site = siteName(Date.UTC(2026, 11, 5));
    expect(site).toBe("rmx9nbpc0.bench-service.test");
    const { model, errors } = loadModel(labCopyWith(memberFiles(freshSshPublicKey("bench@test"), false, site)), "lab", { accel: "qemu" });
    expect(errors).toEqual([]);
    // A name of its own at each run, under the member's zone: mod_md keeps a former run's certificate.
    expect(model?.sites.filter((s) => s.handle === HANDLE).map((s) => s.host)).toEqual([site]);
    expect(siteName(Date.UTC(2026, 11, 5) + 1000)).not.toBe(site);
    expect(model?.databases.filter((x) => x.handle === HANDLE).map((x) => x.name)).toEqual(["bench_service"]);
    expect(model?.vps.filter((v) => v.handle === HANDLE).map((v) => [v.domain, v.network.type])).toEqual([["bench-service--svc", "user"]]);
  });

  it("and after the departure (status: departed, VPS file and zone gone) the data is valid and holds nothing of it", () => {
    const root = labCopyWith({ ...memberFiles(freshSshPublicKey("bench@test"), false), ...memberFiles("", true) });
    const { model, errors } = loadModel(root, "lab", { accel: "qemu" });
    expect(errors).toEqual([]);
    // A departed member keeps its file but nothing is rendered for it: the apply archives, then removes.
    expect(model?.members.map((m) => m.handle)).not.toContain(HANDLE);
    expect([...(model?.sites ?? []), ...(model?.databases ?? []), ...(model?.vps ?? [])].filter((x) => x.handle === HANDLE)).toEqual([]);
    expect(model?.zones.map((z) => z.name)).not.toContain("bench-service.test");
  });
});

describe("guestBootStages: the guest's own clock from its serial console", () => {
  // Lines as the lab image's console writes them (tests trimmed to the ones that count).
  const boot = (k: number) =>
    [
      `[    0.000000] Linux version 6.1.0-50-amd64 (debian-kernel@lists.debian.org) #1 SMP`,
      `[    ${(5.7 + k).toFixed(6)}] Run /init as init process`,
      `[   ${(11.05 + k).toFixed(6)}] systemd[1]: systemd 252.39-1~deb12u2 running in system mode (+PAM +AUDIT)`,
      `[   29.815397] cloud-init[335]: Cloud-init v. 22.4.2 running 'init-local' at Sat, 05 Dec 2026 00:03:43 +0000. Up ${29.54 + k} seconds.`,
      `[   37.478416] cloud-init[431]: Cloud-init v. 22.4.2 running 'init' at Sat, 05 Dec 2026 00:03:51 +0000. Up 37.24 seconds.`,
      `[   43.512962] cloud-init[431]: Generating public/private rsa key pair.`,
      `[   43.759936] cloud-init[431]: Generating public/private ed25519 key pair.`,
      `svc login: [   50.870222] cloud-init[488]: Cloud-init v. 22.4.2 running 'modules:config' at Sat, 05 Dec 2026 00:04:04 +0000. Up 50.34 seconds.`,
    ].join("\n");
  const cases: Array<[string, string, Array<number | undefined>]> = [
    ["one boot, stopped after modules:config", boot(0), [5.7, 11.05, 29.54, 37.24, 43.759936, 50.34, undefined, undefined]],
    ["two boots in one log: the last counts", `${boot(100)}\n${boot(0)}`, [5.7, 11.05, 29.54, 37.24, 43.759936, 50.34, undefined, undefined]],
    [
      "a finished boot",
      `${boot(0)}\n[ 62.1] cloud-init[527]: Cloud-init v. 22.4.2 running 'modules:final' at Sat. Up 61.9 seconds.\n[ 64.2] cloud-init[527]: Cloud-init v. 22.4.2 finished at Sat, 05 Dec 2026 00:02:46 +0000. Datasource DataSourceNoCloud [seed=/dev/sr0][dsmode=net].  Up 64.05 seconds`,
      [5.7, 11.05, 29.54, 37.24, 43.759936, 50.34, 61.9, 64.05],
    ],
    ["no kernel line: nothing", "svc login:", [undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined]],
  ];
  it.each(cases)("%s", (_what, log, ups) => expect(guestBootStages(log).map((s) => s.up)).toEqual(ups));

  it("prints both boots side by side", () => {
    const a = guestBootStages(boot(0));
    const text = formatBootStages(a, guestBootStages(boot(1)));
    expect(text.split("\n")[0]).toMatch(/^guest's own clock \(uptime s\) +applied +bare$/);
    expect(text.split("\n")[1]).toMatch(/^kernel → initramfs \(\/init\) +5\.7 +6\.7$/);
    expect(text.split("\n").at(-1)).toMatch(/^cloud-init finished +- +-$/);
  });
});
