import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { pipelineMarketEndDate } from "../pipeline/global-setup.ts";

// The API against the batch's real output: the real Worker in workerd over its own local
// libSQL server seeded with the demo data set (as the pipeline project's), on which the tests
// first run the batch for a few dates through the admin API.
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
          JWT_SECRET: "api-test-secret-at-least-32-bytes-long-0123456789",
          SYNTHETIC_MARKET_END_DATE: pipelineMarketEndDate,
          BATCH_CATCH_UP_DAYS: "1",
        },
        queueConsumers: { "factor-batch": { maxBatchTimeout: 0.05 } },
      },
    })),
  ],
  test: {
    name: "api",
    root: fileURLToPath(new URL(".", import.meta.url)),
    include: ["**/*.test.ts"],
    globalSetup: ["../pipeline/global-setup.ts", "../workerd-output-setup.ts"],
    setupFiles: ["./setup.ts"],
    // One file at a time: the files share the database and the batch output the first makes.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
