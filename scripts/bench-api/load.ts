// The API benchmark's load generator: autocannon in a child process of scripts/bench-api.ts,
// forked with an IPC channel, so that generating the load does not run on the event loop of
// the benchmark's process, which hosts the libSQL server the Worker queries. The parent sends
// one `LoadRequest` at a time and gets one `LoadReply` back; the child exits when the channel
// closes (the parent exited or disconnected).
//
// Latency: autocannon's own histogram keeps whole milliseconds, too coarse for a Worker that
// answers in 1–3 ms on one connection, so every answer's time (process.hrtime, fractional ms,
// whatever its status) is also collected here and its percentiles computed exactly.
import autocannon from "autocannon";
import type { EventEmitter } from "node:events";

export interface LoadRequest {
  url: string;
  connections: number;
  durationSeconds: number;
  headers: Record<string, string>;
  title: string;
  /** Default GET; a POST sends `body` (JSON text) with every request. */
  method?: "GET" | "POST";
  body?: string;
}

type Histogram = autocannon.Histogram;

/** Percentiles of every answer's latency, in ms (two decimals): nearest rank. */
export interface ExactLatency {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface LoadResult {
  title: string;
  url: string;
  connections: number;
  /** Seconds autocannon ran. */
  duration: number;
  /** Responses per second (every status), sampled each second: mean, stddev, min, max, percentiles. */
  requests: Histogram & { sent: number };
  /** autocannon's latency histogram (every status), whole milliseconds. */
  latency: Histogram & { totalCount?: number };
  /** The same answers' latency in fractional milliseconds. */
  exactLatency: ExactLatency;
  throughput: Histogram;
  /** Connection errors, timeouts included. */
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  /** CPU seconds (user + system) this process used while autocannon ran. */
  generatorCpuSeconds: number;
}

export type LoadReply = { ok: true; result: LoadResult } | { ok: false; error: string };

const twoDecimals = (value: number) => Math.round(value * 100) / 100;

export function exactLatency(durations: readonly number[]): ExactLatency {
  const sorted = Float64Array.from(durations).sort();
  const at = (index: number) => twoDecimals(sorted[index] ?? 0);
  const rank = (percentile: number) =>
    sorted.length === 0 ? 0 : at(Math.min(sorted.length - 1, Math.ceil((percentile / 100) * sorted.length) - 1));
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    count: sorted.length,
    mean: sorted.length === 0 ? 0 : twoDecimals(sum / sorted.length),
    p50: rank(50),
    p90: rank(90),
    p99: rank(99),
    max: at(sorted.length - 1),
  };
}

function run(request: LoadRequest): Promise<LoadResult> {
  const cpuBefore = process.cpuUsage();
  const durations: number[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: request.url,
        connections: request.connections,
        duration: request.durationSeconds,
        headers: request.headers,
        title: request.title,
        ...(request.method === undefined ? {} : { method: request.method }),
        ...(request.body === undefined ? {} : { body: request.body }),
      },
      (error, result) => {
        if (error) return reject(error);
        const cpu = process.cpuUsage(cpuBefore);
        const statusCodes: Record<string, number> = {};
        for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stats.count ?? 0;
        resolve({
          title: request.title,
          url: request.url,
          connections: result.connections,
          duration: result.duration,
          requests: result.requests,
          latency: result.latency,
          exactLatency: exactLatency(durations),
          throughput: result.throughput,
          errors: result.errors,
          timeouts: result.timeouts,
          non2xx: result.non2xx,
          statusCodes,
          generatorCpuSeconds: twoDecimals((cpu.user + cpu.system) / 1e6),
        });
      },
    );
    // autocannon emits (client, statusCode, bytes, responseTime in ms); its typings leave out the client.
    (instance as EventEmitter).on("response", (_client: unknown, _status: number, _bytes: number, ms: number) => {
      durations.push(ms);
    });
  });
}

if (import.meta.main) {
  if (!process.send)
    throw new Error("scripts/bench-api/load.ts runs as a child of scripts/bench-api.ts (it needs an IPC channel)");
  const send = process.send.bind(process);
  process.on("disconnect", () => process.exit(0));
  process.on("message", (message: LoadRequest) => {
    run(message).then(
      (result) => send({ ok: true, result } satisfies LoadReply),
      (error: unknown) =>
        send({
          ok: false,
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        } satisfies LoadReply),
    );
  });
}
