// A portfolio's risk, P&L attribution and risk stress tests (worker/routes/portfolio-risk.ts),
// over the batch's real output for the demo portfolios (loadings, covariance, factor returns,
// risk summaries) and over rows written here for a portfolio of this file's own, on June 2026
// dates no batch of these tests computes for it. The one-date risk is checked against the
// engine (computePortfolioRisk) run here on the same stored inputs; contributions against their
// totals; series against the stored summaries; attribution against equity × exposure × return;
// stress propagation against propagateShocks; episodes against worstStretch and
// historicalShocks on the stored returns; and the 4xx bodies and CSV layouts.
import { and, asc, eq, inArray } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { factorReturns, portfolioRiskSummaries, portfolioSnapshots, riskFactors } from "../../schema/index.ts";
import { type RiskStressResponse, riskStressResponseSchema, type StressResponse } from "../../worker/api/analytics.ts";
import {
  type AttributionResponse,
  attributionResponseSchema,
  type PortfolioRiskResponse,
  type PortfolioRiskSeriesResponse,
  portfolioRiskSchema,
  portfolioRiskSeriesSchema,
  type StressEpisodeResponse,
  stressEpisodeListSchema,
} from "../../worker/api/portfolio-risk.ts";
import type { PortfolioResponse } from "../../worker/api/portfolios.ts";
import { loadRiskInputs, riskModelInput } from "../../worker/db/risk-reads.ts";
import { aggregatePortfolio, betaSymbolOf, isHeldOn } from "../../worker/factors/portfolio.ts";
import {
  computePortfolioRisk,
  historicalShocks,
  propagateShocks,
  worstStretch,
} from "../../worker/factors/portfolio-risk.ts";
import { aggregationInputFor, portfolioHoldings } from "../../worker/portfolios/aggregation-input.ts";
import { batchDates, call, db, ensureBatchOutput, errorOf, json, latestDate } from "./support.ts";

const owner = "risk-owner";
const own = { sub: owner, org: "risk-org" } as const;
const stranger = { sub: "risk-stranger", org: "other-org" } as const;
const halfLife = 90;
/**
 * The date of the one-date checks: a batch date other tests leave alone (test/api/symbols.test.ts
 * rewrites SPY's loadings on the latest date).
 */
const riskDate = batchDates[1]!;

/** June 2026 weekdays for this file's own portfolio: snapshots on all, summaries on the first three. */
const ownDates = ["2026-06-01", "2026-06-02", "2026-06-03", "2026-06-04"];
let ownPortfolio = "";
let riskKeys: string[] = [];

function csvLines(text: string): string[][] {
  return text
    .trim()
    .split("\r\n")
    .map((line) => line.split(","));
}

/** Relative closeness for sums of many terms. */
function expectClose(actual: number | null | undefined, expected: number, what: string, relative = 1e-12): void {
  expect(actual, what).not.toBeNull();
  expect(Math.abs((actual as number) - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(
    relative * Math.max(1, Math.abs(expected)),
  );
}

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);

/** The stored risk returns by date and key, for the active risk factors. */
async function storedRiskReturns(): Promise<{ dates: string[]; byKey: Record<string, (number | null)[]> }> {
  const rows = await db
    .select()
    .from(factorReturns)
    .where(and(eq(factorReturns.kind, "risk"), inArray(factorReturns.factorKey, riskKeys)))
    .orderBy(asc(factorReturns.date));
  const dates = [...new Set(rows.map((row) => row.date))];
  const index = new Map(dates.map((date, t) => [date, t]));
  const byKey = Object.fromEntries(riskKeys.map((key) => [key, dates.map((): number | null => null)]));
  for (const row of rows) byKey[row.factorKey]![index.get(row.date)!] = row.value;
  return { dates, byKey };
}

beforeAll(async () => {
  await ensureBatchOutput();
  riskKeys = (
    await db.select().from(riskFactors).where(eq(riskFactors.isActive, true)).orderBy(asc(riskFactors.displayOrder))
  ).map((factor) => factor.key);
  const portfolio = await json<PortfolioResponse>(
    await call("/portfolios", { ...own, method: "POST", body: { name: `Risk rows ${crypto.randomUUID()}` } }),
    201,
  );
  ownPortfolio = portfolio.id;
  // Snapshots (equity, P&L) on every own date; summaries on the first three, the third without a
  // volatility (no covariance) nor a tracking error (no benchmark loadings), with its reasons.
  await db.insert(portfolioSnapshots).values(
    ownDates.map((date, index) => ({
      portfolioId: ownPortfolio,
      date,
      equity: 1_000_000 + index * 10_000,
      gross: 900_000,
      net: 800_000,
      dailyPnl: index === 0 ? null : 1_500 * (index % 2 === 0 ? 1 : -1) + index * 100,
      dailyReturn: null,
    })),
  );
  const exposuresOf = (index: number) =>
    riskKeys.map((key, k) => ({
      factor_key: key,
      exposure: (k === 0 ? 0.9 : 0.05 * (k - 3)) + index * 0.01,
      standard_error: 0.01,
      distinguishable: true,
    }));
  await db.insert(portfolioRiskSummaries).values(
    ownDates.slice(0, 3).map((date, index) => {
      const computed = index < 2;
      return {
        portfolioId: ownPortfolio,
        date,
        benchmarkSymbol: "SPY",
        equity: 1_000_000 + index * 10_000,
        totalVariance: computed ? 1e-4 : null,
        factorVariance: computed ? 8e-5 : null,
        specificVariance: computed ? 2e-5 : null,
        volatility: computed ? 0.15 + index / 100 : null,
        factorShare: computed ? 0.8 : null,
        valueAtRisk95: computed ? 16_000 + index : null,
        valueAtRisk99: computed ? 23_000 + index : null,
        activeVariance: computed ? 1e-5 : null,
        trackingError: computed ? 0.05 + index / 100 : null,
        detail: {
          exposures: exposuresOf(index),
          total_unavailable: computed
            ? null
            : { reason: "no_covariance", detail: "42 days with every risk factor's return, fewer than 60" },
          active_unavailable: computed
            ? null
            : { reason: "benchmark_without_loadings", detail: "SPY: insufficient_data" },
        },
        dataQuality: { date },
      };
    }),
  );
});

describe("GET /portfolios/:id/risk?date", () => {
  for (const portfolioId of ["demo-options", "demo-long-short"]) {
    it(`equals computePortfolioRisk on the same stored inputs (${portfolioId}), contributions adding up`, async () => {
      const body = await json<PortfolioRiskResponse>(await call(`/portfolios/${portfolioId}/risk?date=${riskDate}`));
      expect(portfolioRiskSchema.safeParse(body).success).toBe(true);
      expect(body).toMatchObject({ mode: "date", portfolio_id: portfolioId, date: riskDate });

      // The engine, here, on what the route reads: the positions, closes and lens betas of the
      // date (as the drill-down and stress tests read them) and the stored risk model.
      const portfolio = await json<PortfolioResponse>(await call(`/portfolios/${portfolioId}`));
      const holdings = await portfolioHoldings(db, portfolioId);
      const input = await aggregationInputFor(db, riskDate, holdings, portfolio.cash);
      const symbols = [
        ...new Set(holdings.filter((h) => h.instrument !== "private" && isHeldOn(h, riskDate)).map(betaSymbolOf)),
        portfolio.benchmark_symbol,
      ];
      const stored = await loadRiskInputs(db, riskDate, symbols, halfLife);
      const expected = computePortfolioRisk({
        aggregation: aggregatePortfolio(input),
        benchmarkSymbol: portfolio.benchmark_symbol,
        ...riskModelInput(stored),
        lensBetas: input.betas,
        lensFactors: input.factors,
      });
      expect(expected.total, "the batch stored loadings and a covariance for the date").not.toBeNull();
      expect(body.benchmark).toBe(portfolio.benchmark_symbol);
      expect(body.factors).toEqual(expected.factorKeys);
      expect(body.equity).toBe(expected.equity);
      const total = body.total!;
      expectClose(total.variance, expected.total!.variance, "variance");
      expectClose(total.volatility, expected.total!.volatility, "volatility");
      expectClose(total.value_at_risk_95, expected.total!.valueAtRisk95, "VaR 95");
      expectClose(total.value_at_risk_99, expected.total!.valueAtRisk99, "VaR 99");
      expect(body.exposures!.map((e) => e.factor_key)).toEqual(expected.factorKeys);
      for (const [k, exposure] of body.exposures!.entries()) {
        expectClose(exposure.exposure, expected.exposures![k]!.exposure, `exposure ${exposure.factor_key}`);
        expectClose(exposure.standard_error, expected.exposures![k]!.standardError, `se ${exposure.factor_key}`);
      }
      expect(body.active, "the benchmark has loadings").not.toBeNull();
      expectClose(body.active!.tracking_error, expected.active!.trackingError, "tracking error");
      expect(body.lens_exposures).toHaveLength(input.factors.length);

      // Contributions add up: factors to the factor variance, holdings (Euler) to the variance.
      for (const block of [body.total!, body.active!]) {
        expectClose(block.factor_variance + block.specific_variance, block.variance, "V = V_f + V_s");
        expectClose(sum(block.factors.map((f) => f.contribution)), block.factor_variance, "Σ c_k = V_f", 1e-10);
        expectClose(sum(block.holdings.map((h) => h.contribution)), block.variance, "Σ h_s = V", 1e-10);
        expectClose(sum(block.holdings.map((h) => h.share!)), 1, "Σ shares = 1", 1e-10);
        expect(block.factor_share).toBeCloseTo(block.factor_variance / block.variance, 14);
      }
      expect(body.total!.volatility).toBeCloseTo(Math.sqrt(252 * body.total!.variance), 14);

      // The batch stored the same numbers for the date.
      const summary = await db
        .select()
        .from(portfolioRiskSummaries)
        .where(and(eq(portfolioRiskSummaries.portfolioId, portfolioId), eq(portfolioRiskSummaries.date, riskDate)))
        .get();
      expect(summary, "the batch stored a risk summary").toBeDefined();
      expectClose(summary!.volatility, body.total!.volatility, "stored volatility", 1e-10);
      expectClose(summary!.trackingError, body.active!.tracking_error, "stored tracking error", 1e-10);
    });
  }

  it("takes benchmark=none and another benchmark, and defaults to the latest metrics date", async () => {
    const latest = await json<PortfolioRiskResponse>(await call("/portfolios/demo-core-equity/risk"));
    expect(latest.date).toBe(latestDate);
    const none = await json<PortfolioRiskResponse>(
      await call(`/portfolios/demo-core-equity/risk?benchmark=none&date=${riskDate}`),
    );
    expect(none.benchmark).toBeNull();
    expect(none.active).toBeNull();
    expect(none.active_unavailable).toMatchObject({ reason: "no_benchmark" });
    expect(none.total).not.toBeNull();
    const qqq = await json<PortfolioRiskResponse>(
      await call(`/portfolios/demo-core-equity/risk?benchmark=qqq&date=${riskDate}`),
    );
    expect(qqq.benchmark).toBe("QQQ");
    expect(qqq.active?.benchmark).toBe("QQQ");
    expect(qqq.total!.variance).toBe(none.total!.variance);
  });

  it("answers the holding contributions as CSV, a row per symbol", async () => {
    const body = await json<PortfolioRiskResponse>(await call(`/portfolios/demo-long-short/risk?date=${riskDate}`));
    const response = await call(`/portfolios/demo-long-short/risk?date=${riskDate}&format=csv`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(response.headers.get("content-disposition")).toContain(`risk-demo-long-short-${riskDate}.csv`);
    const lines = csvLines(await response.text());
    expect(lines[0]).toEqual([
      "symbol",
      "position_ids",
      "weight",
      "dollar_exposure",
      "contribution",
      "factor_part",
      "specific_part",
      "share",
      "marginal",
      "active_weight",
      "active_contribution",
      "active_share",
      "active_marginal",
    ]);
    const symbols = new Set([...body.total!.holdings, ...body.active!.holdings].map((h) => h.symbol));
    expect(new Set(lines.slice(1).map((line) => line[0]))).toEqual(symbols);
    expect(lines).toHaveLength(1 + symbols.size);
    const first = body.total!.holdings[0]!;
    const row = lines.find((line) => line[0] === first.symbol)!;
    expect(Number(row[4])).toBe(first.contribution);
  });

  it("is a conditional read", async () => {
    const first = await call(`/portfolios/demo-options/risk?date=${riskDate}`);
    await first.arrayBuffer();
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^W\/"/);
    const again = await call(`/portfolios/demo-options/risk?date=${riskDate}`, {
      headers: { "if-none-match": etag },
    });
    expect(again.status).toBe(304);
  });

  it("refuses bad dates, mixed modes and reversed ranges with the field and the reason; 404s", async () => {
    const bad = await errorOf(await call("/portfolios/demo-options/risk?date=2026-02-30"), 400);
    expect(bad.details).toEqual([{ path: "date", message: expect.stringContaining("calendar date") }]);
    const mixed = await errorOf(await call(`/portfolios/demo-options/risk?date=${riskDate}&from=2026-06-01`), 400);
    expect(mixed.details).toEqual([{ path: "date", message: expect.stringContaining("not both") }]);
    const reversed = await errorOf(await call("/portfolios/demo-options/risk?from=2026-06-30&to=2026-06-01"), 400);
    expect(reversed.details).toEqual([{ path: "from", message: "from (2026-06-30) is after to (2026-06-01)" }]);
    const long = await errorOf(await call("/portfolios/demo-options/risk?from=2020-01-01&to=2026-06-01"), 400);
    expect(long.details).toEqual([{ path: "from", message: "from must be within 731 days of to" }]);
    const benchmark = await errorOf(await call("/portfolios/demo-options/risk?from=2026-06-01&benchmark=SPY"), 400);
    expect(benchmark.details).toEqual([{ path: "benchmark", message: expect.stringContaining("one date") }]);
    expect((await errorOf(await call("/portfolios/demo-options/risk?date=2026-06-27"), 404)).code).toBe("NO_DATA");
    expect((await errorOf(await call("/portfolios/demo-options/risk", stranger), 404)).code).toBe("NOT_FOUND");
  });
});

describe("GET /portfolios/:id/risk?from&to", () => {
  it("serves the stored summaries per date, a date without one listed as not_computed", async () => {
    const body = await json<PortfolioRiskSeriesResponse>(
      await call(`/portfolios/${ownPortfolio}/risk?from=${ownDates[0]}&to=${ownDates[3]}`, own),
    );
    expect(portfolioRiskSeriesSchema.safeParse(body).success).toBe(true);
    expect(body).toMatchObject({ mode: "series", from: ownDates[0], to: ownDates[3], dates: ownDates });
    expect(body.volatility).toEqual([0.15, 0.15 + 1 / 100, null, null]);
    expect(body.tracking_error).toEqual([0.05, 0.05 + 1 / 100, null, null]);
    expect(body.value_at_risk_95).toEqual([16_000, 16_001, null, null]);
    expect(body.factor_share).toEqual([0.8, 0.8, null, null]);
    expect(body.benchmark).toEqual(["SPY", "SPY", "SPY", null]);
    // Equity from the summary, else the snapshot.
    expect(body.equity).toEqual([1_000_000, 1_010_000, 1_020_000, 1_030_000]);
    expect(body.missing).toEqual([
      { date: ownDates[2], series: "volatility", reason: "no_covariance", detail: expect.stringContaining("42 days") },
      {
        date: ownDates[2],
        series: "tracking_error",
        reason: "benchmark_without_loadings",
        detail: "SPY: insufficient_data",
      },
      { date: ownDates[3], series: "all", reason: "not_computed", detail: expect.stringContaining(ownDates[3]!) },
    ]);
  });

  it("reads the batch's summaries for the demo portfolios, and exports the series as CSV", async () => {
    const body = await json<PortfolioRiskSeriesResponse>(
      await call(`/portfolios/demo-core-equity/risk?from=${batchDates[0]}&to=${latestDate}`),
    );
    expect(body.dates).toEqual(batchDates);
    const stored = await db
      .select()
      .from(portfolioRiskSummaries)
      .where(
        and(
          eq(portfolioRiskSummaries.portfolioId, "demo-core-equity"),
          inArray(portfolioRiskSummaries.date, batchDates),
        ),
      )
      .orderBy(asc(portfolioRiskSummaries.date));
    expect(stored.map((row) => row.date)).toEqual(batchDates);
    expect(body.volatility).toEqual(stored.map((row) => row.volatility));
    expect(body.tracking_error).toEqual(stored.map((row) => row.trackingError));

    const response = await call(`/portfolios/${ownPortfolio}/risk?from=${ownDates[0]}&to=${ownDates[3]}`, {
      ...own,
      headers: { accept: "text/csv" },
    });
    expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    const lines = csvLines(await response.text());
    expect(lines[0]).toEqual([
      "date",
      "benchmark",
      "equity",
      "volatility",
      "tracking_error",
      "factor_share",
      "value_at_risk_95",
      "value_at_risk_99",
    ]);
    expect(lines.slice(1).map((line) => line[0])).toEqual(ownDates);
    expect(lines[1]).toEqual([ownDates[0], "SPY", "1000000", "0.15", "0.05", "0.8", "16000", "23000"]);
    expect(lines[4]).toEqual([ownDates[3], "", "1030000", "", "", "", "", ""]);
  });
});

describe("GET /portfolios/:id/attribution", () => {
  it("splits each day's P&L into factor and specific parts that add up to it", async () => {
    const body = await json<AttributionResponse>(
      await call(`/portfolios/${ownPortfolio}/attribution?from=${ownDates[0]}&to=${ownDates[3]}`, own),
    );
    expect(attributionResponseSchema.safeParse(body).success).toBe(true);
    expect(body.factors).toEqual(riskKeys);
    expect(body.days.map((day) => day.date)).toEqual(ownDates);
    // The first day: its previous trading day (a Friday) has no snapshot; the first has no P&L either.
    expect(body.days[0]).toMatchObject({ previous_date: "2026-05-29", status: "missing", reason: "pnl_missing" });
    const returns = await db
      .select()
      .from(factorReturns)
      .where(and(eq(factorReturns.kind, "risk"), inArray(factorReturns.date, ownDates)));
    const returnOf = (date: string, key: string) =>
      returns.find((row) => row.date === date && row.factorKey === key)?.value;
    let cumulative = 0;
    for (const index of [1, 2, 3]) {
      const day = body.days[index]!;
      expect(day.previous_date).toBe(ownDates[index - 1]);
      const equity = 1_000_000 + (index - 1) * 10_000;
      const pnl = 1_500 * (index % 2 === 0 ? 1 : -1) + index * 100;
      expect(day).toMatchObject({ status: "attributed", pnl, equity_previous: equity });
      for (const [k, key] of riskKeys.entries()) {
        const exposure = (k === 0 ? 0.9 : 0.05 * (k - 3)) + (index - 1) * 0.01;
        const f = returnOf(day.date, key);
        expect(f, `a stored ${key} return on ${day.date}`).toBeDefined();
        expect(day.factor_pnl![key]).toBe(equity * exposure * f!);
        expect(day.factor_return![key]).toBe((equity * exposure * f!) / equity);
      }
      expectClose(day.factor_pnl_total! + day.specific_pnl!, pnl, "factor + specific = P&L");
      expectClose(day.total_return!, pnl / equity, "return");
      expectClose(day.factor_return_total! + day.specific_return!, day.total_return!, "returns add up");
      cumulative += pnl;
      expectClose(day.cumulative.pnl, cumulative, "cumulative P&L");
      expectClose(day.cumulative.factor_pnl_total + day.cumulative.specific_pnl, cumulative, "cumulative parts");
    }
    expect(body.total.days).toBe(3);
    expect(body.days_attributed).toBe(3);
    expect(body.days_missing).toBe(1);
    for (const key of riskKeys)
      expectClose(
        body.total.factor_pnl[key]!,
        sum(body.days.slice(1).map((day) => day.factor_pnl![key]!)),
        `Σ factor P&L ${key}`,
      );
  });

  it("attributes the batch's own days, and exports the days as CSV", async () => {
    const body = await json<AttributionResponse>(
      await call(`/portfolios/demo-core-equity/attribution?from=${batchDates[0]}&to=${latestDate}`),
    );
    expect(body.days.map((day) => day.date)).toEqual(batchDates);
    // 06-26's previous trading day was not computed: no snapshot, no exposures.
    expect(body.days[0]).toMatchObject({ status: "missing", previous_date: "2026-06-25" });
    for (const day of body.days.slice(1)) {
      expect(day.status, `${day.date}: ${day.detail}`).toBe("attributed");
      expectClose(day.factor_pnl_total! + day.specific_pnl!, day.pnl!, `${day.date} adds up`);
    }
    expectClose(body.total.factor_pnl_total + body.total.specific_pnl, body.total.pnl, "the range adds up");

    const csv = await call(
      `/portfolios/${ownPortfolio}/attribution?from=${ownDates[0]}&to=${ownDates[3]}&format=csv`,
      own,
    );
    expect(csv.headers.get("content-disposition")).toContain(
      `attribution-${ownPortfolio}-${ownDates[0]}-${ownDates[3]}.csv`,
    );
    const lines = csvLines(await csv.text());
    expect(lines[0]).toEqual([
      "date",
      "previous_date",
      "status",
      "reason",
      "equity_previous",
      "pnl",
      ...riskKeys.map((key) => `factor_pnl_${key}`),
      "factor_pnl",
      "specific_pnl",
      "total_return",
      ...riskKeys.map((key) => `factor_return_${key}`),
      "factor_return",
      "specific_return",
    ]);
    expect(lines.slice(1).map((line) => line.slice(0, 4))).toEqual([
      [ownDates[0], "2026-05-29", "missing", "pnl_missing"],
      [ownDates[1], ownDates[0], "attributed", ""],
      [ownDates[2], ownDates[1], "attributed", ""],
      [ownDates[3], ownDates[2], "attributed", ""],
    ]);
  });

  it("refuses reversed ranges with the field and the reason", async () => {
    const reversed = await errorOf(
      await call(`/portfolios/${ownPortfolio}/attribution?from=2026-06-30&to=2026-06-01`, own),
      400,
    );
    expect(reversed.details).toEqual([{ path: "from", message: "from (2026-06-30) is after to (2026-06-01)" }]);
    const bad = await errorOf(await call(`/portfolios/${ownPortfolio}/attribution?to=2026-13-01`, own), 400);
    expect(bad.details).toEqual([{ path: "to", message: expect.stringContaining("calendar date") }]);
  });
});

describe("POST /portfolios/:id/stress on the risk lens", () => {
  const stress = (body: unknown, options: { sub?: string; org?: string } = {}) =>
    call("/portfolios/demo-options/stress", { method: "POST", body, ...options });

  it("with every factor shocked, the propagated impacts equal the unpropagated", async () => {
    const shocks = Object.fromEntries(riskKeys.map((key, k) => [key, -0.01 * (k + 1)]));
    const body = await json<RiskStressResponse>(await stress({ predictive: { shocks }, date: riskDate }));
    expect(riskStressResponseSchema.safeParse(body).success).toBe(true);
    expect(body).toMatchObject({ kind: "predictive", headline: "propagated", propagate: true, complete: true });
    const { propagated, unpropagated } = body;
    expect(propagated).not.toBeNull();
    expect(propagated!.moves).toEqual(unpropagated.moves);
    expect(propagated!.total).toBe(unpropagated.total);
    expect(propagated!.factors).toEqual(unpropagated.factors);
    expect(propagated!.holdings).toEqual(unpropagated.holdings);
    expect(body.total).toBe(unpropagated.total);
    expectClose(sum(unpropagated.holdings.map((h) => h.impact)), unpropagated.total, "holdings add up", 1e-10);
    expectClose(sum(unpropagated.factors.map((f) => f.impact)), unpropagated.total, "factors add up", 1e-10);
  });

  it("propagates a market shock through the stored covariance, and reprices options beside their delta", async () => {
    const body = await json<RiskStressResponse>(
      await stress({ predictive: { shocks: { market: -0.1 } }, date: riskDate }),
    );
    const stored = await loadRiskInputs(db, riskDate, [], halfLife);
    const model = riskModelInput(stored);
    const expected = propagateShocks(model.covariance!, model.factorKeys, { market: -0.1 });
    for (const key of model.factorKeys) expectClose(body.propagated!.moves[key], expected.moves[key]!, `move ${key}`);
    expect(body.unpropagated.moves).toEqual(
      Object.fromEntries(model.factorKeys.map((key) => [key, key === "market" ? -0.1 : 0])),
    );
    expect(body.impacts.map((impact) => impact.shock)).toEqual(
      model.factorKeys.map((key) => body.propagated!.moves[key]),
    );
    // The options: repriced by Black–Scholes where an implied volatility is given, delta-only otherwise.
    const options = body.propagated!.options;
    expect(options.length).toBeGreaterThan(0);
    for (const option of options) {
      if (option.repriced === null) expect(option.repriced_reason).toBe("no_implied_volatility");
      else expect(option.repriced_reason).toBeNull();
    }
    expect(options.some((option) => option.repriced !== null)).toBe(true);
    expect(body.propagated!.options_delta_only).toEqual(
      options.filter((option) => option.repriced === null).map((option) => option.position_id),
    );
    const shift = sum(options.filter((o) => o.repriced !== null).map((o) => o.repriced! - o.delta_approximation));
    expectClose(body.propagated!.total_repriced, body.propagated!.total + shift, "repriced total", 1e-10);
    // propagate: false leaves the propagated side out, with the reason.
    const plain = await json<RiskStressResponse>(
      await stress({ predictive: { shocks: { market: -0.1 }, propagate: false }, date: riskDate }),
    );
    expect(plain).toMatchObject({
      headline: "unpropagated",
      propagated: null,
      propagated_unavailable: { reason: "not_requested" },
    });
    expect(plain.total).toBe(body.unpropagated.total);
  });

  it("keeps the lens scenarios as they were, now with kind lens", async () => {
    const body = await json<StressResponse>(await stress({ shocks: { market_beta: -0.1 } }));
    expect(body.kind).toBe("lens");
    expect(body.impacts).toHaveLength(1);
  });

  it("refuses unknown risk factor keys, mixed requests and empty episodes with the field and the reason", async () => {
    const unknown = await errorOf(await stress({ predictive: { shocks: { luck: 0.1, market: -0.1 } } }), 400);
    expect(unknown.details).toEqual([
      { path: "predictive.shocks.luck", message: expect.stringContaining("unknown risk factor key: luck") },
    ]);
    const lensKey = await errorOf(await stress({ predictive: { shocks: { market_beta: -0.1 } } }), 400);
    expect(lensKey.details).toEqual([{ path: "predictive.shocks.market_beta", message: expect.any(String) }]);
    const both = await errorOf(
      await stress({ predictive: { shocks: { market: -0.1 } }, shocks: { market_beta: -0.1 } }),
      400,
    );
    expect(both.details).toEqual([
      { path: "", message: "give exactly one of scenario_id, shocks, predictive and historical" },
    ]);
    const tooBig = await errorOf(await stress({ predictive: { shocks: { market: 11 } } }), 400);
    expect(tooBig.details).toEqual([{ path: "predictive.shocks.market", message: "a shock must be ≤ 10 (+1000%)" }]);
    const reversed = await errorOf(await stress({ historical: { from: "2026-06-30", to: "2026-06-01" } }), 400);
    expect(reversed.details).toEqual([{ path: "historical.from", message: expect.stringContaining("before to") }]);
    const both2 = await errorOf(await stress({ historical: { from: "2026-06-01", episode_id: "x" } }), 400);
    expect(both2.details).toEqual([{ path: "historical", message: "give either from and to, or episode_id" }]);
    const empty = await errorOf(await stress({ historical: { from: "1990-01-01", to: "1990-02-01" } }), 400);
    expect(empty.details).toEqual([
      { path: "historical.from", message: expect.stringContaining("no risk factor return is stored") },
    ]);
  });
});

describe("historical episodes", () => {
  it("finds built-in episodes in the stored returns and replays them on the date's loadings", async () => {
    const list = await json<{ episodes: StressEpisodeResponse[] }>(await call("/stress/episodes", own));
    expect(stressEpisodeListSchema.safeParse(list).success).toBe(true);
    const { dates, byKey } = await storedRiskReturns();
    const market = list.episodes.find((episode) => episode.id === "builtin-worst-20d-market")!;
    const stretch = worstStretch(dates, byKey["market"]!, 20)!;
    expect(stretch).not.toBeNull();
    expect(market).toMatchObject({
      builtin: true,
      owner: null,
      from: stretch.from,
      to: stretch.to,
      first_date: stretch.firstDate,
      last_date: stretch.lastDate,
      days: 20,
      basis: { factor_key: "market", days: 20, sum: stretch.sum },
    });
    const replay = historicalShocks(dates, byKey, stretch.from, stretch.to);
    expect(market.shocks).toEqual(replay.shocks);
    expect(market.shocks["market"]).toBe(stretch.sum);
    expect(list.episodes.filter((episode) => episode.builtin).map((episode) => episode.basis!.factor_key)).toEqual(
      riskKeys,
    );

    const body = await json<RiskStressResponse>(
      await call("/portfolios/demo-core-equity/stress", {
        method: "POST",
        body: { historical: { episode_id: market.id }, date: riskDate },
      }),
    );
    expect(riskStressResponseSchema.safeParse(body).success).toBe(true);
    expect(body).toMatchObject({
      kind: "historical",
      scenario: { id: market.id, name: market.name, shocks: replay.shocks },
      episode: { id: market.id, from: stretch.from, to: stretch.to, builtin: true, days: 20 },
    });
    for (const key of riskKeys) expect(body.unpropagated.moves[key]).toBe(replay.shocks[key] ?? 0);
    // Every factor has its returns over the stretch: propagation changes nothing.
    expect(body.missing).toEqual([]);
    expect(body.propagated!.total).toBe(body.unpropagated.total);
    expect(body.total).toBeLessThan(0); // a long book in the market's worst 20 days

    // The same range given by hand.
    const byRange = await json<RiskStressResponse>(
      await call("/portfolios/demo-core-equity/stress", {
        method: "POST",
        body: { historical: { from: stretch.from, to: stretch.to }, date: riskDate },
      }),
    );
    expect(byRange.unpropagated.total).toBe(body.unpropagated.total);
    expect(byRange.episode).toMatchObject({ id: null, builtin: false });
  });

  it("saves, lists, replays and deletes the owner's episodes; others get 404; built-ins stay", async () => {
    const name = `Spring ${crypto.randomUUID()}`;
    const created = await json<StressEpisodeResponse>(
      await call("/stress/episodes", {
        ...own,
        method: "POST",
        body: { name, from: "2026-05-29", to: "2026-06-05", description: "A week" },
      }),
      201,
    );
    const { dates, byKey } = await storedRiskReturns();
    const replay = historicalShocks(dates, byKey, "2026-05-29", "2026-06-05");
    expect(created).toMatchObject({
      name,
      description: "A week",
      from: "2026-05-29",
      to: "2026-06-05",
      builtin: false,
      owner,
      days: replay.days,
      shocks: replay.shocks,
      basis: null,
    });
    expect(replay.days).toBe(5);
    const duplicate = await errorOf(
      await call("/stress/episodes", { ...own, method: "POST", body: { name, from: "2026-05-01", to: "2026-05-08" } }),
      409,
    );
    expect(duplicate.details).toEqual([{ path: "name", message: "must be unique among your episodes" }]);
    const reversed = await errorOf(
      await call("/stress/episodes", {
        ...own,
        method: "POST",
        body: { name: "x", from: "2026-05-08", to: "2026-05-08" },
      }),
      400,
    );
    expect(reversed.details).toEqual([{ path: "from", message: expect.stringContaining("must be before to") }]);
    const mine = await json<{ episodes: StressEpisodeResponse[] }>(await call("/stress/episodes", own));
    expect(mine.episodes.map((episode) => episode.id)).toContain(created.id);
    const theirs = await json<{ episodes: StressEpisodeResponse[] }>(await call("/stress/episodes", stranger));
    expect(theirs.episodes.map((episode) => episode.id)).not.toContain(created.id);

    // The owner replays it on a portfolio of its own (cash only: no positions, impacts of 0 by holding).
    const replayed = await json<RiskStressResponse>(
      await call(`/portfolios/${ownPortfolio}/stress`, {
        ...own,
        method: "POST",
        body: { historical: { episode_id: created.id }, date: riskDate },
      }),
    );
    expect(replayed).toMatchObject({ kind: "historical", scenario: { id: created.id, shocks: replay.shocks } });
    expect(replayed.unpropagated.holdings).toEqual([]);
    // Another owner's episode is a 404, on their own portfolio too, and cannot be deleted.
    const strangerPortfolio = await json<PortfolioResponse>(
      await call("/portfolios", { ...stranger, method: "POST", body: { name: `Stranger ${crypto.randomUUID()}` } }),
      201,
    );
    const foreign = await errorOf(
      await call(`/portfolios/${strangerPortfolio.id}/stress`, {
        ...stranger,
        method: "POST",
        body: { historical: { episode_id: created.id } },
      }),
      404,
    );
    expect(foreign).toMatchObject({ code: "NOT_FOUND", message: `stress episode ${created.id} does not exist` });
    expect(
      (await errorOf(await call(`/stress/episodes/${created.id}`, { ...stranger, method: "DELETE" }), 404)).code,
    ).toBe("NOT_FOUND");
    expect(
      (await errorOf(await call("/stress/episodes/builtin-worst-20d-market", { ...own, method: "DELETE" }), 403)).code,
    ).toBe("FORBIDDEN");
    expect((await call(`/stress/episodes/${created.id}`, { ...own, method: "DELETE" })).status).toBe(204);
    expect((await errorOf(await call(`/stress/episodes/${created.id}`, { ...own, method: "DELETE" }), 404)).code).toBe(
      "NOT_FOUND",
    );
  });
});
