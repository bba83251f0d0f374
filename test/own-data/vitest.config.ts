import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// A user's own data from a clean start: the real Worker in workerd with wrangler.toml's own
// configuration (market data provider `stored`: nothing fetched, nothing synthetic), over an
// empty migrated libSQL server. The tests import a CSV of closes whose betas scikit-learn and
// statsmodels computed (scripts/own-data-fixtures.py), run the batch, and read the numbers back
// through the API.
export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: fileURLToPath(new URL("../../wrangler.toml", import.meta.url)) },
      miniflare: {
        bindings: {
          // wrangler.toml ships ENVIRONMENT=production; the tests sign HS256 development tokens.
          ENVIRONMENT: "development",
          TURSO_DATABASE_URL: inject("libsqlUrl"),
          TURSO_AUTH_TOKEN: inject("libsqlAuthToken"),
          JWT_SECRET: "own-data-test-secret-at-least-32-bytes-long-0123456789",
          BATCH_CATCH_UP_DAYS: "1",
        },
        queueConsumers: { "factor-batch": { maxBatchTimeout: 0.05 } },
      },
    })),
  ],
  test: {
    name: "own-data",
    root: fileURLToPath(new URL(".", import.meta.url)),
    include: ["**/*.test.ts"],
    globalSetup: ["./global-setup.ts", "../workerd-output-setup.ts"],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
