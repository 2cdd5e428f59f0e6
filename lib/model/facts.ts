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
