// The regressor side of a regression over a symbol's own dates S = F minus a few missing
// dates M, derived from the side the date plan computed over the set's dates F (`planDate`)
// by subtracting what the missing dates contributed ("downdating"): O(k·p²) for k missing
// dates instead of the O(n·p²) of summarizing S from scratch. The universe engine uses it for
// symbols that miss some, but not most, of F; everything else about the fit (the response
// side, `completeMoments`, `solveFit`) is the code the other paths run.
//
// Notation (see regression.ts): the plan's weights are u_c,i = (x_c,i − m_c)/unit_c over F,
// with m_c the mean over F and unit_c = σ_c over F for ridge (z-scores), 1 for OLS/spreads
// (centred values). With n_S = n − k, over S:
//   s_c  = Σ_S u_c = W_c − Σ_M u_c                 (W_c = Σ_F u_c, the plan's `weightSum`)
//   C_ab = Σ_S (u_a − s_a/n_S)(u_b − s_b/n_S) = G_ab − Σ_M u_a·u_b − s_a·s_b/n_S
//          (G = Σ_F u_a·u_b: the plan's ZᵀZ for ridge, Sxx for OLS)
//   mean_S,c = m_c + unit_c·s_c/n_S,   Sxx_S,c = unit_c²·C_cc,   τ_c = √(C_cc/n_S) = σ_S,c/unit_c
//   ridge: z_S = (u − s/n_S)/τ, so (ZᵀZ)_S = C_ab/(τ_a·τ_b) and the cross products follow
//   from P_c = Σ_S u_c·d (products with the plan's weights, d = 0 on the missing dates) as
//   cross_c = (P_c − d̄·s_c)/τ_c — `completeMoments` with weight sums s_c/τ_c (OLS: τ = 1).
//
// Precision. The per-symbol path computes the same numbers summed in another order, so the
// two agree to rounding only (not bit for bit, as complete symbols and shared patterns do).
// A first-order rounding model bounds the difference, and a fit whose bound exceeds
// `tolerance` relative on any coefficient or on R² is not trusted: the caller then runs the
// per-symbol fit, the reference. With ε the machine epsilon and c = `roundingFactor`:
//   - cancellation ρ_c = (G_cc + Σ_M u_c² + s_c²/n_S) / C_cc, the magnitude of what was
//     subtracted relative to the result. Above `maxCancellation` (a subset much calmer than
//     F, e.g. a regressor near-constant over S) the downdate is not attempted;
//   - a sum of n terms whose partial sums drift rounds by γ = c·ε·√n of its magnitude
//     (rounding errors add like a random walk): C_cc by γ·ρ_c relative, (ZᵀZ)_ab by
//     γ·n_S·√(ρ_a·ρ_b);
//   - cross products: |δcross_c| ≤ c·ε·(√n·|cross_c| + √ρ_c·(√(N_c·S2) + √n·|d̄|·√N_c)), with
//     N_c = Σ_S (u_c − s_c/n_S)² in cross units: the sum's drift, the magnitude of its terms
//     (Cauchy–Schwarz; large relative to a cross product near 0, i.e. a beta near 0 — the
//     case that most often fails), and the weight sum's rounding times d̄;
//   - OLS: relative error of the slope δcross/|cross| + γ·ρ, of R² twice that;
//   - ridge: δb = (ZᵀZ + αI)⁻¹·(δcross − δ(ZᵀZ)·b), bounded with |(ZᵀZ + αI)⁻¹|; a slope's
//     relative error |δb_a|/|b_a| + γ·ρ_a/2; R² through δSSR = −2bᵀδcross + bᵀδ(ZᵀZ)b
//     − 2αbᵀδb plus the rounding of forming SSR, relative to R²·Syy.
// Calibration (c = 2): over ~90,000 slopes and R² of random universes (the tests' generator,
// with offset means, calm subsets and outliers), the observed differences were at most a
// third of the bound. End to end, 3.1 million betas of 15,000 random universes (457,000
// downdated fits) differed from the per-symbol path by at most 1e-14 relative (R²: 2e-14).
// The default joint ridge (six strongly correlated ETFs) is rarely trusted: its slopes move
// by up to ~1e-11 relative between two summation orders. OLS and spread fits mostly are.
// A slope near the ±5 cap or a column near the degenerate threshold is also left to the
// per-symbol fit, so flags never differ.
import { choleskyFactor, choleskySolve } from "./linear-algebra.ts";
import { betaCap } from "./quality.ts";
import { completeMoments, completeRegressorSide, solveFit } from "./regression.ts";
import type { FitResult, RegressorSummary, ResponseMoments, ResponseSums } from "./regression.ts";

/** Relative difference to the per-symbol fit a downdated fit may carry (tests hold 1e-12). */
export const tolerance = 1e-13;
/** Above this cancellation ratio ρ the per-symbol fit is used (see the header). */
export const maxCancellation = 4;
/** c in the rounding model (header). */
const roundingFactor = 2;
/**
 * A column whose σ over S is within 1e6 of `isConstant`'s threshold (σ ≤ n·ε·rms) is left
 * to the per-symbol fit, so the degenerate test cannot come out differently.
 */
const degenerateMargin = 1e-6;

/** Per-group buffers of a downdated fit (the `summary` holds no weights). */
export interface DowndateGroupScratch {
  readonly summary: RegressorSummary;
  readonly moments: ResponseMoments;
  readonly fit: FitResult;
  readonly solve: Float64Array;
}

/** Buffers shared by every group's downdate, sized for the widest group. */
export interface DowndateScratch {
  /** τ_c = σ_S,c / unit_c. */
  readonly ratio: Float64Array;
  /** G_cc + Σ_M u_c², then √ρ_c. */
  readonly cancellation: Float64Array;
  /** Bound on |δcross_c|. */
  readonly crossError: Float64Array;
  /** P_c / τ_c (ridge) or P_c (OLS). */
  readonly products: Float64Array;
  /** (ZᵀZ + αI)⁻¹, row-major. */
  readonly inverse: Float64Array;
  /** A unit vector, then the residual bound r. */
  readonly work: Float64Array;
}

export function createDowndateScratch(widest: number): DowndateScratch {
  return {
    ratio: new Float64Array(widest),
    cancellation: new Float64Array(widest),
    crossError: new Float64Array(widest),
    products: new Float64Array(widest),
    inverse: new Float64Array(widest * widest),
    work: new Float64Array(widest),
  };
}

/**
 * Fits one group over S = F minus the positions `missing[missingOffset …+k)` (indices into
 * F, ascending) from the plan's summary over F, the symbol's products P_c = Σ_S u_c·d at
 * `products[productsOffset + c]` and its shifted sums over S. Returns false when the fit is
 * not trusted to `tolerance` (or the system is degenerate in a way the per-symbol fit should
 * decide); the caller then fits the symbol directly. On true, `out.summary` and `out.fit`
 * hold what `recordGroup` needs.
 */
export function fitDowndated(
  plan: RegressorSummary,
  missing: Int32Array,
  missingOffset: number,
  k: number,
  products: Float64Array,
  productsOffset: number,
  sums: ResponseSums,
  out: DowndateGroupScratch,
  scratch: DowndateScratch,
): boolean {
  const p = plan.columnCount;
  const n = plan.observations;
  const nS = n - k;
  const ridge = plan.ridgeAlpha !== null;
  // A column constant over F is dropped (ridge) or has no beta; over S it may not be: the
  // per-symbol fit decides. An unsolvable plan (α = 0, collinear) likewise.
  if (nS < 2) return false;
  if (ridge ? plan.activeCount !== p || !plan.solvable : plan.degenerate[0] === 1) return false;
  const summary = out.summary;
  const weights = plan.weights;
  const c = summary.gram; // C, lower triangle first
  const s = summary.weightSum; // s_c until scaled below
  const magnitude = scratch.cancellation; // G_cc + Σ_M u_c², then √ρ_c
  for (let a = 0; a < p; a++) {
    s[a] = plan.weightSum[a]!;
    for (let b = 0; b <= a; b++) c[a * p + b] = ridge ? plan.gram[a * p + b]! : plan.centeredSumOfSquares[0]!;
    magnitude[a] = c[a * p + a]!;
  }
  for (let j = 0; j < k; j++) {
    const i = missing[missingOffset + j]!;
    for (let a = 0; a < p; a++) {
      const ua = weights[a * n + i]!;
      s[a] = s[a]! - ua;
      magnitude[a] = magnitude[a]! + ua * ua;
      for (let b = 0; b <= a; b++) c[a * p + b] = c[a * p + b]! - ua * weights[b * n + i]!;
    }
  }
  for (let a = 0; a < p; a++) {
    for (let b = 0; b <= a; b++) c[a * p + b] = c[a * p + b]! - (s[a]! * s[b]!) / nS;
    const caa = c[a * p + a]!;
    const cancellation = (magnitude[a]! + (s[a]! * s[a]!) / nS) / caa;
    if (!(caa > 0) || !(cancellation <= maxCancellation)) return false;
    const ratio = Math.sqrt(caa / nS);
    const unit = ridge ? plan.scale[a]! : 1;
    const mean = plan.mean[a]! + (unit * s[a]!) / nS;
    const scale = unit * ratio;
    const rmsOverSigma = Math.sqrt(1 + (mean / scale) * (mean / scale));
    if (!(rmsOverSigma * nS * Number.EPSILON <= degenerateMargin)) return false;
    scratch.ratio[a] = ratio;
    magnitude[a] = Math.sqrt(cancellation); // now √ρ_a
    summary.mean[a] = mean;
    summary.centeredSumOfSquares[a] = unit * unit * caa;
    summary.scale[a] = scale;
    summary.degenerate[a] = 0;
    summary.activeColumns[a] = a;
  }
  summary.observations = nS;
  summary.solvable = true;
  const ratio = scratch.ratio;
  const scaledProducts = scratch.products;
  if (ridge) {
    // (ZᵀZ)_S = C/(τ_a τ_b); the weight sums and products in z_S units.
    for (let a = 0; a < p; a++) {
      for (let b = 0; b <= a; b++) {
        const entry = c[a * p + b]! / (ratio[a]! * ratio[b]!);
        c[a * p + b] = entry;
        c[b * p + a] = entry;
      }
    }
    const penalized = summary.penalizedGram;
    for (let e = 0; e < p * p; e++) penalized[e] = c[e]!;
    for (let a = 0; a < p; a++) {
      penalized[a * p + a] = c[a * p + a]! + plan.ridgeAlpha!;
      scaledProducts[a] = products[productsOffset + a]! / ratio[a]!;
      s[a] = s[a]! / ratio[a]!;
    }
    summary.activeCount = p;
    if (!choleskyFactor(penalized, p, summary.choleskyFactor)) return false;
  } else {
    summary.activeCount = 0;
    scaledProducts[0] = products[productsOffset]!;
  }
  completeRegressorSide(summary);
  const moments = out.moments;
  completeMoments(summary, nS, sums.shift, sums.sumDeviation, sums.sumSquaredDeviation, scaledProducts, 0, moments);
  const fit = out.fit;
  solveFit(summary, moments, fit, out.solve);
  if (!fit.solved || !fit.finite) return false;

  // The rounding model (header). s now holds s_c (OLS) or s_c/τ_c (ridge), in cross units.
  const unit = roundingFactor * Number.EPSILON;
  const rootN = Math.sqrt(n);
  const sumUnit = unit * rootN; // γ
  const meanDeviation = Math.abs(sums.sumDeviation / nS);
  const s2 = sums.sumSquaredDeviation;
  const crossError = scratch.crossError;
  const root = scratch.cancellation; // √ρ_c
  for (let a = 0; a < p; a++) {
    // N_a = Σ_S (u_a − s_a/n_S)² in cross units: n_S for ridge (z-scores), C_aa for OLS.
    const natural = ridge ? nS : summary.centeredSumOfSquares[a]!;
    const magnitude = Math.sqrt(natural * s2) + rootN * meanDeviation * Math.sqrt(natural);
    crossError[a] = unit * (rootN * Math.abs(moments.cross[a]!) + root[a]! * magnitude);
  }
  const syy = moments.centeredSumOfSquares;
  const rSquared = fit.rSquared;
  if (!ridge) {
    const relative = crossError[0]! / Math.abs(moments.cross[0]!) + sumUnit * root[0]! * root[0]!;
    if (!(2 * relative <= tolerance)) return false;
    // The standard error rests on SSR = Syy·(1 − R²): relative error 2·relative·R²/(1 − R²).
    if (!Number.isNaN(rSquared) && !(2 * relative * rSquared <= tolerance * (1 - rSquared))) return false;
    return !nearCap(fit.coefficients[0]!, relative);
  }
  // Ridge: bound δb = A⁻¹(δcross − δG·b) with |A⁻¹|, A = (ZᵀZ)_S + αI.
  const inverse = scratch.inverse;
  const work = scratch.work;
  for (let b = 0; b < p; b++) {
    for (let a = 0; a < p; a++) work[a] = a === b ? 1 : 0;
    choleskySolve(summary.choleskyFactor, p, work, 0, work, 0);
    for (let a = 0; a < p; a++) inverse[a * p + b] = work[a]!;
  }
  const solution = fit.standardizedCoefficients;
  let weighted = 0; // Σ_b √ρ_b·|b_b|
  for (let b = 0; b < p; b++) weighted += root[b]! * Math.abs(solution[b]!);
  // r_a = |δcross_a| + Σ_b |δG_ab|·|b_b|, with |δG_ab| ≤ γ·n_S·√(ρ_a ρ_b).
  for (let a = 0; a < p; a++) work[a] = crossError[a]! + sumUnit * nS * root[a]! * weighted;
  let residualError = sumUnit * nS * weighted * weighted; // bound on |δSSR|, from bᵀ·δG·b
  let fitted = 0; // bᵀ·cross ≥ bᵀ·ZᵀZ·b
  for (let a = 0; a < p; a++) {
    fitted += solution[a]! * moments.cross[a]!;
    let bound = 0;
    for (let b = 0; b < p; b++) bound += Math.abs(inverse[a * p + b]!) * work[b]!;
    const coefficient = Math.abs(solution[a]!);
    const relative = bound / coefficient + 0.5 * sumUnit * root[a]! * root[a]!;
    if (!(relative <= tolerance)) return false;
    if (nearCap(fit.coefficients[a]!, relative)) return false;
    residualError += 2 * coefficient * (crossError[a]! + plan.ridgeAlpha! * bound);
  }
  // Forming SSR = Syy − 2bᵀcross + bᵀZᵀZb rounds by ε·(Syy + 3·bᵀcross): large relative to a
  // small R² = 1 − SSR/Syy.
  residualError += unit * (syy + 3 * Math.abs(fitted));
  if (!Number.isNaN(rSquared)) {
    if (!(residualError <= tolerance * rSquared * syy)) return false;
    // The standard errors rest on SSR itself.
    if (!(residualError <= tolerance * (1 - rSquared) * syy)) return false;
  }
  return true;
}

/** True when a beta within `relative` of itself could fall on the other side of the ±5 cap. */
function nearCap(beta: number, relative: number): boolean {
  return Math.abs(Math.abs(beta) - betaCap) <= 2 * relative * Math.abs(beta);
}
