// The admin API (`/api/v1/admin`): start a batch run for a date or a backfill over a range,
// read run history and detail, the dual-write report, upload prices as JSON. Local only until API tokens exist (see
// `admin-guard.ts`). Every input is a zod schema, exported for the OpenAPI document.
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
import { eq } from "drizzle-orm";
import { Hono, type Context } from "hono";
import { z } from "zod";
import { batchRunStatuses, portfolios } from "../../schema/index.ts";
import { listRuns, readRunDetail, type BatchRunStartResponse } from "../batch/run-history.ts";
import { buildDualWriteReport } from "../batch/dual-write-report.ts";
import { createRun, weekdaysBetween, type RunRequest } from "../batch/runs.ts";
import { isWeekend } from "../batch/calendar.ts";
import { addDays } from "../dates.ts";
import { getDatabase, type Database } from "../db/client.ts";
import { adminGuard, type AdminEnv } from "../http/admin-guard.ts";
import { ApiError } from "../http/errors.ts";
import { parseJsonBody, parseQuery, readJsonBody, validationError } from "../http/validation.ts";
import { writePrices } from "../market-data/import-writer.ts";
import { validatePriceUpload } from "../market-data/price-upload.ts";

export { priceUploadSchema } from "../market-data/price-upload.ts";

/** The longest backfill one request may ask for, in calendar days with both ends included. */
export const maxBackfillCalendarDays = 400;

/** The largest JSON price upload, in bytes: `maxPriceUploadRows` rows at ~90 bytes, with room for pretty-printing. */
export const maxPriceUploadBytes = 16 * 1024 * 1024;

const weekdayNames = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

function dayName(date: string): string {
  return weekdayNames[new Date(`${date}T00:00:00Z`).getUTCDay()]!;
}

function todayUtc(): string {
  return new Date().toISOString().slice(0, 10);
}

function isoDateField(field: string) {
  return z
    .iso.date({ error: (issue) => (issue.input === undefined ? `${field} is required` : `${field} must be a calendar date YYYY-MM-DD, got ${JSON.stringify(issue.input)}`) })
    .meta({ format: "date", examples: ["2025-01-02"] });
}

const runOptions = {
  portfolio_id: z
    .string({ error: "portfolio_id must be a string" })
    .min(1, { error: "portfolio_id must not be empty" })
    .optional()
    .meta({ description: "Limit portfolio analytics to this portfolio; symbol phases still cover the universe." }),
  force_rerun: z
    .boolean({ error: "force_rerun must be true or false" })
    .optional()
    .meta({ description: "Recompute betas already stored for the date(s)." }),
};

/** `POST /admin/batch/run`. */
export const batchRunRequestSchema = z
  .strictObject({ date: isoDateField("date").meta({ description: "The trading date to compute (a weekday, not after today UTC)." }), ...runOptions })
  .superRefine((body, ctx) => {
    if (isWeekend(body.date)) {
      ctx.addIssue({ code: "custom", path: ["date"], message: `${body.date} is a ${dayName(body.date)}; batch runs compute weekdays only` });
    } else if (body.date > todayUtc()) {
      ctx.addIssue({ code: "custom", path: ["date"], message: `${body.date} is after today (${todayUtc()} UTC); its closes do not exist yet` });
    }
  })
  .meta({ description: "Run the daily batch for one date." });

/** `POST /admin/batch/backfill`. */
export const batchBackfillRequestSchema = z
  .strictObject({
    from: isoDateField("from").meta({ description: "First date of the range, inclusive." }),
    to: isoDateField("to").meta({ description: `Last date of the range, inclusive, not after today (UTC); at most ${maxBackfillCalendarDays} calendar days after from.` }),
    ...runOptions,
  })
  .superRefine((body, ctx) => {
    if (body.from > body.to) {
      ctx.addIssue({ code: "custom", path: ["from"], message: `from (${body.from}) is after to (${body.to})` });
      return;
    }
    if (body.to > todayUtc()) {
      ctx.addIssue({ code: "custom", path: ["to"], message: `${body.to} is after today (${todayUtc()} UTC); its closes do not exist yet` });
    }
    const lastAllowed = addDays(body.from, maxBackfillCalendarDays - 1);
    if (body.to > lastAllowed) {
      ctx.addIssue({ code: "custom", path: ["to"], message: `the range is longer than ${maxBackfillCalendarDays} calendar days (to must be on or before ${lastAllowed}); split the backfill` });
    } else if (weekdaysBetween(body.from, body.to).length === 0) {
      ctx.addIssue({ code: "custom", path: ["from"], message: `${body.from}..${body.to} has no weekday; batch runs compute weekdays only` });
    }
  })
  .meta({ description: "Run the daily batch for every weekday of a date range." });

const wholeNumber = (field: string, min: number, max: number) =>
  z.coerce
    .number({ error: `${field} must be a whole number from ${min} to ${max}` })
    .int({ error: `${field} must be a whole number from ${min} to ${max}` })
    .min(min, { error: `${field} must be a whole number from ${min} to ${max}` })
    .max(max, { error: `${field} must be a whole number from ${min} to ${max}` });

/** `GET /admin/batch/runs` query. */
export const batchRunListQuerySchema = z.strictObject({
  limit: wholeNumber("limit", 1, 100).default(20).meta({ description: "Runs per page, at most 100." }),
  offset: wholeNumber("offset", 0, Number.MAX_SAFE_INTEGER).default(0),
  status: z.enum(batchRunStatuses, { error: `status must be one of ${batchRunStatuses.join(", ")}` }).optional(),
});

/** `GET /admin/batch/runs/:id` query. */
export const batchRunDetailQuerySchema = z.strictObject({
  include_issues: z
    .enum(["true", "false"], { error: "include_issues must be true or false" })
    .default("true")
    .transform((value) => value === "true")
    .meta({ description: "Include each phase's listed skipped/failed items (false for polling)." }),
});

export const dualWriteReportQuerySchema = z
  .strictObject({
    start_date: isoDateField("start_date").meta({ description: "First date of the report, inclusive." }),
    end_date: isoDateField("end_date").meta({ description: `Last date, inclusive; at most ${maxBackfillCalendarDays} calendar days after start_date.` }),
    portfolio_id: z.string().min(1, { error: "portfolio_id must not be empty" }).optional().meta({ description: "Only this portfolio." }),
  })
  .superRefine((query, ctx) => {
    if (query.start_date > query.end_date) {
      ctx.addIssue({ code: "custom", path: ["start_date"], message: `start_date (${query.start_date}) is after end_date (${query.end_date})` });
    } else if (addDays(query.start_date, maxBackfillCalendarDays - 1) < query.end_date) {
      ctx.addIssue({ code: "custom", path: ["end_date"], message: `the range spans more than ${maxBackfillCalendarDays} calendar days` });
    }
  });

async function requirePortfolio(db: Database, portfolioId: string | undefined): Promise<void> {
  if (portfolioId === undefined) return;
  const found = await db.select({ id: portfolios.id }).from(portfolios).where(eq(portfolios.id, portfolioId)).get();
  if (!found) throw new ApiError(404, "NOT_FOUND", `portfolio ${portfolioId} does not exist`);
}

async function startRun(db: Database, queue: Env["BATCH_QUEUE"], request: RunRequest): Promise<BatchRunStartResponse> {
  const result = await createRun(db, queue, request);
  // Unreachable after validation (weekend dates and weekday-less ranges are refused), kept honest.
  if (result.outcome === "skipped") throw validationError("the request has no weekday to compute", [{ path: "", message: "no weekday in the requested dates" }]);
  return { run_id: result.runId, outcome: result.outcome, dates: result.dates };
}

/** `POST /admin/market-data/prices` answer: what the write changed. */
export interface PriceUploadResponse {
  /** Distinct (symbol, date) rows written. */
  rows: number;
  inserted: number;
  /** Stored rows whose values the upload corrected. */
  updated: number;
  /** Rows already stored with the same values. */
  unchanged: number;
  /** Symbols new to the universe. */
  symbols_registered: number;
  /** Known symbols whose first/last seen date the upload widened. */
  symbols_widened: number;
  /** Elements that repeated an earlier one exactly and were skipped, and their indexes. */
  duplicates_skipped: number;
  duplicate_indexes: number[];
}

/** Starts the requested run: 202 with its Location, or 200 with the run already under way. */
async function startRunResponse(
  c: Context<AdminEnv>,
  request: { trigger: "admin" | "backfill"; startDate: string; endDate: string; portfolio_id?: string | undefined; force_rerun?: boolean | undefined },
) {
  const db = getDatabase(c.env);
  await requirePortfolio(db, request.portfolio_id);
  const started = await startRun(db, c.env.BATCH_QUEUE, {
    trigger: request.trigger,
    startDate: request.startDate,
    endDate: request.endDate,
    portfolioId: request.portfolio_id ?? null,
    forceRerun: request.force_rerun ?? false,
    requestedBy: c.get("adminActor"),
  });
  c.header("Location", `/api/v1/admin/batch/runs/${started.run_id}`);
  return c.json(started, started.outcome === "started" ? 202 : 200);
}

export const adminRoutes = new Hono<AdminEnv>()
  .use(adminGuard)
  .post("/batch/run", async (c) => {
    const body = await parseJsonBody(c.req.raw, batchRunRequestSchema);
    return startRunResponse(c, { ...body, trigger: "admin", startDate: body.date, endDate: body.date });
  })
  .post("/batch/backfill", async (c) => {
    const body = await parseJsonBody(c.req.raw, batchBackfillRequestSchema);
    return startRunResponse(c, { ...body, trigger: "backfill", startDate: body.from, endDate: body.to });
  })
  .get("/batch/runs", async (c) => {
    const query = parseQuery(c.req.raw, batchRunListQuerySchema);
    return c.json(await listRuns(getDatabase(c.env), query), 200);
  })
  .get("/batch/runs/:id", async (c) => {
    const query = parseQuery(c.req.raw, batchRunDetailQuerySchema);
    const runId = c.req.param("id");
    const detail = await readRunDetail(getDatabase(c.env), runId, { includeIssues: query.include_issues });
    if (!detail) throw new ApiError(404, "NOT_FOUND", `batch run ${runId} does not exist`);
    return c.json(detail, 200);
  })
  .get("/dual-write/report", async (c) => {
    const query = parseQuery(c.req.raw, dualWriteReportQuerySchema);
    const db = getDatabase(c.env);
    await requirePortfolio(db, query.portfolio_id);
    const report = await buildDualWriteReport(db, { startDate: query.start_date, endDate: query.end_date, portfolioId: query.portfolio_id ?? null });
    return c.json(report, 200);
  })
  .post("/market-data/prices", async (c) => {
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
    };
    return c.json(response, 200);
  });
