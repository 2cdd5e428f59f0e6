/**
 * The node-exporter file set over SSH (system tier, root): its port's nftables table is part of
 * what the set applies, so the set's read compares the live table with the one the apply loaded.
 * A `nft flush ruleset` (what Debian's nftables.service does when restarted) or a rule added by
 * hand is drift: read reports the table file as changed, the diff asks for an update, and the
 * update loads the table again. The daemons' check's files travel with the set and go with it.
 */
import { existsSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NODE_EXPORTER_FILE, NODE_EXPORTER_NFT, NODE_EXPORTER_TABLE, renderNodeExporterDropIn, renderNodeExporterNft } from "../lib/render/monitoring-units";
import { DAEMON_FILES, daemonsScript, renderDaemonsService, renderDaemonsTimer } from "../lib/render/monitoring-daemons";
import { fileSetType, type FileSetInputs, type FileSetOutputs } from "../provider/resources/file-set";
import { sha256Hex } from "../provider/resources/file-set-serials";
import { pool } from "../provider/ssh/pool";
import { startSshd, type Sshd } from "./helpers/sshd";
import { requireRoot, requireTools, run } from "./helpers/tools";

const ok = requireTools("sshd", "ssh-keygen", "nft", "curl", "prometheus-node-exporter") && requireRoot("the set loads an nftables table and writes /etc/prometheus");
const ROOT = "/etc/prometheus/globenet-node";

describe.skipIf(!ok)("node-exporter file set: a flushed or edited port table is drift, put back by the next apply", () => {
  let sshd: Sshd | undefined;
  const target = () => ({ name: "web1", address: "127.0.0.1", port: sshd?.port ?? 0, user: "root", hostKey: sshd?.hostKey ?? "" });
  const inputs = (): FileSetInputs => ({
    target: target(),
    kind: "node-exporter",
    files: {
      [NODE_EXPORTER_FILE]: renderNodeExporterDropIn({ name: "web1", address: "127.0.0.1" }),
      [NODE_EXPORTER_NFT]: renderNodeExporterNft({ name: "web1" }, { name: "mon1", address: "192.0.2.30", ipv6: "2001:db8::30" }),
      [DAEMON_FILES.script]: daemonsScript(),
      [DAEMON_FILES.expected]: "# test\nssh sshd root\n",
      [DAEMON_FILES.service]: renderDaemonsService(),
      [DAEMON_FILES.timer]: renderDaemonsTimer(),
    },
  });
  const table = () => run("nft", ["list", "table", "inet", NODE_EXPORTER_TABLE], { timeoutMs: 10_000 });
  let id = "";
  let outs: FileSetOutputs;

  beforeAll(async () => {
    for (const p of [ROOT, `${ROOT}.d`]) if (existsSync(p)) throw new Error(`${p} exists: a lab or an earlier run uses this machine's node-exporter set`);
    if (table().status === 0) throw new Error(`the table inet ${NODE_EXPORTER_TABLE} is loaded on this machine: a lab or an earlier run left it`);
    sshd = await startSshd();
    process.env.GLOBENET_SSH_KEY_FILE = sshd.keyFile;
  });
  afterAll(async () => {
    if (id) await fileSetType.delete(id, outs).catch(() => undefined);
    run("nft", ["delete", "table", "inet", NODE_EXPORTER_TABLE]);
    await pool.close().catch(() => undefined);
    await sshd?.stop();
  });

  it("created: the table loaded, the daemons' check with it; read finds no drift", async () => {
    ({ id, outs } = await fileSetType.create(inputs()));
    expect(table().stdout).toContain("ip saddr 192.0.2.30 accept");
    expect(readFileSync(`${ROOT}/${DAEMON_FILES.expected}`, "utf8")).toBe("# test\nssh sshd root\n");
    const read = await fileSetType.read(id, outs);
    expect(read).toEqual(outs);
    expect(fileSetType.diff(id, read!, inputs()).changes).toBe(false);
  });

  it("packets dropped (the counter moves): no drift", async () => {
    // This machine's own connection to 127.0.0.1:9100 is not the monitor host's: dropped, counted.
    const r = run("curl", ["-s", "--max-time", "1", "http://127.0.0.1:9100/metrics"], { timeoutMs: 10_000 });
    expect(r.status).toBe(28);
    expect(table().stdout).toMatch(/tcp dport 9100 counter packets [1-9]\d* bytes \d+ drop/);
    expect(await fileSetType.read(id, outs)).toEqual(outs);
  });

  it("the table gone (as a `nft flush ruleset` leaves it: not run here, this machine has other tables): read reports the table file as changed, the diff asks for an update, the update loads the table again", async () => {
    expect(run("nft", ["delete", "table", "inet", NODE_EXPORTER_TABLE]).status).toBe(0);
    expect(table().status).not.toBe(0);
    const read = (await fileSetType.read(id, outs))!;
    expect(read.hashes?.[NODE_EXPORTER_NFT]).toBe("nft-table-not-loaded");
    expect(read.hashes?.[NODE_EXPORTER_FILE]).toBe(sha256Hex(inputs().files[NODE_EXPORTER_FILE] as string));
    expect(read.tokenDigest).toBeUndefined();
    const diff = fileSetType.diff(id, read, inputs());
    expect(diff.changes).toBe(true);
    outs = await fileSetType.update(id, read, inputs());
    expect(table().stdout).toContain("tcp dport 9100 counter");
    expect(await fileSetType.read(id, outs)).toEqual(outs);
  });

  it("a rule inserted by hand that opens port 9100 to everyone: drift; the update takes it out", async () => {
    expect(run("nft", ["insert", "rule", "inet", NODE_EXPORTER_TABLE, "input", "tcp", "dport", "9100", "accept"]).status).toBe(0);
    const read = (await fileSetType.read(id, outs))!;
    expect(read.hashes?.[NODE_EXPORTER_NFT]).toBe("nft-table-differs");
    expect(fileSetType.diff(id, read, inputs()).changes).toBe(true);
    outs = await fileSetType.update(id, read, inputs());
    expect(table().stdout.match(/tcp dport 9100 accept/g)).toBeNull();
    expect(await fileSetType.read(id, outs)).toEqual(outs);
  });

  it("deleted: the table, the set and the check's metrics are gone", async () => {
    await fileSetType.delete(id, outs);
    id = "";
    expect(table().status).not.toBe(0);
    expect(existsSync(ROOT)).toBe(false);
    expect(existsSync(`${ROOT}.d`)).toBe(false);
  });
});
