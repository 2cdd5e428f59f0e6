/** What a VPS asks of a hypervisor, and what a hypervisor can give. */
export interface Resources {
  vcpus: number;
  memoryMb: number;
  diskGb: number;
}

/** A VPS size offered by `npm run new -- vps`: a starting point, grown later by editing the file. */
export const SIZES = {
  small: { vcpus: 1, memoryMb: 1024, diskGb: 10 },
  medium: { vcpus: 2, memoryMb: 2048, diskGb: 20 },
  large: { vcpus: 4, memoryMb: 4096, diskGb: 40 },
} as const satisfies Record<string, Resources>;

export type SizeName = keyof typeof SIZES;

export function isSize(s: string): s is SizeName {
  return Object.hasOwn(SIZES, s);
}

export function describeSize(r: Resources): string {
  return `${r.vcpus} vCPU${r.vcpus > 1 ? "s" : ""}, ${r.memoryMb} MB of memory, ${r.diskGb} GB of disk`;
}

/** One stack's hypervisors: capacity and what its VPS already take. */
export interface StackHypervisors {
  stack: string;
  hypervisors: Map<string, { capacity: Resources; used: Resources }>;
}

export interface HypervisorChoice {
  name: string;
  /** Share of its capacity left on its scarcest resource, in the tightest stack, once the VPS is placed (0 to 1). */
  room: number;
  /** Per stack, what is left once the VPS is placed. */
  left: Array<{ stack: string; free: Resources }>;
}

const FIELDS = [
  ["vcpus", "vCPU", "vCPUs"],
  ["memoryMb", "memory", "MB"],
  ["diskGb", "disk", "GB"],
] as const;

/**
 * The hypervisor for a new VPS. validate checks the VPS file against every stack, so the
 * hypervisor must be one in each stack and the VPS must fit in each; among those, the one
 * left with the most room (as a share of its capacity, on its scarcest resource, in the
 * stack where it is tightest), ties broken by name. `rejected` says why each other one was
 * left out.
 */
export function chooseHypervisor(stacks: StackHypervisors[], size: Resources): { choice?: HypervisorChoice; rejected: Array<{ name: string; why: string }> } {
  const names = [...new Set(stacks.flatMap((s) => [...s.hypervisors.keys()]))].sort();
  const fits: HypervisorChoice[] = [];
  const rejected: Array<{ name: string; why: string }> = [];
  for (const name of names) {
    let why: string | undefined;
    let room = Infinity;
    const left: HypervisorChoice["left"] = [];
    for (const s of stacks) {
      const hv = s.hypervisors.get(name);
      if (!hv) {
        why = `not a hypervisor in stack ${s.stack}`;
        break;
      }
      const free = {
        vcpus: hv.capacity.vcpus - hv.used.vcpus - size.vcpus,
        memoryMb: hv.capacity.memoryMb - hv.used.memoryMb - size.memoryMb,
        diskGb: hv.capacity.diskGb - hv.used.diskGb - size.diskGb,
      };
      const over = FIELDS.find(([f]) => free[f] < 0);
      if (over) {
        const [f, what, unit] = over;
        why = `not enough ${what} in stack ${s.stack}: ${hv.capacity[f] - hv.used[f]} ${unit} free, ${size[f]} asked`;
        break;
      }
      for (const [f] of FIELDS) room = Math.min(room, free[f] / hv.capacity[f]);
      left.push({ stack: s.stack, free });
    }
    if (why) rejected.push({ name, why });
    else fits.push({ name, room, left });
  }
  fits.sort((a, b) => b.room - a.room || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { choice: fits[0], rejected };
}
