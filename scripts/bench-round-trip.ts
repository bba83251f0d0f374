// What one database round trip costs a Worker, whatever the Worker does around it:
// `npm run bench:round-trip` (node scripts/bench-round-trip.ts).
//
// bench:api measures our routes against a floor (the static docs page) and holds them to
// issue 16's targets: CPU per request ≤ 2× the floor's, p99 ≤ 100 ms at 50 connections. This
// benchmark measures what no route can do without, on the same runtime (workerd through
// Miniflare's API, `logRequests` off, as bench:api's direct runtime), the same local libSQL
// server (in this process) and the same load generator (autocannon in a child process):
//
// - static:  a Worker that answers 2,455 bytes of text (the docs page's size) and nothing else;
// - query:   the same Worker after one request to the database (`select 1`, sent as one Hrana
//            pipeline with `fetch` and read with `Response.json()`: no client library, no
//            token check, no rate limit, no data version);
// - query_100kb: the same, the answer being a 100,000-character text the database returns (what
//            a symbols page weighs), passed through as the body.
//
// Per Worker: a 2 s warm-up, then `--duration` s (8) at `--connections` (50) and 5 s at 1
// connection; workerd's CPU per answer (utime + stime of its process, /proc) and every answer's
// latency. Prints a table and writes bench-results/round-trip.json (`--out`).
//
// What it shows: the difference query − static is the Worker's CPU for one round trip at the
// least, and the p99 of `query` at 50 connections is the lowest any route that reads the
// database can have on this machine (docs/api.md, "Speed").
import path from "node:path";
import { parseArgs } from "node:util";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { startLibsqlServer } from "./libsql-server/server.ts";
import {
  benchTempDir,
  exitOnSignals,
  loadAverage,
  machineInfo,
  round,
  runAndExit,
  wholeNumber,
  writeResults,
} from "./bench-batch/common.ts";
import { freePort, onStop } from "./bench-batch/stack.ts";
import { processCpuSeconds, workerdChildren } from "./bench-api/direct.ts";
import type { LoadResult } from "./bench-api/load.ts";
import { LoadGenerator } from "./bench-api/load-generator.ts";

const { values: flags } = parseArgs({
  options: {
    connections: { type: "string", default: "50" },
    duration: { type: "string", default: "8" },
    "single-duration": { type: "string", default: "5" },
    out: { type: "string", default: "bench-results/round-trip.json" },
  },
});
const connections = wholeNumber("connections", flags.connections, 1);
const duration = wholeNumber("duration", flags.duration, 1);
const singleDuration = wholeNumber("single-duration", flags["single-duration"], 1);

// The Worker: plain JavaScript, no dependency; the token and the database URL come as bindings.
const workerScript = `
const page = "x".repeat(2455);
const pipeline = (sql) => JSON.stringify({
  baton: null,
  requests: [{ type: "execute", stmt: { sql } }, { type: "close" }],
});
const selectOne = pipeline("select 1");
const select100kb = pipeline("select printf('%.*c', 100000, 'x')");
async function query(env, body) {
  const response = await fetch(env.DB_URL + "/v2/pipeline", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer " + env.DB_TOKEN },
    body,
  });
  const answer = await response.json();
  const result = answer.results[0];
  if (result.type !== "ok") throw new Error("the database answered " + JSON.stringify(result));
  return result.response.result.rows[0][0].value;
}
export default {
  async fetch(request, env) {
    const route = new URL(request.url).pathname;
    if (route === "/query") await query(env, selectOne);
    if (route === "/query_100kb") {
      const text = await query(env, select100kb);
      return new Response(text, { headers: { "content-type": "application/json" } });
    }
    return new Response(page, { headers: { "content-type": "text/html" } });
  },
};`;

const workers = [
  { name: "static", path: "/static", does: "answers 2,455 bytes, nothing else" },
  { name: "query", path: "/query", does: "one database request (select 1), then the same answer" },
  { name: "query_100kb", path: "/query_100kb", does: "one database request returning 100,000 characters, passed on" },
] as const;

interface Figures {
  connections: number;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  max: number;
  workerdCpuMsPerRequest: number;
  errors: number;
  non2xx: number;
}

async function main(): Promise<number> {
  exitOnSignals();
  const loadAtStart = loadAverage();
  const dir = benchTempDir("bench-round-trip-", false);
  const authToken = "round-trip-bench";
  const server = await startLibsqlServer({ dbPath: path.join(dir, "round-trip.db"), port: 0, authToken });
  onStop(() => server.close());
  const port = await freePort();
  const before = new Set(workerdChildren(process.pid));
  const miniflare = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port,
      logRequests: false,
      workers: [
        {
          name: "round-trip",
          modules: true,
          script: workerScript,
          compatibilityDate: "2026-10-20",
          bindings: { DB_URL: server.url, DB_TOKEN: authToken },
        },
      ],
    }),
  );
  onStop(() => miniflare.dispose());
  const base = await miniflare.ready;
  const workerd = workerdChildren(process.pid).filter((pid) => !before.has(pid));
  if (workerd.length !== 1) throw new Error(`expected one new workerd process, found ${workerd.length}`);
  const pid = workerd[0] as number;
  const loader = new LoadGenerator();
  onStop(() => loader.stop());

  async function measure(route: string, connectionCount: number, seconds: number): Promise<Figures> {
    const cpuBefore = processCpuSeconds(pid);
    const result: LoadResult = await loader.run({
      url: new URL(route, base).href,
      connections: connectionCount,
      durationSeconds: seconds,
      headers: {},
      title: route,
    });
    const cpu = processCpuSeconds(pid) - cpuBefore;
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // the answers in flight drain
    return {
      connections: connectionCount,
      requestsPerSecond: round(result.requests.average, 1),
      p50: result.exactLatency.p50,
      p99: result.exactLatency.p99,
      max: result.exactLatency.max,
      workerdCpuMsPerRequest: round((cpu * 1000) / Math.max(1, result.requests.total), 3),
      errors: result.errors,
      non2xx: result.non2xx,
    };
  }

  console.log(`round trip: workerd via Miniflare on ${base}, libSQL server on ${server.url} (in this process)`);
  const results: { name: string; path: string; does: string; loaded: Figures; single: Figures }[] = [];
  for (const worker of workers) {
    await measure(worker.path, connections, 2); // warm-up
    const loaded = await measure(worker.path, connections, duration);
    const single = await measure(worker.path, 1, singleDuration);
    results.push({ ...worker, loaded, single });
    console.log(
      `${worker.name.padEnd(12)} ${connections} conn: ${loaded.requestsPerSecond} req/s, p50 ${loaded.p50} ms, ` +
        `p99 ${loaded.p99} ms; workerd ${loaded.workerdCpuMsPerRequest} ms/req | 1 conn: p50 ${single.p50} ms, ` +
        `p99 ${single.p99} ms; workerd ${single.workerdCpuMsPerRequest} ms/req (${loaded.errors + single.errors} ` +
        `errors, ${loaded.non2xx + single.non2xx} non-2xx)`,
    );
  }
  const cpuOf = (name: string) => results.find((r) => r.name === name)?.loaded.workerdCpuMsPerRequest ?? Number.NaN;
  const roundTripMs = round(cpuOf("query") - cpuOf("static"), 3);
  const roundTrip100kbMs = round(cpuOf("query_100kb") - cpuOf("static"), 3);
  console.log(
    `\none database round trip costs the Worker ${roundTripMs} ms of CPU at 50 connections ` +
      `(${roundTrip100kbMs} ms with a 100 KB answer); the query Worker's p99 at ${connections} connections: ` +
      `${results.find((r) => r.name === "query")?.loaded.p99} ms`,
  );
  writeResults(flags.out, {
    machine: machineInfo(loadAtStart),
    connections,
    durationSeconds: duration,
    singleDurationSeconds: singleDuration,
    workers: results,
    roundTripCpuMs: roundTripMs,
    roundTrip100kbCpuMs: roundTrip100kbMs,
    note:
      "workerd CPU per answer (its process, every thread); the round trip = query − static. No client " +
      "library, no token, no rate limit: the least a route that reads the database pays.",
  });
  return 0;
}

runAndExit(main);
