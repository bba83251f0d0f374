// Quality flags (docs/factor-engine.md, "Quality flags") and the conversion of the engine's
// compact per-(symbol, factor) outcome into the shared result types.
//
// Precedence for an estimate: degenerate (constant symbol returns) > capped > limited_history
// > ok. A beta is missing, never 0, when the factor has no data in the window, when the
// symbol has fewer observations than the factor's minimum, when the factor's regressor has
// zero variance, or (defensive) when the solve is singular or not finite.
import type { EstimatedBeta, FactorSpec, MissingBeta, SymbolFactorBeta } from "./types.ts";

/** One byte per (symbol, factor) in the engine's tables. */
export const Outcome = {
  ok: 0,
  limitedHistory: 1,
  capped: 2,
  /** Estimated, but the symbol's returns are constant: beta kept, R² null. */
  degenerateEstimate: 3,
  insufficientData: 4,
  /** The factor's regressor has zero variance in the window. */
  degenerateRegressor: 5,
  noFactorData: 6,
  /** ZᵀZ + αI not positive definite (only possible with α = 0 and collinear inputs). */
  singularSystem: 7,
  /** An overflow made the estimate non-finite (absurd returns); never stored. */
  nonFinite: 8,
} as const;
export type OutcomeCode = (typeof Outcome)[keyof typeof Outcome];

export const betaCap = 5;

export function isEstimated(outcome: number): boolean {
  return outcome <= Outcome.degenerateEstimate;
}

/** |beta| ≤ 5 as stored; the raw value is kept beside it. */
export function capBeta(rawBeta: number): number {
  return Math.min(betaCap, Math.max(-betaCap, rawBeta));
}

/**
 * The flag of an estimate. `limited_history`: fewer than 80% of the factor observations,
 * tested as 5·n < 4·N so it is exact in integers.
 */
export function classifyEstimate(
  rawBeta: number,
  responseConstant: boolean,
  observations: number,
  factorObservations: number,
  capped = true,
): OutcomeCode {
  if (responseConstant) return Outcome.degenerateEstimate;
  if (capped && Math.abs(rawBeta) > betaCap) return Outcome.capped;
  if (5 * observations < 4 * factorObservations) return Outcome.limitedHistory;
  return Outcome.ok;
}

const estimatedFlags = ["ok", "limited_history", "capped", "degenerate"] as const;

/** What the materialized result needs to know about a factor besides its spec. */
export interface FactorDescription {
  spec: FactorSpec;
  /** The regressor's label for messages: `SPY`, `VUG − VTV`. */
  regressorLabel: string;
  /** Every input symbol of the regression the factor is part of (all ridge inputs for ridge). */
  inputSymbols: readonly string[];
}

export function materializeBeta(
  factor: FactorDescription,
  calculationDate: string,
  outcome: number,
  rawBeta: number,
  rSquared: number,
  observations: number,
  factorObservations: number,
  standardError: number,
): SymbolFactorBeta {
  const spec = factor.spec;
  // Object literals with every field spelled out (no spread): one hidden class per status,
  // which keeps materializing a 5,000-symbol universe cheap.
  if (isEstimated(outcome)) {
    const estimated: EstimatedBeta = {
      factorId: spec.id,
      factorKey: spec.key,
      method: spec.method,
      calculationDate,
      windowDays: spec.windowDays,
      observations,
      factorObservations,
      status: "estimated",
      beta: capBeta(rawBeta),
      rawBeta,
      rSquared: Number.isFinite(rSquared) ? rSquared : null,
      standardError: Number.isFinite(standardError) ? standardError : null,
      qualityFlag: estimatedFlags[outcome]!,
      regularizationAlpha: spec.method === "ridge" ? spec.ridgeAlpha : null,
    };
    return estimated;
  }
  const missing: MissingBeta = {
    factorId: spec.id,
    factorKey: spec.key,
    method: spec.method,
    calculationDate,
    windowDays: spec.windowDays,
    observations,
    factorObservations,
    status: "missing",
    reason:
      outcome === Outcome.insufficientData
        ? "insufficient_data"
        : outcome === Outcome.noFactorData
          ? "no_factor_data"
          : "degenerate",
    detail: missingDetail(factor, calculationDate, outcome, observations),
  };
  return missing;
}

function missingDetail(
  factor: FactorDescription,
  calculationDate: string,
  outcome: number,
  observations: number,
): string {
  const spec = factor.spec;
  switch (outcome) {
    case Outcome.insufficientData:
      return `${observations} observations, ${spec.minObservations} required`;
    case Outcome.noFactorData:
      return (
        `no day with returns of all of ${factor.inputSymbols.join(", ")} ` +
        `in the ${spec.windowDays}-day window ending ${calculationDate}`
      );
    case Outcome.degenerateRegressor:
      return `${factor.regressorLabel} returns have zero variance over the ${observations} observations`;
    case Outcome.singularSystem:
      return (
        `the inputs ${factor.inputSymbols.join(", ")} are collinear ` +
        `and α = ${spec.ridgeAlpha} cannot separate them`
      );
    default:
      return "the estimate is not finite (extreme returns)";
  }
}
