import { describe, expect, it } from "vitest";
import { type CheckUnit, renderCheckService, renderCheckTimer } from "../lib/render/check-units";

const base: CheckUnit = {
  set: "monitoring",
  unit: "globenet-x",
  what: "the x check",
  description: "x, for the node exporter",
  source: "lib/render/x.ts",
  command: ["/bin/bash", "/etc/x/x.sh", "/etc/x/list", "/var/lib/x.prom"],
  writes: "/var/lib/prometheus/node-exporter",
  network: false,
  everyMin: 1,
};

describe("check-units: one service and timer shape for the textfile checks", () => {
  it.each([
    ["no network", { network: false }, ["PrivateNetwork=yes"], ["RestrictAddressFamilies", "network-online"]],
    ["network", { network: true }, ["RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "After=network-online.target"], ["PrivateNetwork"]],
  ] as const)("service, %s", (_n, over, present, absent) => {
    const text = renderCheckService({ ...base, ...over });
    expect(text).toContain("ExecStart=/bin/bash /etc/x/x.sh /etc/x/list /var/lib/x.prom\n");
    expect(text).toContain("ReadWritePaths=/var/lib/prometheus/node-exporter\n");
    expect(text).toMatch(/^# Managed by globenet-infra \(FileSet monitoring\): the x check \(lib\/render\/x\.ts\)\./);
    for (const p of present) expect(text).toContain(p);
    for (const a of absent) expect(text).not.toContain(a);
  });

  it.each([
    [1, undefined, "every minute", "OnUnitActiveSec=1min", false],
    [15, undefined, "every 15 minutes", "OnUnitActiveSec=15min", false],
    [1, "10s", "every minute", "OnUnitActiveSec=1min", true],
  ] as const)("timer every %s min (accuracy %s)", (everyMin, accuracy, words, line, hasAccuracy) => {
    const text = renderCheckTimer({ ...base, everyMin, ...(accuracy ? { accuracy } : {}) });
    expect(text).toContain(`Description=globenet-infra: the x check, ${words}\n`);
    expect(text).toContain(`${line}\n`);
    expect(text.includes("AccuracySec=10s")).toBe(hasAccuracy);
    expect(text).toContain("runs globenet-x.service");
  });

  it.each([
    ["a space in a path", { command: ["/bin/bash", "/etc/x y.sh"] }],
    ["a newline in a path", { writes: "/var/lib\nExecStart=/bin/sh" }],
    ["a newline in the description", { description: "x\nExecStartPre=/bin/sh" }],
    ["a specifier in the description", { what: "100%" }],
    ["a fraction of a minute", { everyMin: 0.5 }],
    ["zero minutes", { everyMin: 0 }],
  ] as const)("refuses %s", (_n, over) => {
    expect(() => renderCheckService({ ...base, ...over } as CheckUnit)).toThrow(/globenet-x unit/);
    expect(() => renderCheckTimer({ ...base, ...over } as CheckUnit)).toThrow(/globenet-x unit/);
  });
});
