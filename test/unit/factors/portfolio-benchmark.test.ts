import { describe, expect, it } from "vitest";
import { activeExposures, benchmarkExposures } from "../../../worker/factors/portfolio-benchmark.ts";
import { aggregatePortfolio } from "../../../worker/factors/portfolio.ts";
import { betaTable, DATE, estimated, factor, HAND_PORTFOLIO, missing } from "./portfolio-fixtures.ts";

const factors = [factor("market_beta"), factor("value"), factor("growth_value_spread")];

describe("benchmarkExposures", () => {
  it("is the benchmark's own betas, null with the reason where one is missing", () => {
    const betas = betaTable({
      QQQ: {
        market_beta: estimated("market_beta", 1.15, "limited_history"),
        value: missing("value", "degenerate", "VTV returns have zero variance"),
      },
    });
    expect(benchmarkExposures("QQQ", betas, factors)).toEqual({
      symbol: "QQQ",
      exposures: [
        {
          factorId: 1,
          factorKey: "market_beta",
          exposure: 1.15,
          qualityFlag: "limited_history",
          reason: null,
          detail: null,
        },
        {
          factorId: 3,
          factorKey: "value",
          exposure: null,
          qualityFlag: null,
          reason: "degenerate",
          detail: "VTV returns have zero variance",
        },
        {
          factorId: 9,
          factorKey: "growth_value_spread",
          exposure: null,
          qualityFlag: null,
          reason: "beta_not_found",
          detail: null,
        },
      ],
    });
  });

  it("reports a symbol without any beta as no_betas on every factor", () => {
    const result = benchmarkExposures("IWM", new Map(), factors);
    expect(result.exposures.map((e) => [e.exposure, e.reason])).toEqual([
      [null, "no_betas"],
      [null, "no_betas"],
      [null, "no_betas"],
    ]);
  });
});

describe("activeExposures", () => {
  it("is portfolio − benchmark, null when either side is missing", () => {
    const portfolio = aggregatePortfolio(HAND_PORTFOLIO);
    const betas = betaTable({ SPY: { market_beta: 1, value: 0.4 } });
    const active = activeExposures(portfolio, benchmarkExposures("SPY", betas, factors));
    const [market, value, spread] = portfolio.exposures;
    expect(active[0]).toMatchObject({
      factorKey: "market_beta",
      portfolio: market?.exposure,
      benchmark: 1,
      missing: null,
    });
    expect(active[0]?.active).toBeCloseTo(2.5577874235085865 - 1, 12);
    expect(active[0]?.activeDollar).toBeCloseTo((2.5577874235085865 - 1) * 34_000, 8);
    expect(active[1]?.active).toBeCloseTo(-0.16224097352420545 - 0.4, 12);
    expect(active[2]).toEqual({
      factorId: 9,
      factorKey: "growth_value_spread",
      portfolio: spread?.exposure,
      benchmark: null,
      active: null,
      activeDollar: null,
      missing: "benchmark",
    });
    expect(value?.exposure).not.toBeNull();
  });

  it("says which side is missing", () => {
    const empty = aggregatePortfolio({
      date: DATE,
      holdings: [],
      cash: 100,
      closes: new Map(),
      betas: new Map(),
      factors,
    });
    const active = activeExposures(empty, benchmarkExposures("SPY", betaTable({ SPY: { market_beta: 1 } }), factors));
    expect(active.map((a) => [a.active, a.missing])).toEqual([
      [null, "portfolio"],
      [null, "both"],
      [null, "both"],
    ]);
  });
});
