// The standard error of a portfolio exposure (docs/design.md §11): sqrt(Σ_s (X_s se_s)²) with the
// weights summed per symbol (a stock and an option on it are one symbol), and the active one with
// the benchmark held, against hand-computed numbers and against the direct merge X'_B = X_B − 1.
import { describe, expect, it } from "vitest";
import { standardErrorColumns } from "../../../worker/batch/portfolio-analytics-phase.ts";
import {
  activeStandardError,
  exposureUncertainties,
  isDistinguishable,
  symbolExposureWeights,
} from "../../../worker/factors/exposure-uncertainty.ts";
import { computePortfolioRisk } from "../../../worker/factors/portfolio-risk.ts";
import { aggregatePortfolio, type HoldingInput } from "../../../worker/factors/portfolio.ts";
import type { SymbolFactorBeta } from "../../../worker/factors/types.ts";
import { betaTable, DATE, estimated, factor } from "./portfolio-fixtures.ts";

const expectRelative = (actual: number | null | undefined, expected: number) => {
  expect(actual).not.toBeNull();
  expect(Math.abs((actual as number) - expected)).toBeLessThanOrEqual(1e-12 * Math.abs(expected));
};

const withError = (key: string, beta: number, standardError: number | null): SymbolFactorBeta => ({
  ...estimated(key, beta),
  standardError,
});

// Equity = 99,000 cash + 10,000 AAA stock + 1,000 call premium − 10,000 BBB short = 100,000.
// AAA: the stock 10,000/100,000 × 1 = 0.1 and the call 2 × 100 × 100 = 20,000 notional at δ 0.5:
// 0.2 × 0.5 = 0.1, so X_AAA = 0.2; BBB: X_BBB = −0.1.
const holdings: HoldingInput[] = [
  { id: "aaa-stock", symbol: "AAA", instrument: "stock", quantity: 100, openedOn: "2025-01-02" },
  {
    id: "aaa-call",
    symbol: "AAA C100",
    instrument: "option",
    quantity: 2,
    openedOn: "2025-01-02",
    underlyingSymbol: "AAA",
    optionType: "call",
    strike: 100,
    expiry: "2025-12-19",
    multiplier: 100,
    delta: 0.5,
    premium: 5,
  },
  { id: "bbb-short", symbol: "BBB", instrument: "stock", quantity: -50, openedOn: "2025-01-02" },
];
const factors = [factor("market_beta"), factor("value"), factor("size")];
const betas = betaTable({
  AAA: { market_beta: withError("market_beta", 1.2, 0.1), value: withError("value", 0.1, 0.2), size: 0.3 },
  BBB: { market_beta: withError("market_beta", 0.8, 0.05), value: withError("value", 0.1, 0.1), size: 0.5 },
});
const noSizeError = betaTable({
  AAA: { market_beta: 1.2, size: withError("size", 0.3, 0.04) },
  BBB: { market_beta: 0.8, size: withError("size", 0.5, null) },
});
const aggregation = aggregatePortfolio({
  date: DATE,
  holdings,
  cash: 99_000,
  closes: new Map([
    ["AAA", 100],
    ["BBB", 200],
  ]),
  betas,
  factors,
});

describe("symbolExposureWeights", () => {
  it("sums weight × delta per beta symbol: a stock and an option on it are one symbol", () => {
    expect(aggregation.equity).toBe(100_000);
    const weights = symbolExposureWeights(aggregation.positions);
    expect(weights.map((w) => w.symbol)).toEqual(["AAA", "BBB"]);
    expectRelative(weights[0]?.weight, 0.2);
    expectRelative(weights[1]?.weight, -0.1);
  });

  it("is empty when equity ≤ 0 (no weights)", () => {
    const negative = aggregatePortfolio({
      date: DATE,
      holdings: [holdings[0]!],
      cash: -20_000,
      closes: new Map([["AAA", 100]]),
      betas,
      factors,
    });
    expect(negative.weightsAvailable).toBe(false);
    expect(symbolExposureWeights(negative.positions)).toEqual([]);
  });
});

describe("exposureUncertainties", () => {
  it("gives sqrt(Σ_s (X_s se_s)²) over the symbols, by hand", () => {
    const [market, value] = exposureUncertainties(factors, betas, symbolExposureWeights(aggregation.positions));
    // market: 0.2 × 1.2 − 0.1 × 0.8 = 0.16; se = sqrt((0.2 × 0.1)² + (0.1 × 0.05)²) = sqrt(0.000425).
    // Per position instead of per symbol it would be sqrt(0.01² + 0.01² + 0.005²) = 0.015: not this.
    expectRelative(market?.exposure, 0.16);
    expectRelative(market?.standardError, Math.sqrt(0.000425));
    expect(market).toMatchObject({ reason: null, distinguishable: true, symbolsUsed: 2 });
    expect(market?.exposure).toBeCloseTo(aggregation.exposures[0]!.exposure!, 14);
    // value: 0.2 × 0.1 − 0.1 × 0.1 = 0.01; se = sqrt((0.2 × 0.2)² + (0.1 × 0.1)²) = sqrt(0.0017) ≈ 0.041.
    expectRelative(value?.exposure, 0.01);
    expectRelative(value?.standardError, Math.sqrt(0.0017));
    expect(value?.distinguishable).toBe(false);
  });

  it("is null with the symbols named when one used has no standard error; no_beta when none has a beta", () => {
    const [market, value, size] = exposureUncertainties(
      factors,
      noSizeError,
      symbolExposureWeights(aggregation.positions),
    );
    expect(market?.standardError).not.toBeNull();
    expect(value).toMatchObject({ exposure: null, standardError: null, reason: "no_beta", distinguishable: null });
    expect(size).toMatchObject({ standardError: null, reason: "standard_error_not_computed", distinguishable: null });
    expect(size?.detail).toBe("no standard error for the beta of BBB");
    expectRelative(size?.exposure, 0.2 * 0.3 - 0.1 * 0.5);
  });

  it("is the risk route's lens_exposures (one implementation)", () => {
    const risk = computePortfolioRisk({
      aggregation,
      factorKeys: ["market"],
      covariance: null,
      loadings: new Map(),
      lensBetas: betas,
      lensFactors: factors,
    });
    expect(risk.lensExposures).toEqual(
      exposureUncertainties(factors, betas, symbolExposureWeights(aggregation.positions)),
    );
  });

  it("tells an exposure from zero at |exposure| ≥ 2 se, never a zero exposure", () => {
    expect(isDistinguishable(0.2, 0.1)).toBe(true);
    expect(isDistinguishable(-0.2, 0.1)).toBe(true);
    expect(isDistinguishable(0.19, 0.1)).toBe(false);
    expect(isDistinguishable(0, 0)).toBe(false);
    expect(isDistinguishable(1e-9, 0)).toBe(true);
  });
});

describe("activeStandardError", () => {
  const weights = symbolExposureWeights(aggregation.positions);
  const portfolio = exposureUncertainties(factors, betas, weights)[0]!.standardError!;
  /** The direct definition: the benchmark a holding of weight −1 merged with the portfolio's own X_B. */
  const merged = (benchmark: string, table = betas) => {
    const held = weights.find((w) => w.symbol === benchmark)?.weight ?? 0;
    const rows = [...weights.filter((w) => w.symbol !== benchmark), { symbol: benchmark, weight: held - 1 }];
    return exposureUncertainties(factors, table, rows)[0]!.standardError!;
  };

  it("with the benchmark held: X'_B = X_B − 1, by hand and by the merge", () => {
    // Benchmark BBB, held at X_BBB = −0.1: X'_BBB = −1.1; se_a = sqrt((0.2 × 0.1)² + (1.1 × 0.05)²) = sqrt(0.003425).
    const active = activeStandardError(portfolio, -0.1, 0.05);
    expectRelative(active, Math.sqrt(0.003425));
    expectRelative(active, merged("BBB"));
  });

  it("with the benchmark not held (X_B = 0): sqrt(se_p² + se_B²)", () => {
    const withSpy = new Map([...betas, ["SPY", { market_beta: withError("market_beta", 1, 0.03) }]]);
    const active = activeStandardError(portfolio, 0, 0.03);
    expectRelative(active, Math.sqrt(0.000425 + 0.03 ** 2));
    expectRelative(active, merged("SPY", withSpy));
  });

  it("is 0 for a portfolio that is its benchmark, a rounding residue below 0 included", () => {
    expect(activeStandardError(0.05, 1, 0.05)).toBe(0);
    // se_p² + se_B²(1 − 2X_B) a hair below 0 (inputs a hair apart, as rounding leaves them): 0, never NaN.
    expect(activeStandardError(0.1, 1 + 1e-10, 0.1)).toBe(0);
  });
});

describe("standardErrorColumns (what the batch stores beside an exposure)", () => {
  const [market, , size] = exposureUncertainties(factors, noSizeError, symbolExposureWeights(aggregation.positions));

  it("stores the standard error, or null with why", () => {
    expect(standardErrorColumns(0.16, market)).toEqual({
      standardError: market!.standardError,
      standardErrorReason: null,
    });
    expect(standardErrorColumns(0.01, size)).toEqual({
      standardError: null,
      standardErrorReason: "standard_error_not_computed",
    });
    // Equity ≤ 0: no exposure, so no standard error, whatever the symbols' betas.
    expect(standardErrorColumns(null, market)).toEqual({
      standardError: null,
      standardErrorReason: "weights_unavailable",
    });
  });
});
