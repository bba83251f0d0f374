// The API benchmark's second runtime: the Worker's bundle on workerd through Miniflare's API,
// without wrangler dev and its proxy (a second workerd that passes every request through a
// Durable Object, and a Node process that logs each one). The bindings are wrangler's own
// reading of the same wrangler.toml (`unstable_getMiniflareWorkerOptions`: vars, the LiveHub
// Durable Object, the queues and their consumers, the rate limit, the static assets), with
// the bench's vars and secrets over them, as `wrangler dev --var` and the environment give
// them. Miniflare's per-request log line is off (`logRequests: false`): production has no such
// log either. workerd's output goes to a log file.
//
// Miniflare starts one workerd process, a child of this process; its CPU time (utime + stime
// from /proc/<pid>/stat, every thread of it: the isolate, its I/O and the runtime's own work,
// Miniflare's small entry and loopback workers included) is what `workerdCpuSeconds` reads.
import { createWriteStream, readFileSync } from "node:fs";
import path from "node:path";
import { allProcesses } from "../bench-batch/stack.ts";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare, type V4MiniflareOptions } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";

export interface DirectWorkerOptions {
  /** The wrangler config whose bindings to use (the benchmark's snapshot: `main` is the bundle). */
  config: string;
  port: number;
  /** The V8 inspector for the Worker's isolate (CPU profiles); none when undefined. */
  inspectorPort?: number;
  /** Where Durable Object and queue state go. */
  persistTo: string;
  logFile: string;
  vars: Record<string, string>;
  secrets: Record<string, string>;
}

export interface DirectWorker {
  base: string;
  /** workerd's process id (Miniflare's child). */
  pid: number;
  logFile: string;
  /** Whether workerd is still running. */
  alive(): boolean;
  dispose(): Promise<void>;
}

/** Miniflare's own log lines (startup, errors) into the log file. */
class FileLog extends Log {
  readonly #write: (line: string) => void;
  constructor(write: (line: string) => void) {
    super(LogLevel.INFO);
    this.#write = write;
  }
  protected override log(message: string): void {
    this.#write(message);
  }
}

/** The workerd processes whose parent is `parentPid`, from /proc. */
export function workerdChildren(parentPid: number): number[] {
  return (allProcesses() ?? [])
    .filter((process) => process.comm === "workerd" && Number(process.fields[1]) === parentPid)
    .map((process) => process.pid);
}

/** CPU seconds (user + system, all threads) a process has used so far, from /proc/<pid>/stat. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticksPerSecond = 100; // USER_HZ: 100 on every Linux architecture Node supports
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

export async function startDirectWorker(options: DirectWorkerOptions): Promise<DirectWorker> {
  const log = createWriteStream(options.logFile, { flags: "a" });
  const write = (line: string) => log.write(`${line}\n`);
  const before = new Set(workerdChildren(process.pid));
  // The config's `[secrets] required` list is left out: wrangler would look for the secrets in
  // this process's environment and warn; they are the bench's own, given below.
  const config = unstable_readConfig({ config: options.config });
  const { workerOptions, main } = unstable_getMiniflareWorkerOptions({ ...config, secrets: undefined });
  if (main === undefined) throw new Error(`${options.config} names no main script`);
  // The bundle is one ES module (wrangler deploy --dry-run); its module rules are not needed,
  // and Miniflare 5 cannot convert them.
  const { modulesRules: _modulesRules, ...bindingsAndSettings } = workerOptions;
  // wrangler gives its options in Miniflare 4's shape, which Miniflare 5 converts.
  const miniflareOptions: V4MiniflareOptions = {
    host: "127.0.0.1",
    port: options.port,
    ...(options.inspectorPort === undefined ? {} : { inspectorPort: options.inspectorPort }),
    logRequests: false,
    log: new FileLog(write),
    handleStructuredLogs: (entry) => write(`[${entry.level}] ${entry.message}`),
    resourcePersistencePath: options.persistTo,
    workers: [
      {
        ...bindingsAndSettings,
        name: "factor-exposure",
        scriptPath: main,
        modules: true,
        modulesRoot: path.dirname(main),
        bindings: {
          ...(workerOptions.bindings as Record<string, unknown> | undefined),
          // wrangler.toml describes production; the benchmark signs HS256 development tokens.
          ENVIRONMENT: "development",
          ...options.vars,
          ...options.secrets,
        },
      },
    ],
  };
  const miniflare = new Miniflare(convertV4MiniflareOptions(miniflareOptions));
  const url = await miniflare.ready;
  const started = workerdChildren(process.pid).filter((pid) => !before.has(pid));
  const pid = started[0];
  if (started.length !== 1 || pid === undefined)
    throw new Error(`expected one new workerd child of this process, found ${started.length} (${started.join(", ")})`);
  let disposed = false;
  return {
    base: url.origin,
    pid,
    logFile: options.logFile,
    alive: () => {
      try {
        readFileSync(`/proc/${pid}/stat`);
        return !disposed;
      } catch {
        return false;
      }
    },
    dispose: async () => {
      if (disposed) return;
      disposed = true;
      await miniflare.dispose();
      log.end();
    },
  };
}
