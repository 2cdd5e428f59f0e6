/**
 * Reading the import's mapping file (schema: lib/schema/import-map.ts) with the loader's own
 * strict YAML reading, so a mistake in it is reported as file:line:col like any data file.
 */
import { readFileSync } from "node:fs";
import { DataError } from "../load/diagnostic";
import { parseYamlFile } from "../load/yaml-file";
import { issuesToDiagnostics } from "../load/zod-issues";
import { importMapSchema, type ImportMap } from "../schema/import-map";

/** The empty mapping: every decision left to the import's guesses (each marked TODO). */
export const NO_MAP: ImportMap = { accounts: {}, sites: {}, zones: {}, databases: {}, database_prefixes: {}, domains: {} };

/** Parses the mapping file's text; throws a DataError naming file, line and field. */
export function parseImportMap(file: string, text: string): ImportMap {
  const { yf, errors } = parseYamlFile(file, text);
  if (!yf) throw new DataError(errors);
  if (errors.length) throw new DataError(errors);
  const r = importMapSchema.safeParse(yf.data ?? {});
  if (!r.success) throw new DataError(issuesToDiagnostics(yf, r.error.issues, [], importMapSchema, yf.data));
  return r.data;
}

export function readImportMap(file: string | undefined): ImportMap {
  return file ? parseImportMap(file, readFileSync(file, "utf8")) : NO_MAP;
}
