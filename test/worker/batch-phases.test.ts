import { and, eq, inArray } from "drizzle-orm";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import {
  companyProfiles,
  marketPrices,
  symbolBetaGaps,
  symbolDailyMetrics,
  symbolFactorExposures,
} from "../../schema/index.ts";
import { computeSymbolMetricsChunk, denormalizeFactorColumns } from "../../worker/batch/symbol-metrics-phase.ts";
import { computeSymbolMetrics } from "../../worker/factors/symbol-metrics.ts";
import { computeUniverseFactorsChunk } from "../../worker/batch/universe-factors.ts";
import { getDatabase } from "../../worker/db/client.ts";
import { buildFactorEngineInput, computeUniverseBetas } from "../../worker/factors/engine.ts";
import { defaultFactorSpecs } from "../../worker/factors/factor-specs.ts";
import { generateSyntheticMarket } from "../../worker/market-data/synthetic.ts";

const db = getDatabase(env);
const market = generateSyntheticMarket({ seed: 99, equities: 12, startDate: "2024-01-02", endDate: "2025-03-31" });
const calculationDate = market.calendar.at(-1)!;
const equities = market.instruments.filter((i) => i.assetType === "equity").map((i) => i.symbol);
// A symbol with only 30 closes: every factor is `insufficient_data`.
const shortHistory = "WTSHORT";
const shortRows = market.prices
  .filter((p) => p.symbol === equities[0])
  .slice(-30)
  .map((p) => ({ ...p, symbol: shortHistory }));
const allPrices = [...market.prices, ...shortRows];
// Symbols whose last close is more than 5 trading days before the date (the synthetic market's
// delisting): `stale_prices`, no betas (docs/design.md §4.5).
const lastCloseOf = (symbol: string) => market.prices.filter((p) => p.symbol === symbol).at(-1)?.date ?? "";
const staleEquities = equities.filter(
  (symbol) => market.calendar.filter((date) => date > lastCloseOf(symbol)).length > 5,
);
const liveEquities = equities.filter((symbol) => !staleEquities.includes(symbol));

async function storedRows(symbols: readonly string[]) {
  return db
    .select()
    .from(symbolFactorExposures)
    .where(
      and(
        eq(symbolFactorExposures.calculationDate, calculationDate),
        inArray(symbolFactorExposures.symbol, [...symbols]),
      ),
    )
    .orderBy(symbolFactorExposures.symbol, symbolFactorExposures.factorId);
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
  // A profile for the first equity only: the others score lower.
  await db
    .insert(companyProfiles)
    .values({
      symbol: equities[0]!,
      companyName: "WT Test Co (synthetic)",
      sector: "Energy",
      industry: "Oil & Gas",
      marketCap: 5e9,
      enterpriseValue: 6e9,
      peRatio: 12,
      psRatio: 1.5,
      pbRatio: 2,
      asOf: calculationDate,
    })
    .onConflictDoNothing();
});

async function metricsRows(symbols: readonly string[]) {
  return db
    .select()
    .from(symbolDailyMetrics)
    .where(and(eq(symbolDailyMetrics.metricsDate, calculationDate), inArray(symbolDailyMetrics.symbol, [...symbols])))
    .orderBy(symbolDailyMetrics.symbol);
}

describe("symbol metrics phase (one chunk), before the factors", () => {
  it("writes a row per symbol trading on the date, with the pure metrics, and reports the others", async () => {
    const result = await computeSymbolMetricsChunk(db, { calculationDate, symbols: [...equities, "WTNOPRICE"] });
    const rows = await metricsRows(equities);
    const delisted = equities.filter(
      (symbol) => market.prices.filter((p) => p.symbol === symbol).at(-1)?.date !== calculationDate,
    );
    expect(result.withoutClose.sort()).toEqual([...delisted, "WTNOPRICE"].sort());
    expect(rows).toHaveLength(equities.length - delisted.length);
    expect(result.counts).toMatchObject({ rowsWritten: rows.length, symbolsWithoutClose: delisted.length + 1 });
    const first = rows.find((row) => row.symbol === equities[0])!;
    const closes = market.prices
      .filter((p) => p.symbol === equities[0])
      .map((p) => ({ date: p.date, close: p.close, adjClose: null }));
    const expected = computeSymbolMetrics({
      symbol: equities[0]!,
      metricsDate: calculationDate,
      closes,
      previousTradingDate: market.calendar.at(-2)!,
      profile: {
        companyName: "WT Test Co (synthetic)",
        sector: "Energy",
        industry: "Oil & Gas",
        marketCap: 5e9,
        enterpriseValue: 6e9,
        peRatio: 12,
        psRatio: 1.5,
        pbRatio: 2,
      },
      betas: {},
      factorKeys: defaultFactorSpecs.map((f) => f.key),
    });
    expect(first).toMatchObject({
      currentPrice: expected.currentPrice,
      return1d: expected.return1d,
      returnYtd: expected.returnYtd,
      return1y: expected.return1y,
      sector: "Energy",
      factorMarketBeta: null,
      dataQualityScore: expected.dataQualityScore,
    });
    // 15 own fields present of 27 before any beta exists.
    expect(first.dataQualityScore).toBe(Math.round((100 * 15) / 27));
  });
});

describe("universe factors phase (one chunk)", () => {
  it(
    "stores the factor engine's betas for every symbol of the chunk, " + "and reports the ones it cannot compute",
    async () => {
      const result = await computeUniverseFactorsChunk(db, {
        calculationDate,
        symbols: [...equities, shortHistory, "WTNOPRICE"],
        forceRerun: false,
      });
      const expected = computeUniverseBetas(
        buildFactorEngineInput(
          allPrices.map((p) => ({ symbol: p.symbol, date: p.date, close: p.close })),
          defaultFactorSpecs,
        ).input,
        calculationDate,
      );
      const stored = await storedRows(equities);
      let compared = 0;
      for (const row of stored) {
        const factor = defaultFactorSpecs.find((f) => f.id === row.factorId)!;
        const beta = expected.symbolBetasFor(row.symbol)!.betas[factor.key]!;
        expect(beta.status).toBe("estimated");
        if (beta.status !== "estimated") continue;
        expect(row.betaValue).toBe(beta.beta);
        expect(row.rSquared).toBe(beta.rSquared);
        expect(row.observations).toBe(beta.observations);
        expect(row.qualityFlag).toBe(beta.qualityFlag);
        expect(row.regularizationAlpha).toBe(beta.regularizationAlpha);
        compared++;
      }
      const estimatedCount = liveEquities
        .flatMap((s) => Object.values(expected.symbolBetasFor(s)!.betas))
        .filter((b) => b.status === "estimated").length;
      expect(compared).toBe(estimatedCount);
      expect(compared).toBeGreaterThan(liveEquities.length * defaultFactorSpecs.length * 0.9);
      expect(staleEquities.length).toBeGreaterThan(0);
      expect(result.counts).toMatchObject({
        symbolsTotal: 14,
        symbolsComputed: 13 - staleEquities.length,
        symbolsSkipped: 0,
        rowsWritten: estimatedCount,
        rowsDeleted: 0,
      });
      expect(result.missing).toContainEqual(
        expect.objectContaining({ symbol: "WTNOPRICE", factorKey: null, reason: "no_prices" }),
      );
      const short = result.missing.filter((m) => m.symbol === shortHistory);
      expect(short.map((m) => m.reason)).toEqual(Array(defaultFactorSpecs.length).fill("insufficient_data"));
      expect(await storedRows([shortHistory, "WTNOPRICE", ...staleEquities])).toEqual([]);
      // Every missing beta is stored with its reason and figures.
      const gaps = await db.select().from(symbolBetaGaps).where(eq(symbolBetaGaps.calculationDate, calculationDate));
      const gapsOf = (symbol: string) => gaps.filter((gap) => gap.symbol === symbol);
      expect(gapsOf(shortHistory)).toHaveLength(defaultFactorSpecs.length);
      for (const gap of gapsOf(shortHistory)) {
        expect(gap).toMatchObject({ reason: "insufficient_data", minObservations: 60 });
        expect(gap.observations).toBeGreaterThan(20);
        expect(gap.observations).toBeLessThan(60);
      }
      expect(gapsOf("WTNOPRICE").map((gap) => gap.reason)).toEqual(Array(defaultFactorSpecs.length).fill("no_prices"));
      for (const symbol of staleEquities) {
        expect(gapsOf(symbol)).toHaveLength(defaultFactorSpecs.length);
        for (const gap of gapsOf(symbol))
          expect(gap).toMatchObject({ reason: "stale_prices", lastCloseDate: lastCloseOf(symbol) });
        expect(result.missing).toContainEqual(
          expect.objectContaining({ symbol, factorKey: null, reason: "stale_prices" }),
        );
      }
    },
  );

  it("skips symbols already stored for the date, and changes nothing when the chunk is delivered again", async () => {
    const before = await storedRows(equities);
    const again = await computeUniverseFactorsChunk(db, { calculationDate, symbols: equities, forceRerun: false });
    expect(again.counts).toMatchObject({ symbolsComputed: 0, symbolsSkipped: equities.length, rowsWritten: 0 });
    expect(await storedRows(equities)).toEqual(before);
  });

  it("recomputes with force_rerun, rewriting nothing that did not change", async () => {
    const before = await storedRows(equities);
    const rerun = await computeUniverseFactorsChunk(db, { calculationDate, symbols: equities, forceRerun: true });
    expect(rerun.counts).toMatchObject({
      symbolsComputed: liveEquities.length,
      rowsWritten: 0,
      rowsUnchanged: before.length,
    });
    expect(await storedRows(equities)).toEqual(before);
  });

  it("denormalizes the date's betas into the factor columns and rescores, then is a no-op", async () => {
    const result = await denormalizeFactorColumns(db, { calculationDate, symbols: equities });
    const rows = await metricsRows(equities);
    expect(result).toMatchObject({ rowsTotal: rows.length, rowsUpdated: rows.length, factorsWithoutColumn: [] });
    const betas = await storedRows(equities);
    for (const row of rows) {
      const market = betas.find((b) => b.symbol === row.symbol && b.factorId === 1);
      const spread = betas.find((b) => b.symbol === row.symbol && b.factorId === 12);
      expect(row.factorMarketBeta).toBe(market?.betaValue ?? null);
      expect(row.factorQualitySpread).toBe(spread?.betaValue ?? null);
    }
    const first = rows.find((row) => row.symbol === equities[0])!;
    expect(first.dataQualityScore).toBe(100);
    expect((await denormalizeFactorColumns(db, { calculationDate, symbols: equities })).rowsUpdated).toBe(0);
    // Re-running phase 2 keeps the denormalized betas (it reads the date's betas too).
    expect((await computeSymbolMetricsChunk(db, { calculationDate, symbols: equities })).counts.rowsWritten).toBe(0);
  });

  it("removes a stored beta that is now missing instead of leaving it stale", async () => {
    await db.insert(symbolFactorExposures).values({
      symbol: shortHistory,
      factorId: 1,
      calculationDate,
      betaValue: 1.2,
      observations: 200,
      qualityFlag: "ok",
      calculationMethod: "ols",
      regressionWindowDays: 365,
    });
    const rerun = await computeUniverseFactorsChunk(db, { calculationDate, symbols: [shortHistory], forceRerun: true });
    expect(rerun.counts.rowsDeleted).toBe(1);
    expect(await storedRows([shortHistory])).toEqual([]);
  });
});
