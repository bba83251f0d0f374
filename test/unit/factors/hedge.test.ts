// Suggested hedges (worker/factors/hedge.ts, docs/design.md §11 "Hedge"): the closed form
// against an independent minimizer of the objective written term by term from the definition;
// a portfolio that is a combination of the instruments hedged down to its specific risk; the
// penalty's effect (no trades when it is huge, monotone as it grows); singular systems refused
// with a message naming the instruments; and the before/after risk equal to the risk engine's on
// the same holdings (the trades bought as shares with cash).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  computeHedge,
  DEFAULT_HEDGE_PENALTY,
  HedgeError,
  type HedgeInput,
  solveHedgeSystem,
} from "../../../worker/factors/hedge.ts";
import { computePortfolioRisk, type Matrix } from "../../../worker/factors/portfolio-risk.ts";
import { aggregatePortfolio, type HoldingInput } from "../../../worker/factors/portfolio.ts";
import type { EstimatedRiskLoadings, SymbolRiskLoadings } from "../../../worker/factors/risk-model.ts";

const DATE = "2026-06-30";

function riskLoadings(symbol: string, keys: readonly string[], loadings: readonly number[], s2: number) {
  const record: EstimatedRiskLoadings = {
    symbol,
    calculationDate: DATE,
    windowDays: 365,
    observations: 250,
    factorObservations: 250,
    status: "estimated",
    loadings: Object.fromEntries(keys.map((k, i) => [k, loadings[i]!])),
    standardErrors: Object.fromEntries(keys.map((k) => [k, 0.01])),
    residualVariance: s2,
    rSquared: 0.5,
    qualityFlag: "ok",
  };
  return record;
}

const stock = (symbol: string, quantity: number): HoldingInput => ({
  id: `p-${symbol}`,
  symbol,
  instrument: "stock",
  quantity,
});

function aggregate(holdings: HoldingInput[], cash: number, closes: ReadonlyMap<string, number>) {
  return aggregatePortfolio({ date: DATE, holdings, cash, closes, betas: new Map(), factors: [] });
}

// ---------------------------------------------------------------------------------------------
// An independent minimizer: the objective from the definition, minimized by conjugate gradients
// with gradients from central differences of the objective (exact for a quadratic up to rounding,
// so a unit step is used: no truncation error and the least rounding).

interface Problem {
  sigma: number[][];
  /** The target portfolio: symbol → weight (the benchmark's −1 already merged), loadings, s². */
  holdings: { symbol: string; weight: number; loadings: number[]; s2: number }[];
  instruments: { symbol: string; loadings: number[]; s2: number }[];
  /** Annualized λ. */
  penalty: number;
}

/** 252 × (factor variance + specific variance of the positions after adding u) + λ Σ u². */
function objective(problem: Problem, u: readonly number[]): number {
  const positions = new Map<string, { weight: number; loadings: number[]; s2: number }>();
  for (const h of problem.holdings) positions.set(h.symbol, { weight: h.weight, loadings: h.loadings, s2: h.s2 });
  problem.instruments.forEach((instrument, j) => {
    const held = positions.get(instrument.symbol);
    positions.set(instrument.symbol, {
      weight: (held?.weight ?? 0) + u[j]!,
      loadings: instrument.loadings,
      s2: instrument.s2,
    });
  });
  const size = problem.sigma.length;
  let factorVariance = 0;
  let specificVariance = 0;
  for (let a = 0; a < size; a++) {
    for (let c = 0; c < size; c++) {
      let ba = 0;
      let bc = 0;
      for (const position of positions.values()) {
        ba += position.weight * position.loadings[a]!;
        bc += position.weight * position.loadings[c]!;
      }
      factorVariance += ba * problem.sigma[a]![c]! * bc;
    }
  }
  for (const position of positions.values()) specificVariance += position.weight ** 2 * position.s2;
  let squares = 0;
  for (const value of u) squares += value * value;
  return 252 * (factorVariance + specificVariance) + problem.penalty * squares;
}

function gradient(problem: Problem, u: readonly number[]): number[] {
  return u.map((_, i) => {
    const plus = [...u];
    const minus = [...u];
    plus[i]! += 1;
    minus[i]! -= 1;
    return (objective(problem, plus) - objective(problem, minus)) / 2;
  });
}

const inner = (a: readonly number[], b: readonly number[]) => a.reduce((sum, value, i) => sum + value * b[i]!, 0);

function conjugateGradientMinimum(problem: Problem): number[] {
  const n = problem.instruments.length;
  let u = new Array<number>(n).fill(0);
  // Restarted every n steps; the residual is recomputed from the objective each step.
  for (let restart = 0; restart < 20; restart++) {
    let r = gradient(problem, u).map((g) => -g);
    let p = [...r];
    for (let step = 0; step < n; step++) {
      const rr = inner(r, r);
      if (rr === 0) return u;
      const moved = gradient(
        problem,
        u.map((value, i) => value + p[i]!),
      );
      const base = gradient(problem, u);
      const hp = moved.map((value, i) => value - base[i]!);
      const curvature = inner(p, hp);
      if (!(curvature > 0)) break;
      const alpha = rr / curvature;
      u = u.map((value, i) => value + alpha * p[i]!);
      const next = gradient(problem, u).map((g) => -g);
      const beta = inner(next, next) / rr;
      p = next.map((value, i) => value + beta * p[i]!);
      r = next;
    }
  }
  return u;
}

// ---------------------------------------------------------------------------------------------
// Random problems

/** A positive definite daily covariance: A Aᵀ / K scaled to daily variances of ~1e-5..1e-4, plus a ridge. */
function covarianceOf(entries: readonly number[], size: number): number[][] {
  const a = Array.from({ length: size }, (_, i) => entries.slice(i * size, (i + 1) * size));
  return a.map((row, i) => a.map((other, j) => (1e-4 * inner(row, other)) / size + (i === j ? 2e-6 : 0)));
}

const problemArbitrary = fc
  .record({
    size: fc.integer({ min: 2, max: 5 }),
    holdings: fc.integer({ min: 1, max: 6 }),
    instruments: fc.integer({ min: 1, max: 5 }),
    seed: fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 200, maxLength: 200 }),
    penalty: fc.oneof(fc.constant(0), fc.double({ min: 1e-8, max: 1e-1, noNaN: true })),
    overlap: fc.boolean(),
  })
  .map(({ size, holdings, instruments, seed, penalty, overlap }): Problem => {
    let at = 0;
    const next = () => seed[at++ % seed.length]!;
    const sigma = covarianceOf(
      Array.from({ length: size * size }, () => next()),
      size,
    );
    const loadingsOf = () => Array.from({ length: size }, () => next() * 1.5);
    const held = Array.from({ length: holdings }, (_, i) => ({
      symbol: `S${i}`,
      weight: next() * 0.5,
      loadings: loadingsOf(),
      s2: 1e-6 + Math.abs(next()) * 1e-4,
    }));
    // With `overlap`, the first instrument is held already (d_j = X_j s²_j ≠ 0).
    const hedges = Array.from({ length: instruments }, (_, j) => ({
      symbol: overlap && j === 0 ? held[0]!.symbol : `H${j}`,
      loadings: overlap && j === 0 ? held[0]!.loadings : loadingsOf(),
      // Positive: more instruments than factors stay a unique hedge at λ = 0.
      s2: overlap && j === 0 ? held[0]!.s2 : 1e-6 + Math.abs(next()) * 2e-5,
    }));
    return { sigma, holdings: held, instruments: hedges, penalty };
  });

function solved(problem: Problem) {
  return solveHedgeSystem({
    covariance: problem.sigma,
    holdings: problem.holdings.map((h) => ({
      symbol: h.symbol,
      weight: h.weight,
      loadings: h.loadings,
      residualVariance: h.s2,
    })),
    instruments: problem.instruments.map((h) => ({ symbol: h.symbol, loadings: h.loadings, residualVariance: h.s2 })),
    penalty: problem.penalty,
  });
}

describe("solveHedgeSystem", () => {
  it("equals an independent conjugate-gradient minimization of the objective to 1e-9", () => {
    fc.assert(
      fc.property(problemArbitrary, (problem) => {
        const closed = solved(problem);
        const brute = conjugateGradientMinimum(problem);
        const scale = Math.max(1, ...brute.map(Math.abs));
        for (const [j, value] of closed.weights.entries())
          expect(Math.abs(value - brute[j]!), `u_${j}: ${value} vs ${brute[j]}`).toBeLessThanOrEqual(1e-9 * scale);
        // The variances it reports are the objective's parts.
        const zero = new Array<number>(problem.instruments.length).fill(0);
        expect(252 * closed.varianceBefore).toBeCloseTo(objective(problem, zero), 12);
        expect(252 * closed.varianceAfter + closed.penaltyCost).toBeCloseTo(objective(problem, closed.weights), 12);
      }),
      { numRuns: 200, seed: 19 },
    );
  });

  it("is a minimum: any perturbation raises the objective", () => {
    fc.assert(
      fc.property(
        problemArbitrary,
        fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 5, maxLength: 5 }),
        (problem, direction) => {
          const { weights } = solved(problem);
          const best = objective(problem, weights);
          for (const size of [1e-3, 1e-1, 1]) {
            const moved = weights.map((value, j) => value + size * direction[j]!);
            expect(objective(problem, moved)).toBeGreaterThanOrEqual(best - 1e-15 * Math.max(1, Math.abs(best)));
          }
        },
      ),
      { numRuns: 100, seed: 7 },
    );
  });

  it("makes no trades under a huge penalty, and trades less and reduces risk less as the penalty grows", () => {
    fc.assert(
      fc.property(problemArbitrary, (problem) => {
        const huge = solved({ ...problem, penalty: 1e12 });
        for (const value of huge.weights) expect(Math.abs(value)).toBeLessThan(1e-9);
        expect(huge.varianceAfter).toBeCloseTo(huge.varianceBefore, 15);
        let previousNorm = Number.POSITIVE_INFINITY;
        let previousReduction = Number.POSITIVE_INFINITY;
        for (const penalty of [0, 1e-7, 1e-5, 1e-3, 1e-1, 10, 1e3]) {
          const result = solved({ ...problem, penalty });
          const norm = Math.sqrt(inner(result.weights, result.weights));
          const reduction = result.varianceBefore - result.varianceAfter;
          expect(norm).toBeLessThanOrEqual(previousNorm * (1 + 1e-9) + 1e-15);
          expect(reduction).toBeLessThanOrEqual(previousReduction + 1e-9 * Math.abs(result.varianceBefore) + 1e-18);
          expect(reduction, "a hedge never adds risk").toBeGreaterThanOrEqual(-1e-12 * result.varianceBefore);
          previousNorm = norm;
          previousReduction = reduction;
        }
      }),
      { numRuns: 100, seed: 23 },
    );
  });
});

describe("solveHedgeSystem: singular systems", () => {
  const sigma = [
    [1e-4, 2e-5],
    [2e-5, 4e-5],
  ];
  const holdings = [{ symbol: "AAA", weight: 1, loadings: [1.1, 0.3], residualVariance: 1e-5 }];

  it("refuses two instruments with identical loadings (no specific risk) at λ = 0, naming both", () => {
    const instruments = [
      { symbol: "SPY", loadings: [1, 0], residualVariance: 0 },
      { symbol: "SPY2", loadings: [1, 0], residualVariance: 0 },
    ];
    let error: unknown;
    try {
      solveHedgeSystem({ covariance: sigma, holdings, instruments, penalty: 0 });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(HedgeError);
    expect(error).toMatchObject({ code: "singular", field: "instruments", symbols: ["SPY", "SPY2"] });
    expect((error as Error).message).toBe(
      "SPY and SPY2 have identical loadings: the hedge is not unique; add a penalty or remove one",
    );
    // With a penalty the hedge is unique: split evenly, finite.
    const penalized = solveHedgeSystem({ covariance: sigma, holdings, instruments, penalty: DEFAULT_HEDGE_PENALTY });
    expect(penalized.weights.every(Number.isFinite)).toBe(true);
    expect(penalized.weights[0]).toBeCloseTo(penalized.weights[1]!, 12);
  });

  it("refuses an instrument without any risk, and one that is a combination of the others", () => {
    expect(() =>
      solveHedgeSystem({
        covariance: sigma,
        holdings,
        instruments: [{ symbol: "CASHLIKE", loadings: [0, 0], residualVariance: 0 }],
        penalty: 0,
      }),
    ).toThrow(/CASHLIKE has no risk/);
    expect(() =>
      solveHedgeSystem({
        covariance: sigma,
        holdings,
        instruments: [
          { symbol: "A", loadings: [1, 0], residualVariance: 0 },
          { symbol: "B", loadings: [0, 1], residualVariance: 0 },
          { symbol: "C", loadings: [2, -1], residualVariance: 0 },
        ],
        penalty: 0,
      }),
    ).toThrow("C is (nearly) a combination of A, B with no specific risk of its own");
    // Identical loadings each with specific risk: unique (the specific variance is spread), not an error.
    const spread = solveHedgeSystem({
      covariance: sigma,
      holdings,
      instruments: [
        { symbol: "A", loadings: [1, 0], residualVariance: 1e-5 },
        { symbol: "A2", loadings: [1, 0], residualVariance: 1e-5 },
      ],
      penalty: 0,
    });
    expect(spread.weights[0]).toBeCloseTo(spread.weights[1]!, 12);
  });

  it("refuses a negative or non-finite penalty", () => {
    for (const penalty of [-1, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => solveHedgeSystem({ covariance: sigma, holdings, instruments: [], penalty })).toThrow(HedgeError);
  });
});

// ---------------------------------------------------------------------------------------------
// A portfolio's hedge

const keys = ["market", "rates", "size"];
const sigma3: Matrix = [
  [1.0e-4, 1.0e-5, 2.0e-5],
  [1.0e-5, 4.0e-5, -5.0e-6],
  [2.0e-5, -5.0e-6, 3.0e-5],
];
/** Pure factor instruments (no specific risk), a benchmark in their span with specific risk, two stocks. */
const models: Record<string, { loadings: number[]; s2: number }> = {
  SPY: { loadings: [1, 0, 0], s2: 0 },
  TLT: { loadings: [0.1, 1, 0], s2: 0 },
  IWM: { loadings: [1, 0, 1], s2: 0 },
  BMK: { loadings: [0.9, 0.2, 0.4], s2: 2e-6 },
  AAA: { loadings: [1.2, -0.3, 0.5], s2: 4e-5 },
  BBB: { loadings: [0.7, 0.4, -0.2], s2: 9e-5 },
};
const loadings = new Map<string, SymbolRiskLoadings>(
  Object.entries(models).map(([symbol, model]) => [symbol, riskLoadings(symbol, keys, model.loadings, model.s2)]),
);
const closes = new Map([
  ["SPY", 500],
  ["TLT", 90],
  ["IWM", 200],
  ["BMK", 50],
  ["AAA", 100],
  ["BBB", 40],
]);
const holdings = [stock("AAA", 300), stock("BBB", -200)];

function hedgeInput(overrides: Partial<HedgeInput> = {}): HedgeInput {
  return {
    aggregation: aggregate(holdings, 60_000, closes),
    factorKeys: keys,
    covariance: sigma3,
    loadings,
    benchmarkSymbol: "BMK",
    target: "tracking_error",
    instruments: ["SPY", "TLT", "IWM"],
    penalty: 0,
    closes,
    ...overrides,
  };
}

describe("computeHedge", () => {
  it("hedges a portfolio spanned by the instruments down to its specific risk (total and active)", () => {
    const total = computeHedge(hedgeInput({ target: "total" }));
    const before = total.before.total!;
    const after = total.after.total!;
    expect(before.factorVariance).toBeGreaterThan(1e-6);
    expect(Math.abs(after.factorVariance)).toBeLessThan(1e-12 * before.factorVariance + 1e-20);
    // What remains is the stocks' own specific variance, unchanged.
    expect(after.specificVariance).toBeCloseTo(before.specificVariance, 18);
    expect(after.variance).toBeCloseTo(before.specificVariance, 18);
    expect(total.riskAfter).toBeCloseTo(Math.sqrt(252 * before.specificVariance), 12);
    for (const exposure of total.after.exposures!) expect(Math.abs(exposure.exposure)).toBeLessThan(1e-12);

    const active = computeHedge(hedgeInput());
    const activeAfter = active.after.active!;
    expect(Math.abs(activeAfter.factorVariance)).toBeLessThan(1e-12 * active.before.active!.factorVariance + 1e-20);
    // The stocks' and the benchmark's (held at −1) specific variance remain.
    expect(activeAfter.variance).toBeCloseTo(active.before.total!.specificVariance + models["BMK"]!.s2, 18);
    for (const exposure of active.after.activeExposures!) expect(Math.abs(exposure.exposure)).toBeLessThan(1e-12);
  });

  it("reports trades in dollars and shares at the close, the risk before as the risk engine computes it", () => {
    const input = hedgeInput({ penalty: DEFAULT_HEDGE_PENALTY });
    const hedge = computeHedge(input);
    const engine = computePortfolioRisk({ ...input, aggregation: input.aggregation });
    expect(hedge.before).toEqual(engine);
    expect(hedge.equity).toBe(input.aggregation.equity);
    expect(hedge.trades.map((trade) => trade.symbol)).toEqual(["SPY", "TLT", "IWM"]);
    for (const trade of hedge.trades) {
      expect(trade.dollars).toBeCloseTo(trade.weight * hedge.equity, 8);
      expect(trade.shares).toBe(trade.dollars / closes.get(trade.symbol)!);
      expect(trade.close).toBe(closes.get(trade.symbol));
      expect(trade.weightBefore).toBe(0);
      expect(trade.weightAfter).toBe(trade.weight);
    }
    expect(hedge.riskBefore).toBeCloseTo(engine.active!.trackingError, 14);
    expect(hedge.riskAfter).toBeLessThan(hedge.riskBefore);
    expect(hedge.penaltyCost).toBeCloseTo(
      DEFAULT_HEDGE_PENALTY * hedge.trades.reduce((sum, trade) => sum + trade.weight ** 2, 0),
      20,
    );
  });

  it("reports the after risk of the holdings with the trades bought as shares with cash", () => {
    const input = hedgeInput({ instruments: ["SPY", "AAA", "BMK"], penalty: 1e-4 });
    const hedge = computeHedge(input);
    // AAA is held: its trade adds to X_AAA, and weightBefore says so.
    expect(hedge.trades[1]!.weightBefore).toBeCloseTo(30_000 / input.aggregation.equity, 14);
    const bought = [
      ...holdings,
      ...hedge.trades.map((trade) => ({ ...stock(trade.symbol, trade.shares), id: `bought-${trade.symbol}` })),
    ];
    const spent = hedge.trades.reduce((sum, trade) => sum + trade.dollars, 0);
    const applied = computePortfolioRisk({
      ...input,
      aggregation: aggregate(bought, 60_000 - spent, closes),
    });
    expect(applied.equity).toBeCloseTo(hedge.equity, 8);
    expect(applied.total!.variance).toBeCloseTo(hedge.after.total!.variance, 16);
    expect(applied.active!.variance).toBeCloseTo(hedge.after.active!.variance, 16);
    expect(applied.active!.trackingError).toBeCloseTo(hedge.riskAfter, 12);
    for (const [k, exposure] of applied.exposures!.entries())
      expect(exposure.exposure).toBeCloseTo(hedge.after.exposures![k]!.exposure, 12);
    expect(hedge.after.symbols.find((row) => row.symbol === "SPY")!.positionIds).toEqual(["hedge-SPY"]);
  });

  it("says why when no hedge can be computed", () => {
    const codeOf = (overrides: Partial<HedgeInput>) => {
      try {
        computeHedge(hedgeInput(overrides));
      } catch (error) {
        if (error instanceof HedgeError) return { code: error.code, field: error.field, symbols: error.symbols };
        throw error;
      }
      return null;
    };
    expect(codeOf({ benchmarkSymbol: null })).toEqual({ code: "no_benchmark", field: "target", symbols: [] });
    expect(codeOf({ benchmarkSymbol: "NOPE" })).toMatchObject({
      code: "benchmark_without_loadings",
      field: "benchmark",
    });
    expect(codeOf({ instruments: ["SPY", "ZZZ", "YYY"] })).toEqual({
      code: "instruments_without_loadings",
      field: "instruments",
      symbols: ["ZZZ", "YYY"],
    });
    expect(codeOf({ instruments: ["SPY", "SPY"] })).toMatchObject({ code: "invalid_request", field: "instruments" });
    expect(codeOf({ instruments: [] })).toMatchObject({ code: "invalid_request", field: "instruments" });
    expect(codeOf({ penalty: -1 })).toMatchObject({ code: "invalid_request", field: "penalty" });
    expect(codeOf({ closes: new Map([["SPY", 500]]) })).toMatchObject({
      code: "instruments_without_price",
      symbols: ["TLT", "IWM"],
    });
    expect(codeOf({ covariance: null, covarianceDetail: "insufficient_history" })).toMatchObject({
      code: "risk_unavailable",
      field: "date",
    });
    expect(codeOf({ aggregation: aggregate(holdings, -1e9, closes) })).toMatchObject({ code: "risk_unavailable" });
    // Two pure SPYs at λ = 0: singular, named.
    const twin = new Map(loadings);
    twin.set("SPY2", riskLoadings("SPY2", keys, [1, 0, 0], 0));
    expect(
      codeOf({ loadings: twin, instruments: ["SPY", "SPY2"], closes: new Map([...closes, ["SPY2", 10]]) }),
    ).toEqual({ code: "singular", field: "instruments", symbols: ["SPY", "SPY2"] });
  });

  it("hedges nothing away from a cash-only portfolio's zero total risk, and buys the benchmark to track it", () => {
    const cashOnly = aggregate([], 100_000, closes);
    const total = computeHedge(hedgeInput({ aggregation: cashOnly, target: "total" }));
    for (const trade of total.trades) expect(trade.weight).toBe(0);
    expect(total.varianceAfter).toBe(0);
    const tracking = computeHedge(hedgeInput({ aggregation: cashOnly, instruments: ["BMK"] }));
    expect(tracking.trades[0]!.weight).toBeCloseTo(1, 12);
    expect(tracking.trades[0]!.dollars).toBeCloseTo(100_000, 6);
    expect(tracking.varianceAfter).toBeCloseTo(0, 18);
  });
});
