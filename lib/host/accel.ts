import { accessSync, constants, existsSync, readFileSync } from "node:fs";

/**
 * Whether this machine can run KVM guests, for hypervisors declared `domain_type: auto` (the
 * lab, where the machine running the driver is the hypervisor). /dev/kvm alone is not enough:
 * on these build machines it comes from a paravirtual module inside a VM whose CPU has no
 * vmx/svm, and KVM guests die there (LAB-NOTES, "Booting a lab VPS"). Without both, TCG.
 */
export interface Accel {
  domainType: "kvm" | "qemu";
  /** What the lab reports. */
  name: "KVM" | "TCG";
  why: string;
}

const tcg = (why: string): Accel => ({ domainType: "qemu", name: "TCG", why });

export function detectAccel(cpuinfo = "/proc/cpuinfo", dev = "/dev/kvm"): Accel {
  const forced = process.env.GLOBENET_LAB_ACCEL;
  if (forced === "kvm") return { domainType: "kvm", name: "KVM", why: "GLOBENET_LAB_ACCEL=kvm" };
  if (forced === "qemu") return tcg("GLOBENET_LAB_ACCEL=qemu");
  if (!existsSync(dev)) return tcg(`no ${dev}`);
  try {
    accessSync(dev, constants.R_OK | constants.W_OK);
  } catch {
    return tcg(`${dev} is not usable by this user`);
  }
  let flags = "";
  try {
    flags = readFileSync(cpuinfo, "utf8").split("\n").find((l) => l.startsWith("flags")) ?? "";
  } catch {
    return tcg(`cannot read ${cpuinfo}`);
  }
  if (!/\b(vmx|svm)\b/.test(flags)) return tcg(`${dev} exists but the CPU shows no vmx/svm: KVM guests fail on such a host`);
  return { domainType: "kvm", name: "KVM", why: `${dev} and a CPU with ${/\bvmx\b/.test(flags) ? "vmx" : "svm"}` };
}
