import type { CheckFailure } from "@pulumi/pulumi/provider";
import { guestDomainProblem } from "../../lib/schema/names";
import type { Target } from "../types";
import { UNKNOWN } from "../types";

/** Inputs of globenet:vm:Guest. */
export interface GuestInputs {
  target: Target;
  /** libvirt domain name: <handle>--<name>. */
  domain: string;
  /** The full domain XML, as `virsh define` takes it (rendered by lib/render/libvirt-domain.ts). */
  xml: string;
  /** The NoCloud seed files. */
  seed: { userData: string; metaData: string; networkConfig: string };
  /** Path of the base qcow2 on the hypervisor; the disk is an overlay of it. */
  baseImage: string;
  diskPath: string;
  seedPath: string;
  diskGb: number;
  vcpus: number;
  memoryMb: number;
  /** False when the member is suspended: the guest is shut down, nothing is removed. */
  running: boolean;
  /** Deleted guests' disks go to <archiveDir>/vps/<domain>-<UTC timestamp>.qcow2. */
  archiveDir: string;
  /** How long a graceful (ACPI) shutdown may take before the guest is forced off; default 90. */
  shutdownTimeoutSec?: number;
  /**
   * Direct boot: the image's kernel and initrd on the hypervisor (`from`) copied to this
   * guest's own files (`to`, next to its disk), which the XML's <kernel>/<initrd> name.
   */
  bootFiles?: Array<{ from: string; to: string }>;
  /**
   * The network filter the domain's bridged interfaces name (<filterref>), defined on the
   * hypervisor before the domain (lib/render/libvirt-nwfilter.ts). Required when the XML has a
   * bridged interface; absent for the lab's user-mode network.
   */
  nwfilter?: { name: string; xml: string };
}

export const DEFAULT_SHUTDOWN_TIMEOUT_SEC = 90;

/**
 * Inputs whose change makes an update stop and start a running guest (guest.ts's update): its
 * hardware (the XML where it matters: its ref, ./guest-refs.ts; vCPUs, memory) and a disk growth (qemu-img resize needs
 * it off). A seed or a filter change does not: cloud-init reads the seed at the next boot.
 */
export const RESTARTING_KEYS: readonly string[] = ["xmlRef", "vcpus", "memoryMb", "diskGb"];

const FILTER_NAME_RE = /^globenet-[a-z0-9-]{1,60}$/;
/** Absolute, plain characters only, no empty, "." or ".." segment, no segment starting with "-". */
const SEGMENT_RE = /^[A-Za-z0-9_+][A-Za-z0-9._+-]*$/;

export function isSafePath(p: unknown): p is string {
  if (typeof p !== "string" || p.length < 2 || p.length > 1024 || !p.startsWith("/")) return false;
  return p
    .slice(1)
    .split("/")
    .every((s) => SEGMENT_RE.test(s) && s !== "." && s !== "..");
}

const INPUT_KEYS = [
  "target",
  "domain",
  "xml",
  "seed",
  "baseImage",
  "diskPath",
  "seedPath",
  "diskGb",
  "vcpus",
  "memoryMb",
  "running",
  "archiveDir",
  "shutdownTimeoutSec",
  "bootFiles",
  "nwfilter",
  // The refs form (./guest-refs.ts): the contents' sha256 in the store `fileStore`.
  "xmlRef",
  "seedRefs",
  "fileStore",
] as const;

/** Only the input properties of a state or input bag (outputs and stray keys dropped). */
export function inputsOf(o: Record<string, unknown>): GuestInputs {
  const r: Record<string, unknown> = {};
  for (const k of INPUT_KEYS) if (o[k] !== undefined && o[k] !== null) r[k] = o[k];
  return r as unknown as GuestInputs;
}

function intIn(v: unknown, min: number, max: number): boolean {
  return typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;
}

/** Validates the inputs; failures name the property. Unknown (preview) values pass. */
export function checkGuest(news: Record<string, unknown>): { inputs?: GuestInputs; failures?: CheckFailure[] } {
  const inputs = inputsOf(news);
  const failures: CheckFailure[] = [];
  const fail = (property: string, reason: string) => failures.push({ property, reason });
  const known = (v: unknown) => v !== UNKNOWN;
  const i = inputs as unknown as Record<string, unknown>;

  const t = i.target as Record<string, unknown> | undefined;
  if (known(t)) {
    if (!t || typeof t !== "object") fail("target", "is required: { name, address, port, user, hostKey } of the hypervisor");
    else {
      for (const k of ["name", "address", "user", "hostKey"]) {
        if (known(t[k]) && (typeof t[k] !== "string" || !(t[k] as string).trim())) fail(`target.${k}`, "must be a non-empty string");
      }
      if (known(t.port) && !intIn(t.port, 1, 65535)) fail("target.port", "must be a TCP port (1-65535)");
    }
  }
  if (known(i.domain) && (typeof i.domain !== "string" || guestDomainProblem(i.domain))) {
    fail("domain", `must be <handle>--<name> (lower-case letters, digits, "-"), got ${JSON.stringify(i.domain)}`);
  }
  for (const k of ["baseImage", "diskPath", "seedPath", "archiveDir"]) {
    if (known(i[k]) && !isSafePath(i[k])) {
      fail(k, `must be an absolute path of letters, digits and . _ + - (no "..", no segment starting with "-"), got ${JSON.stringify(i[k])}`);
    }
  }
  if (typeof i.diskPath === "string" && i.diskPath === i.baseImage) fail("diskPath", "must not be the base image itself");
  if (typeof i.diskPath === "string" && i.diskPath === i.seedPath) fail("seedPath", "must differ from diskPath");
  if (known(i.diskGb) && !intIn(i.diskGb, 1, 65_536)) fail("diskGb", "must be a whole number of GiB, 1 to 65536");
  if (known(i.vcpus) && !intIn(i.vcpus, 1, 256)) fail("vcpus", "must be a whole number, 1 to 256");
  if (known(i.memoryMb) && !intIn(i.memoryMb, 16, 4_194_304)) fail("memoryMb", "must be a whole number of MiB, 16 to 4194304");
  if (known(i.running) && typeof i.running !== "boolean") fail("running", "must be true or false");
  if (i.shutdownTimeoutSec !== undefined && known(i.shutdownTimeoutSec) && !intIn(i.shutdownTimeoutSec, 0, 3600)) {
    fail("shutdownTimeoutSec", "must be a whole number of seconds, 0 to 3600");
  }
  if (i.bootFiles !== undefined && known(i.bootFiles)) {
    if (!Array.isArray(i.bootFiles) || i.bootFiles.length > 4) fail("bootFiles", "must be a list of at most 4 { from, to } paths");
    else {
      const dir = typeof i.diskPath === "string" ? i.diskPath.slice(0, i.diskPath.lastIndexOf("/")) : undefined;
      (i.bootFiles as Array<Record<string, unknown>>).forEach((b, n) => {
        for (const k of ["from", "to"]) {
          if (known(b?.[k]) && !isSafePath(b?.[k])) fail(`bootFiles[${n}].${k}`, `must be an absolute path of letters, digits and . _ + - (no ".."), got ${JSON.stringify(b?.[k])}`);
        }
        const to = b?.to;
        if (typeof to === "string" && dir && to.slice(0, to.lastIndexOf("/")) !== dir) fail(`bootFiles[${n}].to`, `must be in the disk's folder ${dir} (it is removed with the guest)`);
        if (typeof to === "string" && [i.diskPath, i.seedPath, i.baseImage].includes(to)) fail(`bootFiles[${n}].to`, "must not be the disk, the seed or the base image");
      });
    }
  }
  const seed = i.seed as Record<string, unknown> | undefined;
  if (known(seed)) {
    if (!seed || typeof seed !== "object") fail("seed", "is required: { userData, metaData, networkConfig }");
    else for (const k of ["userData", "metaData", "networkConfig"]) if (known(seed[k]) && typeof seed[k] !== "string") fail(`seed.${k}`, "must be a string");
  }
  const nw = i.nwfilter as Record<string, unknown> | undefined;
  if (nw !== undefined && known(nw)) {
    if (!nw || typeof nw !== "object") fail("nwfilter", "must be { name, xml }");
    else {
      if (known(nw.name) && (typeof nw.name !== "string" || !FILTER_NAME_RE.test(nw.name))) fail("nwfilter.name", `must be globenet-<letters, digits, hyphens>, got ${JSON.stringify(nw.name)}`);
      if (known(nw.xml) && (typeof nw.xml !== "string" || filterName(nw.xml) !== nw.name || !/<uuid>[0-9a-f-]{36}<\/uuid>/.test(nw.xml))) {
        fail("nwfilter.xml", `must be a libvirt network filter named ${JSON.stringify(nw.name)} with a fixed <uuid> (render it with lib/render/libvirt-nwfilter.ts)`);
      }
    }
  }
  if (known(i.xml)) {
    if (typeof i.xml !== "string" || !/^\s*(<\?xml[^>]*\?>\s*)?(<!--[\s\S]*?-->\s*)*<domain[\s>]/.test(i.xml)) {
      fail("xml", "must be a libvirt domain XML (<domain …>)");
    } else {
      const f = domainFacts(i.xml);
      if (typeof i.domain === "string" && !guestDomainProblem(i.domain) && f.name !== i.domain) fail("xml", `names the domain ${JSON.stringify(f.name)}, not ${JSON.stringify(i.domain)}`);
      for (const k of ["diskPath", "seedPath"]) {
        const p = i[k];
        if (isSafePath(p) && !f.files.includes(p)) fail("xml", `does not attach ${k} ${p} (render the XML from the same VPS)`);
      }
      if (intIn(i.vcpus, 1, 256) && f.vcpus !== undefined && f.vcpus !== i.vcpus) fail("xml", `has ${f.vcpus} vCPUs but vcpus is ${i.vcpus}`);
      if (intIn(i.memoryMb, 16, 4_194_304) && f.memoryMb !== undefined && f.memoryMb !== i.memoryMb) {
        fail("xml", `has ${f.memoryMb} MiB of memory but memoryMb is ${i.memoryMb}`);
      }
      // A guest on a bridge shares it with other members' guests and the gateway: never unfiltered.
      const wanted = nw && typeof nw === "object" && typeof nw.name === "string" ? nw.name : undefined;
      f.bridged.forEach((b, n) => {
        if (!b.filter) fail("xml", `bridged interface ${n} has no <filterref> (every bridged guest gets the network filter: render the XML with lib/render)`);
        else if (known(nw) && b.filter !== wanted) fail("xml", `bridged interface ${n} names the filter ${JSON.stringify(b.filter)}, but nwfilter is ${wanted === undefined ? "missing" : JSON.stringify(wanted)}`);
      });
    }
  }
  return failures.length ? { inputs, failures } : { inputs };
}

/** What the provider reads out of a domain XML (declared or `virsh dumpxml --inactive`). */
export interface DomainFacts {
  name?: string;
  type?: string;
  /** vCPUs the guest boots with (the `current` attribute, else the count). */
  vcpus?: number;
  /** Memory the guest runs with, MiB: <currentMemory>, else <memory>. */
  memoryMb?: number;
  /** Every <source file='…'> (disks, cdroms), in order. */
  files: string[];
  /** MACs: <mac address='…'/> and mac=… in QEMU command-line arguments, lower case. */
  macs: string[];
  /** Each <interface type='bridge'>: the filter it names and its parameters ("IP=…"), in order. */
  bridged: Array<{ filter?: string; parameters: string[] }>;
}

const UNITS: Record<string, number> = {
  b: 1 / 1048576,
  bytes: 1 / 1048576,
  k: 1 / 1024,
  kib: 1 / 1024,
  kb: 1000 / 1048576,
  m: 1,
  mib: 1,
  mb: 1_000_000 / 1048576,
  g: 1024,
  gib: 1024,
  gb: 1e9 / 1048576,
  t: 1048576,
  tib: 1048576,
};

/** A libvirt memory or size value in MiB (`unit` as libvirt writes it, KiB when absent); undefined for an unknown unit. */
export function mib(unit: string | undefined, value: string): number | undefined {
  const f = UNITS[(unit ?? "KiB").toLowerCase()];
  return f === undefined ? undefined : Number(value) * f;
}

function attr(tag: string, name: string): string | undefined {
  return new RegExp(`\\s${name}\\s*=\\s*(['"])(.*?)\\1`).exec(tag)?.[2];
}

export function domainFacts(xml: string): DomainFacts {
  const x = xml.replace(/<!--[\s\S]*?-->/g, "");
  const name = /<name>\s*([^<]*?)\s*<\/name>/.exec(x)?.[1];
  const domTag = /<domain\b[^>]*>/.exec(x)?.[0];
  const vcpu = /(<vcpu\b[^>]*>)\s*(\d+)\s*<\/vcpu>/.exec(x);
  const vcpus = vcpu ? Number(attr(vcpu[1] as string, "current") ?? vcpu[2]) : undefined;
  const memTag = (tag: string) => {
    const m = new RegExp(`(<${tag}\\b[^>]*>)\\s*(\\d+)\\s*</${tag}>`).exec(x);
    return m ? mib(attr(m[1] as string, "unit"), m[2] as string) : undefined;
  };
  const memoryMb = memTag("currentMemory") ?? memTag("memory");
  const files = [...x.matchAll(/<source\b[^>]*\sfile\s*=\s*(['"])(.*?)\1/g)].map((m) => m[2] as string);
  const macs = [
    ...[...x.matchAll(/<mac\b[^>]*\saddress\s*=\s*(['"])(.*?)\1/g)].map((m) => m[2] as string),
    ...[...x.matchAll(/\bmac=([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5})/g)].map((m) => m[1] as string),
  ].map((m) => m.toLowerCase());
  const bridged = [...x.matchAll(/<interface\b([^>]*)>([\s\S]*?)<\/interface>/g)]
    .filter((m) => attr(m[1] as string, "type") === "bridge")
    .map((m) => {
      const body = m[2] as string;
      const ref = /<filterref\b([^>]*?)\/?>/.exec(body);
      const parameters = [...body.matchAll(/<parameter\b([^>]*?)\/?>/g)].map((p) => `${attr(p[1] as string, "name")}=${attr(p[1] as string, "value")}`);
      return { filter: ref ? attr(ref[1] as string, "filter") : undefined, parameters };
    });
  return { name, type: domTag ? attr(domTag, "type") : undefined, vcpus, memoryMb, files, macs, bridged };
}

/** The name a network filter XML gives itself (<filter name='…'>). */
export function filterName(xml: string): string | undefined {
  const tag = /<filter\b[^>]*>/.exec(xml.replace(/<!--[\s\S]*?-->/g, ""))?.[0];
  return tag ? attr(tag, "name") : undefined;
}

/**
 * A network filter as libvirt keeps it, to compare the declared XML with `virsh
 * nwfilter-dumpxml`: comments, the uuid and layout dropped, each tag's attributes sorted.
 */
export function normalizeFilterXml(xml: string): string {
  return xml
    .replace(/<!--[\s\S]*?-->/g, "")
    .replace(/<uuid>[^<]*<\/uuid>/g, "")
    .replace(/<([a-z0-9]+)\b([^>]*?)(\/?)>/gi, (_m, tag: string, attrs: string, close: string) => {
      const list = [...attrs.matchAll(/([a-z0-9_-]+)\s*=\s*(['"])(.*?)\2/gi)].map((a) => `${a[1]}='${a[3]}'`).sort();
      return `<${tag}${list.map((a) => ` ${a}`).join("")}${close}>`;
    })
    .replace(/>\s+</g, "><")
    .trim();
}

/** The XML as libvirt keeps it: comments and layout between tags do not count as a change. */
export function normalizeXml(xml: string): string {
  return xml
    .replace(/<\?xml[^>]*\?>/g, "")
    .replace(/<!--[\s\S]*?-->/g, "")
    .replace(/>\s+</g, "><")
    .trim();
}

/** What read judges drift against, of the declared XML (xmlDrift): kept in the state, a few hundred bytes. */
export interface DeclaredXmlFacts {
  type?: string;
  files: string[];
  macs: string[];
  /** Each bridged interface's filter and parameters, as xmlDrift compares them. */
  filters: string[];
}

export function declaredXmlFacts(xml: string): DeclaredXmlFacts {
  const f = domainFacts(xml);
  return {
    ...(f.type !== undefined ? { type: f.type } : {}),
    files: f.files,
    macs: f.macs,
    filters: f.bridged.map((b) => (b.filter ? `${b.filter}(${[...b.parameters].sort().join(",")})` : "no filter")),
  };
}

/**
 * Where the live definition differs from the declared XML (or its facts, as the state keeps
 * them) in what matters and the other properties do not already show (vCPUs and memory have
 * their own): domain type, attached files, MACs, network filters. Empty when they agree.
 */
export function xmlDrift(declared: string | DeclaredXmlFacts, live: string): string[] {
  const d = typeof declared === "string" ? declaredXmlFacts(declared) : declared;
  const l = declaredXmlFacts(live);
  const out: string[] = [];
  if (d.type !== l.type) out.push(`type ${l.type} (declared ${d.type})`);
  const same = (a: string[], b: string[]) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
  if (!same(d.files, l.files)) out.push(`files ${l.files.join(" ")} (declared ${d.files.join(" ")})`);
  if (!same(d.macs, l.macs)) out.push(`MACs ${l.macs.join(" ") || "none"} (declared ${d.macs.join(" ") || "none"})`);
  if (!same(d.filters, l.filters)) out.push(`network filters ${l.filters.join(" ") || "none"} (declared ${d.filters.join(" ") || "none"})`);
  return out;
}

/** The file of the domain's first `<disk device='disk'>` (its system disk), if any. */
export function liveDiskPath(xml: string): string | undefined {
  const x = xml.replace(/<!--[\s\S]*?-->/g, "");
  for (const m of x.matchAll(/<disk\b([^>]*)>([\s\S]*?)<\/disk>/g)) {
    if ((attr(m[1] as string, "device") ?? "disk") !== "disk") continue;
    const src = /<source\b[^>]*\sfile\s*=\s*(['"])(.*?)\1/.exec(m[2] as string);
    if (src) return src[2];
  }
  return undefined;
}
