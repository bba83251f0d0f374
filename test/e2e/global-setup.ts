// The end-to-end suite's stack: `npm start`'s own script (scripts/dev.ts) on free ports over a
// fresh data directory, so the suite runs exactly what a user runs (libSQL server, migrations,
// demo seed, client build, wrangler dev) without touching the developer's .data/. The
// history the tests need is computed through the admin API: every weekday of the five weeks
// before the last one, which a test then runs from the dashboard's Batch page.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import type { TestProject } from "vitest/node";
import { freePort } from "../../scripts/bench-batch/stack.ts";
import { allPermissions, mintDevToken } from "../../scripts/dev-token.ts";
import { demoOrg, demoOwner, lastWeekday } from "../../scripts/seed-demo.ts";
import { projectRoot } from "../../scripts/local-config.ts";
import { addDays } from "../../worker/dates.ts";
import { chromiumPath } from "./browser.ts";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
    jwtSecret: string;
    /** The demo's last trading date: computed by no batch run yet when the suite starts. */
    pendingDate: string;
    /** The dates the setup computed, ascending. */
    computedFrom: string;
    computedTo: string;
  }
}

let stack: ChildProcess | null = null;
let dataDir: string | null = null;

async function waitForUp(child: ChildProcess, timeoutMs: number): Promise<void> {
  const lines: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the stack was not up within ${timeoutMs / 1000} s:\n${lines.slice(-30).join("\n")}`)), timeoutMs);
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on("line", (line) => {
        lines.push(line);
        if (process.env["E2E_VERBOSE"]) console.log(`[e2e stack] ${line}`);
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

async function api(baseUrl: string, token: string, route: string, init: RequestInit = {}): Promise<unknown> {
  const response = await fetch(`${baseUrl}/api/v1${route}`, { ...init, headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...init.headers } });
  const body: unknown = await response.json();
  if (!response.ok) throw new Error(`${init.method ?? "GET"} ${route}: HTTP ${response.status} ${JSON.stringify(body)}`);
  return body;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`Chromium is not installed at ${chromiumPath}: apt-get install -y chromium (.ci/run does this)`);
  }
  dataDir = mkdtempSync(path.join(tmpdir(), "factor-e2e-"));
  const [port, libsqlPort, inspectorPort] = [await freePort(), await freePort(), await freePort()];
  stack = spawn(process.execPath, ["scripts/dev.ts"], {
    cwd: projectRoot,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), LIBSQL_PORT: String(libsqlPort), INSPECTOR_PORT: String(inspectorPort), DEMO_BACKFILL_DAYS: "0", WRANGLER_SEND_METRICS: "false" },
  });
  await waitForUp(stack, 180_000);
  const baseUrl = `http://127.0.0.1:${port}`;
  const secrets = JSON.parse(readFileSync(path.join(dataDir, "local-secrets.json"), "utf8")) as { jwtSecret: string };
  const token = await mintDevToken({ secret: secrets.jwtSecret, sub: demoOwner, org: demoOrg, permissions: allPermissions });

  const pendingDate = lastWeekday(new Date());
  const computedTo = lastWeekday(new Date(`${addDays(pendingDate, -1)}T12:00:00Z`));
  const computedFrom = addDays(computedTo, -36);
  const started = (await api(baseUrl, token, "/admin/batch/backfill", { method: "POST", body: JSON.stringify({ from: computedFrom, to: computedTo }) })) as { run_id: string };
  const runId = started.run_id;
  const deadline = Date.now() + 180_000;
  for (;;) {
    const detail = (await api(baseUrl, token, `/admin/batch/runs/${runId}`)) as { run: { status: string } };
    if (detail.run.status === "completed") break;
    if (["failed", "partial"].includes(detail.run.status)) throw new Error(`the setup's backfill ended ${detail.run.status}`);
    if (Date.now() > deadline) throw new Error("the setup's backfill did not finish within 180 s");
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }

  project.provide("baseUrl", baseUrl);
  project.provide("jwtSecret", secrets.jwtSecret);
  project.provide("pendingDate", pendingDate);
  project.provide("computedFrom", computedFrom);
  project.provide("computedTo", computedTo);

  return async () => {
    const child = stack;
    if (child?.pid !== undefined && child.exitCode === null) {
      await new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        // scripts/dev.ts stops its children on SIGTERM.
        process.kill(-child.pid!, "SIGTERM");
        setTimeout(() => {
          if (child.exitCode === null) process.kill(-child.pid!, "SIGKILL");
          resolve();
        }, 10_000).unref();
      });
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
}
