import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { pipelineMarketEndDate } from "./global-setup.ts";

// The batch pipeline end to end: the real Worker in workerd, its real queues (miniflare) and
// a real local libSQL server seeded with the demo data set (509 symbols, 5 portfolios), so a
// run moves through every phase exactly as under `npm start`. A separate project from
// test/worker because it needs its own database: a run covers the whole universe.
export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: fileURLToPath(new URL("../../wrangler.toml", import.meta.url)) },
      miniflare: {
        bindings: {
          // wrangler.toml ships ENVIRONMENT=production; the tests sign HS256 development tokens.
          ENVIRONMENT: "development",
          // The demo's synthetic market (wrangler.toml's default is \`stored\`: a deployment never invents prices).
          MARKET_DATA_PROVIDER: "synthetic",
          TURSO_DATABASE_URL: inject("libsqlUrl"),
          TURSO_AUTH_TOKEN: inject("libsqlAuthToken"),
          JWT_SECRET: "pipeline-test-secret-at-least-32-bytes-long-0123456789",
          // The synthetic provider serves the market the seed wrote.
          SYNTHETIC_MARKET_END_DATE: pipelineMarketEndDate,
          BATCH_CATCH_UP_DAYS: "3",
          BATCH_DUAL_WRITE: "true",
        },
        queueConsumers: { "factor-batch": { maxBatchTimeout: 0.05 } },
      },
    })),
  ],
  test: {
    name: "pipeline",
    root: fileURLToPath(new URL(".", import.meta.url)),
    include: ["**/*.test.ts"],
    globalSetup: ["./global-setup.ts", "../workerd-output-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
