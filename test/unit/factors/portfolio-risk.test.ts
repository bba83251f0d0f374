// Portfolio risk, attribution and stress propagation (worker/factors/portfolio-risk.ts,
// docs/design.md §11): a hand-computed case, identities checked with fast-check over random
// portfolios, and a numpy reference (scripts/portfolio-risk-fixtures.py →
// fixtures/portfolio-risk-reference.json) compared to 1e-12 relative — 1e-12 of the group's
// largest magnitude for entries near zero (see `expectGroup`).
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { blackScholesDelta, blackScholesPrice, yearFraction } from "../../../worker/factors/options.ts";
import type { AttributionDay, PortfolioRisk, VarianceDecomposition } from "../../../worker/factors/portfolio-risk.ts";
import {
  computeAttribution,
  computePortfolioRisk,
  EXPOSURE_STANDARD_ERROR_NOTE,
  historicalShocks,
  propagateShocks,
  ShockPropagationError,
  stressPortfolio,
  VAR_Z_95,
  VAR_Z_99,
  worstStretch,
} from "../../../worker/factors/portfolio-risk.ts";
import type { HoldingInput, PortfolioAggregation } from "../../../worker/factors/portfolio.ts";
import { aggregatePortfolio } from "../../../worker/factors/portfolio.ts";
import type {
  EstimatedRiskLoadings,
  MissingRiskLoadings,
  SymbolRiskLoadings,
} from "../../../worker/factors/risk-model.ts";
import { betaTable, DATE, estimated, factor } from "./portfolio-fixtures.ts";

// ---------------------------------------------------------------------------------------------
// Builders

function riskLoadings(
  symbol: string,
  keys: readonly string[],
  loadings: readonly number[],
  standardErrors: readonly number[],
  residualVariance: number,
  calculationDate = DATE,
): EstimatedRiskLoadings {
  return {
    symbol,
    calculationDate,
    windowDays: 365,
    observations: 250,
    factorObservations: 250,
    status: "estimated",
    loadings: Object.fromEntries(keys.map((k, i) => [k, loadings[i]!])),
    standardErrors: Object.fromEntries(keys.map((k, i) => [k, standardErrors[i]!])),
    residualVariance,
    rSquared: 0.5,
    qualityFlag: "ok",
  };
}

function missingLoadings(symbol: string, calculationDate = DATE): MissingRiskLoadings {
  return {
    symbol,
    calculationDate,
    windowDays: 365,
    observations: 12,
    factorObservations: 250,
    status: "missing",
    reason: "insufficient_data",
    detail: "12 observations in the 365-day window, 60 required",
  };
}

function aggregate(date: string, holdings: HoldingInput[], cash: number, closes: Record<string, number>) {
  return aggregatePortfolio({
    date,
    holdings,
    cash,
    closes: new Map(Object.entries(closes)),
    betas: new Map(),
    factors: [],
  });
}

const stock = (id: string, symbol: string, quantity: number): HoldingInput => ({
  id,
  symbol,
  instrument: "stock",
  quantity,
});

const sumOf = (values: readonly number[]) => values.reduce((s, v) => s + v, 0);
const byKey = <T extends { factorKey: string }>(rows: readonly T[]) => new Map(rows.map((r) => [r.factorKey, r]));
const bySymbol = <T extends { symbol: string }>(rows: readonly T[]) => new Map(rows.map((r) => [r.symbol, r]));

/** |actual − expected| ≤ tolerance × scale. */
function expectNear(actual: number | null | undefined, expected: number, scale: number, label: string, tol = 1e-12) {
  expect(actual, label).not.toBeNull();
  expect(actual, label).not.toBeUndefined();
  const error = Math.abs((actual as number) - expected);
  if (!(error <= tol * scale)) {
    throw new Error(`${label}: ${actual} vs ${expected} (error ${error}, allowed ${tol * scale})`);
  }
}

const expectRelative = (actual: number | null | undefined, expected: number, label: string, tol = 1e-12) =>
  expectNear(actual, expected, Math.abs(expected), label, tol);

// ---------------------------------------------------------------------------------------------
// A hand-computed case

describe("computePortfolioRisk: a hand-computed three-symbol portfolio", () => {
  // Two risk factors, three symbols; AAA held as stock and through a call on it.
  //   AAA stock: 100 sh × 100 = 10,000                      x = 0.5
  //   AAA call : 1 contract × 100 × 100 = 10,000 notional, δ 0.5 (no premium) → x = 0.5 × 0.5 = 0.25
  //   BBB short: −50 sh × 200 = −10,000                     x = −0.5
  //   CCC stock: 100 sh × 50 = 5,000                        x = 0.25
  //   equity = 15,000 cash + 10,000 − 10,000 + 5,000 = 20,000
  // Summed per symbol: X_AAA = 0.75, X_BBB = −0.5, X_CCC = 0.25.
  const keys = ["market", "rates"];
  const holdings: HoldingInput[] = [
    stock("a-stock", "AAA", 100),
    {
      id: "a-call",
      symbol: "AAA251219C00100000",
      instrument: "option",
      quantity: 1,
      underlyingSymbol: "AAA",
      optionType: "call",
      strike: 100,
      expiry: "2025-12-19",
      delta: 0.5,
      impliedVol: 0.3,
    },
    stock("b-short", "BBB", -50),
    stock("c-stock", "CCC", 100),
    stock("d-noloadings", "DDD", 10),
    stock("e-missing", "EEE", 10),
    stock("f-noprice", "FFF", 10),
  ];
  // DDD (no loadings) and EEE (missing loadings) are worth 10 × 10 each, FFF has no close: cash
  // 14,800 keeps equity at 20,000 and the weights above.
  const aggregation = aggregate(DATE, holdings, 14_800, { AAA: 100, BBB: 200, CCC: 50, DDD: 10, EEE: 10 });
  // Σ = [[1e-4, 2e-5], [2e-5, 4e-5]]
  const covariance = [
    [0.0001, 0.00002],
    [0.00002, 0.00004],
  ];
  // b_AAA = (1.2, 0.1), s² 4e-4, se (0.1, 0.2); b_BBB = (0.8, −0.2), s² 9e-4, se (0.05, 0.1);
  // b_CCC = (1.0, 0), s² 1e-4, se (0.02, 0.04).
  const loadings = new Map<string, SymbolRiskLoadings>([
    ["AAA", riskLoadings("AAA", keys, [1.2, 0.1], [0.1, 0.2], 0.0004)],
    ["BBB", riskLoadings("BBB", keys, [0.8, -0.2], [0.05, 0.1], 0.0009)],
    ["CCC", riskLoadings("CCC", keys, [1.0, 0], [0.02, 0.04], 0.0001)],
    ["EEE", missingLoadings("EEE")],
  ]);
  const risk = computePortfolioRisk({ aggregation, factorKeys: keys, covariance, loadings, benchmarkSymbol: "CCC" });
  const total = risk.total as NonNullable<PortfolioRisk["total"]>;
  const active = risk.active as NonNullable<PortfolioRisk["active"]>;

  it("sums exposure weights per symbol, and leaves out (and reports) what it cannot use", () => {
    expect(aggregation.equity).toBe(20_000);
    const weights = bySymbol(risk.symbols);
    expectRelative(weights.get("AAA")?.weight, 0.75, "X_AAA");
    expectRelative(weights.get("BBB")?.weight, -0.5, "X_BBB");
    expectRelative(weights.get("CCC")?.weight, 0.25, "X_CCC");
    expect(weights.get("AAA")?.positionIds).toEqual(["a-stock", "a-call"]);
    expectRelative(weights.get("AAA")?.dollarExposure, 15_000, "D_AAA");
    expect(risk.dataQuality.symbolsLeftOut).toEqual([
      { symbol: "DDD", positionIds: ["d-noloadings"], reason: "not_computed", detail: "no loadings for DDD" },
      {
        symbol: "EEE",
        positionIds: ["e-missing"],
        reason: "insufficient_data",
        detail: "12 observations in the 365-day window, 60 required",
      },
    ]);
    expect(risk.dataQuality.positionsLeftOut).toEqual([
      {
        positionId: "f-noprice",
        symbol: "FFF",
        betaSymbol: "FFF",
        reason: "no_price",
        detail: "no close for FFF on the date",
      },
    ]);
    expect(risk.dataQuality).toMatchObject({ positionsHeld: 7, positionsUsed: 4, symbolsUsed: 3 });
    // coverage = (10,000 + 10,000 + 10,000 + 5,000) / (35,000 + 100 + 100)
    expectRelative(risk.dataQuality.coverage, 35_000 / 35_200, "coverage");
  });

  it("computes exposures with standard errors and distinguishability", () => {
    // b_p = 0.75 (1.2, 0.1) − 0.5 (0.8, −0.2) + 0.25 (1, 0) = (0.9 − 0.4 + 0.25, 0.075 + 0.1) = (0.75, 0.175)
    // se_market = sqrt((0.75·0.1)² + (0.5·0.05)² + (0.25·0.02)²) = sqrt(0.006275) ≈ 0.0792 → 0.75 ≥ 2se
    // se_rates  = sqrt((0.75·0.2)² + (0.5·0.1)² + (0.25·0.04)²) = sqrt(0.0251) ≈ 0.1584 → 0.175 < 2se
    const [market, rates] = risk.exposures ?? [];
    expectRelative(market?.exposure, 0.75, "b_market");
    expectRelative(rates?.exposure, 0.175, "b_rates");
    expectRelative(market?.standardError, Math.sqrt(0.006275), "se_market");
    expectRelative(rates?.standardError, Math.sqrt(0.0251), "se_rates");
    expect([market?.distinguishable, rates?.distinguishable]).toEqual([true, false]);
    expect(risk.note).toBe(EXPOSURE_STANDARD_ERROR_NOTE);
    expect(risk.note).toMatch(/independent across symbols/);
  });

  it("decomposes the variance by factor and by holding", () => {
    // Σb_p = (1e-4·0.75 + 2e-5·0.175, 2e-5·0.75 + 4e-5·0.175) = (7.85e-5, 2.2e-5)
    // c = (0.75·7.85e-5, 0.175·2.2e-5) = (5.8875e-5, 3.85e-6); V_f = 6.2725e-5
    // V_s = 0.75²·4e-4 + 0.5²·9e-4 + 0.25²·1e-4 = 2.25e-4 + 2.25e-4 + 6.25e-6 = 4.5625e-4
    //   (per position it would be (0.5² + 0.25²)·4e-4 + … = 3.5625e-4: the stock and the call
    //   share AAA's specific return, so their weights add before squaring)
    // V = 5.18975e-4
    expectRelative(total.factors[0]?.contribution, 5.8875e-5, "c_market");
    expectRelative(total.factors[1]?.contribution, 3.85e-6, "c_rates");
    expectRelative(total.factorVariance, 6.2725e-5, "V_f");
    expectRelative(total.specificVariance, 4.5625e-4, "V_s");
    expectRelative(total.specificVariance - 3.5625e-4, 1e-4, "V_s − Σ_i x_i² s²", 1e-10);
    expectRelative(total.variance, 5.18975e-4, "V");
    expectRelative(total.factors[0]?.share, 5.8875e-5 / 5.18975e-4, "share_market");
    // σ = sqrt(252 V); VaR = z sqrt(V) E
    expectRelative(total.volatility, Math.sqrt(252 * 5.18975e-4), "volatility");
    expectRelative(total.volatilityDollar, Math.sqrt(252 * 5.18975e-4) * 20_000, "volatility $");
    expectRelative(total.valueAtRisk95, 1.6448536269514722 * Math.sqrt(5.18975e-4) * 20_000, "VaR95");
    expectRelative(total.valueAtRisk99, 2.3263478740408408 * Math.sqrt(5.18975e-4) * 20_000, "VaR99");
    // h_AAA = 0.75 (1.2·7.85e-5 + 0.1·2.2e-5 + 0.75·4e-4) = 0.75 · 3.964e-4 = 2.973e-4
    // h_BBB = −0.5 (0.8·7.85e-5 − 0.2·2.2e-5 − 0.5·9e-4) = −0.5 · −3.916e-4 = 1.958e-4
    // h_CCC = 0.25 (7.85e-5 + 0.25·1e-4) = 0.25 · 1.035e-4 = 2.5875e-5;  Σ = 5.18975e-4 = V
    const holdings = bySymbol(total.holdings);
    expect(total.holdings.map((h) => h.symbol)).toEqual(["AAA", "BBB", "CCC"]);
    expectRelative(holdings.get("AAA")?.contribution, 2.973e-4, "h_AAA");
    expectRelative(holdings.get("BBB")?.contribution, 1.958e-4, "h_BBB");
    expectRelative(holdings.get("CCC")?.contribution, 2.5875e-5, "h_CCC");
    expectRelative(holdings.get("AAA")?.specificPart, 0.5625 * 4e-4, "specific part of AAA");
    expectRelative(holdings.get("AAA")?.marginal, 3.964e-4 / Math.sqrt(5.18975e-4), "marginal AAA");
    expectRelative(holdings.get("BBB")?.marginal, -3.916e-4 / Math.sqrt(5.18975e-4), "marginal BBB");
  });

  it("measures active risk against the benchmark, merged with the portfolio's own holding of it", () => {
    // X'_CCC = 0.25 − 1 = −0.75; b_a = b_p − b_CCC = (−0.25, 0.175)
    // Σb_a = (−2.5e-5 + 3.5e-6, −5e-6 + 7e-6) = (−2.15e-5, 2e-6); c = (5.375e-6, 3.5e-7); V_f = 5.725e-6
    // V_s = 0.5625·4e-4 + 0.25·9e-4 + 0.5625·1e-4 = 5.0625e-4; V_a = 5.11975e-4
    const exposures = byKey(risk.activeExposures ?? []);
    expectRelative(exposures.get("market")?.exposure, -0.25, "active market");
    expectRelative(exposures.get("rates")?.exposure, 0.175, "active rates");
    expect(exposures.get("market")).toMatchObject({ benchmark: 1 });
    expectRelative(exposures.get("market")?.portfolio, 0.75, "portfolio market");
    // se' = sqrt((0.75·0.1)² + (0.5·0.05)² + (0.75·0.02)²)
    expectRelative(exposures.get("market")?.standardError, Math.sqrt(0.005625 + 0.000625 + 0.000225), "active se");
    expectRelative(active.factors[0]?.contribution, 5.375e-6, "c_a market");
    expectRelative(active.factors[1]?.contribution, 3.5e-7, "c_a rates");
    expectRelative(active.specificVariance, 5.0625e-4, "V_s active");
    expectRelative(active.variance, 5.11975e-4, "V_a");
    expectRelative(active.trackingError, Math.sqrt(252 * 5.11975e-4), "tracking error");
    expect(bySymbol(active.holdings).get("CCC")).toMatchObject({ positionIds: ["c-stock"] });
    expectRelative(bySymbol(active.holdings).get("CCC")?.weight, -0.75, "X'_CCC");
    expectRelative(sumOf(active.holdings.map((h) => h.contribution)), 5.11975e-4, "Σ h_a");
  });

  it("stresses with and without propagation, and reprices the call", () => {
    const result = stressPortfolio({
      aggregation,
      factorKeys: keys,
      covariance,
      loadings,
      shocks: { market: -0.1 },
      propagate: true,
      holdings,
    });
    // Unpropagated: f = (−0.1, 0): market impact 20,000 · 0.75 · −0.1 = −1,500.
    expectRelative(result.unpropagated.total, -1_500, "unpropagated total");
    expect(result.unpropagated.factors[1]).toMatchObject({ factorKey: "rates", move: 0, shocked: false, impact: 0 });
    // Propagated: f_rates = Σ_rm/Σ_mm · s = 0.2 · −0.1 = −0.02
    //   → rates impact 20,000 · 0.175 · −0.02 = −70.
    const propagated = result.propagated;
    expectRelative(propagated?.moves.rates, -0.02, "f_rates");
    expectRelative(propagated?.factors[1]?.impact, -70, "rates impact");
    expectRelative(propagated?.total, -1_570, "propagated total");
    // By symbol: r_AAA = 1.2·−0.1 + 0.1·−0.02 = −0.122, D = 15,000 → −1,830;
    //   r_BBB = −0.076, D = −10,000 → 760;
    // r_CCC = −0.1, D = 5,000 → −500; Σ = −1,570.
    const symbols = bySymbol(propagated?.symbols ?? []);
    expectRelative(symbols.get("AAA")?.underlyingMove, -0.122, "r_AAA");
    expectRelative(symbols.get("AAA")?.impact, -1_830, "AAA impact");
    expectRelative(symbols.get("BBB")?.impact, 760, "BBB impact");
    expectRelative(symbols.get("CCC")?.impact, -500, "CCC impact");
    // The call: delta approximation 1 × 100 × 0.5 × 100 × −0.122 = −610; repriced
    // 100 × (BS(87.8) − BS(100)), K = 100, T = 172/365, σ = 0.3, r = 4% (scipy: 3.5392494853187877,
    // 9.092246368349926).
    const call = propagated?.options[0];
    expectRelative(call?.deltaApproximation, -610, "delta approximation");
    expectNear(call?.repriced, 100 * (3.5392494853187877 - 9.092246368349926), 600, "repriced call", 1e-13);
    expectRelative(
      propagated?.totalRepriced,
      -1_570 + 610 + 100 * (3.5392494853187877 - 9.092246368349926),
      "total repriced",
      1e-11,
    );
    expect(propagated?.optionsDeltaOnly).toEqual([]);
    expect(result.symbolsLeftOut.map((s) => s.symbol)).toEqual(["DDD", "EEE"]);
  });
});

// ---------------------------------------------------------------------------------------------
// Missing inputs

describe("computePortfolioRisk: what cannot be computed is null with a reason", () => {
  const keys = ["market"];
  const loadings = new Map<string, SymbolRiskLoadings>([["AAA", riskLoadings("AAA", keys, [1.1], [0.1], 0.0002)]]);
  const covariance = [[0.0001]];

  it("no covariance: exposures, but no variance numbers", () => {
    const aggregation = aggregate(DATE, [stock("a", "AAA", 10)], 1_000, { AAA: 100 });
    const risk = computePortfolioRisk({
      aggregation,
      factorKeys: keys,
      covariance: null,
      covarianceDetail: "41 trading days up to 2025-06-30 on which every risk factor has a return, 60 required",
      loadings,
      benchmarkSymbol: "AAA",
    });
    expect(risk.total).toBeNull();
    expect(risk.active).toBeNull();
    expect(risk.totalUnavailable).toEqual({
      reason: "no_covariance",
      detail: "41 trading days up to 2025-06-30 on which every risk factor has a return, 60 required",
    });
    expect(risk.activeUnavailable?.reason).toBe("no_covariance");
    expect(risk.dataQuality.covarianceAvailable).toBe(false);
    expectRelative(risk.exposures?.[0]?.exposure, 0.5 * 1.1, "exposure without Σ");
    // X_AAA = 1,000 / 2,000 = 0.5; against AAA itself X'_AAA = −0.5: active = −0.5 · 1.1.
    expectRelative(risk.activeExposures?.[0]?.exposure, -0.55, "active exposure without Σ");
  });

  it("equity ≤ 0: nothing weight-based", () => {
    const aggregation = aggregate(DATE, [stock("a", "AAA", -10)], 500, { AAA: 100 });
    const risk = computePortfolioRisk({ aggregation, factorKeys: keys, covariance, loadings, benchmarkSymbol: "AAA" });
    expect(aggregation.equity).toBe(-500);
    for (const block of [risk.exposures, risk.total, risk.activeExposures, risk.active]) expect(block).toBeNull();
    for (const reason of [risk.exposuresUnavailable, risk.totalUnavailable, risk.activeUnavailable])
      expect(reason?.reason).toBe("weights_unavailable");
    expect(risk.symbols[0]).toMatchObject({ symbol: "AAA", weight: null, dollarExposure: -1_000 });
    expect(JSON.stringify(risk)).not.toMatch(/NaN|Infinity/);
  });

  it("nothing covered is null, not a zero variance; a cash-only portfolio has zero risk", () => {
    const uncovered = aggregate(DATE, [stock("z", "ZZZ", 10)], 1_000, { ZZZ: 10 });
    const risk = computePortfolioRisk({ aggregation: uncovered, factorKeys: keys, covariance, loadings });
    expect(risk.total).toBeNull();
    expect(risk.totalUnavailable?.reason).toBe("no_positions_covered");
    expect(risk.exposuresUnavailable?.reason).toBe("no_positions_covered");

    const cash = aggregate(DATE, [], 1_000, {});
    const cashRisk = computePortfolioRisk({ aggregation: cash, factorKeys: keys, covariance, loadings });
    expect(cashRisk.total).toMatchObject({
      variance: 0,
      volatility: 0,
      valueAtRisk95: 0,
      sharesUnavailable: "zero_variance",
    });
    expect(cashRisk.total?.factors[0]).toMatchObject({ contribution: 0, share: null });
    expect(cashRisk.activeUnavailable).toEqual({ reason: "no_benchmark", detail: "no benchmark symbol given" });
  });

  it("a benchmark without loadings: active null with the loadings' reason", () => {
    const aggregation = aggregate(DATE, [stock("a", "AAA", 10)], 1_000, { AAA: 100 });
    const withMissing = new Map(loadings).set("SPY", missingLoadings("SPY"));
    const risk = computePortfolioRisk({
      aggregation,
      factorKeys: keys,
      covariance,
      loadings: withMissing,
      benchmarkSymbol: "SPY",
    });
    expect(risk.total).not.toBeNull();
    expect(risk.active).toBeNull();
    expect(risk.activeExposures).toBeNull();
    expect(risk.activeUnavailable?.reason).toBe("benchmark_without_loadings");
    expect(risk.activeUnavailable?.detail).toMatch(/^SPY: insufficient_data/);
    const absent = computePortfolioRisk({
      aggregation,
      factorKeys: keys,
      covariance,
      loadings,
      benchmarkSymbol: "QQQ",
    });
    expect(absent.activeUnavailable?.detail).toMatch(/^QQQ: not_computed/);
  });

  it("loadings lacking a factor key are left out as incomplete", () => {
    const aggregation = aggregate(DATE, [stock("a", "AAA", 10)], 1_000, { AAA: 100 });
    const risk = computePortfolioRisk({
      aggregation,
      factorKeys: ["market", "rates"],
      covariance: [
        [1e-4, 0],
        [0, 1e-4],
      ],
      loadings,
    });
    expect(risk.dataQuality.symbolsLeftOut).toEqual([
      { symbol: "AAA", positionIds: ["a"], reason: "loadings_incomplete", detail: "no loading for rates" },
    ]);
  });

  it("rejects a covariance of the wrong shape, non-finite, asymmetric or not positive semi-definite", () => {
    const aggregation = aggregate(DATE, [stock("a", "AAA", 10)], 1_000, { AAA: 100 });
    const run = (cov: number[][], factorKeys = keys) =>
      computePortfolioRisk({ aggregation, factorKeys, covariance: cov, loadings });
    expect(() => run([[1e-4, 0]])).toThrow(/row 0 has 2 entries/);
    expect(() => run([[Number.NaN]])).toThrow(/not finite/);
    expect(() => run([[-1e-4]])).toThrow(/negative/);
    const two = new Map(loadings).set("AAA", riskLoadings("AAA", ["market", "rates"], [1, 1], [0, 0], 0));
    const asymmetric = () =>
      computePortfolioRisk({
        aggregation,
        factorKeys: ["market", "rates"],
        covariance: [
          [1e-4, 2e-5],
          [1e-5, 1e-4],
        ],
        loadings: two,
      });
    expect(asymmetric).toThrow(/not symmetric/);
    const indefinite = () =>
      computePortfolioRisk({
        aggregation,
        factorKeys: ["market", "rates"],
        covariance: [
          [1e-4, -3e-4],
          [-3e-4, 1e-4],
        ],
        loadings: two,
      });
    expect(indefinite).toThrow(/not positive semi-definite/);
  });
});

describe("computePortfolioRisk: a singular covariance", () => {
  it("takes a factor-neutral portfolio under a rank-one Σ as V_f ≈ 0, not as an indefinite Σ", () => {
    // Σ = v vᵀ (rank one), v = (0.013, 0.0071); X_AAA b_AAA + X_BBB b_BBB ⟂ v up to rounding.
    const v = [0.013, 0.0071];
    const covariance = v.map((a) => v.map((b) => a * b));
    const keys = ["a", "b"];
    const loadings = new Map<string, SymbolRiskLoadings>([
      ["AAA", riskLoadings("AAA", keys, [1, 0], [0.1, 0.1], 1e-4)],
      ["BBB", riskLoadings("BBB", keys, [0, 1], [0.1, 0.1], 1e-4)],
    ]);
    for (const ratio of [0.0071 / 0.013, 0.546153846153846, 0.5461538461538462]) {
      const aggregation = aggregate(DATE, [stock("a", "AAA", 1_000), stock("b", "BBB", -1_000 / ratio)], 1e5, {
        AAA: 1,
        BBB: 1,
      });
      const risk = computePortfolioRisk({ aggregation, factorKeys: keys, covariance, loadings });
      expect(Math.abs(risk.total!.factorVariance)).toBeLessThan(1e-15);
      expect(risk.total!.volatility).toBeGreaterThan(0);
    }
  });
});

describe("computePortfolioRisk: lens exposure standard errors", () => {
  const keys = ["market"];
  const loadings = new Map<string, SymbolRiskLoadings>([["AAA", riskLoadings("AAA", keys, [1], [0.1], 0.0002)]]);
  const lensFactors = [factor("market_beta"), factor("value"), factor("size")];
  // X_AAA = 0.5, X_BBB = 0.3 (BBB has no risk loadings: lens numbers do not need them).
  const aggregation = aggregate(DATE, [stock("a", "AAA", 10), stock("b", "BBB", 6)], 200, { AAA: 50, BBB: 50 });
  const noError = { ...estimated("value", 0.4), standardError: null };
  const lensBetas = betaTable({ AAA: { market_beta: 1.2, value: 0.3 }, BBB: { market_beta: 0.8, value: noError } });

  it("gives sqrt(Σ (X_s se_s)²) per lens factor, null with a reason where a standard error is missing", () => {
    const risk = computePortfolioRisk({
      aggregation,
      factorKeys: keys,
      covariance: [[1e-4]],
      loadings,
      lensBetas,
      lensFactors,
    });
    const [market, value, size] = risk.lensExposures ?? [];
    // exposure = 0.5·1.2 + 0.3·0.8 = 0.84; se = sqrt((0.5·0.05)² + (0.3·0.05)²)
    expectRelative(market?.exposure, 0.84, "lens market");
    expectRelative(market?.standardError, Math.sqrt(0.025 ** 2 + 0.015 ** 2), "lens se");
    expect(market).toMatchObject({ reason: null, distinguishable: true, symbolsUsed: 2 });
    expectRelative(value?.exposure, 0.5 * 0.3 + 0.3 * 0.4, "lens value");
    expect(value).toMatchObject({ standardError: null, reason: "standard_error_not_computed", distinguishable: null });
    expect(value?.detail).toMatch(/BBB/);
    expect(size).toMatchObject({ exposure: null, standardError: null, reason: "no_beta" });
  });

  it("is null when not asked for", () => {
    const risk = computePortfolioRisk({ aggregation, factorKeys: keys, covariance: [[1e-4]], loadings });
    expect(risk.lensExposures).toBeNull();
    expect(risk.lensExposuresUnavailable?.reason).toBe("not_requested");
  });
});

// ---------------------------------------------------------------------------------------------
// Identities over random portfolios

const KEYS = ["f0", "f1", "f2", "f3", "f4"];
// Magnitudes below 1e-10 are 0: subnormal variances only test the floating-point unit's subnormals.
const unit = (min: number, max: number) =>
  fc.double({ min, max, noNaN: true, noDefaultInfinity: true }).map((x) => (Math.abs(x) < 1e-10 ? 0 : x));

const randomCase = fc.integer({ min: 1, max: 5 }).chain((K) =>
  fc.record({
    keys: fc.constant(KEYS.slice(0, K)),
    a: fc.array(fc.array(unit(-0.02, 0.02), { minLength: K, maxLength: K }), { minLength: K, maxLength: K }),
    diagonal: fc.array(unit(1e-6, 1e-4), { minLength: K, maxLength: K }),
    symbols: fc.array(
      fc.record({
        b: fc.array(unit(-2, 2), { minLength: K, maxLength: K }),
        se: fc.array(unit(0, 0.2), { minLength: K, maxLength: K }),
        s2: unit(0, 1e-3),
        close: unit(1, 1_000),
      }),
      { minLength: 1, maxLength: 6 },
    ),
    positions: fc.array(
      fc.record({
        symbol: fc.nat(),
        kind: fc.constantFrom("stock", "call", "put"),
        quantity: fc.integer({ min: -1_000, max: 1_000 }),
        delta: unit(0, 1),
        impliedVol: fc.option(unit(0.05, 1), { nil: null }),
        premium: fc.option(unit(0, 50), { nil: null }),
      }),
      { minLength: 1, maxLength: 12 },
    ),
    cash: unit(1_000, 1e7),
    benchmark: fc.nat(),
  }),
);
type RandomCase = typeof randomCase extends fc.Arbitrary<infer T> ? T : never;

function build(c: RandomCase) {
  const K = c.keys.length;
  const covariance = Array.from({ length: K }, (_, i) =>
    Array.from({ length: K }, (_, j) => sumOf(c.a[i]!.map((v, k) => v * c.a[j]![k]!)) + (i === j ? c.diagonal[i]! : 0)),
  );
  const names = c.symbols.map((_, i) => `U${i}`);
  const loadings = new Map<string, SymbolRiskLoadings>(
    c.symbols.map((s, i) => [names[i]!, riskLoadings(names[i]!, c.keys, s.b, s.se, s.s2)]),
  );
  const holdings: HoldingInput[] = c.positions.map((p, i) => {
    const symbol = names[p.symbol % names.length]!;
    if (p.kind === "stock") return stock(`p${i}`, symbol, p.quantity);
    return {
      id: `p${i}`,
      symbol: `${symbol}-${p.kind}-${i}`,
      instrument: "option",
      quantity: p.quantity,
      underlyingSymbol: symbol,
      optionType: p.kind,
      strike: c.symbols[p.symbol % names.length]!.close,
      expiry: "2025-12-19",
      delta: p.kind === "call" ? p.delta : -p.delta,
      impliedVol: p.impliedVol,
      premium: p.premium,
    };
  });
  const closes = Object.fromEntries(c.symbols.map((s, i) => [names[i]!, s.close]));
  const aggregation = aggregate(DATE, holdings, c.cash, closes);
  return { covariance, loadings, holdings, aggregation, names, benchmark: names[c.benchmark % names.length]! };
}

/** V and its parts computed independently of the module: X_s from the holdings, bᵀΣb by a double loop. */
function independent(
  aggregation: PortfolioAggregation,
  keys: readonly string[],
  covariance: number[][],
  loadings: ReadonlyMap<string, SymbolRiskLoadings>,
  benchmark: string | null,
) {
  const X = new Map<string, number>();
  for (const p of aggregation.positions)
    if (p.status === "valued")
      X.set(p.betaSymbol, (X.get(p.betaSymbol) ?? 0) + (p.marketValue! / aggregation.equity) * p.delta!);
  if (benchmark !== null) X.set(benchmark, (X.get(benchmark) ?? 0) - 1);
  const K = keys.length;
  const b = new Array<number>(K).fill(0);
  const absB = new Array<number>(K).fill(0); // Σ_s |X_s b_s,k|: the rounding scale of b_k
  let specific = 0;
  for (const [symbol, x] of X) {
    const l = loadings.get(symbol) as EstimatedRiskLoadings;
    keys.forEach((key, k) => {
      b[k]! += x * l.loadings[key]!;
      absB[k]! += Math.abs(x * l.loadings[key]!);
    });
    specific += x * x * l.residualVariance;
  }
  let factor = 0;
  // The rounding scale of every quantity built from the X_s: |B|ᵀ|Σ||B| + V_s with |B| = Σ_s |X_s b_s|
  // (b, Σb, c_k and each X_s b_sᵀΣb are sums whose terms are bounded by it), so cancellation in b
  // (a hedged or active portfolio) does not make the check depend on the order of the sums.
  let scale = 0;
  for (let i = 0; i < K; i++)
    for (let j = 0; j < K; j++) {
      factor += b[i]! * covariance[i]![j]! * b[j]!;
      scale += absB[i]! * Math.abs(covariance[i]![j]!) * absB[j]!;
    }
  return { factor, specific, variance: factor + specific, scale: scale + specific, b, absB };
}

function checkDecomposition(d: VarianceDecomposition, expected: ReturnType<typeof independent>, label: string) {
  expectNear(d.factorVariance, expected.factor, expected.scale, `${label} V_f`);
  expectNear(sumOf(d.factors.map((f) => f.contribution)), d.factorVariance, expected.scale, `${label} Σ c_k = V_f`);
  expectNear(d.specificVariance, expected.specific, expected.scale, `${label} V_s`);
  expectNear(d.variance, expected.variance, expected.scale, `${label} V`);
  expectNear(sumOf(d.holdings.map((h) => h.contribution)), d.variance, expected.scale, `${label} Σ h_s = V`);
  expectNear(
    sumOf(d.holdings.map((h) => h.factorPart)),
    d.factorVariance,
    expected.scale,
    `${label} Σ factor parts = V_f`,
  );
}

describe("identities over random portfolios (fast-check)", () => {
  it("Σ_k c_k = V_f and Σ_s h_s = V, for the total and the active risk", () => {
    fc.assert(
      fc.property(randomCase, (c) => {
        const { covariance, loadings, aggregation, benchmark } = build(c);
        const risk = computePortfolioRisk({
          aggregation,
          factorKeys: c.keys,
          covariance,
          loadings,
          benchmarkSymbol: benchmark,
        });
        expect(JSON.stringify(risk)).not.toMatch(/NaN|Infinity/);
        if (!aggregation.weightsAvailable) {
          expect(risk.total).toBeNull();
          expect(risk.totalUnavailable?.reason).toBe("weights_unavailable");
          return;
        }
        const total = independent(aggregation, c.keys, covariance, loadings, null);
        checkDecomposition(risk.total!, total, "total");
        const active = independent(aggregation, c.keys, covariance, loadings, benchmark);
        checkDecomposition(risk.active!, active, "active");
        c.keys.forEach((key, k) => {
          const e = risk.activeExposures![k]!;
          const scale = total.absB[k]! + active.absB[k]! + Math.abs(e.benchmark);
          expectNear(e.exposure, e.portfolio - e.benchmark, scale, "b_a = b_p − b_B");
          expectNear(risk.exposures![k]!.exposure, total.b[k]!, total.absB[k]!, `b_p ${key}`);
        });
        if (risk.total!.variance > 0)
          expectRelative(risk.total!.volatility, Math.sqrt(252 * risk.total!.variance), "σ");
      }),
      { numRuns: 300 },
    );
  });

  it("a portfolio that is exactly its benchmark has zero tracking error", () => {
    fc.assert(
      fc.property(randomCase, fc.integer({ min: 1, max: 100_000 }), (c, quantity) => {
        const { covariance, loadings, names } = build(c);
        const aggregation = aggregate(DATE, [stock("only", names[0]!, quantity)], 0, {
          [names[0]!]: c.symbols[0]!.close,
        });
        const risk = computePortfolioRisk({
          aggregation,
          factorKeys: c.keys,
          covariance,
          loadings,
          benchmarkSymbol: names[0]!,
        });
        expect(risk.active).toMatchObject({ variance: 0, trackingError: 0, trackingErrorDollar: 0 });
        expect(risk.active?.sharesUnavailable).toBe("zero_variance");
        for (const e of risk.activeExposures ?? []) expect(e.exposure).toBe(0);
        expect(risk.active?.holdings).toHaveLength(1);
      }),
      { numRuns: 100 },
    );
  });

  it("shocking every factor, propagated equals unpropagated equals equity · b_pᵀs", () => {
    fc.assert(
      fc.property(randomCase, fc.array(unit(-0.3, 0.3), { minLength: 5, maxLength: 5 }), (c, values) => {
        const { covariance, loadings, aggregation, holdings } = build(c);
        const shocks = Object.fromEntries(c.keys.map((key, k) => [key, values[k]!]));
        const stress = stressPortfolio({
          aggregation,
          factorKeys: c.keys,
          covariance,
          loadings,
          shocks,
          propagate: true,
          holdings,
        });
        expect(stress.propagated?.total).toBe(stress.unpropagated.total);
        expect(stress.propagated?.moves).toEqual(stress.unpropagated.moves);
        const symbolSum = sumOf(stress.unpropagated.symbols.map((s) => s.impact));
        // Rounding scale: Σ_s |D_s| Σ_k |b_s,k s_k| (a symbol's own move b_sᵀs may cancel).
        const scale =
          sumOf(
            stress.unpropagated.symbols.map((s) => {
              const l = loadings.get(s.symbol) as EstimatedRiskLoadings;
              return (
                Math.abs(s.dollarExposure) * sumOf(c.keys.map((key, k) => Math.abs(l.loadings[key]! * values[k]!)))
              );
            }),
          ) + 1e-300;
        expectNear(symbolSum, stress.unpropagated.total, scale, "Σ symbol impacts = Σ factor impacts");
        if (!aggregation.weightsAvailable) return;
        const risk = computePortfolioRisk({ aggregation, factorKeys: c.keys, covariance, loadings });
        const expected = aggregation.equity * sumOf(risk.exposures!.map((e, k) => e.exposure * values[k]!));
        expectNear(stress.unpropagated.total, expected, scale, "equity · b_pᵀs");
      }),
      { numRuns: 200 },
    );
  });

  it("a single shocked factor moves the others by Σ_kj / Σ_jj × s_j", () => {
    fc.assert(
      fc.property(randomCase, fc.nat(), unit(-0.3, 0.3), (c, pick, shock) => {
        const { covariance } = build(c);
        const j = pick % c.keys.length;
        const { moves, shocked } = propagateShocks(covariance, c.keys, { [c.keys[j]!]: shock });
        expect(shocked).toEqual([c.keys[j]]);
        c.keys.forEach((key, k) => {
          const expected = k === j ? shock : (covariance[k]![j]! / covariance[j]![j]!) * shock;
          expectNear(moves[key], expected, Math.abs(expected) + 1e-300, `move of ${key}`, 1e-13);
        });
      }),
    );
  });

  it("attribution components add up to the P&L, day by day and over the range", () => {
    const keys = ["m", "r", "s"];
    const record = fc.record({ m: unit(-3, 3), r: unit(-3, 3), s: unit(-3, 3) });
    const day = fc.record({
      pnl: fc.option(unit(-1e6, 1e6), { nil: null, freq: 8 }),
      // Equity ≤ 0 is a missing day; a positive one is at least 1 (a subnormal equity overflows the returns).
      equityPrevious: fc.option(fc.oneof(unit(1, 1e8), fc.constant(0), unit(-1e5, -1)), { nil: null, freq: 8 }),
      exposuresPrevious: fc.option(record, { nil: null, freq: 8 }),
      factorReturns: fc.option(
        record.map((r) => ({ m: r.m / 50, r: r.r / 50, s: r.s / 50 })),
        { nil: null, freq: 8 },
      ),
    });
    fc.assert(
      fc.property(fc.array(day, { maxLength: 40 }), (raw) => {
        const days: AttributionDay[] = raw.map((d, i) => ({
          ...d,
          date: new Date(Date.UTC(2025, 0, 2 + i)).toISOString().slice(0, 10),
        }));
        const result = computeAttribution(days);
        let pnl = 0;
        let scale = 0;
        let returnScale = 0;
        let count = 0;
        for (const [i, d] of result.days.entries()) {
          const input = days[i]!;
          const complete =
            input.pnl !== null &&
            input.equityPrevious !== null &&
            input.equityPrevious > 0 &&
            input.exposuresPrevious !== null &&
            input.factorReturns !== null;
          expect(d.status).toBe(complete ? "attributed" : "missing");
          if (d.status === "missing") {
            expect(d.reason).not.toBeNull();
            expect(d.factorPnl).toBeNull();
            continue;
          }
          count++;
          pnl += d.pnl!;
          const parts = [...Object.values(d.factorPnl!), d.specificPnl!];
          const dayScale = Math.abs(d.pnl!) + sumOf(Object.values(d.factorPnl!).map(Math.abs));
          scale += dayScale;
          returnScale += dayScale / input.equityPrevious!;
          expectNear(sumOf(parts), d.pnl!, dayScale, "daily parts = P&L");
          const returnParts = [...Object.values(d.factorReturn!), d.specificReturn!];
          expectNear(sumOf(returnParts), d.totalReturn!, dayScale / input.equityPrevious!, "daily return parts");
          keys.forEach((key) => {
            const expected = input.equityPrevious! * input.exposuresPrevious![key]! * input.factorReturns![key]!;
            expectNear(d.factorPnl![key], expected, Math.abs(expected), `factor P&L of ${key}`);
          });
          expectNear(d.cumulative.pnl, pnl, scale, "cumulative P&L");
        }
        expect(result.total.days).toBe(count);
        expect(result.daysAttributed + result.daysMissing).toBe(days.length);
        expectNear(result.total.pnl, pnl, scale, "total P&L");
        const totalParts = sumOf(Object.values(result.total.factorPnl)) + result.total.specificPnl;
        expectNear(totalParts, result.total.pnl, scale, "range parts = P&L");
        const returnParts = sumOf(Object.values(result.total.factorReturn)) + result.total.specificReturn;
        expectNear(returnParts, result.total.totalReturn, returnScale, "range return parts = return");
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Attribution details

describe("computeAttribution", () => {
  it("lists a day with a missing input with its reason and leaves it out of the sums", () => {
    const f = { market: 0.01, rates: -0.002 };
    const b = { market: 1.1, rates: 0.2 };
    const result = computeAttribution([
      { date: "2025-06-02", pnl: 1_200, equityPrevious: 100_000, exposuresPrevious: b, factorReturns: f },
      { date: "2025-06-03", pnl: null, equityPrevious: 101_200, exposuresPrevious: b, factorReturns: f },
      { date: "2025-06-04", pnl: 500, equityPrevious: 101_200, exposuresPrevious: b, factorReturns: { market: 0.004 } },
      { date: "2025-06-05", pnl: 500, equityPrevious: 0, exposuresPrevious: b, factorReturns: f },
      { date: "2025-06-06", pnl: -300, equityPrevious: 101_700, exposuresPrevious: null, factorReturns: f },
      { date: "2025-06-09", pnl: -800, equityPrevious: 101_400, exposuresPrevious: b, factorReturns: f },
    ]);
    expect(result.factorKeys).toEqual(["market", "rates"]);
    expect(result.days.map((d) => d.reason)).toEqual([
      null,
      "pnl_missing",
      "factor_returns_missing",
      "equity_previous_not_positive",
      "exposures_missing",
      null,
    ]);
    expect(result.days[2]?.detail).toBe("no return of rates");
    // Day 1: market 100,000 · 1.1 · 0.01 = 1,100; rates 100,000 · 0.2 · −0.002 = −40;
    //   specific 1,200 − 1,060 = 140.
    expectRelative(result.days[0]?.factorPnl?.market, 1_100, "market P&L");
    expectRelative(result.days[0]?.factorPnl?.rates, -40, "rates P&L");
    expectRelative(result.days[0]?.specificPnl, 140, "specific");
    expectRelative(result.days[0]?.specificReturn, 140 / 100_000, "specific return");
    // Last day: market 101,400 · 0.011 = 1,115.4; rates 101,400 · −0.0004 = −40.56; specific −800 − 1,074.84.
    expectRelative(result.days[5]?.specificPnl, -800 - 1_074.84, "specific, last day");
    expect(result.total.days).toBe(2);
    expectRelative(result.total.pnl, 400, "total P&L");
    expectRelative(result.total.factorPnl.market, 1_100 + 1_115.4, "total market");
    expectRelative(result.total.specificPnl, 140 - 1_874.84, "total specific");
    expectRelative(result.total.totalReturn, 1_200 / 100_000 - 800 / 101_400, "total return");
    // A missing day carries the cumulative sums unchanged.
    expect(result.days[3]?.cumulative).toEqual(result.days[0]?.cumulative);
    expect(result.daysMissing).toBe(4);
  });

  it("rejects unordered dates, non-finite numbers and exposures outside the given keys", () => {
    const day = (date: string): AttributionDay => ({
      date,
      pnl: 1,
      equityPrevious: 1,
      exposuresPrevious: { m: 1 },
      factorReturns: { m: 0 },
    });
    expect(() => computeAttribution([day("2025-06-03"), day("2025-06-02")])).toThrow(/ascend/);
    expect(() => computeAttribution([{ ...day("2025-06-02"), pnl: Number.NaN }])).toThrow(/finite/);
    expect(() => computeAttribution([day("2025-06-02")], ["r"])).toThrow(/not a factor of the list/);
    expect(computeAttribution([]).total).toMatchObject({ days: 0, pnl: 0 });
  });
});

// ---------------------------------------------------------------------------------------------
// Stress details

describe("propagateShocks and stressPortfolio", () => {
  const keys = ["a", "b", "c"];
  // a and b perfectly correlated: Σ_SS of {a, b} is singular.
  const singular = [
    [1e-4, 1e-4, 5e-5],
    [1e-4, 1e-4, 5e-5],
    [5e-5, 5e-5, 1e-4],
  ];

  it("solves the conditional mean for several shocked factors", () => {
    const sigma = [
      [4e-4, 1e-4, 5e-5],
      [1e-4, 2e-4, -3e-5],
      [5e-5, -3e-5, 1e-4],
    ];
    const { moves } = propagateShocks(sigma, keys, { a: -0.1, c: 0.02 });
    // Σ_SS = [[4e-4, 5e-5], [5e-5, 1e-4]], det = 4e-8 − 2.5e-9 = 3.75e-8;
    // w = Σ_SS⁻¹ s = [1e-4·−0.1 − 5e-5·0.02, −5e-5·−0.1 + 4e-4·0.02] / det
    //   = [−1.1e-5, 1.3e-5] / 3.75e-8
    // f_b = Σ_bS w = (1e-4·−1.1e-5 − 3e-5·1.3e-5) / 3.75e-8 = −1.49e-9 / 3.75e-8 = −0.039733…
    expect(moves.a).toBe(-0.1);
    expect(moves.c).toBe(0.02);
    expectRelative(moves.b, -1.49e-9 / 3.75e-8, "f_b", 1e-13);
  });

  it("reports a singular Σ_SS clearly, and the stress keeps the unpropagated side", () => {
    expect(() => propagateShocks(singular, keys, { a: -0.1, b: -0.1 })).toThrow(ShockPropagationError);
    expect(() => propagateShocks(singular, keys, { a: -0.1, b: -0.1 })).toThrow(
      /b is \(nearly\) a linear combination of a/,
    );
    expect(() =>
      propagateShocks(
        [
          [0, 0],
          [0, 1e-4],
        ],
        ["x", "y"],
        { x: 0.1 },
      ),
    ).toThrow(/has no variance/);
    expect(() => propagateShocks(singular, keys, { z: 0.1 })).toThrow(/unknown risk factor key: z/);
    expect(() => propagateShocks(singular, keys, {})).toThrow(/at least one/);
    expect(() => propagateShocks(singular, keys, { a: Number.NaN })).toThrow(/finite/);

    const loadings = new Map<string, SymbolRiskLoadings>([
      ["AAA", riskLoadings("AAA", keys, [1, 0.5, 0.2], [0.1, 0.1, 0.1], 1e-4)],
    ]);
    const aggregation = aggregate(DATE, [stock("a", "AAA", 10)], 0, { AAA: 100 });
    const stress = stressPortfolio({
      aggregation,
      factorKeys: keys,
      covariance: singular,
      loadings,
      shocks: { a: -0.1, b: -0.1 },
      propagate: true,
      holdings: [],
    });
    expect(stress.propagated).toBeNull();
    expect(stress.propagatedUnavailable?.reason).toBe("singular_shocked_covariance");
    expectRelative(stress.unpropagated.total, 1_000 * (1 * -0.1 + 0.5 * -0.1), "unpropagated");
    const off = stressPortfolio({
      aggregation,
      factorKeys: keys,
      covariance: null,
      loadings,
      shocks: { a: -0.1 },
      propagate: false,
      holdings: [],
    });
    expect(off.propagatedUnavailable?.reason).toBe("not_requested");
  });

  it("flags options without implied volatility (delta only) and reprices the others", () => {
    const k = ["market"];
    const loadings = new Map<string, SymbolRiskLoadings>([["AAA", riskLoadings("AAA", k, [1.5], [0.1], 1e-4)]]);
    const option = (
      id: string,
      type: "call" | "put",
      impliedVol: number | null,
      delta: number | null,
    ): HoldingInput => ({
      id,
      symbol: `AAA-${id}`,
      instrument: "option",
      quantity: 2,
      underlyingSymbol: "AAA",
      optionType: type,
      strike: 100,
      expiry: "2025-09-19",
      multiplier: 100,
      impliedVol,
      delta,
    });
    const holdings = [option("iv", "put", 0.25, null), option("given", "call", null, 0.6)];
    const aggregation = aggregate(DATE, holdings, 50_000, { AAA: 100 });
    const stress = stressPortfolio({
      aggregation,
      factorKeys: k,
      covariance: [[1e-4]],
      loadings,
      shocks: { market: -0.2 },
      propagate: false,
      holdings,
    });
    const [put, call] = stress.unpropagated.options;
    // r_AAA = 1.5 · −0.2 = −0.3: S = 100 → 70.
    const years = yearFraction(DATE, "2025-09-19");
    const base = { optionType: "put" as const, strike: 100, years, volatility: 0.25, riskFreeRate: 0.04 };
    const delta = blackScholesDelta({ ...base, spot: 100 });
    expectRelative(put?.delta, delta, "Black–Scholes delta");
    expectRelative(put?.deltaApproximation, 200 * delta * 100 * -0.3, "put delta approximation");
    expectRelative(
      put?.repriced,
      200 * (blackScholesPrice({ ...base, spot: 70 }) - blackScholesPrice({ ...base, spot: 100 })),
      "put repriced",
    );
    // Long puts gain more than delta says when the underlying falls (convexity).
    expect(put!.repriced!).toBeGreaterThan(put!.deltaApproximation);
    expect(call).toMatchObject({ repriced: null, repricedReason: "no_implied_volatility" });
    expect(stress.unpropagated.optionsDeltaOnly).toEqual(["given"]);
    const symbolImpact = stress.unpropagated.symbols[0]!.impact;
    const deltaSum = put!.deltaApproximation + call!.deltaApproximation;
    expectRelative(symbolImpact, deltaSum, "symbol = Σ delta approximations");
    expectRelative(
      stress.unpropagated.totalRepriced,
      stress.unpropagated.total - put!.deltaApproximation + put!.repriced!,
      "total repriced",
    );
  });
});

describe("blackScholesPrice", () => {
  it("matches textbook values and put–call parity", () => {
    // S = K = 100, T = 1, r = 5%, σ = 20%: 10.450583572185565 and 5.573526022256971 (scipy).
    const input = { spot: 100, strike: 100, years: 1, volatility: 0.2, riskFreeRate: 0.05 };
    expectRelative(blackScholesPrice({ ...input, optionType: "call" }), 10.450583572185565, "call", 1e-14);
    expectRelative(blackScholesPrice({ ...input, optionType: "put" }), 5.573526022256971, "put", 1e-14);
    // A deep out-of-the-money put keeps its digits: 7.292227063033493e-06 (scipy).
    const far = { ...input, strike: 40, years: 172 / 365, volatility: 0.3, riskFreeRate: 0.04 };
    expectRelative(blackScholesPrice({ ...far, spot: 100, optionType: "put" }), 7.292227063033493e-6, "far put", 1e-11);
    fc.assert(
      fc.property(unit(1, 500), unit(1, 500), unit(0, 3), unit(0, 2), unit(-0.05, 0.1), (S, K, T, v, r) => {
        const p = { spot: S, strike: K, years: T, volatility: v, riskFreeRate: r };
        const call = blackScholesPrice({ ...p, optionType: "call" });
        const put = blackScholesPrice({ ...p, optionType: "put" });
        expect(call).toBeGreaterThanOrEqual(0);
        expect(put).toBeGreaterThanOrEqual(0);
        expectNear(call - put, S - K * Math.exp(-r * T), S + K, "parity", 1e-13);
      }),
    );
  });

  it("is the discounted intrinsic value at σ√T = 0", () => {
    const p = { strike: 100, years: 0, volatility: 0.3, riskFreeRate: 0.04 };
    expect(blackScholesPrice({ ...p, spot: 110, optionType: "call" })).toBe(10);
    expect(blackScholesPrice({ ...p, spot: 90, optionType: "call" })).toBe(0);
    expect(blackScholesPrice({ ...p, spot: 90, optionType: "put" })).toBe(10);
  });
});

// ---------------------------------------------------------------------------------------------
// Historical replay

describe("historicalShocks and worstStretch", () => {
  const dates = ["2025-06-02", "2025-06-03", "2025-06-04", "2025-06-05", "2025-06-06", "2025-06-09"];
  const returns = {
    market: [0.01, -0.02, null, -0.03, 0.005, -0.01],
    rates: [0.002, Number.NaN, 0.001, 0.003, -0.004, 0.0],
  };

  it("sums each factor's returns over (from, to] and reports the missing days", () => {
    const episode = historicalShocks(dates, returns, "2025-06-02", "2025-06-05");
    expect(episode).toMatchObject({ days: 3, firstDate: "2025-06-03", lastDate: "2025-06-05", reason: null });
    expectRelative(episode.shocks.market, -0.05, "market");
    expectRelative(episode.shocks.rates, 0.004, "rates");
    expect(episode.factors).toEqual([
      { factorKey: "market", shock: episode.shocks.market, daysUsed: 2, missingDates: ["2025-06-04"] },
      { factorKey: "rates", shock: episode.shocks.rates, daysUsed: 2, missingDates: ["2025-06-03"] },
    ]);
    const empty = historicalShocks(dates, returns, "2025-06-10", "2025-06-20");
    expect(empty).toMatchObject({ days: 0, shocks: {}, reason: "no_days" });
    expect(empty.factors[0]?.shock).toBeNull();
    expect(() => historicalShocks(dates, returns, "2025-06-05", "2025-06-05")).toThrow(/from < to/);
    expect(() => historicalShocks(dates, { market: [0.1] }, "2025-06-01", "2025-06-05")).toThrow(/1 values for 6/);
  });

  it("finds the window of consecutive stored days with the lowest sum", () => {
    const worst = worstStretch(dates, returns.market, 2);
    // Stored days: 06-02 .01, 06-03 −.02, 06-05 −.03, 06-06 .005, 06-09 −.01;
    //   worst pair: 06-03 + 06-05 = −0.05.
    expect(worst).toMatchObject({ firstDate: "2025-06-03", lastDate: "2025-06-05", to: "2025-06-05", days: 2 });
    expect(worst?.from).toBe("2025-06-02");
    expectRelative(worst?.sum, -0.05, "sum");
    // Replaying it gives the same move for that factor.
    const replay = historicalShocks(dates, returns, worst!.from, worst!.to);
    expectRelative(replay.shocks.market, worst!.sum, "replayed");
    expect(worstStretch(dates, returns.market, 6)).toBeNull();
    expect(worstStretch(dates, returns.market)).toBeNull(); // 20 by default
    expect(() => worstStretch(dates, returns.market, 0)).toThrow(/length/);
  });

  it("matches a brute-force search (fast-check)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(unit(-0.05, 0.05), { nil: null, freq: 5 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 25 }),
        (series, length) => {
          const ds = series.map((_, i) => new Date(Date.UTC(2024, 0, 1 + i)).toISOString().slice(0, 10));
          const stored = series.flatMap((v, i) => (v === null ? [] : [i]));
          const result = worstStretch(ds, series, length);
          if (stored.length < length) {
            expect(result).toBeNull();
            return;
          }
          let best = Number.POSITIVE_INFINITY;
          for (let s = 0; s + length <= stored.length; s++) {
            best = Math.min(best, sumOf(stored.slice(s, s + length).map((i) => series[i]!)));
          }
          expect(result?.sum).toBe(best);
          expect(result?.days).toBe(length);
        },
      ),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The numpy reference

interface FixtureLoadings {
  loadings: number[];
  standardErrors: number[];
  residualVariance: number;
}
interface Decomposition {
  variance: number;
  factorVariance: number;
  specificVariance: number;
  exposures: Record<string, number>;
  factorContributions: Record<string, number>;
  holdingContributions: Record<string, number>;
  marginal: Record<string, number>;
  weights: Record<string, number>;
}
interface Fixture {
  factorKeys: string[];
  benchmarkSymbol: string;
  cash: number;
  holdings: HoldingInput[];
  dates: {
    date: string;
    closes: Record<string, number>;
    covariance: number[][];
    loadings: Record<string, FixtureLoadings>;
    factorReturns: Record<string, number> | null;
    pnl: number | null;
  }[];
  expected: {
    dates: {
      date: string;
      equity: number;
      total: Decomposition & {
        standardErrors: Record<string, number>;
        volatility: number;
        valueAtRisk95: number;
        valueAtRisk99: number;
      };
      active: Decomposition & { trackingError: number };
    }[];
    attribution: (
      | { date: string; attributed: false }
      | {
          date: string;
          attributed: true;
          pnl: number;
          factorPnl: Record<string, number>;
          specificPnl: number;
          totalReturn: number;
          factorReturn: Record<string, number>;
          specificReturn: number;
          cumulative: {
            pnl: number;
            factorPnl: Record<string, number>;
            specificPnl: number;
            totalReturn: number;
            factorReturn: Record<string, number>;
            specificReturn: number;
          };
        }
    )[];
  };
}

/**
 * Every entry of a group to 1e-12 relative, with entries near zero held to 1e-12 of the group's
 * largest magnitude: |a − e| ≤ 1e-12 · max(|e|, largest |e| of the group).
 */
function expectGroup(
  label: string,
  actual: Record<string, number | null | undefined>,
  expected: Record<string, number>,
) {
  expect(Object.keys(actual).sort(), label).toEqual(Object.keys(expected).sort());
  const largest = Math.max(...Object.values(expected).map(Math.abs));
  for (const [key, e] of Object.entries(expected))
    expectNear(actual[key], e, Math.max(Math.abs(e), largest), `${label} ${key}`);
}

describe("the numpy reference (scripts/portfolio-risk-fixtures.py)", () => {
  const fixture = JSON.parse(
    readFileSync(new URL("./fixtures/portfolio-risk-reference.json", import.meta.url), "utf8"),
  ) as Fixture;
  const keys = fixture.factorKeys;
  const symbolsEver = new Set(fixture.dates.flatMap((d) => Object.keys(d.closes)));

  const results = fixture.dates.map((day) => {
    const aggregation = aggregate(day.date, fixture.holdings, fixture.cash, day.closes);
    const loadings = new Map<string, SymbolRiskLoadings>();
    for (const symbol of symbolsEver) {
      const l = day.loadings[symbol];
      if (l)
        loadings.set(symbol, riskLoadings(symbol, keys, l.loadings, l.standardErrors, l.residualVariance, day.date));
      else if (symbol === "S05") loadings.set(symbol, missingLoadings(symbol, day.date));
      // NOLD: no record at all (not_computed).
    }
    const risk = computePortfolioRisk({
      aggregation,
      factorKeys: keys,
      covariance: day.covariance,
      loadings,
      benchmarkSymbol: fixture.benchmarkSymbol,
    });
    return { aggregation, risk };
  });

  it("holds 50 positions over 20 dates, options sharing underlyings, with left-out symbols reported", () => {
    expect(fixture.holdings).toHaveLength(50);
    expect(fixture.dates).toHaveLength(20);
    expect(fixture.holdings.filter((h) => h.instrument === "option")).toHaveLength(8);
    const left = results.map((r) => r.risk.dataQuality.symbolsLeftOut.map((s) => `${s.symbol}:${s.reason}`));
    expect(left[0]).toEqual(["NOLD:not_computed"]);
    expect(left[3]).toEqual(["NOLD:not_computed", "S05:insufficient_data"]);
  });

  it("matches volatility, VaR, exposures and their standard errors, and the contributions", () => {
    fixture.expected.dates.forEach((expected, t) => {
      const { aggregation, risk } = results[t]!;
      const label = expected.date;
      expectRelative(aggregation.equity, expected.equity, `${label} equity`);
      const total = risk.total!;
      const e = expected.total;
      for (const name of [
        "variance",
        "factorVariance",
        "specificVariance",
        "volatility",
        "valueAtRisk95",
        "valueAtRisk99",
      ] as const)
        expectRelative(total[name], e[name], `${label} ${name}`);
      expectRelative(total.valueAtRisk95 / total.valueAtRisk99, VAR_Z_95 / VAR_Z_99, `${label} VaR ratio`);
      const exposures = Object.fromEntries(risk.exposures!.map((x) => [x.factorKey, x.exposure]));
      const errors = Object.fromEntries(risk.exposures!.map((x) => [x.factorKey, x.standardError]));
      expectGroup(`${label} exposures`, exposures, e.exposures);
      expectGroup(`${label} standard errors`, errors, e.standardErrors);
      const weights = Object.fromEntries(risk.symbols.map((s) => [s.symbol, s.weight]));
      expectGroup(`${label} weights`, weights, e.weights);
      checkAgainst(label, total, e);

      const active = risk.active!;
      const a = expected.active;
      for (const name of ["variance", "factorVariance", "specificVariance"] as const)
        expectRelative(active[name], a[name], `${label} active ${name}`);
      expectRelative(active.trackingError, a.trackingError, `${label} tracking error`);
      expectGroup(
        `${label} active exposures`,
        Object.fromEntries(risk.activeExposures!.map((x) => [x.factorKey, x.exposure])),
        a.exposures,
      );
      expectGroup(
        `${label} active weights`,
        Object.fromEntries(active.holdings.map((h) => [h.symbol, h.weight])),
        a.weights,
      );
      checkAgainst(`${label} active`, active, a);
    });
  });

  it("matches the attribution, daily and cumulative", () => {
    const days: AttributionDay[] = fixture.dates.slice(1).map((day, i) => {
      const previous = results[i]!;
      return {
        date: day.date,
        pnl: day.pnl,
        equityPrevious: previous.aggregation.equity,
        exposuresPrevious: Object.fromEntries(previous.risk.exposures!.map((x) => [x.factorKey, x.exposure])),
        factorReturns: day.factorReturns,
      };
    });
    const result = computeAttribution(days, keys);
    expect(result.days.map((d) => d.status === "attributed")).toEqual(
      fixture.expected.attribution.map((a) => a.attributed),
    );
    expect(result.days.filter((d) => d.status === "missing").map((d) => d.reason)).toEqual([
      "factor_returns_missing",
      "factor_returns_missing",
    ]);
    fixture.expected.attribution.forEach((expected, i) => {
      if (!expected.attributed) return;
      const day = result.days[i]!;
      const label = expected.date;
      expectGroup(
        `${label} P&L`,
        { ...day.factorPnl!, pnl: day.pnl, specific: day.specificPnl },
        { ...expected.factorPnl, pnl: expected.pnl, specific: expected.specificPnl },
      );
      expectGroup(
        `${label} returns`,
        { ...day.factorReturn!, total: day.totalReturn, specific: day.specificReturn },
        { ...expected.factorReturn, total: expected.totalReturn, specific: expected.specificReturn },
      );
      const c = day.cumulative;
      const ec = expected.cumulative;
      expectGroup(
        `${label} cumulative P&L`,
        { ...c.factorPnl, pnl: c.pnl, specific: c.specificPnl },
        { ...ec.factorPnl, pnl: ec.pnl, specific: ec.specificPnl },
      );
      expectGroup(
        `${label} cumulative returns`,
        { ...c.factorReturn, total: c.totalReturn, specific: c.specificReturn },
        { ...ec.factorReturn, total: ec.totalReturn, specific: ec.specificReturn },
      );
    });
  });
});

function checkAgainst(label: string, d: VarianceDecomposition, e: Decomposition) {
  expectGroup(
    `${label} factor contributions`,
    Object.fromEntries(d.factors.map((f) => [f.factorKey, f.contribution])),
    e.factorContributions,
  );
  expectGroup(
    `${label} holding contributions`,
    Object.fromEntries(d.holdings.map((h) => [h.symbol, h.contribution])),
    e.holdingContributions,
  );
  expectGroup(`${label} marginal`, Object.fromEntries(d.holdings.map((h) => [h.symbol, h.marginal])), e.marginal);
}
