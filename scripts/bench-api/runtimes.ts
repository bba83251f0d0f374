// The two ways bench:api runs the Worker, behind one interface: `direct` (its bundle on workerd
// through Miniflare's API, ./direct.ts) and `wrangler` (`wrangler dev --no-bundle` on the same
// bundle, scripts/bench-batch/stack.ts). Both read the same snapshot config, so they have the
// same bindings, vars and secrets, and query the same libSQL server.
//
// What "workerd CPU" counts differs, and each runtime says it: direct, the one workerd process
// Miniflare starts (the Worker's isolate, its I/O, Miniflare's entry worker in front of it);
// wrangler, both workerd processes of wrangler dev's process group (its proxy's and the
// Worker's), with wrangler's Node process apart.
import type { WatchedWorker } from "../bench-batch/common.ts";
import { startHealthyWorker } from "../bench-batch/common.ts";
import { groupCpuSeconds, tail, type ManagedChild } from "../bench-batch/stack.ts";
import { processCpuSeconds, startDirectWorker } from "./direct.ts";

export const runtimeNames = ["direct", "wrangler"] as const;
export type RuntimeName = (typeof runtimeNames)[number];

export interface RuntimeCpu {
  /** The runtime's workerd process(es), user + system seconds so far. */
  workerd: number;
  /** wrangler's Node process (wrangler dev only). */
  wranglerNode: number | null;
}

export interface Runtime {
  name: RuntimeName;
  base: string;
  /** What runBatch watches: name, log file, whether it stopped. */
  watched: ManagedChild | WatchedWorker;
  logFile: string;
  /** What `cpu().workerd` counts, for the JSON. */
  cpuCounts: string;
  /** CPU seconds so far; null where /proc is not available. */
  cpu(): RuntimeCpu | null;
  /** The V8 inspector of the Worker's isolate (direct only). */
  inspectorPort: number | null;
  stop(): Promise<void>;
}

export interface RuntimeOptions {
  config: string;
  port: number;
  inspectorPort: number;
  persistTo: string;
  logFile: string;
  vars: Record<string, string>;
  secrets: Record<string, string>;
}

/** Polls `url` until it answers 200 (true), `stopped` says the runtime is gone (throws), or 2 min pass (throws). */
async function waitForHealth(url: string, stopped: () => string | null, logFile: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    const reason = stopped();
    if (reason !== null) throw new Error(`the Worker stopped (${reason}) before it was healthy:\n${tail(logFile, 40)}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      const text = await response.text();
      if (response.ok) return;
      last = `HTTP ${response.status} ${text.slice(0, 300)}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the Worker did not report healthy within 120 s (last: ${last}):\n${tail(logFile, 40)}`);
}

export async function startDirectRuntime(options: RuntimeOptions): Promise<Runtime> {
  const worker = await startDirectWorker({
    config: options.config,
    port: options.port,
    inspectorPort: options.inspectorPort,
    persistTo: options.persistTo,
    logFile: options.logFile,
    vars: options.vars,
    secrets: options.secrets,
  });
  const watched: WatchedWorker = {
    name: "workerd (direct)",
    logFile: options.logFile,
    stopped: () => (worker.alive() ? null : "workerd is gone"),
  };
  try {
    await waitForHealth(`${worker.base}/api/v1/health`, watched.stopped, options.logFile);
  } catch (error) {
    await worker.dispose();
    throw error;
  }
  return {
    name: "direct",
    base: worker.base,
    watched,
    logFile: options.logFile,
    cpuCounts:
      "the one workerd process Miniflare started (the Worker's isolate, its I/O threads, Miniflare's entry worker)",
    cpu: () => {
      try {
        return { workerd: processCpuSeconds(worker.pid), wranglerNode: null };
      } catch {
        return null; // no /proc, or workerd is gone
      }
    },
    inspectorPort: options.inspectorPort,
    stop: () => worker.dispose(),
  };
}

/** Stops a child's process group (SIGTERM, SIGKILL after 5 s) and waits for it. */
async function stopGroup(managed: ManagedChild): Promise<void> {
  const { child } = managed;
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const pid = child.pid;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.kill(-pid, "SIGTERM");
  const timer = setTimeout(() => {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  }, 5_000);
  await exited;
  clearTimeout(timer);
}

export async function startWranglerRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { wrangler, base } = await startHealthyWorker({
    port: options.port,
    inspectorPort: options.inspectorPort,
    persistTo: options.persistTo,
    logFile: options.logFile,
    vars: options.vars,
    secrets: options.secrets,
    config: options.config,
    noBundle: true,
  });
  const pid = wrangler.child.pid;
  return {
    name: "wrangler",
    base,
    watched: wrangler,
    logFile: options.logFile,
    cpuCounts:
      "both workerd processes of wrangler dev's process group (its proxy's and the Worker's); wrangler's Node apart",
    cpu: () => {
      const usage = pid === undefined ? null : groupCpuSeconds(pid);
      return usage === null ? null : { workerd: usage["workerd"] ?? 0, wranglerNode: usage["node"] ?? 0 };
    },
    inspectorPort: null,
    stop: () => stopGroup(wrangler),
  };
}
