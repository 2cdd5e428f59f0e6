import type { Inventory } from "../schema/inventory";

/**
 * What the model needs to know about the machine that applies it. The model never looks at
 * the machine itself (it is a pure function of the data files): the tools that run guests here
 * (the lab, the engine's program) resolve these with lib/host and pass them in. Without them,
 * validate, render, diff and CI build the same model on every machine.
 */
export interface MachineFacts {
  /**
   * What a hypervisor declared `domain_type: auto` runs its guests with on this machine. Absent:
   * "qemu" (TCG), which runs anywhere.
   */
  accel?: "kvm" | "qemu";
}

/** What a hypervisor declared `domain_type: auto` runs its guests with, by these facts. */
export function autoDomainType(facts: MachineFacts): "kvm" | "qemu" {
  return facts.accel ?? "qemu";
}

/**
 * The facts that change the model of data with this inventory, as a string to compare: the
 * accelerator only when a hypervisor says `domain_type: auto` (a lab's); "" otherwise, so a model
 * built on one machine is the model on any other (lib/check/checked-model.ts keeps one).
 */
export function factsKey(inventory: Pick<Inventory, "hosts">, facts: MachineFacts): string {
  const auto = Object.values(inventory.hosts).some((h) => h.libvirt?.domain_type === "auto");
  return auto ? `accel=${autoDomainType(facts)}` : "";
}
