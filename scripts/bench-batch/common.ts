// What the benchmarks (scripts/bench-batch.ts, scripts/bench-api.ts, scripts/bench-live.ts)
// share besides their stack (stack.ts) and data set (seed.ts): number formatting and the
// `[bench  12.3 s]` progress lines, flag checks and the weekday calendar, the stack's secrets,
// the in-process libSQL server with the bench data, the Worker's vars and its start, HTTP
// requests with a bearer token, running the batch through the admin API (bench:api,
// bench:live), the machine's description and the JSON output, and the exit path: everything
// started is stopped on exit, error, Ctrl-C or SIGTERM.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { build } from "vite";
import { isWeekend } from "../../worker/batch/calendar.ts";
import { addDays } from "../../worker/dates.ts";
import { mintDevToken } from "../dev-token.ts";
import { startLibsqlServer, type LibsqlServer } from "../libsql-server/server.ts";
import { projectRoot } from "../local-config.ts";
import { migrateDatabase } from "../migrate.ts";
import { seedBenchData, type BenchMarketSpec, type SeedSummary } from "./seed.ts";
import {
  onStop,
  startWrangler,
  stopAll,
  tail,
  waitForHealthy,
  type ManagedChild,
  type WranglerOptions,
} from "./stack.ts";

export const round = (value: number, digits = 0): number => Math.round(value * 10 ** digits) / 10 ** digits;
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
export const thousands = (n: number) => Math.round(n).toLocaleString("en-US");
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A progress line printer: `[bench  12.3 s] line`, the seconds since `started` (default: now). */
export function benchSay(started = performance.now()): (line: string) => void {
  return (line) => console.log(`[bench ${seconds(performance.now() - started).padStart(7)}] ${line}`);
}

export function loadAverage(): number[] {
  return os.loadavg().map((n) => round(n, 2));
}

/** The machine, for the JSON: cores, CPU, Node, OS, memory, and the load average at the start and now. */
export function machineInfo(loadAverageAtStart: number[]) {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? null,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    loadAverageAtStart,
    loadAverageAtEnd: loadAverage(),
  };
}

// ---------------------------------------------------------------------------------------------

export function wholeNumber(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name} must be a whole number ≥ ${min}, got ${value}`);
  return n;
}

/** `--end-date`'s value, checked: a weekday YYYY-MM-DD. */
export function checkEndDate(endDate: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(endDate) || isWeekend(endDate))
    throw new Error(`--end-date must be a weekday YYYY-MM-DD, got ${endDate}`);
  return endDate;
}

/** The `count` weekdays before `date`, ascending. */
export function weekdaysBefore(date: string, count: number): string[] {
  const dates: string[] = [];
  for (let day = addDays(date, -1); dates.length < count; day = addDays(day, -1))
    if (!isWeekend(day)) dates.unshift(day);
  return dates;
}

/**
 * The market's window in calendar days up to `endDate`: a year of history before the first
 * measured date (the factor windows are 365 calendar days), plus a margin; at least 540
 * (~540 calendar days for the default 120 dates).
 */
export function lookbackDaysFor(endDate: string, firstMeasuredDate: string): number {
  return Math.max(540, Math.ceil((Date.parse(endDate) - Date.parse(firstMeasuredDate)) / 86_400_000) + 372);
}

// ---------------------------------------------------------------------------------------------

/** A fresh temp dir `<tmp>/<prefix>XXXXXX`, removed when the stack stops unless `keep`. */
export function benchTempDir(prefix: string, keep: boolean): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  onStop(() => {
    if (keep) console.log(`[bench] kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/**
 * Fresh secrets for a bench stack: the libSQL server's auth token, the Worker's JWT secret,
 * and a token signed with it for the operator (`bench-operator`, RUN_BATCH) of the admin API.
 */
export async function benchSecrets(): Promise<{ authToken: string; jwtSecret: string; operatorToken: string }> {
  const authToken = randomBytes(24).toString("base64url");
  const jwtSecret = randomBytes(32).toString("base64url");
  const operatorToken = await mintDevToken({
    secret: jwtSecret,
    sub: "bench-operator",
    permissions: ["RUN_BATCH"],
    ttlSeconds: 4 * 3600,
  });
  return { authToken, jwtSecret, operatorToken };
}

/**
 * The database in `dir` (bench.db), served by the libSQL server in this process with
 * `authToken` (closed when the stack stops), migrated (timed), with the bench data set for `spec`.
 */
export async function startBenchDatabase(
  dir: string,
  authToken: string,
  spec: BenchMarketSpec,
  say: (line: string) => void,
): Promise<{ server: LibsqlServer; migrateMs: number; seed: SeedSummary }> {
  const server = await startLibsqlServer({ dbPath: path.join(dir, "bench.db"), port: 0, authToken });
  onStop(() => server.close());
  say(`libSQL server on ${server.url}`);
  const migrateStarted = performance.now();
  const migration = await migrateDatabase(server.url, authToken);
  const migrateMs = performance.now() - migrateStarted;
  say(`migrated (${migration.migrationsApplied} migrations) in ${seconds(migrateMs)}`);
  const seed = await seedBenchData(server.url, authToken, spec, (line) => say(line));
  say(
    `seeded ${seed.symbols} symbols, ${thousands(seed.priceRows)} closes, ${seed.portfolios} ` +
      `portfolios, ${seed.positions} positions (${seed.optionPositions} options) in ${seconds(seed.ms.total)}`,
  );
  return { server, migrateMs, seed };
}

/** Builds the client when dist/client has no index.html: wrangler serves dist/client as static assets. */
export async function buildClientIfMissing(say: (line: string) => void): Promise<void> {
  if (!existsSync(path.join(projectRoot, "dist/client/index.html"))) {
    say("building the client (wrangler serves dist/client as static assets)…");
    await build({ configFile: path.join(projectRoot, "client/vite.config.ts"), logLevel: "warn" });
  }
}

/**
 * The Worker's vars for a bench stack (`--var`, over wrangler.toml's): the synthetic provider
 * serving exactly the seeded market (same end date, equities and window, and the demo market's
 * seed), one catch-up day, and `origin` (the dev server's own) allowed to open live sockets.
 */
export function benchWorkerVars(
  market: { endDate: string; equities: number; lookbackDays: number },
  origin: string,
): Record<string, string> {
  return {
    MARKET_DATA_PROVIDER: "synthetic",
    SYNTHETIC_MARKET_END_DATE: market.endDate,
    SYNTHETIC_MARKET_EQUITIES: String(market.equities),
    SYNTHETIC_MARKET_LOOKBACK_DAYS: String(market.lookbackDays),
    BATCH_CATCH_UP_DAYS: "1",
    LIVE_ALLOWED_ORIGINS: origin,
  };
}

/**
 * Starts wrangler dev (stack.ts) and waits up to 2 min for the Worker's health route to answer
 * 200; when it does not, prints the tail of wrangler's log and throws. Returns wrangler and the
 * dev server's base URL.
 */
export async function startHealthyWorker(options: WranglerOptions): Promise<{ wrangler: ManagedChild; base: string }> {
  const wrangler = startWrangler(options);
  const base = `http://127.0.0.1:${options.port}`;
  try {
    await waitForHealthy(`${base}/api/v1/health`, wrangler, 120_000);
  } catch (error) {
    console.error(`[bench] wrangler log tail:\n${tail(options.logFile, 40)}`);
    throw error;
  }
  return { wrangler, base };
}

// ---------------------------------------------------------------------------------------------

export interface HttpAnswer {
  status: number;
  /** The answer's ETag header, if any. */
  etag: string | null;
  text: string;
  body: unknown;
  ms: number;
}

/**
 * A request with a bearer token (and a JSON body when given), 60 s at most: the answer's text, its JSON when it is
 * JSON, and the time to the whole answer.
 */
export async function request(
  url: string,
  token: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<HttpAnswer> {
  const sent = performance.now();
  const response = await fetch(url, {
    method: init.method ?? "GET",
    headers: {
      authorization: `Bearer ${token}`,
      ...(init.body === undefined ? {} : { "content-type": "application/json" }),
      ...init.headers,
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await response.text();
  const ms = performance.now() - sent;
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, etag: response.headers.get("etag"), text, body, ms };
}

/** The first 2,000 characters of an answer, for an error message. */
export function excerpt(answer: HttpAnswer): string {
  return answer.text.length > 2_000
    ? `${answer.text.slice(0, 2_000)}… (${answer.text.length} characters)`
    : answer.text;
}

export interface BatchFigures {
  runId: string;
  status: string;
  /** Date.now() just before the POST. */
  postedAt: number;
  /** POST to the poll that saw the run end. */
  ms: number;
  datesPublished: number;
  errorText: string | null;
  failedPhases: { date: string; phase: string; message: string }[];
}

interface RunDetail {
  run: { id: string; status: string; dates_published: number; error_text: string | null };
  progress: { chunks: { pending: number; done: number; failed: number } };
  phases: { date: string; name: string; success: boolean; message: string }[];
}

export interface RunBatchOptions {
  say: (line: string) => void;
  /** Give up (throw) when the run has not ended this long after the POST. */
  hardLimitMs: number;
  /** The pause before each poll of the run's detail. */
  pollMs: number;
  /** Print the run's progress this often while it runs; null: never. */
  progressEveryMs: number | null;
}

/**
 * A Worker runtime that is not a child process of stack.ts (bench:api's direct workerd through
 * Miniflare): its name, its log, and why it stopped (null while it runs).
 */
export interface WatchedWorker {
  name: string;
  logFile: string;
  stopped(): string | null;
}

/** Why `worker` stopped (null while it runs): a child's exit code or signal, or the runtime's own answer. */
function stoppedReason(worker: ManagedChild | WatchedWorker): string | null {
  if ("stopped" in worker) return worker.stopped();
  const { exitCode, signalCode } = worker.child;
  if (exitCode === null && signalCode === null) return null;
  return signalCode ?? `code ${exitCode}`;
}

/** Runs the batch for `date` through the admin API and polls its detail until it ends. */
export async function runBatch(
  base: string,
  token: string,
  wrangler: ManagedChild | WatchedWorker,
  date: string,
  options: RunBatchOptions,
): Promise<BatchFigures> {
  const { say, hardLimitMs } = options;
  const postedAt = Date.now();
  const postAt = performance.now();
  const answer = await request(`${base}/api/v1/admin/batch/run`, token, { method: "POST", body: { date } });
  if (answer.status !== 202 && answer.status !== 200)
    throw new Error(`POST /admin/batch/run answered ${answer.status}: ${excerpt(answer)}`);
  const runId = (answer.body as { run_id: string }).run_id;
  say(`  run ${runId} ${(answer.body as { outcome: string }).outcome}`);
  let lastReport = performance.now();
  for (;;) {
    const stopped = stoppedReason(wrangler);
    if (stopped !== null)
      throw new Error(`${wrangler.name} exited (${stopped}) during the batch run:\n${tail(wrangler.logFile, 40)}`);
    await sleep(options.pollMs);
    const poll = await request(`${base}/api/v1/admin/batch/runs/${runId}?include_issues=false`, token).catch(
      (error: unknown) => error,
    );
    if (poll instanceof Error || (poll as HttpAnswer).status !== 200) {
      // A busy stack may miss a poll; the run goes on.
      if (performance.now() - postAt > hardLimitMs)
        throw new Error(`the batch run ${runId} did not end within ${hardLimitMs / 60_000} min`);
      continue;
    }
    const detail = (poll as HttpAnswer).body as RunDetail;
    const status = detail.run.status;
    if (status === "completed" || status === "partial" || status === "failed") {
      return {
        runId,
        status,
        postedAt,
        ms: round(performance.now() - postAt),
        datesPublished: detail.run.dates_published,
        errorText: detail.run.error_text,
        failedPhases: detail.phases
          .filter((phase) => !phase.success)
          .map((phase) => ({ date: phase.date, phase: phase.name, message: phase.message })),
      };
    }
    if (options.progressEveryMs !== null && performance.now() - lastReport >= options.progressEveryMs) {
      lastReport = performance.now();
      const chunks = detail.progress.chunks;
      say(
        `  ${status}: ${detail.phases.length} phases recorded, chunks ${chunks.done} ` +
          `done, ${chunks.pending} pending, ${chunks.failed} failed (${seconds(performance.now() - postAt)})`,
      );
    }
    if (performance.now() - postAt > hardLimitMs)
      throw new Error(`the batch run ${runId} is still ${status} after ${hardLimitMs / 60_000} min`);
  }
}

// ---------------------------------------------------------------------------------------------

/** Prints `rows` under `header` in columns, indented by two: the first left-aligned, the others right-aligned. */
export function printColumns(header: readonly string[], rows: readonly string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    `  ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join("  ")}`;
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}

/** Writes `results` as JSON to `file` (relative to the project root), its directory created; says where. */
export function writeResults(file: string, results: unknown): void {
  const out = path.resolve(projectRoot, file);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(projectRoot, out)}`);
}

// ---------------------------------------------------------------------------------------------

let exiting = false;
/** Stops everything started (stack.ts's children, then its hooks) and exits with `code`; once. */
async function exit(code: number): Promise<void> {
  if (exiting) return;
  exiting = true;
  await stopAll();
  process.exit(code);
}

/** On Ctrl-C (exit code 130) or SIGTERM (143): stops everything started, then exits. */
export function exitOnSignals(): void {
  process.once("SIGINT", () => {
    console.error("\n[bench] interrupted; stopping everything");
    void exit(130);
  });
  process.once("SIGTERM", () => {
    console.error("\n[bench] terminated (SIGTERM); stopping everything");
    void exit(143);
  });
}

/**
 * Runs a benchmark's `main`, then stops everything started and exits with its code (1, the error printed, when it
 * throws).
 */
export function runAndExit(main: () => Promise<number>): void {
  main().then(
    (code) => exit(code),
    (error: unknown) => {
      console.error(`[bench] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      void exit(1);
    },
  );
}
