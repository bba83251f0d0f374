// The batch benchmark's local stack: free loopback ports, `wrangler dev` started as
// scripts/dev.ts starts it (same flags, secrets through the environment), its output kept in a
// log file, and every child stopped by process group on exit, error or Ctrl-C.
import { spawn, type ChildProcess } from "node:child_process";
import {
  cpSync,
  createWriteStream,
  existsSync,
  readdirSync,
  readFileSync,
  writeFileSync,
  type WriteStream,
} from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { projectRoot } from "../local-config.ts";

/** A free loopback port: listen on port 0, read it, close. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("could not find a free port"))));
    });
  });
}

export interface ManagedChild {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** Lines of output seen so far matching `pattern`. */
  count(pattern: RegExp): number;
}

const children: ManagedChild[] = [];
let cleanupHooks: (() => Promise<void> | void)[] = [];
let stopping = false;

/** Runs `hook` when the stack stops (after the children are gone). */
export function onStop(hook: () => Promise<void> | void): void {
  cleanupHooks.push(hook);
}

/**
 * Spawns `node args…` in its own process group (stopping the group stops what it spawned:
 * wrangler's workerd), output appended to `logFile`.
 */
export function startChild(name: string, args: string[], env: NodeJS.ProcessEnv, logFile: string): ManagedChild {
  const child = spawn(process.execPath, args, {
    cwd: projectRoot,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log: WriteStream = createWriteStream(logFile, { flags: "a" });
  const counters = new Map<RegExp, number>();
  let pending = "";
  const watch = (chunk: Buffer) => {
    log.write(chunk);
    pending += chunk.toString("utf8");
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) for (const [pattern, n] of counters) if (pattern.test(line)) counters.set(pattern, n + 1);
  };
  child.stdout?.on("data", watch);
  child.stderr?.on("data", watch);
  child.once("exit", () => log.end());
  const managed: ManagedChild = {
    name,
    child,
    logFile,
    count(pattern) {
      const seen = counters.get(pattern);
      if (seen !== undefined) return seen;
      counters.set(pattern, 0);
      return 0;
    },
  };
  children.push(managed);
  return managed;
}

/** The last `lines` lines of a log file. */
export function tail(file: string, lines = 60): string {
  if (!existsSync(file)) return `(no log at ${file})`;
  const text = readFileSync(file, "utf8").trimEnd();
  return text.split("\n").slice(-lines).join("\n");
}

/** Stops every child (SIGTERM to its group, SIGKILL after 5 s), then the hooks. */
export async function stopAll(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.all(
    children.map(
      ({ child }) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return resolve();
          child.once("exit", () => resolve());
          try {
            process.kill(-child.pid, "SIGTERM");
          } catch {
            return resolve();
          }
          setTimeout(() => {
            if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
              try {
                process.kill(-child.pid, "SIGKILL");
              } catch {
                // already gone
              }
            }
          }, 5_000).unref();
        }),
    ),
  );
  const hooks = cleanupHooks;
  cleanupHooks = [];
  for (const hook of hooks.reverse()) {
    try {
      await hook();
    } catch (error) {
      console.error(`[bench] cleanup: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

export interface WranglerOptions {
  port: number;
  inspectorPort: number;
  persistTo: string;
  logFile: string;
  /** Worker vars (`--var KEY:VALUE`), overriding wrangler.toml's. */
  vars: Record<string, string>;
  /** Secrets, passed through the environment as scripts/dev.ts does. */
  secrets: Record<string, string>;
  /** The wrangler config; default the project's. */
  config?: string;
  /** Serve the config's `main` as it is (a pre-built bundle): --no-bundle. */
  noBundle?: boolean;
}

export function startWrangler(options: WranglerOptions): ManagedChild {
  if (options.config === undefined && existsSync(path.join(projectRoot, ".dev.vars"))) {
    throw new Error(
      ".dev.vars exists and would override the benchmark's database settings; move it away while benchmarking",
    );
  }
  const args = [
    "node_modules/wrangler/bin/wrangler.js",
    "dev",
    "--config",
    options.config ?? path.join(projectRoot, "wrangler.toml"),
    ...(options.noBundle ? ["--no-bundle"] : []),
    "--ip",
    "127.0.0.1",
    "--port",
    String(options.port),
    "--inspector-port",
    String(options.inspectorPort),
    "--test-scheduled",
    "--persist-to",
    options.persistTo,
    "--show-interactive-dev-session=false",
    // wrangler.toml describes production; the benchmarks sign HS256 development tokens (a
    // caller's own ENVIRONMENT in `vars` comes later and wins).
    "--var",
    "ENVIRONMENT:development",
    ...Object.entries(options.vars).flatMap(([key, value]) => ["--var", `${key}:${value}`]),
  ];
  return startChild(
    "wrangler",
    args,
    { ...process.env, ...options.secrets, WRANGLER_SEND_METRICS: "false" },
    options.logFile,
  );
}

/** Polls the health endpoint until it answers 200, the child exits, or the time is up. */
export async function waitForHealthy(url: string, child: ManagedChild, timeoutMs: number): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    if (child.child.exitCode !== null || child.child.signalCode !== null) {
      throw new Error(
        `${child.name} exited (${child.child.signalCode ?? `code ${child.child.exitCode}`}) ` +
          `before the Worker was healthy`,
      );
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      const body: unknown = await response.json();
      if (response.ok) return body;
      last = `HTTP ${response.status} ${JSON.stringify(body)}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`the Worker did not report healthy within ${timeoutMs / 1000} s (last: ${last})`);
}

export interface GroupProcess {
  pid: number;
  /** The command name (comm: workerd, node…). */
  comm: string;
  /** /proc/<pid>/stat's fields after the command: state, ppid, pgrp, … utime (11), stime (12). */
  fields: string[];
}

/** Every process, from /proc/<pid>/stat. Null where /proc is not available. */
export function allProcesses(): GroupProcess[] | null {
  if (!existsSync("/proc/self/stat")) return null;
  const found: GroupProcess[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // pid (comm) state ppid pgrp … utime(14) stime(15): fields after the last ")".
    const close = stat.lastIndexOf(")");
    const comm = stat.slice(stat.indexOf("(") + 1, close);
    found.push({ pid: Number(entry), comm, fields: stat.slice(close + 2).split(" ") });
  }
  return found;
}

/** The processes in a process group. Null where /proc is not available. */
export function groupProcesses(pgid: number): GroupProcess[] | null {
  return allProcesses()?.filter((process) => Number(process.fields[2]) === pgid) ?? null;
}

/**
 * CPU seconds (user + system) used so far by every process in a process group, by command
 * name (wrangler's node, workerd), from /proc. Null where /proc is not available.
 */
export function groupCpuSeconds(pgid: number): Record<string, number> | null {
  const processes = groupProcesses(pgid);
  if (processes === null) return null;
  const ticksPerSecond = 100; // USER_HZ: 100 on every Linux architecture Node supports
  const usage: Record<string, number> = {};
  for (const { comm, fields } of processes) {
    const seconds = (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
    usage[comm] = Math.round(((usage[comm] ?? 0) + seconds) * 100) / 100;
  }
  return usage;
}

/**
 * A snapshot of the Worker for the benchmark, so that edits made meanwhile (sources, client
 * assets rebuilt by a test run, wrangler.toml) neither reload wrangler dev — a reload drops the
 * queued messages — nor change what is measured: the Worker bundled as `wrangler deploy` bundles
 * it, the client assets copied, and the project's wrangler.toml copied next to them with `main`
 * and the assets directory pointing at the copies. Returns the config's path.
 */
export async function snapshotWorker(dir: string, logFile: string): Promise<string> {
  const bundleDir = path.join(dir, "bundle");
  const builder = startChild(
    "wrangler-build",
    ["node_modules/wrangler/bin/wrangler.js", "deploy", "--dry-run", "--outdir", bundleDir],
    { ...process.env, WRANGLER_SEND_METRICS: "false" },
    logFile,
  );
  const code = await new Promise<number | null>((resolve) =>
    builder.child.once("exit", (exitCode) => resolve(exitCode)),
  );
  if (code !== 0) throw new Error(`bundling the Worker failed (code ${code}):\n${tail(logFile, 30)}`);
  const assets = path.join(dir, "assets");
  cpSync(path.join(projectRoot, "dist/client"), assets, { recursive: true });
  let toml = readFileSync(path.join(projectRoot, "wrangler.toml"), "utf8");
  const replace = (pattern: RegExp, line: string, what: string) => {
    if (!pattern.test(toml)) throw new Error(`wrangler.toml has no ${what} line to point at the snapshot`);
    toml = toml.replace(pattern, line);
  };
  replace(/^main\s*=.*$/m, `main = ${JSON.stringify(path.join(bundleDir, "index.js"))}`, "main");
  replace(/^directory\s*=.*$/m, `directory = ${JSON.stringify(assets)}`, "[assets] directory");
  const config = path.join(dir, "wrangler.toml");
  writeFileSync(config, toml);
  return config;
}
