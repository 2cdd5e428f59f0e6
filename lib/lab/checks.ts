/**
 * Looking at the lab from outside, as a volunteer would: HTTP on 127.0.0.1:80 with a site's
 * Host header, `virsh domstate`, `dig`, `mariadb`. The watcher runs while the engine applies
 * (asynchronously: the Pulumi program runs in this same process) and notes when the first
 * site answered and when every VPS was running.
 */
import { createHash } from "node:crypto";
import { request } from "node:http";
import { request as httpsRequest } from "node:https";
import { LIBVIRT_URI } from "./daemons";
import { run, runAsync, sleep } from "../base/proc";
import { labHello, mustStayOnMachine } from "./reach";

export interface HttpAnswer {
  status: number;
  /** Status and a hash of the body: tells a site's own vhost from the catch-all site. */
  sig: string;
  title?: string;
}

/**
 * GET http://127.0.0.1/ with `Host: host`, on a connection of its own (`agent: false`): under
 * mpm-itk a kept-alive connection that served one member's site is closed when the next request
 * is for another site (the process already runs as the first member), as a visitor never does.
 */
export function httpGet(host: string, timeoutMs = 2_000, at = "127.0.0.1"): Promise<HttpAnswer | undefined> {
  mustStayOnMachine(at, `http://${host}/`);
  return new Promise((resolve) => {
    const req = request({ host: at, port: 80, path: "/", method: "GET", agent: false, headers: { Host: host, "User-Agent": "globenet-lab" }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (d: Buffer) => {
        if (size < 65_536) chunks.push(d);
        size += d.length;
      });
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const title = /<title>([^<]*)<\/title>/i.exec(body)?.[1]?.trim();
        resolve({ status: res.statusCode ?? 0, sig: `${res.statusCode}:${createHash("sha1").update(body).digest("hex")}`, title });
      });
      res.on("error", () => resolve(undefined));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
    req.end();
  });
}

/**
 * GET https://<host>/ from the lab Apache (127.0.0.1:443, SNI <host>), trusting only `ca` (the
 * lab's pebble root): the certificate must be valid for the name, as for a browser.
 */
export function httpsGet(host: string, ca: string, timeoutMs = 3_000, at = "127.0.0.1"): Promise<(HttpAnswer & { hsts?: string }) | { error: string }> {
  mustStayOnMachine(at, `https://${host}/`);
  return new Promise((resolve) => {
    const req = httpsRequest(
      { host: at, port: 443, servername: host, ca, path: "/", method: "GET", agent: false, headers: { Host: host, "User-Agent": "globenet-lab" }, timeout: timeoutMs },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          if (body.length < 65_536) body += d;
        });
        res.on("end", () => {
          const title = /<title>([^<]*)<\/title>/i.exec(body)?.[1]?.trim();
          const hsts = res.headers["strict-transport-security"];
          resolve({ status: res.statusCode ?? 0, sig: `${res.statusCode}:${createHash("sha1").update(body).digest("hex")}`, title, hsts: typeof hsts === "string" ? hsts : undefined });
        });
        res.on("error", (e) => resolve({ error: e.message }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer in ${timeoutMs / 1000} s`)));
    req.on("error", (e) => resolve({ error: e.message }));
    req.end();
  });
}

/** A name no vhost serves: what Apache's first (default) site answers. */
export const CATCH_ALL_HOST = "globenet-lab-probe.invalid";

/** Whether `host` is answered by its own vhost, i.e. not like the catch-all site. */
async function servedByOwnVhost(host: string, catchAll: HttpAnswer | undefined, at = "127.0.0.1"): Promise<HttpAnswer | undefined> {
  const a = await httpGet(host, 2_000, at);
  if (!a) return undefined;
  return catchAll && a.sig === catchAll.sig ? undefined : a;
}

export async function domstate(domain: string): Promise<string> {
  const r = await runAsync("virsh", ["-c", LIBVIRT_URI, "domstate", domain], 15_000);
  return r.status === 0 ? r.stdout.trim() : "";
}

export interface WatchResult {
  /** ms since t0; undefined when it never happened while watching. */
  firstSite?: { host: string; ms: number; status: number };
  allSitesMs?: number;
  sites: Map<string, { ms: number; status: number }>;
  allVpsMs?: number;
  vps: Map<string, number>;
  /** How many sites and VPS were already up before the apply began. */
  before?: { sites: number; vps: number };
}

/** Polls the sites and VPS every `everyMs` until stopped (or until all are up). */
export class ApplyWatch {
  readonly result: WatchResult = { sites: new Map(), vps: new Map() };
  private stopped = false;
  private loop?: Promise<void>;
  /** A probe the background loop had refused (reach.ts): stop() throws it. */
  private failure?: unknown;

  constructor(
    private readonly t0: number,
    private readonly sites: string[],
    private readonly vps: string[],
    private readonly everyMs = 300,
    /** Where the web host answers (the multi-host lab's web1). */
    private readonly at = "127.0.0.1",
  ) {}

  /** One round now (what already answers before the apply), then polling in the background. */
  async start(): Promise<void> {
    await this.round();
    this.result.before = { sites: this.result.sites.size, vps: this.result.vps.size };
    this.loop = this.run().catch((e: unknown) => {
      this.failure = e;
    });
  }

  private done(): boolean {
    return this.result.sites.size === this.sites.length && this.result.vps.size === this.vps.length;
  }

  private async run(): Promise<void> {
    while (!this.stopped && !this.done()) {
      await this.round();
      if (!this.stopped && !this.done()) await sleep(this.everyMs);
    }
  }

  /** One look at every site and VPS not seen up yet. */
  private async round(): Promise<void> {
    const catchAll = await httpGet(CATCH_ALL_HOST, 2_000, this.at);
    await Promise.all([
      ...this.sites
        .filter((h) => !this.result.sites.has(h))
        .map(async (h) => {
          const a = await servedByOwnVhost(h, catchAll, this.at);
          if (!a) return;
          const ms = Date.now() - this.t0;
          this.result.sites.set(h, { ms, status: a.status });
          if (!this.result.firstSite) this.result.firstSite = { host: h, ms, status: a.status };
          if (this.result.sites.size === this.sites.length) this.result.allSitesMs = ms;
        }),
      ...this.vps
        .filter((d) => !this.result.vps.has(d))
        .map(async (d) => {
          if ((await domstate(d)) !== "running") return;
          const ms = Date.now() - this.t0;
          this.result.vps.set(d, ms);
          if (this.result.vps.size === this.vps.length) this.result.allVpsMs = ms;
        }),
    ]);
  }

  /** One last look, then stop. */
  async stop(): Promise<WatchResult> {
    if (!this.done()) {
      await sleep(this.everyMs);
    }
    this.stopped = true;
    await this.loop;
    if (this.failure) throw this.failure;
    return this.result;
  }
}

// ─── after the apply ───────────────────────────────────────────────────────────────────────────

export function digSoa(zone: string, server = "127.0.0.1"): string {
  mustStayOnMachine(server, `dig ${zone} SOA`);
  const r = run("dig", [`@${server}`, "+short", "+time=2", "+tries=1", zone, "SOA"], { timeoutMs: 10_000 });
  return r.status === 0 ? r.stdout.trim() : "";
}

export function databasesOnServer(): string[] | undefined {
  const r = run("mariadb", ["--batch", "--skip-column-names", "-e", "SHOW DATABASES"], { timeoutMs: 15_000 });
  return r.status === 0 ? r.stdout.split("\n").filter(Boolean) : undefined;
}

export function definedDomains(): string[] | undefined {
  const r = run("virsh", ["-c", LIBVIRT_URI, "list", "--all", "--name"], { timeoutMs: 30_000 });
  return r.status === 0 ? r.stdout.split("\n").map((s) => s.trim()).filter(Boolean) : undefined;
}

export function runningDomains(): string[] | undefined {
  const r = run("virsh", ["-c", LIBVIRT_URI, "list", "--state-running", "--name"], { timeoutMs: 30_000 });
  return r.status === 0 ? r.stdout.split("\n").map((s) => s.trim()).filter(Boolean) : undefined;
}

/** `type → count` of a stack's resources (from its exported deployment). */
export function countByType(resources: Array<{ type: string }>): Array<[string, number]> {
  const m = new Map<string, number>();
  for (const r of resources) m.set(r.type, (m.get(r.type) ?? 0) + 1);
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Waits until each guest's forwarded SSH port answers with an SSH banner: QEMU accepts on the
 * port before the guest is up, so only "SSH-…" means its sshd runs. Returns ms since `t0`
 * per domain (absent: not within `timeoutMs`).
 */
export async function waitForSsh(
  /** address: where QEMU forwards the guest's SSH (the inventory's ssh_forward_address; default 127.0.0.1). */
  targets: Array<{ domain: string; port: number; address?: string }>,
  t0: number,
  timeoutMs: number,
  log: (s: string) => void,
  /** How to read the banner (the multi-host lab reads it inside the namespace of the domain's hypervisor). */
  hello: (port: number, address: string, domain: string) => Promise<string | undefined> = (port, address) => labHello(address, port, 2_000, "a guest's forwarded SSH port"),
): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  const start = Date.now();
  let lastLog = start;
  while (seen.size < targets.length && Date.now() - start < timeoutMs) {
    await Promise.all(
      targets
        .filter((t) => !seen.has(t.domain))
        .map(async (t) => {
          const banner = await hello(t.port, t.address ?? "127.0.0.1", t.domain);
          if (banner?.startsWith("SSH-")) {
            seen.set(t.domain, Date.now() - t0);
            log(`  ${t.domain}: SSH answers on ${t.address ?? "127.0.0.1"}:${t.port} (${((Date.now() - t0) / 1000).toFixed(1)} s since start)`);
          }
        }),
    );
    if (seen.size < targets.length) {
      if (Date.now() - lastLog >= 15_000) {
        lastLog = Date.now();
        log(`  still booting: ${targets.filter((t) => !seen.has(t.domain)).map((t) => t.domain).join(", ")} (${Math.round((Date.now() - start) / 1000)} s of at most ${timeoutMs / 1000} s)`);
      }
      await sleep(1_000);
    }
  }
  return seen;
}
