// `npm start` stops everything it started, however it is told to: SIGINT to npm's own pid (what
// `kill -INT <pid of npm start>` does), SIGTERM to dev.ts's pid, and the death of the process that
// ran `npm start` (killed with -9, so nobody forwards anything). Each case starts the real command
// on free ports over a temporary DATA_DIR, notes every process of the stack while it runs (npm, its
// shell, dev.ts, the libSQL server, wrangler and its workerd processes), sends the one signal, and
// checks that none of them is left, that the ports are closed and that the stack's records
// (DATA_DIR/stack.json, .data/stacks/<pid>.json) are gone. The first-start case also checks that
// the sign-in link is printed again after the demo's first batch run and signs in.
// Clean starts (NO_DEMO=1) keep the cases fast; the first-start case computes a day or two only.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/bench-batch/stack.ts";
import { isPortOpen, projectRoot, stackRegistryDir } from "../../scripts/local-config.ts";

const verbose = Boolean(process.env["E2E_VERBOSE"]);
const upLine = "Factor exposure service is up";

interface ProcessInfo {
  ppid: number;
  /** Process group: wrangler's workerd processes are in wrangler's. */
  pgid: number;
  state: string;
  argv: string[];
}

/** pid → parent, state and arguments, from /proc. */
function processTable(): Map<number, ProcessInfo> {
  const table = new Map<number, ProcessInfo>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (comm) state ppid …": comm may hold spaces and parentheses.
      const [state, ppid, pgid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").filter(Boolean);
      table.set(Number(entry), { ppid: Number(ppid), pgid: Number(pgid), state: state ?? "?", argv });
    } catch {
      // The process ended while the table was read.
    }
  }
  return table;
}

/** `root` and everything below it now, with their arguments, and their process groups. */
function treeOf(root: number): { processes: Map<number, string>; groups: Set<number> } {
  const table = processTable();
  const processes = new Map<number, string>();
  const groups = new Set<number>();
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.pop() as number;
    const info = table.get(pid);
    processes.set(pid, info?.argv.join(" ") ?? "?");
    if (info) groups.add(info.pgid);
    for (const [child, childInfo] of table) if (childInfo.ppid === pid && !processes.has(child)) queue.push(child);
  }
  // The stack runs in sessions of its own; this guards the cleanup from ever killing the test.
  const ownGroup = table.get(process.pid)?.pgid;
  if (ownGroup !== undefined) groups.delete(ownGroup);
  return { processes, groups };
}

/**
 * What is left of the stack (zombies have ended): the processes noted while it ran, and any
 * process in their process groups, which catches one started after the notes were taken.
 */
function stillRunning(stack: Pick<Stack, "processes" | "groups">): Map<number, string> {
  const left = new Map<number, string>();
  for (const [pid, info] of processTable())
    if (info.state !== "Z" && (stack.processes.has(pid) || stack.groups.has(info.pgid)))
      left.set(pid, info.argv.join(" "));
  return left;
}

interface Stack {
  /** The process this test spawned: npm, or the shell that runs npm. */
  root: ChildProcess;
  output: string[];
  dataDir: string;
  ports: { worker: number; libsql: number; inspector: number };
  /** Every process of the stack, noted while it was up. */
  processes: Map<number, string>;
  /** Their process groups (never the test's own). */
  groups: Set<number>;
  devPid: number;
  /** Checked stopped: nothing of it is left to clean up (its numbers may be reused from now on). */
  stopped: boolean;
}

const started: Stack[] = [];

/** Starts `command args` in the project folder, detached, and waits for the banner. */
async function startStack(command: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Stack> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "factor-signals-"));
  const ports = { worker: await freePort(), libsql: await freePort(), inspector: await freePort() };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: String(ports.worker),
    LIBSQL_PORT: String(ports.libsql),
    INSPECTOR_PORT: String(ports.inspector),
    NO_DEMO: "1",
    WRANGLER_SEND_METRICS: "false",
    ...extraEnv,
  };
  for (const name of ["MARKET_DATA_PROVIDER", "API_TOKEN", "TURSO_DATABASE_URL", "TURSO_AUTH_TOKEN"]) delete env[name];
  // Its own session, as from a terminal of its own: the signals below reach only whom they name.
  const root = spawn(command, args, { cwd: projectRoot, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const stack: Stack = {
    root,
    output: [],
    dataDir,
    ports,
    processes: new Map(),
    groups: new Set(),
    devPid: 0,
    stopped: false,
  };
  started.push(stack);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no banner within 120 s:\n${stack.output.slice(-30).join("\n")}`)),
      120_000,
    );
    for (const stream of [root.stdout, root.stderr]) {
      createInterface({ input: stream }).on("line", (line) => {
        stack.output.push(line);
        if (verbose) console.log(`[signals] ${line}`);
        if (line.includes(upLine)) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
    root.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`exited (${signal ?? code}) before it was up:\n${stack.output.slice(-30).join("\n")}`));
    });
  });
  if (root.pid === undefined) throw new Error("the stack has no pid");
  ({ processes: stack.processes, groups: stack.groups } = treeOf(root.pid));
  // node scripts/dev.ts itself, not npm's `sh -c node scripts/dev.ts` when there is one.
  const dev = [...stack.processes].find(([, command]) => /(^|\/)node scripts\/dev\.ts\b/.test(command));
  if (!dev) throw new Error(`no dev.ts among the stack's processes:\n${[...stack.processes.values()].join("\n")}`);
  stack.devPid = dev[0];
  // The test proves something only if it saw what must stop: the server, wrangler and workerd.
  const commands = [...stack.processes.values()].join("\n");
  expect(commands).toMatch(/scripts\/libsql-server\.ts/);
  expect(commands).toMatch(/wrangler/);
  expect(commands).toMatch(/workerd serve/);
  expect(existsSync(path.join(dataDir, "stack.json"))).toBe(true);
  expect(existsSync(path.join(stackRegistryDir, `${stack.devPid}.json`))).toBe(true);
  return stack;
}

/** Waits (up to 30 s) for every process of the stack to end, then checks ports and records. */
async function expectAllStopped(stack: Stack): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (stillRunning(stack).size > 0 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 200));
  expect(Object.fromEntries(stillRunning(stack)), stack.output.slice(-15).join("\n")).toEqual({});
  for (const [name, port] of Object.entries(stack.ports)) expect(await isPortOpen(port), `${name} ${port}`).toBe(false);
  expect(existsSync(path.join(stack.dataDir, "stack.json"))).toBe(false);
  expect(existsSync(path.join(stackRegistryDir, `${stack.devPid}.json`))).toBe(false);
  // The data stays for the next start.
  expect(existsSync(path.join(stack.dataDir, "factor.db"))).toBe(true);
  stack.stopped = true;
}

afterEach(() => {
  // A failed case must not leave its stack to the next: whatever of it still runs is killed.
  for (const stack of started.filter((candidate) => !candidate.stopped)) {
    for (const pid of stillRunning(stack).keys()) {
      try {
        process.kill(pid, "SIGKILL");
      } catch (error) {
        // Gone since the table was read: what the cleanup wants.
        if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
      }
    }
    stack.stopped = true;
  }
});

afterAll(() => {
  for (const stack of started) rmSync(stack.dataDir, { recursive: true, force: true });
});

describe.runIf(process.platform === "linux")("npm start stops everything it started", () => {
  it("on SIGINT to npm's own pid (kill -INT <pid of npm start>)", { timeout: 180_000 }, async () => {
    const stack = await startStack("npm", ["start"]);
    expect(stack.processes.get(stack.root.pid as number)).toMatch(/^npm/);
    process.kill(stack.root.pid as number, "SIGINT");
    await expectAllStopped(stack);
    expect(stack.output.join("\n")).toContain("SIGINT received; stopping");
  });

  it("on SIGTERM to dev.ts's pid, after printing the sign-in link again when the first start's run ends", {
    timeout: 330_000,
  }, async () => {
    // The demo with one day or two of first-start history (the last weekday back to the day before it):
    // a run whose log comes first, short enough for a test.
    const stack = await startStack("npm", ["start"], { NO_DEMO: "0", DEMO_BACKFILL_DAYS: "1" });
    const deadline = Date.now() + 200_000;
    const historyLine = () => stack.output.findIndex((line) => line.startsWith("  First start's history: "));
    while (historyLine() < 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 500));
    const history = historyLine();
    expect(history, stack.output.slice(-20).join("\n")).toBeGreaterThan(0);
    expect(stack.output[history]).toMatch(/run \S+ completed/);
    // The link comes after the run's whole log, and signs in as the demo analyst.
    const runFinished = stack.output.findLastIndex((line) => line.includes('"event":"batch.run_finished"'));
    expect(runFinished).toBeGreaterThan(0);
    expect(runFinished).toBeLessThan(history);
    const link = stack.output
      .slice(history)
      .map((line) => /^\s*Dashboard\s+(http:\/\/\S+)#token=(\S+)$/.exec(line))
      .find((match) => match !== null);
    expect(link?.[1]).toBe(`http://127.0.0.1:${stack.ports.worker}/`);
    const response = await fetch(`http://127.0.0.1:${stack.ports.worker}/api/v1/portfolios`, {
      headers: { authorization: `Bearer ${link?.[2]}` },
    });
    expect(response.status).toBe(200);
    expect(JSON.stringify(await response.json())).toContain("demo-core-equity");

    process.kill(stack.devPid, "SIGTERM");
    await expectAllStopped(stack);
    expect(stack.output.join("\n")).toContain("SIGTERM received; stopping");
  });

  it("when the process that ran `npm start` is killed with -9", { timeout: 180_000 }, async () => {
    // `; exit` keeps the shell from handing its process to npm: npm's parent is this shell.
    const stack = await startStack("sh", ["-c", "npm start; exit $?"]);
    process.kill(stack.root.pid as number, "SIGKILL");
    await expectAllStopped(stack);
    expect(stack.output.join("\n")).toMatch(/the process that ran `npm start` \(pid \d+\) is gone; stopping/);
  });
});
