import { defineConfig } from "vitest/config";

// Five projects: `unit` runs in Node (pure code, scripts, the local libSQL server),
// `worker` runs inside workerd through @cloudflare/vitest-plugin, `pipeline` runs batch runs
// end to end in workerd over the demo data set, `api` tests the API over a batch's output,
// `own-data` runs a user's own prices from a clean start (provider `stored`) against
// independent reference betas,
// `e2e` drives the dashboard in Chromium against the stack `npm start` runs.
export default defineConfig({
  test: {
    projects: [
      "test/unit/vitest.config.ts",
      "test/worker/vitest.config.ts",
      "test/pipeline/vitest.config.ts",
      "test/api/vitest.config.ts",
      "test/own-data/vitest.config.ts",
      "test/e2e/vitest.config.ts",
    ],
  },
});
