import { afterAll } from "vitest";
import { removeTempDirs } from "../helpers/temp-dir";

// A setup file runs before every test file, shared modules or not (the unit tier's
// `isolate: false`), so each file's own directories go when it ends.
afterAll(() => {
  removeTempDirs();
});
