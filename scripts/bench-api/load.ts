// The API benchmark's load generator: autocannon in a child process of scripts/bench-api.ts,
// forked with an IPC channel, so that generating the load does not run on the event loop of
// the benchmark's process, which hosts the libSQL server the Worker queries. The parent sends
// one `LoadRequest` at a time and gets one `LoadReply` back; the child exits when the channel
// closes (the parent exited or disconnected).
import autocannon from "autocannon";

export interface LoadRequest {
  url: string;
  connections: number;
  durationSeconds: number;
  headers: Record<string, string>;
  title: string;
}

type Histogram = autocannon.Histogram;

export interface LoadResult {
  title: string;
  url: string;
  connections: number;
  /** Seconds autocannon ran. */
  duration: number;
  /** Responses per second (every status), sampled each second: mean, stddev, min, max, percentiles. */
  requests: Histogram & { sent: number };
  /** Latency in ms of the 2xx responses (autocannon records only those): whole milliseconds. */
  latency: Histogram & { totalCount?: number };
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

async function run(request: LoadRequest): Promise<LoadResult> {
  const cpuBefore = process.cpuUsage();
  const result = await autocannon({
    url: request.url,
    connections: request.connections,
    duration: request.durationSeconds,
    headers: request.headers,
    title: request.title,
  });
  const cpu = process.cpuUsage(cpuBefore);
  const statusCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stats.count ?? 0;
  return {
    title: request.title,
    url: request.url,
    connections: result.connections,
    duration: result.duration,
    requests: result.requests,
    latency: result.latency,
    throughput: result.throughput,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statusCodes,
    generatorCpuSeconds: Math.round(((cpu.user + cpu.system) / 1e6) * 100) / 100,
  };
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
