/**
 * The RRSIG check validates the signatures (lib/render/scripts/rrsig-expiry.sh with delv), for
 * real (system tier): a real named on 127.0.0.1:53 serves two zones signed by dnssec-signzone,
 * one of them with its SOA's signature corrupted afterwards (one base64 character changed: still
 * present, still far from expiry, no longer verifying). The script's metrics say 1 and 0, and
 * promtool check metrics accepts the file; the rules are tested by promtool below.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../lib/base/repo";
import { loadModel } from "../lib/check/build";
import { monitoringPlan } from "../lib/model/monitoring";
import { MONITORING_FILES, renderAlertRules } from "../lib/render/monitoring";
import { RRSIG_FILES } from "../lib/render/monitoring-dnssec";
import { waitFor } from "./helpers/daemons-web";
import { requireTools, run } from "./helpers/tools";

const ok = requireTools("named", "dnssec-keygen", "dnssec-signzone", "dig", "delv", "promtool");
const SCRIPT = join(REPO_ROOT, "lib", "render", RRSIG_FILES.script.replace("dnssec/", "scripts/"));
const ZONES = ["valide.example", "abimee.example"];

describe.skipIf(!ok)("the RRSIG check validates the signatures with delv (a real named on loopback)", () => {
  let dir = "";
  let named: ChildProcess | undefined;
  let log = "";

  beforeAll(async () => {
    if (run("dig", ["+time=1", "+tries=1", "@127.0.0.1", "version.bind", "TXT", "CH"], { timeoutMs: 5_000 }).status === 0) throw new Error("something answers DNS on 127.0.0.1:53: stop it before this test");
    dir = mkdtempSync("/tmp/globenet-rrsig-valid-");
    chmodSync(dir, 0o755);
    for (const zone of ZONES) {
      const zdir = join(dir, zone);
      mkdirSync(zdir);
      writeFileSync(join(zdir, "zone"), [`$ORIGIN ${zone}.`, "$TTL 3600", `@ IN SOA ns1.${zone}. hostmaster.${zone}. 2026120501 3600 900 1209600 3600`, `@ IN NS ns1.${zone}.`, "ns1 IN A 192.0.2.53", "www IN A 192.0.2.10", ""].join("\n"));
      const k = run("dnssec-keygen", ["-q", "-K", zdir, "-a", "ECDSAP256SHA256", "-f", "KSK", "-n", "ZONE", zone], { timeoutMs: 60_000 });
      expect(k.status, k.stderr).toBe(0);
      // -z: the one key signs everything; -O full: one record a line, so a signature can be edited.
      const s = run("dnssec-signzone", ["-q", "-S", "-z", "-K", zdir, "-O", "full", "-o", zone, "-f", join(zdir, "zone.signed"), join(zdir, "zone")], { timeoutMs: 60_000, cwd: zdir });
      expect(s.status, s.stderr).toBe(0);
    }
    // abimee.example: one character of its SOA's signature changed (A↔B), the record still well formed.
    const bad = join(dir, "abimee.example", "zone.signed");
    const lines = readFileSync(bad, "utf8").split("\n");
    const i = lines.findIndex((l) => /\sRRSIG\s+SOA\s/.test(l));
    expect(i).toBeGreaterThanOrEqual(0);
    const line = lines[i] as string;
    const at = line.length - 10;
    lines[i] = line.slice(0, at) + (line[at] === "A" ? "B" : "A") + line.slice(at + 1);
    writeFileSync(bad, lines.join("\n"));
    const uid = Number(run("id", ["-u", "bind"]).stdout);
    const gid = Number(run("id", ["-g", "bind"]).stdout);
    chownSync(dir, uid, gid);
    const conf = join(dir, "named.conf");
    writeFileSync(
      conf,
      [
        `options { directory "${dir}"; pid-file none; session-keyfile none; listen-on port 53 { 127.0.0.1; }; listen-on-v6 { none; }; recursion no; dnssec-validation no; };`,
        ...ZONES.map((z) => `zone "${z}" { type primary; file "${join(dir, z, "zone.signed")}"; };`),
        "",
      ].join("\n"),
    );
    named = spawn("named", ["-g", "-u", "bind", "-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
    named.stderr?.on("data", (d: Buffer) => (log += d.toString()));
    await waitFor("named to serve both zones", () => {
      if (named?.exitCode !== null) throw new Error(`named exited:\n${log}`);
      return ZONES.every((z) => run("dig", ["+short", "+norecurse", "+time=1", "+tries=1", "@127.0.0.1", z, "SOA"], { timeoutMs: 5_000 }).stdout.includes("2026120501"));
    }, 30_000, 200);
  }, 120_000);

  afterAll(async () => {
    if (named && named.exitCode === null) {
      named.kill("SIGTERM");
      await waitFor("named to stop", () => named?.exitCode !== null || named?.signalCode !== null, 15_000).catch(() => named?.kill("SIGKILL"));
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("the intact zone is valid, the corrupted one present and far from expiry but not valid", () => {
    const targets = join(dir, "targets");
    writeFileSync(targets, ZONES.map((z) => `${z} membre ns1 127.0.0.1`).join("\n") + "\n");
    const out = join(dir, "globenet-dnssec.prom");
    const t0 = Date.now();
    const r = run("bash", [SCRIPT, targets, out], { timeoutMs: 60_000 });
    console.log(`rrsig-expiry.sh with delv, two zones: ${Date.now() - t0} ms`);
    expect(r.status, r.stderr).toBe(0);
    const text = readFileSync(out, "utf8");
    const l = (z: string) => `{zone="${z}",owner="membre",nameserver="ns1"}`;
    for (const z of ZONES) {
      expect(text).toContain(`globenet_dnssec_rrsig_present${l(z)} 1\n`);
      const exp = Number(new RegExp(`globenet_dnssec_rrsig_expiry_timestamp_seconds${l(z).replace(/[{}]/g, "\\$&")} (\\d+)`).exec(text)?.[1]);
      // dnssec-signzone signs for 30 days by default: far from rrsig_days.
      expect(exp - Date.now() / 1000).toBeGreaterThan(20 * 86400);
    }
    expect(text).toContain(`globenet_dnssec_rrsig_valid${l("valide.example")} 1\n`);
    expect(text).toContain(`globenet_dnssec_rrsig_valid${l("abimee.example")} 0\n`);
    expect(run("bash", ["-c", 'promtool check metrics < "$1"', "x", out]).status).toBe(0);
  }, 90_000);
});

describe.skipIf(!requireTools("promtool"))("RrsigInvalid fires when a signature does not verify (promtool test rules)", () => {
  it("fires after down_minutes on the server whose signature fails, not on the others", () => {
    const { model, errors } = loadModel(REPO_ROOT, "prod");
    if (!model) throw new Error(JSON.stringify(errors));
    model.hosts.find((h) => h.name === "ns2")!.roles.push("monitor");
    const dir = mkdtempSync("/tmp/globenet-rrsig-rules-");
    try {
      mkdirSync(join(dir, "rules"));
      writeFileSync(join(dir, MONITORING_FILES.rules), renderAlertRules(monitoringPlan(model)!, model));
      const lbl = (ns: string) => `{job="node",host="ns2",zone="velo-libre.example",owner="velo-libre",nameserver="${ns}"}`;
      const tests = [
        {
          interval: "1m",
          input_series: [
            { series: `globenet_dnssec_rrsig_valid${lbl("ns1")}`, values: "1x20" },
            { series: `globenet_dnssec_rrsig_valid${lbl("ns2")}`, values: "1 1 0x18" },
          ],
          alert_rule_test: [
            { eval_time: "5m", alertname: "RrsigInvalid", exp_alerts: [] },
            { eval_time: "8m", alertname: "RrsigInvalid", exp_alerts: [{ exp_labels: { severity: "page", job: "node", host: "ns2", zone: "velo-libre.example", owner: "velo-libre", nameserver: "ns2" }, exp_annotations: { summary: "the RRSIG of velo-libre.example (velo-libre) on ns2 does not verify with the zone's keys (delv): resolvers that validate get SERVFAIL" } }] },
          ],
        },
      ];
      writeFileSync(join(dir, "t.yml"), stringify({ rule_files: [MONITORING_FILES.rules], evaluation_interval: "1m", tests }, { lineWidth: 0 }));
      const r = run("promtool", ["test", "rules", join(dir, "t.yml")], { timeoutMs: 120_000, cwd: dir });
      expect(r.status, r.stdout + r.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
