/**
 * The daemons' process check and Alertmanager's mail, for real on loopback (system tier):
 * a real named running as bind, and next to it a member's program named "named" run as nobody
 * (the attack: a process given a daemon's name); the set's own script (lib/render/scripts/daemons.sh)
 * writes the node exporter's textfile; Debian's node exporter serves it; a real Prometheus with
 * the rendered rules scrapes it and sends to a real Alertmanager with the rendered
 * alertmanager.yml, whose mail goes to an SMTP sink on loopback. named stopped: the metric drops,
 * DaemonNotRunning fires and its mail names the host and the daemon; started again: the
 * resolution is mailed. The multi-host lab cannot show the check: its hosts are network and
 * mount namespaces sharing one process table, so every lab host sees every host's daemons.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../lib/base/repo";
import { loadModel } from "../lib/check/build";
import { monitoringPlan } from "../lib/model/monitoring";
import { ALERT_MAIL_TEMPLATE, MONITORING_FILES, renderAlertmanagerConfig, renderAlertRules, renderMonitoring } from "../lib/render/monitoring";
import { DAEMON_FILES } from "../lib/render/monitoring-daemons";
import { headerOf, plainText, startSmtpSink, type SmtpSink } from "./helpers/smtp-sink";
import { freePort, requireTools, run } from "./helpers/tools";
import { waitFor } from "./helpers/daemons-web";

const ok = requireTools("named", "prometheus", "prometheus-alertmanager", "amtool", "prometheus-node-exporter", "promtool", "setpriv");
const SCRIPT = join(REPO_ROOT, "lib", "render", DAEMON_FILES.script.replace("daemons/", "scripts/"));

describe.skipIf(!ok)("the daemons' check and Alertmanager's mail, with real daemons on loopback", () => {
  let dir = "";
  let sink: SmtpSink;
  const children: ChildProcess[] = [];
  let named: ChildProcess | undefined;
  const ports = { named: 0, node: 0, prom: 0, am: 0, amCluster: 0 };
  const textfile = () => join(dir, "textfile");
  const prom = () => join(textfile(), "globenet-daemons.prom");
  const expected = () => join(dir, "expected");
  const check = () => run("bash", [SCRIPT, expected(), prom()], { timeoutMs: 30_000 });
  const start = (cmd: string, args: string[]) => {
    const c = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    let out = "";
    c.stderr?.on("data", (d: Buffer) => (out += d.toString()));
    (c as ChildProcess & { log: () => string }).log = () => out;
    children.push(c);
    return c;
  };
  const stop = async (c: ChildProcess) => {
    if (c.exitCode !== null || c.signalCode !== null) return;
    c.kill("SIGTERM");
    await waitFor("a daemon to stop", () => c.exitCode !== null || c.signalCode !== null, 15_000).catch(() => c.kill("SIGKILL"));
  };
  const startNamed = async () => {
    const c = start("named", ["-g", "-u", "bind", "-c", join(dir, "named", "named.conf")]);
    await waitFor("named to listen", () => {
      if (c.exitCode !== null) throw new Error(`named exited: ${(c as ChildProcess & { log: () => string }).log()}`);
      return run("dig", ["+short", "+time=1", "+tries=1", "-p", String(ports.named), "@127.0.0.1", "version.bind", "TXT", "CH"], { timeoutMs: 5_000 }).status === 0;
    }, 30_000, 200);
    return c;
  };
  const metrics = async () => (await (await fetch(`http://127.0.0.1:${ports.node}/metrics`)).text());
  /** The mails of one alert, by the set's subject: "[Globenet] ALERTE / FIRING <alert>: …" or "[Globenet] RÉSOLU / RESOLVED <alert>: …". */
  const mailsOf = (alert: string, state: "FIRING" | "RESOLVED") =>
    sink.messages.filter((m) => (headerOf(m.data, "Subject") ?? "").startsWith(`[Globenet] ${state === "FIRING" ? "ALERTE / FIRING" : "RÉSOLU / RESOLVED"} ${alert}:`));

  beforeAll(async () => {
    for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
    dir = mkdtempSync("/tmp/globenet-daemons-");
    chmodSync(dir, 0o755);
    mkdirSync(textfile());
    sink = await startSmtpSink();

    // The prod data with ns2 as monitor, its delays short, mail to the sink on loopback.
    const { model, errors } = loadModel(REPO_ROOT, "prod");
    if (!model) throw new Error(JSON.stringify(errors));
    model.hosts.find((h) => h.name === "ns2")!.roles.push("monitor");
    Object.assign(model.inventory.monitoring, { down_minutes: 0.05, group_wait_sec: 1, group_interval_sec: 1, webhook: `http://127.0.0.1:${ports.am}/nowhere`, mail: { to: "benevoles@globenet.example", from: "alertes@globenet.example", smarthost: `127.0.0.1:${sink.port}`, require_tls: false } });
    const plan = monitoringPlan(model)!;
    mkdirSync(join(dir, "rules"));
    writeFileSync(join(dir, MONITORING_FILES.rules), renderAlertRules(plan, model));
    writeFileSync(join(dir, MONITORING_FILES.alertmanager), renderAlertmanagerConfig(plan, model));
    // Alertmanager's mail template, as the set carries it (named relative to alertmanager.yml).
    mkdirSync(join(dir, "alertmanager"));
    writeFileSync(join(dir, ALERT_MAIL_TEMPLATE), renderMonitoring(plan, model)[ALERT_MAIL_TEMPLATE]!);

    // named as bind, its own configuration, no zone: a daemon to stop and start.
    const nd = join(dir, "named");
    mkdirSync(nd);
    chownSync(nd, Number(run("id", ["-u", "bind"]).stdout), Number(run("id", ["-g", "bind"]).stdout));
    writeFileSync(join(nd, "named.conf"), `options { directory "${nd}"; pid-file none; session-keyfile none; listen-on port ${ports.named} { 127.0.0.1; }; listen-on-v6 { none; }; recursion no; dnssec-validation no; };\n`, { mode: 0o644 });
    named = await startNamed();
    // The attack: a program of a member's, named "named", run as nobody.
    mkdirSync(join(dir, "member"), { mode: 0o755 });
    copyFileSync("/bin/sleep", join(dir, "member", "named"));
    chmodSync(join(dir, "member", "named"), 0o755);
    start("setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", join(dir, "member", "named"), "600"]);
    // web1's list, with named added (web1 has no named: the test's daemon) and a daemon whose user does not exist here.
    writeFileSync(expected(), ["# test", "named named bind", "ghost ghostd no-such-user", ""].join("\n"));

    start("prometheus-node-exporter", [`--web.listen-address=127.0.0.1:${ports.node}`, `--collector.textfile.directory=${textfile()}`, "--collector.disable-defaults", "--collector.textfile"]);
    start("prometheus-alertmanager", [`--config.file=${join(dir, MONITORING_FILES.alertmanager)}`, `--storage.path=${join(dir, "am")}`, `--web.listen-address=127.0.0.1:${ports.am}`, "--cluster.listen-address="]);
    writeFileSync(
      join(dir, "prometheus.yml"),
      stringify({
        global: { scrape_interval: "1s", evaluation_interval: "1s" },
        rule_files: [MONITORING_FILES.rules],
        alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${ports.am}`] }] }] },
        scrape_configs: [{ job_name: "node", static_configs: [{ targets: [`127.0.0.1:${ports.node}`], labels: { host: "web1", roles: "web" } }] }],
      }),
    );
    start("prometheus", [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "tsdb")}`, `--web.listen-address=127.0.0.1:${ports.prom}`, "--rules.alert.resend-delay=1s"]);
    for (const [what, port] of [["node exporter", ports.node], ["alertmanager", ports.am], ["prometheus", ports.prom]] as const) {
      await waitFor(`${what} to answer`, () => fetch(`http://127.0.0.1:${port}/-/ready`).then((r) => r.status < 500, () => false), 30_000, 200);
    }
  }, 120_000);

  afterAll(async () => {
    for (const c of children.reverse()) await stop(c);
    await sink?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("amtool check-config accepts the rendered alertmanager.yml with its mail and template; a member's alert posted with amtool reaches the SMTP sink in French and English, naming the member and the object", async () => {
    const text = readFileSync(join(dir, MONITORING_FILES.alertmanager), "utf8");
    expect(text).toContain(`smarthost: 127.0.0.1:${sink.port}`);
    const c = run("amtool", ["check-config", join(dir, MONITORING_FILES.alertmanager)], { timeoutMs: 30_000 });
    expect(c.status, c.stdout + c.stderr).toBe(0);
    expect(c.stdout).toMatch(/Found:[\s\S]*1 templates/);
    const t0 = Date.now();
    const add = run("amtool", ["--alertmanager.url", `http://127.0.0.1:${ports.am}`, "alert", "add", "VpsSshDown", "handle=velo-libre", "vps=atelier", "hypervisor=hv1", "--annotation=summary=the VPS atelier of velo-libre does not answer SSH (on hv1)"], { timeoutMs: 30_000 });
    expect(add.status, add.stderr).toBe(0);
    const m = (await waitFor("the alert's mail", () => mailsOf("VpsSshDown", "FIRING")[0], 30_000, 100))!;
    console.log(`amtool alert → mail in the sink: ${Date.now() - t0} ms`);
    expect(m.to).toEqual(["benevoles@globenet.example"]);
    expect(m.from).toBe("alertes@globenet.example");
    expect(headerOf(m.data, "Subject")).toBe("[Globenet] ALERTE / FIRING VpsSshDown: VPS atelier (velo-libre)");
    // Plain text only, in UTF-8.
    expect(m.data).not.toMatch(/text\/html/i);
    expect(m.data).toMatch(/Content-Type: text\/plain; charset=UTF-8/i);
    const body = plainText(m.data);
    const [fr, en] = body.split("-- English --");
    expect(fr).toContain("Une alerte de la supervision de Globenet est en cours.");
    expect(fr).toContain("- le VPS atelier de velo-libre ne répond pas en SSH (sur hv1)");
    expect(fr).toMatch(/adhérent : velo-libre\r?\n\s+objet : VPS atelier\r?\n\s+hôte : hv1/);
    expect(en).toContain("- the VPS atelier of velo-libre does not answer SSH (on hv1)");
    expect(en).toMatch(/member: velo-libre\r?\n\s+object: VPS atelier\r?\n\s+host: hv1/);
  }, 60_000);

  it("the check counts named run by bind, not the member's 'named' run by nobody; the node exporter serves it", async () => {
    const r = check();
    expect(r.status, r.stderr).toBe(0);
    const text = readFileSync(prom(), "utf8");
    expect(text).toContain('globenet_daemon_running{daemon="named",process="named",user="bind"} 1\n');
    expect(text).toContain('globenet_daemon_processes{daemon="named",process="named",user="bind"} 1\n');
    expect(text).toContain('globenet_daemon_running{daemon="ghost",process="ghostd",user="no-such-user"} 0\n');
    expect(run("bash", ["-c", 'promtool check metrics < "$1"', "x", prom()]).status).toBe(0);
    // Two processes named "named" run: bind's and nobody's.
    expect(run("pgrep", ["-x", "named"]).stdout.trim().split("\n")).toHaveLength(2);
    expect(await metrics()).toContain('globenet_daemon_running{daemon="named",process="named",user="bind"} 1');
  });

  it("named stopped (the member's 'named' still runs): the metric drops, DaemonNotRunning is mailed naming web1 and named; started again, its resolution is mailed", async () => {
    // The ghost daemon out of the list (its alert of the test above resolves): named alone in web1's DaemonNotRunning group.
    writeFileSync(expected(), ["# test", "named named bind", ""].join("\n"));
    expect(check().status).toBe(0);
    await stop(named!);
    const t0 = Date.now();
    expect(check().status).toBe(0);
    expect(readFileSync(prom(), "utf8")).toContain('globenet_daemon_running{daemon="named",process="named",user="bind"} 0\n');
    expect(run("pgrep", ["-x", "named"]).stdout.trim().split("\n")).toHaveLength(1);
    const fired = (await waitFor("DaemonNotRunning's mail", () => mailsOf("DaemonNotRunning", "FIRING").find((m) => /objet : named\b/.test(plainText(m.data))), 60_000, 200))!;
    console.log(`named stopped → DaemonNotRunning mailed: ${Date.now() - t0} ms (for: 3 s, scrape 1 s)`);
    const body = plainText(fired.data);
    // The subject names what the group's alerts share: named alone, or web1 when the ghost's resolution rides along.
    expect(headerOf(fired.data, "Subject")).toMatch(/^\[Globenet\] ALERTE \/ FIRING DaemonNotRunning: (named|web1) \(Globenet\)$/);
    expect(body).toContain("named ne tourne pas sur web1 (aucun processus named de l'utilisateur bind)");
    expect(body).toContain("named is not running on web1 (no process named of user bind)");
    expect(body).toMatch(/hôte : web1/);
    expect(body).toMatch(/host: web1/);
    named = await startNamed();
    const t1 = Date.now();
    // As the timer would, until named has dropped to bind (it answers a moment before it does).
    await waitFor("the check to see named again", () => check().status === 0 && readFileSync(prom(), "utf8").includes('globenet_daemon_running{daemon="named",process="named",user="bind"} 1\n'), 30_000, 500);
    await waitFor("DaemonNotRunning's resolution by mail", () => mailsOf("DaemonNotRunning", "RESOLVED")[0], 60_000, 200).catch((e: unknown) => {
      throw new Error(`${String(e)}\nsubjects: ${sink.messages.map((m) => /^Subject: .*$/m.exec(m.data)?.[0]).join(" | ")}\n${readFileSync(prom(), "utf8")}`);
    });
    console.log(`named started again → resolution mailed: ${Date.now() - t1} ms`);
  }, 150_000);
});

// The rules evaluated by promtool on the rendered file: no daemons needed.
describe.skipIf(!requireTools("promtool"))("the daemons' alerts fire when they should (promtool test rules)", () => {
  it("a daemon at 0 fires after down_minutes, not before; a host whose exporter answers without the check, or whose check stopped, fires DaemonCheckNotRunning", () => {
    const { model, errors } = loadModel(REPO_ROOT, "prod");
    if (!model) throw new Error(JSON.stringify(errors));
    model.hosts.find((h) => h.name === "ns2")!.roles.push("monitor");
    const dir = mkdtempSync("/tmp/globenet-daemon-rules-");
    try {
      mkdirSync(join(dir, "rules"));
      writeFileSync(join(dir, MONITORING_FILES.rules), renderAlertRules(monitoringPlan(model)!, model));
      const l = (host: string, daemon: string, comm: string, user: string) => `{job="node",host="${host}",daemon="${daemon}",process="${comm}",user="${user}"}`;
      const tests = [
        {
          interval: "1m",
          input_series: [
            { series: `globenet_daemon_running${l("web1", "apache2", "apache2", "root")}`, values: "1 1 0x20" },
            { series: `globenet_daemon_running${l("db1", "mariadb", "mariadbd", "mysql")}`, values: "1x22" },
            { series: 'up{job="node",host="web1"}', values: "1x22" },
            { series: 'up{job="node",host="db1"}', values: "1x22" },
            { series: 'up{job="node",host="hv1"}', values: "1x22" },
            { series: 'globenet_daemon_check_timestamp_seconds{job="node",host="web1"}', values: "0+60x22" },
            // db1's check stopped after 3 minutes; hv1 never wrote one.
            { series: 'globenet_daemon_check_timestamp_seconds{job="node",host="db1"}', values: "0 60 120 180x19" },
          ],
          alert_rule_test: [
            { eval_time: "5m", alertname: "DaemonNotRunning", exp_alerts: [] },
            { eval_time: "8m", alertname: "DaemonNotRunning", exp_alerts: [{ exp_labels: { severity: "page", job: "node", host: "web1", daemon: "apache2", process: "apache2", user: "root" }, exp_annotations: { summary: "apache2 is not running on web1 (no process apache2 of user root)" } }] },
            { eval_time: "4m", alertname: "DaemonCheckNotRunning", exp_alerts: [] },
            {
              eval_time: "20m",
              alertname: "DaemonCheckNotRunning",
              exp_alerts: [
                { exp_labels: { severity: "page", job: "node", host: "db1" }, exp_annotations: { summary: "the daemons' check has not run on db1 for 5 minutes (globenet-daemons.timer, or the node exporter's textfile directory)" } },
                { exp_labels: { severity: "page", job: "node", host: "hv1" }, exp_annotations: { summary: "the daemons' check has not run on hv1 for 5 minutes (globenet-daemons.timer, or the node exporter's textfile directory)" } },
              ],
            },
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
