// Unit tier: npm run status -- health (lib/status/health.ts): Alertmanager's alerts, per member and per host.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { firingOf, formatHealth, readHealth, since, type Firing } from "../lib/status/health";
import type { ApiAlert } from "../lib/schema/alertmanager";

const NOW = new Date("2026-12-05T10:00:00Z");
const alert = (labels: Record<string, string>, startsAt: string, state = "active", summary = ""): ApiAlert => ({ labels, annotations: summary ? { summary } : {}, startsAt, status: { state } });

const SITE = alert({ alertname: "SiteDown", handle: "velo-libre", site: "velo-libre.example", web_host: "web1", job: "site" }, "2026-12-05T09:58:00Z", "active", "velo-libre.example of velo-libre does not answer");
const ZONE = alert({ alertname: "ZoneSerialBehind", owner: "velo-libre", zone: "velo-libre.example" }, "2026-12-05T09:00:00Z");
const ZONE_NS = alert({ alertname: "ZoneNotAnswered", owner: "globenet", zone: "globenet.example", nameserver: "ns2" }, "2026-12-05T09:59:30Z");
const DISK = alert({ alertname: "DiskFull", host: "db1", mountpoint: "/var" }, "2026-12-03T10:00:00Z");
const SILENCED = alert({ alertname: "SiteDown", handle: "ondes", site: "ondes.example", web_host: "web1" }, "2026-12-05T09:00:00Z", "suppressed");

describe("status -- health: what fires now", () => {
  it.each([
    { what: "a site", a: SITE, want: { alertname: "SiteDown", member: "velo-libre", host: "web1", what: "velo-libre.example" } },
    { what: "a zone's owner, no host", a: ZONE, want: { alertname: "ZoneSerialBehind", member: "velo-libre", host: undefined, what: "velo-libre.example" } },
    { what: "a zone on one name server", a: ZONE_NS, want: { member: "globenet", host: "ns2", what: "globenet.example" } },
    { what: "a host's disk, no member", a: DISK, want: { member: undefined, host: "db1", what: "/var" } },
  ])("$what: member, host and object come from the data's labels", ({ a, want }) => {
    expect(firingOf([a])[0]).toMatchObject(want);
  });

  it("silenced or inhibited alerts are not shown; the oldest comes first", () => {
    expect(firingOf([SITE, SILENCED, DISK]).map((f) => f.what)).toEqual(["/var", "velo-libre.example"]);
  });

  it.each([
    { at: "2026-12-05T09:59:15Z", want: "45 s" },
    { at: "2026-12-05T09:48:00Z", want: "12 min" },
    { at: "2026-12-05T07:00:00Z", want: "3 h" },
    { at: "2026-12-03T10:00:00Z", want: "2 d" },
    { at: "2026-12-05T10:00:05Z", want: "0 s" },
  ])("since $at: $want", ({ at, want }) => expect(since(at, NOW)).toBe(want));

  it("nothing firing: one line, in each language", () => {
    expect(formatHealth([], NOW, "en")).toBe("nothing fires: everything the data describes answers as intended");
    expect(formatHealth([], NOW, "fr")).toBe("aucune alerte : tout ce que les données décrivent répond comme prévu");
  });

  it("per member, then per host; an alert without member is Globenet's, one without host shows -", () => {
    const firing: Firing[] = firingOf([SITE, ZONE, ZONE_NS, DISK]);
    const en = formatHealth(firing, NOW, "en");
    expect(en.split("\n")).toEqual([
      "4 alerts firing",
      "",
      "per member",
      "  member      alert             what                host  since   summary",
      "  (Globenet)  DiskFull          /var                db1   2 d",
      "  globenet    ZoneNotAnswered   globenet.example    ns2   30 s",
      "  velo-libre  ZoneSerialBehind  velo-libre.example  -     60 min",
      "              SiteDown          velo-libre.example  web1  2 min   velo-libre.example of velo-libre does not answer",
      "",
      "per host",
      "  host  alert             what                member      since   summary",
      "  -     ZoneSerialBehind  velo-libre.example  velo-libre  60 min",
      "  db1   DiskFull          /var                (Globenet)  2 d",
      "  ns2   ZoneNotAnswered   globenet.example    globenet    30 s",
      "  web1  SiteDown          velo-libre.example  velo-libre  2 min   velo-libre.example of velo-libre does not answer",
    ]);
    const fr = formatHealth(firing.slice(0, 1), NOW, "fr");
    expect(fr.split("\n").slice(0, 4)).toEqual(["1 alerte en cours", "", "par adhérent", "  adhérent    alerte    quoi  hôte  depuis  résumé"]);
    expect(fr).toContain("par hôte");
  });

  it("reads Alertmanager's API; an answer that is not its list of alerts, or no answer, is an error naming the URL", async () => {
    let answer: unknown = [SITE, SILENCED];
    const server = createServer((_req, res) => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify(answer));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v2/alerts`;
    try {
      expect((await readHealth(url)).map((f) => f.what)).toEqual(["velo-libre.example"]);
      answer = { data: [] };
      await expect(readHealth(url)).rejects.toThrow(`${url} did not answer Alertmanager's list of alerts`);
      answer = [{ labels: { alertname: "X", "bad label": "v" }, startsAt: "x", status: { state: "active" } }];
      await expect(readHealth(url)).rejects.toThrow(/did not answer Alertmanager's list of alerts: 0\.labels/);
    } finally {
      await new Promise((r) => server.close(r));
    }
    await expect(readHealth(url, 2_000)).rejects.toThrow(`Alertmanager does not answer at ${url}`);
  });
});
