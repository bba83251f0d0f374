import { defineConfig } from "vitest/config";

// Two projects: `unit` runs in Node (pure code, scripts, the local libSQL server),
// `worker` runs inside workerd through @cloudflare/vitest-plugin.
export default defineConfig({
  test: {
    projects: ["test/unit/vitest.config.ts", "test/worker/vitest.config.ts"],
  },
});
