import { and, eq, inArray } from "drizzle-orm";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { marketPrices, symbolFactorExposures } from "../../schema/index.ts";
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
const shortRows = market.prices.filter((p) => p.symbol === equities[0]).slice(-30).map((p) => ({ ...p, symbol: shortHistory }));
const allPrices = [...market.prices, ...shortRows];

async function storedRows(symbols: readonly string[]) {
  return db
    .select()
    .from(symbolFactorExposures)
    .where(and(eq(symbolFactorExposures.calculationDate, calculationDate), inArray(symbolFactorExposures.symbol, [...symbols])))
    .orderBy(symbolFactorExposures.symbol, symbolFactorExposures.factorId);
}

beforeAll(async () => {
  const rows = allPrices.map((p) => ({ symbol: p.symbol, date: p.date, close: p.close, adjClose: null, volume: p.volume, source: "synthetic" }));
  const inserts = [];
  for (let i = 0; i < rows.length; i += 500) inserts.push(db.insert(marketPrices).values(rows.slice(i, i + 500)).onConflictDoNothing());
  const [first, ...rest] = inserts;
  await db.batch([first!, ...rest]);
});

describe("universe factors phase (one chunk)", () => {
  it("stores the factor engine's betas for every symbol of the chunk, and reports the ones it cannot compute", async () => {
    const result = await computeUniverseFactorsChunk(db, {
      calculationDate,
      symbols: [...equities, shortHistory, "WTNOPRICE"],
      forceRerun: false,
    });
    const expected = computeUniverseBetas(
      buildFactorEngineInput(allPrices.map((p) => ({ symbol: p.symbol, date: p.date, close: p.close })), defaultFactorSpecs).input,
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
    const estimatedCount = equities.flatMap((s) => Object.values(expected.symbolBetasFor(s)!.betas)).filter((b) => b.status === "estimated").length;
    expect(compared).toBe(estimatedCount);
    expect(compared).toBeGreaterThan(equities.length * defaultFactorSpecs.length * 0.9);
    expect(result.counts).toMatchObject({ symbolsTotal: 14, symbolsComputed: 13, symbolsSkipped: 0, rowsWritten: estimatedCount, rowsDeleted: 0 });
    expect(result.missing).toContainEqual(expect.objectContaining({ symbol: "WTNOPRICE", factorKey: null, reason: "no_prices" }));
    const short = result.missing.filter((m) => m.symbol === shortHistory);
    expect(short.map((m) => m.reason)).toEqual(Array(defaultFactorSpecs.length).fill("insufficient_data"));
    expect(await storedRows([shortHistory, "WTNOPRICE"])).toEqual([]);
  });

  it("skips symbols already stored for the date, and changes nothing when the chunk is delivered again", async () => {
    const before = await storedRows(equities);
    const again = await computeUniverseFactorsChunk(db, { calculationDate, symbols: equities, forceRerun: false });
    expect(again.counts).toMatchObject({ symbolsComputed: 0, symbolsSkipped: equities.length, rowsWritten: 0 });
    expect(await storedRows(equities)).toEqual(before);
  });

  it("recomputes with force_rerun, rewriting nothing that did not change", async () => {
    const before = await storedRows(equities);
    const rerun = await computeUniverseFactorsChunk(db, { calculationDate, symbols: equities, forceRerun: true });
    expect(rerun.counts).toMatchObject({ symbolsComputed: equities.length, rowsWritten: 0, rowsUnchanged: before.length });
    expect(await storedRows(equities)).toEqual(before);
  });

  it("removes a stored beta that is now missing instead of leaving it stale", async () => {
    await db.insert(symbolFactorExposures).values({
      symbol: shortHistory, factorId: 1, calculationDate, betaValue: 1.2, observations: 200,
      qualityFlag: "ok", calculationMethod: "ols", regressionWindowDays: 365,
    });
    const rerun = await computeUniverseFactorsChunk(db, { calculationDate, symbols: [shortHistory], forceRerun: true });
    expect(rerun.counts.rowsDeleted).toBe(1);
    expect(await storedRows([shortHistory])).toEqual([]);
  });
});
