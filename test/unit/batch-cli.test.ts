// The pure parts of `npm run batch` and `npm run compare`: argument parsing, the requests they
// make, and what they print.
import { describe, expect, it } from "vitest";
import {
  exitCodeFor,
  formatDuration,
  formatTimeout,
  isTransient,
  planRetry,
  retryDelayMs,
  formatFailedChunks,
  formatPhaseTable,
  formatProgress,
  parseBatchArgs,
  startRequest,
  UsageError,
} from "../../scripts/batch.ts";
import { ApiRequestError, parseRetryAfter, StackUnreachableError } from "../../scripts/api-client.ts";
import { compareExitCode, formatReportSummary, parseCompareArgs, reportPath } from "../../scripts/compare.ts";
import type { DualWriteReport } from "../../worker/batch/dual-write-report.ts";
import type { BatchRunDetail, BatchRunPhase } from "../../worker/batch/run-history.ts";
import type { PhaseResultCounts } from "../../worker/batch/telemetry.ts";

describe("parseBatchArgs", () => {
  it("parses a one-date run with its options, leaving the stack to find when it runs (no --url)", () => {
    expect(parseBatchArgs(["--date", "2025-01-15", "--force", "--replace-prices", "--portfolio", "p1"])).toEqual({
      kind: "run",
      date: "2025-01-15",
      force: true,
      replacePrices: true,
      portfolioId: "p1",
      url: null,
      timeoutSeconds: 3600,
    });
  });

  it("parses a backfill and a --url override without a trailing slash", () => {
    expect(parseBatchArgs(["--from", "2025-01-01", "--to", "2025-01-31", "--url", "http://localhost:9999/"])).toEqual({
      kind: "backfill",
      from: "2025-01-01",
      to: "2025-01-31",
      force: false,
      replacePrices: false,
      portfolioId: null,
      url: "http://localhost:9999",
      timeoutSeconds: 3600,
    });
  });

  it.each([
    [[], "missing --date (or --from and --to, or --last)"],
    [["--force"], "missing --date (or --from and --to, or --last)"],
    [["--last", "0"], '--last must be a whole number of trading days ≥ 1, got "0"'],
    [["--last", "ten"], '--last must be a whole number of trading days ≥ 1, got "ten"'],
    [["--last", "5", "--date", "2025-01-15"], "give one of --date, --from/--to or --last"],
    [["--date", "2025-01-15", "--from", "2025-01-01"], "give either --date or --from/--to, not both"],
    [["--from", "2025-01-01"], "--from needs --to"],
    [["--to", "2025-01-01"], "--to needs --from"],
    [["--date", "15/01/2025"], '--date must be a date YYYY-MM-DD, got "15/01/2025"'],
    [["--date", "2025-01-15", "--portfolio", " "], "--portfolio needs a portfolio id"],
  ])("refuses %j: %s", (args, message) => {
    expect(() => parseBatchArgs(args)).toThrow(new UsageError(message));
  });

  it("refuses unknown options and stray arguments as usage errors", () => {
    expect(() => parseBatchArgs(["--dates", "2025-01-15"])).toThrow(UsageError);
    expect(() => parseBatchArgs(["--date", "2025-01-15", "extra"])).toThrow(UsageError);
    expect(() => parseBatchArgs(["--date"])).toThrow(UsageError);
  });

  it("answers --help and -h with the help command", () => {
    expect(parseBatchArgs(["--help"])).toEqual({ kind: "help" });
    expect(parseBatchArgs(["-h", "--date", "x"])).toEqual({ kind: "help" });
  });
});

describe("--last", () => {
  it("asks the backfill for the N most recent trading days of the stored closes", () => {
    const command = parseBatchArgs(["--last", "10"]);
    expect(command).toMatchObject({ kind: "last", days: 10, force: false, replacePrices: false, portfolioId: null });
    if (command.kind === "help") throw new Error("unexpected help");
    expect(startRequest(command)).toEqual({ path: "/admin/batch/backfill", body: { last_trading_days: 10 } });
  });
});

describe("startRequest", () => {
  it("sends snake_case bodies and leaves out options not given", () => {
    expect(
      startRequest({
        kind: "run",
        date: "2025-01-15",
        force: false,
        replacePrices: false,
        portfolioId: null,
        url: null,
        timeoutSeconds: 3600,
      }),
    ).toEqual({ path: "/admin/batch/run", body: { date: "2025-01-15" } });
    expect(
      startRequest({
        kind: "backfill",
        from: "2025-01-01",
        to: "2025-01-31",
        force: true,
        replacePrices: true,
        portfolioId: "p1",
        url: null,
        timeoutSeconds: 3600,
      }),
    ).toEqual({
      path: "/admin/batch/backfill",
      body: { from: "2025-01-01", to: "2025-01-31", portfolio_id: "p1", force_rerun: true, replace_prices: true },
    });
  });
});

function counts(
  total: number,
  computed: number,
  skipped: number,
  failed: number,
  rowsStored: number,
): PhaseResultCounts {
  return {
    unit: "symbols",
    total,
    computed,
    skipped,
    skipped_reasons: {},
    failed,
    failed_reasons: {},
    rows_stored: rowsStored,
    rows_unchanged: 0,
    rows_deleted: 0,
    chunks_total: 1,
    chunks_done: 1,
    chunks_failed: 0,
    slowest_chunk_ms: 0,
  };
}

function phase(
  name: string,
  success: boolean,
  durationMs: number,
  phaseCounts: PhaseResultCounts,
  message: string,
  errorText: string | null = null,
): BatchRunPhase {
  return {
    date: "2025-01-15",
    name,
    success,
    message,
    counts: phaseCounts,
    issues_truncated: false,
    duration_ms: durationMs,
    started_at: "2025-01-15T21:30:00.000Z",
    finished_at: "2025-01-15T21:30:01.000Z",
    error_text: errorText,
  };
}

describe("formatPhaseTable", () => {
  it("prints one aligned row per phase with counts right-aligned and the message last", () => {
    const table = formatPhaseTable([
      phase("market_data", true, 850, counts(509, 509, 0, 0, 509), "509 closes stored"),
      phase(
        "universe_factors",
        false,
        12_345,
        counts(509, 500, 2, 7, 6000),
        "500 of 509 symbols computed; 7 failed",
        "chunk 3 dead-lettered",
      ),
      phase("publish", true, 125_000, counts(1, 1, 0, 0, 0), "published"),
    ]);
    expect(table.split("\n")).toEqual([
      "date        phase             ok      duration  total  computed  skipped  failed  rows stored  message",
      "----------  ----------------  ----  ----------  -----  --------  -------  ------  -----------  " +
        "-------------------------------------------------------------",
      "2025-01-15  market_data       ok        850 ms    509       509        0       0          509  509 closes " +
        "stored",
      "2025-01-15  universe_factors  FAIL      12.3 s    509       500        2       7         6000  500 of 509 " +
        "symbols computed; 7 failed (chunk 3 dead-lettered)",
      "2025-01-15  publish           ok    2 min 05 s      1         1        0       0            0  published",
    ]);
  });

  it("says so when no phase has a result", () => {
    expect(formatPhaseTable([])).toBe("no phase recorded a result");
  });
});

describe("formatDuration", () => {
  it("uses ms below a second, seconds below a minute, then minutes", () => {
    expect([
      formatDuration(0),
      formatDuration(999),
      formatDuration(1000),
      formatDuration(59_949),
      formatDuration(61_000),
    ]).toEqual(["0 ms", "999 ms", "1.0 s", "59.9 s", "1 min 01 s"]);
  });
});

function detail(overrides: Partial<BatchRunDetail> = {}): BatchRunDetail {
  return {
    run: {
      id: "run-1",
      trigger: "admin",
      status: "running",
      start_date: "2025-01-15",
      end_date: "2025-01-16",
      dates: ["2025-01-15", "2025-01-16"],
      dates_total: 2,
      dates_published: 1,
      portfolio_id: null,
      force_rerun: false,
      replace_prices: false,
      stale_dates: [],
      phase_plan: [
        "market_data",
        "symbol_metrics",
        "universe_factors",
        "portfolio_analytics",
        "denormalize",
        "publish",
      ],
      requested_by: "local",
      counts: null,
      error_text: null,
      created_at: "2025-01-17T10:00:00.000Z",
      started_at: "2025-01-17T10:00:00.100Z",
      finished_at: null,
      updated_at: "2025-01-17T10:00:01.000Z",
    },
    progress: {
      dates_total: 2,
      dates_published: 1,
      current_date: "2025-01-16",
      current_phase: "universe_factors",
      current_date_chunks: [{ phase: "universe_factors", pending: 3, done: 6, failed: 1 }],
      chunks: { pending: 3, done: 20, failed: 1 },
    },
    phases: [],
    failed_chunks: [],
    failed_chunks_total: 0,
    ...overrides,
  };
}

describe("progress and failed chunks", () => {
  it("prints the run's progress on one line", () => {
    expect(formatProgress(detail())).toBe(
      "[running] 1/2 date(s) published; 2025-01-16: universe_factors (6/10 chunks done, 1 failed); " +
        "1 failed chunk(s) so far",
    );
  });

  it("lists failed chunks with their first items and error, and how many are not listed", () => {
    const text = formatFailedChunks({
      failed_chunks: [
        {
          date: "2025-01-16",
          phase: "universe_factors",
          chunk_index: 3,
          items: ["A", "B", "C", "D", "E", "F"],
          error_text: "dead-lettered after 6 attempt(s)",
          updated_at: "",
        },
      ],
      failed_chunks_total: 2,
    });
    expect(text.split("\n")).toEqual([
      "failed chunks (2):",
      "  2025-01-16 universe_factors chunk 3 [A, B, C, D, E, … (6 items)]: dead-lettered after 6 attempt(s)",
      "  … and 1 more",
    ]);
    expect(formatFailedChunks({ failed_chunks: [], failed_chunks_total: 0 })).toBe("");
  });

  it("exits 0 for completed, 2 for partial, 1 for failed", () => {
    expect([exitCodeFor("completed"), exitCodeFor("partial"), exitCodeFor("failed")]).toEqual([0, 2, 1]);
  });
});

describe("npm run compare", () => {
  it("parses the range, portfolio and output, and builds the report query", () => {
    const command = parseCompareArgs([
      "--start-date",
      "2025-01-01",
      "--end-date",
      "2025-01-31",
      "--portfolio",
      "p 1",
      "--output",
      "report.json",
    ]);
    expect(command).toMatchObject({
      kind: "compare",
      startDate: "2025-01-01",
      endDate: "2025-01-31",
      portfolioId: "p 1",
      output: "report.json",
    });
    if (command.kind !== "compare") throw new Error("expected a compare command");
    expect(reportPath(command)).toBe(
      "/admin/dual-write/report?start_date=2025-01-01&end_date=2025-01-31&portfolio_id=p+1",
    );
  });

  it.each([
    [["--end-date", "2025-01-31", "--output", "r.json"], "missing --start-date"],
    [
      ["--start-date", "2025-02-01", "--end-date", "2025-01-31", "--output", "r.json"],
      "--start-date (2025-02-01) is after --end-date (2025-01-31)",
    ],
    [
      ["--start-date", "2025-01-01", "--end-date", "2025-01-31"],
      "missing --output FILE (where the report's JSON goes)",
    ],
  ])("refuses %j: %s", (args, message) => {
    expect(() => parseCompareArgs(args)).toThrow(new UsageError(message));
  });

  it("summarizes the report and exits 0 only for SAFE_TO_DEPRECATE", () => {
    const kind = (comparisons: number, discrepancies: number) => ({
      comparisons,
      matches: comparisons - discrepancies,
      discrepancies,
    });
    const report: DualWriteReport = {
      start_date: "2025-01-01",
      end_date: "2025-01-31",
      portfolio_id: null,
      tolerances: { position_beta: 1e-4, portfolio_exposure: 1e-3 },
      overall: {
        ...kind(120, 1),
        by_kind: { position_beta: kind(100, 1), portfolio_exposure: kind(20, 0) },
        missing_symbols: 0,
        match_rate: 119 / 120,
      },
      dates: [],
      discrepancies: [
        {
          date: "2025-01-15",
          kind: "position_beta",
          portfolio_id: "p1",
          position_id: "pos1",
          symbol: "AAPL",
          factor_key: "market_beta",
          old_value: 1.2,
          new_value: 1.21,
          difference: 0.01,
          is_option: false,
        },
      ],
      discrepancies_truncated: false,
      missing_symbols: [],
      missing_symbols_truncated: false,
      recommendation: "KEEP_DUAL_WRITE",
      reason: "1 discrepancy beyond tolerance",
    };
    const summary = formatReportSummary(report);
    expect(summary).toContain("match rate: 99.17%");
    expect(summary).toContain("total                        120      119              1");
    expect(summary).toContain("2025-01-15 p1 position pos1 AAPL market_beta: old 1.2, new 1.21, difference 0.01");
    expect(summary).toContain("recommendation: KEEP_DUAL_WRITE (1 discrepancy beyond tolerance)");
    expect(compareExitCode(report)).toBe(2);
    expect(compareExitCode({ recommendation: "SAFE_TO_DEPRECATE" })).toBe(0);
  });
});

describe("following a run through transient errors (--timeout)", () => {
  const refused = new StackUnreachableError(
    "http://127.0.0.1:8787",
    Object.assign(new Error("fetch failed"), { code: "ECONNREFUSED" }),
  );
  const dbDown = new ApiRequestError(
    503,
    "DATABASE_UNAVAILABLE",
    "the database cannot be reached",
    { reason: "unreachable" },
    5,
  );

  it("parses --timeout in seconds and refuses anything but a positive number", () => {
    expect(parseBatchArgs(["--date", "2025-01-15", "--timeout", "90"])).toMatchObject({ timeoutSeconds: 90 });
    expect(() => parseBatchArgs(["--date", "2025-01-15", "--timeout", "0"])).toThrow(
      new UsageError('--timeout must be a number of seconds > 0, got "0"'),
    );
    expect(() => parseBatchArgs(["--date", "2025-01-15", "--timeout", "soon"])).toThrow(UsageError);
  });

  it("treats connection refused, 5xx, 503 and 429 as transient; a 400, 404 or a bug is not", () => {
    expect(isTransient(refused)).toBe(true);
    expect(isTransient(dbDown)).toBe(true);
    expect(isTransient(new ApiRequestError(500, "INTERNAL_ERROR", "x"))).toBe(true);
    expect(isTransient(new ApiRequestError(429, "RATE_LIMITED", "x"))).toBe(true);
    expect(isTransient(new ApiRequestError(404, "NOT_FOUND", "x"))).toBe(false);
    expect(isTransient(new ApiRequestError(400, "VALIDATION_ERROR", "x"))).toBe(false);
    expect(isTransient(new TypeError("bug"))).toBe(false);
  });

  it("backs off 1 s, 2 s, 4 s … up to 30 s, never less than Retry-After (capped at 60 s)", () => {
    expect([1, 2, 3, 4, 5, 6, 10].map((n) => retryDelayMs(n))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000,
    ]);
    expect(retryDelayMs(1, 5)).toBe(5000);
    expect(retryDelayMs(5, 5)).toBe(16_000);
    expect(retryDelayMs(1, 3600)).toBe(60_000);
  });

  it("retries transient errors until the deadline, never sleeping past it; fails at once on others", () => {
    expect(planRetry(refused, 1, 0, 60_000)).toEqual({ kind: "retry", delayMs: 1000 });
    expect(planRetry(dbDown, 1, 0, 60_000)).toEqual({ kind: "retry", delayMs: 5000 });
    expect(planRetry(refused, 20, 0, 60_000)).toEqual({ kind: "retry", delayMs: 30_000 });
    expect(planRetry(refused, 6, 59_000, 60_000)).toEqual({ kind: "retry", delayMs: 1000 });
    expect(planRetry(refused, 6, 60_000, 60_000)).toEqual({ kind: "timeout" });
    expect(planRetry(new ApiRequestError(404, "NOT_FOUND", "no run"), 1, 0, 60_000)).toEqual({ kind: "fail" });
  });

  it("says the run is still going and how to follow it when the timeout passes", () => {
    const message = formatTimeout("run-1", "http://127.0.0.1:8787", 3600, "running");
    expect(message).toContain(
      "timed out after 60 min 00 s following run run-1; it was running at the last poll and it is still running on " +
        "the stack",
    );
    expect(message).toContain("http://127.0.0.1:8787/api/v1/admin/batch/runs/run-1");
    expect(message).toContain("npm run batch");
    expect(formatTimeout("run-1", "http://x", 5, null)).toContain("its state is unknown");
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    expect(parseRetryAfter("5")).toBe(5);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter("Thu, 01 Jan 1970 00:00:10 GMT", 0)).toBe(10);
    expect(parseRetryAfter("later")).toBeNull();
  });
});
