/**
 * `npm run bench -- service`, the pure part: the timeline of one apply (the engine's own events
 * and what the probes saw, each stamped by this process's clock when it arrived) turned into the
 * table of phases, beside the floors measured in the same run. No clock, no I/O here: the
 * runner (service.ts) stamps; this file only orders and subtracts, so a table test can feed it
 * any timeline.
 */

/** What the service probes watch from outside, as a member would (each the first time it is seen). */
export const PROBES = ["guest-defined", "guest-running", "ssh-banner", "ssh-login", "site-http", "site-https"] as const;
export type Probe = (typeof PROBES)[number];

/** One stamped moment, `at` in ms since the apply started (the runner's call to `up`). */
export type Mark =
  /** The engine's prelude event: the CLI has started, read the state and is about to run the program. */
  | { kind: "engine-start"; at: number }
  /** A step's resourcePreEvent (op: same, create, update, replace, delete…). */
  | { kind: "step-start"; at: number; urn: string; type: string; op: string }
  /** Its resOutputsEvent (or resOpFailedEvent: failed). */
  | { kind: "step-end"; at: number; urn: string; failed?: boolean }
  /** The engine's summary event. */
  | { kind: "engine-end"; at: number }
  /** The Automation API's `up` returned (the CLI has exited). */
  | { kind: "apply-returned"; at: number }
  | { kind: "probe"; at: number; probe: Probe; detail?: string };

export interface Floors {
  /** An `up` with nothing to change, on the same stack, seconds. */
  emptyApply?: number;
  /** That empty apply's own engine start (call → prelude event), seconds. */
  emptyEngineStart?: number;
  /** The same image with the same QEMU settings: `virsh create` → the member's SSH login accepted, seconds. */
  bareBootToLogin?: number;
  /** `virsh create` → domain running, seconds. */
  bareBootToRunning?: number;
}

export interface Row {
  phase: string;
  /** Seconds since the apply started; undefined: it never happened. */
  start?: number;
  end?: number;
  /** end - start. */
  took?: number;
  /** The floor this phase compares with, seconds, and what it is. */
  floor?: number;
  floorWhat?: string;
  detail?: string;
}

export interface ServiceTable {
  rows: Row[];
  /** Steps that changed something, in the order they started. */
  steps: number;
  /** Steps with op "same" (the rest of the lab, unchanged). */
  same: number;
  /** What never happened (a probe that never saw its event, a step without end). */
  missing: string[];
}

const s = (ms: number) => ms / 1000;

/** `type::name` of a URN (`urn:pulumi:lab::globenet-infra::a$b::name` → last type and name). */
export function shortName(urn: string, type: string): string {
  const name = urn.split("::").pop() ?? urn;
  const t = type.split(":").pop() ?? type;
  return `${t} ${name}`;
}

const PROBE_TEXT: Record<Probe, string> = {
  "guest-defined": "guest defined (virsh)",
  "guest-running": "guest running (virsh)",
  "ssh-banner": "guest sshd answers (banner)",
  "ssh-login": "member's SSH login accepted",
  "site-http": "site over HTTP, its own vhost",
  "site-https": "site over HTTPS, certificate valid",
};

/**
 * The phases of one apply, in order: engine start, plan (the engine running the program and
 * diffing every resource until the first step that changes something), each changing step
 * (start → end), the engine's end and the CLI's exit, then each probe's first sighting. Floors
 * go beside the apply (empty apply) and the guest's boot (bare boot of the same image).
 */
export function serviceTable(marks: readonly Mark[], floors: Floors = {}): ServiceTable {
  const sorted = [...marks].sort((a, b) => a.at - b.at);
  const rows: Row[] = [];
  const missing: string[] = [];
  const first = <K extends Mark["kind"]>(kind: K) => sorted.find((m): m is Extract<Mark, { kind: K }> => m.kind === kind);

  const engine = first("engine-start");
  rows.push({
    phase: "engine start (CLI, state, prelude)",
    start: 0,
    end: engine && s(engine.at),
    took: engine && s(engine.at),
    ...(floors.emptyEngineStart === undefined ? {} : { floor: floors.emptyEngineStart, floorWhat: "the empty apply's engine start" }),
  });
  if (!engine) missing.push("the engine's prelude event");

  const starts = sorted.filter((m): m is Extract<Mark, { kind: "step-start" }> => m.kind === "step-start");
  const changing = starts.filter((m) => m.op !== "same");
  const same = starts.length - changing.length;
  const firstChange = changing[0];
  if (engine) {
    const planEnd = firstChange?.at ?? first("engine-end")?.at;
    const sameBefore = starts.filter((m) => m.op === "same" && (planEnd === undefined || m.at <= planEnd)).length;
    rows.push({ phase: "plan (program + diffs to the first change)", start: s(engine.at), end: planEnd === undefined ? undefined : s(planEnd), took: planEnd === undefined ? undefined : s(planEnd - engine.at), detail: `${sameBefore} unchanged step(s) before it` });
  }

  for (const st of changing) {
    const end = sorted.find((m): m is Extract<Mark, { kind: "step-end" }> => m.kind === "step-end" && m.urn === st.urn && m.at >= st.at);
    if (!end) missing.push(`the end of ${st.op} ${shortName(st.urn, st.type)}`);
    rows.push({ phase: `${st.op} ${shortName(st.urn, st.type)}`, start: s(st.at), end: end && s(end.at), took: end && s(end.at - st.at), detail: end?.failed ? "FAILED" : undefined });
  }

  const lastEnd = sorted.filter((m) => m.kind === "step-end").pop();
  const engineEnd = first("engine-end");
  if (engineEnd) rows.push({ phase: "engine end (after the last step)", start: lastEnd && s(lastEnd.at), end: s(engineEnd.at), took: lastEnd && s(engineEnd.at - lastEnd.at) });
  else missing.push("the engine's summary event");
  const returned = first("apply-returned");
  if (returned) {
    rows.push({ phase: "apply returned (whole up)", start: 0, end: s(returned.at), took: s(returned.at), floor: floors.emptyApply, floorWhat: floors.emptyApply === undefined ? undefined : "empty apply (no change)" });
  } else missing.push("the end of the apply");

  const running = sorted.find((m) => m.kind === "probe" && m.probe === "guest-running");
  for (const p of PROBES) {
    const m = sorted.find((x): x is Extract<Mark, { kind: "probe" }> => x.kind === "probe" && x.probe === p);
    if (!m) {
      missing.push(PROBE_TEXT[p]);
      rows.push({ phase: PROBE_TEXT[p], detail: "never seen" });
      continue;
    }
    const row: Row = { phase: PROBE_TEXT[p], end: s(m.at), detail: m.detail };
    // The guest's own boot: from running to the login, beside the bare boot of the same image.
    if (p === "ssh-login" && running) {
      row.start = s(running.at);
      row.took = s(m.at - running.at);
      if (floors.bareBootToLogin !== undefined) {
        row.floor = floors.bareBootToLogin;
        row.floorWhat = "bare boot of the image: running → login";
      }
    }
    rows.push(row);
  }
  return { rows, steps: changing.length, same, missing };
}

const f = (x: number | undefined) => (x === undefined ? "-" : x.toFixed(1));

/** The table as text: phase, start, end, took, floor beside it (and the ratio), detail. */
export function formatServiceTable(t: ServiceTable): string {
  const head = ["phase", "start s", "end s", "took s", "floor s", "×floor", "floor / detail"];
  const body = t.rows.map((r) => [
    r.phase,
    f(r.start),
    f(r.end),
    f(r.took),
    f(r.floor),
    r.floor !== undefined && r.took !== undefined && r.floor > 0 ? `${(r.took / r.floor).toFixed(2)}` : "",
    [r.floorWhat, r.detail].filter(Boolean).join("; "),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join("  ").trimEnd();
  return [line(head), ...body.map(line)].join("\n");
}

/** The stages of a guest's boot that its serial console shows, in boot order. */
export const BOOT_STAGES = [
  ["kernel → initramfs (/init)", /^\[ *([0-9.]+)\] Run \/init as init process/m],
  ["systemd starts (root mounted)", /^\[ *([0-9.]+)\] systemd\[1\]: systemd \d+\S* running in system mode/m],
  ["cloud-init init-local runs", /Cloud-init v\. \S+ running 'init-local' at .*Up ([0-9.]+) seconds/],
  ["cloud-init init runs (network, disk, keys)", /Cloud-init v\. \S+ running 'init' at .*Up ([0-9.]+) seconds/],
  ["host keys generated", /^\[ *([0-9.]+)\] cloud-init\[\d+\]: Generating public\/private ed25519 key pair/m],
  ["cloud-init modules:config (sshd up)", /Cloud-init v\. \S+ running 'modules:config' at .*Up ([0-9.]+) seconds/],
  ["cloud-init modules:final", /Cloud-init v\. \S+ running 'modules:final' at .*Up ([0-9.]+) seconds/],
  ["cloud-init finished", /Cloud-init v\. \S+ finished at .*Up ([0-9.]+) seconds/],
] as const;

/**
 * The guest's own clock (seconds since its kernel started) at each stage of its last boot in a
 * serial console log (the kernel's timestamps, cloud-init's "Up N seconds"). The log is appended
 * across boots: only what follows the last "Linux version" line counts. Undefined: not seen.
 */
export function guestBootStages(consoleLog: string): Array<{ stage: string; up?: number }> {
  const start = consoleLog.lastIndexOf("Linux version ");
  const boot = start < 0 ? "" : consoleLog.slice(start);
  return BOOT_STAGES.map(([stage, re]) => {
    const m = re.exec(boot);
    return { stage, up: m ? Number(m[1]) : undefined };
  });
}

/** The two boots' stages side by side (the apply's guest, the bare boot), guest uptime seconds. */
export function formatBootStages(applied: Array<{ stage: string; up?: number }>, bare: Array<{ stage: string; up?: number }>): string {
  const w = Math.max(...applied.map((x) => x.stage.length), 5);
  return [
    `${"guest's own clock (uptime s)".padEnd(w)}  ${"applied".padStart(8)}  ${"bare".padStart(8)}`,
    ...applied.map((a, i) => `${a.stage.padEnd(w)}  ${f(a.up).padStart(8)}  ${f(bare[i]?.up).padStart(8)}`),
  ].join("\n");
}
