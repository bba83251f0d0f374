// The admin API through the real Worker (`exports.default.fetch`), against the shared migrated
// database. Dates are in 2021 and symbols start with `AD`, which no other test file uses.
// Runs created through the API are delivered to the real queue consumer; nothing here waits
// for one to finish. The run detail's read shape is tested on a run inserted directly (no
// queue message), so no consumer writes phase rows beside the ones the test inserts.
//
// Before the file ends, it lets the runs it started settle (bounded, never asserted): ending
// the file while their messages are still moving through the real queue stalls the vitest
// plugin's teardown.
import { env, exports } from "cloudflare:workers";
import { and, eq, inArray, like } from "drizzle-orm";
import { afterAll, describe, expect, it, vi } from "vitest";
import {
  batchChunks,
  batchPhaseResults,
  batchRuns,
  marketPrices,
  portfolios,
  symbolUniverse,
} from "../../schema/index.ts";
import type { BatchRunDetail, BatchRunStartResponse, RunList } from "../../worker/batch/run-history.ts";
import { batchPhases, type StoredPhaseCounts } from "../../worker/batch/telemetry.ts";
import { getDatabase } from "../../worker/db/client.ts";
import type { ApiErrorBody } from "../../worker/http/errors.ts";
import type { FieldError } from "../../worker/http/validation.ts";
import { captureLogsWhere } from "../support/logs.ts";
import { authHeaders } from "../support/tokens.ts";
import { batchBackfillRequestSchema, maxPriceUploadBytes, type PriceUploadResponse } from "../../worker/api/admin.ts";

const db = getDatabase(env);
const admin = "http://localhost/api/v1/admin";
const operator = await authHeaders("admin-test");

/** The Worker's fetch with the operator's token (every permission). */
function adminFetch(url: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(url, {
    ...init,
    headers: { ...operator, ...(init.headers as Record<string, string> | undefined) },
  });
}
const startedRunIds = new Set<string>();

async function postJson(path: string, body: unknown, base = admin): Promise<Response> {
  const response = await adminFetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (path.startsWith("/batch/") && response.status < 300)
    startedRunIds.add((await response.clone().json<BatchRunStartResponse>()).run_id);
  return response;
}

afterAll(async () => {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const active = await db
      .select({ id: batchRuns.id })
      .from(batchRuns)
      .where(and(inArray(batchRuns.id, [...startedRunIds]), inArray(batchRuns.status, ["queued", "running"])));
    if (active.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  console.warn(`admin.test.ts: runs still active at the end of the file: ${[...startedRunIds].join(", ")}`);
}, 20_000);

async function errorOf(response: Response) {
  return (await response.json<ApiErrorBody>()).error;
}

async function fieldErrorsOf(response: Response): Promise<FieldError[]> {
  expect(response.status).toBe(400);
  const error = await errorOf(response);
  expect(error.code).toBe("VALIDATION_ERROR");
  return error.details as FieldError[];
}

describe("POST /admin/batch/run", () => {
  it("creates an admin run with its date and force_rerun, answers 202 with the run and its Location", async () => {
    const response = await postJson("/batch/run", { date: "2021-03-03", force_rerun: true });
    expect(response.status).toBe(202);
    const body = await response.json<BatchRunStartResponse>();
    expect(body).toEqual({ run_id: expect.any(String), outcome: "started", dates: ["2021-03-03"] });
    expect(response.headers.get("location")).toBe(`/api/v1/admin/batch/runs/${body.run_id}`);
    const run = await db.select().from(batchRuns).where(eq(batchRuns.id, body.run_id)).get();
    expect(run).toMatchObject({
      trigger: "admin",
      startDate: "2021-03-03",
      endDate: "2021-03-03",
      dates: ["2021-03-03"],
      forceRerun: true,
      portfolioId: null,
      requestedBy: "admin-test",
    });
  });

  it("returns the run already under way (200, same id) when the same request arrives while it is active", async () => {
    // Sent together, so the first run is certainly still queued or running when the second arrives.
    const responses = await Promise.all([0, 1].map(() => postJson("/batch/run", { date: "2021-03-04" })));
    const bodies = await Promise.all(responses.map((response) => response.json<BatchRunStartResponse>()));
    expect(responses.map((response) => response.status).sort()).toEqual([200, 202]);
    expect(bodies.map((body) => body.outcome).sort()).toEqual(["already_running", "started"]);
    expect(bodies[0]!.run_id).toBe(bodies[1]!.run_id);
    expect(
      await db
        .select({ id: batchRuns.id })
        .from(batchRuns)
        .where(and(eq(batchRuns.startDate, "2021-03-04"), eq(batchRuns.trigger, "admin"))),
    ).toHaveLength(1);
  });

  it("records the portfolio_id of an existing portfolio on the run", async () => {
    const portfolioId = `AD-portfolio-${crypto.randomUUID()}`;
    await db.insert(portfolios).values({ id: portfolioId, owner: "admin-test", name: portfolioId });
    // This run does go through the real queue, and this project's synthetic market has no closes
    // in 2021: its market data phase fails and the run ends partial, which the Worker logs as
    // errors. The test waits for that end, so the lines are its own to check.
    const runIds = new Set<string>();
    const logs = captureLogsWhere((line) => runIds.has(String(line["runId"])));
    const response = await postJson("/batch/run", { date: "2021-03-05", portfolio_id: portfolioId });
    expect(response.status).toBe(202);
    const { run_id } = await response.json<BatchRunStartResponse>();
    runIds.add(run_id);
    expect((await db.select().from(batchRuns).where(eq(batchRuns.id, run_id)).get())?.portfolioId).toBe(portfolioId);
    await vi.waitFor(
      () => expect(logs).toContainEqual(expect.objectContaining({ event: "batch.run_finished", status: "partial" })),
      { timeout: 15_000, interval: 100 },
    );
    expect(logs).toContainEqual(
      expect.objectContaining({
        event: "batch.phase",
        name: "market_data",
        success: false,
        counts: expect.objectContaining({ failed_reasons: { no_data: expect.any(Number) } }),
      }),
    );
  });

  it("answers 404 for an unknown portfolio_id and creates no run", async () => {
    const response = await postJson("/batch/run", { date: "2021-03-08", portfolio_id: "AD-no-such-portfolio" });
    expect(response.status).toBe(404);
    expect(await errorOf(response)).toEqual({
      code: "NOT_FOUND",
      message: "portfolio AD-no-such-portfolio does not exist",
    });
    expect(await db.select().from(batchRuns).where(eq(batchRuns.portfolioId, "AD-no-such-portfolio"))).toHaveLength(0);
  });

  it("refuses a weekend date with a 400 at `date` naming the day, and creates no run", async () => {
    const details = await fieldErrorsOf(await postJson("/batch/run", { date: "2021-03-06" }));
    expect(details).toEqual([{ path: "date", message: "2021-03-06 is a Saturday; batch runs compute weekdays only" }]);
    expect(await db.select().from(batchRuns).where(eq(batchRuns.startDate, "2021-03-06"))).toHaveLength(0);
  });

  it("reports every bad field by path: impossible date, wrong types, unknown field", async () => {
    const details = await fieldErrorsOf(
      await postJson("/batch/run", { date: "2021-02-30", force_rerun: "yes", portfolio_id: 7, forceRerun: true }),
    );
    expect(details).toEqual(
      expect.arrayContaining([
        { path: "date", message: 'date must be a calendar date YYYY-MM-DD, got "2021-02-30"' },
        { path: "force_rerun", message: "force_rerun must be true or false" },
        { path: "portfolio_id", message: "portfolio_id must be a string" },
        { path: "forceRerun", message: 'unknown field "forceRerun"' },
      ]),
    );
    expect(details).toHaveLength(4);
  });

  it("requires a date and refuses dates after today", async () => {
    expect(await fieldErrorsOf(await postJson("/batch/run", {}))).toEqual([
      { path: "date", message: "date is required" },
    ]);
    const future = await fieldErrorsOf(await postJson("/batch/run", { date: "2100-01-04" }));
    expect(future).toEqual([{ path: "date", message: expect.stringContaining("is after today") }]);
  });

  it("answers 400 INVALID_JSON for a body that is not JSON", async () => {
    const response = await adminFetch(`${admin}/batch/run`, { method: "POST", body: "{date: 2021-03-03" });
    expect(response.status).toBe(400);
    expect((await errorOf(response)).code).toBe("INVALID_JSON");
  });
});

describe("POST /admin/batch/backfill", () => {
  it("creates a backfill run over the weekdays of the range", async () => {
    const response = await postJson("/batch/backfill", { from: "2021-03-12", to: "2021-03-16" });
    expect(response.status).toBe(202);
    const body = await response.json<BatchRunStartResponse>();
    expect(body.dates).toEqual(["2021-03-12", "2021-03-15", "2021-03-16"]);
    const run = await db.select().from(batchRuns).where(eq(batchRuns.id, body.run_id)).get();
    expect(run).toMatchObject({
      trigger: "backfill",
      startDate: "2021-03-12",
      endDate: "2021-03-16",
      dates: body.dates,
      forceRerun: false,
    });
  });

  it("names `from` when from is after to", async () => {
    expect(await fieldErrorsOf(await postJson("/batch/backfill", { from: "2021-03-10", to: "2021-03-01" }))).toEqual([
      { path: "from", message: "from (2021-03-10) is after to (2021-03-01)" },
    ]);
  });

  it("names `to` when the range is longer than 400 calendar days, and accepts exactly 400", async () => {
    const tooLong = await fieldErrorsOf(await postJson("/batch/backfill", { from: "2020-01-01", to: "2021-02-04" }));
    expect(tooLong).toEqual([
      {
        path: "to",
        message: "the range is longer than 400 calendar days (to must be on or before 2021-02-03); split the backfill",
      },
    ]);
    // Checked on the schema: a 400-day run through the API would have the consumer compute ~285 dates.
    expect(batchBackfillRequestSchema.safeParse({ from: "2020-01-01", to: "2021-02-03" }).success).toBe(true);
  });

  it("refuses a range without a weekday, and reports missing fields", async () => {
    expect(await fieldErrorsOf(await postJson("/batch/backfill", { from: "2021-03-20", to: "2021-03-21" }))).toEqual([
      { path: "from", message: "2021-03-20..2021-03-21 has no weekday; batch runs compute weekdays only" },
    ]);
    expect(await fieldErrorsOf(await postJson("/batch/backfill", { from: "2021-03-22" }))).toEqual([
      { path: "to", message: "to is required (or give last_trading_days instead of from and to)" },
    ]);
  });

  it("takes last_trading_days instead of a range, not both, and only a whole number from 1", async () => {
    expect(
      await fieldErrorsOf(
        await postJson("/batch/backfill", { from: "2021-03-22", to: "2021-03-23", last_trading_days: 5 }),
      ),
    ).toEqual([{ path: "last_trading_days", message: "give either last_trading_days or from/to, not both" }]);
    expect(await fieldErrorsOf(await postJson("/batch/backfill", { last_trading_days: 0 }))).toEqual([
      { path: "last_trading_days", message: "last_trading_days must be at least 1" },
    ]);
    expect(await fieldErrorsOf(await postJson("/batch/backfill", { last_trading_days: 2.5 }))).toEqual([
      { path: "last_trading_days", message: "last_trading_days must be a whole number" },
    ]);
  });
});

describe("GET /admin/batch/runs", () => {
  // Created in the far future so they are the newest runs whatever other test files insert meanwhile.
  async function insertListedRuns() {
    const ids = ["a", "b", "c"].map((suffix) => `AD-list-${suffix}-${crypto.randomUUID()}`);
    const statuses = ["failed", "completed", "failed"] as const;
    for (const [index, id] of ids.entries()) {
      await db.insert(batchRuns).values({
        id,
        dedupeKey: `test:${id}`,
        trigger: "backfill",
        startDate: "2021-05-03",
        endDate: "2021-05-04",
        dates: ["2021-05-03", "2021-05-04"],
        status: statuses[index],
        createdAt: `2100-01-01T00:00:00.00${index}Z`,
      });
    }
    return ids;
  }

  it("lists runs newest first with paging, and filters by status", async () => {
    const [a, b, c] = await insertListedRuns();
    const first = await adminFetch(`${admin}/batch/runs?limit=3`);
    expect(first.status).toBe(200);
    const page = await first.json<RunList>();
    expect(page.runs.map((run) => run.id)).toEqual([c, b, a]);
    expect(page.total_count).toBeGreaterThanOrEqual(3);
    expect(page.runs[0]).toMatchObject({
      id: c,
      trigger: "backfill",
      status: "failed",
      start_date: "2021-05-03",
      end_date: "2021-05-04",
      dates_total: 2,
      dates_published: 0,
    });

    const second = await (await adminFetch(`${admin}/batch/runs?limit=1&offset=1`)).json<RunList>();
    expect(second.runs.map((run) => run.id)).toEqual([b]);

    const failed = await (await adminFetch(`${admin}/batch/runs?status=failed&limit=2`)).json<RunList>();
    expect(failed.runs.map((run) => run.id)).toEqual([c, a]);
    expect(failed.total_count).toBeGreaterThanOrEqual(2);
    const completed = await (await adminFetch(`${admin}/batch/runs?status=completed`)).json<RunList>();
    expect(completed.runs.every((run) => run.status === "completed")).toBe(true);
    expect(completed.runs[0]?.id).toBe(b);
  });

  it("defaults to 20 runs and refuses limits outside 1..100, an unknown status or an unknown parameter", async () => {
    const defaults = await (await adminFetch(`${admin}/batch/runs`)).json<RunList>();
    expect(defaults.runs.length).toBeLessThanOrEqual(20);
    expect(await fieldErrorsOf(await adminFetch(`${admin}/batch/runs?limit=101`))).toEqual([
      { path: "limit", message: "limit must be a whole number from 1 to 100" },
    ]);
    expect(await fieldErrorsOf(await adminFetch(`${admin}/batch/runs?limit=abc&offset=-1`))).toEqual([
      { path: "limit", message: "limit must be a whole number from 1 to 100" },
      { path: "offset", message: `offset must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}` },
    ]);
    expect(await fieldErrorsOf(await adminFetch(`${admin}/batch/runs?status=done`))).toEqual([
      { path: "status", message: "status must be one of queued, running, completed, partial, failed" },
    ]);
    expect(await fieldErrorsOf(await adminFetch(`${admin}/batch/runs?page=2`))).toEqual([
      { path: "page", message: 'unknown field "page"' },
    ]);
  });
});

describe("GET /admin/batch/runs/:id", () => {
  function storedCounts(
    unit: "symbols" | "portfolios" | "dates",
    total: number,
    failed: number,
    issues: StoredPhaseCounts["issues"] = [],
  ): StoredPhaseCounts {
    return {
      unit,
      total,
      computed: total - failed,
      skipped: 0,
      skipped_reasons: {},
      failed,
      failed_reasons: failed > 0 ? { no_prices: failed } : {},
      rows_stored: (total - failed) * 12,
      rows_unchanged: 0,
      rows_deleted: 0,
      chunks_total: 1,
      chunks_done: 1,
      chunks_failed: 0,
      slowest_chunk_ms: 40,
      issues,
      issues_truncated: false,
    };
  }

  /** A run over two dates: the first published, the second stuck in universe_factors with a failed chunk. */
  async function insertRunWithHistory() {
    const runId = `AD-detail-${crypto.randomUUID()}`;
    await db.insert(batchRuns).values({
      id: runId,
      dedupeKey: `test:${runId}`,
      trigger: "backfill",
      startDate: "2021-04-05",
      endDate: "2021-04-06",
      dates: ["2021-04-05", "2021-04-06"],
      status: "running",
      startedAt: "2021-04-07T00:00:00.000Z",
    });
    const phaseRow = (date: string, phase: string, success = true, counts = storedCounts("symbols", 3, 0)) => ({
      runId,
      calculationDate: date,
      phase,
      success,
      message: success ? `${phase} done` : `${phase} failed for some items`,
      counts,
      durationMs: 120,
      startedAt: `${date}T22:00:00.000Z`,
      finishedAt: `${date}T22:00:00.120Z`,
    });
    // Inserted out of order: the detail orders by date, then phase order.
    await db
      .insert(batchPhaseResults)
      .values([
        phaseRow("2021-04-06", "symbol_metrics"),
        ...[...batchPhases].reverse().map((phase) => phaseRow("2021-04-05", phase)),
        phaseRow(
          "2021-04-06",
          "market_data",
          false,
          storedCounts("symbols", 3, 1, [
            { item: "ADFAIL", kind: "failed", reason: "no_prices", detail: "no close on 2021-04-06" },
          ]),
        ),
      ]);
    await db.insert(batchChunks).values([
      {
        runId,
        calculationDate: "2021-04-05",
        phase: "universe_factors",
        chunkIndex: 0,
        symbols: ["ADAAA", "ADBBB"],
        status: "done",
      },
      {
        runId,
        calculationDate: "2021-04-06",
        phase: "universe_factors",
        chunkIndex: 2,
        symbols: ["ADEEE"],
        status: "pending",
      },
      {
        runId,
        calculationDate: "2021-04-06",
        phase: "universe_factors",
        chunkIndex: 1,
        symbols: ["ADCCC", "ADDDD"],
        status: "failed",
        errorText: "phase.chunk dead-lettered after 6 attempt(s)",
      },
      {
        runId,
        calculationDate: "2021-04-06",
        phase: "universe_factors",
        chunkIndex: 0,
        symbols: ["ADAAA", "ADBBB"],
        status: "done",
      },
    ]);
    return runId;
  }

  it("returns the run, its progress, its phases in date and phase order, and its failed chunks", async () => {
    const runId = await insertRunWithHistory();
    const response = await adminFetch(`${admin}/batch/runs/${runId}`);
    expect(response.status).toBe(200);
    const detail = await response.json<BatchRunDetail>();

    expect(detail.run).toMatchObject({
      id: runId,
      status: "running",
      trigger: "backfill",
      dates: ["2021-04-05", "2021-04-06"],
      dates_total: 2,
      dates_published: 1,
    });
    expect(detail.progress).toEqual({
      dates_total: 2,
      dates_published: 1,
      current_date: "2021-04-06",
      current_phase: "universe_factors",
      current_date_chunks: [{ phase: "universe_factors", pending: 1, done: 1, failed: 1 }],
      chunks: { pending: 1, done: 2, failed: 1 },
    });
    expect(detail.phases.map((phase) => `${phase.date} ${phase.name}`)).toEqual([
      ...batchPhases.map((phase) => `2021-04-05 ${phase}`),
      "2021-04-06 market_data",
      "2021-04-06 symbol_metrics",
    ]);
    const marketData = detail.phases.find((phase) => phase.date === "2021-04-06" && phase.name === "market_data");
    expect(marketData).toEqual({
      date: "2021-04-06",
      name: "market_data",
      success: false,
      message: "market_data failed for some items",
      counts: expect.objectContaining({
        unit: "symbols",
        total: 3,
        computed: 2,
        failed: 1,
        failed_reasons: { no_prices: 1 },
        rows_stored: 24,
        chunks_total: 1,
      }),
      issues: [{ item: "ADFAIL", kind: "failed", reason: "no_prices", detail: "no close on 2021-04-06" }],
      issues_truncated: false,
      duration_ms: 120,
      started_at: "2021-04-06T22:00:00.000Z",
      finished_at: "2021-04-06T22:00:00.120Z",
      error_text: null,
    });
    expect(marketData?.counts).not.toHaveProperty("issues");
    expect(detail.failed_chunks).toEqual([
      {
        date: "2021-04-06",
        phase: "universe_factors",
        chunk_index: 1,
        items: ["ADCCC", "ADDDD"],
        error_text: "phase.chunk dead-lettered after 6 attempt(s)",
        updated_at: expect.any(String),
      },
    ]);
    expect(detail.failed_chunks_total).toBe(1);
  });

  it("leaves the phases' issues out when include_issues=false", async () => {
    const runId = await insertRunWithHistory();
    const detail = await (await adminFetch(`${admin}/batch/runs/${runId}?include_issues=false`)).json<BatchRunDetail>();
    expect(detail.phases).toHaveLength(batchPhases.length + 2);
    expect(detail.phases.every((phase) => !("issues" in phase))).toBe(true);
  });

  it("answers 404 NOT_FOUND for an unknown run id", async () => {
    const response = await adminFetch(`${admin}/batch/runs/AD-no-such-run`);
    expect(response.status).toBe(404);
    expect((await errorOf(response)).code).toBe("NOT_FOUND");
  });
});

describe("POST /admin/market-data/prices", () => {
  const pricesOf = (symbols: string[]) =>
    db
      .select()
      .from(marketPrices)
      .where(inArray(marketPrices.symbol, symbols))
      .orderBy(marketPrices.symbol, marketPrices.date);

  it("stores the prices with source upload, registers new symbols, and a re-upload changes nothing", async () => {
    const upload = {
      prices: [
        { date: "2021-06-01", symbol: "adpx1", close: 10.5, adj_close: 10.4, volume: 1000 },
        { date: "2021-06-02", symbol: "ADPX1", close: 10.75 },
        { date: "2021-06-01", symbol: "ADPX2", close: 99, adj_close: null, volume: null },
        { date: "2021-06-01", symbol: "ADPX2", close: 99 },
      ],
    };
    const first = await postJson("/market-data/prices", upload);
    expect(first.status).toBe(200);
    expect(await first.json<PriceUploadResponse>()).toEqual({
      rows: 3,
      inserted: 3,
      updated: 0,
      unchanged: 0,
      symbols_registered: 2,
      symbols_widened: 0,
      duplicates_skipped: 1,
      duplicate_indexes: [3],
      other_source_replaced: 0,
      other_source_examples: [],
    });
    expect(await pricesOf(["ADPX1", "ADPX2"])).toEqual([
      { symbol: "ADPX1", date: "2021-06-01", close: 10.5, adjClose: 10.4, volume: 1000, source: "upload" },
      { symbol: "ADPX1", date: "2021-06-02", close: 10.75, adjClose: null, volume: null, source: "upload" },
      { symbol: "ADPX2", date: "2021-06-01", close: 99, adjClose: null, volume: null, source: "upload" },
    ]);
    expect(
      await db
        .select({ symbol: symbolUniverse.symbol })
        .from(symbolUniverse)
        .where(like(symbolUniverse.symbol, "ADPX_")),
    ).toHaveLength(2);

    const again = await postJson("/market-data/prices", upload);
    expect(await again.json<PriceUploadResponse>()).toMatchObject({
      rows: 3,
      inserted: 0,
      updated: 0,
      unchanged: 3,
      symbols_registered: 0,
    });
  });

  it("replaces a provider's close with the user's, and says so with the values", async () => {
    await db
      .insert(marketPrices)
      .values({ symbol: "ADPXS", date: "2021-06-01", close: 20, adjClose: null, volume: null, source: "stooq" });
    const response = await postJson("/market-data/prices", {
      prices: [{ date: "2021-06-01", symbol: "adpxs", close: 21.5 }],
    });
    expect(await response.json<PriceUploadResponse>()).toMatchObject({
      updated: 1,
      other_source_replaced: 1,
      other_source_examples: [
        { symbol: "ADPXS", date: "2021-06-01", stored_close: 20, stored_source: "stooq", close: 21.5 },
      ],
    });
    expect(await pricesOf(["ADPXS"])).toEqual([
      { symbol: "ADPXS", date: "2021-06-01", close: 21.5, adjClose: null, volume: null, source: "upload" },
    ]);
  });

  it("refuses an upload with bad rows with 400 listing every path, and writes nothing", async () => {
    const response = await postJson("/market-data/prices", {
      prices: [
        { date: "2021-06-03", symbol: "ADPX3", close: 5 },
        { date: "2021-06-03", symbol: "ADPX4", close: -1 },
        { date: "2021-02-30", symbol: "ADPX5", close: 5 },
        { date: "2021-06-03", symbol: "ADPX6", close: "5", open: 4 },
      ],
    });
    const details = await fieldErrorsOf(response);
    expect(details.map((detail) => detail.path)).toEqual([
      "prices[1].close",
      "prices[2].date",
      "prices[3].close",
      "prices[3].open",
    ]);
    expect(details.every((detail) => detail.message.length > 0)).toBe(true);
    expect(await pricesOf(["ADPX3", "ADPX4", "ADPX5", "ADPX6"])).toEqual([]);
    expect(await db.select().from(symbolUniverse).where(eq(symbolUniverse.symbol, "ADPX3"))).toEqual([]);
  });

  it("answers 413 for a body over the size cap, by Content-Length and by the bytes actually sent", async () => {
    const oversized = `{"prices":[${" ".repeat(maxPriceUploadBytes)}]}`;
    const declared = await adminFetch(`${admin}/market-data/prices`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: oversized,
    });
    expect(declared.status).toBe(413);
    expect((await errorOf(declared)).code).toBe("PAYLOAD_TOO_LARGE");

    // A stream has no Content-Length: the cap applies to what arrives.
    const megabyte = new TextEncoder().encode(" ".repeat(1024 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(new TextEncoder().encode('{"prices":['));
        if (sent > maxPriceUploadBytes) controller.close();
        else controller.enqueue(megabyte);
        sent += megabyte.byteLength;
      },
    });
    const streamed = await adminFetch(`${admin}/market-data/prices`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: stream,
    });
    expect(streamed.status).toBe(413);
    expect((await errorOf(streamed)).code).toBe("PAYLOAD_TOO_LARGE");
  });
});

describe("admin permissions", () => {
  it(
    "answers 401 without a token and 403 without RUN_BATCH, before reading the request, " + "and creates nothing",
    async () => {
      const noToken = await exports.default.fetch(`${admin}/batch/run`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ date: "2021-03-09" }),
      });
      expect(noToken.status).toBe(401);
      expect(noToken.headers.get("www-authenticate")).toMatch(/^Bearer /);
      const viewer = await authHeaders("admin-viewer", ["VIEW_FACTOR_ANALYTICS", "IMPORT_MARKET_DATA"]);
      const forbidden = await exports.default.fetch(`${admin}/batch/run`, {
        method: "POST",
        headers: { ...viewer, "content-type": "application/json" },
        body: JSON.stringify({ date: "2021-03-09" }),
      });
      expect(forbidden.status).toBe(403);
      expect(await errorOf(forbidden)).toMatchObject({ code: "FORBIDDEN", details: { required: "RUN_BATCH" } });
      expect(await db.select().from(batchRuns).where(eq(batchRuns.startDate, "2021-03-09"))).toHaveLength(0);
      expect((await exports.default.fetch(`${admin}/batch/runs`, { headers: viewer })).status).toBe(403);
    },
  );

  it("needs IMPORT_MARKET_DATA, not RUN_BATCH, for the price upload", async () => {
    const runner = await authHeaders("admin-runner", ["RUN_BATCH"]);
    const response = await exports.default.fetch(`${admin}/market-data/prices`, {
      method: "POST",
      headers: { ...runner, "content-type": "application/json" },
      body: JSON.stringify({ prices: [] }),
    });
    expect(response.status).toBe(403);
    expect(await errorOf(response)).toMatchObject({ code: "FORBIDDEN", details: { required: "IMPORT_MARKET_DATA" } });
  });

  it("records the caller's sub as the run's requested_by", async () => {
    const response = await exports.default.fetch(`${admin}/batch/run`, {
      method: "POST",
      headers: { ...(await authHeaders("operator-7", ["RUN_BATCH"])), "content-type": "application/json" },
      body: JSON.stringify({ date: "2021-03-10" }),
    });
    expect(response.status).toBe(202);
    const { run_id } = await response.json<BatchRunStartResponse>();
    startedRunIds.add(run_id);
    expect((await db.select().from(batchRuns).where(eq(batchRuns.id, run_id)).get())?.requestedBy).toBe("operator-7");
  });
});
