// The regressions of docs/design.md §4.4, split into a regressor side and a response side so the
// regressor side (means, centred or standardized columns, ZᵀZ and its Cholesky factor) can be
// computed once per factor, window and date and shared by every symbol observed on the same
// dates. The universe engine, the per-symbol path and the stand-alone fits below all call
// these same functions in the same order, which is what makes their results identical.
//
// Definitions, for one regression over observations i = 1..n with regressor columns x_k:
//   mean_k = Σ x_k,i / n            x̃_k,i = x_k,i − mean_k          Sxx_k = Σ x̃_k,i²
//   σ_k = √(Sxx_k / n)   (population, ddof 0, as scikit-learn's StandardScaler)
//   weight u_k,i = x̃_k,i (OLS and spread) or z_k,i = x̃_k,i / σ_k (ridge)
// Response side, with the shift y₀ = the first observation's return (any constant gives the
// same numbers in exact arithmetic; the first return makes a constant series give exact
// zeros, and keeps the one-pass sums well conditioned):
//   d_i = y_i − y₀    S1 = Σ d_i    S2 = Σ d_i²    P_k = Σ u_k,i · d_i   (`dotProduct`)
//   ȳ = y₀ + S1/n     Syy = S2 − S1²/n = Σ(y − ȳ)²
//   cross_k = P_k − (S1/n)·Σ_i u_k,i = Σ u_k,i (y_i − ȳ)
// OLS / spread:  beta = cross / Sxx,  r² = cross² / (Sxx·Syy),  intercept = ȳ − beta·mean.
// Ridge:         b = (ZᵀZ + αI)⁻¹ cross,  beta_k = b_k / σ_k,  intercept = ȳ − Σ beta_k·mean_k,
//                SSR = Syy − 2·bᵀcross + bᵀ(ZᵀZ)b,  r² = 1 − SSR/Syy — scikit-learn's
//                Ridge(alpha, fit_intercept=True) on StandardScaler output, in raw units.
// Both R² lie in [0, 1] in exact arithmetic (Cauchy–Schwarz; ridge's SSR ≤ SST since b = 0 is
// feasible); they are clamped there so rounding cannot store 1 + 1e-16.
// Zero variance (docs/factor-engine.md, "Degenerate"): a column or response is constant when
// its standard deviation is at most n·ε times its root mean square, i.e. indistinguishable
// from the rounding of a constant (a constant c's computed mean is off by up to ~n·ε·|c|).
import { choleskyFactor, choleskySolve } from "./linear-algebra.ts";
import { FactorEngineError } from "./errors.ts";

/** True when values with population variance `variance` and mean `mean` are constant up to rounding. */
export function isConstant(variance: number, mean: number, observations: number): boolean {
  const tolerance = observations * Number.EPSILON;
  return variance <= tolerance * tolerance * (variance + mean * mean);
}

/**
 * Σ a[aOffset + i]·b[bOffset + i] for i < n, as two interleaved partial sums (even and odd i;
 * an odd last term joins the even sum), added at the end. Every cross product of the engine
 * uses this summation order (here or in `dotProductBatch4` / `dotProductBatch4x2`), so the
 * shared and per-symbol paths add the same terms in the same order.
 */
export function dotProduct(a: Float64Array, aOffset: number, b: Float64Array, bOffset: number, n: number): number {
  let even = 0;
  let odd = 0;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    even += a[aOffset + i]! * b[bOffset + i]!;
    odd += a[aOffset + i + 1]! * b[bOffset + i + 1]!;
  }
  if (i < n) even += a[aOffset + i]! * b[bOffset + i]!;
  return even + odd;
}

/**
 * `dotProduct` of one weight column with four response rows at once (rows at `b[q·n …]`),
 * bit-identical to four separate calls; loading each weight once makes it about twice as fast.
 * Results go to `out[outOffset + q·outStride]`.
 */
export function dotProductBatch4(
  a: Float64Array,
  aOffset: number,
  b: Float64Array,
  n: number,
  out: Float64Array,
  outOffset: number,
  outStride: number,
): void {
  let even0 = 0;
  let odd0 = 0;
  let even1 = 0;
  let odd1 = 0;
  let even2 = 0;
  let odd2 = 0;
  let even3 = 0;
  let odd3 = 0;
  const row1 = n;
  const row2 = 2 * n;
  const row3 = 3 * n;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const w0 = a[aOffset + i]!;
    const w1 = a[aOffset + i + 1]!;
    even0 += w0 * b[i]!;
    odd0 += w1 * b[i + 1]!;
    even1 += w0 * b[row1 + i]!;
    odd1 += w1 * b[row1 + i + 1]!;
    even2 += w0 * b[row2 + i]!;
    odd2 += w1 * b[row2 + i + 1]!;
    even3 += w0 * b[row3 + i]!;
    odd3 += w1 * b[row3 + i + 1]!;
  }
  if (i < n) {
    const w0 = a[aOffset + i]!;
    even0 += w0 * b[i]!;
    even1 += w0 * b[row1 + i]!;
    even2 += w0 * b[row2 + i]!;
    even3 += w0 * b[row3 + i]!;
  }
  out[outOffset] = even0 + odd0;
  out[outOffset + outStride] = even1 + odd1;
  out[outOffset + 2 * outStride] = even2 + odd2;
  out[outOffset + 3 * outStride] = even3 + odd3;
}

/**
 * `dotProductBatch4` for two weight columns at once (`a` at `aOffset`, `c` at `cOffset`), bit
 * for bit `dotProduct`'s sums. The even terms are summed in one loop and the odd terms in a
 * second (each sum is still formed in `dotProduct`'s order; an odd last term is the last even
 * one), so a loop holds eight sums, the two weights and one response value — few enough to
 * stay in registers: in the shared path about twice as fast as `dotProductBatch4` column by
 * column. Results go to `out[outOffset + q·outStride]` and `out[outOffset2 + q·outStride]`.
 */
export function dotProductBatch4x2(
  a: Float64Array,
  aOffset: number,
  c: Float64Array,
  cOffset: number,
  b: Float64Array,
  n: number,
  out: Float64Array,
  outOffset: number,
  outOffset2: number,
  outStride: number,
): void {
  const row1 = n;
  const row2 = 2 * n;
  const row3 = 3 * n;
  // Even i: sums with the first column (a…) and the second (c…), one per response row.
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  let c0 = 0;
  let c1 = 0;
  let c2 = 0;
  let c3 = 0;
  for (let i = 0; i < n; i += 2) {
    const w = a[aOffset + i]!;
    const v = c[cOffset + i]!;
    let x = b[i]!;
    a0 += w * x;
    c0 += v * x;
    x = b[row1 + i]!;
    a1 += w * x;
    c1 += v * x;
    x = b[row2 + i]!;
    a2 += w * x;
    c2 += v * x;
    x = b[row3 + i]!;
    a3 += w * x;
    c3 += v * x;
  }
  // Odd i.
  let aOdd0 = 0;
  let aOdd1 = 0;
  let aOdd2 = 0;
  let aOdd3 = 0;
  let cOdd0 = 0;
  let cOdd1 = 0;
  let cOdd2 = 0;
  let cOdd3 = 0;
  for (let i = 1; i < n; i += 2) {
    const w = a[aOffset + i]!;
    const v = c[cOffset + i]!;
    let x = b[i]!;
    aOdd0 += w * x;
    cOdd0 += v * x;
    x = b[row1 + i]!;
    aOdd1 += w * x;
    cOdd1 += v * x;
    x = b[row2 + i]!;
    aOdd2 += w * x;
    cOdd2 += v * x;
    x = b[row3 + i]!;
    aOdd3 += w * x;
    cOdd3 += v * x;
  }
  out[outOffset] = a0 + aOdd0;
  out[outOffset + outStride] = a1 + aOdd1;
  out[outOffset + 2 * outStride] = a2 + aOdd2;
  out[outOffset + 3 * outStride] = a3 + aOdd3;
  out[outOffset2] = c0 + cOdd0;
  out[outOffset2 + outStride] = c1 + cOdd1;
  out[outOffset2 + 2 * outStride] = c2 + cOdd2;
  out[outOffset2 + 3 * outStride] = c3 + cOdd3;
}

/** The regressor side of one regression over its observation dates. Reusable scratch. */
export interface RegressorSummary {
  readonly columnCount: number;
  /** Ridge α; null for a univariate OLS or spread regression. */
  readonly ridgeAlpha: number | null;
  observations: number;
  readonly mean: Float64Array;
  readonly centeredSumOfSquares: Float64Array;
  /** Population standard deviation σ_k. */
  readonly scale: Float64Array;
  /** 1 for a column with zero variance: no beta; a ridge regression drops it. */
  readonly degenerate: Uint8Array;
  /**
   * Column-major weights u (x̃, or z for ridge; 0 for a dropped ridge column): column k of
   * observation i at `k * observations + i`.
   */
  weights: Float64Array;
  /** Σ_i u_k,i (≈ 0; kept so the one-pass cross product is exactly centred). */
  readonly weightSum: Float64Array;
  /** Ridge: the non-degenerate columns, the `activeCount × activeCount` ZᵀZ and chol(ZᵀZ + αI). */
  readonly activeColumns: Int32Array;
  activeCount: number;
  readonly gram: Float64Array;
  readonly choleskyFactor: Float64Array;
  readonly penalizedGram: Float64Array;
  /** False when ZᵀZ + αI is not positive definite (possible only with α = 0). */
  solvable: boolean;
  /**
   * A joint OLS (the risk lens, docs/design.md §11): solved as a ridge with α = 0 on the
   * standardized columns, which is OLS exactly; a column with zero variance or a centred XᵀX
   * whose reciprocal condition number is below 1e-12 makes the whole regression degenerate
   * instead of dropping the column.
   */
  readonly joint: boolean;
  /**
   * Per column: the factor v_k with Var(coefficient_k) = s²·v_k in raw units, from the
   * regressor side alone (so shared by every symbol on the same dates). OLS and spreads:
   * 1/Sxx. Ridge: [A⁻¹ZᵀZA⁻¹]_kk / σ_k² with A = ZᵀZ + αI (for α = 0: [(ZᵀZ)⁻¹]_kk / σ_k²).
   * NaN for a dropped column.
   */
  readonly varianceFactor: Float64Array;
  /** Joint OLS: λ_min/λ_max of the centred XᵀX (0 with a zero-variance column); NaN otherwise. */
  reciprocalCondition: number;
  /** Scratch for the variance factors: A⁻¹ and one column of work. */
  readonly inverse: Float64Array;
  readonly work: Float64Array;
}

export function createRegressorSummary(
  columnCount: number,
  ridgeAlpha: number | null,
  capacity = 0,
  joint = false,
): RegressorSummary {
  if (joint && ridgeAlpha !== 0) throw new RangeError("a joint OLS is solved with α = 0");
  if (ridgeAlpha === null && columnCount !== 1) throw new RangeError("an OLS or spread regression has one regressor");
  return {
    columnCount,
    ridgeAlpha,
    observations: 0,
    mean: new Float64Array(columnCount),
    centeredSumOfSquares: new Float64Array(columnCount),
    scale: new Float64Array(columnCount),
    degenerate: new Uint8Array(columnCount),
    weights: new Float64Array(capacity * columnCount),
    weightSum: new Float64Array(columnCount),
    activeColumns: new Int32Array(columnCount),
    activeCount: 0,
    gram: new Float64Array(columnCount * columnCount),
    choleskyFactor: new Float64Array(columnCount * columnCount),
    penalizedGram: new Float64Array(columnCount * columnCount),
    solvable: true,
    joint,
    varianceFactor: new Float64Array(columnCount),
    reciprocalCondition: NaN,
    inverse: new Float64Array(columnCount * columnCount),
    work: new Float64Array(columnCount),
  };
}

/**
 * Fills `summary` from the regressor series `columns` (indexed by calendar position) at the
 * observation positions `dates[0..observations)`, ascending.
 */
export function summarizeRegressors(
  summary: RegressorSummary,
  columns: readonly Float64Array[],
  dates: Int32Array,
  observations: number,
): void {
  const p = summary.columnCount;
  const n = observations;
  summary.observations = n;
  if (summary.weights.length < n * p) summary.weights = new Float64Array(Math.max(n * p, summary.weights.length * 2));
  const weights = summary.weights;
  const ridge = summary.ridgeAlpha !== null;
  let activeCount = 0;
  for (let k = 0; k < p; k++) {
    const column = columns[k]!;
    const offset = k * n;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += column[dates[i]!]!;
    const mean = sum / n;
    let sxx = 0;
    for (let i = 0; i < n; i++) {
      const centered = column[dates[i]!]! - mean;
      weights[offset + i] = centered;
      sxx += centered * centered;
    }
    const variance = sxx / n;
    const scale = Math.sqrt(variance);
    const degenerate = n === 0 || isConstant(variance, mean, n);
    summary.mean[k] = mean;
    summary.centeredSumOfSquares[k] = sxx;
    summary.scale[k] = scale;
    summary.degenerate[k] = degenerate ? 1 : 0;
    let weightSum = 0;
    if (ridge) {
      if (degenerate) {
        weights.fill(0, offset, offset + n);
      } else {
        for (let i = 0; i < n; i++) {
          const standardized = weights[offset + i]! / scale;
          weights[offset + i] = standardized;
          weightSum += standardized;
        }
        summary.activeColumns[activeCount++] = k;
      }
    } else {
      for (let i = 0; i < n; i++) weightSum += weights[offset + i]!;
    }
    summary.weightSum[k] = weightSum;
  }
  summary.activeCount = activeCount;
  summary.solvable = true;
  if (ridge && activeCount > 0) {
    const q = activeCount;
    const gram = summary.gram;
    for (let a = 0; a < q; a++) {
      const ka = summary.activeColumns[a]!;
      for (let b = 0; b <= a; b++) {
        const kb = summary.activeColumns[b]!;
        const sum = dotProduct(weights, ka * n, weights, kb * n, n);
        gram[a * q + b] = sum;
        gram[b * q + a] = sum;
      }
    }
    // The factor is of ZᵀZ + αI; `gram` itself stays ZᵀZ for the residual sum of squares.
    const penalized = summary.penalizedGram;
    for (let e = 0; e < q * q; e++) penalized[e] = gram[e]!;
    for (let a = 0; a < q; a++) penalized[a * q + a] = gram[a * q + a]! + summary.ridgeAlpha!;
    summary.solvable = choleskyFactor(penalized, q, summary.choleskyFactor);
  }
  completeRegressorSide(summary);
}

/**
 * What the standard errors and the joint regression's conditioning need from the regressor
 * side (`varianceFactor`, `reciprocalCondition`), once the means, scales, ZᵀZ and its factor
 * are set: by `summarizeRegressors`, or by a downdate (downdate.ts).
 */
export function completeRegressorSide(summary: RegressorSummary): void {
  const p = summary.columnCount;
  const factor = summary.varianceFactor;
  if (summary.ridgeAlpha === null) {
    factor[0] = summary.degenerate[0] === 1 ? NaN : 1 / summary.centeredSumOfSquares[0]!;
    return;
  }
  for (let k = 0; k < p; k++) factor[k] = NaN;
  const q = summary.activeCount;
  if (summary.joint) {
    summary.reciprocalCondition = q < p ? 0 : reciprocalConditionOfRawGram(summary);
  }
  if (q === 0 || !summary.solvable) return;
  // Columns of A⁻¹ by solving A·x = e_b with the Cholesky factor.
  const inverse = summary.inverse;
  const work = summary.work;
  for (let b = 0; b < q; b++) {
    for (let a = 0; a < q; a++) work[a] = a === b ? 1 : 0;
    choleskySolve(summary.choleskyFactor, q, work, 0, work, 0);
    for (let a = 0; a < q; a++) inverse[a * q + b] = work[a]!;
  }
  const gram = summary.gram;
  const alpha = summary.ridgeAlpha;
  for (let a = 0; a < q; a++) {
    let variance: number;
    if (alpha === 0) {
      variance = inverse[a * q + a]!;
    } else {
      // [A⁻¹ G A⁻¹]_aa = Σ_bc A⁻¹_ab G_bc A⁻¹_ca.
      variance = 0;
      for (let b = 0; b < q; b++) {
        let row = 0;
        for (let c = 0; c < q; c++) row += gram[b * q + c]! * inverse[c * q + a]!;
        variance += inverse[a * q + b]! * row;
      }
    }
    const k = summary.activeColumns[a]!;
    const scale = summary.scale[k]!;
    factor[k] = variance / (scale * scale);
  }
}

/**
 * λ_min/λ_max of the centred XᵀX = diag(σ√n)… in raw units: (XᵀX)_ab = σ_a σ_b (ZᵀZ)_ab. By
 * cyclic Jacobi rotations (a handful of columns: exact to rounding, no library needed).
 */
function reciprocalConditionOfRawGram(summary: RegressorSummary): number {
  const p = summary.columnCount;
  const m = summary.inverse; // free until the variance factors are formed
  for (let a = 0; a < p; a++)
    for (let b = 0; b < p; b++) m[a * p + b] = summary.gram[a * p + b]! * summary.scale[a]! * summary.scale[b]!;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    let diagonal = 0;
    for (let a = 0; a < p; a++) {
      diagonal += m[a * p + a]! * m[a * p + a]!;
      for (let b = a + 1; b < p; b++) off += m[a * p + b]! * m[a * p + b]!;
    }
    if (off <= 1e-30 * diagonal) break;
    for (let a = 0; a < p; a++) {
      for (let b = a + 1; b < p; b++) {
        const apq = m[a * p + b]!;
        if (apq === 0) continue;
        const theta = (m[b * p + b]! - m[a * p + a]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const sn = t * c;
        for (let k = 0; k < p; k++) {
          const mka = m[k * p + a]!;
          const mkb = m[k * p + b]!;
          m[k * p + a] = c * mka - sn * mkb;
          m[k * p + b] = sn * mka + c * mkb;
        }
        for (let k = 0; k < p; k++) {
          const mak = m[a * p + k]!;
          const mbk = m[b * p + k]!;
          m[a * p + k] = c * mak - sn * mbk;
          m[b * p + k] = sn * mak + c * mbk;
        }
      }
    }
  }
  let smallest = Infinity;
  let largest = 0;
  for (let a = 0; a < p; a++) {
    const eigenvalue = Math.abs(m[a * p + a]!);
    smallest = Math.min(smallest, eigenvalue);
    largest = Math.max(largest, eigenvalue);
  }
  return largest > 0 ? smallest / largest : 0;
}

/** The response side of one fit, reduced to what the solve needs. Reusable scratch. */
export interface ResponseMoments {
  observations: number;
  mean: number;
  /** Syy = Σ(y − ȳ)². */
  centeredSumOfSquares: number;
  /** cross_k = Σ u_k,i (y_i − ȳ), one per column (0 for dropped ridge columns). */
  readonly cross: Float64Array;
}

export function createResponseMoments(columnCount: number): ResponseMoments {
  return { observations: 0, mean: 0, centeredSumOfSquares: 0, cross: new Float64Array(columnCount) };
}

/**
 * Completes `moments` from the one-pass shifted sums (see the header): `products[offset + k]`
 * holds P_k = Σ u_k,i·(y_i − y₀).
 */
export function completeMoments(
  summary: RegressorSummary,
  observations: number,
  shift: number,
  sumDeviation: number,
  sumSquaredDeviation: number,
  products: Float64Array,
  offset: number,
  moments: ResponseMoments,
): void {
  const n = observations;
  const meanDeviation = sumDeviation / n;
  moments.observations = n;
  moments.mean = shift + meanDeviation;
  moments.centeredSumOfSquares = Math.max(0, sumSquaredDeviation - sumDeviation * meanDeviation);
  for (let k = 0; k < summary.columnCount; k++) {
    moments.cross[k] = products[offset + k]! - meanDeviation * summary.weightSum[k]!;
  }
}

/** Shifted sums of a response: d_i = y_i − y₀ into `deviations`, with S1 and S2. */
export interface ResponseSums {
  shift: number;
  sumDeviation: number;
  sumSquaredDeviation: number;
}

export function createResponseSums(): ResponseSums {
  return { shift: 0, sumDeviation: 0, sumSquaredDeviation: 0 };
}

/** d_i = response[i] − response[0], S1 = Σ d_i, S2 = Σ d_i², for i < n. */
export function shiftResponse(response: Float64Array, n: number, deviations: Float64Array, sums: ResponseSums): void {
  const shift = n > 0 ? response[0]! : 0;
  let sumDeviation = 0;
  let sumSquaredDeviation = 0;
  for (let i = 0; i < n; i++) {
    const deviation = response[i]! - shift;
    deviations[i] = deviation;
    sumDeviation += deviation;
    sumSquaredDeviation += deviation * deviation;
  }
  sums.shift = shift;
  sums.sumDeviation = sumDeviation;
  sums.sumSquaredDeviation = sumSquaredDeviation;
}

/**
 * The response side of the per-symbol path, from deviations aligned with `summary`'s
 * observations (`shiftResponse`). Same operations, in the same order, as the shared path.
 */
export function accumulateResponse(
  summary: RegressorSummary,
  deviations: Float64Array,
  sums: ResponseSums,
  products: Float64Array,
  moments: ResponseMoments,
): void {
  const n = summary.observations;
  for (let k = 0; k < summary.columnCount; k++) products[k] = dotProduct(summary.weights, k * n, deviations, 0, n);
  completeMoments(summary, n, sums.shift, sums.sumDeviation, sums.sumSquaredDeviation, products, 0, moments);
}

/** A solved regression. Reusable scratch; NaN marks "no value" and never leaves the engine. */
export interface FitResult {
  /** Raw-unit slopes per column; NaN for a degenerate column. */
  readonly coefficients: Float64Array;
  /** Standardized ridge coefficients b_k (equal to `coefficients` for OLS); NaN when dropped. */
  readonly standardizedCoefficients: Float64Array;
  intercept: number;
  /** NaN when the response is constant (R² is 0/0). */
  rSquared: number;
  responseConstant: boolean;
  /** False when ZᵀZ + αI was singular: no coefficient at all. */
  solved: boolean;
  /** False when an overflow produced a non-finite coefficient or R²: treat as no estimate. */
  finite: boolean;
  /**
   * s² = SSR / (n − q − 1), q the columns estimated (1 for OLS and spreads): the residual
   * variance, daily, in squared return units. NaN when there is no degree of freedom.
   */
  residualVariance: number;
  /**
   * Per column, sqrt(s²·v_k) (`RegressorSummary.varianceFactor`); NaN where the coefficient is.
   * Filled by `fillStandardErrors`, not by `solveFit`: the engine stores s² and v_k and takes
   * the square root only for the betas it hands out.
   */
  readonly standardErrors: Float64Array;
}

export function createFitResult(columnCount: number): FitResult {
  return {
    residualVariance: NaN,
    standardErrors: new Float64Array(columnCount),
    coefficients: new Float64Array(columnCount),
    standardizedCoefficients: new Float64Array(columnCount),
    intercept: 0,
    rSquared: 0,
    responseConstant: false,
    solved: true,
    finite: true,
  };
}

/** Solves one regression from its two sides (formulas in the header). */
export function solveFit(
  summary: RegressorSummary,
  moments: ResponseMoments,
  result: FitResult,
  scratch: Float64Array,
): void {
  const p = summary.columnCount;
  const n = moments.observations;
  const syy = moments.centeredSumOfSquares;
  const meanY = moments.mean;
  const responseConstant = isConstant(syy / n, meanY, n);
  result.responseConstant = responseConstant;
  // Plain loops: TypedArray.fill's call overhead is noticeable at a few elements per symbol.
  for (let k = 0; k < p; k++) {
    result.coefficients[k] = NaN;
    result.standardizedCoefficients[k] = NaN;
  }
  result.solved = true;
  let intercept = meanY;
  let rSquared = NaN;
  let residualSumOfSquares = NaN;
  let estimated = 0;
  if (summary.ridgeAlpha === null) {
    if (summary.degenerate[0] === 0) {
      const sxx = summary.centeredSumOfSquares[0]!;
      const sxy = moments.cross[0]!;
      const slope = sxy / sxx;
      result.coefficients[0] = slope;
      result.standardizedCoefficients[0] = slope;
      intercept -= slope * summary.mean[0]!;
      if (!responseConstant) rSquared = Math.min(1, (sxy * sxy) / (sxx * syy));
      residualSumOfSquares = Math.max(0, syy - slope * sxy);
      estimated = 1;
    }
  } else {
    const q = summary.activeCount;
    if (q > 0 && !summary.solvable) {
      result.solved = false;
    } else if (q > 0) {
      // scratch[0, q): the active columns' cross products; scratch[q, 2q): the solution b.
      // Offsets rather than subarray views: a view is an allocation per symbol.
      for (let a = 0; a < q; a++) scratch[a] = moments.cross[summary.activeColumns[a]!]!;
      choleskySolve(summary.choleskyFactor, q, scratch, 0, scratch, q);
      let fitted = 0; // bᵀ·cross
      let explained = 0; // bᵀ·ZᵀZ·b
      for (let a = 0; a < q; a++) {
        const k = summary.activeColumns[a]!;
        const b = scratch[q + a]!;
        const slope = b / summary.scale[k]!;
        result.standardizedCoefficients[k] = b;
        result.coefficients[k] = slope;
        intercept -= slope * summary.mean[k]!;
        fitted += b * scratch[a]!;
        let row = 0;
        for (let c = 0; c < q; c++) row += summary.gram[a * q + c]! * scratch[q + c]!;
        explained += b * row;
      }
      residualSumOfSquares = Math.max(0, syy - 2 * fitted + explained);
      estimated = q;
      if (!responseConstant) rSquared = Math.min(1, Math.max(0, 1 - residualSumOfSquares / syy));
    } else if (!responseConstant) {
      rSquared = 0;
    }
  }
  result.intercept = intercept;
  result.rSquared = rSquared;
  const freedom = n - estimated - 1;
  const residualVariance = estimated > 0 && freedom > 0 ? residualSumOfSquares / freedom : NaN;
  result.residualVariance = residualVariance;
  let finite = !(rSquared === Infinity || rSquared === -Infinity) && Number.isFinite(syy);
  for (let k = 0; k < p; k++) {
    const coefficient = result.coefficients[k]!;
    if (coefficient === Infinity || coefficient === -Infinity) finite = false;
    if (Number.isNaN(coefficient) && summary.degenerate[k] === 0 && result.solved) finite = false;
  }
  if (residualVariance === Infinity) finite = false;
  result.finite = finite;
}

// ---------------------------------------------------------------------------------------
// Stand-alone fits on plain arrays (tests, reference fixtures, ad-hoc analysis). They run
// the same three steps as the engine.

export interface UnivariateOlsFit {
  observations: number;
  /** Null when the regressor has zero variance. */
  slope: number | null;
  intercept: number | null;
  /** Null when either side has zero variance. */
  rSquared: number | null;
  regressorConstant: boolean;
  responseConstant: boolean;
  /** sqrt(s²/Sxx) with s² = SSR/(n − 2) (statsmodels' `bse[1]`); null when the slope is. */
  standardError: number | null;
  /** s² (statsmodels' `mse_resid`); null when the slope is null or n = 2. */
  residualVariance: number | null;
}

export interface RidgeFit {
  observations: number;
  alpha: number;
  /** Raw-unit slopes; null for a column with zero variance (dropped from the fit). */
  coefficients: (number | null)[];
  /** Coefficients on the standardized columns (scikit-learn's `coef_`); null when dropped. */
  standardizedCoefficients: (number | null)[];
  intercept: number | null;
  rSquared: number | null;
  means: number[];
  scales: number[];
  responseConstant: boolean;
  /** Raw units: sqrt(s²·[A⁻¹ZᵀZA⁻¹]_kk)/σ_k, s² = SSR/(n − q − 1); null when the coefficient is. */
  standardErrors: (number | null)[];
  residualVariance: number | null;
}

function toCheckedSeries(values: ArrayLike<number>, name: string, length: number): Float64Array {
  if (values.length !== length) {
    throw new FactorEngineError("invalid_return", `${name} has ${values.length} values, expected ${length}`);
  }
  const series = Float64Array.from(values);
  for (let i = 0; i < length; i++) {
    if (!Number.isFinite(series[i]!)) throw new FactorEngineError("invalid_return", `${name}[${i}] is ${series[i]}`);
  }
  return series;
}

function identityDates(n: number): Int32Array {
  const dates = new Int32Array(n);
  for (let i = 0; i < n; i++) dates[i] = i;
  return dates;
}

/**
 * For a stand-alone fit with R² ≥ 1 − 1e-4: SSR from the residuals instead of the moments,
 * then s² and the standard errors (universe.ts `refineResiduals` explains why; same rule).
 */
function refineStandAlone(
  summary: RegressorSummary,
  regressors: readonly Float64Array[],
  response: Float64Array,
  result: FitResult,
): void {
  if (!(result.rSquared >= 1 - 1e-4)) return;
  const n = response.length;
  const p = regressors.length;
  let meanY = 0;
  for (let i = 0; i < n; i++) meanY += response[i]!;
  meanY /= n;
  let estimated = 0;
  for (let k = 0; k < p; k++) if (!Number.isNaN(result.coefficients[k]!)) estimated++;
  let ssr = 0;
  for (let i = 0; i < n; i++) {
    let residual = response[i]! - meanY;
    for (let k = 0; k < p; k++) {
      const coefficient = result.coefficients[k]!;
      if (!Number.isNaN(coefficient)) residual -= coefficient * (regressors[k]![i]! - summary.mean[k]!);
    }
    ssr += residual * residual;
  }
  const freedom = n - estimated - 1;
  result.residualVariance = freedom > 0 ? ssr / freedom : NaN;
}

/** `result.standardErrors` from its s² and the summary's variance factors (NaN where no coefficient). */
export function fillStandardErrors(summary: RegressorSummary, result: FitResult): void {
  for (let k = 0; k < summary.columnCount; k++) {
    result.standardErrors[k] = Number.isNaN(result.coefficients[k]!)
      ? NaN
      : Math.sqrt(result.residualVariance * summary.varianceFactor[k]!);
  }
}

function nullable(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

/** OLS of y on x with an intercept. */
export function fitUnivariateOls(x: ArrayLike<number>, y: ArrayLike<number>): UnivariateOlsFit {
  const n = y.length;
  if (n < 2) throw new RangeError(`a regression needs at least 2 observations, got ${n}`);
  const regressor = toCheckedSeries(x, "x", n);
  const response = toCheckedSeries(y, "y", n);
  const summary = createRegressorSummary(1, null, n);
  summarizeRegressors(summary, [regressor], identityDates(n), n);
  const moments = createResponseMoments(1);
  const deviations = new Float64Array(n);
  const sums = createResponseSums();
  shiftResponse(response, n, deviations, sums);
  accumulateResponse(summary, deviations, sums, new Float64Array(1), moments);
  const result = createFitResult(1);
  solveFit(summary, moments, result, new Float64Array(2));
  refineStandAlone(summary, [regressor], response, result);
  fillStandardErrors(summary, result);
  const regressorConstant = summary.degenerate[0] === 1;
  return {
    observations: n,
    slope: regressorConstant ? null : nullable(result.coefficients[0]!),
    intercept: regressorConstant ? null : nullable(result.intercept),
    rSquared: nullable(result.rSquared),
    regressorConstant,
    responseConstant: result.responseConstant,
    standardError: regressorConstant ? null : nullable(result.standardErrors[0]!),
    residualVariance: regressorConstant ? null : nullable(result.residualVariance),
  };
}

/** Ridge of y on the standardized columns, intercept unpenalized, slopes in raw units. */
export function fitStandardizedRidge(
  columns: readonly ArrayLike<number>[],
  y: ArrayLike<number>,
  alpha: number,
): RidgeFit {
  const n = y.length;
  const p = columns.length;
  if (n < 2) throw new RangeError(`a regression needs at least 2 observations, got ${n}`);
  if (p < 1) throw new RangeError("a ridge regression needs at least one column");
  if (!(alpha >= 0) || !Number.isFinite(alpha)) throw new RangeError(`ridge α must be finite and ≥ 0, got ${alpha}`);
  const regressors = columns.map((column, k) => toCheckedSeries(column, `column ${k}`, n));
  const response = toCheckedSeries(y, "y", n);
  const summary = createRegressorSummary(p, alpha, n);
  summarizeRegressors(summary, regressors, identityDates(n), n);
  const moments = createResponseMoments(p);
  const deviations = new Float64Array(n);
  const sums = createResponseSums();
  shiftResponse(response, n, deviations, sums);
  accumulateResponse(summary, deviations, sums, new Float64Array(p), moments);
  const result = createFitResult(p);
  solveFit(summary, moments, result, new Float64Array(2 * p));
  refineStandAlone(summary, regressors, response, result);
  fillStandardErrors(summary, result);
  const ok = result.solved && result.finite;
  return {
    observations: n,
    alpha,
    coefficients: Array.from(result.coefficients, (value) => (ok ? nullable(value) : null)),
    standardizedCoefficients: Array.from(result.standardizedCoefficients, (value) => (ok ? nullable(value) : null)),
    intercept: ok ? nullable(result.intercept) : null,
    rSquared: ok ? nullable(result.rSquared) : null,
    means: Array.from(summary.mean),
    scales: Array.from(summary.scale),
    responseConstant: result.responseConstant,
    standardErrors: Array.from(result.standardErrors, (value) => (ok ? nullable(value) : null)),
    residualVariance: ok ? nullable(result.residualVariance) : null,
  };
}

export interface JointOlsFit {
  observations: number;
  /** Raw-unit slopes (statsmodels' `params[1:]`); null when the regression is degenerate. */
  coefficients: (number | null)[];
  standardErrors: (number | null)[];
  intercept: number | null;
  residualVariance: number | null;
  rSquared: number | null;
  /** λ_min/λ_max of the centred XᵀX; below 1e-12 the fit is degenerate (no coefficients). */
  reciprocalCondition: number;
  degenerate: boolean;
  responseConstant: boolean;
}

/**
 * OLS of y on several columns jointly, with an intercept (statsmodels' `OLS(y,
 * add_constant(X)).fit()`): the risk lens's regression (docs/design.md §11), through the
 * same steps as the engine (a ridge with α = 0 on the standardized columns).
 */
export function fitJointOls(
  columns: readonly ArrayLike<number>[],
  y: ArrayLike<number>,
  minReciprocalCondition = 1e-12,
): JointOlsFit {
  const n = y.length;
  const p = columns.length;
  if (p < 1) throw new RangeError("a joint regression needs at least one column");
  if (n < p + 2) throw new RangeError(`a joint regression on ${p} columns needs at least ${p + 2} observations`);
  const regressors = columns.map((column, k) => toCheckedSeries(column, `column ${k}`, n));
  const response = toCheckedSeries(y, "y", n);
  const summary = createRegressorSummary(p, 0, n, true);
  summarizeRegressors(summary, regressors, identityDates(n), n);
  const moments = createResponseMoments(p);
  const deviations = new Float64Array(n);
  const sums = createResponseSums();
  shiftResponse(response, n, deviations, sums);
  accumulateResponse(summary, deviations, sums, new Float64Array(p), moments);
  const result = createFitResult(p);
  solveFit(summary, moments, result, new Float64Array(2 * p));
  refineStandAlone(summary, regressors, response, result);
  fillStandardErrors(summary, result);
  const degenerate =
    summary.activeCount < p ||
    !(summary.reciprocalCondition >= minReciprocalCondition) ||
    !result.solved ||
    !result.finite;
  const value = (x: number) => (degenerate ? null : nullable(x));
  return {
    observations: n,
    coefficients: Array.from(result.coefficients, value),
    standardErrors: Array.from(result.standardErrors, value),
    intercept: value(result.intercept),
    residualVariance: value(result.residualVariance),
    rSquared: value(result.rSquared),
    reciprocalCondition: summary.reciprocalCondition,
    degenerate,
    responseConstant: result.responseConstant,
  };
}
