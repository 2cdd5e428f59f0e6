/** A plain object (not null, not an array): what the engine, a state or a JSON text hands over may be anything. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
