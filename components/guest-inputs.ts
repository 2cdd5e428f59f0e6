import type { VpsModel } from "../lib/model/types";
import { NWFILTER_NAME, renderDomainXml, renderMetaData, renderNetworkConfig, renderNwfilter, renderUserData } from "../lib/render";
import type { GuestInputs } from "../provider/resources/guest-check";
import type { Target } from "./target";

/** What a member's VPS asks of its hypervisor (the full form: contents, which components/vps.ts turns into refs). */
export function guestInputs(v: VpsModel, target: Target, archiveDir: string, running: boolean): GuestInputs {
  return {
    target,
    domain: v.domain,
    xml: renderDomainXml(v),
    seed: { userData: renderUserData(v), metaData: renderMetaData(v), networkConfig: renderNetworkConfig(v) },
    baseImage: v.imagePath,
    diskPath: v.diskPath,
    seedPath: v.seedPath,
    diskGb: v.diskGb,
    vcpus: v.vcpus,
    memoryMb: v.memoryMb,
    running,
    shutdownTimeoutSec: v.shutdownTimeoutSec,
    bootFiles: v.directBoot
      ? [
          { from: v.directBoot.kernelSource, to: v.directBoot.kernel },
          { from: v.directBoot.initrdSource, to: v.directBoot.initrd },
        ]
      : undefined,
    archiveDir,
    // On a bridge the guest is filtered (no spoofing); the lab's user-mode network is QEMU's own.
    nwfilter: v.network.type === "bridge" ? { name: NWFILTER_NAME, xml: renderNwfilter() } : undefined,
  };
}
