// Uncertainty of a portfolio exposure to a lens factor (docs/design.md §11, "Uncertainty of a
// portfolio exposure"): one implementation of se_p = sqrt(Σ_s (X_s se_s,f)²), shared by the risk
// route's `lens_exposures` (portfolio-risk.ts), the standard errors the batch stores beside each
// portfolio exposure (worker/batch/portfolio-analytics-phase.ts) and the active standard errors
// the exposures route derives from them (worker/db/portfolio-reads.ts).
//
// Definitions:
// - X_s = Σ_{i on s} w_i·δ_i over the valued positions with a weight and a delta, summed per beta
//   symbol (a stock and the options on it share one symbol, and so one estimation error).
// - se_s,f is the standard error of the symbol's raw lens beta (`SymbolFactorBeta.standardError`);
//   the exposure uses its `beta` (capped at ±5, as the stored exposures are).
// - The estimation errors of different symbols are taken as independent (they are not quite:
//   every symbol is regressed on the same factor returns), so the numbers are indicative; every
//   place that shows them says so (`EXPOSURE_STANDARD_ERROR_NOTE`).
// - A symbol whose beta has no standard error (stored before standard errors existed) makes the
//   whole standard error null (`standard_error_not_computed`), never a smaller number.
// - Distinguishable from zero: exposure ≠ 0 and |exposure| ≥ 2·se.
// - Active (the benchmark B held at weight −1, merged with the portfolio's own X_B): only B's
//   term changes, so se_a² = se_p² − (X_B se_B)² + ((X_B − 1) se_B)² = se_p² + se_B²(1 − 2X_B),
//   exact whatever X_B (0 when B is not held).
import { lookUpBeta } from "./data-quality.ts";
import { requireFinite } from "./errors.ts";
import { betasOf } from "./portfolio.ts";
import type { BetaTable, PositionValuation } from "./portfolio.ts";
import type { FactorSpec } from "./types.ts";

/** The note shown beside every standard error of a portfolio exposure. */
export const EXPOSURE_STANDARD_ERROR_NOTE =
  "Standard errors of portfolio exposures are sqrt(Σ_s (X_s·se_s)²): the estimation errors of different " +
  "symbols' loadings are taken as independent across symbols (they are not quite: every symbol is regressed " +
  "on the same factor returns), so they are indicative. |exposure| < 2·se: not distinguishable from zero.";

/** |exposure| ≥ 2·se and exposure ≠ 0: the exposure can be told from zero. */
export const isDistinguishable = (exposure: number, standardError: number): boolean =>
  exposure !== 0 && Math.abs(exposure) >= 2 * standardError;

/** A beta symbol's summed exposure weight X_s. */
export interface SymbolExposureWeight {
  symbol: string;
  weight: number;
}

const compareSymbols = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * X_s of every beta symbol with valued positions that have a weight and a delta, by symbol (so
 * sums over it are reproducible to the last bit); empty when weights are unavailable (equity ≤ 0).
 */
export function symbolExposureWeights(
  positions: readonly Pick<PositionValuation, "status" | "weight" | "delta" | "betaSymbol">[],
): SymbolExposureWeight[] {
  const weights = new Map<string, number>();
  for (const p of positions) {
    if (p.status !== "valued" || p.weight === null || p.delta === null) continue;
    weights.set(p.betaSymbol, (weights.get(p.betaSymbol) ?? 0) + p.weight * p.delta);
  }
  return [...weights].sort((a, b) => compareSymbols(a[0], b[0])).map(([symbol, weight]) => ({ symbol, weight }));
}

export type ExposureUncertaintyReason = "no_beta" | "standard_error_not_computed";

/** A lens factor's portfolio exposure with its standard error. */
export interface ExposureUncertainty {
  factorId: number;
  factorKey: string;
  /** Σ_s X_s β_s,f over the symbols with an estimated beta; null when none has one. */
  exposure: number | null;
  /** sqrt(Σ_s (X_s se_s,f)²); null with `reason` when not computable. */
  standardError: number | null;
  reason: ExposureUncertaintyReason | null;
  detail: string | null;
  /** null when the standard error is. */
  distinguishable: boolean | null;
  symbolsUsed: number;
}

function finiteOutput(what: string, value: number): number {
  return requireFinite(what, value, "exposure uncertainty");
}

/**
 * Each factor's exposure Σ_s X_s β_s,f and its standard error sqrt(Σ_s (X_s se_s,f)²) over the
 * symbols of `symbols` (`symbolExposureWeights`) that have an estimated beta in `table` (looked up
 * as the aggregation does: `betasOf` over the factors' keys, then `lookUpBeta`).
 */
export function exposureUncertainties(
  factors: readonly FactorSpec[],
  table: BetaTable,
  symbols: readonly SymbolExposureWeight[],
): ExposureUncertainty[] {
  const keys = factors.map((f) => f.key);
  return factors.map((factor) => {
    let exposure = 0;
    let squares = 0;
    let used = 0;
    const withoutError: string[] = [];
    for (const { symbol, weight } of symbols) {
      const lookup = lookUpBeta(betasOf(table, symbol, keys), factor.key);
      if (!("estimate" in lookup)) continue;
      used++;
      exposure += weight * lookup.estimate.beta;
      const se = lookup.estimate.standardError;
      if (se === null) withoutError.push(symbol);
      else squares += (weight * se) ** 2;
    }
    const common = { factorId: factor.id, factorKey: factor.key, symbolsUsed: used };
    if (used === 0) {
      return {
        ...common,
        exposure: null,
        standardError: null,
        reason: "no_beta" as const,
        detail: "no position has a beta for this factor",
        distinguishable: null,
      };
    }
    const value = finiteOutput(`exposure to ${factor.key}`, exposure);
    if (withoutError.length > 0) {
      return {
        ...common,
        exposure: value,
        standardError: null,
        reason: "standard_error_not_computed" as const,
        detail: `no standard error for the beta of ${withoutError.join(", ")}`,
        distinguishable: null,
      };
    }
    const standardError = finiteOutput(`standard error of ${factor.key}`, Math.sqrt(squares));
    return {
      ...common,
      exposure: value,
      standardError,
      reason: null,
      detail: null,
      distinguishable: isDistinguishable(value, standardError),
    };
  });
}

/**
 * The standard error of the active exposure (portfolio − benchmark B) from the portfolio's
 * se_p, its own X_B and the benchmark beta's se_B: sqrt(se_p² + se_B²(1 − 2X_B)) (see the
 * header). A negative rounding residue (a portfolio that is its benchmark: se_a = 0 exactly)
 * counts as 0.
 */
export function activeStandardError(portfolio: number, benchmarkWeight: number, benchmark: number): number {
  const variance = portfolio * portfolio + benchmark * benchmark * (1 - 2 * benchmarkWeight);
  return finiteOutput("active standard error", Math.sqrt(Math.max(0, variance)));
}
