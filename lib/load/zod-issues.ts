import type { z } from "zod";
import { formatPath, type Diagnostic } from "./diagnostic";
import { locate, type YamlFile } from "./yaml-file";
import { allowedKeysAt, closest } from "./schema-keys";

const TYPE_WORDS: Record<string, string> = {
  string: "text",
  number: "a number",
  boolean: "true or false",
  object: "a mapping (key: value lines)",
  array: "a list (lines starting with -)",
};

function describe(input: unknown): string {
  if (input === null) return "nothing (null)";
  if (Array.isArray(input)) return "a list";
  if (typeof input === "object") return "a mapping";
  if (typeof input === "string") return `the text "${input.length > 40 ? input.slice(0, 40) + "…" : input}"`;
  return `${typeof input} ${String(input)}`;
}

/** Our wording for zod's built-in issues; custom issues keep their own message. */
export function issueMessage(iss: z.core.$ZodIssue, input?: unknown): string {
  switch (iss.code) {
    case "invalid_type": {
      const want = TYPE_WORDS[iss.expected] ?? iss.expected;
      if (iss.message && !iss.message.startsWith("Invalid input")) return iss.message;
      return `must be ${want}, not ${describe(input)} (check the example in the README)`;
    }
    case "unrecognized_keys":
      return `unknown key (check the spelling; see the README for the allowed keys)`;
    case "invalid_value":
      if (iss.message && !iss.message.startsWith("Invalid")) return iss.message;
      return `must be one of ${iss.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "too_small":
      if (iss.message && !iss.message.startsWith("Too small")) return iss.message;
      return iss.origin === "array" ? `needs at least ${String(iss.minimum)} item(s)` : `is too small (minimum ${String(iss.minimum)})`;
    case "too_big":
      if (iss.message && !iss.message.startsWith("Too big")) return iss.message;
      return iss.origin === "array" ? `has more than ${String(iss.maximum)} items (split it or ask the hosting team)` : `is too big (maximum ${String(iss.maximum)})`;
    case "invalid_format":
      if (iss.message && !iss.message.startsWith("Invalid")) return iss.message;
      return `has the wrong format (expected ${iss.format})`;
    default:
      return iss.message;
  }
}

function valueAt(data: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v: unknown = data;
  for (const seg of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

/** Whether `path` names a key that is absent from its (present) parent mapping. */
function isMissing(data: unknown, path: ReadonlyArray<PropertyKey>): boolean {
  let v: unknown = data;
  for (let i = 0; i < path.length; i++) {
    if (v === null || typeof v !== "object") return false;
    const seg = path[i] as string;
    if (!(seg in (v as object))) return i === path.length - 1;
    v = (v as Record<string, unknown>)[seg];
  }
  return false;
}

const samePrefix = (prefix: ReadonlyArray<PropertyKey>, path: ReadonlyArray<PropertyKey>) => prefix.length <= path.length && prefix.every((seg, i) => seg === path[i]);

/**
 * A value of the wrong type is one mistake: zod also runs the checks meant for the right
 * type on it (a list's maximum length measured on a string, say), and those would read as
 * further mistakes. Only the type error is kept for that value and what is inside it.
 */
export function withoutConsequences(issues: z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  const wrongType = issues.filter((i) => i.code === "invalid_type").map((i) => i.path);
  return issues.filter((i) => i.code === "invalid_type" || !wrongType.some((p) => samePrefix(p, i.path)));
}

/**
 * Zod issues → diagnostics at the YAML position of each field; `prefix` is where the schema's
 * root sits in the file, `data` what was parsed (to tell a missing field from a wrong one).
 */
export function issuesToDiagnostics(yf: YamlFile, issues: z.core.$ZodIssue[], prefix: ReadonlyArray<string | number> = [], schema?: z.ZodType, data?: unknown): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const iss of withoutConsequences(issues)) {
    const base = [...prefix, ...(iss.path as Array<string | number>)];
    if (iss.code === "unrecognized_keys") {
      const allowed = schema ? allowedKeysAt(schema, iss.path as PropertyKey[], data) : [];
      for (const key of iss.keys) {
        const path = [...base, key];
        const p = locate(yf, path, true);
        const near = closest(key, allowed);
        const message = near
          ? `unknown key (did you mean "${near}"?)`
          : allowed.length > 0
            ? `unknown key (allowed here: ${allowed.join(", ")})`
            : issueMessage(iss, valueAt(data, iss.path as PropertyKey[]));
        out.push({ file: yf.file, line: p.line, col: p.col, field: formatPath(path), message });
      }
      continue;
    }
    const field = iss.path[iss.path.length - 1];
    const message = data !== undefined && iss.path.length > 0 && isMissing(data, iss.path as PropertyKey[])
      ? `is required (add ${typeof field === "string" ? `${field}: …` : "it"}; see the README for an example)`
      : issueMessage(iss, valueAt(data, iss.path as PropertyKey[]));
    // A missing field points at its parent mapping, since it has no position of its own.
    const p = locate(yf, base);
    out.push({ file: yf.file, line: p.line, col: p.col, field: formatPath(base), message });
  }
  return out;
}
