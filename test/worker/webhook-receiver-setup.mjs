// Global setup for test/worker/webhooks.test.ts: a webhook receiver on loopback (which
// development mode lets a webhook point at). It records every request to /hooks/<key> (headers
// and the exact body) and answers each with the next status of that key's script (default 200;
// "hang" never answers). The tests, inside workerd, script and read it over HTTP at
// /control/<key>. Plain JavaScript so it stays out of the Worker's typecheck (it runs in Node).
import { createServer } from "node:http";

/** @param {import("vitest/node").TestProject} project */
export default async function setup(project) {
  /** @type {Map<string, {script: (number | "hang")[], requests: object[]}>} */
  const keys = new Map();
  const entry = (/** @type {string} */ key) => {
    let found = keys.get(key);
    if (!found) {
      found = { script: [], requests: [] };
      keys.set(key, found);
    }
    return found;
  };
  /** @type {Set<import("node:http").ServerResponse>} */
  const hanging = new Set();

  const server = createServer((request, response) => {
    const chunks = /** @type {Buffer[]} */ ([]);
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const [, area, key = ""] = (request.url ?? "").split("?")[0].split("/");
      if (area === "control") {
        const state = entry(key);
        if (request.method === "PUT") state.script = JSON.parse(body).script;
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({ requests: state.requests }));
        return;
      }
      if (area !== "hooks") {
        response.writeHead(404).end();
        return;
      }
      const state = entry(key);
      state.requests.push({ method: request.method, url: request.url, headers: request.headers, body });
      const next = state.script.length > 1 ? state.script.shift() : (state.script[0] ?? 200);
      if (next === "hang") {
        hanging.add(response);
        response.on("close", () => hanging.delete(response));
        return;
      }
      response.writeHead(next, { "content-type": "text/plain" }).end(`status ${next}`);
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const port = /** @type {import("node:net").AddressInfo} */ (server.address()).port;
  project.provide("webhookReceiverUrl", `http://127.0.0.1:${port}`);
  return async () => {
    for (const response of hanging) response.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(() => resolve(undefined)));
  };
}
