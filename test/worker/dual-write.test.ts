// Dual-write (docs/design.md §6): phase 4 with dual-write on writes the per-position path
// (`position_factor_exposures`), and the compare report checks it against the aggregate path.
// The world: the synthetic market of portfolio-analytics-phase.test.ts (same seed and dates,
// so the shared ETF rows agree) with its equities renamed `PAD…`, phases 2 and 3 run on two
// dates at the end of 2022.
import { and, eq, inArray } from "drizzle-orm";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import {
  marketPrices,
  portfolioFactorExposures,
  portfolios,
  positionFactorExposures,
  positions,
  symbolDailyMetrics,
  symbolFactorExposures,
} from "../../schema/index.ts";
import { buildDualWriteReport } from "../../worker/batch/dual-write-report.ts";
import { runPortfolioAnalyticsChunk } from "../../worker/batch/portfolio-analytics-phase.ts";
import { computeSymbolMetricsChunk } from "../../worker/batch/symbol-metrics-phase.ts";
import { computeUniverseFactorsChunk } from "../../worker/batch/universe-factors.ts";
import { getDatabase } from "../../worker/db/client.ts";
import { buildFactorEngineInput, computeSymbolBetasDirect } from "../../worker/factors/engine.ts";
import { defaultFactorSpecs } from "../../worker/factors/factor-specs.ts";
import { aggregatePortfolio } from "../../worker/factors/portfolio.ts";
import type { SymbolFactorBeta } from "../../worker/factors/types.ts";
import { generateSyntheticMarket } from "../../worker/market-data/synthetic.ts";

const db = getDatabase(env);
const market = generateSyntheticMarket({ seed: 20220630, equities: 3, startDate: "2021-06-07", endDate: "2022-12-30" });
const dates = ["2022-12-29", "2022-12-30"] as const;
const [earlier, calculationDate] = dates;
const rename = (symbol: string) =>
  symbol.startsWith("SYN") ? `PAD${symbol.slice(3)}` : symbol === "QQQ" ? "PADQQQ" : symbol;
const prices = market.prices.map((p) => ({ ...p, symbol: rename(p.symbol) }));
const [stockA, stockB, stockC] = market.instruments
  .filter((i) => i.assetType === "equity")
  .map((i) => rename(i.symbol)) as [string, string, string];
const etf = "PADQQQ";
const worldSymbols = [stockA, stockB, stockC, etf];
const closeOn = (symbol: string, date: string) => prices.find((p) => p.symbol === symbol && p.date === date)!.close;
const marketBetaId = defaultFactorSpecs.find((f) => f.key === "market_beta")!.id;

const ids = { main: "pa-dual-main", two: "pa-dual-two", negative: "pa-dual-negative" } as const;
const portfolioIds = Object.values(ids);
const owner = "pa-dual-write-test";
const opened = "2022-01-03";
const heldInMain = ["pa-dual-call", "pa-dual-etf", "pa-dual-long", "pa-dual-put", "pa-dual-short"];

async function runDates(dualWrite: boolean) {
  const outcomes = [];
  for (const date of dates)
    outcomes.push(await runPortfolioAnalyticsChunk(db, { calculationDate: date, portfolioIds, dualWrite }));
  return outcomes;
}

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
  for (const date of dates) {
    await computeSymbolMetricsChunk(db, { calculationDate: date, symbols: worldSymbols });
    await computeUniverseFactorsChunk(db, { calculationDate: date, symbols: worldSymbols, forceRerun: true });
  }
  await db.insert(portfolios).values([
    { id: ids.main, owner, name: "main", cash: 40_000 },
    { id: ids.two, owner, name: "two stocks", cash: 5_000 },
    { id: ids.negative, owner, name: "negative equity", cash: -10_000_000 },
  ]);
  const strikeA = Math.round(closeOn(stockA, calculationDate));
  const strikeC = Math.round(closeOn(stockC, calculationDate));
  await db.insert(positions).values([
    { id: "pa-dual-long", portfolioId: ids.main, symbol: stockA, instrument: "stock", quantity: 250, openedOn: opened },
    {
      id: "pa-dual-short",
      portfolioId: ids.main,
      symbol: stockB,
      instrument: "stock",
      quantity: -120,
      openedOn: opened,
    },
    { id: "pa-dual-etf", portfolioId: ids.main, symbol: etf, instrument: "etf", quantity: 30, openedOn: opened },
    {
      id: "pa-dual-call",
      portfolioId: ids.main,
      symbol: `${stockA} 2023-03-17 C${strikeA}`,
      instrument: "option",
      quantity: 3,
      openedOn: opened,
      underlyingSymbol: stockA,
      optionType: "call",
      strike: strikeA,
      expiry: "2023-03-17",
      multiplier: 100,
      delta: 0.55,
      premium: 6,
    },
    {
      id: "pa-dual-put",
      portfolioId: ids.main,
      symbol: `${stockC} 2023-02-17 P${strikeC}`,
      instrument: "option",
      quantity: 2,
      openedOn: opened,
      underlyingSymbol: stockC,
      optionType: "put",
      strike: strikeC,
      expiry: "2023-02-17",
      multiplier: 100,
      impliedVol: 0.4,
    },
    {
      id: "pa-dual-private",
      portfolioId: ids.main,
      symbol: "PADPRIVATE",
      instrument: "private",
      quantity: 1,
      openedOn: opened,
    },
    {
      id: "pa-dual-closed",
      portfolioId: ids.main,
      symbol: stockC,
      instrument: "stock",
      quantity: 40,
      openedOn: opened,
      closedOn: "2022-06-01",
    },
    { id: "pa-dual-two-a", portfolioId: ids.two, symbol: stockA, instrument: "stock", quantity: 40, openedOn: opened },
    { id: "pa-dual-two-c", portfolioId: ids.two, symbol: stockC, instrument: "stock", quantity: -25, openedOn: opened },
    {
      id: "pa-dual-negative-a",
      portfolioId: ids.negative,
      symbol: stockA,
      instrument: "stock",
      quantity: 10,
      openedOn: opened,
    },
  ]);
  await runDates(true);
}, 60_000);

async function positionRows(date: string, portfolioId?: string) {
  return db
    .select()
    .from(positionFactorExposures)
    .where(
      and(
        eq(positionFactorExposures.calculationDate, date),
        inArray(positionFactorExposures.portfolioId, portfolioId ? [portfolioId] : portfolioIds),
      ),
    )
    .orderBy(positionFactorExposures.positionId, positionFactorExposures.factorId);
}

async function cachedBeta(symbol: string, factorId: number, date: string) {
  const row = await db
    .select()
    .from(symbolFactorExposures)
    .where(
      and(
        eq(symbolFactorExposures.symbol, symbol),
        eq(symbolFactorExposures.factorId, factorId),
        eq(symbolFactorExposures.calculationDate, date),
      ),
    )
    .get();
  return row!;
}

const fullRange = { startDate: earlier, endDate: calculationDate, portfolioId: null };
// The report is over every portfolio in the range; other test files do not dual-write on these dates.

describe("dual-write in portfolio analytics", () => {
  it("writes one row per held, valued position and factor, options at the underlying's beta", async () => {
    const rows = await positionRows(calculationDate, ids.main);
    expect([...new Set(rows.map((row) => row.positionId))]).toEqual(heldInMain);
    expect(rows).toHaveLength(heldInMain.length * defaultFactorSpecs.length);

    // Weights and deltas as the aggregation gives them; betas by the per-symbol path from the closes.
    const [metrics, holdings] = await Promise.all([
      db
        .select()
        .from(symbolDailyMetrics)
        .where(
          and(eq(symbolDailyMetrics.metricsDate, calculationDate), inArray(symbolDailyMetrics.symbol, worldSymbols)),
        ),
      db.select().from(positions).where(eq(positions.portfolioId, ids.main)).orderBy(positions.id),
    ]);
    const aggregation = aggregatePortfolio({
      date: calculationDate,
      holdings,
      cash: 40_000,
      factors: defaultFactorSpecs,
      closes: new Map(metrics.map((m) => [m.symbol, m.currentPrice!])),
      betas: new Map<string, Record<string, SymbolFactorBeta>>(),
    });
    const storedPrices = await db
      .select()
      .from(marketPrices)
      .where(
        inArray(marketPrices.symbol, [...worldSymbols, "SPY", "TLT", "VTV", "VUG", "MTUM", "QUAL", "IWM", "USMV"]),
      );
    const input = buildFactorEngineInput(
      storedPrices.filter((p) => p.date <= calculationDate),
      defaultFactorSpecs,
    ).input;

    const call = rows.filter((row) => row.positionId === "pa-dual-call");
    const callValuation = aggregation.positions.find((p) => p.positionId === "pa-dual-call")!;
    const direct = computeSymbolBetasDirect(input, stockA, calculationDate);
    for (const row of call) {
      const factor = defaultFactorSpecs.find((f) => f.id === row.factorId)!;
      const beta = direct.betas[factor.key]!;
      if (beta.status !== "estimated") throw new Error(`no ${factor.key} beta for ${stockA}`);
      expect(row).toMatchObject({
        symbol: stockA,
        isOption: true,
        delta: 0.55,
        betaValue: beta.beta,
        weight: callValuation.weight,
      });
      expect(row.betaValue).toBeCloseTo((await cachedBeta(stockA, row.factorId, calculationDate)).betaValue, 12);
      expect(row.exposureValue).toBeCloseTo(callValuation.weight! * 0.55 * beta.beta, 15);
    }
    const put = rows.find((row) => row.positionId === "pa-dual-put" && row.factorId === marketBetaId)!;
    const putValuation = aggregation.positions.find((p) => p.positionId === "pa-dual-put")!;
    expect(putValuation.deltaSource).toBe("black_scholes");
    expect(put).toMatchObject({ symbol: stockC, isOption: true, delta: putValuation.delta });
    const long = rows.find((row) => row.positionId === "pa-dual-long" && row.factorId === marketBetaId)!;
    expect(long).toMatchObject({ symbol: stockA, isOption: false, delta: 1 });
  });

  it("writes no position row where there is no weight (equity ≤ 0), and the portfolio rows still", async () => {
    expect(await positionRows(calculationDate, ids.negative)).toEqual([]);
    const exposures = await db
      .select()
      .from(portfolioFactorExposures)
      .where(
        and(
          eq(portfolioFactorExposures.portfolioId, ids.negative),
          eq(portfolioFactorExposures.calculationDate, calculationDate),
        ),
      );
    expect(exposures).toHaveLength(defaultFactorSpecs.length);
  });

  it("rewrites nothing when delivered again, and leaves the position rows alone with dual-write off", async () => {
    const before = [...(await positionRows(earlier)), ...(await positionRows(calculationDate))];
    const again = await runDates(true);
    expect(again.map((outcome) => outcome.counts.rows_stored)).toEqual([0, 0]);
    const off = await runDates(false);
    expect(off.map((outcome) => outcome.counts.rows_deleted)).toEqual([0, 0]);
    expect([...(await positionRows(earlier)), ...(await positionRows(calculationDate))]).toEqual(before);
  });
});

describe("dual-write compare report", () => {
  it("recommends SAFE_TO_DEPRECATE when both paths agree on every date", async () => {
    const report = await buildDualWriteReport(db, fullRange);
    const positionRowCount = (await positionRows(earlier)).length + (await positionRows(calculationDate)).length;
    // Two portfolios with position rows (the negative-equity one has none), 12 factors, 2 dates.
    const portfolioGroups = 2 * defaultFactorSpecs.length * dates.length;
    expect(report.overall).toMatchObject({
      comparisons: positionRowCount + portfolioGroups,
      matches: positionRowCount + portfolioGroups,
      discrepancies: 0,
      missing_symbols: 0,
      match_rate: 1,
      by_kind: {
        position_beta: { comparisons: positionRowCount, matches: positionRowCount, discrepancies: 0 },
        portfolio_exposure: { comparisons: portfolioGroups, matches: portfolioGroups, discrepancies: 0 },
      },
    });
    expect(report.dates.map((d) => [d.date, d.comparisons, d.match_rate])).toEqual([
      [earlier, positionRowCount / 2 + portfolioGroups / 2, 1],
      [calculationDate, positionRowCount / 2 + portfolioGroups / 2, 1],
    ]);
    expect(report).toMatchObject({
      discrepancies: [],
      missing_symbols: [],
      discrepancies_truncated: false,
      recommendation: "SAFE_TO_DEPRECATE",
    });
  });

  it(
    "lists an injected beta discrepancy (and the portfolio one it causes) " + "and recommends KEEP_DUAL_WRITE",
    async () => {
      const target = (await positionRows(calculationDate, ids.main)).find(
        (row) => row.positionId === "pa-dual-long" && row.factorId === marketBetaId,
      )!;
      const cached = (await cachedBeta(stockA, marketBetaId, calculationDate)).betaValue;
      await db
        .update(positionFactorExposures)
        .set({ betaValue: target.betaValue + 0.01 })
        .where(eq(positionFactorExposures.id, target.id));

      const betaOnly = await buildDualWriteReport(db, fullRange);
      expect(betaOnly.recommendation).toBe("KEEP_DUAL_WRITE");
      expect(betaOnly.reason).toContain("1 discrepancy");
      expect(betaOnly.overall).toMatchObject({
        discrepancies: 1,
        by_kind: { position_beta: { discrepancies: 1 }, portfolio_exposure: { discrepancies: 0 } },
      });
      expect(betaOnly.overall.match_rate).toBeLessThan(1);
      expect(betaOnly.discrepancies).toHaveLength(1);
      const [discrepancy] = betaOnly.discrepancies;
      expect(discrepancy).toMatchObject({
        date: calculationDate,
        kind: "position_beta",
        portfolio_id: ids.main,
        position_id: "pa-dual-long",
        symbol: stockA,
        factor_key: "market_beta",
        is_option: false,
        new_value: cached,
      });
      expect(discrepancy!.old_value).toBeCloseTo(cached + 0.01, 12);
      expect(discrepancy!.difference).toBeCloseTo(-0.01, 12);
      expect(betaOnly.dates.find((d) => d.date === earlier)!.discrepancies).toBe(0);

      // The old path's exposure moves with its beta: Σ position exposures now differs by weight × 0.01.
      expect(target.weight * 0.01).toBeGreaterThan(1e-3);
      await db
        .update(positionFactorExposures)
        .set({ exposureValue: target.weight * target.delta * (target.betaValue + 0.01) })
        .where(eq(positionFactorExposures.id, target.id));
      const both = await buildDualWriteReport(db, fullRange);
      expect(both.overall).toMatchObject({
        discrepancies: 2,
        by_kind: { position_beta: { discrepancies: 1 }, portfolio_exposure: { discrepancies: 1 } },
      });
      const portfolioLevel = both.discrepancies.find((d) => d.kind === "portfolio_exposure")!;
      expect(portfolioLevel).toMatchObject({
        date: calculationDate,
        portfolio_id: ids.main,
        factor_key: "market_beta",
        position_id: null,
      });
      expect(portfolioLevel.difference).toBeCloseTo(-target.weight * 0.01, 12);
      expect(both.recommendation).toBe("KEEP_DUAL_WRITE");

      // The next run restores the row, and the report is clean again.
      const restored = await runPortfolioAnalyticsChunk(db, { calculationDate, portfolioIds, dualWrite: true });
      expect(restored.counts.rows_stored).toBe(1);
      expect((await buildDualWriteReport(db, fullRange)).recommendation).toBe("SAFE_TO_DEPRECATE");
    },
  );

  it("reports missing symbols on either side, and does not call that safe", async () => {
    const row = (await positionRows(earlier, ids.two)).find(
      (r) => r.positionId === "pa-dual-two-c" && r.factorId === marketBetaId,
    )!;
    await db.delete(positionFactorExposures).where(eq(positionFactorExposures.id, row.id));
    const cached = await cachedBeta(stockA, marketBetaId, earlier);
    await db.delete(symbolFactorExposures).where(eq(symbolFactorExposures.id, cached.id));
    try {
      const report = await buildDualWriteReport(db, fullRange);
      expect(report.recommendation).toBe("KEEP_DUAL_WRITE");
      expect(report.reason).toContain("missing symbol");
      // stockA's cached beta is gone: every position row on it (long, call, two-a) lacks its counterpart.
      expect(report.missing_symbols).toEqual([
        {
          date: earlier,
          reason: "no_cached_beta",
          portfolio_id: ids.main,
          position_id: "pa-dual-call",
          symbol: stockA,
          factor_key: "market_beta",
          is_option: true,
        },
        {
          date: earlier,
          reason: "no_cached_beta",
          portfolio_id: ids.main,
          position_id: "pa-dual-long",
          symbol: stockA,
          factor_key: "market_beta",
          is_option: false,
        },
        {
          date: earlier,
          reason: "no_cached_beta",
          portfolio_id: ids.two,
          position_id: "pa-dual-two-a",
          symbol: stockA,
          factor_key: "market_beta",
          is_option: false,
        },
        {
          date: earlier,
          reason: "no_position_row",
          portfolio_id: ids.two,
          position_id: "pa-dual-two-c",
          symbol: stockC,
          factor_key: "market_beta",
          is_option: false,
        },
      ]);
      expect(report.overall.missing_symbols).toBe(4);
      expect(report.dates.find((d) => d.date === calculationDate)!.missing_symbols).toBe(0);
    } finally {
      const { id: _id, ...values } = cached;
      await db.insert(symbolFactorExposures).values(values);
      await runPortfolioAnalyticsChunk(db, { calculationDate: earlier, portfolioIds, dualWrite: true });
    }
    expect((await buildDualWriteReport(db, fullRange)).recommendation).toBe("SAFE_TO_DEPRECATE");
  });

  it("narrows to one portfolio", async () => {
    const report = await buildDualWriteReport(db, { ...fullRange, portfolioId: ids.two });
    const rowCount =
      (await positionRows(earlier, ids.two)).length + (await positionRows(calculationDate, ids.two)).length;
    expect(report.portfolio_id).toBe(ids.two);
    expect(report.overall.by_kind.position_beta.comparisons).toBe(rowCount);
    expect(report.overall.by_kind.portfolio_exposure.comparisons).toBe(defaultFactorSpecs.length * dates.length);
  });

  it("does not recommend deprecation when nothing was compared", async () => {
    const report = await buildDualWriteReport(db, { startDate: "2022-12-31", endDate: "2023-01-01" });
    expect(report.overall).toMatchObject({ comparisons: 0, matches: 0, discrepancies: 0, match_rate: null });
    expect(report.dates).toEqual([]);
    expect(report.recommendation).toBe("KEEP_DUAL_WRITE");
    expect(report.reason).toContain("nothing compared");
  });

  it("refuses a malformed or reversed range", async () => {
    await expect(buildDualWriteReport(db, { startDate: "2022-12-30", endDate: "2022-12-01" })).rejects.toThrow(
      RangeError,
    );
    await expect(buildDualWriteReport(db, { startDate: "2022-02-30", endDate: "2022-12-01" })).rejects.toThrow(
      /ISO date/,
    );
  });
});
