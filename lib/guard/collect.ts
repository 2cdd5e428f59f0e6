import type { PreviewResult, Stack } from "@pulumi/pulumi/automation";
import { stepFromEvent, type Plan, type PlanStep } from "./plan";

/** Runs a preview and keeps each step the engine announces (op, type, inputs before/after). */
export async function previewPlan(stack: Stack, opts: { onOutput?: (s: string) => void; color?: "auto" | "never"; diff?: boolean; refresh?: boolean } = {}): Promise<{ plan: Plan; result: PreviewResult }> {
  const steps: PlanStep[] = [];
  const result = await stack.preview({
    onOutput: opts.onOutput,
    color: opts.color ?? "never",
    diff: opts.diff,
    refresh: opts.refresh,
    onEvent: (e) => {
      const m = e.resourcePreEvent?.metadata;
      const s = m ? stepFromEvent(m as unknown as Record<string, unknown>) : undefined;
      // With refresh, the engine first announces a "refresh" step per resource (it reads the
      // host): not a change. What the reading found comes after, as that resource's real step.
      if (s && s.op !== "refresh") steps.push(s);
    },
  });
  return { plan: { stack: stack.name, steps }, result };
}
