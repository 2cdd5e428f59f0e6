import { resolve } from "node:path";

/** The repository root: where package.json sits, two levels above this file. */
export const REPO_ROOT = resolve(__dirname, "..", "..");
