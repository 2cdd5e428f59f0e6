// Unit tier: the systemd pieces of the monitoring (lib/render/monitoring-units.ts): the node
// exporter's drop-in on each host, the alert bridge's unit and environment file on the monitor host.
// systemd-analyze verify runs on them in tests/monitoring-checkers.test.ts.
import { describe, expect, it } from "vitest";
import { ALERT_BRIDGE_ENV, bridgeListen, renderAlertBridgeEnv, renderAlertBridgeUnit, renderNodeExporterDropIn, TEXTFILE_DIR } from "../lib/render/monitoring-units";
import type { MonitoringPlan } from "../lib/model/monitoring";

const plan = (webhook?: string) => ({ monitor: { name: "mon1" }, settings: { webhook } }) as unknown as Pick<MonitoringPlan, "settings" | "monitor">;
const TOKEN = "glpat-abcdefghijklmnop1234";

describe("the monitoring's systemd pieces", () => {
  it.each([
    { host: { name: "web1", address: "192.0.2.10" }, listen: "192.0.2.10:9100" },
    { host: { name: "ns9", address: "2001:db8::53" }, listen: "[2001:db8::53]:9100" },
  ])("the node exporter of $host.name listens on its own address only ($listen), with the textfile collector", ({ host, listen }) => {
    const text = renderNodeExporterDropIn(host);
    expect(text.split("\n").filter((l) => l.startsWith("ExecStart="))).toEqual(["ExecStart=", `ExecStart=/usr/bin/prometheus-node-exporter --web.listen-address=${listen} --collector.textfile.directory=${TEXTFILE_DIR} $ARGS`]);
    expect(TEXTFILE_DIR).toBe("/var/lib/prometheus/node-exporter");
  });

  it.each([
    { webhook: undefined, listen: "127.0.0.1:9099" },
    { webhook: "http://127.0.0.1:9200/alerts", listen: "127.0.0.1:9200" },
    { webhook: "http://[::1]:9099/alerts", listen: "[::1]:9099" },
    { webhook: "https://alerts.example.org/hook", listen: undefined },
  ])("webhook $webhook: the bridge on the monitor host listens on $listen", ({ webhook, listen }) => {
    expect(bridgeListen(plan(webhook))).toBe(listen);
    const unit = renderAlertBridgeUnit(plan(webhook));
    if (!listen) return expect(unit).toBeUndefined();
    expect(unit).toContain(`monitor bridge --listen ${listen}\n`);
    expect(unit).toContain(`EnvironmentFile=${ALERT_BRIDGE_ENV}\n`);
    expect(unit).toContain("DynamicUser=yes\n");
    expect(unit).not.toContain("GITLAB_API_TOKEN=");
  });

  it("the environment file: the three variables the bridge reads, one a line", () => {
    expect(renderAlertBridgeEnv({ api: "https://gitlab.example/api/v4", project: "42", token: TOKEN })).toBe(`CI_API_V4_URL=https://gitlab.example/api/v4\nCI_PROJECT_ID=42\nGITLAB_API_TOKEN=${TOKEN}\n`);
  });

  it.each([
    { what: "a token with a line break (a second variable smuggled in)", e: { token: `${TOKEN}\nLD_PRELOAD=/tmp/x.so` }, err: /the GitLab token must be/ },
    { what: "a token with a space", e: { token: "abc def ghi" }, err: /the GitLab token must be/ },
    { what: "an API URL with a line break", e: { api: "https://gitlab.example/api/v4\nGITLAB_API_TOKEN=x" }, err: /the GitLab API URL must be/ },
    { what: "a project with a quote", e: { project: "4'2" }, err: /the project must be/ },
  ])("refused: $what, and the token never appears in the error", ({ e, err }) => {
    const f = () => renderAlertBridgeEnv({ api: "https://gitlab.example/api/v4", project: "42", token: TOKEN, ...e });
    expect(f).toThrow(err);
    try {
      f();
    } catch (x) {
      expect((x as Error).message).not.toContain(TOKEN);
      expect((x as Error).message).not.toContain("abc def");
    }
  });
});
