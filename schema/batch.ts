import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text, unique } from "drizzle-orm/sqlite-core";
import { createdAt, updatedAt } from "./columns.ts";

export const batchRunStatuses = ["queued", "running", "completed", "partial", "failed"] as const;
/** `portfolio`: a portfolio's history after its positions changed (portfolio phases only). */
export const batchTriggers = ["cron", "admin", "backfill", "portfolio"] as const;
export type BatchRunStatus = (typeof batchRunStatuses)[number];
export type BatchTrigger = (typeof batchTriggers)[number];

/**
 * One row per batch run over a date range. `dedupe_key` makes starting a run idempotent:
 * two cron invocations for the same date insert one row (e.g. `cron:2026-11-20`).
 */
export const batchRuns = sqliteTable(
  "batch_runs",
  {
    id: text("id").primaryKey(),
    dedupeKey: text("dedupe_key").notNull().unique(),
    trigger: text("trigger", { enum: batchTriggers }).notNull(),
    startDate: text("start_date").notNull(),
    endDate: text("end_date").notNull(),
    /** The dates the run computes, ascending (weekdays of the range, plus missed weekdays a cron run catches up). */
    dates: text("dates", { mode: "json" }).notNull().$type<string[]>().default(sql`'[]'`),
    portfolioId: text("portfolio_id"),
    forceRerun: integer("force_rerun", { mode: "boolean" }).notNull().default(false),
    /**
     * Market data: replace closes of another source that differ (an admin's `replace_prices`); default keep and report
     * them.
     */
    replacePrices: integer("replace_prices", { mode: "boolean" }).notNull().default(false),
    /**
     * The phases the run goes through, in order; null = every phase (a portfolio history run has only the portfolio
     * phases).
     */
    phases: text("phases", { mode: "json" }).$type<string[]>(),
    /** Dates added because a price revision made their stored betas stale, with what was revised. */
    staleDates: text("stale_dates", { mode: "json" }).$type<{ date: string; symbols: string[] }[]>(),
    status: text("status", { enum: batchRunStatuses }).notNull().default("queued"),
    requestedBy: text("requested_by"),
    /** Summary counts as JSON (symbols total / computed / skipped / failed, rows stored). */
    counts: text("counts", { mode: "json" }),
    errorText: text("error_text"),
    createdAt: createdAt(),
    startedAt: text("started_at"),
    finishedAt: text("finished_at"),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("batch_runs_status_idx").on(t.status, t.createdAt),
    index("batch_runs_dates_idx").on(t.startDate, t.endDate),
    check("batch_runs_status", sql`${t.status} in ('queued', 'running', 'completed', 'partial', 'failed')`),
    check("batch_runs_dates", sql`${t.startDate} <= ${t.endDate}`),
  ],
);

/** Telemetry: one row per phase per date of a run. */
export const batchPhaseResults = sqliteTable(
  "batch_phase_results",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    runId: text("run_id")
      .notNull()
      .references(() => batchRuns.id, { onDelete: "cascade" }),
    calculationDate: text("calculation_date").notNull(),
    phase: text("phase").notNull(),
    success: integer("success", { mode: "boolean" }).notNull(),
    message: text("message").notNull(),
    counts: text("counts", { mode: "json" }).notNull(),
    durationMs: integer("duration_ms").notNull(),
    errorText: text("error_text"),
    startedAt: text("started_at").notNull(),
    finishedAt: text("finished_at").notNull(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique("batch_phase_results_natural_key").on(t.runId, t.calculationDate, t.phase),
    check("batch_phase_results_duration", sql`${t.durationMs} >= 0`),
  ],
);

export const batchChunkStatuses = ["pending", "done", "failed"] as const;
export type BatchChunkStatus = (typeof batchChunkStatuses)[number];

/**
 * The ledger of a phase's work on a date: one row per chunk of symbols. Consumers move a
 * chunk from `pending` to `done` (or `failed` once dead-lettered) with a conditional update,
 * and the phase completes when no chunk is pending — whichever consumer finishes last
 * records the phase result, and the unique key of `batch_phase_results` lets only one do so.
 */
export const batchChunks = sqliteTable(
  "batch_chunks",
  {
    runId: text("run_id")
      .notNull()
      .references(() => batchRuns.id, { onDelete: "cascade" }),
    calculationDate: text("calculation_date").notNull(),
    phase: text("phase").notNull(),
    chunkIndex: integer("chunk_index").notNull(),
    symbols: text("symbols", { mode: "json" }).notNull().$type<string[]>(),
    status: text("status", { enum: batchChunkStatuses }).notNull().default("pending"),
    /** The chunk's counts as JSON (the phase's own shape), once done. */
    counts: text("counts", { mode: "json" }),
    errorText: text("error_text"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.runId, t.calculationDate, t.phase, t.chunkIndex] }),
    index("batch_chunks_status_idx").on(t.runId, t.calculationDate, t.phase, t.status),
    check("batch_chunks_status", sql`${t.status} in ('pending', 'done', 'failed')`),
  ],
);

/**
 * Price revisions not yet turned into recomputations: a close changed (or appeared) on a date
 * the batch had already computed. `earliest_date` is the earliest such close of the symbol.
 * The next full run turns each into `stale_betas` rows for the computed dates whose windows
 * hold it and deletes it (worker/batch/revisions.ts).
 */
export const priceRevisions = sqliteTable("price_revisions", {
  symbol: text("symbol").primaryKey(),
  earliestDate: text("earliest_date").notNull(),
  updatedAt: updatedAt(),
});

/**
 * Stored betas that a price revision made stale: the universe factors phase recomputes them
 * as if forced, and the mark goes once a run's phase for the date has succeeded. `symbol` is
 * `*` when every symbol of the date is stale (a factor input such as SPY was revised).
 */
export const staleBetas = sqliteTable(
  "stale_betas",
  {
    calculationDate: text("calculation_date").notNull(),
    symbol: text("symbol").notNull(),
    /** What was revised: `SPY from 2025-03-04`. */
    cause: text("cause").notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.calculationDate, t.symbol] })],
);
