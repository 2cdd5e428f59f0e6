import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "./helpers/temp-dir";
import { detectAccel } from "../lib/host/accel";

/** detectAccel on made-up /proc/cpuinfo and /dev/kvm stand-ins. */
const dir = tempDir("globenet-accel-");
const file = (name: string, content: string) => {
  const f = join(dir, name);
  writeFileSync(f, content);
  return f;
};
const intel = file("cpuinfo-vmx", "processor\t: 0\nflags\t\t: fpu vme de pse vmx sse2\n");
const amd = file("cpuinfo-svm", "processor\t: 0\nflags\t\t: fpu svm lm\n");
const none = file("cpuinfo-none", "processor\t: 0\nflags\t\t: fpu vme de pse sse2 hypervisor\n");
const kvm = file("kvm", "");

describe("guest acceleration for domain_type: auto", () => {
  afterEach(() => {
    delete process.env.GLOBENET_LAB_ACCEL;
  });
  it.each([
    ["a CPU with vmx and /dev/kvm", intel, kvm, "kvm", "KVM"],
    ["a CPU with svm and /dev/kvm", amd, kvm, "kvm", "KVM"],
    ["/dev/kvm without vmx/svm (a paravirtual KVM inside a VM)", none, kvm, "qemu", "TCG"],
    ["no /dev/kvm", intel, join(dir, "missing"), "qemu", "TCG"],
    ["an unreadable cpuinfo", join(dir, "missing-cpuinfo"), kvm, "qemu", "TCG"],
  ])("%s", (_what, cpuinfo, dev, domainType, name) => {
    const a = detectAccel(cpuinfo, dev);
    expect(a.domainType).toBe(domainType);
    expect(a.name).toBe(name);
    expect(a.why.length).toBeGreaterThan(0);
  });
  it("follows GLOBENET_LAB_ACCEL when it is set", () => {
    process.env.GLOBENET_LAB_ACCEL = "qemu";
    expect(detectAccel(intel, kvm)).toMatchObject({ domainType: "qemu", why: "GLOBENET_LAB_ACCEL=qemu" });
    process.env.GLOBENET_LAB_ACCEL = "kvm";
    expect(detectAccel(none, kvm).domainType).toBe("kvm");
  });
});
