import { describe, expect, it } from "vitest";
import { RESOURCE_TOKENS } from "../lib/base/tokens";
import { formatAdoption, judgeAdoption, takeoverBackupLines } from "../lib/guard/adoption";
import { formatMpmSwitches, mpmSwitchCommand, mpmSwitches } from "../lib/guard/mpm";
import type { Plan, PlanStep } from "../lib/guard/plan";
import { allowancesIn, formatVerdict, judge } from "../lib/guard/rules";
import { mpmModulesOff, mpmSwitchNeeded, normaliseMpm } from "../provider/resources/apache-mpm";
import { fileSetType, type FileSetInputs, type FileSetOutputs } from "../provider/resources/file-set";

const FS = RESOURCE_TOKENS.fileSet;
const target = { name: "web1", address: "127.0.0.1", port: 22, user: "root", hostKey: "ssh-ed25519 AAAA" };
const apacheStep = (op: string, mpm: string | undefined, kind = "apache2"): PlanStep => ({
  op,
  urn: `urn:pulumi:prod::globenet::globenet:index:WebServer$${FS}::web1-${kind}`,
  type: FS,
  name: `web1-${kind}`,
  new: { target, kind },
  ...(mpm === undefined ? {} : { oldOutputs: { target, kind, mpm } }),
});
const plan = (...steps: PlanStep[]): Plan => ({ stack: "prod", steps });

describe("Apache's MPM: what the wiring switches", () => {
  it.each([
    ["mpm_event ", "mpm_event", true, ["mpm_event"]],
    ["mpm_prefork mpm_itk", "mpm_itk mpm_prefork", false, []],
    ["mpm_itk mpm_prefork ", "mpm_itk mpm_prefork", false, []],
    ["mpm_worker\n", "mpm_worker", true, ["mpm_worker"]],
    ["mpm_prefork", "mpm_prefork", true, []],
    ["", "", true, []],
  ])("%j → %j (switch: %s)", (live, norm, needed, off) => {
    expect(normaliseMpm(live)).toBe(norm);
    expect(mpmSwitchNeeded(live)).toBe(needed);
    expect(mpmModulesOff(live)).toEqual(off);
  });
  it("an MPM not known (a state from before, a create) is not a switch", () => {
    expect(mpmSwitchNeeded(undefined)).toBe(false);
  });
  it("the file set's diff shows an update when the host runs another MPM, none once it runs mpm-itk", () => {
    const news = { target, kind: "apache2", files: {} } as FileSetInputs;
    const olds = { target, kind: "apache2", hashes: {}, serials: {}, generation: "x" } as FileSetOutputs;
    expect(fileSetType.diff("web1:apache2", { ...olds, mpm: "mpm_event" }, news)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    expect(fileSetType.diff("web1:apache2", { ...olds, mpm: "mpm_itk mpm_prefork" }, news).changes).toBe(false);
    expect(fileSetType.diff("web1:apache2", olds, news).changes).toBe(false);
  });
});

describe("the guard on an MPM switch: said plainly, refused unless allowed", () => {
  it("names the host, what runs and the runbook's command; ignores other kinds, creates and hosts already on mpm-itk", () => {
    const list = mpmSwitches(plan(apacheStep("update", "mpm_event"), apacheStep("update", "mpm_event", "php-fpm"), apacheStep("create", undefined), apacheStep("same", "mpm_event")));
    expect(list).toEqual([{ host: "web1", from: "mpm_event", allowance: "restart/web1", command: "ssh root@web1 'a2dismod -q mpm_event && a2enmod -q mpm_itk && systemctl restart apache2'" }]);
    expect(mpmSwitches(plan(apacheStep("update", "mpm_itk mpm_prefork")))).toEqual([]);
    expect(mpmSwitchCommand("web2", "mpm_prefork")).toBe("ssh root@web2 'a2enmod -q mpm_itk && systemctl restart apache2'");
  });
  it("Allow-Restart: <host> in a commit message is the allowance restart/<host>", () => {
    expect(allowancesIn("Adopt web1\n\nAllow-Restart: web1, web2\nAllow-Destroy: members/x/member.yaml\n")).toEqual(["members/x", "restart/web1", "restart/web2"]);
    expect(allowancesIn("Allow-Restart: ../etc")).toEqual([]);
  });
  it("the ordinary guard blocks the apply, in English and French, and lets it through once allowed", () => {
    const p = plan(apacheStep("update", "mpm_event"));
    const v = judge(p, { maxShare: 0.1, allowances: [] });
    expect(v.ok).toBe(false);
    expect(v.needed).toEqual([]);
    const en = formatVerdict(v);
    expect(en).toContain("guard: BLOCKED — this apply would restart Apache (an MPM change), which is not allowed:");
    expect(en).toContain("Apache MPM BLOCKED: web1: Apache runs mpm_event there; Globenet's sites need mpm-itk");
    expect(en).toContain("Allow-Restart: web1 in a commit message (or --allow restart/web1)");
    expect(en).not.toContain("Allow-Destroy:");
    expect(formatVerdict(v, "fr")).toContain("MPM d'Apache BLOQUÉ : web1 : Apache y tourne en mpm_event ; les sites de Globenet ont besoin de mpm-itk");
    const allowed = judge(p, { maxShare: 0.1, allowances: ["restart/web1"] });
    expect(allowed.ok).toBe(true);
    expect(formatVerdict(allowed)).toContain("Apache MPM allowed: web1");
  });
  it("the adoption guard refuses it too, naming the MPM; allowed by --allow restart/<host>", () => {
    const p = plan(apacheStep("import", undefined), apacheStep("update", "mpm_event"));
    const v = judgeAdoption(p);
    expect(v.ok).toBe(false);
    expect(formatAdoption(v)).toMatch(/^adoption: REFUSED — it would restart Apache to change its MPM, which is not allowed; nothing was changed:\n {2}Apache MPM BLOCKED: web1: Apache runs mpm_event there/);
    expect(formatAdoption(v, "fr")).toMatch(/^adoption : REFUSÉE — elle redémarrerait Apache pour changer son MPM/);
    expect(judgeAdoption(p, ["restart/web1"]).ok).toBe(true);
    expect(formatMpmSwitches([])).toBe("");
  });
});

describe("after up --adopt: where the takeover backups are", () => {
  it("one line per host, English and French, from the file sets' outputs", () => {
    const res = [
      { type: FS, outputs: { target: { name: "web1" }, kind: "apache2", takeoverBackup: "/etc/apache2/globenet-takeover.20261205T000000Z" } },
      { type: FS, outputs: { target: { name: "web1" }, kind: "bind-primary", takeoverBackup: "/etc/bind/globenet-takeover.20261205T000000Z" } },
      { type: FS, outputs: { target: { name: "ns2" }, kind: "bind-secondary" } },
      { type: RESOURCE_TOKENS.account, outputs: { target: { name: "web1" }, takeoverBackup: "/nope" } },
    ];
    expect(takeoverBackupLines(res)).toEqual([
      "takeover: on web1, the hand-made definitions it disabled are kept in /etc/apache2/globenet-takeover.20261205T000000Z, /etc/bind/globenet-takeover.20261205T000000Z (putting them back is the way back; removing them is the runbook's last step)",
    ]);
    expect(takeoverBackupLines(res, "fr")[0]).toMatch(/^reprise : sur web1, les définitions faites à la main qui ont été désactivées sont gardées dans \/etc\/apache2\//);
    expect(takeoverBackupLines([])).toEqual([]);
  });
});
