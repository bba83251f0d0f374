// Shared shapes of the factor engine: what a factor is, and what a symbol's beta on a
// factor is (an estimate, or missing with its reason — never a 0 standing in for missing).
// Pure types; producers (regressions, batch) and consumers (aggregation, API) import them.
import type { FactorCategory, FactorMethod, QualityFlag } from "../../schema/factors.ts";

export type { FactorCategory, FactorMethod, QualityFlag };

/** A factor as the engine needs it: one row of `factor_definitions`. */
export interface FactorSpec {
  id: number;
  key: string;
  name: string;
  category: FactorCategory;
  method: FactorMethod;
  /** The regressor's symbol for `ols` and `ridge` factors; null for spreads. */
  inputSymbol: string | null;
  /** Spreads regress on long minus short daily returns; null otherwise. */
  longSymbol: string | null;
  shortSymbol: string | null;
  windowDays: number;
  minObservations: number;
  /** Ridge penalty α; all active ridge factors are estimated jointly and must share it. */
  ridgeAlpha: number | null;
}

/** Flags of an estimate that exists. `insufficient_data` always means "no beta". */
export type EstimatedQualityFlag = Exclude<QualityFlag, "insufficient_data">;

interface BetaCommon {
  factorId: number;
  factorKey: string;
  method: FactorMethod;
  calculationDate: string;
  windowDays: number;
  /** Dates used: in the window, with the symbol's return and every input return of the factor. */
  observations: number;
  /** Dates in the window on which every input of the factor has a return (the 80% test's base). */
  factorObservations: number;
}

export interface EstimatedBeta extends BetaCommon {
  status: "estimated";
  /** In raw return units; |beta| <= 5 (see `capped`). Always finite. */
  beta: number;
  /** The uncapped estimate; equals `beta` unless |rawBeta| > 5 (then the flag is `capped`). */
  rawBeta: number;
  /** In-sample R²; null when the symbol's returns have zero variance (R² undefined). */
  rSquared: number | null;
  /**
   * Standard error of `rawBeta` (docs/design.md §11): OLS and spreads sqrt(s²/Sxx), s² =
   * SSR/(n − 2); ridge sqrt(s²·[A⁻¹ZᵀZA⁻¹]_kk)/σ_k, s² = SSR/(n − q − 1). Null when those
   * degrees of freedom are zero (n ≤ 2 for OLS, n ≤ q + 1 for ridge), when the regressor is
   * constant, or for a stored beta computed before standard errors existed.
   */
  standardError: number | null;
  qualityFlag: EstimatedQualityFlag;
  /** Ridge α for ridge factors, null for OLS and spreads. */
  regularizationAlpha: number | null;
}

export type MissingBetaReason =
  | "insufficient_data" // fewer observations than the factor's minimum
  | "degenerate" // a regressor with zero variance in the window: no slope exists
  | "no_factor_data" // the factor's input ETFs have no returns in the window
  // Decided by the batch before the engine runs (stored in symbol_beta_gaps, read back by the aggregation):
  | "stale_prices" // the symbol's last close is too many trading days before the date
  | "no_prices"; // the symbol has no usable close in the window

export interface MissingBeta extends Omit<BetaCommon, "observations" | "factorObservations"> {
  status: "missing";
  /**
   * As on an estimate; null when nothing was counted: a reason the batch decided before any
   * regression (`stale_prices`, `no_prices`), read back from symbol_beta_gaps.
   */
  observations: number | null;
  factorObservations: number | null;
  reason: MissingBetaReason;
  /** Human-readable detail, e.g. "12 observations, 60 required". */
  detail: string;
}

export type SymbolFactorBeta = EstimatedBeta | MissingBeta;

/** All of one symbol's factor betas for one calculation date, keyed by factor key. */
export interface SymbolBetas {
  symbol: string;
  calculationDate: string;
  betas: Record<string, SymbolFactorBeta>;
}
