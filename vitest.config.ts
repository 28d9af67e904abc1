import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
    // The fuzz test measures heap after a forced collection (test/integration/fuzz.test.ts).
    execArgv: ["--expose-gc"],
  },
});
