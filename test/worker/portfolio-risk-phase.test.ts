// The portfolio analytics phase's risk summaries (docs/design.md §11 "Portfolio risk"): per
// portfolio and date, `portfolio_risk_summaries` from the aggregation, the stored loadings and the
// stored factor covariance. The world: a synthetic market from 2019-01-02 to 2020-12-31 without
// gaps (no other test file has closes in that range; the factor ETFs keep their names, the
// equities are renamed `PRK…`), run through phases 2, 3 and 4 (risk model, with its date-level
// covariance) on its last day, and a symbol with only 30 closes (no loadings). Expectations come
// from `computePortfolioRisk` on inputs read here from the tables, independently of the phase.
import { and, asc, eq, inArray } from "drizzle-orm";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import {
  factorCovariances,
  marketPrices,
  portfolioRiskSummaries,
  portfolios,
  positions,
  symbolDailyMetrics,
  symbolFactorExposures,
  symbolRiskLoadings,
} from "../../schema/index.ts";
import { runPortfolioAnalyticsChunk } from "../../worker/batch/portfolio-analytics-phase.ts";
import { computeRiskModelChunk } from "../../worker/batch/risk-model-phase.ts";
import { computeSymbolMetricsChunk } from "../../worker/batch/symbol-metrics-phase.ts";
import type { ChunkOutcome } from "../../worker/batch/telemetry.ts";
import { computeUniverseFactorsChunk } from "../../worker/batch/universe-factors.ts";
import { getDatabase } from "../../worker/db/client.ts";
import { loadActiveFactors } from "../../worker/db/factors.ts";
import { aggregatePortfolio, type PortfolioAggregation } from "../../worker/factors/portfolio.ts";
import { computePortfolioRisk, type PortfolioRisk } from "../../worker/factors/portfolio-risk.ts";
import type { SymbolRiskLoadings } from "../../worker/factors/risk-model.ts";
import { defaultRiskModelSettings } from "../../worker/factors/risk-settings.ts";
import type { EstimatedQualityFlag, SymbolFactorBeta } from "../../worker/factors/types.ts";
import { generateSyntheticMarket } from "../../worker/market-data/synthetic.ts";

const db = getDatabase(env);
const market = generateSyntheticMarket({
  seed: 20201231,
  equities: 3,
  startDate: "2019-01-02",
  endDate: "2020-12-31",
  gaps: false,
});
const rename = (symbol: string) => (symbol.startsWith("SYN") ? `PRK${symbol.slice(3)}` : symbol);
const calculationDate = market.calendar.at(-1)!;
/** The day before: loadings but no usable covariance (a stored `insufficient_history` row). */
const noCovarianceDate = market.calendar.at(-2)!;
const prices = market.prices.map((p) => ({ ...p, symbol: rename(p.symbol) }));
const [stockA, stockB, stockC] = market.instruments
  .filter((i) => i.assetType === "equity")
  .map((i) => rename(i.symbol)) as [string, string, string];
const shortHistory = "PRKSHORT";
// Only the last 30 closes: no betas, no loadings (`insufficient_data`).
const shortRows = prices
  .filter((p) => p.symbol === stockC)
  .slice(-30)
  .map((p) => ({ ...p, symbol: shortHistory }));
const allPrices = [...prices, ...shortRows];
const worldSymbols = [stockA, stockB, stockC, shortHistory, "SPY", "IWM"];
const closeOn = (symbol: string, date: string) => allPrices.find((p) => p.symbol === symbol && p.date === date)!.close;

const ids = {
  main: "prk-risk-main",
  benchmark: "prk-risk-holds-benchmark",
  noBenchmark: "prk-risk-no-benchmark-loadings",
  empty: "prk-risk-empty",
} as const;
const chunkIds = [ids.main, ids.benchmark, ids.noBenchmark, ids.empty];
const owner = "prk-risk-test";
const opened = "2020-01-02";
const halfLifeDays = defaultRiskModelSettings.halfLifeDays;

let firstRun: ChunkOutcome;

async function prepareDate(date: string, dateLevel: boolean): Promise<void> {
  await computeSymbolMetricsChunk(db, { calculationDate: date, symbols: worldSymbols });
  await computeUniverseFactorsChunk(db, { calculationDate: date, symbols: worldSymbols, forceRerun: true });
  await computeRiskModelChunk(db, { calculationDate: date, symbols: worldSymbols, forceRerun: true, dateLevel });
}

beforeAll(async () => {
  const rows = allPrices.map((p) => ({
    symbol: p.symbol,
    date: p.date,
    close: p.close,
    adjClose: null,
    volume: p.volume,
    source: "synthetic",
  }));
  const inserts = [];
  for (let i = 0; i < rows.length; i += 500)
    inserts.push(
      db
        .insert(marketPrices)
        .values(rows.slice(i, i + 500))
        .onConflictDoNothing(),
    );
  const [first, ...rest] = inserts;
  await db.batch([first!, ...rest]);
  await prepareDate(calculationDate, true);
  await prepareDate(noCovarianceDate, false);
  // What the risk model stores for a date without enough factor history: a reason, no matrix.
  const keys = (
    await db
      .select({ keys: factorCovariances.factorKeys })
      .from(factorCovariances)
      .where(eq(factorCovariances.calculationDate, calculationDate))
      .get()
  )?.keys;
  await db
    .insert(factorCovariances)
    .values({
      calculationDate: noCovarianceDate,
      halfLifeDays,
      factorKeys: keys ?? [],
      matrix: null,
      observations: 41,
      reason: "insufficient_history",
      detail: "41 days with every risk factor's return, 60 required",
    })
    .onConflictDoUpdate({
      target: [factorCovariances.calculationDate, factorCovariances.halfLifeDays],
      set: {
        matrix: null,
        reason: "insufficient_history",
        detail: "41 days with every risk factor's return, 60 required",
      },
    });

  await db.insert(portfolios).values([
    { id: ids.main, owner, name: "main", cash: 25_000 },
    { id: ids.benchmark, owner, name: "holds its benchmark", cash: 0 },
    { id: ids.noBenchmark, owner, name: "benchmark without loadings", cash: 1_000, benchmarkSymbol: "PRKNOBENCH" },
    { id: ids.empty, owner, name: "cash only", cash: 5_000 },
  ]);
  const strikeA = Math.round(closeOn(stockA, calculationDate));
  await db.insert(positions).values([
    {
      id: "prk-main-long",
      portfolioId: ids.main,
      symbol: stockA,
      instrument: "stock",
      quantity: 300,
      openedOn: opened,
    },
    {
      id: "prk-main-short",
      portfolioId: ids.main,
      symbol: stockB,
      instrument: "stock",
      quantity: -150,
      openedOn: opened,
    },
    { id: "prk-main-etf", portfolioId: ids.main, symbol: "IWM", instrument: "etf", quantity: 40, openedOn: opened },
    {
      id: "prk-main-call",
      portfolioId: ids.main,
      symbol: `${stockA} 2021-03-19 C${strikeA}`,
      instrument: "option",
      quantity: 3,
      openedOn: opened,
      underlyingSymbol: stockA,
      optionType: "call",
      strike: strikeA,
      expiry: "2021-03-19",
      multiplier: 100,
      delta: 0.55,
      premium: 6,
    },
    {
      id: "prk-main-short-history",
      portfolioId: ids.main,
      symbol: shortHistory,
      instrument: "stock",
      quantity: 20,
      openedOn: opened,
    },
    {
      id: "prk-main-private",
      portfolioId: ids.main,
      symbol: "PRKPRIVATE",
      instrument: "private",
      quantity: 1,
      openedOn: opened,
    },
    {
      id: "prk-benchmark-spy",
      portfolioId: ids.benchmark,
      symbol: "SPY",
      instrument: "etf",
      quantity: 50,
      openedOn: opened,
    },
    {
      id: "prk-nobench-long",
      portfolioId: ids.noBenchmark,
      symbol: stockB,
      instrument: "stock",
      quantity: 10,
      openedOn: opened,
    },
  ]);
  firstRun = await runPortfolioAnalyticsChunk(db, { calculationDate, portfolioIds: chunkIds, dualWrite: false });
}, 120_000);

/** The loadings stored on `date`, read without the phase's code, as the engine takes them. */
async function storedLoadings(date: string): Promise<Map<string, SymbolRiskLoadings>> {
  const rows = await db
    .select()
    .from(symbolRiskLoadings)
    .where(and(eq(symbolRiskLoadings.calculationDate, date), inArray(symbolRiskLoadings.symbol, worldSymbols)));
  const loadings = new Map<string, SymbolRiskLoadings>();
  for (const row of rows) {
    const common = {
      symbol: row.symbol,
      calculationDate: date,
      windowDays: row.windowDays,
      observations: row.observations ?? 0,
      factorObservations: row.factorObservations ?? 0,
    };
    if (row.qualityFlag !== null)
      loadings.set(row.symbol, {
        ...common,
        status: "estimated",
        qualityFlag: row.qualityFlag,
        loadings: row.loadings!,
        standardErrors: row.standardErrors!,
        residualVariance: row.residualVariance!,
        rSquared: row.rSquared,
      });
    else if (row.reason === "insufficient_data" || row.reason === "degenerate" || row.reason === "no_factor_data")
      loadings.set(row.symbol, { ...common, status: "missing", reason: row.reason, detail: row.detail ?? "" });
  }
  return loadings;
}

/** Phase 2's closes and phase 3's betas on `date`, as the aggregation takes them. */
async function storedAggregation(portfolioId: string, date: string) {
  const factors = await loadActiveFactors(db);
  const [metrics, betaRows] = await Promise.all([
    db
      .select()
      .from(symbolDailyMetrics)
      .where(and(eq(symbolDailyMetrics.metricsDate, date), inArray(symbolDailyMetrics.symbol, worldSymbols))),
    db
      .select()
      .from(symbolFactorExposures)
      .where(and(eq(symbolFactorExposures.calculationDate, date), inArray(symbolFactorExposures.symbol, worldSymbols))),
  ]);
  const closes = new Map(metrics.flatMap((row) => (row.currentPrice === null ? [] : [[row.symbol, row.currentPrice]])));
  const keyById = new Map(factors.map((f) => [f.id, f.key]));
  const betas = new Map<string, Record<string, SymbolFactorBeta>>();
  for (const row of betaRows) {
    const factorKey = keyById.get(row.factorId);
    if (factorKey === undefined) continue;
    const symbolBetas = betas.get(row.symbol) ?? {};
    symbolBetas[factorKey] = {
      status: "estimated",
      factorId: row.factorId,
      factorKey,
      method: row.calculationMethod,
      calculationDate: date,
      windowDays: row.regressionWindowDays,
      observations: row.observations,
      factorObservations: row.observations,
      beta: row.betaValue,
      rawBeta: row.rawBetaValue ?? row.betaValue,
      rSquared: row.rSquared,
      standardError: row.standardError,
      qualityFlag: row.qualityFlag as EstimatedQualityFlag,
      regularizationAlpha: row.regularizationAlpha,
    };
    betas.set(row.symbol, symbolBetas);
  }
  const portfolio = (await db.select().from(portfolios).where(eq(portfolios.id, portfolioId)).get())!;
  const holdings = await db
    .select()
    .from(positions)
    .where(eq(positions.portfolioId, portfolioId))
    .orderBy(positions.id);
  const aggregation: PortfolioAggregation = aggregatePortfolio({
    date,
    holdings,
    cash: portfolio.cash,
    closes,
    betas,
    factors,
  });
  return { aggregation, betas, factors, benchmark: portfolio.benchmarkSymbol };
}

/** `computePortfolioRisk` on what the tables hold for the portfolio on `date`. */
async function expectedRisk(portfolioId: string, date = calculationDate): Promise<PortfolioRisk> {
  const [{ aggregation, betas, factors, benchmark }, loadings, covariance] = await Promise.all([
    storedAggregation(portfolioId, date),
    storedLoadings(date),
    db
      .select()
      .from(factorCovariances)
      .where(and(eq(factorCovariances.calculationDate, date), eq(factorCovariances.halfLifeDays, halfLifeDays)))
      .get(),
  ]);
  return computePortfolioRisk({
    aggregation,
    factorKeys: covariance!.factorKeys,
    covariance: covariance!.matrix,
    covarianceDetail: covariance!.matrix === null ? covariance!.detail : null,
    loadings,
    benchmarkSymbol: benchmark,
    lensBetas: betas,
    lensFactors: factors,
  });
}

async function storedSummaries(portfolioIds: readonly string[], date = calculationDate) {
  return db
    .select()
    .from(portfolioRiskSummaries)
    .where(and(eq(portfolioRiskSummaries.date, date), inArray(portfolioRiskSummaries.portfolioId, [...portfolioIds])))
    .orderBy(asc(portfolioRiskSummaries.portfolioId));
}

type StoredDetail = {
  exposures: { factor_key: string; exposure: number; standard_error: number }[] | null;
  total: {
    factors: { factor_key: string; contribution: number }[];
    holdings: { symbol: string; contribution: number }[];
  } | null;
  total_unavailable: { reason: string; detail: string } | null;
  active_unavailable: { reason: string; detail: string } | null;
};

describe("portfolio analytics phase: risk summaries", () => {
  it("stores a risk summary per portfolio: the numbers computePortfolioRisk gives on the stored inputs", async () => {
    const rows = await storedSummaries(chunkIds);
    expect(rows.map((row) => row.portfolioId).sort()).toEqual([...chunkIds].sort());
    for (const portfolioId of [ids.main, ids.benchmark, ids.noBenchmark]) {
      const expected = await expectedRisk(portfolioId);
      const row = rows.find((r) => r.portfolioId === portfolioId)!;
      const total = expected.total!;
      expect(total).not.toBeNull();
      expect(row).toMatchObject({
        benchmarkSymbol: portfolioId === ids.noBenchmark ? "PRKNOBENCH" : "SPY",
        equity: expected.equity,
        totalVariance: total.variance,
        factorVariance: total.factorVariance,
        specificVariance: total.specificVariance,
        volatility: total.volatility,
        factorShare: total.factorVariance / total.variance,
        valueAtRisk95: total.valueAtRisk95,
        valueAtRisk99: total.valueAtRisk99,
        activeVariance: expected.active?.variance ?? null,
        trackingError: expected.active?.trackingError ?? null,
      });
      const detail = row.detail as StoredDetail;
      expect(detail.exposures).toEqual(
        expected.exposures!.map((e) => ({
          factor_key: e.factorKey,
          exposure: e.exposure,
          standard_error: e.standardError,
          distinguishable: e.distinguishable,
        })),
      );
      expect(detail.total!.factors.map((f) => [f.factor_key, f.contribution])).toEqual(
        total.factors.map((f) => [f.factorKey, f.contribution]),
      );
      expect(detail.total!.holdings.map((h) => [h.symbol, h.contribution])).toEqual(
        total.holdings.map((h) => [h.symbol, h.contribution]),
      );
      // Euler: the holdings' contributions add up to the variance.
      const holdingsSum = detail.total!.holdings.reduce((sum, h) => sum + h.contribution, 0);
      expect(holdingsSum).toBeCloseTo(total.variance, 15);
    }
    const main = rows.find((r) => r.portfolioId === ids.main)!;
    expect(main.volatility).toBeGreaterThan(0);
    expect(main.trackingError).toBeGreaterThan(0);
    expect(main.valueAtRisk99!).toBeGreaterThan(main.valueAtRisk95!);
    // What was left out, and why: the short-history stock has no loadings, the private position no price.
    expect(main.dataQuality).toMatchObject({
      covariance_available: true,
      positions_used: 4,
      symbols_used: 3,
      symbols_left_out: [
        { symbol: shortHistory, position_ids: ["prk-main-short-history"], reason: "insufficient_data" },
      ],
      positions_left_out: [{ position_id: "prk-main-private", reason: "private" }],
    });
  });

  it("computes the active risk against the portfolio's own benchmark: holding it alone leaves none", async () => {
    const [held, noBenchmark] = await storedSummaries([ids.benchmark, ids.noBenchmark]);
    expect(held!.activeVariance).toBe(0);
    expect(held!.trackingError).toBe(0);
    expect(held!.volatility).toBeGreaterThan(0);
    // A benchmark without loadings: a volatility, no tracking error, and why.
    expect(noBenchmark).toMatchObject({ activeVariance: null, trackingError: null });
    expect(noBenchmark!.volatility).toBeGreaterThan(0);
    expect((noBenchmark!.detail as StoredDetail).active_unavailable).toMatchObject({
      reason: "benchmark_without_loadings",
    });
  });

  it("stores a cash-only portfolio's honest zero risk", async () => {
    const [empty] = await storedSummaries([ids.empty]);
    expect(empty).toMatchObject({
      equity: 5_000,
      totalVariance: 0,
      volatility: 0,
      factorShare: null,
      valueAtRisk95: 0,
    });
  });

  it("counts the summaries and their outcomes in the phase telemetry", () => {
    expect(firstRun.counts).toMatchObject({
      computed: 3,
      skipped_reasons: { no_positions_held: 1 },
      risk_summaries_stored: 4,
      risk_summaries_unchanged: 0,
      risk_computed: 4,
      risk_missing_reasons: {},
      tracking_error_missing_reasons: { benchmark_without_loadings: 1 },
    });
  });

  it("writes nothing when the chunk is delivered again", async () => {
    const before = await storedSummaries(chunkIds);
    const again = await runPortfolioAnalyticsChunk(db, { calculationDate, portfolioIds: chunkIds, dualWrite: false });
    expect(again.counts).toMatchObject({ rows_stored: 0, risk_summaries_stored: 0, risk_summaries_unchanged: 4 });
    expect(await storedSummaries(chunkIds)).toEqual(before);
  });

  it("stores nulls with the reason when the date has no usable covariance, exposures still computed", async () => {
    const outcome = await runPortfolioAnalyticsChunk(db, {
      calculationDate: noCovarianceDate,
      portfolioIds: [ids.main, ids.empty],
      dualWrite: false,
    });
    expect(outcome.counts).toMatchObject({
      risk_summaries_stored: 2,
      risk_computed: 0,
      risk_missing_reasons: { no_covariance: 2 },
    });
    const [empty, main] = await storedSummaries([ids.empty, ids.main], noCovarianceDate);
    for (const row of [main!, empty!])
      expect(row).toMatchObject({
        totalVariance: null,
        factorVariance: null,
        specificVariance: null,
        volatility: null,
        factorShare: null,
        valueAtRisk95: null,
        valueAtRisk99: null,
        activeVariance: null,
        trackingError: null,
      });
    expect(main!.equity).toBe((await expectedRisk(ids.main, noCovarianceDate)).equity);
    expect(main!.dataQuality).toMatchObject({
      covariance_available: false,
      covariance_detail: "41 days with every risk factor's return, 60 required",
    });
    const detail = main!.detail as StoredDetail;
    expect(detail.total_unavailable).toEqual({
      reason: "no_covariance",
      detail: "41 days with every risk factor's return, 60 required",
    });
    expect(detail.total).toBeNull();
    // Exposures and their standard errors need no covariance.
    const expected = await expectedRisk(ids.main, noCovarianceDate);
    expect(detail.exposures?.map((e) => e.exposure)).toEqual(expected.exposures!.map((e) => e.exposure));

    // A half-life the risk model never stored for the date: not computed, said so.
    await runPortfolioAnalyticsChunk(db, {
      calculationDate: noCovarianceDate,
      portfolioIds: [ids.main],
      dualWrite: false,
      riskHalfLifeDays: 45,
    });
    const [other] = await storedSummaries([ids.main], noCovarianceDate);
    expect(other!.volatility).toBeNull();
    expect((other!.detail as StoredDetail).total_unavailable?.detail).toMatch(/no factor covariance is stored/);
  });
});
