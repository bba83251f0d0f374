// The admin API (`/api/v1/admin`): start a batch run for a date or a backfill over a range,
// read run history and detail, the dual-write report, upload prices as JSON. Batch routes need
// the RUN_BATCH permission, the price upload IMPORT_MARKET_DATA (worker/api/contract.ts); the
// run records the caller's `sub` as `requested_by`. Request schemas: worker/api/admin.ts.
//
// Decisions:
// - A weekend `date` is a 400 `VALIDATION_ERROR` at `date`, not a 422 or an empty run: runs
//   compute weekdays only (the cron skips weekends the same way), and the caller should learn
//   at once that nothing will happen. A backfill range is fine with weekends inside it, but
//   one without any weekday is a 400 too. Holidays are weekdays and do run; their phases find
//   no closes and say so.
// - Dates after today (UTC) are refused: their closes do not exist yet.
// - A backfill spans at most `maxBackfillCalendarDays` calendar days, both ends included;
//   longer histories go in several requests (each run's detail stays readable).
// - `portfolio_id` must name an existing portfolio (404 otherwise) before a run is created.
// - Unknown body fields are errors (a typo like `forceRerun` must not silently run without it).
// - Starting a run answers 202 with a Location of its detail; repeating the request while that
//   run is still queued or running answers 200 with the same run (`outcome: already_running`).
// - A backfill whose range overlaps a different run that is still queued or running (a
//   backfill, an admin run or the cron's; not a portfolio's history run, which computes no
//   symbol) answers 409 `RUN_IN_PROGRESS` with that run's id: two runs computing the same
//   dates would race on the same rows. The check reads the runs table before creating the
//   run; two overlapping requests in the same instant can still both pass it.
import { and, desc, eq, gte, inArray, lte, ne } from "drizzle-orm";
import { Hono, type Context } from "hono";
import { batchRuns, marketPrices, portfolios } from "../../schema/index.ts";
import {
  batchBackfillRequestSchema,
  batchRunDetailQuerySchema,
  batchRunListQuerySchema,
  batchRunParamsSchema,
  batchRunRequestSchema,
  dualWriteReportQuerySchema,
  maxPriceUploadBytes,
  type PriceUploadResponse,
} from "../api/admin.ts";
import { routes } from "../api/contract.ts";
import { guard, type ApiEnv } from "../auth/guard.ts";
import { listRuns, readRunDetail, type BatchRunStartResponse } from "../batch/run-history.ts";
import { buildDualWriteReport } from "../batch/dual-write-report.ts";
import { marketReferenceSymbol } from "../batch/calendar.ts";
import { activeDedupeKey, createRun, type RunRequest } from "../batch/runs.ts";
import { sweepOnRead } from "../batch/sweep.ts";
import { getDatabase, type Database } from "../db/client.ts";
import { ApiError } from "../http/errors.ts";
import { noQuery, validate } from "../http/validate.ts";
import { readJsonBody, validationError } from "../http/validation.ts";
import { writePrices } from "../market-data/import-writer.ts";
import { validatePriceUpload } from "../market-data/price-upload.ts";

async function requirePortfolio(db: Database, portfolioId: string | undefined): Promise<void> {
  if (portfolioId === undefined) return;
  const found = await db.select({ id: portfolios.id }).from(portfolios).where(eq(portfolios.id, portfolioId)).get();
  if (!found) throw new ApiError(404, "NOT_FOUND", `portfolio ${portfolioId} does not exist`);
}

async function startRun(
  db: Database,
  queue: Env["BATCH_QUEUE"],
  request: RunRequest,
  dates?: string[],
): Promise<BatchRunStartResponse> {
  const result = await createRun(db, queue, request, dates);
  // Unreachable after validation (weekend dates and weekday-less ranges are refused), kept honest.
  if (result.outcome === "skipped")
    throw validationError("the request has no weekday to compute", [
      { path: "", message: "no weekday in the requested dates" },
    ]);
  return { run_id: result.runId, outcome: result.outcome, dates: result.dates };
}

/**
 * 409 when another run that computes symbols is queued or running over any date of
 * `startDate`..`endDate`; the same request's own run (its dedupe key) is left to `createRun`,
 * which answers it with 200 `already_running`.
 */
async function refuseOverlappingRun(db: Database, request: RunRequest): Promise<void> {
  const overlapping = await db
    .select({
      id: batchRuns.id,
      trigger: batchRuns.trigger,
      status: batchRuns.status,
      startDate: batchRuns.startDate,
      endDate: batchRuns.endDate,
    })
    .from(batchRuns)
    .where(
      and(
        inArray(batchRuns.status, ["queued", "running"]),
        inArray(batchRuns.trigger, ["backfill", "admin", "cron"]),
        lte(batchRuns.startDate, request.endDate),
        gte(batchRuns.endDate, request.startDate),
        ne(batchRuns.dedupeKey, activeDedupeKey(request)),
      ),
    )
    .orderBy(batchRuns.createdAt)
    .limit(1)
    .get();
  if (!overlapping) return;
  const range = `${overlapping.startDate}..${overlapping.endDate}`;
  throw new ApiError(
    409,
    "RUN_IN_PROGRESS",
    `batch run ${overlapping.id} (${overlapping.trigger}, ${overlapping.status}) already covers ${range}; ` +
      `wait for it to end (GET /api/v1/admin/batch/runs/${overlapping.id})`,
    {
      run_id: overlapping.id,
      status: overlapping.status,
      start_date: overlapping.startDate,
      end_date: overlapping.endDate,
    },
  );
}

/** Starts the requested run: 202 with its Location, or 200 with the run already under way. */
async function startRunResponse(
  c: Context<ApiEnv>,
  request: {
    trigger: "admin" | "backfill";
    startDate: string;
    endDate: string;
    portfolio_id?: string | undefined;
    force_rerun?: boolean | undefined;
    replace_prices?: boolean | undefined;
  },
  dates?: string[],
) {
  const db = getDatabase(c.env);
  await requirePortfolio(db, request.portfolio_id);
  const run: RunRequest = {
    trigger: request.trigger,
    startDate: request.startDate,
    endDate: request.endDate,
    portfolioId: request.portfolio_id ?? null,
    forceRerun: request.force_rerun ?? false,
    replacePrices: request.replace_prices ?? false,
    requestedBy: c.get("caller").sub,
  };
  if (request.trigger === "backfill") await refuseOverlappingRun(db, run);
  const started = await startRun(db, c.env.BATCH_QUEUE, run, dates);
  c.header("Location", `/api/v1/admin/batch/runs/${started.run_id}`);
  return c.json(started, started.outcome === "started" ? 202 : 200);
}

export const adminRoutes = new Hono<ApiEnv>()
  .post("/batch/run", guard(routes.runBatch), noQuery(), validate("json", batchRunRequestSchema), async (c) => {
    const body = c.req.valid("json");
    return startRunResponse(c, { ...body, trigger: "admin", startDate: body.date, endDate: body.date });
  })
  .post(
    "/batch/backfill",
    guard(routes.backfillBatch),
    noQuery(),
    validate("json", batchBackfillRequestSchema),
    async (c) => {
      const { from, to, last_trading_days: last, ...options } = c.req.valid("json");
      if (last !== undefined) {
        const dates = await lastTradingDays(getDatabase(c.env), last);
        const [first] = dates;
        if (first === undefined) {
          throw new ApiError(
            409,
            "NO_DATA",
            `no close of ${marketReferenceSymbol} is stored up to today: import prices first (npm run import:prices)`,
            [
              {
                path: "last_trading_days",
                message: `the trading calendar is ${marketReferenceSymbol}'s closes, and there are none`,
              },
            ],
          );
        }
        return startRunResponse(
          c,
          { ...options, trigger: "backfill", startDate: first, endDate: dates.at(-1) ?? first },
          dates,
        );
      }
      // The schema guarantees both when last_trading_days is absent.
      if (from === undefined || to === undefined)
        throw validationError("give from and to", [
          { path: "from", message: "give from and to (or last_trading_days)" },
        ]);
      return startRunResponse(c, { ...options, trigger: "backfill", startDate: from, endDate: to });
    },
  )
  .get("/batch/runs", guard(routes.listBatchRuns), validate("query", batchRunListQuerySchema), async (c) => {
    return c.json(await listRuns(getDatabase(c.env), c.req.valid("query")), 200);
  })
  .get(
    "/batch/runs/:id",
    guard(routes.getBatchRun),
    validate("param", batchRunParamsSchema),
    validate("query", batchRunDetailQuerySchema),
    async (c) => {
      const query = c.req.valid("query");
      const runId = c.req.valid("param").id;
      // Reading a run's status sweeps it when it stalled (re-enqueues its waiting work).
      await sweepOnRead(c.env, getDatabase(c.env), runId);
      const detail = await readRunDetail(getDatabase(c.env), runId, { includeIssues: query.include_issues });
      if (!detail) throw new ApiError(404, "NOT_FOUND", `batch run ${runId} does not exist`);
      return c.json(detail, 200);
    },
  )
  .get(
    "/dual-write/report",
    guard(routes.dualWriteReport),
    validate("query", dualWriteReportQuerySchema),
    async (c) => {
      const query = c.req.valid("query");
      const db = getDatabase(c.env);
      await requirePortfolio(db, query.portfolio_id);
      const report = await buildDualWriteReport(db, {
        startDate: query.start_date,
        endDate: query.end_date,
        portfolioId: query.portfolio_id ?? null,
      });
      return c.json(report, 200);
    },
  )
  .post("/market-data/prices", guard(routes.uploadPrices), noQuery(), async (c) => {
    const body = await readJsonBody(c.req.raw, maxPriceUploadBytes);
    const validation = validatePriceUpload(body);
    if (!validation.ok) {
      throw validationError(
        `${validation.errors.length} error(s) in the upload; nothing was written`,
        validation.errors.map((error) => ({ path: error.path, message: error.reason })),
      );
    }
    const summary = await writePrices(getDatabase(c.env), validation.rows, { source: "upload" });
    const response: PriceUploadResponse = {
      rows: summary.rows,
      inserted: summary.inserted,
      updated: summary.updated,
      unchanged: summary.unchanged,
      symbols_registered: summary.symbolsRegistered,
      symbols_widened: summary.symbolsWidened,
      duplicates_skipped: validation.duplicateIndexes.length,
      duplicate_indexes: validation.duplicateIndexes,
      other_source_replaced: summary.conflicts.replaced,
      other_source_examples: summary.conflicts.examples.map((example) => ({
        symbol: example.symbol,
        date: example.date,
        stored_close: example.storedClose,
        stored_source: example.storedSource,
        close: example.close,
      })),
    };
    return c.json(response, 200);
  });

/** The `count` most recent dates (ascending) on which the market reference has a stored close, up to today. */
async function lastTradingDays(db: Database, count: number): Promise<string[]> {
  const rows = await db
    .select({ date: marketPrices.date })
    .from(marketPrices)
    .where(
      and(
        eq(marketPrices.symbol, marketReferenceSymbol),
        lte(marketPrices.date, new Date().toISOString().slice(0, 10)),
      ),
    )
    .orderBy(desc(marketPrices.date))
    .limit(count);
  return rows.map((row) => row.date).reverse();
}
