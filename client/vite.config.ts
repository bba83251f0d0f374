import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const workerOrigin = `http://127.0.0.1:${process.env["PORT"] ?? "8787"}`;

// The client is served by the Worker as static assets (wrangler.toml [assets]). Preact's JSX
// through Vite's own transform (oxc): the preset plugin's extras (devtools, prefresh) are not
// needed for a build served by the Worker.
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: fileURLToPath(new URL("../dist/client", import.meta.url)),
    emptyOutDir: true,
    // The dashboard's JavaScript budget is 150 KB gzipped (npm run bench:client reports it); this
    // raw-size warning sits a little above today's one file (about 410 kB raw, 130 KB gzipped).
    chunkSizeWarningLimit: 450,
  },
  // `vite` (development only): the page from Vite, the API and live socket from the Worker that
  // `npm start` runs. The live socket's Origin is rewritten to the Worker's, which it allows.
  server: {
    proxy: {
      "/api": {
        target: workerOrigin,
        ws: true,
        configure: (proxy) => {
          proxy.on("proxyReqWs", (request) => request.setHeader("origin", workerOrigin));
        },
      },
    },
  },
  logLevel: "warn",
});
