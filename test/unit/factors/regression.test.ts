// Identities of the regressions (property tests) and recovery of known betas.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fitStandardizedRidge, fitUnivariateOls } from "../../../worker/factors/regression.ts";
import { closeTo, createNormal, createRandom } from "./synthetic-universe.ts";
import { leastSquares, mean, standardize } from "./least-squares.ts";

/** n draws of p correlated return-like columns (a common factor plus own noise) and y. */
function sample(seed: number, n: number, p: number, noise = 0.01) {
  const normal = createNormal(createRandom(seed));
  const common = Array.from({ length: n }, () => 0.0003 + 0.01 * normal());
  const loadings = Array.from({ length: p }, (_, k) => 0.5 + 0.1 * k);
  const columns = loadings.map((loading, k) => common.map((c) => loading * c + (0.004 + 0.001 * k) * normal()));
  const betas = Array.from({ length: p }, (_, k) => ((k % 3) - 1) * 0.4 + 0.1);
  const y = common.map((_, i) => 0.0002 + columns.reduce((sum, column, k) => sum + betas[k]! * column[i]!, 0) + noise * normal());
  return { columns, y, betas };
}

const problem = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  n: fc.integer({ min: 12, max: 300 }),
  p: fc.integer({ min: 1, max: 6 }),
});

describe("ridge regression identities", () => {
  it("with α → 0 equals multivariate OLS on the same standardized columns", () => {
    fc.assert(
      fc.property(problem, ({ seed, n, p }) => {
        const { columns, y } = sample(seed, n, p);
        const standardized = columns.map((column) => standardize(column));
        // OLS with intercept on the standardized columns, by Householder QR.
        const ols = leastSquares([new Array<number>(n).fill(1), ...standardized.map((s) => s.standardized)], y);
        const ridge = fitStandardizedRidge(columns, y, 1e-10);
        // The ridge solution differs from OLS by α·(ZᵀZ)⁻¹b, relatively ≲ α / λ_min(ZᵀZ): with
        // these well-conditioned columns λ_min ≳ n·1e-2, so 1e-10 moves b by < 1e-9 relative;
        // rounding adds κ·ε ≲ 1e-12. 1e-7 leaves room without hiding a wrong formula.
        for (let k = 0; k < p; k++) {
          const expected = ols.coefficients[k + 1]!;
          expect(closeTo(ridge.standardizedCoefficients[k]!, expected, 1e-7, 1e-6)).toBe(true);
          expect(closeTo(ridge.coefficients[k]!, expected / standardized[k]!.scale, 1e-7, 1e-4)).toBe(true);
        }
      }),
    );
  });

  it("scales a regressor's beta by 1/c when the regressor is scaled by c (other betas unchanged)", () => {
    fc.assert(
      fc.property(
        problem,
        fc.double({ min: 1e-3, max: 1e3, noNaN: true }),
        fc.boolean(),
        fc.nat(),
        ({ seed, n, p }, magnitude, negative, pick) => {
          const c = negative ? -magnitude : magnitude;
          const j = pick % p;
          const { columns, y } = sample(seed, n, p);
          const base = fitStandardizedRidge(columns, y, 1);
          const scaled = fitStandardizedRidge(columns.map((column, k) => (k === j ? column.map((x) => c * x) : column)), y, 1);
          // Standardization makes z_j invariant up to sign, so only rounding (a few ε times the
          // condition of ZᵀZ + αI ≤ 1 + n·p) separates the two: 1e-9 is ample.
          for (let k = 0; k < p; k++) {
            const expected = k === j ? base.coefficients[k]! / c : base.coefficients[k]!;
            expect(closeTo(scaled.coefficients[k]!, expected, 1e-9, 1e-9 * Math.abs(base.coefficients[k]! / (k === j ? c : 1)) + 1e-300)).toBe(true);
          }
          expect(closeTo(scaled.rSquared!, base.rSquared!, 1e-9, 1)).toBe(true);
        },
      ),
    );
  });

  it("satisfies its normal equations: Zᵀ(y − ȳ − Zb) = α·b", () => {
    fc.assert(
      fc.property(problem, fc.double({ min: 0.01, max: 100, noNaN: true }), ({ seed, n, p }, alpha) => {
        const { columns, y } = sample(seed, n, p);
        const fit = fitStandardizedRidge(columns, y, alpha);
        const z = columns.map((column) => standardize(column).standardized);
        const yMean = mean(y);
        const residual = y.map((value, i) => value - yMean - z.reduce((sum, column, k) => sum + column[i]! * fit.standardizedCoefficients[k]!, 0));
        const residualNorm = Math.sqrt(residual.reduce((sum, value) => sum + value * value, 0));
        for (let k = 0; k < p; k++) {
          const gradient = z[k]!.reduce((sum, value, i) => sum + value * residual[i]!, 0);
          // Both sides are O(‖z_k‖·‖residual‖) = O(√n·‖residual‖); rounding is ε times that.
          expect(Math.abs(gradient - alpha * fit.standardizedCoefficients[k]!)).toBeLessThan(1e-10 * Math.sqrt(n) * residualNorm);
        }
      }),
    );
  });

  it("ignores a constant column (no beta) and fits the others as without it", () => {
    fc.assert(
      fc.property(problem, fc.double({ min: -0.01, max: 0.01, noNaN: true }), ({ seed, n, p }, level) => {
        const { columns, y } = sample(seed, n, p);
        const withConstant = fitStandardizedRidge([...columns, new Array<number>(n).fill(level)], y, 1);
        const without = fitStandardizedRidge(columns, y, 1);
        expect(withConstant.coefficients[p]).toBeNull();
        for (let k = 0; k < p; k++) expect(withConstant.coefficients[k]).toBe(without.coefficients[k]);
        expect(withConstant.rSquared).toBe(without.rSquared);
      }),
    );
  });
});

describe("univariate OLS identities", () => {
  it("leaves residuals that sum to zero and are orthogonal to the regressor", () => {
    fc.assert(
      fc.property(problem, ({ seed, n }) => {
        const { columns, y } = sample(seed, n, 1);
        const x = columns[0]!;
        const fit = fitUnivariateOls(x, y);
        const residuals = y.map((value, i) => value - fit.intercept! - fit.slope! * x[i]!);
        const scaleY = Math.sqrt(y.reduce((sum, value) => sum + value * value, 0));
        const scaleX = Math.sqrt(x.reduce((sum, value) => sum + value * value, 0));
        // Exact zeros in exact arithmetic; rounding leaves ε·n-sized multiples of the norms.
        expect(Math.abs(residuals.reduce((sum, value) => sum + value, 0))).toBeLessThan(1e-12 * n * scaleY);
        expect(Math.abs(residuals.reduce((sum, value, i) => sum + value * x[i]!, 0))).toBeLessThan(1e-12 * n * scaleX * scaleY);
      }),
    );
  });

  it("scales the slope by 1/c and ignores shifts of either variable", () => {
    fc.assert(
      fc.property(
        problem,
        fc.double({ min: 1e-3, max: 1e3, noNaN: true }),
        fc.double({ min: -0.05, max: 0.05, noNaN: true }),
        ({ seed, n }, c, shift) => {
          const { columns, y } = sample(seed, n, 1);
          const x = columns[0]!;
          const base = fitUnivariateOls(x, y);
          // Shifting by up to 0.05 (5σ) costs ≈ (shift/σ)² ε of the centred sums: 1e-10 is ample.
          expect(closeTo(fitUnivariateOls(x.map((v) => c * v), y).slope!, base.slope! / c, 1e-10, 0)).toBe(true);
          expect(closeTo(fitUnivariateOls(x.map((v) => v + shift), y).slope!, base.slope!, 1e-10, 1)).toBe(true);
          expect(closeTo(fitUnivariateOls(x, y.map((v) => v + shift)).slope!, base.slope!, 1e-10, 1)).toBe(true);
          expect(closeTo(fitUnivariateOls(x.map((v) => -v), y).rSquared!, base.rSquared!, 1e-12, 1)).toBe(true);
        },
      ),
    );
  });

  it("reports a constant regressor as no slope and constant returns as slope 0 with no R²", () => {
    const fit = fitUnivariateOls([0.01, 0.01, 0.01, 0.01], [0.1, -0.2, 0.3, 0]);
    expect(fit.slope).toBeNull();
    expect(fit.regressorConstant).toBe(true);
    const flat = fitUnivariateOls([0.01, -0.02, 0.005, 0.03], [0.002, 0.002, 0.002, 0.002]);
    expect(flat.slope).toBe(0);
    expect(flat.rSquared).toBeNull();
    expect(flat.responseConstant).toBe(true);
  });
});

describe("recovery of known betas", () => {
  // Deterministic seeds: these are statistical statements, each allowed 5 standard errors,
  // i.e. a failure probability of 6e-7 per coefficient had the seeds been drawn at random.
  const recovery = fc.record({ seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }), n: fc.integer({ min: 60, max: 500 }) });

  it("OLS lands within 5 standard errors, SE = σ_ε / √Sxx", () => {
    fc.assert(
      fc.property(recovery, ({ seed, n }) => {
        const normal = createNormal(createRandom(seed));
        const beta = -1 + 3 * createRandom(seed + 1)();
        const sigma = 0.015;
        const x = Array.from({ length: n }, () => 0.0004 + 0.011 * normal());
        const y = x.map((value) => 0.0001 + beta * value + sigma * normal());
        const xMean = mean(x);
        const sxx = x.reduce((sum, value) => sum + (value - xMean) ** 2, 0);
        const fit = fitUnivariateOls(x, y);
        expect(Math.abs(fit.slope! - beta)).toBeLessThan((5 * sigma) / Math.sqrt(sxx));
      }),
      { seed: 11, numRuns: 200 },
    );
  });

  it("ridge: its noise part is within 5 OLS standard errors and its noise-free part is the ridge formula", () => {
    fc.assert(
      fc.property(recovery, fc.integer({ min: 2, max: 6 }), ({ seed, n }, p) => {
        const sigma = 0.012;
        const { columns, betas } = sample(seed, n, p, 0);
        const normal = createNormal(createRandom(seed + 7));
        const noiseFree = columns[0]!.map((_, i) => 0.0002 + columns.reduce((sum, column, k) => sum + betas[k]! * column[i]!, 0));
        const y = noiseFree.map((value) => value + sigma * normal());
        const fit = fitStandardizedRidge(columns, y, 1);
        const exact = fitStandardizedRidge(columns, noiseFree, 1);
        // Ridge is linear in y: fit − exact is the ridge estimate on pure noise, whose variance
        // σ²(G+αI)⁻¹G(G+αI)⁻¹ is below OLS's σ²G⁻¹ (G = centred XᵀX), coordinate by coordinate.
        const centred = columns.map((column) => {
          const m = mean(column);
          return column.map((value) => value - m);
        });
        const ols = leastSquares(centred, y.map((value) => value - mean(y)));
        for (let k = 0; k < p; k++) {
          const standardError = sigma * Math.sqrt(ols.inverseGramDiagonal[k]!);
          expect(Math.abs(fit.coefficients[k]! - exact.coefficients[k]!)).toBeLessThan(5 * standardError);
        }
        // The noise-free fit is ridge's shrinkage of the true betas: the augmented least squares
        // [Z; √α·I] b = [y − ȳ; 0], solved by QR, independently of the engine.
        const z = columns.map((column) => standardize(column));
        const augmented = z.map((s, k) => [...s.standardized, ...Array.from({ length: p }, (_, j) => (j === k ? 1 : 0))]);
        const target = [...noiseFree.map((value) => value - mean(noiseFree)), ...new Array<number>(p).fill(0)];
        const reference = leastSquares(augmented, target);
        for (let k = 0; k < p; k++) {
          expect(closeTo(exact.coefficients[k]!, reference.coefficients[k]! / z[k]!.scale, 1e-8, Math.abs(betas[k]!) + 1e-3)).toBe(true);
        }
      }),
      { seed: 12, numRuns: 100 },
    );
  });
});
