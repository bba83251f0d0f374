// Reads of batch runs for the admin API and the `npm run batch` script: the run list and one
// run's detail (progress, phase results, failed chunks). The response types are defined here
// once and imported by the route and the scripts.
//
// Decisions:
// - A date counts as published when its `publish` phase recorded success.
// - A phase result's stored counts (`StoredPhaseCounts`) are served split in two: `counts` (the
//   numbers) and `issues` (the listed skipped/failed items). Issues can be 200 per phase, so a
//   long backfill's detail would run to megabytes; a poller asks for `include_issues=false` and
//   gets the numbers only (`issues` absent, never an empty list that would look like "none").
// - Failed chunks are listed up to `maxListedFailedChunks`, with the total beside them.
import { and, asc, count, desc, eq, inArray, isNotNull, sql, type SQL } from "drizzle-orm";
import {
  batchChunks,
  batchPhaseResults,
  batchRuns,
  type BatchChunkStatus,
  type BatchRunStatus,
  type BatchTrigger,
} from "../../schema/index.ts";
import type { Database } from "../db/client.ts";
import { maxChunkErrorChars, parseChunkError } from "./ledger.ts";
import {
  batchPhases,
  isBatchPhase,
  phasesOfRun,
  type BatchPhase,
  type PhaseIssue,
  type PhaseResultCounts,
  type StoredPhaseCounts,
} from "./telemetry.ts";

/** `POST /admin/batch/run` and `/admin/batch/backfill` answer. */
export interface BatchRunStartResponse {
  run_id: string;
  /** `already_running`: the same request's run was still queued or running; this is that run. */
  outcome: "started" | "already_running";
  dates: string[];
}

/** One run in the run list. */
export interface BatchRunSummary {
  id: string;
  trigger: BatchTrigger;
  status: BatchRunStatus;
  start_date: string;
  end_date: string;
  /** How many dates the run computes. */
  dates_total: number;
  /** Dates whose publish phase succeeded. */
  dates_published: number;
  portfolio_id: string | null;
  force_rerun: boolean;
  /** The phases the run goes through, in order (a portfolio history run: portfolio_analytics and publish). */
  phase_plan: BatchPhase[];
  /** Market data replaced closes of another source (`replace_prices`). */
  replace_prices: boolean;
  /** Dates the run added because a price revision made their stored betas stale. */
  stale_dates: { date: string; symbols: string[] }[];
  requested_by: string | null;
  /** The run's summary counts as the orchestrator records them (JSON), null until then. */
  counts: unknown;
  error_text: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
}

export interface ChunkTally {
  pending: number;
  done: number;
  failed: number;
}

export interface PhaseChunkTally extends ChunkTally {
  phase: string;
}

export interface BatchRunProgress {
  dates_total: number;
  dates_published: number;
  /**
   * The latest date with work recorded (chunks or phase results) and no publish result yet; null when there is none.
   */
  current_date: string | null;
  /** On `current_date`, the first phase (in `batchPhases` order) without a result. */
  current_phase: BatchPhase | null;
  /** The chunks of `current_date`, per phase in phase order (phases that have chunks). */
  current_date_chunks: PhaseChunkTally[];
  /** Every chunk of the run. */
  chunks: ChunkTally;
  /**
   * The latest failure of a chunk still pending (its message is being retried): why the run
   * waits. Absent when no pending chunk has a recorded error.
   */
  last_error?: ChunkRetryError;
}

/** A pending chunk's latest failure, as the consumer recorded it before the retry. */
export interface ChunkRetryError {
  date: string;
  phase: string;
  chunk_index: number;
  /** The delivery attempt that failed. */
  attempt: number | null;
  /** The error, at most `maxChunkErrorChars` characters. */
  message: string;
  at: string;
}

/** One phase result of one date. */
export interface BatchRunPhase {
  date: string;
  /** One of `batchPhases`. */
  name: string;
  success: boolean;
  message: string;
  counts: PhaseResultCounts;
  /** The phase's listed skipped/failed items; absent when the request left them out. */
  issues?: PhaseIssue[];
  /** More issues happened than are listed. */
  issues_truncated: boolean;
  duration_ms: number;
  started_at: string;
  finished_at: string;
  error_text: string | null;
}

export interface FailedChunk {
  date: string;
  phase: string;
  chunk_index: number;
  /** The chunk's items (symbols, portfolios, …). */
  items: string[];
  error_text: string | null;
  updated_at: string;
}

export interface BatchRunDetail {
  run: BatchRunSummary & { dates: string[] };
  progress: BatchRunProgress;
  /** Ordered by date, then phase order. */
  phases: BatchRunPhase[];
  /** The first `maxListedFailedChunks` failed chunks, by date, phase order and index. */
  failed_chunks: FailedChunk[];
  failed_chunks_total: number;
}

export interface RunListQuery {
  limit: number;
  offset: number;
  status?: BatchRunStatus | undefined;
}

export interface RunList {
  runs: BatchRunSummary[];
  total_count: number;
}

export const maxListedFailedChunks = 200;

/** Terminal statuses: the run will not change any more. */
export const finishedRunStatuses: readonly BatchRunStatus[] = ["completed", "partial", "failed"];

type BatchRunRow = typeof batchRuns.$inferSelect;

function phaseOrder(phase: string): number {
  return isBatchPhase(phase) ? batchPhases.indexOf(phase) : batchPhases.length;
}

/** SQL ordering key of a phase column: its position in `batchPhases`, unknown phases last. */
function phaseOrderSql(column: typeof batchChunks.phase): SQL {
  const cases = batchPhases.map((phase, index) => sql`when ${phase} then ${index}`);
  return sql`case ${column} ${sql.join(cases, sql` `)} else ${batchPhases.length} end`;
}

function toSummary(row: BatchRunRow, datesPublished: number): BatchRunSummary {
  return {
    id: row.id,
    trigger: row.trigger,
    status: row.status,
    start_date: row.startDate,
    end_date: row.endDate,
    dates_total: row.dates.length,
    dates_published: datesPublished,
    portfolio_id: row.portfolioId,
    force_rerun: row.forceRerun,
    phase_plan: [...phasesOfRun(row.phases)],
    replace_prices: row.replacePrices,
    stale_dates: row.staleDates ?? [],
    requested_by: row.requestedBy,
    counts: row.counts ?? null,
    error_text: row.errorText,
    created_at: row.createdAt,
    started_at: row.startedAt,
    finished_at: row.finishedAt,
    updated_at: row.updatedAt,
  };
}

async function publishedDateCounts(db: Database, runIds: readonly string[]): Promise<Map<string, number>> {
  if (runIds.length === 0) return new Map();
  const rows = await db
    .select({ runId: batchPhaseResults.runId, n: sql<number>`count(distinct ${batchPhaseResults.calculationDate})` })
    .from(batchPhaseResults)
    .where(
      and(
        inArray(batchPhaseResults.runId, [...runIds]),
        eq(batchPhaseResults.phase, "publish"),
        eq(batchPhaseResults.success, true),
      ),
    )
    .groupBy(batchPhaseResults.runId);
  return new Map(rows.map((row) => [row.runId, Number(row.n)]));
}

/** Runs, newest first (creation time, then insertion order for runs created in the same millisecond). */
export async function listRuns(db: Database, query: RunListQuery): Promise<RunList> {
  const where = query.status === undefined ? undefined : eq(batchRuns.status, query.status);
  const [rows, total] = await Promise.all([
    db
      .select()
      .from(batchRuns)
      .where(where)
      .orderBy(desc(batchRuns.createdAt), desc(sql`${batchRuns}.rowid`))
      .limit(query.limit)
      .offset(query.offset),
    db.select({ n: count() }).from(batchRuns).where(where).get(),
  ]);
  const published = await publishedDateCounts(
    db,
    rows.map((row) => row.id),
  );
  return { runs: rows.map((row) => toSummary(row, published.get(row.id) ?? 0)), total_count: total?.n ?? 0 };
}

export interface RunDetailOptions {
  /** Include each phase's listed issues (default true). */
  includeIssues?: boolean;
}

/** One run with its progress, phase results and failed chunks; null when there is no such run. */
export async function readRunDetail(
  db: Database,
  runId: string,
  options: RunDetailOptions = {},
): Promise<BatchRunDetail | null> {
  const run = await db.select().from(batchRuns).where(eq(batchRuns.id, runId)).get();
  if (!run) return null;
  const [phaseRows, chunkTallies, failedRows, lastErrorRow] = await Promise.all([
    db.select().from(batchPhaseResults).where(eq(batchPhaseResults.runId, runId)),
    db
      .select({
        date: batchChunks.calculationDate,
        phase: batchChunks.phase,
        status: batchChunks.status,
        n: sql<number>`count(*)`,
      })
      .from(batchChunks)
      .where(eq(batchChunks.runId, runId))
      .groupBy(batchChunks.calculationDate, batchChunks.phase, batchChunks.status),
    db
      .select()
      .from(batchChunks)
      .where(and(eq(batchChunks.runId, runId), eq(batchChunks.status, "failed")))
      .orderBy(asc(batchChunks.calculationDate), asc(phaseOrderSql(batchChunks.phase)), asc(batchChunks.chunkIndex))
      .limit(maxListedFailedChunks),
    db
      .select({
        date: batchChunks.calculationDate,
        phase: batchChunks.phase,
        chunkIndex: batchChunks.chunkIndex,
        errorText: batchChunks.errorText,
        updatedAt: batchChunks.updatedAt,
      })
      .from(batchChunks)
      .where(and(eq(batchChunks.runId, runId), eq(batchChunks.status, "pending"), isNotNull(batchChunks.errorText)))
      .orderBy(desc(batchChunks.updatedAt))
      .limit(1)
      .get(),
  ]);

  const includeIssues = options.includeIssues ?? true;
  const phases = phaseRows
    .map((row): BatchRunPhase => {
      const { issues, issues_truncated, ...counts } = row.counts as StoredPhaseCounts;
      return {
        date: row.calculationDate,
        name: row.phase,
        success: row.success,
        message: row.message,
        counts,
        ...(includeIssues && Array.isArray(issues) ? { issues } : {}),
        issues_truncated: issues_truncated ?? false,
        duration_ms: row.durationMs,
        started_at: row.startedAt,
        finished_at: row.finishedAt,
        error_text: row.errorText,
      };
    })
    .sort(
      (a, b) => a.date.localeCompare(b.date) || phaseOrder(a.name) - phaseOrder(b.name) || a.name.localeCompare(b.name),
    );

  const publishedDates = new Set(
    phases.filter((phase) => phase.name === "publish" && phase.success).map((phase) => phase.date),
  );
  const progress = buildProgress(run.dates.length, publishedDates.size, phases, chunkTallies, phasesOfRun(run.phases));
  if (lastErrorRow?.errorText) {
    const parsed = parseChunkError(lastErrorRow.errorText);
    progress.last_error = {
      date: lastErrorRow.date,
      phase: lastErrorRow.phase,
      chunk_index: lastErrorRow.chunkIndex,
      attempt: parsed?.attempt ?? null,
      message: (parsed?.message ?? lastErrorRow.errorText).slice(0, maxChunkErrorChars),
      at: lastErrorRow.updatedAt,
    };
  }
  const failedChunksTotal = progress.chunks.failed;

  return {
    run: { ...toSummary(run, publishedDates.size), dates: run.dates },
    progress,
    phases,
    failed_chunks: failedRows.map((row) => ({
      date: row.calculationDate,
      phase: row.phase,
      chunk_index: row.chunkIndex,
      items: row.symbols,
      error_text: row.errorText,
      updated_at: row.updatedAt,
    })),
    failed_chunks_total: failedChunksTotal,
  };
}

interface ChunkTallyRow {
  date: string;
  phase: string;
  status: BatchChunkStatus;
  n: number;
}

function buildProgress(
  datesTotal: number,
  datesPublished: number,
  phases: readonly BatchRunPhase[],
  chunkRows: readonly ChunkTallyRow[],
  runPhases: readonly BatchPhase[],
): BatchRunProgress {
  const chunks: ChunkTally = { pending: 0, done: 0, failed: 0 };
  for (const row of chunkRows) chunks[row.status] += Number(row.n);

  // A date is finished once publish recorded a result, whether or not it succeeded.
  const finishedDates = new Set(phases.filter((phase) => phase.name === "publish").map((phase) => phase.date));
  const activeDates = new Set(
    [...phases.map((phase) => phase.date), ...chunkRows.map((row) => row.date)].filter(
      (date) => !finishedDates.has(date),
    ),
  );
  const currentDate = [...activeDates].sort().at(-1) ?? null;
  if (currentDate === null)
    return {
      dates_total: datesTotal,
      dates_published: datesPublished,
      current_date: null,
      current_phase: null,
      current_date_chunks: [],
      chunks,
    };

  const recorded = new Set(phases.filter((phase) => phase.date === currentDate).map((phase) => phase.name));
  const currentPhase = runPhases.find((phase) => !recorded.has(phase)) ?? null;
  const byPhase = new Map<string, PhaseChunkTally>();
  for (const row of chunkRows) {
    if (row.date !== currentDate) continue;
    let tally = byPhase.get(row.phase);
    if (!tally) {
      tally = { phase: row.phase, pending: 0, done: 0, failed: 0 };
      byPhase.set(row.phase, tally);
    }
    tally[row.status] += Number(row.n);
  }
  const currentDateChunks = [...byPhase.values()].sort(
    (a, b) => phaseOrder(a.phase) - phaseOrder(b.phase) || a.phase.localeCompare(b.phase),
  );
  return {
    dates_total: datesTotal,
    dates_published: datesPublished,
    current_date: currentDate,
    current_phase: currentPhase,
    current_date_chunks: currentDateChunks,
    chunks,
  };
}
