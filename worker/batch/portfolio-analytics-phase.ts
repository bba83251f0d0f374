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
//   gross is 0. `standard_error` = sqrt(Σ_s (X_s se_s)²) (worker/factors/exposure-uncertainty.ts,
//   what the risk route's lens_exposures give), null with `standard_error_reason`
//   (`weights_unavailable`, `standard_error_not_computed`). A factor without an exposure gets no
//   row, and a row stored for it on D by an earlier run is deleted.
// - `portfolio_snapshots`: equity, gross, net, the aggregation's `data_quality` (JSON),
//   `symbol_weights` (X_s by beta symbol, JSON; null when equity ≤ 0: the exposures route reads
//   the benchmark's X_B from it for the active standard error) and the day's P&L from the symbol
//   returns. For each valued position with a delta whose beta symbol has a `return_1d` on D:
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
// - `portfolio_risk_summaries` (docs/design.md §11, "Portfolio risk"): the portfolio's risk on
//   the risk lens against its own benchmark, by `computePortfolioRisk` over the aggregation, the
//   loadings stored on D by the risk_model phase and the factor covariance of D for the
//   deployment's half-life (`riskHalfLifeDays`), read in one batch (worker/db/risk-reads.ts).
//   The row holds the summary numbers (variances, volatility, factor share, VaR 95/99, active
//   variance, tracking error), `detail` — the day's risk block as the API serves it
//   (worker/api/portfolio-risk.ts `portfolioRiskSchema`, without `mode`, `portfolio_id` and
//   `data_quality`) — and `data_quality` (what was left out and why). A missing input (no
//   covariance for D, no position with loadings, no benchmark loadings) stores a row whose
//   numbers are null, the reason in the block's `*_unavailable`, never 0. A stored covariance
//   the engine refuses (not positive semi-definite, say) is left out with that detail and the
//   rest is computed without it; a risk computation that still fails (an overflow, loadings
//   that are not finite) stores no row (an earlier one of D is deleted), counted under
//   `risk_missing_reasons` `risk_error` and logged — the portfolio's exposures are unaffected.
//   A portfolio holding nothing on D gets its row too (cash only: zero variance).
// - `alerts`: the portfolios' limits evaluated on the numbers above (worker/alerts/evaluate.ts): a
//   crossing of a limit's bounds inserts one alert, decided inside this transaction, so a redelivered
//   chunk or a concurrent recompute records none again; the alerts written are pushed after the commit.
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
// - rows_stored / rows_unchanged / rows_deleted over every table written but the risk summaries,
//   which are counted apart (as the risk model counts its factor returns):
//   `risk_summaries_stored` / `_unchanged` / `_deleted`, `risk_computed`
//   (portfolios with a volatility), `risk_missing_reasons` (why a portfolio has none: a block's
//   reason such as `no_covariance`, or `risk_error`) and `tracking_error_missing_reasons` (why
//   one with a volatility has no tracking error: `no_benchmark`, `benchmark_without_loadings`).
import { marketReferenceSymbol } from "./calendar.ts";
import { factorInputSymbols } from "../factors/factor-specs.ts";
import { and, count, eq, gt, inArray, lte, sql } from "drizzle-orm";
import type { SQLWrapper } from "drizzle-orm";
import {
  type AlertCause,
  marketPrices,
  portfolioFactorExposures,
  portfolioRiskSummaries,
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
import { loadRiskInputs, type PriceDecidedGap, riskModelInput, type StoredRiskInputs } from "../db/risk-reads.ts";
import { runTransaction } from "../db/transaction.ts";
import { planChunkAlerts, publishCommittedAlerts } from "../alerts/evaluate.ts";
import { upsertStatements } from "../db/upsert.ts";
import { buildFactorEngineInput, computeSymbolBetasDirect, FactorEngineError } from "../factors/engine.ts";
import type { FactorEngineInput } from "../factors/engine.ts";
import { aggregatePortfolio, betaSymbolOf, HoldingValidationError, isHeldOn } from "../factors/portfolio.ts";
import type { BetaTable, PortfolioAggregation } from "../factors/portfolio.ts";
import type { PortfolioRiskResponse } from "../api/portfolio-risk.ts";
import { NumericOverflowError } from "../factors/errors.ts";
import { exposureUncertainties, symbolExposureWeights } from "../factors/exposure-uncertainty.ts";
import type { ExposureUncertainty } from "../factors/exposure-uncertainty.ts";
import { computePortfolioRisk } from "../factors/portfolio-risk.ts";
import type { PortfolioRisk, RiskUnavailable, VarianceDecomposition } from "../factors/portfolio-risk.ts";
import { defaultRiskModelSettings } from "../factors/risk-settings.ts";
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
  /**
   * Half-life of the factor covariance the risk summaries use (RISK_COVARIANCE_HALF_LIFE_DAYS,
   * `batchConfig(env).riskHalfLifeDays`); default the risk model's (90).
   */
  riskHalfLifeDays?: number;
  /**
   * What recomputed the numbers, recorded on the alerts their limits raise or clear (docs/design.md
   * §11, "Limits and alerts"): `batch` (default) or `positions` (a position change's refresh).
   */
  alertCause?: AlertCause;
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

/**
 * The stored standard error of an exposure and why it is null: `weights_unavailable` when the
 * exposure is (equity ≤ 0), `standard_error_not_computed` when a symbol used has a beta without
 * one. The exposure is the aggregation's (summed per position); the standard error is
 * `exposureUncertainties`' over the same symbols, the number the risk route's lens_exposures give.
 */
export function standardErrorColumns(
  exposure: number | null,
  uncertainty: ExposureUncertainty | undefined,
): Pick<ExposureRow, "standardError" | "standardErrorReason"> {
  if (exposure === null) return { standardError: null, standardErrorReason: "weights_unavailable" };
  const standardError = uncertainty?.standardError ?? null;
  if (standardError !== null) return { standardError, standardErrorReason: null };
  // The aggregation and exposureUncertainties use the same symbols and lookups, so an exposure
  // always has a used symbol there: only a missing standard error leaves the number out.
  return {
    standardError: null,
    standardErrorReason: uncertainty?.reason === "standard_error_not_computed" ? uncertainty.reason : null,
  };
}
type SnapshotRow = typeof portfolioSnapshots.$inferInsert;
type StressRow = typeof portfolioStressResults.$inferInsert;
type PositionExposureRow = typeof positionFactorExposures.$inferInsert;
type RiskSummaryRow = typeof portfolioRiskSummaries.$inferInsert;

/** What the chunk will write: the rows to upsert and the natural keys each portfolio keeps on D. */
interface ChunkWrites {
  exposures: ExposureRow[];
  snapshots: SnapshotRow[];
  stress: StressRow[];
  positionExposures: PositionExposureRow[];
  risk: RiskSummaryRow[];
  /** Portfolios whose risk computation failed: their risk row of D, if any, is deleted. */
  riskFailed: string[];
  /** Portfolios whose rows on D are rewritten (computed or skipped with no positions held). */
  handled: string[];
}

/** A day's risk block as the API serves it (`GET /portfolios/:id/risk?date`), less the request's own fields. */
export type PortfolioRiskBlock = Omit<PortfolioRiskResponse, "mode" | "portfolio_id">;

const unavailableOf = (value: RiskUnavailable | null) =>
  value === null ? null : { reason: value.reason, detail: value.detail };

function decompositionOf(value: VarianceDecomposition) {
  return {
    variance: value.variance,
    factor_variance: value.factorVariance,
    specific_variance: value.specificVariance,
    factor_share: value.variance > 0 ? value.factorVariance / value.variance : null,
    factors: value.factors.map((f) => ({
      factor_key: f.factorKey,
      exposure: f.exposure,
      contribution: f.contribution,
      share: f.share,
    })),
    holdings: value.holdings.map((h) => ({
      symbol: h.symbol,
      position_ids: h.positionIds,
      weight: h.weight,
      factor_part: h.factorPart,
      specific_part: h.specificPart,
      contribution: h.contribution,
      share: h.share,
      marginal: h.marginal,
    })),
    shares_unavailable: value.sharesUnavailable,
  };
}

/**
 * `computePortfolioRisk`'s result in the API's shape (worker/api/portfolio-risk.ts), what the
 * batch stores as a summary's `detail` and `data_quality` and `POST /what-if` returns. A symbol
 * the engine saw no loadings for but the batch stored without them for a price reason
 * (`priceDecided`: stale_prices, no_prices) is reported with that reason, not `not_computed`.
 */
export function riskBlockOf(
  risk: PortfolioRisk,
  priceDecided: ReadonlyMap<string, PriceDecidedGap> = new Map(),
): PortfolioRiskBlock {
  const { total, active, dataQuality } = risk;
  return {
    date: risk.date,
    benchmark: risk.benchmarkSymbol,
    equity: risk.equity,
    factors: risk.factorKeys,
    symbols: risk.symbols.map((s) => ({
      symbol: s.symbol,
      position_ids: s.positionIds,
      weight: s.weight,
      dollar_exposure: s.dollarExposure,
    })),
    exposures:
      risk.exposures?.map((e) => ({
        factor_key: e.factorKey,
        exposure: e.exposure,
        standard_error: e.standardError,
        distinguishable: e.distinguishable,
      })) ?? null,
    exposures_unavailable: unavailableOf(risk.exposuresUnavailable),
    total:
      total === null
        ? null
        : {
            ...decompositionOf(total),
            volatility: total.volatility,
            volatility_dollar: total.volatilityDollar,
            value_at_risk_95: total.valueAtRisk95,
            value_at_risk_99: total.valueAtRisk99,
          },
    total_unavailable: unavailableOf(risk.totalUnavailable),
    active_exposures:
      risk.activeExposures?.map((e) => ({
        factor_key: e.factorKey,
        exposure: e.exposure,
        standard_error: e.standardError,
        distinguishable: e.distinguishable,
        portfolio: e.portfolio,
        benchmark: e.benchmark,
      })) ?? null,
    active_exposures_unavailable: unavailableOf(risk.activeExposuresUnavailable),
    active:
      active === null
        ? null
        : {
            ...decompositionOf(active),
            benchmark: active.benchmarkSymbol,
            tracking_error: active.trackingError,
            tracking_error_dollar: active.trackingErrorDollar,
          },
    active_unavailable: unavailableOf(risk.activeUnavailable),
    lens_exposures:
      risk.lensExposures?.map((e) => ({
        factor_key: e.factorKey,
        exposure: e.exposure,
        standard_error: e.standardError,
        reason: e.reason,
        detail: e.detail,
        distinguishable: e.distinguishable,
        symbols_used: e.symbolsUsed,
      })) ?? null,
    lens_exposures_unavailable: unavailableOf(risk.lensExposuresUnavailable),
    data_quality: {
      date: dataQuality.date,
      equity: dataQuality.equity,
      weights_available: dataQuality.weightsAvailable,
      covariance_available: dataQuality.covarianceAvailable,
      covariance_detail: dataQuality.covarianceDetail,
      positions_held: dataQuality.positionsHeld,
      positions_used: dataQuality.positionsUsed,
      symbols_used: dataQuality.symbolsUsed,
      coverage: dataQuality.coverage,
      symbols_left_out: dataQuality.symbolsLeftOut.map((s) => {
        const stored = s.reason === "not_computed" ? priceDecided.get(s.symbol) : undefined;
        return {
          symbol: s.symbol,
          position_ids: s.positionIds,
          reason: stored?.reason ?? s.reason,
          detail: stored?.detail ?? s.detail,
        };
      }),
      positions_left_out: dataQuality.positionsLeftOut.map((p) => ({
        position_id: p.positionId,
        symbol: p.symbol,
        beta_symbol: p.betaSymbol,
        reason: p.reason,
        detail: p.detail,
      })),
    },
    note: risk.note,
  };
}

/**
 * The risk of an aggregation on the stored model (`stored`, from worker/db/risk-reads.ts): the
 * engine on the stored covariance, loadings and the benchmark. A covariance the engine refuses
 * (a RangeError other than an overflow: not symmetric, not positive semi-definite) is left out
 * with the engine's message as its detail, and the rest computed without it; anything else throws.
 */
export function portfolioRiskOn(
  aggregation: PortfolioAggregation,
  benchmarkSymbol: string | null,
  stored: StoredRiskInputs,
  lens?: { betas: BetaTable; factors: readonly FactorSpec[] },
): PortfolioRisk {
  const model = riskModelInput(stored);
  const input = {
    aggregation,
    benchmarkSymbol,
    ...model,
    ...(lens ? { lensBetas: lens.betas, lensFactors: lens.factors } : {}),
  };
  try {
    return computePortfolioRisk(input);
  } catch (error) {
    if (!(error instanceof RangeError) || error instanceof NumericOverflowError || model.covariance === null)
      throw error;
    return computePortfolioRisk({
      ...input,
      covariance: null,
      covarianceDetail: `the stored factor covariance of ${aggregation.date} cannot be used: ${error.message}`,
    });
  }
}

/** A `portfolio_risk_summaries` row of a computed risk. */
export function riskSummaryRow(portfolioId: string, block: PortfolioRiskBlock): RiskSummaryRow {
  const { data_quality: dataQuality, ...detail } = block;
  const { total, active } = block;
  return {
    portfolioId,
    date: block.date,
    benchmarkSymbol: block.benchmark,
    equity: block.equity,
    totalVariance: total?.variance ?? null,
    factorVariance: total?.factor_variance ?? null,
    specificVariance: total?.specific_variance ?? null,
    volatility: total?.volatility ?? null,
    factorShare: total?.factor_share ?? null,
    valueAtRisk95: total?.value_at_risk_95 ?? null,
    valueAtRisk99: total?.value_at_risk_99 ?? null,
    activeVariance: active?.variance ?? null,
    trackingError: active?.tracking_error ?? null,
    detail,
    dataQuality,
  };
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
      .select({ id: portfolios.id, cash: portfolios.cash, benchmark: portfolios.benchmarkSymbol })
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
  // The risk model's symbols: the beta symbols and the benchmarks (loadings, in one read batch).
  const riskSymbols = new Set(betaSymbols);
  for (const row of portfolioRows) if (!oversized.has(row.id)) riskSymbols.add(row.benchmark);
  const [{ closes, returns }, betas, riskInputs] = await Promise.all([
    loadSymbolMarket(db, date, [...betaSymbols]),
    loadStoredBetaTable(db, date, [...betaSymbols], factors),
    loadRiskInputs(db, date, [...riskSymbols], chunk.riskHalfLifeDays ?? defaultRiskModelSettings.halfLifeDays),
  ]);
  const betaTable: BetaTable = betas;
  const directBetas =
    chunk.dualWrite && betaSymbols.size > 0 && factors.length > 0
      ? await directBetaSource(db, date, [...betaSymbols], factors)
      : () => null;

  const cashById = new Map(portfolioRows.map((row) => [row.id, row.cash]));
  const benchmarkById = new Map(portfolioRows.map((row) => [row.id, row.benchmark]));
  const writes: ChunkWrites = {
    exposures: [],
    snapshots: [],
    stress: [],
    positionExposures: [],
    risk: [],
    riskFailed: [],
    handled: [],
  };
  const riskMissing: Record<string, number> = {};
  const trackingErrorMissing: Record<string, number> = {};
  let riskComputed = 0;
  /** The portfolio's risk row, or null (counted, logged) when the computation fails. */
  const riskRowOf = (portfolioId: string, aggregation: PortfolioAggregation): RiskSummaryRow | null => {
    let risk: PortfolioRisk;
    try {
      risk = portfolioRiskOn(aggregation, benchmarkById.get(portfolioId) ?? null, riskInputs, {
        betas: betaTable,
        factors,
      });
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      riskMissing["risk_error"] = (riskMissing["risk_error"] ?? 0) + 1;
      logEvent("warn", "portfolio_analytics.risk_failed", { calculationDate: date, portfolioId, error: error.message });
      return null;
    }
    if (risk.total === null) {
      const reason = risk.totalUnavailable?.reason ?? "unavailable";
      riskMissing[reason] = (riskMissing[reason] ?? 0) + 1;
    } else {
      riskComputed++;
      if (risk.active === null) {
        const reason = risk.activeUnavailable?.reason ?? "unavailable";
        trackingErrorMissing[reason] = (trackingErrorMissing[reason] ?? 0) + 1;
      }
    }
    return riskSummaryRow(portfolioId, riskBlockOf(risk, riskInputs.priceDecided));
  };
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
    let portfolioWrites: Omit<ChunkWrites, "handled" | "risk" | "riskFailed">;
    let aggregated: PortfolioAggregation;
    try {
      const aggregation = aggregatePortfolio({ date, holdings, cash, closes, betas: betaTable, factors });
      aggregated = aggregation;
      const symbolWeights = symbolExposureWeights(aggregation.positions);
      const snapshot = (pnl: { dailyPnl: number | null; dailyReturn: number | null }): SnapshotRow => ({
        portfolioId,
        date,
        equity: aggregation.equity,
        gross: aggregation.gross,
        net: aggregation.net,
        dailyPnl: pnl.dailyPnl,
        dailyReturn: pnl.dailyReturn,
        dataQuality: aggregation.dataQuality,
        symbolWeights: aggregation.weightsAvailable
          ? Object.fromEntries(symbolWeights.map(({ symbol, weight }) => [symbol, weight]))
          : null,
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
        const uncertainty = new Map(
          exposureUncertainties(factors, betaTable, symbolWeights).map((u) => [u.factorId, u]),
        );
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
              ...standardErrorColumns(e.exposure, uncertainty.get(e.factorId)),
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
    const riskRow = riskRowOf(portfolioId, aggregated);
    if (riskRow === null) writes.riskFailed.push(portfolioId);
    else writes.risk.push(riskRow);
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
  const riskUpserts = upsertStatements(portfolioRiskSummaries, ["portfolioId", "date"], writes.risk);
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
  const riskDeletions =
    writes.riskFailed.length === 0
      ? []
      : [
          db
            .delete(portfolioRiskSummaries)
            .where(
              and(
                eq(portfolioRiskSummaries.date, date),
                inArray(portfolioRiskSummaries.portfolioId, writes.riskFailed),
              ),
            )
            .returning({ id: portfolioRiskSummaries.portfolioId }),
        ];
  // Limits are evaluated on the numbers about to be stored, and their crossings recorded in the same
  // transaction (worker/alerts/evaluate.ts: a redelivery or a concurrent recompute records none again).
  const alertPlan = await planChunkAlerts(db, {
    date,
    cause: chunk.alertCause ?? "batch",
    portfolioIds: writes.handled,
    factors,
    exposures: writes.exposures,
    risk: writes.risk,
    benchmarkOf: (portfolioId) => benchmarkById.get(portfolioId) ?? null,
  });
  let result: { written: number; deleted: number; riskWritten: number; riskDeleted: number };
  let alertCounts: number[];
  try {
    // One transaction: the upserts, the risk upserts, the deletions, the risk deletion (counted apart),
    // the limits' alerts.
    const all = await runTransaction(db, [
      ...upserts,
      ...riskUpserts,
      ...deletions,
      ...riskDeletions,
      ...alertPlan.statements,
    ]);
    const rows = all.slice(0, all.length - alertPlan.statements.length);
    alertCounts = all.slice(rows.length);
    const sum = (from: number, to: number) => rows.slice(from, to).reduce((total, n) => total + n, 0);
    const upserted = upserts.length + riskUpserts.length;
    const deleted = upserted + deletions.length;
    result = {
      written: sum(0, upserts.length),
      riskWritten: sum(upserts.length, upserted),
      deleted: sum(upserted, deleted),
      riskDeleted: sum(deleted, rows.length),
    };
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
  await publishCommittedAlerts(db, alertPlan, alertCounts);
  const { written, deleted, riskWritten, riskDeleted } = result;
  const rowsAttempted =
    writes.exposures.length + writes.snapshots.length + writes.stress.length + writes.positionExposures.length;
  counts.rows_stored = written;
  counts.rows_unchanged = rowsAttempted - written;
  counts.rows_deleted = deleted;
  counts.risk_summaries_stored = riskWritten;
  counts.risk_summaries_unchanged = writes.risk.length - riskWritten;
  counts.risk_summaries_deleted = riskDeleted;
  counts.risk_computed = riskComputed;
  counts.risk_missing_reasons = riskMissing;
  counts.tracking_error_missing_reasons = trackingErrorMissing;
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
