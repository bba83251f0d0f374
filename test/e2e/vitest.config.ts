import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// The dashboard end to end: Debian's Chromium (playwright-core) against the stack `npm start`
// runs, started by global-setup.ts on free ports over a temporary data directory.
export default defineConfig({
  test: {
    name: "e2e",
    root: fileURLToPath(new URL(".", import.meta.url)),
    include: ["**/*.test.ts"],
    environment: "node",
    globalSetup: ["./global-setup.ts"],
    // The files share one stack and its data; they run one after another.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 240_000,
  },
});
