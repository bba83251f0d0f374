// The risk model phase (docs/design.md §5, §11) for one chunk, its date-level work (chunk 0)
// and inside a whole run. The world: a synthetic market from 2016-01-04 to 2018-06-29 (no other
// test file has closes in that range; the factor ETFs keep their names, the equities are renamed
// `RM…`), a symbol with 30 closes and one with none. Expectations come from the risk engine on
// the same closes, computed here independently of the phase.
import { and, asc, eq, gte, inArray, lte } from "drizzle-orm";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import {
  batchPhaseResults,
  batchRuns,
  factorCovariances,
  factorReturns,
  marketPrices,
  portfolios,
  positions,
  symbolRiskLoadings,
} from "../../schema/index.ts";
import { batchConfig } from "../../worker/batch/config.ts";
import type { BatchMessage } from "../../worker/batch/messages.ts";
import { processBatchMessage } from "../../worker/batch/orchestrator.ts";
import {
  computeRiskModelChunk,
  covarianceLookbackDays,
  riskModelOutcome,
  riskModelSettings,
  type RiskModelChunk,
} from "../../worker/batch/risk-model-phase.ts";
import { createRun } from "../../worker/batch/runs.ts";
import { batchPhases, type StoredPhaseCounts } from "../../worker/batch/telemetry.ts";
import { addDays } from "../../worker/dates.ts";
import { getDatabase } from "../../worker/db/client.ts";
import { loadActiveFactors } from "../../worker/db/factors.ts";
import { loadActiveRiskFactors, riskFactorSymbols } from "../../worker/db/risk-factors.ts";
import { createFactorEngineInput } from "../../worker/factors/factor-plan.ts";
import { factorInputSymbols } from "../../worker/factors/factor-specs.ts";
import { buildReturnPanelFromPrices } from "../../worker/factors/returns.ts";
import {
  computeFactorCovariance,
  computeSymbolRiskLoadingsDirect,
  computeUniverseRiskLoadings,
  createRiskEngineInput,
  lensFactorReturnSeries,
  riskFactorReturnSeries,
} from "../../worker/factors/risk-model.ts";
import { generateSyntheticMarket } from "../../worker/market-data/synthetic.ts";

const db = getDatabase(env);
const market = generateSyntheticMarket({ seed: 1618, equities: 12, startDate: "2016-01-04", endDate: "2018-06-29" });
const rename = (symbol: string) => (symbol.startsWith("SYN") ? `RM${symbol.slice(3)}` : symbol);
const calculationDate = market.calendar.at(-1)!;
/** The 41st trading day: fewer than 60 days of factor returns before it. */
const earlyDate = market.calendar[40]!;
const equities = market.instruments.filter((i) => i.assetType === "equity").map((i) => rename(i.symbol));
const shortHistory = "RMSHORT";
const noPrices = "RMNOPRICE";
const marketPricesOf = market.prices.map((p) => ({ ...p, symbol: rename(p.symbol) }));
// Only the last 30 closes: `insufficient_data`.
const shortRows = marketPricesOf
  .filter((p) => p.symbol === equities[0])
  .slice(-30)
  .map((p) => ({ ...p, symbol: shortHistory }));
const allPrices = [...marketPricesOf, ...shortRows];
const lastCloseOf = (symbol: string) => allPrices.filter((p) => p.symbol === symbol).at(-1)?.date ?? "";
// The synthetic market's delisted equity: its last close is more than 5 trading days old.
const staleEquities = equities.filter(
  (symbol) => market.calendar.filter((date) => date > lastCloseOf(symbol)).length > 5,
);
const liveEquities = equities.filter((symbol) => !staleEquities.includes(symbol));
const chunkSymbols = [...equities, shortHistory, noPrices];
const chunk: RiskModelChunk = { calculationDate, symbols: chunkSymbols, forceRerun: false, dateLevel: false };
const settings = riskModelSettings();

/** The stored rows as the phase's engine would see them: closes of `symbols` in (from, to]. */
function closesOf(symbols: readonly string[], from: string, to: string) {
  const wanted = new Set(symbols);
  return allPrices
    .filter((p) => wanted.has(p.symbol) && p.date > from && p.date <= to)
    .map((p) => ({ symbol: p.symbol, date: p.date, close: p.close, adjClose: null }));
}

async function storedLoadings(symbols: readonly string[], date = calculationDate) {
  return db
    .select()
    .from(symbolRiskLoadings)
    .where(and(eq(symbolRiskLoadings.calculationDate, date), inArray(symbolRiskLoadings.symbol, [...symbols])))
    .orderBy(asc(symbolRiskLoadings.symbol));
}

const withoutTimestamp = <T extends { updatedAt: string }>(rows: T[]) => rows.map(({ updatedAt: _, ...row }) => row);

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
});

describe("risk model phase: one chunk of symbols", () => {
  it("stores the engine's loadings, and every symbol it cannot estimate as a row with its reason", async () => {
    const factors = await loadActiveRiskFactors(db);
    expect(factors.map((f) => f.key)).toEqual([
      "market",
      "rates",
      "growth_value",
      "momentum",
      "size",
      "quality",
      "low_volatility",
    ]);
    const result = await computeRiskModelChunk(db, chunk);

    const from = addDays(calculationDate, -(settings.windowDays + 10));
    const { panel } = buildReturnPanelFromPrices(
      closesOf([...chunkSymbols, "SPY", ...riskFactorSymbols(factors)], from, calculationDate),
      { maxDailyMove: 5 },
    );
    const input = createRiskEngineInput(panel, factors, settings);
    const expected = computeUniverseRiskLoadings(input, calculationDate);
    const stored = await storedLoadings(chunkSymbols);
    expect(stored.map((row) => row.symbol)).toEqual([...chunkSymbols].sort());
    for (const symbol of liveEquities) {
      const row = stored.find((r) => r.symbol === symbol)!;
      const loadings = expected.loadingsFor(symbol)!;
      expect(loadings.status, symbol).toBe("estimated");
      if (loadings.status !== "estimated") continue;
      expect(row).toMatchObject({
        reason: null,
        qualityFlag: loadings.qualityFlag,
        loadings: loadings.loadings,
        standardErrors: loadings.standardErrors,
        residualVariance: loadings.residualVariance,
        rSquared: loadings.rSquared,
        observations: loadings.observations,
        factorObservations: loadings.factorObservations,
        windowDays: 365,
      });
      expect(Object.keys(row.loadings!)).toEqual(factors.map((f) => f.key));
      // The per-symbol path from scratch agrees with the shared-work one.
      const direct = computeSymbolRiskLoadingsDirect(input, symbol, calculationDate);
      expect(direct?.status).toBe("estimated");
      if (direct?.status !== "estimated") continue;
      for (const factor of factors) {
        expect(row.loadings![factor.key]).toBeCloseTo(direct.loadings[factor.key]!, 9);
        expect(row.standardErrors![factor.key]).toBeCloseTo(direct.standardErrors[factor.key]!, 9);
      }
    }

    // Missing: a row with the reason, never zeros.
    const short = stored.find((r) => r.symbol === shortHistory)!;
    expect(short).toMatchObject({
      reason: "insufficient_data",
      qualityFlag: null,
      loadings: null,
      standardErrors: null,
    });
    expect(short.observations).toBeGreaterThan(20);
    expect(short.observations).toBeLessThan(60);
    expect(short.detail).toEqual(expect.any(String));
    expect(stored.find((r) => r.symbol === noPrices)).toMatchObject({
      reason: "no_prices",
      loadings: null,
      observations: null,
      detail: `no close of ${noPrices} is stored`,
    });
    expect(staleEquities.length).toBeGreaterThan(0);
    for (const symbol of staleEquities) {
      const row = stored.find((r) => r.symbol === symbol)!;
      expect(row).toMatchObject({ reason: "stale_prices", loadings: null, residualVariance: null });
      expect(row.detail).toContain(`last close is on ${lastCloseOf(symbol)}`);
    }

    expect(result.counts).toEqual({
      symbolsTotal: chunkSymbols.length,
      symbolsComputed: liveEquities.length + 1,
      symbolsSkipped: 0,
      loadingsEstimated: liveEquities.length,
      loadingsMissing: 2 + staleEquities.length,
      rowsWritten: chunkSymbols.length,
      rowsUnchanged: 0,
      recomputedStale: 0,
    });
    expect(result.dateWork).toBeNull();

    const outcome = riskModelOutcome(result, 0);
    expect(outcome.counts).toMatchObject({
      unit: "symbols",
      total: chunkSymbols.length,
      computed: liveEquities.length + 1,
      skipped: 0,
      failed: 1 + staleEquities.length,
      failed_reasons: { no_prices: 1, stale_prices: staleEquities.length },
      loadings_estimated: liveEquities.length,
      loadings_missing: 2 + staleEquities.length,
      loadings_missing_reasons: { insufficient_data: 1, no_prices: 1, stale_prices: staleEquities.length },
      rows_stored: chunkSymbols.length,
      rows_unchanged: 0,
      rows_deleted: 0,
    });
    expect(outcome.counts).not.toHaveProperty("covariance");
    expect(outcome.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ item: shortHistory, kind: "skipped", reason: "insufficient_data" }),
        expect.objectContaining({ item: noPrices, kind: "failed", reason: "no_prices" }),
        ...staleEquities.map((symbol) =>
          expect.objectContaining({ item: symbol, kind: "failed", reason: "stale_prices" }),
        ),
      ]),
    );
  });

  it("writes nothing when the chunk comes again, and a forced rerun rewrites only the rows that changed", async () => {
    const before = await storedLoadings(chunkSymbols);
    const again = await computeRiskModelChunk(db, chunk);
    expect(again.counts).toMatchObject({ symbolsComputed: 0, symbolsSkipped: chunkSymbols.length, rowsWritten: 0 });
    expect(riskModelOutcome(again, 0).counts.skipped_reasons).toEqual({ already_stored: chunkSymbols.length });
    expect(await storedLoadings(chunkSymbols)).toEqual(before);

    const forced = await computeRiskModelChunk(db, { ...chunk, forceRerun: true });
    expect(forced.counts).toMatchObject({ rowsWritten: 0, rowsUnchanged: chunkSymbols.length });
    expect(await storedLoadings(chunkSymbols)).toEqual(before);

    // One close of one equity corrected: only that symbol's row changes.
    const changedDate = market.calendar.at(-10)!;
    const [symbol] = liveEquities as [string];
    const original = allPrices.find((p) => p.symbol === symbol && p.date === changedDate)!.close;
    const setClose = (close: number) =>
      db
        .update(marketPrices)
        .set({ close })
        .where(and(eq(marketPrices.symbol, symbol), eq(marketPrices.date, changedDate)));
    await setClose(original * 1.03);
    try {
      const corrected = await computeRiskModelChunk(db, { ...chunk, forceRerun: true });
      expect(corrected.counts).toMatchObject({ rowsWritten: 1, rowsUnchanged: chunkSymbols.length - 1 });
      const after = await storedLoadings(chunkSymbols);
      const changed = after.filter((row, i) => JSON.stringify(row) !== JSON.stringify(before[i]));
      expect(changed.map((row) => row.symbol)).toEqual([symbol]);
    } finally {
      await setClose(original);
    }
    const restored = await computeRiskModelChunk(db, { ...chunk, forceRerun: true });
    expect(restored.counts).toMatchObject({ rowsWritten: 1 });
    expect(withoutTimestamp(await storedLoadings(chunkSymbols))).toEqual(withoutTimestamp(before));
  });
});

describe("risk model phase: the date's work (chunk 0)", () => {
  async function storedReturns(kind: "risk" | "lens", from: string, to: string) {
    return db
      .select()
      .from(factorReturns)
      .where(and(eq(factorReturns.kind, kind), gte(factorReturns.date, from), lte(factorReturns.date, to)));
  }

  it("stores the factor returns and the covariance of the date, then writes nothing again", async () => {
    const dateChunk: RiskModelChunk = { calculationDate, symbols: [], forceRerun: false, dateLevel: true };
    const result = await computeRiskModelChunk(db, dateChunk);
    const factors = await loadActiveRiskFactors(db);
    const lensFactors = await loadActiveFactors(db);
    const from = addDays(calculationDate, -covarianceLookbackDays(settings));
    const symbols = ["SPY", ...riskFactorSymbols(factors), ...factorInputSymbols(lensFactors)];
    const { panel } = buildReturnPanelFromPrices(closesOf(symbols, from, calculationDate), { maxDailyMove: 5 });
    const input = createRiskEngineInput(panel, factors, settings);

    const covariance = computeFactorCovariance(input, calculationDate);
    expect(covariance.status).toBe("estimated");
    if (covariance.status !== "estimated") return;
    expect(covariance.observations).toBe(504);
    const [row] = await db
      .select()
      .from(factorCovariances)
      .where(eq(factorCovariances.calculationDate, calculationDate));
    expect(row).toMatchObject({
      halfLifeDays: 90,
      factorKeys: factors.map((f) => f.key),
      matrix: covariance.matrix,
      observations: 504,
      firstDate: covariance.firstDate,
      lastDate: calculationDate,
      reason: null,
      detail: null,
    });

    // Every factor return of the range, risk and lens, as the engine's series have them.
    const first = panel.calendar[0]!;
    let expectedCount = 0;
    for (const [kind, series] of [
      ["risk", riskFactorReturnSeries(input)],
      ["lens", lensFactorReturnSeries(createFactorEngineInput(panel, lensFactors))],
    ] as const) {
      expect(series.keys).toEqual((kind === "risk" ? factors : lensFactors).map((f) => f.key));
      const rows = await storedReturns(kind, first, calculationDate);
      const byKey = new Map<string, Map<string, number>>();
      for (const r of rows) byKey.set(r.factorKey, (byKey.get(r.factorKey) ?? new Map()).set(r.date, r.value));
      expect([...byKey.keys()].sort()).toEqual([...series.keys].sort());
      series.keys.forEach((key, k) => {
        const expected = new Map<string, number>();
        panel.calendar.forEach((date, t) => {
          const value = series.series[k]![t]!;
          if (!Number.isNaN(value)) expected.set(date, value);
        });
        expect(byKey.get(key), `${kind} ${key}`).toEqual(expected);
        expectedCount += expected.size;
      });
    }
    // r_VUG − r_VTV for the growth_value_spread lens factor, r_TLT for rates.
    const spread = (await storedReturns("lens", calculationDate, calculationDate)).find(
      (r) => r.factorKey === "growth_value_spread",
    )!;
    const ret = (symbol: string) => {
      const closes = allPrices.filter((p) => p.symbol === symbol && p.date <= calculationDate).slice(-2);
      return closes[1]!.close / closes[0]!.close - 1;
    };
    expect(spread.value).toBeCloseTo(ret("VUG") - ret("VTV"), 14);

    expect(result.dateWork).toMatchObject({
      factorReturnsWritten: expectedCount,
      factorReturnsUnchanged: 0,
      factorReturnsDeleted: 0,
      covarianceWritten: 1,
    });
    const outcome = riskModelOutcome(result, 0);
    expect(outcome.counts).toMatchObject({
      total: 0,
      factor_returns_stored: expectedCount,
      covariance: "estimated",
      covariance_observations: 504,
      covariance_stored: 1,
    });
    expect(outcome.issues).toEqual([]);

    // Again: nothing written. A row that should not exist (no trading on a Saturday) is removed.
    await db.insert(factorReturns).values({ kind: "risk", factorKey: "market", date: "2018-06-23", value: 0.5 });
    const again = await computeRiskModelChunk(db, dateChunk);
    expect(again.dateWork).toMatchObject({
      factorReturnsWritten: 0,
      factorReturnsUnchanged: expectedCount,
      factorReturnsDeleted: 1,
      covarianceWritten: 0,
    });
    expect(await storedReturns("risk", "2018-06-23", "2018-06-23")).toEqual([]);
  });

  it("stores insufficient_history, with the detail, when fewer than 60 days of factor returns exist", async () => {
    const result = await computeRiskModelChunk(db, {
      calculationDate: earlyDate,
      symbols: [],
      forceRerun: false,
      dateLevel: true,
    });
    const row = await db.select().from(factorCovariances).where(eq(factorCovariances.calculationDate, earlyDate)).get();
    expect(row).toMatchObject({ reason: "insufficient_history", matrix: null, halfLifeDays: 90, firstDate: null });
    expect(row!.observations).toBe(40);
    expect(row!.detail).toEqual(expect.any(String));
    const outcome = riskModelOutcome(result, 0);
    expect(outcome.counts).toMatchObject({ covariance: "insufficient_history", covariance_observations: 40 });
    expect(outcome.issues).toEqual([
      { item: "factor_covariance", kind: "skipped", reason: "insufficient_history", detail: row!.detail },
    ]);
    // The factor returns of the range are stored all the same.
    expect(result.dateWork?.factorReturnsWritten).toBeGreaterThan(0);
  });
});

describe("risk model phase in a run", () => {
  it("runs between universe_factors and portfolio_analytics and records its counts", async () => {
    const portfolioId = `rm-run-${crypto.randomUUID()}`;
    await db.insert(portfolios).values({ id: portfolioId, owner: "rm-test", name: portfolioId, cash: 10_000 });
    await db.insert(positions).values(
      liveEquities.slice(0, 2).map((symbol, i) => ({
        id: `${portfolioId}-${i}`,
        portfolioId,
        symbol,
        instrument: "stock" as const,
        quantity: 100,
        openedOn: "2017-01-03",
      })),
    );
    // The queue's messages are delivered here, one by one, with the closes the test stored.
    const sent: BatchMessage[] = [];
    const queue = {
      async send(body: BatchMessage) {
        sent.push(body);
      },
      async sendBatch(messages: Iterable<MessageSendRequest<BatchMessage>>) {
        for (const message of messages) sent.push(message.body);
      },
    } as unknown as Queue<BatchMessage>;
    const created = await createRun(db, queue, {
      trigger: "admin",
      startDate: calculationDate,
      endDate: calculationDate,
      portfolioId,
    });
    if (created.outcome !== "started") throw new Error(`expected a new run, got ${created.outcome}`);
    const runEnv = { ...env, MARKET_DATA_PROVIDER: "stored" };
    const deps = { db, env: runEnv, queue, config: batchConfig(runEnv), redelivery: false };
    for (let message = sent.shift(); message; message = sent.shift()) await processBatchMessage(deps, message);

    const run = await db.select().from(batchRuns).where(eq(batchRuns.id, created.runId)).get();
    expect(run?.status).toBe("completed");
    const results = await db
      .select()
      .from(batchPhaseResults)
      .where(eq(batchPhaseResults.runId, created.runId))
      .orderBy(asc(batchPhaseResults.id));
    expect(results.map((row) => row.phase)).toEqual([...batchPhases]);
    const risk = results.find((row) => row.phase === "risk_model")!;
    const counts = risk.counts as StoredPhaseCounts;
    expect(risk.success).toBe(true);
    expect(counts.total).toBeGreaterThanOrEqual(10);
    expect(counts.computed + counts.skipped + counts.failed).toBe(counts.total);
    expect(counts).toMatchObject({ chunks_total: 1, chunks_done: 1, covariance: "estimated" });
    expect(counts.loadings_estimated).toBeGreaterThan(0);
    expect(risk.message).toContain("factor covariance estimated on 504 days");
    // The portfolio's equities were computed by the chunk test above: skipped, not recomputed.
    expect(counts.skipped_reasons["already_stored"]).toBeGreaterThanOrEqual(2);
  });
});
