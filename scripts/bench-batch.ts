// Batch pipeline benchmark: `npm run bench:batch` (node scripts/bench-batch.ts).
//
// What it measures: the daily batch (docs/design.md §5) end to end on the real local stack —
// `wrangler dev` (the Worker, its queue producer and consumer, the LiveHub Durable Object)
// against the local libSQL server — for a synthetic universe of 3,000 symbols (the 9 ETFs the
// generator always adds plus 2,991 equities, ~1.16M daily closes: a year of history before the
// first backfill date) and 100 portfolios of 50 positions (stocks long and short, ETFs, options
// with a given delta or an implied volatility, some with a premium). Two runs:
//   one date    POST /api/v1/admin/batch/run {date: endDate}
//   backfill    POST /api/v1/admin/batch/backfill over the 120 weekdays before endDate
// and for each: the end-to-end time (from the POST to the run's `finished_at`), every phase's
// duration, rows stored and rows/s (from `batch_phase_results`), the slowest queue message
// (from `batch_chunks`: the consumer's wall time of one chunk) and the slowest consumer
// invocation (wrangler's `QUEUE factor-batch n/m (t ms)` lines), retries and failed phases.
// Targets on this machine: one date ≤ 60 s, the 120-date backfill ≤ 15 min, every message well
// inside the Workers CPU limit (30 s by default for a queue consumer invocation).
//
// How: a fresh temp dir holds the database (the libSQL server runs in this process, with an
// auth token), the wrangler state and logs. Migrations, then the bench data set
// (scripts/bench-batch/seed.ts) for a fixed end date, so runs are reproducible. The Worker is
// snapshotted into the temp dir — bundled once (`wrangler deploy --dry-run --outdir`), the client
// assets and wrangler.toml copied — and served with `wrangler dev --no-bundle`, so edits made
// during a run (sources, a test run rebuilding dist/client) neither reload it, which would drop
// the queued messages, nor change what is measured (`--live-source` serves the project's
// sources and config as `npm start` does). Vars override wrangler.toml with `--var`: the
// synthetic provider serves exactly the seeded market (same seed — the demo market's — same
// equities, end date and window), and the chunk sizes come from `--symbol-chunk`,
// `--market-chunk`, `--portfolio-chunk` when given (else wrangler.toml's). The runs' telemetry
// is read from the database directly, not through the API. Everything started is stopped
// (process groups) on exit, error or Ctrl-C; `--keep` keeps the temp dir. The setup steps and
// helpers the three benchmarks share are in scripts/bench-batch/common.ts.
//
// Options: --dates N (backfill dates, default 120), --skip-backfill, --symbols N (default 3000),
// --portfolios N (100), --positions N (50), --end-date YYYY-MM-DD (2026-06-30), chunk sizes as
// above, --stall-min M (give up when a run makes no progress for M minutes, default 10),
// --out FILE (default bench-results/batch.json), --keep, --live-source.
//
// Caveats:
// - wrangler dev runs one workerd process on this machine, sharing 2 cores with the libSQL
//   server (this process). Miniflare's queue broker delivers a batch (up to max_batch_size
//   messages, run concurrently in one invocation) when that many are waiting or after
//   max_batch_timeout — every queue hop with fewer messages waits that long — and
//   overlaps invocations only while a full batch is waiting; max_concurrency is not applied.
//   All invocations share one isolate. The database is local: no network round trip to Turso,
//   which production pays on every query.
// - wrangler dev enforces no CPU limit, and workerd's clock advances only across I/O: a
//   message's wall time bounds its CPU time from above (it includes waiting for the database
//   and for the other messages of its invocation). The Workers limit applies per invocation,
//   which handles up to max_batch_size messages, so the slowest invocation is reported too.
// - The market data phase re-fetches closes already seeded (the provider serves the same
//   market): its rows are `unchanged`, which measures the fetch and compare, not inserts.
// - Other processes on the machine (tests, another dev stack) skew wall times; the JSON
//   records the load average at start and end.
import { createClient, type Client } from "@libsql/client";
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { batchPhases } from "../worker/batch/telemetry.ts";
import { required } from "../worker/required.ts";
import { projectRoot } from "./local-config.ts";
import {
  benchSay,
  benchSecrets,
  benchTempDir,
  benchWorkerVars,
  buildClientIfMissing,
  checkEndDate,
  exitOnSignals,
  loadAverage,
  lookbackDaysFor,
  machineInfo,
  printColumns,
  round,
  runAndExit,
  seconds,
  sleep,
  startBenchDatabase,
  startHealthyWorker,
  thousands,
  weekdaysBefore,
  writeResults,
} from "./bench-batch/common.ts";
import { benchMarketOptions } from "./bench-batch/seed.ts";
import { freePort, groupCpuSeconds, onStop, snapshotWorker, tail, type ManagedChild } from "./bench-batch/stack.ts";
import {
  readChunkStats,
  readPhases,
  readProgress,
  readQueueDeliveries,
  readRun,
  readSlowestChunks,
  type PhaseRow,
  type QueueDeliveries,
} from "./bench-batch/telemetry.ts";

const targets = { oneDateMs: 60_000, backfillMs: 15 * 60_000, backfillDates: 120, messageCpuLimitMs: 30_000 };
const batchQueue = "factor-batch";

const { values: flags } = parseArgs({
  options: {
    dates: { type: "string", default: "120" },
    "skip-backfill": { type: "boolean", default: false },
    symbols: { type: "string", default: "3000" },
    portfolios: { type: "string", default: "100" },
    positions: { type: "string", default: "50" },
    "end-date": { type: "string", default: "2026-06-30" },
    "symbol-chunk": { type: "string" },
    "market-chunk": { type: "string" },
    "portfolio-chunk": { type: "string" },
    "stall-min": { type: "string", default: "10" },
    out: { type: "string", default: "bench-results/batch.json" },
    keep: { type: "boolean", default: false },
    "live-source": { type: "boolean", default: false },
  },
  strict: true,
});

function positiveInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${name} must be a whole number > 0, got ${value}`);
  return n;
}

/** A flag with a default in `parseArgs` above, so always set. */
function positiveIntegerWithDefault(name: string, value: string | undefined): number {
  return required(positiveInteger(name, value), `--${name} (it has a default)`);
}

const endDate = checkEndDate(flags["end-date"]);
const backfillDateCount = positiveIntegerWithDefault("dates", flags.dates);
const symbols = positiveIntegerWithDefault("symbols", flags.symbols);
const portfolioCount = positiveIntegerWithDefault("portfolios", flags.portfolios);
const positionsPerPortfolio = positiveIntegerWithDefault("positions", flags.positions);
const stallMs = positiveIntegerWithDefault("stall-min", flags["stall-min"]) * 60_000;
const chunkFlags = {
  BATCH_SYMBOL_CHUNK_SIZE: positiveInteger("symbol-chunk", flags["symbol-chunk"]),
  BATCH_MARKET_DATA_CHUNK_SIZE: positiveInteger("market-chunk", flags["market-chunk"]),
  BATCH_PORTFOLIO_CHUNK_SIZE: positiveInteger("portfolio-chunk", flags["portfolio-chunk"]),
};

const backfillDates = weekdaysBefore(endDate, backfillDateCount);
// --dates is at least 1, so there is a first and a last backfill date.
const firstBackfillDate = required(backfillDates[0], "the first backfill date");
const lastBackfillDate = required(backfillDates.at(-1), "the last backfill date");
// A year of history before the first measured date (the factor windows are 365 calendar days),
// plus a margin: ~540 calendar days for the default 120 dates.
const lookbackDays = lookbackDaysFor(endDate, firstBackfillDate);

const say = benchSay();

/** The wrangler config's value of a var (the chunk sizes a run uses when no flag overrides them). */
function wranglerVar(toml: string, name: string): string | undefined {
  return new RegExp(`^\\s*${name}\\s*=\\s*"([^"]*)"`, "m").exec(toml)?.[1];
}

// ---------------------------------------------------------------------------------------------

interface RunFigures {
  kind: "one_date" | "backfill";
  runId: string;
  status: string;
  /** True when the run ended (completed, partial, failed); false when the benchmark gave up. */
  finished: boolean;
  dates: number;
  firstDate: string;
  lastDate: string;
  /** POST to the run's finished_at (or to when the benchmark gave up). */
  endToEndMs: number;
  /** POST to the first phase's start (queue pickup, market generation in the isolate…). */
  toFirstPhaseMs: number | null;
  errorText: string | null;
  failedPhases: { phase: string; date: string; message: string; errorText: string | null }[];
  phases: Record<string, PhaseFigures>;
  totals: {
    rowsStored: number;
    rowsUnchanged: number;
    rowsDeleted: number;
    rowsStoredPerSecond: number;
    datesPerMinute: number;
  };
  chunks: Awaited<ReturnType<typeof readChunkStats>>;
  slowestMessages: Awaited<ReturnType<typeof readSlowestChunks>>;
  queue: QueueDeliveries;
  /**
   * CPU seconds used during the run: this process (the libSQL server, plus the benchmark's
   * polling) and wrangler's process group by command (workerd runs the Worker). Null without /proc.
   */
  cpuSeconds: {
    libsqlServerProcess: number;
    wranglerGroup: Record<string, number> | null;
    wallSeconds: number;
    /** workerd's busiest 5 s of the run, in cores (1 = one core fully busy): its CPU time then ≈ wall time. */
    workerdPeakCores5s: number;
    libsqlPeakCores5s: number;
  };
  /** [ms since the POST, workerd CPU s, libSQL server process CPU s], cumulative, one per poll (~1 s). */
  cpuSamples: CpuSample[];
  /** Per date and phase (backfill: every date), for the JSON. */
  perDate: {
    date: string;
    phase: string;
    success: boolean;
    durationMs: number;
    rowsStored: number;
    rowsUnchanged: number;
    chunks: number;
    slowestChunkMs: number;
  }[];
}

interface PhaseFigures {
  dates: number;
  success: boolean;
  /** One date: the phase's duration; backfill: the sum over dates (dates overlap in time). */
  totalMs: number;
  meanMsPerDate: number;
  maxMsPerDate: number;
  /** First start to last finish over the run's dates. */
  spanMs: number;
  total: number;
  computed: number;
  skipped: number;
  failed: number;
  skippedReasons: Record<string, number>;
  failedReasons: Record<string, number>;
  rowsStored: number;
  rowsUnchanged: number;
  rowsDeleted: number;
  /** rows stored / the phase's duration (backfill: / its summed duration, which overlaps across dates). */
  rowsStoredPerSecond: number;
  /** rows stored / spanMs: the phase's throughput over the run (what the backfill table shows). */
  rowsStoredPerSpanSecond: number;
  /** rows stored + unchanged per second: what the phase processed. */
  rowsProcessedPerSecond: number;
  chunks: number;
  slowestChunkMs: number;
  message?: string;
}

function phaseFigures(rows: PhaseRow[]): Record<string, PhaseFigures> {
  const figures: Record<string, PhaseFigures> = {};
  for (const phase of batchPhases) {
    const of = rows.filter((row) => row.phase === phase);
    if (of.length === 0) continue;
    const totalMs = of.reduce((sum, row) => sum + row.durationMs, 0);
    const sum = (pick: (row: PhaseRow) => number) => of.reduce((total, row) => total + pick(row), 0);
    const reasons = (pick: (row: PhaseRow) => Record<string, number>) => {
      const merged: Record<string, number> = {};
      for (const row of of)
        for (const [reason, n] of Object.entries(pick(row) ?? {})) merged[reason] = (merged[reason] ?? 0) + n;
      return merged;
    };
    const rowsStored = sum((row) => row.counts.rows_stored ?? 0);
    const rowsUnchanged = sum((row) => row.counts.rows_unchanged ?? 0);
    const spanMs =
      Math.max(...of.map((row) => Date.parse(row.finishedAt))) -
      Math.min(...of.map((row) => Date.parse(row.startedAt)));
    figures[phase] = {
      dates: of.length,
      success: of.every((row) => row.success),
      totalMs,
      meanMsPerDate: round(totalMs / of.length),
      maxMsPerDate: Math.max(...of.map((row) => row.durationMs)),
      spanMs,
      total: sum((row) => row.counts.total ?? 0),
      computed: sum((row) => row.counts.computed ?? 0),
      skipped: sum((row) => row.counts.skipped ?? 0),
      failed: sum((row) => row.counts.failed ?? 0),
      skippedReasons: reasons((row) => row.counts.skipped_reasons),
      failedReasons: reasons((row) => row.counts.failed_reasons),
      rowsStored,
      rowsUnchanged,
      rowsDeleted: sum((row) => row.counts.rows_deleted ?? 0),
      rowsStoredPerSecond: totalMs > 0 ? round(rowsStored / (totalMs / 1000)) : 0,
      rowsStoredPerSpanSecond: spanMs > 0 ? round(rowsStored / (spanMs / 1000)) : 0,
      rowsProcessedPerSecond: totalMs > 0 ? round((rowsStored + rowsUnchanged) / (totalMs / 1000)) : 0,
      chunks: sum((row) => row.counts.chunks_total ?? 0),
      slowestChunkMs: Math.max(...of.map((row) => row.counts.slowest_chunk_ms ?? 0)),
      ...(of.length === 1 && of[0] ? { message: of[0].message } : {}),
    };
  }
  return figures;
}

class RunStalled extends Error {}

/** The highest CPU use over any ~5 s window of the samples, in cores. */
function cpuPeaks(samples: readonly CpuSample[]): { workerdPeakCores5s: number; libsqlPeakCores5s: number } {
  const sample = (index: number) => required(samples[index], `CPU sample ${index}`);
  let workerd = 0;
  let libsql = 0;
  let from = 0;
  for (const [to, last] of samples.entries()) {
    if (to === 0) continue;
    while (from < to - 1 && last[0] - sample(from + 1)[0] >= 5_000) from++;
    const first = sample(from);
    const seconds = (last[0] - first[0]) / 1000;
    if (seconds < 4) continue;
    workerd = Math.max(workerd, (last[1] - first[1]) / seconds);
    libsql = Math.max(libsql, (last[2] - first[2]) / seconds);
  }
  return { workerdPeakCores5s: round(workerd, 2), libsqlPeakCores5s: round(libsql, 2) };
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
  return `${error.message}${cause}`;
}

/** Reads that may meet a busy database: up to 5 tries, 2 s apart. */
async function retrying<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (error) {
      if (attempt >= 5) throw error;
      await sleep(2_000);
    }
  }
}

/** Polls the run in the database until it ends; throws RunStalled when it stops progressing. */
/** One CPU sample per poll: ms since the POST, cumulative CPU seconds of workerd and of this process. */
type CpuSample = [ms: number, workerdSeconds: number, serverSeconds: number];

async function waitForRun(
  client: Client,
  wrangler: ManagedChild,
  runId: string,
  expectedPhases: number,
  hardLimitMs: number,
  sample: () => void,
): Promise<void> {
  const pollStarted = Date.now();
  let lastSignature = "";
  let lastChange = Date.now();
  let lastReport = 0;
  const failures = /"batch\.message_failed"/;
  let reportedFailures = wrangler.count(failures);
  let readErrorSince: number | null = null;
  for (;;) {
    sample();
    if (wrangler.child.exitCode !== null || wrangler.child.signalCode !== null) {
      throw new RunStalled(
        `wrangler exited (${wrangler.child.signalCode ?? `code ${wrangler.child.exitCode}`}) during the run`,
      );
    }
    let progress: Awaited<ReturnType<typeof readProgress>>;
    try {
      progress = await readProgress(client, runId);
      readErrorSince = null;
    } catch (error) {
      // The database is busy serving the Worker; a failed poll is not the run's failure.
      readErrorSince ??= Date.now();
      if (Date.now() - readErrorSince > 60_000)
        throw new RunStalled(`cannot read the run for 60 s: ${describe(error)}`);
      await sleep(1_000);
      continue;
    }
    if (!progress) throw new Error(`run ${runId} is not in the database`);
    if (progress.status === "completed" || progress.status === "partial" || progress.status === "failed") return;
    const signature =
      `${progress.status}:${progress.phasesRecorded}:` +
      `${progress.chunksDone}:${progress.chunksFailed}:${progress.chunksPending}`;
    if (signature !== lastSignature) {
      lastSignature = signature;
      lastChange = Date.now();
    }
    const failuresNow = wrangler.count(failures);
    if (Date.now() - lastReport >= 15_000 || failuresNow > reportedFailures) {
      lastReport = Date.now();
      const failed =
        failuresNow > reportedFailures
          ? `; ${failuresNow - reportedFailures} message failure(s) in the log (retried)`
          : "";
      reportedFailures = failuresNow;
      say(
        `  ${progress.status}: ${progress.phasesRecorded}/${expectedPhases} phases, ` +
          `chunks ${progress.chunksDone} done, ${progress.chunksPending} ` +
          `pending, ${progress.chunksFailed} failed (${seconds(Date.now() - pollStarted)})${failed}`,
      );
    }
    if (Date.now() - lastChange > stallMs)
      throw new RunStalled(`no progress for ${stallMs / 60_000} min (${signature})`);
    if (Date.now() - pollStarted > hardLimitMs)
      throw new RunStalled(`still ${progress.status} after ${hardLimitMs / 60_000} min`);
    await sleep(1_000);
  }
}

/** The operator's token for the admin API, minted once the stack's secret exists. */
let benchToken = "";

async function postJson(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${benchToken}` },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: parsed };
}

async function benchRun(
  kind: RunFigures["kind"],
  base: string,
  client: Client,
  wrangler: ManagedChild,
  request: { path: string; body: Record<string, string> },
  hardLimitMs: number,
): Promise<RunFigures> {
  const logOffset = statSync(wrangler.logFile).size;
  const cpuBefore = process.cpuUsage();
  const groupBefore = wrangler.child.pid === undefined ? null : groupCpuSeconds(wrangler.child.pid);
  const postAt = Date.now();
  const samples: CpuSample[] = [];
  const sample = () => {
    const group = wrangler.child.pid === undefined ? null : groupCpuSeconds(wrangler.child.pid);
    const own = process.cpuUsage(cpuBefore);
    samples.push([
      Date.now() - postAt,
      round((group?.["workerd"] ?? 0) - (groupBefore?.["workerd"] ?? 0), 2),
      round((own.user + own.system) / 1e6, 2),
    ]);
  };
  const response = await postJson(`${base}${request.path}`, request.body);
  if (response.status !== 202 && response.status !== 200) {
    const hint = response.status === 404 ? " (is the admin API wired in worker/index.ts?)" : "";
    throw new Error(`POST ${request.path} answered ${response.status}: ${JSON.stringify(response.body)}${hint}`);
  }
  const started = response.body as { run_id: string; outcome: string; dates: string[] };
  say(
    `  run ${started.run_id} ${started.outcome}: ${started.dates.length} ` +
      `date(s) ${started.dates[0]}..${started.dates.at(-1)}`,
  );
  let finished = true;
  try {
    await waitForRun(client, wrangler, started.run_id, started.dates.length * batchPhases.length, hardLimitMs, sample);
  } catch (error) {
    if (!(error instanceof RunStalled)) throw error;
    finished = false;
    say(`  gave up on the run: ${error.message}`);
    say(`  wrangler log tail (${wrangler.logFile}):\n${tail(wrangler.logFile, 40)}`);
  }
  const gaveUpAt = Date.now();
  sample();
  const cpuUsed = process.cpuUsage(cpuBefore);
  const groupAfter = wrangler.child.pid === undefined ? null : groupCpuSeconds(wrangler.child.pid);
  const wranglerGroup =
    groupBefore && groupAfter
      ? Object.fromEntries(
          Object.entries(groupAfter).map(([comm, s]) => [comm, round(s - (groupBefore[comm] ?? 0), 2)]),
        )
      : null;
  // Give the log a moment to receive the last delivery line.
  await sleep(500);
  const run = required(await retrying(() => readRun(client, started.run_id)), `batch run ${started.run_id}`);
  const phases = await retrying(() => readPhases(client, started.run_id));
  const figures = phaseFigures(phases);
  const endToEndMs = run.finishedAt !== null ? Date.parse(run.finishedAt) - postAt : gaveUpAt - postAt;
  const firstPhaseStart = phases.length > 0 ? Math.min(...phases.map((row) => Date.parse(row.startedAt))) : null;
  const rowsStored = phases.reduce((sum, row) => sum + (row.counts.rows_stored ?? 0), 0);
  const publishedDates = new Set(phases.filter((row) => row.phase === "publish").map((row) => row.date)).size;
  return {
    kind,
    runId: run.id,
    status: run.status,
    finished,
    dates: run.dates.length,
    firstDate: required(run.dates[0], `a date of batch run ${run.id}`),
    lastDate: required(run.dates.at(-1), `a date of batch run ${run.id}`),
    endToEndMs,
    toFirstPhaseMs: firstPhaseStart === null ? null : firstPhaseStart - postAt,
    errorText: run.errorText,
    failedPhases: phases
      .filter((row) => !row.success)
      .map((row) => ({ phase: row.phase, date: row.date, message: row.message, errorText: row.errorText })),
    phases: figures,
    totals: {
      rowsStored,
      rowsUnchanged: phases.reduce((sum, row) => sum + (row.counts.rows_unchanged ?? 0), 0),
      rowsDeleted: phases.reduce((sum, row) => sum + (row.counts.rows_deleted ?? 0), 0),
      rowsStoredPerSecond: endToEndMs > 0 ? round(rowsStored / (endToEndMs / 1000)) : 0,
      datesPerMinute: endToEndMs > 0 ? round(publishedDates / (endToEndMs / 60_000), 2) : 0,
    },
    chunks: await retrying(() => readChunkStats(client, started.run_id)),
    slowestMessages: await retrying(() => readSlowestChunks(client, started.run_id)),
    queue: readQueueDeliveries(wrangler.logFile, logOffset, batchQueue),
    cpuSeconds: {
      libsqlServerProcess: round((cpuUsed.user + cpuUsed.system) / 1e6, 2),
      wranglerGroup,
      wallSeconds: round((gaveUpAt - postAt) / 1000, 1),
      ...cpuPeaks(samples),
    },
    cpuSamples: samples,
    perDate: phases.map((row) => ({
      date: row.date,
      phase: row.phase,
      success: row.success,
      durationMs: row.durationMs,
      rowsStored: row.counts.rows_stored ?? 0,
      rowsUnchanged: row.counts.rows_unchanged ?? 0,
      chunks: row.counts.chunks_total ?? 0,
      slowestChunkMs: row.counts.slowest_chunk_ms ?? 0,
    })),
  };
}

function printRun(title: string, run: RunFigures): void {
  const perDate = run.kind === "backfill";
  console.log(
    `\n${title}: run ${run.runId}, ${run.dates} date(s) ${run.firstDate}..${run.lastDate}, ` +
      `status ${run.status}${run.finished ? "" : " (benchmark gave up waiting)"}`,
  );
  const header = perDate
    ? [
        "phase",
        "total s",
        "mean/date s",
        "max/date s",
        "span s",
        "rows stored",
        "rows/s (span)",
        "unchanged",
        "chunks",
        "slowest chunk ms",
      ]
    : [
        "phase",
        "duration s",
        "rows stored",
        "rows/s",
        "unchanged",
        "computed/total",
        "skipped",
        "failed",
        "chunks",
        "slowest chunk ms",
      ];
  const rows: string[][] = [];
  for (const phase of batchPhases) {
    const f = run.phases[phase];
    if (!f) {
      rows.push([phase, "not recorded"]);
      continue;
    }
    const name = f.success ? phase : `${phase} (FAILED)`;
    rows.push(
      perDate
        ? [
            name,
            (f.totalMs / 1000).toFixed(1),
            (f.meanMsPerDate / 1000).toFixed(2),
            (f.maxMsPerDate / 1000).toFixed(2),
            (f.spanMs / 1000).toFixed(1),
            thousands(f.rowsStored),
            thousands(f.rowsStoredPerSpanSecond),
            thousands(f.rowsUnchanged),
            String(f.chunks),
            String(f.slowestChunkMs),
          ]
        : [
            name,
            (f.totalMs / 1000).toFixed(2),
            thousands(f.rowsStored),
            thousands(f.rowsStoredPerSecond),
            thousands(f.rowsUnchanged),
            `${f.computed}/${f.total}`,
            String(f.skipped),
            String(f.failed),
            String(f.chunks),
            String(f.slowestChunkMs),
          ],
    );
  }
  printColumns(header, rows);
  if (perDate)
    console.log(
      "  (total: summed over dates, which run in parallel and wait in the queue; span: first start to last finish)",
    );
  console.log(
    `  end to end: ${seconds(run.endToEndMs)} (POST to finished_at); ` +
      `POST to first phase start: ${run.toFirstPhaseMs === null ? "n/a" : seconds(run.toFirstPhaseMs)}`,
  );
  console.log(
    `  rows stored: ${thousands(run.totals.rowsStored)} (${thousands(run.totals.rowsStoredPerSecond)}/s ` +
      `end to end), unchanged ${thousands(run.totals.rowsUnchanged)}, ` +
      `deleted ${thousands(run.totals.rowsDeleted)}; ${run.totals.datesPerMinute} dates/min`,
  );
  const slowest = run.slowestMessages[0];
  console.log(
    slowest
      ? `  slowest message: ${slowest.phase} ${slowest.date} ` +
          `chunk ${slowest.chunkIndex} (${slowest.items} items) ${slowest.ms} ms wall`
      : "  slowest message: none recorded",
  );
  const q = run.queue;
  console.log(
    `  queue: ${q.invocations} consumer invocations, ${q.messages} messages ` +
      `(${q.meanMessagesPerInvocation}/invocation), slowest invocation ${q.maxMs} ms, ` +
      `mean ${q.meanMs} ms; ${q.messageFailures} message failure(s), ${q.notAcked} not acked, ${q.deadLettered} ` +
      `dead-lettered${q.reloads > 0 ? `; WARNING: wrangler reloaded ${q.reloads} time(s)` : ""}`,
  );
  for (const [error, n] of Object.entries(q.errors)) console.log(`    ${n}× ${error}`);
  const cpu = run.cpuSeconds;
  const group = cpu.wranglerGroup
    ? Object.entries(cpu.wranglerGroup)
        .map(([comm, s]) => `${comm} ${s.toFixed(1)} s`)
        .join(", ")
    : "n/a";
  console.log(
    `  CPU during the run (${cpu.wallSeconds.toFixed(1)} s wall): ` +
      `libSQL server process ${cpu.libsqlServerProcess.toFixed(1)} s; wrangler group: ${group}; ` +
      `busiest 5 s: workerd ${cpu.workerdPeakCores5s} cores, libSQL ${cpu.libsqlPeakCores5s} cores`,
  );
  for (const failed of run.failedPhases.slice(0, 10))
    console.log(
      `  FAILED ${failed.date} ${failed.phase}: ${failed.message}${failed.errorText ? ` — ${failed.errorText}` : ""}`,
    );
  if (run.failedPhases.length > 10) console.log(`  … ${run.failedPhases.length - 10} more failed phases`);
  if (run.errorText) console.log(`  run error: ${run.errorText.split("\n").slice(0, 5).join(" | ")}`);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const loadAtStart = loadAverage();
  const dir = benchTempDir("bench-batch-", flags.keep);
  const { authToken, jwtSecret, operatorToken } = await benchSecrets();
  benchToken = operatorToken;
  const marketOptions = benchMarketOptions({ endDate, symbols, lookbackDays });
  say(
    `temp dir ${dir}; end date ${endDate}; ${symbols} symbols (${marketOptions.etfs} ` +
      `ETFs + ${marketOptions.equities} equities), seed ${marketOptions.seed}, ` +
      `window ${marketOptions.startDate}..${endDate} (${lookbackDays} days)`,
  );

  // 1. Database: server, migrations, bench data.
  const setupStarted = performance.now();
  const { server, migrateMs, seed } = await startBenchDatabase(
    dir,
    authToken,
    {
      endDate,
      symbols,
      lookbackDays,
      portfolios: portfolioCount,
      positionsPerPortfolio,
      firstMeasuredDate: firstBackfillDate,
    },
    say,
  );

  // 2. The Worker: bundle (unless --live-source), client assets, wrangler dev, health.
  const wranglerStarted = performance.now();
  const [port, inspectorPort] = [await freePort(), await freePort()];
  await buildClientIfMissing(say);
  let config: string | undefined;
  let bundleMs = 0;
  if (!flags["live-source"]) {
    const bundleStarted = performance.now();
    config = await snapshotWorker(path.join(dir, "worker"), path.join(dir, "wrangler-build.log"));
    bundleMs = performance.now() - bundleStarted;
    say(`bundled the Worker and copied its config and assets in ${seconds(bundleMs)}`);
  }
  const vars = benchWorkerVars({ endDate, equities: marketOptions.equities, lookbackDays }, `http://127.0.0.1:${port}`);
  for (const [name, value] of Object.entries(chunkFlags)) if (value !== undefined) vars[name] = String(value);
  const configText = readFileSync(config ?? path.join(projectRoot, "wrangler.toml"), "utf8");
  const chunkConfig = {
    symbolChunkSize: Number(vars["BATCH_SYMBOL_CHUNK_SIZE"] ?? wranglerVar(configText, "BATCH_SYMBOL_CHUNK_SIZE")),
    marketDataChunkSize: Number(
      vars["BATCH_MARKET_DATA_CHUNK_SIZE"] ?? wranglerVar(configText, "BATCH_MARKET_DATA_CHUNK_SIZE"),
    ),
    portfolioChunkSize: Number(
      vars["BATCH_PORTFOLIO_CHUNK_SIZE"] ?? wranglerVar(configText, "BATCH_PORTFOLIO_CHUNK_SIZE"),
    ),
    fromFlags: Object.entries(chunkFlags)
      .filter(([, value]) => value !== undefined)
      .map(([name]) => name),
  };
  const logFile = path.join(dir, "wrangler.log");
  say(
    `starting wrangler dev on http://127.0.0.1:${port} (log ${logFile}); chunks: ${chunkConfig.symbolChunkSize} ` +
      `symbols, ${chunkConfig.marketDataChunkSize} market data, ${chunkConfig.portfolioChunkSize} portfolios`,
  );
  const { wrangler, base } = await startHealthyWorker({
    port,
    inspectorPort,
    persistTo: path.join(dir, "wrangler-state"),
    logFile,
    vars,
    secrets: { TURSO_DATABASE_URL: server.url, TURSO_AUTH_TOKEN: authToken, JWT_SECRET: jwtSecret },
    ...(config ? { config, noBundle: true } : {}),
  });
  const healthyMs = performance.now() - wranglerStarted;
  const setupMs = performance.now() - setupStarted;
  say(`Worker healthy after ${seconds(healthyMs)}; setup took ${seconds(setupMs)}`);

  const client = createClient({ url: server.url, authToken });
  onStop(() => client.close());

  // 3. One date.
  say(`one date: POST /api/v1/admin/batch/run {"date": "${endDate}"}`);
  const oneDate = await benchRun(
    "one_date",
    base,
    client,
    wrangler,
    { path: "/api/v1/admin/batch/run", body: { date: endDate } },
    20 * 60_000,
  );
  printRun("One date", oneDate);

  // 4. Backfill.
  let backfill: RunFigures | null = null;
  if (!flags["skip-backfill"] && oneDate.finished) {
    const from = firstBackfillDate;
    const to = lastBackfillDate;
    say(
      `backfill: POST /api/v1/admin/batch/backfill {"from": ` +
        `"${from}", "to": "${to}"} (${backfillDates.length} weekdays)`,
    );
    const hardLimitMs = Math.max(20, Math.ceil((backfillDates.length / targets.backfillDates) * 120)) * 60_000;
    backfill = await benchRun(
      "backfill",
      base,
      client,
      wrangler,
      { path: "/api/v1/admin/batch/backfill", body: { from, to } },
      hardLimitMs,
    );
    printRun(`Backfill (${backfillDates.length} dates)`, backfill);
  } else if (!flags["skip-backfill"]) {
    say("skipping the backfill: the one-date run did not finish");
  }

  // 5. Verdict and JSON.
  const cpuLimit = targets.messageCpuLimitMs;
  const slowestOf = (run: RunFigures | null) => run?.slowestMessages[0] ?? null;
  const scaledBackfillMs = backfill ? round((backfill.endToEndMs * targets.backfillDates) / backfill.dates) : null;
  const verdict = {
    oneDate: {
      ms: oneDate.endToEndMs,
      targetMs: targets.oneDateMs,
      met: oneDate.finished && oneDate.status === "completed" && oneDate.endToEndMs <= targets.oneDateMs,
    },
    backfill: backfill
      ? {
          ms: backfill.endToEndMs,
          dates: backfill.dates,
          targetMs: targets.backfillMs,
          targetDates: targets.backfillDates,
          /** Scaled linearly to 120 dates when fewer were run. */
          projectedMsFor120Dates: scaledBackfillMs,
          /** Null when fewer dates ran: a linear projection overstates (dates overlap), so no verdict. */
          met:
            backfill.dates < targets.backfillDates
              ? null
              : backfill.finished && backfill.status === "completed" && backfill.endToEndMs <= targets.backfillMs,
          projected: backfill.dates !== targets.backfillDates,
        }
      : null,
    slowestMessage: {
      oneDate: slowestOf(oneDate),
      backfill: slowestOf(backfill),
      slowestInvocationMs: Math.max(oneDate.queue.maxMs, backfill?.queue.maxMs ?? 0),
      cpuLimitMs: cpuLimit,
      /** Wall time ≥ CPU time: under half the limit counts as well inside it. */
      wellInside: Math.max(slowestOf(oneDate)?.ms ?? 0, slowestOf(backfill)?.ms ?? 0) <= cpuLimit / 2,
    },
  };
  console.log("\nTargets");
  const oneDateStatus = oneDate.status !== "completed" ? ` (status ${oneDate.status})` : "";
  console.log(
    `  one date end to end ≤ ${seconds(targets.oneDateMs)}: ` +
      `${seconds(oneDate.endToEndMs)} ${verdict.oneDate.met ? "MET" : "NOT MET"}${oneDateStatus}`,
  );
  if (verdict.backfill && backfill) {
    const verdictText =
      verdict.backfill.met === null ? "(no verdict: run the full 120 dates)" : verdict.backfill.met ? "MET" : "NOT MET";
    const measured = verdict.backfill.projected
      ? `${backfill.dates} dates in ${seconds(backfill.endToEndMs)}; linear projection to ${targets.backfillDates} ` +
        `dates ${((scaledBackfillMs ?? 0) / 60_000).toFixed(1)} min, an overestimate since dates overlap`
      : `${(backfill.endToEndMs / 60_000).toFixed(1)} min`;
    const backfillStatus = backfill.status !== "completed" ? ` (status ${backfill.status})` : "";
    console.log(
      `  ${targets.backfillDates}-date backfill ≤ ${targets.backfillMs / 60_000} min: ` +
        `${measured} ${verdictText}${backfillStatus}`,
    );
  } else {
    console.log("  backfill: not run");
  }
  const worst = [slowestOf(oneDate), slowestOf(backfill)].filter((m) => m !== null).sort((a, b) => b.ms - a.ms)[0];
  const worstText = worst ? `${worst.ms} ms (${worst.phase} ${worst.date} chunk ${worst.chunkIndex})` : "n/a";
  console.log(
    `  slowest message ≤ ${cpuLimit / 2} ms (half the ${cpuLimit / 1000} s CPU limit, wall time): ` +
      `${worstText} ${verdict.slowestMessage.wellInside ? "MET" : "NOT MET"}; ` +
      `slowest invocation ${verdict.slowestMessage.slowestInvocationMs} ms`,
  );

  const results = {
    machine: machineInfo(loadAtStart),
    configuration: {
      endDate,
      symbols,
      portfolios: portfolioCount,
      positionsPerPortfolio,
      backfillDates: backfillDates.length,
      lookbackDays,
      chunks: chunkConfig,
      workerVars: vars,
      workerSource: flags["live-source"]
        ? "sources (wrangler dev bundles and watches)"
        : "bundle snapshot (wrangler deploy --dry-run, served with --no-bundle)",
      queueConsumer: {
        maxBatchSize: Number(/max_batch_size\s*=\s*(\d+)/.exec(configText)?.[1] ?? NaN),
        maxBatchTimeoutSeconds: Number(/max_batch_timeout\s*=\s*(\d+)/.exec(configText)?.[1] ?? NaN),
      },
    },
    setup: {
      ms: round(setupMs),
      migrateMs: round(migrateMs),
      seed,
      bundleMs: round(bundleMs),
      wranglerHealthyMs: round(healthyMs),
    },
    oneDate,
    backfill,
    targets: verdict,
    notes: [
      "endToEndMs: from the POST to the run's finished_at (database clock on this machine)",
      "phase totalMs: batch_phase_results.duration_ms (first chunk planned to phase recorded); " +
        "for the backfill the sum over dates, which run in parallel",
      "rowsStoredPerSecond: rows inserted or changed / duration; " +
        "market data re-fetches seeded closes, so its rows are unchanged",
      "slowest message: batch_chunks counts.duration_ms, " +
        "the consumer's wall time for one chunk; wall ≥ CPU in workerd",
      "wrangler dev: one workerd process, one queue batch delivered at a time, no CPU limit enforced",
    ],
  };
  writeResults(flags.out, results);
  const ok = oneDate.finished && (backfill === null || backfill.finished);
  return ok ? 0 : 1;
}

exitOnSignals();
if (import.meta.main) runAndExit(main);
