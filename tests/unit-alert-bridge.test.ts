// Unit tier (loopback HTTP only): Alertmanager's webhook → one GitLab issue per alert, opened,
// updated, closed; what is not Alertmanager's payload changes nothing.
import type { Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertBridge, MAX_BODY_BYTES } from "../lib/ci/alert-bridge";
import { alertIssue, alertKey, alertMarker } from "../lib/ci/alert-issues";
import { fakeGitLab } from "./helpers/fake-gitlab";
import { freePort } from "./helpers/tools";

const token = "glpat-alert-bridge-test-token";
const siteDown = (status: "firing" | "resolved", extra: Record<string, string> = {}) => ({
  status,
  labels: { alertname: "SiteDown", handle: "velo-libre", site: "velo-libre.example", web_host: "web1", status: "active", instance: "https://velo-libre.example/", job: "site", ...extra },
  annotations: { summary: "velo-libre.example of velo-libre does not answer as it should (active) on web1" },
  startsAt: "2026-12-04T21:00:00Z",
  endsAt: status === "resolved" ? "2026-12-04T21:20:00Z" : "0001-01-01T00:00:00Z",
  fingerprint: status === "firing" ? "aaaa" : "bbbb",
});
const payload = (alerts: unknown[]) => JSON.stringify({ version: "4", status: "firing", receiver: "volunteers", groupLabels: {}, alerts });

describe("the alert bridge", () => {
  const gl = fakeGitLab(token, { id: 9, username: "bot" });
  let bridge: Server;
  let url = "";
  const log: string[] = [];
  const post = (body: string) => fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body });

  beforeAll(async () => {
    const gp = await freePort();
    await new Promise<void>((r) => gl.server.listen(gp, "127.0.0.1", r));
    bridge = alertBridge({ api: `http://127.0.0.1:${gp}/api/v4`, project: "42", token }, (l) => log.push(l));
    const bp = await freePort();
    await new Promise<void>((r) => bridge.listen(bp, "127.0.0.1", r));
    url = `http://127.0.0.1:${bp}/alerts`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => bridge.close(() => r()));
    await new Promise<void>((r) => gl.server.close(() => r()));
  });

  it("a firing alert opens one issue naming the member and the site; firing again updates it", async () => {
    expect((await post(payload([siteDown("firing")]))).status).toBe(200);
    expect(gl.issues.map((i) => [i.title, i.labels, i.state])).toEqual([["Alert SiteDown: velo-libre.example (velo-libre)", "alert", "opened"]]);
    expect(gl.issues[0]?.description).toContain("does not answer as it should");
    expect(gl.issues[0]?.description).toContain("| handle | velo-libre |");
    // Same alert, another fingerprint and instance label: the same issue.
    expect((await post(payload([siteDown("firing", { instance: "other" })]))).status).toBe(200);
    expect(gl.issues).toHaveLength(1);
    expect(log.join("\n")).toMatch(/firing SiteDown handle=velo-libre site=velo-libre\.example: issue created\nfiring .*: issue updated/);
  });

  it("another site's alert is another issue; resolving closes only its own", async () => {
    await post(payload([siteDown("firing", { handle: "ondes-libres", site: "radio.ondes-libres.example" })]));
    expect(gl.issues.filter((i) => i.state === "opened")).toHaveLength(2);
    expect((await post(payload([siteDown("resolved")]))).status).toBe(200);
    expect(gl.issues.map((i) => [i.title, i.state])).toEqual([
      ["Alert SiteDown: velo-libre.example (velo-libre)", "closed"],
      ["Alert SiteDown: radio.ondes-libres.example (ondes-libres)", "opened"],
    ]);
    expect(gl.issues[0]?.description).toMatch(/Resolved at 2026-12-04T21:20:00Z/);
  });

  it("what is not Alertmanager's payload is refused and changes nothing", async () => {
    const before = JSON.stringify(gl.issues);
    const refused: [string, string | Buffer, number][] = [
      ["not JSON", "{", 400],
      ["another version", JSON.stringify({ version: "3", status: "firing", alerts: [] }), 400],
      ["an alert without its name", payload([{ ...siteDown("firing"), labels: { site: "x" } }]), 400],
      ["a label name Prometheus would not make", payload([{ ...siteDown("firing"), labels: { alertname: "X", "bad name": "1" } }]), 400],
      ["a body over the limit", "x".repeat(MAX_BODY_BYTES + 1), 413],
    ];
    for (const [what, body, code] of refused) expect((await post(body as string)).status, what).toBe(code);
    expect((await fetch(url.replace("/alerts", "/other"), { method: "POST", body: "{}" })).status).toBe(404);
    expect((await fetch(url)).status).toBe(405);
    expect(JSON.stringify(gl.issues)).toBe(before);
  });

  it("a value from an alert cannot make the issue say something else (no HTML, links or tables)", async () => {
    await post(payload([siteDown("firing", { handle: "x", site: "<img src=x> [click](http://evil) | a |" })]));
    const issue = gl.issues.at(-1)!;
    expect(issue.description).not.toMatch(/(?<!\\)<img|(?<!\\)\]\(http/);
    expect(issue.description).toContain("\\<img src=x\\> \\[click\\](http://evil) \\| a \\|");
  });

  it("the token never reaches the log, and the marker names the alert by what it is about", () => {
    expect(log.join("\n")).not.toContain(token);
    expect(alertKey(siteDown("firing"))).toBe("SiteDown handle=velo-libre site=velo-libre.example");
    expect(alertMarker(siteDown("firing"))).toBe(alertMarker(siteDown("resolved", { instance: "elsewhere" })));
    expect(alertMarker(siteDown("firing"))).not.toBe(alertMarker(siteDown("firing", { site: "b.example" })));
  });
});

describe("a backup alert's issue names the source and the host that sends it", () => {
  const backup = (source: string, handle?: string) => ({ labels: { alertname: "BackupTooOld", host: "web1", backup_host: "web1", source, kind: "path", name: "x", job: "node", ...(handle ? { handle } : {}) } });
  it.each([
    { source: "path--crontabs", handle: undefined, title: "Alert BackupTooOld: path--crontabs on web1" },
    { source: "home--velo-libre", handle: "velo-libre", title: "Alert BackupTooOld: home--velo-libre on web1 (velo-libre)" },
  ])("$source: $title", ({ source, handle, title }) => {
    const a = { status: "firing" as const, annotations: {}, startsAt: "2026-12-04T21:00:00Z", endsAt: "0001-01-01T00:00:00Z", fingerprint: "f", ...backup(source, handle) };
    expect(alertIssue(a).title).toBe(title);
  });
  it("two sources of one host are two issues (their markers differ)", () => {
    expect(alertMarker(backup("path--crontabs"))).not.toBe(alertMarker(backup("path--acme")));
    expect(alertKey(backup("path--crontabs"))).toBe("BackupTooOld host=web1 backup_host=web1 source=path--crontabs");
  });
});

describe("a zone alert on one name server names the server: one issue per server", () => {
  const zoneAlert = (alertname: string, nameserver?: string) => ({
    status: "firing" as const,
    annotations: {},
    startsAt: "2026-12-04T21:00:00Z",
    endsAt: "0001-01-01T00:00:00Z",
    fingerprint: "f",
    labels: { alertname, zone: "velo-libre.example", owner: "velo-libre", job: "node", host: "mon1", ...(nameserver ? { nameserver } : {}) },
  });
  it.each([
    { alert: "RrsigExpiresSoon", ns: "ns2", title: "Alert RrsigExpiresSoon: velo-libre.example on ns2" },
    { alert: "ZoneNotAnswered", ns: "ns1", title: "Alert ZoneNotAnswered: velo-libre.example on ns1" },
    { alert: "ZoneSerialBehind", ns: undefined, title: "Alert ZoneSerialBehind: velo-libre.example" },
  ])("$alert: $title", ({ alert, ns, title }) => {
    expect(alertIssue(zoneAlert(alert, ns)).title).toBe(title);
  });
  it("the same zone on two servers: two markers", () => {
    expect(alertMarker(zoneAlert("RrsigMissing", "ns1"))).not.toBe(alertMarker(zoneAlert("RrsigMissing", "ns2")));
  });
});
