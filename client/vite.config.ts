import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// The client is served by the Worker as static assets (wrangler.toml [assets]).
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  build: {
    outDir: fileURLToPath(new URL("../dist/client", import.meta.url)),
    emptyOutDir: true,
  },
  logLevel: "warn",
});
