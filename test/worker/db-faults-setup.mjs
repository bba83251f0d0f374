// Global setup for test/worker/db-faults.test.ts: a TCP server on loopback that accepts
// connections and never answers (a frozen database), and a port that was just closed (a database
// that is down). Plain JavaScript so it stays out of the Worker's typecheck (it runs in Node).
import { createServer } from "node:net";

/** @param {import("vitest/node").TestProject} project */
export default async function setup(project) {
  /** @type {Set<import("node:net").Socket>} */
  const sockets = new Set();
  const silent = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise((resolve) => silent.listen(0, "127.0.0.1", () => resolve(undefined)));
  const silentPort = /** @type {import("node:net").AddressInfo} */ (silent.address()).port;

  const closed = createServer();
  await new Promise((resolve) => closed.listen(0, "127.0.0.1", () => resolve(undefined)));
  const closedPort = /** @type {import("node:net").AddressInfo} */ (closed.address()).port;
  await new Promise((resolve) => closed.close(() => resolve(undefined)));

  project.provide("silentDbUrl", `http://127.0.0.1:${silentPort}`);
  project.provide("closedDbUrl", `http://127.0.0.1:${closedPort}`);
  return async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(() => resolve(undefined)));
  };
}
