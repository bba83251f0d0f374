import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Worker tests run inside workerd with the real wrangler.toml bindings (Durable Object,
// queues, assets) against a real local libSQL server that global-setup.ts starts.
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
          JWT_SECRET: "worker-test-secret-at-least-32-bytes-long-0123456789",
          // Runs the tests start go through every phase over this shared database: keep them small.
          BATCH_CATCH_UP_DAYS: "1",
        },
        // Deliver queue messages promptly so tests can watch a run move through the queue.
        queueConsumers: { "factor-batch": { maxBatchTimeout: 0.05 }, "factor-webhooks": { maxBatchTimeout: 0.05 } },
      },
    })),
  ],
  test: {
    name: "worker",
    root: fileURLToPath(new URL(".", import.meta.url)),
    include: ["**/*.test.ts"],
    globalSetup: [
      "./global-setup.ts",
      "./db-faults-setup.mjs",
      "./webhook-receiver-setup.mjs",
      "../workerd-output-setup.ts",
    ],
    testTimeout: 20_000,
  },
});
