import { z } from "zod";

/**
 * What Alertmanager POSTs to a webhook receiver (its payload version 4). External input, read
 * by the alert bridge (lib/ci/alert-bridge.ts): fields we do not use are allowed (Alertmanager
 * adds some between versions), the ones we use are checked, and label values are bounded.
 */
const text = z.string().max(2000);
const labels = z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]{0,99}$/), text).refine((l) => Object.keys(l).length <= 50, { error: "at most 50 labels" });

export const alertSchema = z.looseObject({
  status: z.enum(["firing", "resolved"]),
  labels: labels.refine((l) => typeof l.alertname === "string" && l.alertname.length > 0, { error: "an alert needs its alertname label" }),
  annotations: z.record(z.string(), text).default({}),
  startsAt: z.string().max(64),
  endsAt: z.string().max(64).optional(),
});

export const alertWebhookSchema = z.looseObject({
  version: z.literal("4", { error: 'must be Alertmanager\'s webhook payload version "4"' }),
  status: z.enum(["firing", "resolved"]),
  alerts: z.array(alertSchema).max(500),
});

export type Alert = z.infer<typeof alertSchema>;
export type AlertWebhook = z.infer<typeof alertWebhookSchema>;

/**
 * What Alertmanager's API answers on GET /api/v2/alerts (npm run status -- health): the alerts
 * it holds, each with its state. Read from the monitor host: checked like the webhook's payload.
 */
export const apiAlertsSchema = z
  .array(
    z.looseObject({
      labels: labels.refine((l) => typeof l.alertname === "string" && l.alertname.length > 0, { error: "an alert needs its alertname label" }),
      annotations: z.record(z.string(), text).default({}),
      startsAt: z.string().max(64),
      status: z.looseObject({ state: z.string().max(64) }),
    }),
  )
  .max(5000, { error: "more than 5000 alerts: read Alertmanager's UI instead" });

export type ApiAlert = z.infer<typeof apiAlertsSchema>[number];
