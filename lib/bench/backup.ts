/**
 * npm run bench -- backup: what a night's backup costs at Globenet's size. N synthetic members
 * with M MB each (random, so incompressible: the worst case), one BorgBackup archive of every
 * home of the host as globenet-backup makes them (with each home's excludes, the comment naming
 * the handles, and the size of each home it records), or one archive per member as it made them
 * before (the former design, for comparison), each into a local encrypted repository
 * (repokey-blake2, zstd, as on the hosts): a full run, then an incremental run after 1 % of the
 * files changed.
 * Beside them, the floor measured in the same run: reading every byte once. Bytes "sent" are
 * what borg adds to the repository (deduplicated, compressed): what crosses the network to the
 * backup host.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { loadScript } from "../../provider/scripts/load";
import { inventorySchema } from "../schema/inventory";

export interface BackupBenchOptions {
  members: number;
  mbPerMember: number;
  /** Share of the files rewritten before the incremental run (0.01: 1 %). */
  changed: number;
  keep?: boolean;
  say?: (line: string) => void;
}

export interface BackupPhase {
  what: string;
  seconds: number;
  /** Bytes added to the repository (borg's deduplicated size). */
  sentBytes?: number;
  /** Bytes read from the members' files. */
  readBytes: number;
  /** Each round's seconds, when `seconds` is their median. */
  rounds?: number[];
}

export interface LayoutResult {
  layout: Layout;
  full: BackupPhase;
  incremental: BackupPhase;
  /** incremental seconds / full seconds. */
  ratio: number;
}

export interface BackupBench {
  members: number;
  files: number;
  dataBytes: number;
  floor: BackupPhase;
  layouts: LayoutResult[];
  changedFiles: number;
  dir?: string;
}

/** Each member's files: a site tree of files from 4 KiB to 1 MiB summing to about M MB. */
function writeMember(dir: string, mb: number): number {
  let left = mb * 1024 * 1024;
  let n = 0;
  const sizes = [4096, 16384, 65536, 262144, 1048576];
  while (left > 0) {
    const size = Math.min(left, sizes[n % sizes.length] as number);
    const sub = join(dir, "sites", "example.org", "htdocs", `d${n % 7}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f${n}.bin`), randomBytes(size));
    left -= size;
    n++;
  }
  return n;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

/** borg with the repository passphrase on fd 3 (as globenet-backup does): never in argv or the environment. */
function borg(args: string[], passFile: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const fd = openSync(passFile, "r");
    const child = spawn("borg", args, { stdio: ["ignore", "pipe", "pipe", fd], env: { ...env, BORG_PASSPHRASE_FD: "3" } });
    closeSync(fd);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** One archive of every home of the host (what globenet-backup does), or one archive per member (the former design). */
export type Layout = "per-host" | "borg-alone" | "per-member";

const LAYOUT_TEXT: Record<Layout, string> = {
  "per-host": "one archive per host run (what hosts do)",
  // The same archive without excludes, comment or sizes: what globenet-backup adds to borg's own time.
  "borg-alone": "the same, borg alone (no excludes, sizes)",
  "per-member": "one archive per member (former design)",
};

/** run.sh's own home_sizes (one definition): each member's size, counted after the homes archive. */
const HOME_SIZES = (/^home_sizes\(\) \{\n[\s\S]*?\n\}$/m.exec(loadScript("backup/run.sh")) ?? [""])[0];

/**
 * The PATH the hosts' backup job runs with (its cron file's, one definition): the programs the
 * bench times are the ones a host runs. A volunteer's own PATH may put wrappers first (a pyenv
 * shim makes each python3 start cost 0.4 s instead of 0.03 s), which no host pays.
 */
export const HOST_PATH = (/^PATH=(.+)$/m.exec(readFileSync(join(__dirname, "../render/templates/backup-cron.hbs"), "utf8")) ?? [])[1];

/** Each home's size, as globenet-backup records it after its homes archive: one process for them all. */
function homeSizes(homes: string[], excludes: string[], env: NodeJS.ProcessEnv): Promise<number[]> {
  return new Promise((resolve, reject) => {
    if (!HOME_SIZES) return reject(new Error("provider/scripts/backup/run.sh has no home_sizes function"));
    const child = spawn("bash", ["-c", `${HOME_SIZES}\nhome_sizes`], { stdio: ["pipe", "pipe", "pipe"], env });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(out.trim().split("\n").map(Number)) : reject(new Error(`home_sizes failed (exit ${code})`))));
    child.stdin.end(homes.map((h) => [h, ...excludes].join("\t") + "\n").join(""));
  });
}


async function runAll(label: string, layout: Layout, homes: string[], repo: string, passFile: string, env: NodeJS.ProcessEnv, say: (l: string) => void): Promise<{ seconds: number; sent: number; read: number }> {
  const t0 = process.hrtime.bigint();
  let sent = 0;
  let read = 0;
  const excludes = inventorySchema.shape.backup.unwrap().parse({}).home_excludes;
  const name = (h: string) => h.split("/").pop() as string;
  const groups =
    layout === "per-member"
      ? homes.map((h) => ({ name: `home--${name(h)}`, paths: [h], comment: [] as string[] }))
      : [{ name: "homes--bench", paths: homes, comment: layout === "per-host" ? ["--comment", `homes: ${homes.map(name).join(" ")}`] : [] }];
  for (const [i, g] of groups.entries()) {
    // The homes side by side share one pattern per exclude, as globenet-backup gives them.
    const ex = layout === "per-host" ? excludes.flatMap((e) => ["--exclude", `sh:${dirname(homes[0] as string)}/*/${e}`]) : layout === "per-member" ? g.paths.flatMap((h) => excludes.flatMap((e) => ["--exclude", `sh:${h}/${e}`])) : [];
    // Each home's size is counted while borg reads, as globenet-backup does.
    const sizes = layout === "per-host" ? homeSizes(homes, excludes, env) : Promise.resolve(homes);
    const r = await borg(["create", "--json", "--compression", "zstd,3", "--one-file-system", "--numeric-ids", ...ex, ...g.comment, `${repo}::${g.name}--${label}`, ...g.paths], passFile, env);
    if ((await sizes).length !== homes.length) throw new Error("home_sizes did not give one size a home");
    if (r.code !== 0) throw new Error(`borg create for ${g.name} failed (exit ${r.code}): ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`);
    const stats = (JSON.parse(r.stdout) as { archive: { stats: { deduplicated_size: number; original_size: number } } }).archive.stats;
    sent += stats.deduplicated_size;
    read += stats.original_size;
    if (layout === "per-member" && ((i + 1) % 25 === 0 || i + 1 === groups.length)) say(`[bench] ${layout} ${label}: ${i + 1}/${groups.length} members`);
  }
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, sent, read };
}

/** The run whose time is the median of `runs` (an odd count: the middle one). */
export function median<T extends { seconds: number }>(runs: T[]): T {
  const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
  const m = sorted[Math.floor((sorted.length - 1) / 2)];
  if (!m) throw new Error("median of no runs");
  return m;
}

export async function backupBench(o: BackupBenchOptions): Promise<BackupBench> {
  const say = o.say ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), "globenet-bench-backup-"));
  try {
    const data = join(dir, "home");
    const repo = join(dir, "repo");
    const passFile = join(dir, "passphrase");
    writeFileSync(passFile, `${randomBytes(32).toString("base64url")}\n`, { mode: 0o600 });
    if (!HOST_PATH) throw new Error("lib/render/templates/backup-cron.hbs has no PATH= line");
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: HOST_PATH, BORG_BASE_DIR: join(dir, "borg"), BORG_RELOCATED_REPO_ACCESS_IS_OK: "yes" };
    delete env.BORG_PASSPHRASE;
    delete env.BORG_PASSCOMMAND;
    say(`[bench] writing ${o.members} members × ${o.mbPerMember} MB of random data …`);
    const homes: string[] = [];
    let files = 0;
    for (let i = 0; i < o.members; i++) {
      const home = join(data, `member-${String(i).padStart(4, "0")}`);
      files += writeMember(home, o.mbPerMember);
      homes.push(home);
    }
    const all = filesUnder(data);

    // The floor: every byte read once, as any backup must.
    const t0 = process.hrtime.bigint();
    let readBytes = 0;
    for (const f of all) readBytes += readFileSync(f).length;
    const floor: BackupPhase = { what: "read every file once (floor)", seconds: Number(process.hrtime.bigint() - t0) / 1e9, readBytes };

    // Each layout in its own repository: the second must not profit from the first's chunks.
    const layouts: LayoutResult[] = [];
    let changedFiles = 0;
    for (const layout of ["per-host", "borg-alone", "per-member"] as const) {
      // One round moves by a quarter from the next on this machine (borg alone: 1.5 to 2.2 s for
      // the same incremental): the two fast layouts run three rounds, each in a fresh repository,
      // and the median decides. The former per-member layout, at a hundred seconds, runs once.
      const rounds = layout === "per-member" ? 1 : 3;
      const fulls: { seconds: number; sent: number; read: number }[] = [];
      const incs: { seconds: number; sent: number; read: number }[] = [];
      for (let round = 1; round <= rounds; round++) {
        const lrepo = `${repo}-${layout}-${round}`;
        const init = await borg(["init", "--encryption=repokey-blake2", lrepo], passFile, env);
        if (init.code !== 0) throw new Error(`borg init failed: ${init.stderr.trim()}`);
        const of = rounds > 1 ? ` (round ${round}/${rounds})` : "";
        say(`[bench] ${layout}: full run${of} …`);
        fulls.push(await runAll("full", layout, homes, lrepo, passFile, env, say));
        // 1 % of the files rewritten, spread over the members (a night of edits and uploads); the
        // same files for every layout and round, after its full run.
        const step = Math.max(1, Math.round(1 / o.changed));
        changedFiles = 0;
        for (let i = 0; i < all.length; i += step) {
          const f = all[i] as string;
          writeFileSync(f, randomBytes(readFileSync(f).length));
          changedFiles++;
        }
        say(`[bench] ${layout}: incremental run${of} …`);
        incs.push(await runAll("incremental", layout, homes, lrepo, passFile, env, say));
        rmSync(lrepo, { recursive: true, force: true });
      }
      const full = median(fulls);
      const inc = median(incs);
      const roundsOf = (xs: { seconds: number }[]) => (xs.length > 1 ? xs.map((x) => x.seconds) : undefined);
      layouts.push({
        layout,
        full: { what: `${LAYOUT_TEXT[layout]}: full run`, seconds: full.seconds, sentBytes: full.sent, readBytes: full.read, rounds: roundsOf(fulls) },
        incremental: { what: `${LAYOUT_TEXT[layout]}: incremental (${changedFiles} files changed)`, seconds: inc.seconds, sentBytes: inc.sent, readBytes: inc.read, rounds: roundsOf(incs) },
        ratio: inc.seconds / full.seconds,
      });
    }
    return { members: o.members, files, dataBytes: readBytes, floor, layouts, changedFiles, dir: o.keep ? dir : undefined };
  } finally {
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  }
}

const mib = (b: number | undefined) => (b === undefined ? "-" : `${(b / 1048576).toFixed(1)} MiB`);

export function formatBackupBench(r: BackupBench, target = 0.1): string {
  const row = (p: BackupPhase) => `  ${p.what.padEnd(72)}${p.seconds.toFixed(1).padStart(8)} s   read ${mib(p.readBytes).padStart(12)}   sent ${mib(p.sentBytes).padStart(12)}${p.rounds ? `   median of ${p.rounds.map((x) => x.toFixed(1)).join(" / ")} s` : ""}`;
  return [
    `members ${r.members}, ${r.files} files, ${mib(r.dataBytes)} of random data; borg repokey-blake2, zstd,3, local repository (one per layout)`,
    row(r.floor),
    ...r.layouts.flatMap((l) => [
      row(l.full),
      row(l.incremental),
      `  ${LAYOUT_TEXT[l.layout]}: incremental / full ${(l.ratio * 100).toFixed(1)} % of the time (target ≤ ${target * 100} %: ${l.ratio <= target ? "met" : "NOT met"}); full / floor ${(l.full.seconds / r.floor.seconds).toFixed(1)}×`,
    ]),
  ].join("\n");
}
