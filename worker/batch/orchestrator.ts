// The batch orchestrator: what each queue message does, and how a run moves through its dates
// and phases (docs/design.md §5).
//
//   run.start            → run `running`; a `phase.start` for the first phase of every date
//   phase.start          → the phase's items (symbols, portfolios, the date) planned into ledger
//                          chunks (idempotent), a `phase.chunk` per pending chunk
//   phase.chunk          → the chunk's work (one transaction), the chunk `done` with its
//                          counts; the consumer that finds no chunk pending records the phase
//                          result (unique key: exactly one does) and starts the next phase
//                          itself, as `phase.start` would (one queue hop per phase, not two)
//   after `publish`      → when every date has published, the run ends `completed`, or
//                          `partial` when a phase failed or a chunk was dead-lettered
//
// Dates are independent (a date's phases read only that date's inputs), so a run's dates
// proceed in parallel; within a date, phase n+1 starts only when phase n is recorded.
//
// Exactly-once in effect: every step is safe to repeat. Chunk work is an idempotent upsert,
// a `done` chunk is not redone, and "record the phase, then start the next" is repaired on
// redelivery: only the consumer that records a phase starts the next, and a redelivered
// message (whose first delivery may have died in between) starts it again, re-sending the
// pending chunks, which are idempotent too. A first start sends only the chunks it inserted,
// so consumers racing to finish a phase never multiply its successor's messages.
//
// Lost messages (a `wrangler dev` killed with its queues in memory, a dead letter that could
// not be recorded) are made up for by the sweep (./sweep.ts): it reads what a stalled run
// waits for from the ledger and re-enqueues it; the messages are only its doorbell.
//
// Non-trading weekdays (holidays): after market data, a date on which the market reference
// (SPY) has no close skips the computing phases with the reason `not_trading_day`; publish
// still reports it, so the date counts as published and is not caught up again.
import { marketReferenceSymbol } from "./calendar.ts";
import { factorInputSymbols } from "../factors/factor-specs.ts";
import { and, asc, count, eq, inArray, sql } from "drizzle-orm";
import {
  batchChunks,
  batchPhaseResults,
  batchRuns,
  marketPrices,
  portfolios,
  positions,
  symbolUniverse,
} from "../../schema/index.ts";
import { isoNow } from "../../schema/columns.ts";
import type { Database } from "../db/client.ts";
import { loadActiveFactors } from "../db/factors.ts";
import { describeError, logEvent } from "../log.ts";
import type { BatchCompleted, BatchProgress } from "../realtime/messages.ts";
import {
  hubsOfPortfolios,
  publishBatchEvent,
  publishExposureUpdates,
  storedExposureUpdates,
} from "../realtime/publish.ts";
import type { BatchConfig } from "./config.ts";
import {
  chunkStatus,
  completeChunk,
  failChunk,
  insertPhaseChunks,
  phaseChunks,
  phaseProgress,
  recordPhaseResult,
  type ChunkKey,
  type PhaseKey,
} from "./ledger.ts";
import { marketDataProviderFor, runMarketDataChunk } from "./market-data-phase.ts";
import type { BatchMessage } from "./messages.ts";
import { runPortfolioAnalyticsChunk } from "./portfolio-analytics-phase.ts";
import { computeSymbolMetricsChunk, denormalizeFactorColumns } from "./symbol-metrics-phase.ts";
import {
  addCounts,
  emptyCounts,
  maxListedIssues,
  phasesOfRun,
  recordIssue,
  type BatchPhase,
  type ChunkOutcome,
  type PhaseIssue,
  type PhaseTelemetry,
  type PhaseUnit,
  type StoredPhaseCounts,
} from "./telemetry.ts";
import { clearStaleMarks } from "./revisions.ts";
import { runRiskModelChunk } from "./risk-model-phase.ts";
import { computeUniverseFactorsChunk } from "./universe-factors.ts";

export interface BatchDeps {
  db: Database;
  env: Env;
  queue: Queue<BatchMessage>;
  config: BatchConfig;
  /** The message was delivered before (attempts > 1): repeat steps that may have been cut short. */
  redelivery: boolean;
}

type RunRow = typeof batchRuns.$inferSelect;

/** What each phase's counts count (publish: the portfolios whose numbers it pushed; its one chunk is the date). */
const phaseUnits: Record<BatchPhase, PhaseUnit> = {
  market_data: "symbols",
  symbol_metrics: "symbols",
  universe_factors: "symbols",
  risk_model: "symbols",
  portfolio_analytics: "portfolios",
  denormalize: "symbols",
  publish: "portfolios",
};

/** Phases that compute from the date's closes, skipped on a day without trading. */
const tradingPhases: ReadonlySet<BatchPhase> = new Set([
  "symbol_metrics",
  "universe_factors",
  "risk_model",
  "portfolio_analytics",
  "denormalize",
]);

/** Messages per `sendBatch` call (the Queues limit). */
const maxSendBatch = 100;

export async function processBatchMessage(deps: BatchDeps, message: BatchMessage): Promise<void> {
  switch (message.type) {
    case "run.start":
      return startRun(deps, message.runId);
    case "phase.start":
      return startPhase(deps, { runId: message.runId, calculationDate: message.date, phase: message.phase });
    case "phase.chunk":
      return runChunk(deps, {
        runId: message.runId,
        calculationDate: message.date,
        phase: message.phase,
        chunkIndex: message.chunkIndex,
      });
  }
}

async function loadRun(db: Database, runId: string): Promise<RunRow | undefined> {
  return db.select().from(batchRuns).where(eq(batchRuns.id, runId)).get();
}

async function sendAll(queue: Queue<BatchMessage>, messages: BatchMessage[]): Promise<void> {
  for (let i = 0; i < messages.length; i += maxSendBatch) {
    await queue.sendBatch(messages.slice(i, i + maxSendBatch).map((body) => ({ body })));
  }
}

async function startRun(deps: BatchDeps, runId: string): Promise<void> {
  const { db } = deps;
  const run = await loadRun(db, runId);
  if (!run) {
    logEvent("error", "batch.run_missing", { runId });
    return;
  }
  if (run.status !== "queued" && run.status !== "running") {
    logEvent("info", "batch.run_start_redelivered", { runId, status: run.status });
    return;
  }
  await db
    .update(batchRuns)
    .set({
      status: "running",
      startedAt: sql`coalesce(${batchRuns.startedAt}, ${isoNow})`,
      updatedAt: sql`${isoNow}`,
      // A portfolio history run frees its "queued" key when it starts: later changes start another.
      dedupeKey: sql`case when ${batchRuns.trigger} = 'portfolio'
        then ${batchRuns.dedupeKey} || ':' || ${batchRuns.id} else ${batchRuns.dedupeKey} end`,
    })
    .where(and(eq(batchRuns.id, runId), eq(batchRuns.status, "queued")));
  // Read again: a queued history run's dates may have widened until the update above.
  const started = (await loadRun(db, runId)) ?? run;
  logEvent("info", "batch.run_running", {
    runId,
    dates: started.dates.length,
    startDate: started.startDate,
    endDate: started.endDate,
  });
  if (started.dates.length === 0) {
    await finishRunIfComplete(deps, runId);
    return;
  }
  const [first] = runPhases(started);
  if (!first) throw new Error(`run ${runId} has no phases`);
  await sendAll(
    deps.queue,
    started.dates.map((date) => ({ type: "phase.start", runId, date, phase: first })),
  );
}

function runPhases(run: Pick<RunRow, "phases">): readonly BatchPhase[] {
  return phasesOfRun(run.phases);
}

/**
 * The symbols the run's symbol phases cover: one portfolio's, or the active universe. The
 * system's own symbols (seeded, imported with prices: `added_by` null) always belong; a symbol
 * a tenant brought in through a position belongs while it has prices or while a position open
 * at the run's start holds it (an option through its underlying). A ticker someone added and
 * deleted again, never priced, drops out instead of growing every run for good (issue 15).
 */
async function runSymbols(db: Database, run: RunRow): Promise<string[]> {
  if (run.portfolioId === null) {
    const rows = await db
      .select({ symbol: symbolUniverse.symbol })
      .from(symbolUniverse)
      .where(
        and(
          eq(symbolUniverse.isActive, true),
          sql`(${symbolUniverse.addedBy} is null
            or exists (select 1 from ${marketPrices} where ${marketPrices.symbol} = ${symbolUniverse.symbol})
            or ${symbolUniverse.symbol} in (
              select case when ${positions.instrument} = 'option'
                then ${positions.underlyingSymbol} else ${positions.symbol} end
              from ${positions}
              where ${positions.instrument} <> 'private'
                and (${positions.closedOn} is null or ${positions.closedOn} > ${run.startDate})))`,
        ),
      );
    return rows.map((row) => row.symbol);
  }
  const [held, portfolio, factors] = await Promise.all([
    db
      .select({ symbol: positions.symbol, instrument: positions.instrument, underlying: positions.underlyingSymbol })
      .from(positions)
      .where(eq(positions.portfolioId, run.portfolioId)),
    db
      .select({ benchmark: portfolios.benchmarkSymbol })
      .from(portfolios)
      .where(eq(portfolios.id, run.portfolioId))
      .get(),
    loadActiveFactors(db),
  ]);
  const symbols = new Set<string>([marketReferenceSymbol]);
  if (portfolio) symbols.add(portfolio.benchmark);
  for (const position of held) {
    if (position.instrument === "private") continue;
    symbols.add(position.instrument === "option" && position.underlying ? position.underlying : position.symbol);
  }
  for (const symbol of factorInputSymbols(factors)) symbols.add(symbol);
  return [...symbols];
}

/** Positions per portfolio, which size the portfolio phase's chunks. */
async function positionCounts(db: Database, portfolioIds: readonly string[]): Promise<Map<string, number>> {
  const wanted = new Set(portfolioIds);
  // A few portfolios (a history run's one) by id; many, by one pass over positions.
  const filter = portfolioIds.length <= 500 ? inArray(positions.portfolioId, [...wanted]) : undefined;
  const rows = await db
    .select({ id: positions.portfolioId, n: count() })
    .from(positions)
    .where(filter)
    .groupBy(positions.portfolioId);
  return new Map(rows.filter((row) => wanted.has(row.id)).map((row) => [row.id, row.n]));
}

async function runPortfolios(db: Database, run: RunRow): Promise<string[]> {
  if (run.portfolioId !== null) return [run.portfolioId];
  const rows = await db.select({ id: portfolios.id }).from(portfolios);
  return rows.map((row) => row.id);
}

async function isTradingDay(db: Database, date: string): Promise<boolean> {
  const row = await db
    .select({ n: count() })
    .from(marketPrices)
    .where(and(eq(marketPrices.symbol, marketReferenceSymbol), eq(marketPrices.date, date)))
    .get();
  return (row?.n ?? 0) > 0;
}

function chunkSizeFor(config: BatchConfig, phase: BatchPhase): number {
  if (phase === "market_data") return config.marketDataChunkSize;
  if (phase === "portfolio_analytics") return config.portfolioChunkSize;
  return config.symbolChunkSize;
}

/**
 * Plans the phase and sends its chunks. A first start sends the chunks it planned; a phase
 * planned before sends nothing (another consumer owns it) unless `repair` is set — a
 * redelivered message whose first delivery may have planned and died before sending — which
 * re-sends every pending chunk. So a phase's chunks go out once, not once per racing consumer.
 */
async function startPhase(
  deps: BatchDeps,
  key: PhaseKey & { phase: BatchPhase },
  repair = deps.redelivery,
): Promise<void> {
  const { db } = deps;
  const run = await loadRun(db, key.runId);
  if (!run) {
    logEvent("error", "batch.run_missing", { runId: key.runId, phase: key.phase, date: key.calculationDate });
    return;
  }
  const unit = phaseUnits[key.phase];
  if (tradingPhases.has(key.phase) && !(await isTradingDay(db, key.calculationDate))) {
    const items = unit === "portfolios" ? await runPortfolios(db, run) : await runSymbols(db, run);
    const counts = emptyCounts(unit, items.length);
    counts.skipped = items.length;
    if (items.length > 0) counts.skipped_reasons["not_trading_day"] = items.length;
    const message =
      `not a trading day: ${marketReferenceSymbol} has no close on ${key.calculationDate}; ` +
      `${items.length} ${unit} skipped`;
    await recordAndAdvance(deps, run, key, {
      success: true,
      message,
      counts: storedCounts(counts, [], 0, 0),
      durationMs: 0,
    });
    return;
  }
  const items =
    key.phase === "publish"
      ? [key.calculationDate]
      : unit === "portfolios"
        ? await runPortfolios(db, run)
        : await runSymbols(db, run);
  if (items.length === 0) {
    const message =
      unit === "portfolios" ? "no portfolios to aggregate" : "the symbol universe is empty: nothing to compute";
    await recordAndAdvance(deps, run, key, {
      success: true,
      message,
      counts: storedCounts(emptyCounts(unit), [], 0, 0),
      durationMs: 0,
    });
    return;
  }
  const weighting =
    unit === "portfolios"
      ? { weights: await positionCounts(db, items), budget: deps.config.portfolioChunkPositions }
      : undefined;
  const inserted = await insertPhaseChunks(db, key, items, chunkSizeFor(deps.config, key.phase), weighting);
  let toSend = inserted;
  if (repair) {
    const chunks = await phaseChunks(db, key);
    toSend = chunks.filter((chunk) => chunk.status === "pending").map((chunk) => chunk.chunkIndex);
    if (toSend.length === 0) {
      // Every chunk finished: make sure the phase is recorded and the next one started.
      await finishPhaseIfComplete(deps, run, key);
      return;
    }
  }
  if (toSend.length === 0) return;
  await sendAll(
    deps.queue,
    toSend.map((chunkIndex) => ({
      type: "phase.chunk",
      runId: key.runId,
      date: key.calculationDate,
      phase: key.phase,
      chunkIndex,
    })),
  );
  logEvent("info", "batch.phase_planned", {
    runId: key.runId,
    date: key.calculationDate,
    phase: key.phase,
    items: items.length,
    sent: toSend.length,
    repair,
  });
}

async function runChunk(deps: BatchDeps, key: ChunkKey & { phase: BatchPhase }): Promise<void> {
  const { db } = deps;
  const status = await chunkStatus(db, key);
  if (status === null) {
    logEvent("error", "batch.chunk_missing", { ...key });
    return;
  }
  const run = await loadRun(db, key.runId);
  if (!run) return;
  if (status === "pending") {
    const chunk = (await phaseChunks(db, key)).find((row) => row.chunkIndex === key.chunkIndex);
    if (!chunk) return;
    const started = performance.now();
    const outcome = await processChunk(deps, run, key, chunk.symbols);
    // Wall time in the consumer; in workerd it advances only across I/O, which bounds it.
    outcome.duration_ms = Math.max(outcome.duration_ms, Math.round(performance.now() - started));
    const completed = await completeChunk(db, key, outcome);
    logEvent("info", completed ? "batch.chunk_done" : "batch.chunk_redelivered", {
      runId: key.runId,
      date: key.calculationDate,
      phase: key.phase,
      chunkIndex: key.chunkIndex,
      items: chunk.symbols.length,
      durationMs: outcome.duration_ms,
    });
  }
  await finishPhaseIfComplete(deps, run, key);
}

async function processChunk(
  deps: BatchDeps,
  run: RunRow,
  key: ChunkKey & { phase: BatchPhase },
  items: string[],
): Promise<ChunkOutcome> {
  const { db, env, config } = deps;
  const calculationDate = key.calculationDate;
  const started = Date.now();
  switch (key.phase) {
    case "market_data":
      return runMarketDataChunk(db, marketDataProviderFor(env), {
        calculationDate,
        symbols: items,
        replacePrices: run.replacePrices,
      });
    case "symbol_metrics": {
      const result = await computeSymbolMetricsChunk(db, { calculationDate, symbols: items });
      const counts = emptyCounts("symbols", result.counts.symbolsTotal);
      const issues: PhaseIssue[] = [];
      for (const symbol of result.withoutClose) {
        recordIssue(counts, issues, {
          item: symbol,
          kind: "skipped",
          reason: "no_close_on_date",
          detail: `no close on ${calculationDate}: no metrics row`,
        });
      }
      counts.computed = result.counts.rowsWritten + result.counts.rowsUnchanged;
      counts.rows_stored = result.counts.rowsWritten;
      counts.rows_unchanged = result.counts.rowsUnchanged;
      return { counts, issues, duration_ms: Date.now() - started };
    }
    case "universe_factors": {
      const result = await computeUniverseFactorsChunk(db, {
        calculationDate,
        symbols: items,
        forceRerun: run.forceRerun,
        stalePriceTradingDays: config.stalePriceTradingDays,
        maxDailyMove: config.maxDailyMove,
      });
      const counts = emptyCounts("symbols", result.counts.symbolsTotal);
      const issues: PhaseIssue[] = [];
      counts.computed = result.counts.symbolsComputed;
      counts.skipped = result.counts.symbolsSkipped;
      if (counts.skipped > 0) counts.skipped_reasons["already_stored"] = counts.skipped;
      for (const missing of result.missing) {
        if (missing.factorKey === null) {
          recordIssue(counts, issues, {
            item: missing.symbol,
            kind: "failed",
            reason: missing.reason,
            detail: missing.detail,
          });
        } else {
          // A symbol computed with some factors missing: listed per factor, counted once per beta.
          counts.betas_missing_reasons ??= {};
          counts.betas_missing_reasons[missing.reason] = (counts.betas_missing_reasons[missing.reason] ?? 0) + 1;
          issues.push({
            item: missing.symbol,
            kind: "skipped",
            reason: missing.reason,
            detail: missing.detail,
            factor: missing.factorKey,
          });
        }
      }
      counts.betas_estimated = result.counts.betasEstimated;
      counts.betas_missing = result.counts.betasMissing;
      counts.rows_stored = result.counts.rowsWritten;
      counts.rows_unchanged = result.counts.rowsUnchanged;
      counts.rows_deleted = result.counts.rowsDeleted;
      counts.recomputed_stale = result.counts.recomputedStale;
      counts.returns_rejected = result.rejectedReturns.length;
      for (const rejected of result.rejectedReturns) {
        // Listed, not counted as skipped symbols: the symbol's betas were computed without that return.
        issues.push({
          item: rejected.symbol,
          kind: "skipped",
          reason: rejected.reason,
          detail: `${rejected.date}: ${rejected.detail}`,
        });
      }
      return { counts, issues, duration_ms: Date.now() - started };
    }
    case "risk_model":
      // Chunk 0 also stores the date's factor returns and covariance (./risk-model-phase.ts).
      return runRiskModelChunk(db, {
        calculationDate,
        symbols: items,
        forceRerun: run.forceRerun,
        dateLevel: key.chunkIndex === 0,
        stalePriceTradingDays: config.stalePriceTradingDays,
        maxDailyMove: config.maxDailyMove,
        halfLifeDays: config.riskHalfLifeDays,
      });
    case "portfolio_analytics":
      return runPortfolioAnalyticsChunk(db, {
        calculationDate,
        portfolioIds: items,
        dualWrite: config.dualWrite,
        maxPositions: config.maxPositionsPerPortfolio,
        riskHalfLifeDays: config.riskHalfLifeDays,
      });
    case "denormalize": {
      const result = await denormalizeFactorColumns(db, { calculationDate, symbols: items });
      const counts = emptyCounts("symbols", items.length);
      const issues: PhaseIssue[] = [];
      counts.computed = result.rowsTotal;
      const withoutRow = items.length - result.rowsTotal;
      if (withoutRow > 0) {
        counts.skipped = withoutRow;
        counts.skipped_reasons["no_metrics_row"] = withoutRow;
      }
      counts.rows_stored = result.rowsUpdated;
      counts.rows_unchanged = result.rowsTotal - result.rowsUpdated;
      for (const factor of result.factorsWithoutColumn) {
        issues.push({
          item: factor,
          kind: "skipped",
          reason: "no_factor_column",
          detail: `factor ${factor} has no factor_${factor} column in symbol_daily_metrics`,
        });
      }
      return { counts, issues, duration_ms: Date.now() - started };
    }
    case "publish":
      return publishDate(deps, run, calculationDate);
  }
}

/**
 * The last phase, publish: pushes the date's exposures of every portfolio the run computed to its live hub
 * (`exposures.updated`, cause "batch"), then `batch.completed` to the same hubs.
 */
async function publishDate(deps: BatchDeps, run: RunRow, date: string): Promise<ChunkOutcome> {
  const started = Date.now();
  const { db, env } = deps;
  const results = await db
    .select({ phase: batchPhaseResults.phase, success: batchPhaseResults.success, counts: batchPhaseResults.counts })
    .from(batchPhaseResults)
    .where(and(eq(batchPhaseResults.runId, run.id), eq(batchPhaseResults.calculationDate, date)));
  const analytics = results.find((row) => row.phase === "portfolio_analytics");
  const analyticsCounts = analytics?.counts as StoredPhaseCounts | undefined;
  const hubs = await hubsOfPortfolios(db, run.portfolioId === null ? null : [run.portfolioId]);
  const updates = await storedExposureUpdates(db, [...hubs.keys()], date, "batch");
  const delivered = await publishExposureUpdates(env, db, updates);
  const event: BatchCompleted = {
    type: "batch.completed",
    run_id: run.id,
    run: { trigger: run.trigger, portfolio_id: run.portfolioId, dates_total: run.dates.length },
    date,
    summary: {
      phases_ok: results.filter((row) => row.success).length,
      phases_failed: results.filter((row) => !row.success).length,
      portfolios_updated: analyticsCounts?.computed ?? 0,
    },
  };
  await publishBatchEvent(env, db, run.portfolioId, event);
  const counts = emptyCounts("portfolios", hubs.size);
  counts.computed = updates.length;
  const withoutNumbers = hubs.size - updates.length;
  if (withoutNumbers > 0) {
    counts.skipped = withoutNumbers;
    counts.skipped_reasons["no_snapshot_for_date"] = withoutNumbers;
  }
  counts.hubs_notified = new Set(hubs.values()).size;
  logEvent("info", "batch.published", { runId: run.id, date, portfolios: updates.length, sockets: delivered });
  return { counts, issues: [], duration_ms: Date.now() - started };
}

function storedCounts(
  counts: ReturnType<typeof emptyCounts>,
  issues: PhaseIssue[],
  chunks: number,
  slowest: number,
  done = chunks,
  failed = 0,
): StoredPhaseCounts {
  return {
    ...counts,
    chunks_total: chunks,
    chunks_done: done,
    chunks_failed: failed,
    slowest_chunk_ms: slowest,
    issues: issues.slice(0, maxListedIssues),
    issues_truncated: issues.length > maxListedIssues,
  };
}

function describeReasons(reasons: Record<string, number>): string {
  return Object.entries(reasons)
    .sort((a, b) => b[1] - a[1])
    .map(([reason, n]) => `${reason} ${n}`)
    .join(", ");
}

/** The phase's one-line message: what it did, what it skipped and failed, and why. */
export function phaseMessage(counts: StoredPhaseCounts): string {
  const parts = [`${counts.computed} of ${counts.total} ${counts.unit} computed`];
  if (counts.skipped > 0) parts.push(`${counts.skipped} skipped (${describeReasons(counts.skipped_reasons)})`);
  if (counts.failed > 0) parts.push(`${counts.failed} failed (${describeReasons(counts.failed_reasons)})`);
  const deleted = counts.rows_deleted > 0 ? `, ${counts.rows_deleted} deleted` : "";
  parts.push(`${counts.rows_stored} rows stored, ${counts.rows_unchanged} unchanged${deleted}`);
  if ((counts.price_conflicts_kept ?? 0) > 0)
    parts.push(
      `${counts.price_conflicts_kept} closes of another source kept (source_conflict; replace_prices replaces them)`,
    );
  if ((counts.price_conflicts_replaced ?? 0) > 0)
    parts.push(`${counts.price_conflicts_replaced} closes of another source replaced (replace_prices)`);
  if ((counts.recomputed_stale ?? 0) > 0)
    parts.push(`${counts.recomputed_stale} symbols recomputed after a price revision`);
  if ((counts.returns_rejected ?? 0) > 0)
    parts.push(`${counts.returns_rejected} daily returns not used (suspect moves)`);
  if (counts.loadings_estimated !== undefined) {
    const missing = counts.loadings_missing ?? 0;
    const reasons = missing > 0 ? ` (${describeReasons(counts.loadings_missing_reasons ?? {})})` : "";
    parts.push(`${counts.loadings_estimated} risk loadings estimated, ${missing} stored missing${reasons}`);
  }
  if (counts.factor_returns_stored !== undefined) {
    const unchanged = counts.factor_returns_unchanged ?? 0;
    const deleted = (counts.factor_returns_deleted ?? 0) > 0 ? `, ${counts.factor_returns_deleted} deleted` : "";
    parts.push(`${counts.factor_returns_stored} factor returns stored, ${unchanged} unchanged${deleted}`);
  }
  if (counts.covariance !== undefined) {
    const days = counts.covariance_observations ?? 0;
    parts.push(
      counts.covariance === "estimated"
        ? `factor covariance estimated on ${days} days`
        : `no factor covariance: ${counts.covariance} (${days} days)`,
    );
  }
  if (counts.chunks_failed > 0) parts.push(`${counts.chunks_failed} of ${counts.chunks_total} chunks dead-lettered`);
  return parts.join("; ");
}

/** Records the phase when no chunk is pending (exactly one caller does) and starts the next. */
async function finishPhaseIfComplete(
  deps: BatchDeps,
  run: RunRow,
  key: PhaseKey & { phase: BatchPhase },
): Promise<void> {
  const { db } = deps;
  const progress = await phaseProgress(db, key);
  if (progress.pending > 0 || progress.total === 0) return;
  const chunks = await phaseChunks(db, key);
  const unit = phaseUnits[key.phase];
  const counts = emptyCounts(unit);
  const issues: PhaseIssue[] = [];
  let slowest = 0;
  for (const chunk of chunks) {
    if (chunk.status === "done" && chunk.counts) {
      const outcome = chunk.counts as ChunkOutcome;
      addCounts(counts, outcome.counts);
      issues.push(...outcome.issues);
      slowest = Math.max(slowest, outcome.duration_ms);
    } else if (chunk.status === "failed") {
      // A dead-lettered chunk: every item in it is missing from the phase, with the reason.
      counts.total += chunk.symbols.length;
      for (const item of chunk.symbols) {
        recordIssue(counts, issues, {
          item,
          kind: "failed",
          reason: "chunk_dead_lettered",
          detail: chunk.errorText ?? "the chunk's message exhausted its retries",
        });
      }
    }
  }
  const stored = storedCounts(counts, issues, progress.total, slowest, progress.done, progress.failed);
  // A phase whose every item failed (a provider outage, say) did not succeed, whatever the reason.
  const success = progress.failed === 0 && !(counts.total > 0 && counts.failed === counts.total);
  await recordAndAdvance(deps, run, key, { success, message: phaseMessage(stored), counts: stored, durationMs: null });
}

interface PhaseOutcome {
  success: boolean;
  message: string;
  counts: StoredPhaseCounts;
  /** Null: measured from the first chunk's planning to now. */
  durationMs: number | null;
  errorText?: string;
}

function nextPhase(run: Pick<RunRow, "phases">, phase: BatchPhase): BatchPhase | undefined {
  const phases = runPhases(run);
  return phases[phases.indexOf(phase) + 1];
}

async function recordAndAdvance(
  deps: BatchDeps,
  run: RunRow,
  key: PhaseKey & { phase: BatchPhase },
  outcome: PhaseOutcome,
): Promise<void> {
  const { db } = deps;
  const claimed = await recordPhaseResult(
    db,
    key,
    outcome.durationMs === null ? null : new Date(Date.now() - outcome.durationMs).toISOString(),
    {
      success: outcome.success,
      message: outcome.message,
      counts: outcome.counts,
      errorText: outcome.errorText ?? null,
    },
  );
  // The marks go once the last phase that reads them (risk_model, after universe_factors) is recorded.
  if (
    claimed &&
    key.phase === "risk_model" &&
    outcome.success &&
    run.portfolioId === null &&
    run.trigger !== "portfolio"
  ) {
    await clearStaleMarks(db, key.calculationDate, run.createdAt);
  }
  if (claimed) {
    const stored = await db
      .select({ durationMs: batchPhaseResults.durationMs })
      .from(batchPhaseResults)
      .where(
        and(
          eq(batchPhaseResults.runId, key.runId),
          eq(batchPhaseResults.calculationDate, key.calculationDate),
          eq(batchPhaseResults.phase, key.phase),
        ),
      )
      .get();
    const { issues, issues_truncated, ...counts } = outcome.counts;
    const telemetry: Omit<PhaseTelemetry, "counts"> & {
      counts: Omit<StoredPhaseCounts, "issues" | "issues_truncated">;
      issues_listed: number;
    } = {
      name: key.phase,
      date: key.calculationDate,
      success: outcome.success,
      message: outcome.message,
      counts,
      duration_ms: stored?.durationMs ?? 0,
      issues_listed: issues.length + (issues_truncated ? 1 : 0),
    };
    logEvent(outcome.success ? "info" : "error", "batch.phase", { runId: key.runId, ...telemetry });
    const progress: BatchProgress = {
      type: "batch.progress",
      run_id: key.runId,
      run: { trigger: run.trigger, portfolio_id: run.portfolioId, dates_total: run.dates.length },
      date: key.calculationDate,
      phase: key.phase,
      done: outcome.counts.chunks_done,
      total: outcome.counts.chunks_total,
      success: outcome.success,
    };
    // Progress is news, not state: a hub that cannot be reached must not hold the batch up.
    try {
      await publishBatchEvent(deps.env, db, run.portfolioId, progress);
    } catch (error) {
      logEvent("warn", "batch.progress_not_published", {
        runId: key.runId,
        phase: key.phase,
        error: describeError(error),
      });
    }
  }
  const next = nextPhase(run, key.phase);
  if (next) {
    // The claimer starts the next phase right here (planning it and sending its chunks saves a
    // queue hop per phase). Anyone else does so only when this message is a redelivery: its
    // first delivery may have claimed the phase and died before starting the next one.
    if (claimed || deps.redelivery) await startPhase(deps, { ...key, phase: next });
    return;
  }
  await finishRunIfComplete(deps, run.id);
}

/** Ends the run once every date has published: `completed`, or `partial` with what is missing. */
export async function finishRunIfComplete(deps: Pick<BatchDeps, "db">, runId: string): Promise<void> {
  const { db } = deps;
  const run = await loadRun(db, runId);
  if (!run || (run.status !== "running" && run.status !== "queued")) return;
  const results = await db
    .select({
      date: batchPhaseResults.calculationDate,
      phase: batchPhaseResults.phase,
      success: batchPhaseResults.success,
      message: batchPhaseResults.message,
      counts: batchPhaseResults.counts,
    })
    .from(batchPhaseResults)
    .where(eq(batchPhaseResults.runId, runId))
    .orderBy(asc(batchPhaseResults.calculationDate));
  const published = new Set(results.filter((row) => row.phase === "publish").map((row) => row.date));
  if (!run.dates.every((date) => published.has(date))) return;
  const failedPhases = results.filter((row) => !row.success);
  const failedChunks = await db
    .select({ n: count() })
    .from(batchChunks)
    .where(and(eq(batchChunks.runId, runId), eq(batchChunks.status, "failed")))
    .get();
  const status = failedPhases.length > 0 || (failedChunks?.n ?? 0) > 0 ? "partial" : "completed";
  const totals = {
    dates: run.dates.length,
    phases: results.length,
    phases_failed: failedPhases.length,
    chunks_failed: failedChunks?.n ?? 0,
    rows_stored: 0,
    items_failed: 0,
  };
  for (const row of results) {
    const counts = row.counts as Partial<StoredPhaseCounts> | null;
    // Every row the phase wrote: the risk model's factor returns and covariance besides its loadings.
    totals.rows_stored +=
      (counts?.rows_stored ?? 0) +
      (counts?.factor_returns_stored ?? 0) +
      (counts?.covariance_stored ?? 0) +
      (counts?.risk_summaries_stored ?? 0);
    totals.items_failed += counts?.failed ?? 0;
  }
  const missing = failedPhases.map((row) => `${row.date} ${row.phase}: ${row.message}`);
  // What the sweep recorded while the run stalled (./sweep.ts) stays beside the totals.
  const recovery =
    typeof run.counts === "object" && run.counts !== null ? (run.counts as { recovery?: unknown }).recovery : undefined;
  const finished = await db
    .update(batchRuns)
    .set({
      status,
      counts: recovery === undefined ? totals : { ...totals, recovery },
      finishedAt: sql`${isoNow}`,
      updatedAt: sql`${isoNow}`,
      // An admin or backfill run frees its request key, so the same request can run again.
      dedupeKey: sql`case when ${batchRuns.dedupeKey} like '%:active'
        then ${batchRuns.dedupeKey} || ':' || ${batchRuns.id} else ${batchRuns.dedupeKey} end`,
      ...(missing.length > 0
        ? { errorText: sql`trim(coalesce(${batchRuns.errorText} || char(10), '') || ${missing.join("\n")})` }
        : {}),
    })
    .where(and(eq(batchRuns.id, runId), inArray(batchRuns.status, ["running", "queued"])))
    .returning({ id: batchRuns.id });
  if (finished.length > 0)
    logEvent(status === "completed" ? "info" : "error", "batch.run_finished", { runId, status, ...totals });
}

/**
 * A message that exhausted its retries. A chunk is marked failed and its phase completes
 * without it; a phase that could not start is recorded as failed; either way the run goes on
 * and ends `partial`, with what is missing in its error text. A lost `run.start` ends the run.
 * Every step is safe to repeat: the consumer retries the whole function when a write fails
 * (./consumer.ts), and the DLQ redelivers it rather than dropping an unrecorded outcome.
 */
export async function recordDeadLetter(deps: BatchDeps, message: BatchMessage, attempts: number): Promise<void> {
  const { db } = deps;
  const chunk = message.type === "phase.chunk" ? ` chunk ${message.chunkIndex}` : "";
  const where =
    message.type === "run.start"
      ? `run.start for ${message.date}`
      : `${message.type} ${message.phase}${chunk} for ${message.date}`;
  const reason = `${where} was dead-lettered after ${attempts} attempt(s)`;
  // Appended once: the consumer repeats this whole function when a later write fails.
  await db
    .update(batchRuns)
    .set({
      errorText: sql`case when instr(coalesce(${batchRuns.errorText}, ''), ${reason}) > 0 then ${batchRuns.errorText}
        else trim(coalesce(${batchRuns.errorText} || char(10), '') || ${reason}) end`,
      updatedAt: sql`${isoNow}`,
      ...(message.type === "run.start" ? { status: "partial" as const, finishedAt: sql`${isoNow}` } : {}),
    })
    .where(eq(batchRuns.id, message.runId));
  logEvent("error", "batch.message_dead_lettered", { runId: message.runId, type: message.type, attempts, reason });
  if (message.type === "run.start") return;
  const run = await loadRun(db, message.runId);
  if (!run) return;
  const key = { runId: message.runId, calculationDate: message.date, phase: message.phase };
  if (message.type === "phase.chunk") {
    await failChunk(db, { ...key, chunkIndex: message.chunkIndex }, reason);
    await finishPhaseIfComplete(deps, run, key);
    return;
  }
  const counts = storedCounts(emptyCounts(phaseUnits[message.phase]), [], 0, 0);
  await recordAndAdvance(deps, run, key, {
    success: false,
    message: `could not start the phase: ${reason}`,
    counts,
    durationMs: 0,
    errorText: reason,
  });
}
