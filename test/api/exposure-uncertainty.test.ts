// The standard errors GET /portfolios/:id/exposures serves beside each exposure (docs/design.md
// §11): the portfolio's equals sqrt(Σ_s (X_s se_s)²) recomputed here from the stored numbers —
// X_s summed per beta symbol from the drill-down's rows (a stock and the options on it are one
// symbol), se_s the stored standard errors of the symbols' betas — and the risk route's
// lens_exposures; the active one equals the direct merge with the benchmark at weight −1
// (X'_B = X_B − 1), the benchmark held or not; the reasons where a piece is missing.
import { and, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import {
  factorDefinitions,
  portfolioFactorExposures,
  portfolioSnapshots,
  symbolFactorExposures,
} from "../../schema/index.ts";
import type { DrillDownResponse, ExposuresResponse } from "../../worker/api/analytics.ts";
import type { PortfolioRiskResponse } from "../../worker/api/portfolio-risk.ts";
import { isDistinguishable } from "../../worker/factors/exposure-uncertainty.ts";
import { call, db, ensureBatchOutput, json, latestDate } from "./support.ts";

beforeAll(ensureBatchOutput);

function expectRelative(actual: number | null | undefined, expected: number, what: string, tolerance = 1e-12): void {
  expect(actual, what).not.toBeNull();
  expect(actual, what).toBeTypeOf("number");
  expect(Math.abs((actual as number) - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(
    tolerance * Math.abs(expected),
  );
}

/** The stored standard error of `symbol`'s beta on `factorId` on the latest date (undefined: no beta). */
async function storedStandardError(symbol: string, factorId: number): Promise<number | null | undefined> {
  const row = await db
    .select({ standardError: symbolFactorExposures.standardError })
    .from(symbolFactorExposures)
    .where(
      and(
        eq(symbolFactorExposures.symbol, symbol),
        eq(symbolFactorExposures.factorId, factorId),
        eq(symbolFactorExposures.calculationDate, latestDate),
      ),
    )
    .get();
  return row?.standardError;
}

/** X_s = Σ weight × delta per beta symbol over the drill-down's rows (the positions with a beta for the factor). */
async function symbolWeights(portfolioId: string, factorKey: string): Promise<Map<string, number>> {
  const drill = await json<DrillDownResponse>(
    await call(`/portfolios/${portfolioId}/exposures/stocks?factor=${factorKey}&date=${latestDate}`),
  );
  const weights = new Map<string, number>();
  for (const row of drill.rows)
    weights.set(row.beta_symbol, (weights.get(row.beta_symbol) ?? 0) + row.weight! * row.delta);
  return weights;
}

/** sqrt(Σ_s (X_s se_s)²) from the stored standard errors; null when one is missing. */
async function expectedStandardError(weights: ReadonlyMap<string, number>, factorId: number): Promise<number | null> {
  let squares = 0;
  for (const [symbol, weight] of weights) {
    const se = await storedStandardError(symbol, factorId);
    if (se === null || se === undefined) return null;
    squares += (weight * se) ** 2;
  }
  return Math.sqrt(squares);
}

async function exposuresOf(portfolioId: string, query = ""): Promise<ExposuresResponse> {
  return json<ExposuresResponse>(
    await call(`/portfolios/${portfolioId}/exposures?from=${latestDate}&to=${latestDate}${query}`),
  );
}

const factorIds = async () =>
  new Map((await db.select().from(factorDefinitions)).map((factor) => [factor.key, factor.id]));

describe("standard errors of the exposures", () => {
  it("serve the portfolio's as sqrt(Σ_s (X_s se_s)²) of the stored numbers (the risk route's)", async () => {
    const ids = await factorIds();
    // demo-options holds stocks and options on some of them (one symbol each), and SPY puts.
    const body = await exposuresOf("demo-options");
    const risk = await json<PortfolioRiskResponse>(await call(`/portfolios/demo-options/risk?date=${latestDate}`));
    const snapshot = await db
      .select({ symbolWeights: portfolioSnapshots.symbolWeights })
      .from(portfolioSnapshots)
      .where(and(eq(portfolioSnapshots.portfolioId, "demo-options"), eq(portfolioSnapshots.date, latestDate)))
      .get();
    let compared = 0;
    for (const factor of body.factors) {
      const factorId = ids.get(factor.key)!;
      const weights = await symbolWeights("demo-options", factor.key);
      // The snapshot's X_s (what the active standard error reads) are the same sums.
      for (const [symbol, weight] of weights)
        expectRelative(snapshot?.symbolWeights?.[symbol], weight, `X_${symbol}`, 1e-12);
      const expected = await expectedStandardError(weights, factorId);
      const se = factor.standard_error[0] ?? null;
      if (expected === null) {
        expect(se, factor.key).toBeNull();
        expect(factor.standard_error_reason[0]).toBe("standard_error_not_computed");
        continue;
      }
      expectRelative(se, expected, `se ${factor.key}`);
      expect(factor.standard_error_reason[0]).toBeNull();
      expect(factor.distinguishable[0]).toBe(isDistinguishable(factor.portfolio[0]!, se!));
      // One implementation: the risk route's lens exposure uncertainty for the same date.
      const lens = risk.lens_exposures?.find((entry) => entry.factor_key === factor.key);
      expect(lens?.standard_error, factor.key).toBe(se);
      compared++;
    }
    expect(compared).toBeGreaterThan(6);
    // An option's underlying is one symbol with the stock: AAA's stock and call sum into one X.
    const drill = await json<DrillDownResponse>(
      await call(`/portfolios/demo-options/exposures/stocks?factor=market_beta&date=${latestDate}`),
    );
    const optionUnderlyings = new Set(
      drill.rows.filter((row) => row.instrument === "option").map((r) => r.beta_symbol),
    );
    expect(drill.rows.some((row) => row.instrument !== "option" && optionUnderlyings.has(row.beta_symbol))).toBe(true);
  });

  it("serve the benchmark's beta's and the active one as the merge X'_B = X_B − 1, held or not", async () => {
    const ids = await factorIds();
    // demo-long-short holds its benchmark QQQ (short), demo-options SPY puts; demo-long-short holds no SPY.
    for (const [portfolioId, benchmark, query] of [
      ["demo-long-short", "QQQ", ""],
      ["demo-options", "SPY", ""],
      ["demo-long-short", "SPY", "&benchmark=SPY"],
    ] as const) {
      const body = await exposuresOf(portfolioId, query);
      expect(body.benchmark).toBe(benchmark);
      let compared = 0;
      for (const factor of body.factors) {
        const factorId = ids.get(factor.key)!;
        const seB = await storedStandardError(benchmark, factorId);
        if (seB === undefined) continue;
        expect(factor.benchmark_standard_error[0]).toBe(seB);
        const weights = await symbolWeights(portfolioId, factor.key);
        const merged = new Map(weights);
        merged.set(benchmark, (weights.get(benchmark) ?? 0) - 1);
        const expected = await expectedStandardError(merged, factorId);
        if (expected === null) {
          expect(factor.active_standard_error[0]).toBeNull();
          expect(factor.active_standard_error_reason[0]).toBe("standard_error_not_computed");
          continue;
        }
        expectRelative(factor.active_standard_error[0], expected, `${portfolioId} active se ${factor.key}`, 1e-10);
        expect(factor.active_standard_error_reason[0]).toBeNull();
        expect(factor.active_distinguishable[0]).toBe(
          isDistinguishable(factor.active[0]!, factor.active_standard_error[0]!),
        );
        expect(factor.benchmark_distinguishable[0]).toBe(isDistinguishable(factor.benchmark[0]!, seB!));
        compared++;
      }
      expect(compared, `${portfolioId} vs ${benchmark}`).toBeGreaterThan(6);
    }
    // The benchmark is held where the test says so, so X'_B = X_B − 1 was exercised.
    expect((await symbolWeights("demo-long-short", "market_beta")).get("QQQ")).toBeLessThan(0);
    expect((await symbolWeights("demo-options", "market_beta")).get("SPY")).toBeLessThan(0);
    expect((await symbolWeights("demo-long-short", "market_beta")).has("SPY")).toBe(false);
  });

  it("say why a standard error is null, and go into the CSV", async () => {
    const none = await exposuresOf("demo-core-equity", "&benchmark=none");
    for (const factor of none.factors) {
      expect(factor.benchmark_standard_error[0]).toBeNull();
      expect(factor.benchmark_standard_error_reason[0]).toBe("no_exposure");
      expect(factor.active_standard_error_reason[0]).toBe("no_exposure");
      expect(factor.active_distinguishable[0]).toBeNull();
    }

    // A row and a snapshot as stored before standard errors existed: `not_computed`, never a number.
    const market = (await factorIds()).get("market_beta")!;
    const row = and(
      eq(portfolioFactorExposures.portfolioId, "demo-core-equity"),
      eq(portfolioFactorExposures.factorId, market),
      eq(portfolioFactorExposures.calculationDate, latestDate),
    );
    const snapshotRow = and(
      eq(portfolioSnapshots.portfolioId, "demo-core-equity"),
      eq(portfolioSnapshots.date, latestDate),
    );
    const stored = await db.select().from(portfolioFactorExposures).where(row).get();
    const storedSnapshot = await db.select().from(portfolioSnapshots).where(snapshotRow).get();
    expect(stored?.standardError).toBeTypeOf("number");
    try {
      await db.update(portfolioFactorExposures).set({ standardError: null, standardErrorReason: null }).where(row);
      let factor = (await exposuresOf("demo-core-equity", "&factors=market_beta")).factors[0]!;
      expect(factor.portfolio[0]).toBe(stored!.exposureValue);
      expect(factor.standard_error[0]).toBeNull();
      expect(factor.standard_error_reason[0]).toBe("not_computed");
      expect(factor.distinguishable[0]).toBeNull();
      expect(factor.active_standard_error_reason[0]).toBe("not_computed");
      await db
        .update(portfolioFactorExposures)
        .set({ standardError: stored!.standardError, standardErrorReason: null })
        .where(row);
      await db.update(portfolioSnapshots).set({ symbolWeights: null }).where(snapshotRow);
      factor = (await exposuresOf("demo-core-equity", "&factors=market_beta")).factors[0]!;
      expect(factor.standard_error[0]).toBe(stored!.standardError);
      expect(factor.active[0]).not.toBeNull();
      expect(factor.active_standard_error[0]).toBeNull();
      expect(factor.active_standard_error_reason[0]).toBe("not_computed");
      await db
        .update(portfolioFactorExposures)
        .set({ standardError: null, standardErrorReason: "standard_error_not_computed" })
        .where(row);
      factor = (await exposuresOf("demo-core-equity", "&factors=market_beta")).factors[0]!;
      expect(factor.standard_error_reason[0]).toBe("standard_error_not_computed");
    } finally {
      await db
        .update(portfolioFactorExposures)
        .set({ standardError: stored!.standardError, standardErrorReason: stored!.standardErrorReason })
        .where(row);
      await db.update(portfolioSnapshots).set({ symbolWeights: storedSnapshot!.symbolWeights }).where(snapshotRow);
    }

    const body = await exposuresOf("demo-long-short", "&factors=market_beta");
    const query = "&factors=market_beta&format=csv";
    const csv = await (
      await call(`/portfolios/demo-long-short/exposures?from=${latestDate}&to=${latestDate}${query}`)
    ).text();
    const [header, line] = csv.trim().split("\r\n");
    const columns = header!.split(",");
    expect(columns.slice(8)).toEqual([
      "standard_error",
      "standard_error_reason",
      "distinguishable",
      "benchmark_standard_error",
      "benchmark_standard_error_reason",
      "benchmark_distinguishable",
      "active_standard_error",
      "active_standard_error_reason",
      "active_distinguishable",
    ]);
    const cells = line!.split(",");
    const factor = body.factors[0]!;
    expect(Number(cells[columns.indexOf("standard_error")])).toBe(factor.standard_error[0]);
    expect(Number(cells[columns.indexOf("active_standard_error")])).toBe(factor.active_standard_error[0]);
    expect(cells[columns.indexOf("distinguishable")]).toBe(String(factor.distinguishable[0]));
  });
});
