// A throwaway copy of what `npm start` runs: scripts/dev.ts itself on free loopback ports over a
// temporary data directory (the libSQL server, migrations, the demo seed, the client build,
// wrangler dev), optionally with a batch backfill computed through the admin API. The
// dashboard's end-to-end tests and `npm run bench:client` use it; the developer's data and ports
// are never touched (while it runs, dev.ts leaves a pointer to it in .data/stacks/, as every stack
// does, so `npm run batch` and the others with no settings see two stacks and ask which). `stop()`
// ends every process (dev.ts stops its children on SIGTERM, and on its own when the process that
// started it dies) and removes the directory.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { freePort } from "./bench-batch/stack.ts";
import { allPermissions, mintDevToken } from "./dev-token.ts";
import { projectRoot } from "./local-config.ts";
import { demoOrg, demoOwner } from "./seed-demo.ts";

export interface DemoStack {
  baseUrl: string;
  jwtSecret: string;
  /** A token of the demo analyst (every permission). */
  demoToken: string;
  stop(): Promise<void>;
}

export interface DemoStackOptions {
  /** Weekdays to compute before the tests or benchmark start (both ends included), or none. */
  backfill?: { from: string; to: string } | null;
  /** Print the stack's output (E2E_VERBOSE=1 does the same). */
  verbose?: boolean;
  startTimeoutMs?: number;
  backfillTimeoutMs?: number;
}

function waitForUp(child: ChildProcess, timeoutMs: number, verbose: boolean): Promise<void> {
  const lines: string[] = [];
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the stack was not up within ${timeoutMs / 1000} s:\n${lines.slice(-30).join("\n")}`)),
      timeoutMs,
    );
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on("line", (line) => {
        lines.push(line);
        if (verbose) console.log(`[demo stack] ${line}`);
        if (line.includes("Factor exposure service is up")) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the stack exited (code ${code}) before it was up:\n${lines.slice(-30).join("\n")}`));
    });
  });
}

async function adminJson(baseUrl: string, token: string, route: string, init: RequestInit = {}): Promise<unknown> {
  const response = await fetch(`${baseUrl}/api/v1${route}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
  });
  const body: unknown = await response.json();
  if (!response.ok)
    throw new Error(`${init.method ?? "GET"} ${route}: HTTP ${response.status} ${JSON.stringify(body)}`);
  return body;
}

async function runBackfill(
  baseUrl: string,
  token: string,
  range: { from: string; to: string },
  timeoutMs: number,
): Promise<void> {
  const started = (await adminJson(baseUrl, token, "/admin/batch/backfill", {
    method: "POST",
    body: JSON.stringify(range),
  })) as { run_id: string };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const detail = (await adminJson(baseUrl, token, `/admin/batch/runs/${started.run_id}`)) as {
      run: { status: string };
    };
    if (detail.run.status === "completed") return;
    if (detail.run.status === "failed" || detail.run.status === "partial")
      throw new Error(`the backfill ${range.from}..${range.to} ended ${detail.run.status}`);
    if (Date.now() > deadline)
      throw new Error(`the backfill ${range.from}..${range.to} did not finish within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

export async function startDemoStack(options: DemoStackOptions = {}): Promise<DemoStack> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "factor-demo-"));
  const [port, libsqlPort, inspectorPort] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(process.execPath, ["scripts/dev.ts"], {
    cwd: projectRoot,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: String(port),
      LIBSQL_PORT: String(libsqlPort),
      INSPECTOR_PORT: String(inspectorPort),
      // The caller decides what history to compute (dev.ts would start its own first backfill).
      DEMO_BACKFILL_DAYS: "0",
      WRANGLER_SEND_METRICS: "false",
    },
  });
  const groupId = child.pid;
  const stop = async (): Promise<void> => {
    if (groupId !== undefined && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          if (child.exitCode === null) process.kill(-groupId, "SIGKILL");
          resolve();
        }, 10_000);
        timer.unref();
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        process.kill(-groupId, "SIGTERM");
      });
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitForUp(child, options.startTimeoutMs ?? 180_000, options.verbose ?? Boolean(process.env["E2E_VERBOSE"]));
    const baseUrl = `http://127.0.0.1:${port}`;
    const secrets = JSON.parse(readFileSync(path.join(dataDir, "local-secrets.json"), "utf8")) as { jwtSecret: string };
    const demoToken = await mintDevToken({
      secret: secrets.jwtSecret,
      sub: demoOwner,
      org: demoOrg,
      permissions: allPermissions,
    });
    if (options.backfill) await runBackfill(baseUrl, demoToken, options.backfill, options.backfillTimeoutMs ?? 300_000);
    return { baseUrl, jwtSecret: secrets.jwtSecret, demoToken, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
