// The risk lens (worker/factors/risk-model.ts, docs/design.md §11): the shared path against
// the per-symbol path and the backfill against single dates (the same guarantees as the lens
// engine's), invariances of the joint regression (fast-check), and the EWMA covariance.
// Agreement with statsmodels and numpy is in risk-reference.test.ts.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { defaultRiskFactors } from "../../../schema/seed/default-risk-factors.ts";
import { fitJointOls } from "../../../worker/factors/regression.ts";
import { buildReturnPanelFromReturns } from "../../../worker/factors/returns.ts";
import {
  computeFactorCovariance,
  computeRiskBackfill,
  computeSymbolRiskLoadingsDirect,
  computeUniverseRiskLoadings,
  createRiskEngineInput,
} from "../../../worker/factors/risk-model.ts";
import type { RiskEngineInput, RiskFactorSpec, SymbolRiskLoadings } from "../../../worker/factors/risk-model.ts";
import { closeTo, createNormal, generateUniverse } from "./synthetic-universe.ts";
import type { TestUniverse } from "./synthetic-universe.ts";

const riskFactors: RiskFactorSpec[] = defaultRiskFactors.map((factor) => ({
  id: factor.id,
  key: factor.key,
  name: factor.name,
  longSymbol: factor.longSymbol,
  shortSymbol: factor.shortSymbol ?? null,
}));

function riskInput(universe: TestUniverse, windowDays = 365, minObservations = 60): RiskEngineInput {
  const panel = buildReturnPanelFromReturns(universe.calendar, universe.returns);
  return createRiskEngineInput(panel, riskFactors, { windowDays, minObservations });
}

/** Same status, reason, flag and counts; numbers within `tolerance` relative (SE and s² with a rounding floor). */
function expectSameLoadings(
  actual: SymbolRiskLoadings,
  expected: SymbolRiskLoadings,
  tolerance: number,
  where: string,
): void {
  expect(actual.status, where).toBe(expected.status);
  expect(actual.observations, where).toBe(expected.observations);
  expect(actual.factorObservations, where).toBe(expected.factorObservations);
  if (actual.status === "missing" || expected.status === "missing") {
    if (actual.status === "missing" && expected.status === "missing")
      expect(actual.reason, where).toBe(expected.reason);
    return;
  }
  expect(actual.qualityFlag, where).toBe(expected.qualityFlag);
  for (const factor of riskFactors) {
    const key = factor.key;
    const beta = expected.loadings[key]!;
    expect(closeTo(actual.loadings[key]!, beta, tolerance, 1), `${where} ${key}`).toBe(true);
    const floor = Math.max(Math.abs(beta), 1) / Math.sqrt(expected.observations);
    expect(closeTo(actual.standardErrors[key]!, expected.standardErrors[key]!, tolerance, floor), `${where} SE`).toBe(
      true,
    );
  }
  expect(closeTo(actual.residualVariance, expected.residualVariance, tolerance, 1e-10), `${where} s²`).toBe(true);
  if (expected.rSquared === null) expect(actual.rSquared, where).toBeNull();
  else expect(Math.abs(actual.rSquared! - expected.rSquared), `${where} R²`).toBeLessThanOrEqual(tolerance);
}

describe("risk loadings: shared path versus per-symbol path", () => {
  it("agree to 1e-12 on random universes with gaps, late listings and delistings", () => {
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
          equities: fc.integer({ min: 1, max: 12 }),
          days: fc.integer({ min: 40, max: 260 }),
          gapShare: fc.double({ min: 0, max: 1, noNaN: true }),
          etfGaps: fc.boolean(),
          dateShare: fc.double({ min: 0.3, max: 1, noNaN: true }),
        }),
        ({ seed, equities, days, gapShare, etfGaps, dateShare }) => {
          const universe = generateUniverse({ seed, equities, days, gapShare, etfGaps });
          const input = riskInput(universe, 200, 30);
          const date = universe.calendar[Math.floor(dateShare * (days - 1))]!;
          const table = computeUniverseRiskLoadings(input, date);
          for (const loadings of table.toArray()) {
            const direct = computeSymbolRiskLoadingsDirect(input, loadings.symbol, date);
            expectSameLoadings(loadings, direct, 1e-12, `${loadings.symbol} ${date}`);
          }
        },
      ),
      { numRuns: 50 },
    );
  });

  it("estimate the generating loadings of a clean panel within their standard errors", () => {
    const universe = generateUniverse({ seed: 11, equities: 0, days: 380 });
    const base = riskInput(universe);
    // Symbols built on the risk factors themselves: r = Σ_k L_k f_k + 1.5% noise.
    let state = 7;
    const random = () => {
      state = (state * 48271) % 2147483647;
      return state / 2147483647;
    };
    const normal = createNormal(random);
    const truth: Record<string, number[]> = {};
    const returns = { ...universe.returns };
    for (let i = 0; i < 40; i++) {
      const symbol = `SYN${i}`;
      const loadings = riskFactors.map((_, k) => (k === 0 ? 0.5 + random() : random() - 0.5));
      truth[symbol] = loadings;
      returns[symbol] = universe.calendar.map((_, t) => {
        let r = 0.015 * normal();
        for (let k = 0; k < riskFactors.length; k++) r += loadings[k]! * base.series[k]![t]!;
        return Number.isNaN(r) ? null : r;
      });
    }
    const input = createRiskEngineInput(buildReturnPanelFromReturns(universe.calendar, returns), riskFactors);
    const table = computeUniverseRiskLoadings(input, universe.calendar[379]!);
    let within = 0;
    let total = 0;
    for (const [symbol, loadings] of Object.entries(truth)) {
      const estimate = table.loadingsFor(symbol)!;
      expect(estimate.status).toBe("estimated");
      if (estimate.status !== "estimated") continue;
      expect(estimate.qualityFlag).toBe("ok");
      riskFactors.forEach((factor, k) => {
        total++;
        if (Math.abs(estimate.loadings[factor.key]! - loadings[k]!) < 2 * estimate.standardErrors[factor.key]!)
          within++;
      });
      expect(Math.sqrt(estimate.residualVariance)).toBeGreaterThan(0.012);
      expect(Math.sqrt(estimate.residualVariance)).toBeLessThan(0.018);
    }
    // About 95% of true loadings lie within 2 standard errors when the standard errors are right.
    expect(within / total).toBeGreaterThan(0.9);
    expect(within / total).toBeLessThan(0.99);
  });

  it("report missing loadings with reasons, never zeros", () => {
    const universe = generateUniverse({ seed: 3, equities: 3, days: 300 });
    const returns = { ...universe.returns };
    // Listed 40 trading days before the date: too few observations.
    returns["EQ0000"] = returns["EQ0000"]!.map((r, t) => (t < 260 ? null : r));
    // A symbol whose returns never coincide with the factors' window.
    returns["EQ0001"] = returns["EQ0001"]!.map((r, t) => (t < 299 ? null : r));
    const input = createRiskEngineInput(buildReturnPanelFromReturns(universe.calendar, returns), riskFactors);
    const date = universe.calendar[299]!;
    const table = computeUniverseRiskLoadings(input, date);
    const late = table.loadingsFor("EQ0000")!;
    expect(late).toMatchObject({ status: "missing", reason: "insufficient_data", observations: 40 });
    expect(late.status === "missing" && late.detail).toContain("60 required");
    expect(table.loadingsFor("EQ0001")).toMatchObject({ status: "missing", reason: "insufficient_data" });
    expect(table.loadingsFor("EQ0002")).toMatchObject({ status: "estimated" });
  });

  it("call a zero-variance or collinear risk factor degenerate, for every symbol and on every path", () => {
    const universe = generateUniverse({ seed: 8, equities: 5, days: 300 });
    for (const variant of ["constant", "collinear"] as const) {
      const returns = { ...universe.returns };
      if (variant === "constant") returns["TLT"] = returns["TLT"]!.map(() => 0.0001);
      // USMV − SPY equal to IWM − SPY: two identical factor series.
      else returns["USMV"] = [...returns["IWM"]!];
      const input = createRiskEngineInput(buildReturnPanelFromReturns(universe.calendar, returns), riskFactors);
      const date = universe.calendar[299]!;
      for (const loadings of computeUniverseRiskLoadings(input, date).toArray()) {
        expect(loadings, `${variant} ${loadings.symbol}`).toMatchObject({ status: "missing", reason: "degenerate" });
        expect(computeSymbolRiskLoadingsDirect(input, loadings.symbol, date)).toMatchObject({ reason: "degenerate" });
      }
    }
  });
});

describe("risk loadings: backfill", () => {
  it("equals the single-date path to 1e-10 over consecutive dates", () => {
    const universe = generateUniverse({ seed: 21, equities: 12, days: 330, gapShare: 0.4, etfGaps: true });
    const input = riskInput(universe, 250, 60);
    const dates = universe.calendar.slice(260, 330);
    const backfill = computeRiskBackfill(input, dates, { exactEvery: 15 });
    expect(backfill.calculationDates).toEqual(dates);
    backfill.results.forEach((table, j) => {
      const single = computeUniverseRiskLoadings(input, dates[j]!);
      table.toArray().forEach((loadings, s) => {
        expectSameLoadings(loadings, single.loadings(s), 1e-10, `${loadings.symbol} ${dates[j]}`);
      });
    });
  });
});

describe("joint OLS invariances (fast-check)", () => {
  const sample = fc.record({
    // Below the generator's modulus 2³¹ − 1 (which would make every draw 0).
    seed: fc.integer({ min: 1, max: 2 ** 31 - 2 }),
    n: fc.integer({ min: 20, max: 200 }),
    columns: fc.integer({ min: 1, max: 7 }),
    shift: fc.double({ min: -0.5, max: 0.5, noNaN: true }),
    scale: fc.double({ min: -50, max: 50, noNaN: true }).filter((c) => Math.abs(c) > 1e-3),
  });

  function draw(seed: number, n: number, p: number) {
    let state = seed;
    const random = () => {
      state = (state * 48271) % 2147483647;
      return state / 2147483647;
    };
    const normal = createNormal(random);
    const columns = Array.from({ length: p }, () => Array.from({ length: n }, () => 0.01 * normal()));
    const weights = Array.from({ length: p }, () => 2 * random() - 1);
    const y = Array.from({ length: n }, (_, i) =>
      columns.reduce((sum, column, k) => sum + weights[k]! * column[i]!, 0),
    );
    const noisy = y.map((value) => value + 0.01 * normal());
    return { columns, weights, y, noisy };
  }

  it("adding a constant to y changes no loading, standard error or R²", () => {
    fc.assert(
      fc.property(sample, ({ seed, n, columns: p, shift }) => {
        const { columns, noisy } = draw(seed, n, p);
        const base = fitJointOls(columns, noisy);
        const shifted = fitJointOls(
          columns,
          noisy.map((v) => v + shift),
        );
        base.coefficients.forEach((c, k) => {
          expect(closeTo(shifted.coefficients[k]!, c!, 1e-9, 1)).toBe(true);
          expect(closeTo(shifted.standardErrors[k]!, base.standardErrors[k]!, 1e-9, 0)).toBe(true);
        });
        expect(Math.abs(shifted.rSquared! - base.rSquared!)).toBeLessThan(1e-9);
      }),
      { numRuns: 100 },
    );
  });

  it("scaling y by c scales the loadings by c and the standard errors by |c|", () => {
    fc.assert(
      fc.property(sample, ({ seed, n, columns: p, scale }) => {
        const { columns, noisy } = draw(seed, n, p);
        const base = fitJointOls(columns, noisy);
        const scaled = fitJointOls(
          columns,
          noisy.map((v) => v * scale),
        );
        base.coefficients.forEach((c, k) => {
          expect(closeTo(scaled.coefficients[k]!, scale * c!, 1e-9, Math.abs(scale))).toBe(true);
          expect(closeTo(scaled.standardErrors[k]!, Math.abs(scale) * base.standardErrors[k]!, 1e-9, 0)).toBe(true);
        });
        expect(closeTo(scaled.residualVariance!, scale * scale * base.residualVariance!, 1e-9, 0)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it("recovers an exact combination of the factors, with residual variance at rounding level", () => {
    fc.assert(
      fc.property(sample, ({ seed, n, columns: p, shift }) => {
        const { columns, weights, y } = draw(seed, n, p);
        const fit = fitJointOls(
          columns,
          y.map((v) => v + shift),
        );
        expect(fit.degenerate).toBe(false);
        fit.coefficients.forEach((c, k) => {
          expect(closeTo(c!, weights[k]!, 1e-9, 1)).toBe(true);
        });
        // Returns of ~1% have a variance of ~1e-4; rounding leaves ~ε² of it.
        expect(fit.residualVariance!).toBeLessThan(1e-26);
        expect(fit.rSquared!).toBeGreaterThan(1 - 1e-12);
      }),
      { numRuns: 100 },
    );
  });
});

describe("EWMA factor covariance", () => {
  const universe = generateUniverse({ seed: 4, equities: 0, days: 700, etfGaps: true });
  const input = riskInput(universe);

  it("is symmetric, positive semi-definite and uses at most 504 complete days ending on the date", () => {
    const covariance = computeFactorCovariance(input, universe.calendar[699]!);
    expect(covariance.status).toBe("estimated");
    if (covariance.status !== "estimated") return;
    expect(covariance.observations).toBe(504);
    expect(covariance.lastDate).toBe(universe.calendar[699]);
    expect(covariance.factorKeys).toEqual(riskFactors.map((f) => f.key));
    const K = riskFactors.length;
    for (let a = 0; a < K; a++) {
      expect(covariance.matrix[a]![a]!).toBeGreaterThan(0);
      for (let b = 0; b < K; b++) expect(covariance.matrix[a]![b]).toBe(covariance.matrix[b]![a]);
    }
    // xᵀΣx ≥ 0 for random x.
    const normal = createNormal(() => Math.random());
    for (let trial = 0; trial < 50; trial++) {
      const x = Array.from({ length: K }, () => normal());
      let quadratic = 0;
      for (let a = 0; a < K; a++) for (let b = 0; b < K; b++) quadratic += x[a]! * covariance.matrix[a]![b]! * x[b]!;
      expect(quadratic).toBeGreaterThanOrEqual(0);
    }
  });

  it("weights the latest day most: a shock on the last day moves it more than the same shock a year earlier", () => {
    const date = universe.calendar[699]!;
    const base = computeFactorCovariance(input, date);
    const shocked = (t: number) => {
      const returns = { ...universe.returns, TLT: universe.returns["TLT"]!.map((r, i) => (i === t ? 0.08 : r)) };
      const panel = buildReturnPanelFromReturns(universe.calendar, returns);
      return computeFactorCovariance(createRiskEngineInput(panel, riskFactors), date);
    };
    const recent = shocked(699);
    const old = shocked(450);
    if (base.status !== "estimated" || recent.status !== "estimated" || old.status !== "estimated") throw new Error();
    expect(recent.matrix[1]![1]! - base.matrix[1]![1]!).toBeGreaterThan(3 * (old.matrix[1]![1]! - base.matrix[1]![1]!));
  });

  it("is reported missing, never filled, with fewer than 60 complete days", () => {
    const covariance = computeFactorCovariance(input, universe.calendar[50]!);
    expect(covariance).toMatchObject({ status: "missing", reason: "insufficient_history" });
    // Day 50 has 51 trading days up to it, fewer where an ETF has a gap.
    expect(covariance.observations).toBeGreaterThan(40);
    expect(covariance.observations).toBeLessThanOrEqual(51);
    expect(covariance).not.toHaveProperty("matrix");
  });
});
