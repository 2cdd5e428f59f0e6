import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Tier-2 tests start real daemons; running files one after another keeps ports and CPU calm.
    fileParallelism: false,
    reporters: ["default"],
  },
});
