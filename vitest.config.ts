// Two projects, one `npm test`: "node" (everything in-process on Node) and "workers" (the worker inside workerd).
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    testTimeout: 20_000,
    // The fuzz test measures heap after a forced collection (test/integration/fuzz.test.ts).
    execArgv: ["--expose-gc"],
    projects: [
      {
        extends: true,
        test: { name: "node", include: ["test/**/*.test.ts"], exclude: ["test/workers/**"], setupFiles: ["test/setup.ts"] },
      },
      {
        extends: true,
        plugins: [
          cloudflareTest(({ inject }) => ({
            main: "./src/adapters/worker.ts",
            wrangler: { configPath: "./wrangler.toml" },
            // The simulator runs on Node (global setup) on 127.0.0.1; the worker reaches it through its URL. It
            // refuses `n`, so best-of-N is N parallel calls from the first request on. Queues of one slot would
            // make concurrent requests wait for each other, if the Worker let them (it must not, see worker-app.ts).
            miniflare: {
              bindings: {
                GENERATOR_BASE_URL: inject("simUrl"),
                VERDICT_CONFIG_JSON: JSON.stringify({
                  generator: { supports_n: false, concurrency: 1 },
                  judge: { model: "sim-judge", concurrency: 1 },
                }),
              },
            },
          })),
        ],
        test: {
          name: "workers",
          include: ["test/workers/**/*.test.ts"],
          globalSetup: ["test/workers/global-setup.ts"],
        },
      },
    ],
  },
});
