import { sql } from "drizzle-orm";
import { check, index, integer, sqliteTable, text, unique } from "drizzle-orm/sqlite-core";
import { createdAt, updatedAt } from "./columns.ts";

export const batchRunStatuses = ["queued", "running", "completed", "partial", "failed"] as const;
export const batchTriggers = ["cron", "admin", "backfill"] as const;
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
    portfolioId: text("portfolio_id"),
    forceRerun: integer("force_rerun", { mode: "boolean" }).notNull().default(false),
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
