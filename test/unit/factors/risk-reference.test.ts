// The risk model (docs/design.md §11: loadings and factor covariance) against independent
// references written by scripts/reference-fixtures.py into fixtures/risk-reference.json:
// statsmodels' joint OLS with a constant for each symbol's loadings on the seven risk factor
// return series, and a direct numpy evaluation of the exponentially weighted covariance.
// Inputs are return panels (weekday calendar, returns with null where missing) covering every
// gap pattern: scattered gaps, late listing, halt, delisting, too few observations, a constant
// symbol, an exact linear combination of the factors, and a panel whose rates factor has zero
// variance. Both loading paths (the universe table and the per-symbol direct path) are checked.
//
// Comparison (never loosened to pass):
// - status, reason, quality flag, observations and factor observations: exactly;
// - a loading: |actual − expected| ≤ 1e-9 · max(|expected|, the symbol's largest |loading|)
//   + 1e-15, the case-scale convention of reference-fixtures.test.ts (the floor, in beta units,
//   only matters for a constant symbol, whose loadings are rounding noise ~1e-18);
// - a standard error: 1e-9 relative to itself + 1e-15; the residual variance: 1e-9 relative
//   + 1e-30 (squared return units); R²: 1e-9 absolute;
// - exact linear combinations of the factor returns (COMBO, and the ETFs that are a factor or a
//   sum of two: SPY, TLT, MTUM, IWM, QUAL, USMV): their residuals are rounding noise, so their
//   standard errors and residual variance are not compared with the reference's noise but must
//   be tiny: s² < 1e-25 (a real stock's is ~1e-4) and every standard error < 1e-10 (real ones
//   are ~1e-2..1e-1); the loadings must recover the combination to 1e-9 (scaled by its largest
//   coefficient) and R² must be 1 to 1e-9;
// - the covariance matrix: every entry to 1e-12 of the matrix's largest |entry|.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildReturnPanelFromReturns } from "../../../worker/factors/returns.ts";
import {
  computeFactorCovariance,
  computeSymbolRiskLoadingsDirect,
  computeUniverseRiskLoadings,
  createRiskEngineInput,
  defaultRiskModelSettings,
  type RiskFactorSpec,
  type SymbolRiskLoadings,
} from "../../../worker/factors/risk-model.ts";
import { weekdays } from "./synthetic-universe.ts";

type ExpectedLoadings =
  | {
      status: "estimated";
      loadings: Record<string, number>;
      standardErrors: Record<string, number>;
      residualVariance: number;
      rSquared: number | null;
      observations: number;
      factorObservations: number;
      qualityFlag: "ok" | "limited_history" | "degenerate";
    }
  | {
      status: "missing";
      reason: "insufficient_data" | "degenerate" | "no_factor_data";
      observations: number;
      factorObservations: number;
    };

type ExpectedCovariance =
  | { status: "estimated"; matrix: number[][]; observations: number; firstDate: string; lastDate: string }
  | { status: "missing"; reason: "insufficient_history"; observations: number };

interface ExactCombination {
  symbol: string;
  intercept: number;
  loadings: Record<string, number>;
}

interface RiskCase {
  name: string;
  note: string;
  calendar: string[];
  returns: Record<string, (number | null)[]>;
  symbols: Record<string, string>;
  exactCombinations: ExactCombination[];
  dates: { calculationDate: string; loadings: Record<string, ExpectedLoadings>; covariance: ExpectedCovariance }[];
}

interface RiskFixtures {
  versions: Record<string, string>;
  settings: Record<string, number>;
  riskFactors: RiskFactorSpec[];
  cases: RiskCase[];
}

const fixtures = JSON.parse(
  readFileSync(new URL("./fixtures/risk-reference.json", import.meta.url), "utf8"),
) as RiskFixtures;

const relative = 1e-9;
const absoluteFloor = 1e-15;
const varianceFloor = 1e-30;
const covarianceRelative = 1e-12;
const exactResidualVarianceBound = 1e-25;
const exactStandardErrorBound = 1e-10;

const factorKeys = fixtures.riskFactors.map((factor) => factor.key);

function expectClose(actual: number, expected: number, tolerance: number, what: string): void {
  expect(Number.isFinite(actual), `${what}: ${actual} is not finite`).toBe(true);
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance);
}

function largest(values: Iterable<number>): number {
  let result = 0;
  for (const value of values) result = Math.max(result, Math.abs(value));
  return result;
}

function expectLoadings(
  actual: SymbolRiskLoadings | undefined,
  expected: ExpectedLoadings,
  symbol: string,
  calculationDate: string,
  exact: ExactCombination | undefined,
  path: string,
): void {
  const what = `${path} ${symbol} ${calculationDate}`;
  expect(actual, what).toBeDefined();
  if (actual === undefined) return;
  expect(actual.symbol, what).toBe(symbol);
  expect(actual.calculationDate, what).toBe(calculationDate);
  expect(actual.status, what).toBe(expected.status);
  expect(actual.observations, `${what} observations`).toBe(expected.observations);
  expect(actual.factorObservations, `${what} factor observations`).toBe(expected.factorObservations);
  if (actual.status === "missing" || expected.status === "missing") {
    if (actual.status === "missing" && expected.status === "missing") {
      expect(actual.reason, what).toBe(expected.reason);
      expect(actual.detail, what).toEqual(expect.any(String));
    }
    return;
  }
  expect(actual.qualityFlag, `${what} flag`).toBe(expected.qualityFlag);
  expect(Object.keys(actual.loadings).sort(), what).toEqual([...factorKeys].sort());
  expect(Object.keys(actual.standardErrors).sort(), what).toEqual([...factorKeys].sort());
  const scale = largest(Object.values(expected.loadings));
  for (const key of factorKeys) {
    const loading = actual.loadings[key]!;
    const reference = expected.loadings[key]!;
    expectClose(loading, reference, relative * Math.max(Math.abs(reference), scale) + absoluteFloor, `${what} ${key}`);
  }
  if (exact !== undefined) {
    const combinationScale = largest(Object.values(exact.loadings));
    for (const key of factorKeys) {
      expectClose(actual.loadings[key]!, exact.loadings[key]!, relative * combinationScale, `${what} ${key} (exact)`);
      const standardError = actual.standardErrors[key]!;
      expect(standardError, `${what} se ${key} (exact: rounding noise)`).toBeGreaterThanOrEqual(0);
      expect(standardError, `${what} se ${key} (exact: rounding noise)`).toBeLessThan(exactStandardErrorBound);
    }
    expect(actual.residualVariance, `${what} s² (exact: rounding noise)`).toBeGreaterThanOrEqual(0);
    expect(actual.residualVariance, `${what} s² (exact: rounding noise)`).toBeLessThan(exactResidualVarianceBound);
    expect(actual.rSquared, `${what} R² (exact)`).not.toBeNull();
    expectClose(actual.rSquared!, 1, relative, `${what} R² (exact)`);
    return;
  }
  for (const key of factorKeys) {
    const reference = expected.standardErrors[key]!;
    expectClose(
      actual.standardErrors[key]!,
      reference,
      relative * Math.abs(reference) + absoluteFloor,
      `${what} se ${key}`,
    );
  }
  expectClose(
    actual.residualVariance,
    expected.residualVariance,
    relative * Math.abs(expected.residualVariance) + varianceFloor,
    `${what} s²`,
  );
  if (expected.rSquared === null) {
    expect(actual.rSquared, `${what} R²`).toBeNull();
  } else {
    expect(actual.rSquared, `${what} R²`).not.toBeNull();
    expectClose(actual.rSquared!, expected.rSquared, relative, `${what} R²`);
  }
}

describe("risk reference fixtures", () => {
  it("were generated with the engine's default settings and the design's risk lens", () => {
    expect(Object.keys(fixtures.versions).sort()).toEqual(["numpy", "statsmodels"]);
    expect(fixtures.settings).toEqual({ ...defaultRiskModelSettings });
    expect(fixtures.riskFactors.map((f) => [f.key, f.longSymbol, f.shortSymbol])).toEqual([
      ["market", "SPY", null],
      ["rates", "TLT", null],
      ["growth_value", "VUG", "VTV"],
      ["momentum", "MTUM", "SPY"],
      ["size", "IWM", "SPY"],
      ["quality", "QUAL", "SPY"],
      ["low_volatility", "USMV", "SPY"],
    ]);
    expect(fixtures.cases.length).toBeGreaterThanOrEqual(2);
  });

  describe.each(fixtures.cases.map((c) => [c.name, c] as const))("case %s", (_, riskCase) => {
    const panel = buildReturnPanelFromReturns(riskCase.calendar, riskCase.returns);
    const input = createRiskEngineInput(panel, fixtures.riskFactors);
    const exact = new Map(riskCase.exactCombinations.map((combination) => [combination.symbol, combination]));

    it("has a weekday calendar", () => {
      expect(riskCase.calendar).toEqual(weekdays(riskCase.calendar[0]!, riskCase.calendar.length));
    });

    describe.each(riskCase.dates.map((d) => [d.calculationDate, d] as const))("on %s", (calculationDate, date) => {
      const symbols = Object.keys(date.loadings);

      it("gives statsmodels' loadings, standard errors, residual variance and R² (universe table)", () => {
        expect(symbols.sort()).toEqual(Object.keys(riskCase.returns).sort());
        const table = computeUniverseRiskLoadings(input, calculationDate);
        expect(
          table
            .toArray()
            .map((entry) => entry.symbol)
            .sort(),
        ).toEqual(symbols.sort());
        for (const symbol of symbols) {
          const expected = date.loadings[symbol]!;
          expectLoadings(table.loadingsFor(symbol), expected, symbol, calculationDate, exact.get(symbol), "table");
        }
      });

      it("gives the same numbers through the per-symbol direct path", () => {
        for (const symbol of symbols) {
          const expected = date.loadings[symbol]!;
          const direct = computeSymbolRiskLoadingsDirect(input, symbol, calculationDate);
          expectLoadings(direct, expected, symbol, calculationDate, exact.get(symbol), "direct");
        }
      });

      it("gives numpy's exponentially weighted factor covariance", () => {
        const covariance = computeFactorCovariance(input, calculationDate);
        const expected = date.covariance;
        expect(covariance.calculationDate).toBe(calculationDate);
        expect(covariance.factorKeys).toEqual(factorKeys);
        expect(covariance.halfLifeDays).toBe(fixtures.settings.halfLifeDays);
        expect(covariance.status).toBe(expected.status);
        expect(covariance.observations).toBe(expected.observations);
        if (covariance.status === "missing" || expected.status === "missing") {
          if (covariance.status === "missing" && expected.status === "missing") {
            expect(covariance.reason).toBe(expected.reason);
          }
          return;
        }
        expect(covariance.firstDate).toBe(expected.firstDate);
        expect(covariance.lastDate).toBe(expected.lastDate);
        const k = factorKeys.length;
        expect(covariance.matrix).toHaveLength(k);
        const tolerance = covarianceRelative * largest(expected.matrix.flat());
        for (let a = 0; a < k; a++) {
          expect(covariance.matrix[a]).toHaveLength(k);
          for (let b = 0; b < k; b++) {
            const what = `Σ[${factorKeys[a]}][${factorKeys[b]}]`;
            expectClose(covariance.matrix[a]![b]!, expected.matrix[a]![b]!, tolerance, what);
          }
        }
      });
    });
  });
});
