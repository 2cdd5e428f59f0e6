import { describe, expect, it } from "vitest";
import type { Model } from "../lib/model/types";
import { formatVps, parseVpsStates, vpsNeedsAttention, vpsStates } from "../lib/status/vps";

const vps = (handle: string, name: string, hypervisor: string, status = "active") => ({ handle, name, domain: `${handle}--${name}`, hypervisor, status });
const model = (list: ReturnType<typeof vps>[]) => ({ vps: list }) as unknown as Model;

describe("status -- vps: what the hypervisors answer", () => {
  it.each([
    ["one running", "vps velo-libre--atelier running\n", [["velo-libre--atelier", "running"]]],
    ["a state with a space", "vps a--b shut_off\n", [["a--b", "shut off"]]],
    ["a guest the hypervisor lacks", "vps a--b undefined\n", [["a--b", "undefined"]]],
    ["noise and forged lines are ignored", "warning: x\nvps A--B running\nvps a--b running extra\nvps a--b run<ning\nvps a--c paused\n", [["a--c", "paused"]]],
    ["nothing", "", []],
  ])("%s", (_what, out, want) => {
    expect([...parseVpsStates(out)]).toEqual(want);
  });

  it("each VPS of the data with its hypervisor's answer; departed ones left out; a hypervisor not read says so", () => {
    const m = model([vps("velo-libre", "atelier", "hv1"), vps("ondes", "stream", "hv2"), vps("old", "gone", "hv1", "departed"), vps("susp", "box", "hv1", "suspended")]);
    const rows = vpsStates(m, new Map([["hv1", new Map([["velo-libre--atelier", "running"], ["susp--box", "shut off"]])]]));
    expect(rows.map((r) => [r.domain, r.state, r.suspended])).toEqual([
      ["ondes--stream", "not read", false],
      ["susp--box", "shut off", true],
      ["velo-libre--atelier", "running", false],
    ]);
    // Attention: the unread one; a suspended member's guest shut off is as the data wants.
    expect(vpsNeedsAttention(rows).map((r) => r.domain)).toEqual(["ondes--stream"]);
  });

  it.each([
    ["running, active", "running", "active", false],
    ["paused, active", "paused", "active", true],
    ["shut off, active", "shut off", "active", true],
    ["running, suspended", "running", "suspended", true],
    ["shut off, suspended", "shut off", "suspended", false],
    ["undefined", "undefined", "active", true],
  ])("needs attention: %s", (_what, state, status, want) => {
    const rows = vpsStates(model([vps("a", "b", "hv1", status)]), new Map([["hv1", new Map([["a--b", state]])]]));
    expect(vpsNeedsAttention(rows).length > 0).toBe(want);
  });

  it("the table, in English and French, says what is wrong and what to do", () => {
    const rows = vpsStates(model([vps("a", "b", "hv1"), vps("c", "d", "hv2", "suspended")]), new Map([["hv1", new Map([["a--b", "paused"]])], ["hv2", new Map([["c--d", "shut off"]])]]));
    const en = formatVps(rows, "en");
    expect(en).toContain("a--b  a       hv1         paused");
    expect(en).toContain("shut off (suspended)");
    expect(en).toContain("1 not in the state the data wants");
    const fr = formatVps(rows, "fr");
    expect(fr).toContain("shut off (suspendu)");
    expect(fr).toContain("1 pas dans l'état voulu");
    expect(formatVps([], "fr")).toBe("aucun VPS sur cette pile");
  });
});
