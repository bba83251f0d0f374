// `npm run batch`: runs the daily batch on the RUNNING local stack (`npm start`) through the
// admin API, follows the run, and prints its phases when it ends.
//
//   npm run batch -- --date YYYY-MM-DD [--force] [--portfolio ID] [--url URL]
//   npm run batch -- --from YYYY-MM-DD --to YYYY-MM-DD [--force] [--portfolio ID] [--url URL]
//   npm run batch -- --last N [--force] [--portfolio ID] [--url URL]
//
// Exit code: 0 when the run completed, 2 when it ended partial, 1 when it failed or on any error
// (bad arguments, the stack not running, a request refused), and 1 with its own message when
// --timeout passes while the run is still going. While following a run, transient errors (the
// stack unreachable, a 5xx, a 503 DATABASE_UNAVAILABLE with Retry-After) are retried with
// backoff until --timeout. Repeating a request while its run
// is still active follows that run instead of starting another. Ctrl-C stops following, not the
// run. Argument parsing and formatting are pure functions, tested in test/unit/batch-cli.test.ts.
//
// Which stack: --url, else the running local stack (the only one, or the one PORT / DATA_DIR name;
// scripts/local-config.ts). Several running, or settings no running stack has: it stops and says
// which PORT and DATA_DIR to pass. It signs its token with that stack's secret and never creates one.
import { parseArgs } from "node:util";
import type { BatchRunDetail, BatchRunPhase, BatchRunStartResponse } from "../worker/batch/run-history.ts";
import { ApiClient, ApiRequestError, apiBaseUrl, formatError, StackUnreachableError } from "./api-client.ts";
import { LocalStackError } from "./local-config.ts";

export const batchUsage =
  `usage:
  npm run batch -- --date YYYY-MM-DD [--force] [--replace-prices] [--portfolio ID] [--url URL] [--timeout SECONDS]
  npm run batch -- --from YYYY-MM-DD --to YYYY-MM-DD [--force] ` +
  `[--replace-prices] [--portfolio ID] [--url URL] [--timeout SECONDS]
  npm run batch -- --last N [--force] [--replace-prices] [--portfolio ID] [--url URL] [--timeout SECONDS]

Runs the batch on the running local stack (\`npm start\`) and follows it until it ends.
  --date        one trading date (a weekday)
  --from, --to  a backfill over every weekday of the range, both ends included
  --last        the N most recent trading days of the stored closes (SPY's dates), e.g.
                after importing your own prices
  --force       recompute betas already stored (force_rerun)
  --replace-prices  replace stored closes of another source (your imports) with the
                provider's where they differ; by default they are kept and reported
  --portfolio   limit portfolio analytics to one portfolio
  --url         the stack's base URL (default: the running \`npm start\` stack's; with several
                running, PORT=… DATA_DIR=… before the command say which)
  --timeout     stop following after this many seconds (default 3600); the run goes on.
                Until then, failed polls (stack or database briefly down) are retried
Exit code: 0 completed, 2 partial, 1 failed, error, or --timeout passed with the run still going.`;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Runs `parse`, turning what it throws into a `UsageError` with its message. */
export function usageErrors<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

interface RunOptions {
  force: boolean;
  replacePrices: boolean;
  portfolioId: string | null;
  /** `--url` without trailing slashes, or null: the running local stack's (resolved when the command runs). */
  url: string | null;
  /** How long to follow the run, in seconds (`--timeout`). */
  timeoutSeconds: number;
}

export const defaultTimeoutSeconds = 3600;

export type BatchCommand =
  | { kind: "help" }
  | ({ kind: "run"; date: string } & RunOptions)
  | ({ kind: "backfill"; from: string; to: string } & RunOptions)
  | ({ kind: "last"; days: number } & RunOptions);

const datePattern = /^\d{4}-\d{2}-\d{2}$/;

function requireDate(option: string, value: string): string {
  // The API checks the calendar and weekdays; this catches a mistyped argument before any request.
  if (!datePattern.test(value))
    throw new UsageError(`--${option} must be a date YYYY-MM-DD, got ${JSON.stringify(value)}`);
  return value;
}

/** Node's parser over the command's options (a function, so its result type has a name). */
function parseBatchOptions(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    options: {
      date: { type: "string" },
      from: { type: "string" },
      to: { type: "string" },
      last: { type: "string" },
      force: { type: "boolean", default: false },
      "replace-prices": { type: "boolean", default: false },
      portfolio: { type: "string" },
      url: { type: "string" },
      timeout: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
}

/** Parses the arguments after `npm run batch --`; throws `UsageError` with what is wrong. */
export function parseBatchArgs(args: readonly string[]): BatchCommand {
  let parsed: ReturnType<typeof parseBatchOptions>;
  try {
    parsed = parseBatchOptions(args);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values } = parsed;
  if (values.help) return { kind: "help" };
  let timeoutSeconds = defaultTimeoutSeconds;
  if (values.timeout !== undefined) {
    timeoutSeconds = Number(values.timeout);
    if (!/^\d+(\.\d+)?$/.test(values.timeout) || !(timeoutSeconds > 0))
      throw new UsageError(`--timeout must be a number of seconds > 0, got ${JSON.stringify(values.timeout)}`);
  }
  const options: RunOptions = {
    force: values.force,
    replacePrices: values["replace-prices"],
    portfolioId: values.portfolio ?? null,
    url: values.url === undefined ? null : values.url.replace(/\/+$/, ""),
    timeoutSeconds,
  };
  if (values.portfolio !== undefined && values.portfolio.trim() === "")
    throw new UsageError("--portfolio needs a portfolio id");
  if (values.last !== undefined) {
    if (values.date !== undefined || values.from !== undefined || values.to !== undefined)
      throw new UsageError("give one of --date, --from/--to or --last");
    if (!/^\d+$/.test(values.last) || Number(values.last) < 1)
      throw new UsageError(`--last must be a whole number of trading days ≥ 1, got ${JSON.stringify(values.last)}`);
    return { kind: "last", days: Number(values.last), ...options };
  }
  if (values.date !== undefined) {
    if (values.from !== undefined || values.to !== undefined)
      throw new UsageError("give either --date or --from/--to, not both");
    return { kind: "run", date: requireDate("date", values.date), ...options };
  }
  if (values.from !== undefined || values.to !== undefined) {
    if (values.from === undefined) throw new UsageError("--to needs --from");
    if (values.to === undefined) throw new UsageError("--from needs --to");
    return { kind: "backfill", from: requireDate("from", values.from), to: requireDate("to", values.to), ...options };
  }
  throw new UsageError("missing --date (or --from and --to, or --last)");
}

/** The admin request that starts the command's run. */
export function startRequest(command: Exclude<BatchCommand, { kind: "help" }>): {
  path: string;
  body: Record<string, unknown>;
} {
  const options = {
    ...(command.portfolioId === null ? {} : { portfolio_id: command.portfolioId }),
    ...(command.force ? { force_rerun: true } : {}),
    ...(command.replacePrices ? { replace_prices: true } : {}),
  };
  if (command.kind === "run") return { path: "/admin/batch/run", body: { date: command.date, ...options } };
  if (command.kind === "last")
    return { path: "/admin/batch/backfill", body: { last_trading_days: command.days, ...options } };
  return { path: "/admin/batch/backfill", body: { from: command.from, to: command.to, ...options } };
}

export type RunStatus = BatchRunDetail["run"]["status"];

export function isFinished(status: RunStatus): boolean {
  return status === "completed" || status === "partial" || status === "failed";
}

/** 0 completed, 2 partial, 1 failed (and 1 for a run that has not ended). */
export function exitCodeFor(status: RunStatus): number {
  if (status === "completed") return 0;
  if (status === "partial") return 2;
  return 1;
}

/** `850 ms`, `12.3 s`, `2 min 05 s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, "0")} s`;
}

/** One line of progress; printed whenever it changes. */
export function formatProgress(detail: BatchRunDetail): string {
  const { run, progress } = detail;
  const parts = [`[${run.status}] ${progress.dates_published}/${progress.dates_total} date(s) published`];
  if (progress.current_date !== null) {
    let where = `${progress.current_date}: ${progress.current_phase ?? "finishing"}`;
    const chunks = progress.current_date_chunks.find((tally) => tally.phase === progress.current_phase);
    if (chunks) {
      const total = chunks.pending + chunks.done + chunks.failed;
      where += ` (${chunks.done}/${total} chunks done${chunks.failed > 0 ? `, ${chunks.failed} failed` : ""})`;
    }
    parts.push(where);
  }
  if (progress.chunks.failed > 0) parts.push(`${progress.chunks.failed} failed chunk(s) so far`);
  return parts.join("; ");
}

/**
 * Lays out rows under headers; columns in `rightAligned` are padded on the left, a left-aligned last column is not
 * padded.
 */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  rightAligned: ReadonlySet<number> = new Set(),
): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => {
        if (column === cells.length - 1 && !rightAligned.has(column)) return cell;
        const width = widths[column] ?? 0;
        return rightAligned.has(column) ? cell.padStart(width) : cell.padEnd(width);
      })
      .join("  ")
      .trimEnd();
  return [line(headers), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)].join("\n");
}

/** The run's phases: date, phase, ok, duration, total/computed/skipped/failed, rows stored, message. */
export function formatPhaseTable(phases: readonly BatchRunPhase[]): string {
  if (phases.length === 0) return "no phase recorded a result";
  const headers = [
    "date",
    "phase",
    "ok",
    "duration",
    "total",
    "computed",
    "skipped",
    "failed",
    "rows stored",
    "message",
  ];
  const rows = phases.map((phase) => [
    phase.date,
    phase.name,
    phase.success ? "ok" : "FAIL",
    formatDuration(phase.duration_ms),
    String(phase.counts.total),
    String(phase.counts.computed),
    String(phase.counts.skipped),
    String(phase.counts.failed),
    String(phase.counts.rows_stored),
    phase.error_text ? `${phase.message} (${phase.error_text})` : phase.message,
  ]);
  return formatTable(headers, rows, new Set([3, 4, 5, 6, 7, 8]));
}

const listedItems = 5;

/** Failed chunks, one line each with their first items and error. */
export function formatFailedChunks(detail: Pick<BatchRunDetail, "failed_chunks" | "failed_chunks_total">): string {
  if (detail.failed_chunks_total === 0) return "";
  const lines = [`failed chunks (${detail.failed_chunks_total}):`];
  for (const chunk of detail.failed_chunks) {
    const items =
      chunk.items.slice(0, listedItems).join(", ") +
      (chunk.items.length > listedItems ? `, … (${chunk.items.length} items)` : "");
    lines.push(
      `  ${chunk.date} ${chunk.phase} chunk ${chunk.chunk_index} ` +
        `[${items}]: ${chunk.error_text ?? "no error recorded"}`,
    );
  }
  if (detail.failed_chunks.length < detail.failed_chunks_total)
    lines.push(`  … and ${detail.failed_chunks_total - detail.failed_chunks.length} more`);
  return lines.join("\n");
}

/** The first failed items of the phases (their issues), when the detail has them. */
export function formatFailedItems(phases: readonly BatchRunPhase[], limit = 10): string {
  const failed = phases.flatMap((phase) =>
    (phase.issues ?? []).filter((issue) => issue.kind === "failed").map((issue) => ({ phase, issue })),
  );
  if (failed.length === 0) return "";
  const lines = [`failed items (${failed.length > limit ? `first ${limit} of ${failed.length}` : failed.length}):`];
  for (const { phase, issue } of failed.slice(0, limit)) {
    lines.push(
      `  ${phase.date} ${phase.name} ${issue.item}${issue.factor ? ` ${issue.factor}` : ""}: ${issue.reason} ` +
        `— ${issue.detail}`,
    );
  }
  return lines.join("\n");
}

/** The last line: how the run ended. */
export function formatOutcome(detail: BatchRunDetail): string {
  const { run } = detail;
  const took =
    run.started_at && run.finished_at
      ? ` in ${formatDuration(Date.parse(run.finished_at) - Date.parse(run.started_at))}`
      : "";
  const line = `run ${run.id} ${run.status}${took}: ${run.dates_published}/${run.dates_total} date(s) published`;
  return run.error_text ? `${line}\n${run.error_text}` : line;
}

/**
 * An error worth retrying while following a run: the stack unreachable or silent, a 5xx (503 DATABASE_UNAVAILABLE), a
 * 429 or 408.
 */
export function isTransient(error: unknown): boolean {
  return (
    error instanceof StackUnreachableError ||
    (error instanceof ApiRequestError && (error.status >= 500 || error.status === 429 || error.status === 408))
  );
}

export const retryBaseMs = 1000;
export const retryMaxMs = 30_000;

/**
 * The wait before retry number `failures` (1, 2, …): 1 s doubling to at most 30 s, and never
 * less than the server's Retry-After (itself capped at 60 s).
 */
export function retryDelayMs(failures: number, retryAfterSeconds: number | null = null): number {
  const backoff = Math.min(retryMaxMs, retryBaseMs * 2 ** Math.max(0, failures - 1));
  return retryAfterSeconds === null ? backoff : Math.max(backoff, Math.min(60_000, retryAfterSeconds * 1000));
}

export type RetryPlan = { kind: "retry"; delayMs: number } | { kind: "fail" } | { kind: "timeout" };

/**
 * What to do after a failed request while following a run: give up at once on an error that
 * is not transient, stop when the deadline has passed, else wait (never past the deadline) and retry.
 */
export function planRetry(error: unknown, failures: number, now: number, deadline: number): RetryPlan {
  if (!isTransient(error)) return { kind: "fail" };
  if (now >= deadline) return { kind: "timeout" };
  const retryAfter = error instanceof ApiRequestError ? error.retryAfterSeconds : null;
  return { kind: "retry", delayMs: Math.min(retryDelayMs(failures, retryAfter), deadline - now) };
}

/** The message when --timeout passes while the run is still going (exit code 1). */
export function formatTimeout(
  runId: string,
  baseUrl: string,
  timeoutSeconds: number,
  lastStatus: RunStatus | null,
): string {
  const state =
    lastStatus === null ? "its state is unknown (the last polls failed)" : `it was ${lastStatus} at the last poll`;
  return [
    `timed out after ${formatDuration(timeoutSeconds * 1000)} following ` +
      `run ${runId}; ${state} and it is still running on the stack.`,
    `Follow it with: curl -H "authorization: Bearer $TOKEN" ${baseUrl}/api/v1/admin/batch/runs/${runId}`,
    `or repeat the same \`npm run batch\` command (it follows the ` +
      `active run rather than starting another), with a larger --timeout.`,
  ].join("\n");
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function clock(): string {
  return new Date().toISOString().slice(11, 19);
}

export async function main(args: readonly string[], pollIntervalMs = 1000): Promise<number> {
  let command: BatchCommand;
  try {
    command = parseBatchArgs(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`error: ${error.message}\n\n${batchUsage}`);
    return 1;
  }
  if (command.kind === "help") {
    console.log(batchUsage);
    return 0;
  }

  let baseUrl: string;
  try {
    baseUrl = apiBaseUrl(command.url ?? undefined);
  } catch (error) {
    if (!(error instanceof LocalStackError)) throw error;
    console.error(`error: ${error.message}`);
    return 1;
  }
  // A silent stack fails a request after a minute rather than hanging past --timeout.
  const client = new ApiClient(baseUrl, undefined, { requestTimeoutMs: 60_000 });
  const deadline = Date.now() + command.timeoutSeconds * 1000;
  let runId: string | null = null;
  try {
    const request = startRequest(command);
    const { body: started } = await client.post<BatchRunStartResponse>(request.path, request.body);
    runId = started.run_id;
    const range = started.dates.length === 1 ? started.dates[0] : `${started.dates[0]}..${started.dates.at(-1)}`;
    console.log(
      started.outcome === "already_running"
        ? `run ${runId} for the same request is already under way (${range}); following it`
        : `started run ${runId} on ${baseUrl}: ${started.dates.length} date(s), ${range}`,
    );
    const followed = runId;
    process.once("SIGINT", () => {
      console.log(`\nstopped following; run ${followed} goes on (GET ${baseUrl}/api/v1/admin/batch/runs/${followed})`);
      process.exit(130);
    });

    const detailPath = `/admin/batch/runs/${encodeURIComponent(runId)}`;
    let lastStatus: RunStatus | null = null;
    /** The run's detail, retrying transient errors with backoff; null once the deadline passes. */
    const getDetail = async (path: string): Promise<BatchRunDetail | null> => {
      for (let failures = 1; ; failures++) {
        try {
          return (await client.get<BatchRunDetail>(path)).body;
        } catch (error) {
          const plan = planRetry(error, failures, Date.now(), deadline);
          if (plan.kind === "fail") throw error;
          if (plan.kind === "timeout") return null;
          console.error(
            `${clock()} poll failed (attempt ${failures}), ` +
              `retrying in ${formatDuration(plan.delayMs)}: ${formatError(error).split("\n", 1)[0]}`,
          );
          await sleep(plan.delayMs);
        }
      }
    };
    const timedOut = () => {
      console.error(formatTimeout(followed, baseUrl, command.timeoutSeconds, lastStatus));
      return 1;
    };

    let lastProgress = "";
    for (;;) {
      // Polls without the phases' issue lists: they can be large, and only the end prints them.
      const detail = await getDetail(`${detailPath}?include_issues=false`);
      if (detail === null) return timedOut();
      lastStatus = detail.run.status;
      const progress = formatProgress(detail);
      if (progress !== lastProgress) {
        console.log(`${clock()} ${progress}`);
        lastProgress = progress;
      }
      if (isFinished(detail.run.status)) break;
      if (Date.now() >= deadline) return timedOut();
      await sleep(Math.min(pollIntervalMs, deadline - Date.now()));
    }

    const final = await getDetail(detailPath);
    if (final === null) return timedOut();
    console.log(`\n${formatPhaseTable(final.phases)}`);
    for (const section of [formatFailedChunks(final), formatFailedItems(final.phases)])
      if (section) console.log(`\n${section}`);
    console.log(`\n${formatOutcome(final)}`);
    return exitCodeFor(final.run.status);
  } catch (error) {
    console.error(formatError(error));
    if (runId !== null) console.error(`run ${runId} may still be going on the stack`);
    return 1;
  }
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
