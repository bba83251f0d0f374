// The risk model's settings (docs/design.md §11), in one place for the engine, the batch and
// the API. The half-life can be overridden per deployment (`RISK_COVARIANCE_HALF_LIFE_DAYS`).

export interface RiskModelSettings {
  /** Loadings regress on the returns dated in (D − windowDays, D], calendar days. */
  windowDays: number;
  /** Fewer observations than this: no loadings (`insufficient_data`). */
  minObservations: number;
  /** EWMA half-life of the factor covariance, in trading days (the days it uses). */
  halfLifeDays: number;
  /** The covariance uses at most this many of the latest days on which every risk factor has a return. */
  maxCovarianceDays: number;
  /** Fewer such days: no covariance for the date (`insufficient_history`). */
  minCovarianceDays: number;
}

export const defaultRiskModelSettings: Readonly<RiskModelSettings> = {
  windowDays: 365,
  minObservations: 60,
  halfLifeDays: 90,
  maxCovarianceDays: 504,
  minCovarianceDays: 60,
};

/** Trading days per year, to annualize daily variances (σ = sqrt(252·V)). */
export const tradingDaysPerYear = 252;

/** Below this reciprocal condition number of the centred XᵀX the joint regression is `degenerate`. */
export const minReciprocalCondition = 1e-12;
