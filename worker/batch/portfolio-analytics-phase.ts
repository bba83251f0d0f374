// Phase 4 of the daily batch for one chunk of portfolios: per portfolio, the factor
// exposures aggregated from the cached symbol betas, the day's P&L snapshot and the built-in
// stress results on the calculation date D; with dual-write on, also the per-position betas
// the old way (docs/design.md §6), so `dual-write-report.ts` can compare the two paths.
//
// Inputs (no price re-reads on the aggregate path):
// - closes and 1-day returns of the beta symbols (a stock's or ETF's own symbol, an option's
//   underlying) from `symbol_daily_metrics` on D (`current_price`, `return_1d`; phase 2);
// - betas from `symbol_factor_exposures` on D (phase 3). Stored rows are estimates only, so a
//   symbol phase 3 could not estimate reads as `no_betas` / `beta_not_found` in data_quality
//   (its own reason is in phase 3's telemetry). The table does not keep the factor
//   observations of an estimate; the aggregation does not read them, and the loaded beta
//   carries its own observations there.
// - every position of the portfolio, in id order (so sums are reproducible to the last bit):
//   `aggregatePortfolio` keeps those held on D.
//
// Writes, all of the chunk's in one transaction, each an upsert on its natural key that
// leaves identical rows untouched (and counts them as unchanged):
// - `portfolio_factor_exposures`: one row per factor with an exposure (exposure_dollar not
//   null). `exposure_value` is null when equity ≤ 0 (weights undefined), `coverage` null when
//   gross is 0. A factor without an exposure gets no row, and a row stored for it on D by an
//   earlier run is deleted.
// - `portfolio_snapshots`: equity, gross, net, the aggregation's `data_quality` (JSON) and
//   the day's P&L from the symbol returns. For each valued position with a delta whose beta
//   symbol has a `return_1d` on D:
//     pnl_i = marketValue_i × delta_i × r_i / (1 + r_i)
//   (market value today is mv_i, so yesterday's was mv_i / (1 + r_i); options move by their
//   delta-approximated notional). daily_pnl = Σ pnl_i, null (never 0) when no position has a
//   return; daily_return = daily_pnl / (equity − daily_pnl), the previous equity at today's
//   cash, when that base is > 0, else null. A position opened on D is left out of the P&L: it
//   was not held at the previous close, and the day's return is not its gain (one opened on
//   a weekend or holiday before D entered at the previous close, so it counts).
// - `portfolio_stress_results`: every built-in scenario (`stress_scenarios.builtin = 1`)
//   through `runStressTest`. A built-in scenario that does not validate against the active
//   factors (a shocked factor deactivated) is skipped for the chunk and logged
//   (`portfolio_analytics.scenario_invalid`), and its stale rows on D are deleted.
// - with `dualWrite`, `position_factor_exposures`: per valued position with a weight and a
//   delta, per factor its beta symbol has an estimate for, computed independently by the
//   per-symbol path (`computeSymbolBetasDirect` on the closes in `market_prices`): beta_value
//   (the underlying's for options), weight, delta, exposure_value = weight × delta × beta,
//   is_option. `symbol` is the beta symbol (the symbol whose beta the row holds; the
//   underlying for options), so the report compares it with that symbol's cached beta
//   without re-reading the position. Positions without weight (equity ≤ 0), delta or beta
//   get no row (never a 0), and stale rows of the portfolio on D are deleted. With dual-write
//   off the phase does not touch that table.
//
// Counts (unit `portfolios`):
// - `computed`: aggregated and written.
// - `skipped` `not_found`: no such portfolio; nothing written.
// - `skipped` `no_positions_held`: the portfolio exists but holds nothing on D. Its snapshot
//   is still written (equity = cash, gross = net = 0, P&L null), so an equity history has no
//   hole, and its exposure, stress (and with dual-write, position) rows on D are deleted: no
//   positions, nothing to stress; rows left from an earlier run would be stale.
// - `failed` `invalid_holdings` (a `HoldingValidationError`, with every field issue) or
//   `aggregation_error` (a RangeError: an overflow in the aggregation, stress or P&L): nothing
//   of that portfolio is written or deleted (the rows of an earlier run stay until a run
//   succeeds), and the chunk goes on.
// - `failed` `too_many_positions`: more positions than `maxPositions` (MAX_POSITIONS_PER_PORTFOLIO,
//   the API's cap; one got there around it); its positions are not even loaded.
// - `failed` `write_failed`: the chunk's one write batch failed for a reason of the data (not
//   the database's: those retry the chunk), so each portfolio was computed and written alone,
//   and this one's write failed too; the others keep their numbers (issue 15).
// The orchestrator also cuts the phase's chunks by positions (BATCH_PORTFOLIO_CHUNK_POSITIONS),
// so a large portfolio has a chunk of its own.
// - rows_stored / rows_unchanged / rows_deleted over every table written.
import { marketReferenceSymbol } from "./calendar.ts";
import { factorInputSymbols } from "../factors/factor-specs.ts";
import { and, count, eq, gt, inArray, lte, sql } from "drizzle-orm";
import type { SQLWrapper } from "drizzle-orm";
import {
  marketPrices,
  portfolioFactorExposures,
  portfolioSnapshots,
  portfolioStressResults,
  portfolios,
  positionFactorExposures,
  positions,
  stressScenarios,
  symbolDailyMetrics,
} from "../../schema/index.ts";
import { addDays } from "../dates.ts";
import { databaseFault, type Database } from "../db/client.ts";
import { loadStoredBetaTable } from "../db/betas.ts";
import { loadActiveFactors } from "../db/factors.ts";
import { runWrites } from "../db/transaction.ts";
import { upsertStatements } from "../db/upsert.ts";
import { buildFactorEngineInput, computeSymbolBetasDirect, FactorEngineError } from "../factors/engine.ts";
import type { FactorEngineInput } from "../factors/engine.ts";
import { aggregatePortfolio, betaSymbolOf, HoldingValidationError, isHeldOn } from "../factors/portfolio.ts";
import type { BetaTable, PortfolioAggregation } from "../factors/portfolio.ts";
import { runStressTest, stressScenarioIssues } from "../factors/stress.ts";
import type { StressScenario } from "../factors/stress.ts";
import type { FactorSpec, SymbolBetas } from "../factors/types.ts";
import { logEvent } from "../log.ts";
import { addCounts, emptyCounts, recordIssue } from "./telemetry.ts";
import type { ChunkOutcome, PhaseIssue } from "./telemetry.ts";

export interface PortfolioAnalyticsChunk {
  calculationDate: string;
  portfolioIds: readonly string[];
  /** Also write `position_factor_exposures` the old, per-position way. */
  dualWrite: boolean;
  /** A portfolio holding more positions is not computed: `failed` `too_many_positions` (default 10,000). */
  maxPositions?: number;
}

const defaultMaxPositions = 10_000;
/** Characters of a write error kept in a portfolio's issue. */
const maxErrorDetail = 300;

/** Calendar days loaded before the longest window: the close before its first return. */
const priceLookbackDays = 10;
/** Ids per `id in (…)` delete. */
const idsPerDelete = 500;

/** The day's P&L from the symbol returns (see the header for the definition). */
export function dailyPnlOf(
  aggregation: Pick<PortfolioAggregation, "positions" | "equity" | "date">,
  openedOn: ReadonlyMap<string, string | null | undefined>,
  returns: ReadonlyMap<string, number>,
): { dailyPnl: number | null; dailyReturn: number | null } {
  let dailyPnl: number | null = null;
  for (const p of aggregation.positions) {
    if (p.marketValue === null || p.delta === null) continue;
    const opened = openedOn.get(p.positionId);
    if (opened !== null && opened !== undefined && opened >= aggregation.date) continue;
    const r = returns.get(p.betaSymbol);
    if (r === undefined) continue;
    dailyPnl = (dailyPnl ?? 0) + (p.marketValue * p.delta * r) / (1 + r);
  }
  if (dailyPnl === null) return { dailyPnl: null, dailyReturn: null };
  if (!Number.isFinite(dailyPnl)) throw new RangeError(`daily P&L overflowed: ${dailyPnl}`);
  const base = aggregation.equity - dailyPnl;
  return { dailyPnl, dailyReturn: base > 0 ? dailyPnl / base : null };
}

type ExposureRow = typeof portfolioFactorExposures.$inferInsert;
type SnapshotRow = typeof portfolioSnapshots.$inferInsert;
type StressRow = typeof portfolioStressResults.$inferInsert;
type PositionExposureRow = typeof positionFactorExposures.$inferInsert;

/** What the chunk will write: the rows to upsert and the natural keys each portfolio keeps on D. */
interface ChunkWrites {
  exposures: ExposureRow[];
  snapshots: SnapshotRow[];
  stress: StressRow[];
  positionExposures: PositionExposureRow[];
  /** Portfolios whose rows on D are rewritten (computed or skipped with no positions held). */
  handled: string[];
}

/** Closes and 1-day returns of the beta symbols on D, from phase 2's rows. */
async function loadSymbolMarket(db: Database, date: string, symbols: readonly string[]) {
  const closes = new Map<string, number>();
  const returns = new Map<string, number>();
  if (symbols.length === 0) return { closes, returns };
  const rows = await db
    .select({
      symbol: symbolDailyMetrics.symbol,
      price: symbolDailyMetrics.currentPrice,
      return1d: symbolDailyMetrics.return1d,
    })
    .from(symbolDailyMetrics)
    .where(and(eq(symbolDailyMetrics.metricsDate, date), inArray(symbolDailyMetrics.symbol, [...symbols])));
  for (const row of rows) {
    if (row.price !== null) closes.set(row.symbol, row.price);
    if (row.return1d !== null) returns.set(row.symbol, row.return1d);
  }
  return { closes, returns };
}

/** The per-symbol path's betas, from the closes in `market_prices` (dual-write only). */
async function directBetaSource(
  db: Database,
  date: string,
  symbols: readonly string[],
  factors: readonly FactorSpec[],
) {
  const windowDays = Math.max(...factors.map((factor) => factor.windowDays));
  const from = addDays(date, -(windowDays + priceLookbackDays));
  const priceSymbols = new Set<string>([...symbols, marketReferenceSymbol]);
  for (const symbol of factorInputSymbols(factors)) priceSymbols.add(symbol);
  const prices = await db
    .select({
      symbol: marketPrices.symbol,
      date: marketPrices.date,
      close: marketPrices.close,
      adjClose: marketPrices.adjClose,
    })
    .from(marketPrices)
    .where(
      and(inArray(marketPrices.symbol, [...priceSymbols]), gt(marketPrices.date, from), lte(marketPrices.date, date)),
    );
  const input: FactorEngineInput = buildFactorEngineInput(prices, factors).input;
  const cache = new Map<string, SymbolBetas | null>();
  return (symbol: string): SymbolBetas | null => {
    if (!cache.has(symbol)) {
      let betas: SymbolBetas | null;
      try {
        betas = computeSymbolBetasDirect(input, symbol, date);
      } catch (error) {
        // No closes in the window: no betas, so no rows (the aggregate path reports the symbol).
        if (!(error instanceof FactorEngineError && error.code === "unknown_symbol")) throw error;
        betas = null;
      }
      cache.set(symbol, betas);
    }
    return cache.get(symbol) ?? null;
  };
}

/** The old path's rows of one aggregated portfolio. */
function positionExposureRows(
  portfolioId: string,
  aggregation: PortfolioAggregation,
  factors: readonly FactorSpec[],
  directBetas: (symbol: string) => SymbolBetas | null,
): PositionExposureRow[] {
  const rows: PositionExposureRow[] = [];
  for (const p of aggregation.positions) {
    if (p.status !== "valued" || p.weight === null || p.delta === null) continue;
    const betas = directBetas(p.betaSymbol);
    if (!betas) continue;
    for (const factor of factors) {
      const beta = betas.betas[factor.key];
      if (beta?.status !== "estimated") continue;
      const exposureValue = p.weight * p.delta * beta.beta;
      if (!Number.isFinite(exposureValue))
        throw new RangeError(`position exposure of ${p.positionId} on ${factor.key} overflowed`);
      rows.push({
        portfolioId,
        positionId: p.positionId,
        symbol: p.betaSymbol,
        factorId: factor.id,
        calculationDate: aggregation.date,
        betaValue: beta.beta,
        weight: p.weight,
        delta: p.delta,
        exposureValue,
        isOption: p.instrument === "option",
      });
    }
  }
  return rows;
}

/**
 * Ids of the rows stored on D for the handled portfolios whose natural key is not among the
 * rows about to be written: stale rows. Read before the transaction; an id another delivery
 * removed meanwhile deletes nothing, and rows it wrote are the same rows this one writes.
 */
async function staleIds(
  query: (portfolioIds: string[]) => Promise<{ id: number; key: string }[]>,
  handled: readonly string[],
  keep: ReadonlySet<string>,
): Promise<number[]> {
  if (handled.length === 0) return [];
  const stored = await query([...handled]);
  return stored.filter((row) => !keep.has(row.key)).map((row) => row.id);
}

const keyOf = (...parts: (string | number)[]) => parts.join("\u001f");
/** The SQL side of `keyOf`: columns joined by the unit separator, char(31). */
const storedKey = (...columns: SQLWrapper[]) => sql<string>`${sql.join(columns, sql` || char(31) || `)}`;

export async function runPortfolioAnalyticsChunk(db: Database, chunk: PortfolioAnalyticsChunk): Promise<ChunkOutcome> {
  const started = Date.now();
  const date = chunk.calculationDate;
  const portfolioIds = [...new Set(chunk.portfolioIds)];
  const counts = emptyCounts("portfolios", portfolioIds.length);
  const issues: PhaseIssue[] = [];
  if (portfolioIds.length === 0) return { counts, issues, duration_ms: Date.now() - started };

  // Sizes first: a portfolio over the cap is refused alone, and its positions are never loaded.
  const maxPositions = chunk.maxPositions ?? defaultMaxPositions;
  const sizes = await db
    .select({ id: positions.portfolioId, n: count() })
    .from(positions)
    .where(inArray(positions.portfolioId, portfolioIds))
    .groupBy(positions.portfolioId);
  const oversized = new Map(sizes.filter((row) => row.n > maxPositions).map((row) => [row.id, row.n]));
  const loadable = portfolioIds.filter((id) => !oversized.has(id));

  const [factors, portfolioRows, positionRows, scenarioRows] = await Promise.all([
    loadActiveFactors(db),
    db
      .select({ id: portfolios.id, cash: portfolios.cash })
      .from(portfolios)
      .where(inArray(portfolios.id, portfolioIds)),
    loadable.length === 0
      ? Promise.resolve([])
      : db
          .select()
          .from(positions)
          .where(inArray(positions.portfolioId, loadable))
          .orderBy(positions.portfolioId, positions.id),
    db
      .select({
        id: stressScenarios.id,
        name: stressScenarios.name,
        description: stressScenarios.description,
        shocks: stressScenarios.shocks,
      })
      .from(stressScenarios)
      .where(eq(stressScenarios.builtin, true))
      .orderBy(stressScenarios.id),
  ]);

  const scenarios: StressScenario[] = [];
  for (const row of scenarioRows) {
    const scenarioIssues = stressScenarioIssues(row.shocks, factors);
    if (scenarioIssues.length > 0) {
      logEvent("warn", "portfolio_analytics.scenario_invalid", {
        calculationDate: date,
        scenarioId: row.id,
        issues: scenarioIssues.map((issue) => issue.message),
      });
      continue;
    }
    scenarios.push(row);
  }

  const holdingsByPortfolio = new Map<string, (typeof positionRows)[number][]>();
  for (const row of positionRows) {
    const list = holdingsByPortfolio.get(row.portfolioId) ?? [];
    list.push(row);
    holdingsByPortfolio.set(row.portfolioId, list);
  }
  const betaSymbols = new Set<string>();
  for (const row of positionRows)
    if (row.instrument !== "private" && isHeldOn(row, date)) betaSymbols.add(betaSymbolOf(row));
  const [{ closes, returns }, betas] = await Promise.all([
    loadSymbolMarket(db, date, [...betaSymbols]),
    loadStoredBetaTable(db, date, [...betaSymbols], factors),
  ]);
  const betaTable: BetaTable = betas;
  const directBetas =
    chunk.dualWrite && betaSymbols.size > 0 && factors.length > 0
      ? await directBetaSource(db, date, [...betaSymbols], factors)
      : () => null;

  const cashById = new Map(portfolioRows.map((row) => [row.id, row.cash]));
  const writes: ChunkWrites = { exposures: [], snapshots: [], stress: [], positionExposures: [], handled: [] };
  for (const portfolioId of portfolioIds) {
    const cash = cashById.get(portfolioId);
    if (cash === undefined) {
      recordIssue(counts, issues, {
        item: portfolioId,
        kind: "skipped",
        reason: "not_found",
        detail: "no such portfolio",
      });
      continue;
    }
    const size = oversized.get(portfolioId);
    if (size !== undefined) {
      // Nothing of it is written or deleted: its rows of an earlier run stay until it fits again.
      recordIssue(counts, issues, {
        item: portfolioId,
        kind: "failed",
        reason: "too_many_positions",
        detail: `${size} positions, over the limit of ${maxPositions} (MAX_POSITIONS_PER_PORTFOLIO); not computed`,
      });
      continue;
    }
    const holdings = holdingsByPortfolio.get(portfolioId) ?? [];
    let portfolioWrites: Omit<ChunkWrites, "handled">;
    try {
      const aggregation = aggregatePortfolio({ date, holdings, cash, closes, betas: betaTable, factors });
      const snapshot = (pnl: { dailyPnl: number | null; dailyReturn: number | null }): SnapshotRow => ({
        portfolioId,
        date,
        equity: aggregation.equity,
        gross: aggregation.gross,
        net: aggregation.net,
        dailyPnl: pnl.dailyPnl,
        dailyReturn: pnl.dailyReturn,
        dataQuality: aggregation.dataQuality,
      });
      if (aggregation.positions.length === 0) {
        recordIssue(counts, issues, {
          item: portfolioId,
          kind: "skipped",
          reason: "no_positions_held",
          detail: `no position held on ${date} (${holdings.length} on record): snapshot at equity = cash, no exposures`,
        });
        portfolioWrites = {
          exposures: [],
          snapshots: [snapshot({ dailyPnl: null, dailyReturn: null })],
          stress: [],
          positionExposures: [],
        };
      } else {
        const openedOn = new Map(holdings.map((h) => [h.id, h.openedOn]));
        portfolioWrites = {
          exposures: aggregation.exposures
            .filter((e) => e.exposureDollar !== null)
            .map((e) => ({
              portfolioId,
              factorId: e.factorId,
              calculationDate: date,
              exposureValue: e.exposure,
              exposureDollar: e.exposureDollar as number,
              coverage: e.coverage,
              rSquared: e.rSquared,
              positionsUsed: e.positionsUsed,
              positionsTotal: e.positionsTotal,
            })),
          snapshots: [snapshot(dailyPnlOf(aggregation, openedOn, returns))],
          stress: scenarios.map((scenario) => {
            const result = runStressTest(aggregation, scenario);
            return {
              portfolioId,
              scenarioId: scenario.id,
              calculationDate: date,
              totalImpact: result.total,
              totalReturn: result.totalReturn,
              complete: result.complete,
              impacts: result.impacts,
              missing: result.missing,
            };
          }),
          positionExposures: chunk.dualWrite
            ? positionExposureRows(portfolioId, aggregation, factors, directBetas)
            : [],
        };
        counts.computed++;
      }
    } catch (error) {
      if (error instanceof HoldingValidationError) {
        recordIssue(counts, issues, {
          item: portfolioId,
          kind: "failed",
          reason: "invalid_holdings",
          detail: error.issues.map((issue) => `${issue.positionId}.${issue.field}: ${issue.message}`).join("; "),
        });
        continue;
      }
      if (error instanceof RangeError) {
        recordIssue(counts, issues, {
          item: portfolioId,
          kind: "failed",
          reason: "aggregation_error",
          detail: error.message,
        });
        continue;
      }
      throw error;
    }
    writes.handled.push(portfolioId);
    writes.exposures.push(...portfolioWrites.exposures);
    writes.snapshots.push(...portfolioWrites.snapshots);
    writes.stress.push(...portfolioWrites.stress);
    writes.positionExposures.push(...portfolioWrites.positionExposures);
  }

  const [staleExposures, staleStress, stalePositionExposures] = await Promise.all([
    staleIds(
      (ids) =>
        db
          .select({
            id: portfolioFactorExposures.id,
            key: storedKey(portfolioFactorExposures.portfolioId, portfolioFactorExposures.factorId),
          })
          .from(portfolioFactorExposures)
          .where(
            and(eq(portfolioFactorExposures.calculationDate, date), inArray(portfolioFactorExposures.portfolioId, ids)),
          ),
      writes.handled,
      new Set(writes.exposures.map((row) => keyOf(row.portfolioId, row.factorId))),
    ),
    staleIds(
      (ids) =>
        db
          .select({
            id: portfolioStressResults.id,
            key: storedKey(portfolioStressResults.portfolioId, portfolioStressResults.scenarioId),
          })
          .from(portfolioStressResults)
          .where(
            and(eq(portfolioStressResults.calculationDate, date), inArray(portfolioStressResults.portfolioId, ids)),
          ),
      writes.handled,
      new Set(writes.stress.map((row) => keyOf(row.portfolioId, row.scenarioId))),
    ),
    chunk.dualWrite
      ? staleIds(
          (ids) =>
            db
              .select({
                id: positionFactorExposures.id,
                key: storedKey(positionFactorExposures.positionId, positionFactorExposures.factorId),
              })
              .from(positionFactorExposures)
              .where(
                and(
                  eq(positionFactorExposures.calculationDate, date),
                  inArray(positionFactorExposures.portfolioId, ids),
                ),
              ),
          writes.handled,
          new Set(writes.positionExposures.map((row) => keyOf(row.positionId, row.factorId))),
        )
      : Promise.resolve([]),
  ]);

  const upserts = [
    ...upsertStatements(portfolioFactorExposures, ["portfolioId", "factorId", "calculationDate"], writes.exposures),
    ...upsertStatements(portfolioSnapshots, ["portfolioId", "date"], writes.snapshots),
    ...upsertStatements(portfolioStressResults, ["portfolioId", "scenarioId", "calculationDate"], writes.stress),
    ...upsertStatements(
      positionFactorExposures,
      ["positionId", "factorId", "calculationDate"],
      writes.positionExposures,
    ),
  ];
  const deletions = [
    ...deleteByIds(staleExposures, (ids) =>
      db
        .delete(portfolioFactorExposures)
        .where(inArray(portfolioFactorExposures.id, ids))
        .returning({ id: portfolioFactorExposures.id }),
    ),
    ...deleteByIds(staleStress, (ids) =>
      db
        .delete(portfolioStressResults)
        .where(inArray(portfolioStressResults.id, ids))
        .returning({ id: portfolioStressResults.id }),
    ),
    ...deleteByIds(stalePositionExposures, (ids) =>
      db
        .delete(positionFactorExposures)
        .where(inArray(positionFactorExposures.id, ids))
        .returning({ id: positionFactorExposures.id }),
    ),
  ];
  let result: { written: number; deleted: number };
  try {
    result = await runWrites(db, upserts, deletions);
  } catch (error) {
    // The database's trouble (down, busy, full) is worth a retry of the whole chunk; anything
    // else (a request too large, a constraint) is the data's, and must not fail the others.
    if (databaseFault(error) !== null || writes.handled.length === 0) throw error;
    if (portfolioIds.length > 1) return computeEachAlone(db, chunk, portfolioIds, started);
    const failed = emptyCounts("portfolios", 1);
    const failedIssues: PhaseIssue[] = [];
    const message = error instanceof Error ? error.message : String(error);
    recordIssue(failed, failedIssues, {
      item: portfolioId0(portfolioIds),
      kind: "failed",
      reason: "write_failed",
      detail: message.length > maxErrorDetail ? `${message.slice(0, maxErrorDetail)}…` : message,
    });
    return { counts: failed, issues: failedIssues, duration_ms: Date.now() - started };
  }
  const { written, deleted } = result;
  const rowsAttempted =
    writes.exposures.length + writes.snapshots.length + writes.stress.length + writes.positionExposures.length;
  counts.rows_stored = written;
  counts.rows_unchanged = rowsAttempted - written;
  counts.rows_deleted = deleted;
  return { counts, issues, duration_ms: Date.now() - started };
}

function portfolioId0(ids: readonly string[]): string {
  const [first] = ids;
  if (first === undefined) throw new Error("a chunk with no portfolios has nothing to fail");
  return first;
}

/**
 * The chunk again, one portfolio at a time, after its shared write failed for a reason of the
 * data: each portfolio is written (or fails with its reason) on its own, so one portfolio that
 * cannot be written never costs the others their numbers.
 */
async function computeEachAlone(
  db: Database,
  chunk: PortfolioAnalyticsChunk,
  portfolioIds: readonly string[],
  started: number,
): Promise<ChunkOutcome> {
  const counts = emptyCounts("portfolios", 0);
  const issues: PhaseIssue[] = [];
  for (const portfolioId of portfolioIds) {
    const outcome = await runPortfolioAnalyticsChunk(db, { ...chunk, portfolioIds: [portfolioId] });
    addCounts(counts, outcome.counts);
    for (const [reason, n] of Object.entries(outcome.counts.skipped_reasons))
      counts.skipped_reasons[reason] = (counts.skipped_reasons[reason] ?? 0) + n;
    for (const [reason, n] of Object.entries(outcome.counts.failed_reasons))
      counts.failed_reasons[reason] = (counts.failed_reasons[reason] ?? 0) + n;
    issues.push(...outcome.issues);
  }
  logEvent("warn", "portfolio_analytics.isolated", {
    calculationDate: chunk.calculationDate,
    portfolios: portfolioIds.length,
    failed: counts.failed,
  });
  return { counts, issues, duration_ms: Date.now() - started };
}

function deleteByIds<Statement>(ids: readonly number[], build: (ids: number[]) => Statement): Statement[] {
  const statements: Statement[] = [];
  for (let i = 0; i < ids.length; i += idsPerDelete) statements.push(build(ids.slice(i, i + idsPerDelete)));
  return statements;
}
