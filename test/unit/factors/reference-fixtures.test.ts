// Agreement with independent implementations: scikit-learn (StandardScaler + Ridge) and
// statsmodels (OLS with a constant), through fixtures written by scripts/reference-fixtures.py.
// The same inputs go through the whole engine (panel → factor specs → betas) and through the
// stand-alone fits (which also expose intercepts and residual variances).
//
// Comparison: |actual − expected| ≤ 1e-9 · max(|expected|, case scale) + 1e-15, where the case
// scale is the largest |coefficient| the reference reports for the case, so a coefficient
// near zero is compared at the precision of its case's coefficients. The 1e-15 absolute
// floor (in raw beta units, 10+ orders below any meaningful beta) only matters for constant
// returns, where every coefficient is rounding noise around 0 (scikit-learn gives ~1e-33,
// statsmodels ~1e-18, the engine an exact 0). R² is compared absolutely (its scale is 1).
//
// Standard errors (docs/design.md §11): statsmodels' bse[1] for OLS and spreads; for ridge the
// design's Var(b) = s²·A⁻¹ZᵀZA⁻¹ evaluated directly in numpy. Each is compared to 1e-9 relative
// to itself (standard errors of one fit differ in size, so no case scale), with the same
// 1e-15 absolute floor in beta units; a residual variance s² to 1e-9 relative with a floor of
// 1e-30 in squared return units ((1e-15)²). The floors only matter for constant returns, where
// the reference's standard errors are rounding noise (~1e-18) or 0. A null expectation (a
// constant regressor, or no degrees of freedom left: n − 2 or n − q − 1 ≤ 0) must be null.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createFactorEngineInput } from "../../../worker/factors/factor-plan.ts";
import { fitStandardizedRidge, fitUnivariateOls } from "../../../worker/factors/regression.ts";
import { buildReturnPanelFromReturns } from "../../../worker/factors/returns.ts";
import type { FactorSpec, SymbolFactorBeta } from "../../../worker/factors/types.ts";
import { computeSymbolBetasDirect, computeUniverseBetas } from "../../../worker/factors/universe.ts";
import { weekdays } from "./synthetic-universe.ts";

interface RidgeCase {
  name: string;
  alpha: number;
  columns: number[][];
  y: number[];
  expected: {
    coefficients: (number | null)[];
    standardizedCoefficients: (number | null)[];
    intercept: number;
    rSquared: number | null;
    standardErrors: (number | null)[];
    residualVariance: number | null;
  };
}
interface OlsExpectation {
  slope: number | null;
  intercept: number | null;
  rSquared: number | null;
  standardError: number | null;
  residualVariance: number | null;
}
interface OlsCase {
  name: string;
  x: number[];
  y: number[];
  expected: OlsExpectation;
}
interface SpreadCase {
  name: string;
  long: number[];
  short: number[];
  y: number[];
  expected: OlsExpectation;
}
interface Fixtures {
  versions: Record<string, string>;
  ridge: RidgeCase[];
  ols: OlsCase[];
  spread: SpreadCase[];
}

const fixtures = JSON.parse(readFileSync(new URL("./fixtures/reference.json", import.meta.url), "utf8")) as Fixtures;

const relative = 1e-9;
const absoluteFloor = 1e-15;
const varianceFloor = 1e-30;

function expectAgreement(actual: number, expected: number, scale: number, what: string): void {
  const tolerance = relative * Math.max(Math.abs(expected), scale) + absoluteFloor;
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance);
}

function expectRSquared(actual: number | null, expected: number | null, what: string): void {
  if (expected === null) {
    expect(actual, what).toBeNull();
  } else {
    expect(actual, what).not.toBeNull();
    expect(Math.abs(actual! - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(relative);
  }
}

/** A standard error or residual variance: null when the reference has none, else 1e-9 relative + `floor`. */
function expectRelative(actual: number | null, expected: number | null, floor: number, what: string): void {
  if (expected === null) {
    expect(actual, what).toBeNull();
    return;
  }
  expect(actual, what).not.toBeNull();
  const tolerance = relative * Math.abs(expected) + floor;
  expect(Math.abs(actual! - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance);
}

function caseScale(values: readonly (number | null)[]): number {
  return values.reduce<number>((largest, value) => Math.max(largest, Math.abs(value ?? 0)), 0);
}

function spec(overrides: Partial<FactorSpec> & Pick<FactorSpec, "id" | "key" | "method">): FactorSpec {
  return {
    name: overrides.key,
    category: overrides.method === "ridge" ? "style" : overrides.method === "spread" ? "spread" : "market",
    inputSymbol: null,
    longSymbol: null,
    shortSymbol: null,
    // One window covering every fixture date; the minimum the schema allows.
    windowDays: 100_000,
    minObservations: 2,
    ridgeAlpha: null,
    ...overrides,
  };
}

/** The engine's betas for symbol Y given its returns and the inputs' returns on n weekdays. */
function engineBetas(series: Record<string, number[]>, factors: FactorSpec[]): Record<string, SymbolFactorBeta> {
  const n = series.Y!.length;
  const calendar = weekdays("2020-01-01", n);
  const input = createFactorEngineInput(buildReturnPanelFromReturns(calendar, series), factors);
  const calculationDate = calendar[n - 1]!;
  const shared = computeUniverseBetas(input, calculationDate).symbolBetasFor("Y")!;
  // The per-symbol path must give the same numbers (it does, bit for bit, by construction).
  expect(computeSymbolBetasDirect(input, "Y", calculationDate)).toEqual(shared);
  return shared.betas;
}

describe("reference fixtures", () => {
  it("were generated by the expected libraries", () => {
    expect(Object.keys(fixtures.versions).sort()).toEqual(["numpy", "scikit-learn", "statsmodels"]);
    expect(fixtures.ridge.length).toBeGreaterThanOrEqual(8);
    expect(fixtures.ols.length).toBeGreaterThanOrEqual(6);
  });

  describe.each(fixtures.ridge.map((c) => [c.name, c] as const))("ridge %s", (_, ridgeCase) => {
    const p = ridgeCase.columns.length;
    const scale = caseScale(ridgeCase.expected.coefficients);
    const standardizedScale = caseScale(ridgeCase.expected.standardizedCoefficients);

    it("matches scikit-learn through the engine", () => {
      const series: Record<string, number[]> = { Y: ridgeCase.y };
      for (const [k, column] of ridgeCase.columns.entries()) series[`ETF${k}`] = column;
      const factors = ridgeCase.columns.map((_, k) =>
        spec({ id: k + 1, key: `style_${k}`, method: "ridge", inputSymbol: `ETF${k}`, ridgeAlpha: ridgeCase.alpha }),
      );
      const betas = engineBetas(series, factors);
      const yConstant = ridgeCase.expected.rSquared === null;
      for (let k = 0; k < p; k++) {
        const beta = betas[`style_${k}`]!;
        const expected = ridgeCase.expected.coefficients[k]!;
        if (expected === null) {
          expect(beta.status).toBe("missing");
          if (beta.status === "missing") expect(beta.reason).toBe("degenerate");
          continue;
        }
        expect(beta.status, `style_${k}`).toBe("estimated");
        if (beta.status !== "estimated") continue;
        expectAgreement(beta.rawBeta, expected, scale, `style_${k}`);
        expectRelative(
          beta.standardError,
          ridgeCase.expected.standardErrors[k] ?? null,
          absoluteFloor,
          `se style_${k}`,
        );
        expectRSquared(beta.rSquared, ridgeCase.expected.rSquared, "R²");
        expect(beta.regularizationAlpha).toBe(ridgeCase.alpha);
        expect(beta.observations).toBe(ridgeCase.y.length);
        if (yConstant) expect(beta.qualityFlag).toBe("degenerate");
      }
    });

    it("matches scikit-learn's coefficients, intercept and R² stand-alone", () => {
      const fit = fitStandardizedRidge(ridgeCase.columns, ridgeCase.y, ridgeCase.alpha);
      for (let k = 0; k < p; k++) {
        const expected = ridgeCase.expected.coefficients[k]!;
        if (expected === null) {
          expect(fit.coefficients[k]).toBeNull();
          expect(fit.standardErrors[k]).toBeNull();
          continue;
        }
        expectAgreement(fit.coefficients[k]!, expected, scale, `coefficient ${k}`);
        expectAgreement(
          fit.standardizedCoefficients[k]!,
          ridgeCase.expected.standardizedCoefficients[k]!,
          standardizedScale,
          `coef_ ${k}`,
        );
      }
      // The intercept ȳ − Σ beta_k·mean_k inherits the coefficients' error times the means.
      const interceptScale = Math.max(
        Math.abs(ridgeCase.expected.intercept),
        ridgeCase.expected.coefficients.reduce<number>((sum, c, k) => sum + Math.abs((c ?? 0) * fit.means[k]!), 0),
      );
      expectAgreement(fit.intercept!, ridgeCase.expected.intercept, interceptScale, "intercept");
      expectRSquared(fit.rSquared, ridgeCase.expected.rSquared, "R²");
    });

    it("matches the design's ridge standard errors and residual variance stand-alone", () => {
      const fit = fitStandardizedRidge(ridgeCase.columns, ridgeCase.y, ridgeCase.alpha);
      expect(fit.standardErrors).toHaveLength(p);
      for (let k = 0; k < p; k++) {
        expectRelative(
          fit.standardErrors[k] ?? null,
          ridgeCase.expected.standardErrors[k] ?? null,
          absoluteFloor,
          `se ${k}`,
        );
      }
      expectRelative(fit.residualVariance, ridgeCase.expected.residualVariance, varianceFloor, "s²");
    });
  });

  describe.each(fixtures.ols.map((c) => [c.name, c] as const))("ols %s", (_, olsCase) => {
    const scale = Math.abs(olsCase.expected.slope ?? 0);

    it("matches statsmodels through the engine", () => {
      const betas = engineBetas({ Y: olsCase.y, X: olsCase.x }, [
        spec({ id: 1, key: "market_beta", method: "ols", inputSymbol: "X" }),
      ]);
      const beta = betas.market_beta!;
      if (olsCase.expected.slope === null) {
        expect(beta.status).toBe("missing");
        if (beta.status === "missing") expect(beta.reason).toBe("degenerate");
        return;
      }
      expect(beta.status).toBe("estimated");
      if (beta.status !== "estimated") return;
      expectAgreement(beta.rawBeta, olsCase.expected.slope, scale, "slope");
      expectRSquared(beta.rSquared, olsCase.expected.rSquared, "R²");
      expectRelative(beta.standardError, olsCase.expected.standardError, absoluteFloor, "standard error");
      expect(beta.beta).toBe(Math.max(-5, Math.min(5, beta.rawBeta)));
    });

    it("matches statsmodels' slope, intercept and R² stand-alone", () => {
      const fit = fitUnivariateOls(olsCase.x, olsCase.y);
      if (olsCase.expected.slope === null) {
        expect(fit.slope).toBeNull();
        expect(fit.intercept).toBeNull();
        expect(fit.standardError).toBeNull();
        expect(fit.residualVariance).toBeNull();
        return;
      }
      expectAgreement(fit.slope!, olsCase.expected.slope, scale, "slope");
      const interceptScale = Math.max(
        Math.abs(olsCase.expected.intercept!),
        Math.abs(olsCase.expected.slope * mean(olsCase.x)),
      );
      expectAgreement(fit.intercept!, olsCase.expected.intercept!, interceptScale, "intercept");
      expectRSquared(fit.rSquared, olsCase.expected.rSquared, "R²");
    });

    it("matches statsmodels' standard error (bse) and residual variance (mse_resid) stand-alone", () => {
      const fit = fitUnivariateOls(olsCase.x, olsCase.y);
      expectRelative(fit.standardError, olsCase.expected.standardError, absoluteFloor, "standard error");
      expectRelative(fit.residualVariance, olsCase.expected.residualVariance, varianceFloor, "s²");
    });
  });

  describe.each(fixtures.spread.map((c) => [c.name, c] as const))("spread %s", (_, spreadCase) => {
    it("matches statsmodels on long − short through the engine", () => {
      const betas = engineBetas({ Y: spreadCase.y, LONG: spreadCase.long, SHORT: spreadCase.short }, [
        spec({ id: 1, key: "long_short", method: "spread", longSymbol: "LONG", shortSymbol: "SHORT" }),
      ]);
      const beta = betas.long_short!;
      expect(beta.status).toBe("estimated");
      if (beta.status !== "estimated") return;
      expectAgreement(beta.rawBeta, spreadCase.expected.slope!, Math.abs(spreadCase.expected.slope!), "slope");
      expectRSquared(beta.rSquared, spreadCase.expected.rSquared, "R²");
      expectRelative(beta.standardError, spreadCase.expected.standardError, absoluteFloor, "standard error");
    });

    it("matches statsmodels' slope, standard error and residual variance stand-alone", () => {
      // The regressor is long − short in float64, as the engine forms it.
      const spread = spreadCase.long.map((value, i) => value - spreadCase.short[i]!);
      const fit = fitUnivariateOls(spread, spreadCase.y);
      const expected = spreadCase.expected;
      expectAgreement(fit.slope!, expected.slope!, Math.abs(expected.slope!), "slope");
      expectRelative(fit.standardError, expected.standardError, absoluteFloor, "standard error");
      expectRelative(fit.residualVariance, expected.residualVariance, varianceFloor, "s²");
    });
  });
});

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}
