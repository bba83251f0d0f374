// Global setup for test/worker/db-faults.test.ts: a TCP server on loopback that accepts
// connections and never answers (a frozen database), and a port where nothing listens (a database
// that is down). Plain JavaScript so it stays out of the Worker's typecheck (it runs in Node).
//
// The down port is a low one that refuses connections now. A port just closed would not do: it
// is in the ephemeral range every `listen(0)` of the run draws from, and once another project's
// server took it the "down" database answered HTTP 404. Ports below 1024 are outside that range
// (Linux's ip_local_port_range starts at 32768 by default), so nothing the tests start can take it.
import { connect, createServer } from "node:net";

/** Whether a connection to 127.0.0.1:`port` is refused (nothing listens there). */
function refuses(port) {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", (error) => resolve(/** @type {NodeJS.ErrnoException} */ (error).code === "ECONNREFUSED"));
  });
}

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

  let closedPort = 0;
  for (const port of [1, 9, 13, 17, 19, 37, 79]) {
    if (await refuses(port)) {
      closedPort = port;
      break;
    }
  }
  if (closedPort === 0) throw new Error("db-faults setup: every candidate low port on 127.0.0.1 accepts connections");

  project.provide("silentDbUrl", `http://127.0.0.1:${silentPort}`);
  project.provide("closedDbUrl", `http://127.0.0.1:${closedPort}`);
  return async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(() => resolve(undefined)));
  };
}
