// Phase 4 (portfolio analytics) for one chunk, against a small world built through phases 2
// and 3: a synthetic market whose equities are renamed `PAN…` (the factor ETFs keep their
// names and are inserted with onConflictDoNothing: other test files share them), on 2022-06-30.
// Expectations are computed here from what the database holds, independently of the phase.
import { and, eq, inArray } from "drizzle-orm";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
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
  symbolFactorExposures,
} from "../../schema/index.ts";
import { runPortfolioAnalyticsChunk } from "../../worker/batch/portfolio-analytics-phase.ts";
import { computeSymbolMetricsChunk } from "../../worker/batch/symbol-metrics-phase.ts";
import type { ChunkOutcome } from "../../worker/batch/telemetry.ts";
import { computeUniverseFactorsChunk } from "../../worker/batch/universe-factors.ts";
import { getDatabase } from "../../worker/db/client.ts";
import { defaultFactorSpecs } from "../../worker/factors/factor-specs.ts";
import { aggregatePortfolio } from "../../worker/factors/portfolio.ts";
import type { PortfolioAggregation } from "../../worker/factors/portfolio.ts";
import type { EstimatedQualityFlag, SymbolFactorBeta } from "../../worker/factors/types.ts";
import { generateSyntheticMarket } from "../../worker/market-data/synthetic.ts";

const db = getDatabase(env);
const calculationDate = "2022-06-30";
// The same market (seed and dates) as dual-write.test.ts, so the shared ETF rows agree.
const market = generateSyntheticMarket({ seed: 20220630, equities: 3, startDate: "2021-06-07", endDate: "2022-12-30" });
const rename = (symbol: string) =>
  symbol.startsWith("SYN") ? `PAN${symbol.slice(3)}` : symbol === "QQQ" ? "PANQQQ" : symbol;
const prices = market.prices.map((p) => ({ ...p, symbol: rename(p.symbol) }));
const [stockA, stockB, stockC] = market.instruments
  .filter((i) => i.assetType === "equity")
  .map((i) => rename(i.symbol)) as [string, string, string];
const etf = "PANQQQ";
const worldSymbols = [stockA, stockB, stockC, etf];
const closeOn = (symbol: string, date: string) => prices.find((p) => p.symbol === symbol && p.date === date)!.close;

const ids = {
  main: "pa-analytics-main",
  one: "pa-analytics-one",
  openedToday: "pa-analytics-opened-today",
  invalid: "pa-analytics-invalid",
  negative: "pa-analytics-negative",
  empty: "pa-analytics-empty",
  missing: "pa-analytics-missing",
} as const;
const chunkIds = [ids.main, ids.one, ids.openedToday, ids.invalid, ids.negative, ids.empty, ids.missing];
const stored = [ids.main, ids.one, ids.openedToday, ids.negative, ids.empty];
const owner = "pa-analytics-test";
const opened = "2021-09-01";

let firstRun: ChunkOutcome;

beforeAll(async () => {
  const rows = prices.map((p) => ({
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
  await computeSymbolMetricsChunk(db, { calculationDate, symbols: worldSymbols });
  await computeUniverseFactorsChunk(db, { calculationDate, symbols: worldSymbols, forceRerun: true });

  await db.insert(portfolios).values([
    { id: ids.main, owner, name: "main", cash: 50_000 },
    { id: ids.one, owner, name: "one stock", cash: 10_000 },
    { id: ids.openedToday, owner, name: "opened today", cash: 5_000 },
    { id: ids.invalid, owner, name: "invalid", cash: 1_000 },
    { id: ids.negative, owner, name: "negative equity", cash: -10_000_000 },
    { id: ids.empty, owner, name: "nothing held", cash: 2_500 },
  ]);
  const strikeA = Math.round(closeOn(stockA, calculationDate));
  const strikeC = Math.round(closeOn(stockC, calculationDate));
  await db.insert(positions).values([
    { id: "pa-main-long", portfolioId: ids.main, symbol: stockA, instrument: "stock", quantity: 300, openedOn: opened },
    {
      id: "pa-main-short",
      portfolioId: ids.main,
      symbol: stockB,
      instrument: "stock",
      quantity: -200,
      openedOn: opened,
    },
    { id: "pa-main-etf", portfolioId: ids.main, symbol: etf, instrument: "etf", quantity: 40, openedOn: opened },
    {
      id: "pa-main-call",
      portfolioId: ids.main,
      symbol: `${stockA} 2022-09-16 C${strikeA}`,
      instrument: "option",
      quantity: 2,
      openedOn: opened,
      underlyingSymbol: stockA,
      optionType: "call",
      strike: strikeA,
      expiry: "2022-09-16",
      multiplier: 100,
      delta: 0.6,
      premium: 4.5,
    },
    {
      id: "pa-main-put",
      portfolioId: ids.main,
      symbol: `${stockC} 2022-08-19 P${strikeC}`,
      instrument: "option",
      quantity: -1,
      openedOn: opened,
      underlyingSymbol: stockC,
      optionType: "put",
      strike: strikeC,
      expiry: "2022-08-19",
      multiplier: 100,
      impliedVol: 0.35,
    },
    {
      id: "pa-main-private",
      portfolioId: ids.main,
      symbol: "PANPRIVATE",
      instrument: "private",
      quantity: 1,
      openedOn: opened,
    },
    {
      id: "pa-main-closed",
      portfolioId: ids.main,
      symbol: stockC,
      instrument: "stock",
      quantity: 50,
      openedOn: opened,
      closedOn: "2022-01-03",
    },
    { id: "pa-one-long", portfolioId: ids.one, symbol: stockA, instrument: "stock", quantity: 100, openedOn: opened },
    {
      id: "pa-today-old",
      portfolioId: ids.openedToday,
      symbol: stockB,
      instrument: "stock",
      quantity: 30,
      openedOn: opened,
    },
    {
      id: "pa-today-new",
      portfolioId: ids.openedToday,
      symbol: stockA,
      instrument: "stock",
      quantity: 20,
      openedOn: calculationDate,
    },
    {
      id: "pa-invalid-long",
      portfolioId: ids.invalid,
      symbol: stockA,
      instrument: "stock",
      quantity: 10,
      openedOn: opened,
    },
    {
      // The table takes any text as expiry; the aggregation refuses a date that does not exist.
      id: "pa-invalid-call",
      portfolioId: ids.invalid,
      symbol: `${stockA} bad`,
      instrument: "option",
      quantity: 1,
      openedOn: opened,
      underlyingSymbol: stockA,
      optionType: "call",
      strike: strikeA,
      expiry: "2022-02-30",
      multiplier: 100,
      delta: 0.5,
    },
    {
      id: "pa-negative-long",
      portfolioId: ids.negative,
      symbol: stockA,
      instrument: "stock",
      quantity: 100,
      openedOn: opened,
    },
    {
      id: "pa-empty-closed",
      portfolioId: ids.empty,
      symbol: stockB,
      instrument: "stock",
      quantity: 10,
      openedOn: opened,
      closedOn: "2022-03-01",
    },
  ]);
  firstRun = await runPortfolioAnalyticsChunk(db, { calculationDate, portfolioIds: chunkIds, dualWrite: false });
}, 60_000);

/** Phase 2's closes and returns and phase 3's betas on the date, read here without the phase's code. */
async function storedInputs() {
  const [metrics, betaRows] = await Promise.all([
    db
      .select()
      .from(symbolDailyMetrics)
      .where(
        and(eq(symbolDailyMetrics.metricsDate, calculationDate), inArray(symbolDailyMetrics.symbol, worldSymbols)),
      ),
    db
      .select()
      .from(symbolFactorExposures)
      .where(
        and(
          eq(symbolFactorExposures.calculationDate, calculationDate),
          inArray(symbolFactorExposures.symbol, worldSymbols),
        ),
      ),
  ]);
  const closes = new Map(metrics.map((row) => [row.symbol, row.currentPrice!]));
  const returns = new Map(metrics.map((row) => [row.symbol, row.return1d]));
  const keyById = new Map(defaultFactorSpecs.map((f) => [f.id, f.key]));
  const betas = new Map<string, Record<string, SymbolFactorBeta>>();
  for (const row of betaRows) {
    const factorKey = keyById.get(row.factorId)!;
    const symbolBetas = betas.get(row.symbol) ?? {};
    symbolBetas[factorKey] = {
      status: "estimated",
      factorId: row.factorId,
      factorKey,
      method: row.calculationMethod,
      calculationDate,
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
  return { closes, returns, betas, betaRows };
}

async function expectedAggregation(portfolioId: string): Promise<PortfolioAggregation> {
  const { closes, betas } = await storedInputs();
  const portfolio = (await db.select().from(portfolios).where(eq(portfolios.id, portfolioId)).get())!;
  // In id order, as the phase reads them: sums are then identical to the last bit.
  const holdings = await db
    .select()
    .from(positions)
    .where(eq(positions.portfolioId, portfolioId))
    .orderBy(positions.id);
  return aggregatePortfolio({
    date: calculationDate,
    holdings,
    cash: portfolio.cash,
    closes,
    betas,
    factors: defaultFactorSpecs,
  });
}

async function storedRows(portfolioIds: readonly string[]) {
  const list = [...portfolioIds];
  const [exposures, snapshots, stress, positionRows] = await Promise.all([
    db
      .select()
      .from(portfolioFactorExposures)
      .where(
        and(
          eq(portfolioFactorExposures.calculationDate, calculationDate),
          inArray(portfolioFactorExposures.portfolioId, list),
        ),
      )
      .orderBy(portfolioFactorExposures.portfolioId, portfolioFactorExposures.factorId),
    db
      .select()
      .from(portfolioSnapshots)
      .where(and(eq(portfolioSnapshots.date, calculationDate), inArray(portfolioSnapshots.portfolioId, list)))
      .orderBy(portfolioSnapshots.portfolioId),
    db
      .select()
      .from(portfolioStressResults)
      .where(
        and(
          eq(portfolioStressResults.calculationDate, calculationDate),
          inArray(portfolioStressResults.portfolioId, list),
        ),
      )
      .orderBy(portfolioStressResults.portfolioId, portfolioStressResults.scenarioId),
    db
      .select()
      .from(positionFactorExposures)
      .where(
        and(
          eq(positionFactorExposures.calculationDate, calculationDate),
          inArray(positionFactorExposures.portfolioId, list),
        ),
      ),
  ]);
  return { exposures, snapshots, stress, positionRows };
}

describe("portfolio analytics phase (one chunk)", () => {
  it("reports every portfolio of the chunk: computed, skipped with its reason, failed with its reason", () => {
    expect(firstRun.counts).toMatchObject({
      unit: "portfolios",
      total: chunkIds.length,
      computed: 4,
      skipped: 2,
      skipped_reasons: { not_found: 1, no_positions_held: 1 },
      failed: 1,
      failed_reasons: { invalid_holdings: 1 },
      rows_unchanged: 0,
      rows_deleted: 0,
    });
    expect(firstRun.issues.map((issue) => [issue.item, issue.kind, issue.reason])).toEqual([
      [ids.invalid, "failed", "invalid_holdings"],
      [ids.empty, "skipped", "no_positions_held"],
      [ids.missing, "skipped", "not_found"],
    ]);
    expect(firstRun.issues[0]!.detail).toContain("pa-invalid-call.expiry");
    expect(firstRun.duration_ms).toBeGreaterThanOrEqual(0);
  });

  it(
    "stores the exposures aggregatePortfolio gives on phase 2's closes and phase 3's betas, " +
      "one row per factor with an exposure",
    async () => {
      const { exposures } = await storedRows(stored);
      let compared = 0;
      for (const portfolioId of [ids.main, ids.one, ids.openedToday, ids.negative]) {
        const expected = (await expectedAggregation(portfolioId)).exposures.filter((e) => e.exposureDollar !== null);
        const rows = exposures.filter((row) => row.portfolioId === portfolioId);
        expect(rows.map((row) => row.factorId)).toEqual(expected.map((e) => e.factorId));
        for (const [i, e] of expected.entries()) {
          expect(rows[i]).toMatchObject({
            exposureValue: e.exposure,
            exposureDollar: e.exposureDollar,
            coverage: e.coverage,
            positionsUsed: e.positionsUsed,
            positionsTotal: e.positionsTotal,
          });
          compared++;
        }
      }
      expect(compared).toBeGreaterThan(40);
      // The main portfolio: long, short, ETF, two options and the private position are held
      // (the closed one is not); 5 public positions, all with every beta.
      const main = exposures.filter((row) => row.portfolioId === ids.main);
      expect(main).toHaveLength(defaultFactorSpecs.length);
      expect(main.every((row) => row.positionsTotal === 5 && row.positionsUsed === 5 && row.coverage === 1)).toBe(true);
      // Nothing held: no exposure rows.
      expect(exposures.filter((row) => row.portfolioId === ids.empty)).toEqual([]);
    },
  );

  it("matches a hand computation of the one-stock portfolio's market exposure", async () => {
    const { betaRows } = await storedInputs();
    const beta = betaRows.find((row) => row.symbol === stockA && row.factorId === 1)!.betaValue;
    const value = 100 * closeOn(stockA, calculationDate);
    const row = (await storedRows([ids.one])).exposures.find((r) => r.factorId === 1)!;
    expect(row.exposureValue).toBeCloseTo((value / (10_000 + value)) * beta, 12);
    expect(row.exposureDollar).toBeCloseTo(value * beta, 8);
  });

  it("stores the aggregation's data_quality on the snapshot, with equity, gross and net", async () => {
    const { snapshots } = await storedRows(stored);
    for (const portfolioId of stored) {
      const expected = await expectedAggregation(portfolioId);
      const snapshot = snapshots.find((row) => row.portfolioId === portfolioId)!;
      expect(snapshot.dataQuality).toEqual(expected.dataQuality);
      expect(snapshot).toMatchObject({ equity: expected.equity, gross: expected.gross, net: expected.net });
    }
    const main = snapshots.find((row) => row.portfolioId === ids.main)!;
    expect(main.dataQuality).toMatchObject({
      positions_total: 6,
      positions_private: 1,
      total_symbols: 4,
      options_without_premium: 1,
      symbols_missing: [],
    });
  });

  it("computes the day's P&L from the symbol returns: a one-stock portfolio by hand", async () => {
    const previous = market.calendar[market.calendar.indexOf(calculationDate) - 1]!;
    const [today, yesterday] = [closeOn(stockA, calculationDate), closeOn(stockA, previous)];
    const pnl = 100 * (today - yesterday);
    const snapshot = (await storedRows([ids.one])).snapshots[0]!;
    expect(Math.sign(snapshot.dailyPnl!)).toBe(Math.sign(today - yesterday));
    expect(snapshot.dailyPnl).toBeCloseTo(pnl, 8);
    expect(snapshot.dailyReturn).toBeCloseTo(pnl / (10_000 + 100 * yesterday), 12);
  });

  it("leaves a position opened on the date out of the P&L (it was not held at the previous close)", async () => {
    const { returns } = await storedInputs();
    const r = returns.get(stockB)!;
    const snapshot = (await storedRows([ids.openedToday])).snapshots[0]!;
    expect(snapshot.dailyPnl).toBeCloseTo((30 * closeOn(stockB, calculationDate) * r) / (1 + r), 8);
    // ...while it is in equity and exposures.
    expect(snapshot.equity).toBeCloseTo(
      5_000 + 30 * closeOn(stockB, calculationDate) + 20 * closeOn(stockA, calculationDate),
      8,
    );
  });

  it("sums the P&L of every valued position at its delta, options included", async () => {
    const { returns } = await storedInputs();
    const expected = await expectedAggregation(ids.main);
    let pnl = 0;
    for (const p of expected.positions) {
      if (p.marketValue === null || p.delta === null) continue;
      const r = returns.get(p.betaSymbol)!;
      pnl += (p.marketValue * p.delta * r) / (1 + r);
    }
    expect(expected.positions.filter((p) => p.instrument === "option" && p.delta !== null)).toHaveLength(2);
    const snapshot = (await storedRows([ids.main])).snapshots[0]!;
    expect(snapshot.dailyPnl).toBeCloseTo(pnl, 8);
    expect(snapshot.dailyReturn).toBeCloseTo(pnl / (expected.equity - pnl), 12);
  });

  it("stores a result for every built-in stress scenario, impacts = exposure_dollar × shock", async () => {
    const builtins = await db
      .select()
      .from(stressScenarios)
      .where(eq(stressScenarios.builtin, true))
      .orderBy(stressScenarios.id);
    expect(builtins.length).toBeGreaterThanOrEqual(5);
    const { stress, exposures } = await storedRows([ids.main]);
    expect(stress.map((row) => row.scenarioId)).toEqual(builtins.map((s) => s.id));
    for (const scenario of builtins) {
      const row = stress.find((r) => r.scenarioId === scenario.id)!;
      let total = 0;
      for (const [key, shock] of Object.entries(scenario.shocks)) {
        const factor = defaultFactorSpecs.find((f) => f.key === key)!;
        total += exposures.find((e) => e.factorId === factor.id)!.exposureDollar * shock;
      }
      expect(row.totalImpact).toBeCloseTo(total, 6);
      const equity = (await expectedAggregation(ids.main)).equity;
      expect(row.totalReturn).toBeCloseTo(total / equity, 12);
      expect(row).toMatchObject({ complete: true, missing: [] });
      expect(row.impacts).toHaveLength(Object.keys(scenario.shocks).length);
    }
  });

  it(
    "fails a portfolio whose holdings do not validate, writing nothing for it, " + "and goes on with the others",
    async () => {
      const rows = await storedRows([ids.invalid]);
      expect(rows).toEqual({ exposures: [], snapshots: [], stress: [], positionRows: [] });
      expect((await storedRows([ids.one])).snapshots).toHaveLength(1);
    },
  );

  it("stores a null exposure_value (never 0) when equity ≤ 0, with the dollar exposure", async () => {
    const { exposures, snapshots, stress } = await storedRows([ids.negative]);
    const { betaRows } = await storedInputs();
    expect(exposures).toHaveLength(defaultFactorSpecs.length);
    for (const row of exposures) {
      expect(row.exposureValue).toBeNull();
      const beta = betaRows.find((b) => b.symbol === stockA && b.factorId === row.factorId)!.betaValue;
      expect(row.exposureDollar).toBeCloseTo(100 * closeOn(stockA, calculationDate) * beta, 8);
    }
    expect(snapshots[0]!.equity).toBeLessThan(0);
    expect(snapshots[0]!.dataQuality).toMatchObject({ weights_available: false });
    expect(stress.every((row) => row.totalReturn === null && row.totalImpact !== null)).toBe(true);
  });

  it("writes a portfolio holding nothing on the date a snapshot at equity = cash and nothing else", async () => {
    const { exposures, snapshots, stress } = await storedRows([ids.empty]);
    expect(exposures).toEqual([]);
    expect(stress).toEqual([]);
    expect(snapshots[0]).toMatchObject({ equity: 2_500, gross: 0, net: 0, dailyPnl: null, dailyReturn: null });
    expect(snapshots[0]!.dataQuality).toMatchObject({ positions_total: 0, total_symbols: 0 });
  });

  it("counts every row it stored, and a second delivery changes nothing", async () => {
    const before = await storedRows(stored);
    const rowCount = before.exposures.length + before.snapshots.length + before.stress.length;
    expect(firstRun.counts.rows_stored).toBe(rowCount);
    const again = await runPortfolioAnalyticsChunk(db, { calculationDate, portfolioIds: chunkIds, dualWrite: false });
    expect(again.counts).toMatchObject({
      computed: 4,
      skipped: 2,
      failed: 1,
      rows_stored: 0,
      rows_unchanged: rowCount,
      rows_deleted: 0,
    });
    expect(await storedRows(stored)).toEqual(before);
  });

  it("deletes a stored row that is now stale, and rewrites a changed one", async () => {
    await db.insert(portfolioFactorExposures).values({
      portfolioId: ids.empty,
      factorId: 1,
      calculationDate,
      exposureValue: 0.5,
      exposureDollar: 1_250,
      coverage: 1,
      positionsUsed: 1,
      positionsTotal: 1,
    });
    await db.insert(portfolioStressResults).values({
      portfolioId: ids.empty,
      scenarioId: "builtin-market-drop",
      calculationDate,
      totalImpact: -250,
      totalReturn: -0.1,
      complete: true,
      impacts: [],
      missing: [],
    });
    await db
      .update(portfolioSnapshots)
      .set({ equity: 1 })
      .where(and(eq(portfolioSnapshots.portfolioId, ids.one), eq(portfolioSnapshots.date, calculationDate)));
    const rerun = await runPortfolioAnalyticsChunk(db, {
      calculationDate,
      portfolioIds: [ids.empty, ids.one],
      dualWrite: false,
    });
    expect(rerun.counts).toMatchObject({ rows_stored: 1, rows_deleted: 2 });
    const { exposures, stress } = await storedRows([ids.empty]);
    expect([...exposures, ...stress]).toEqual([]);
    expect((await storedRows([ids.one])).snapshots[0]!.equity).toBe(10_000 + 100 * closeOn(stockA, calculationDate));
  });

  it("does not touch position_factor_exposures with dual-write off", async () => {
    expect((await storedRows(stored)).positionRows).toEqual([]);
  });
});
