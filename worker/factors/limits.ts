// Exposure limits (docs/design.md §11, "Limits and alerts"): which number of a portfolio's date a
// limit bounds, whether that number is inside the limit's inclusive bounds, and whether that is a
// crossing of the limit's last recorded state. Pure: the batch's portfolio phase (from the numbers
// it just computed), the limit routes and the alert reads (from the stored numbers) feed it the
// same `LimitMetricValues`, so every path decides alike.
//
// Decisions:
// - Bounds are inclusive: a value equal to min or max is within. A value outside [min, max] is a
//   breach; a limit may have one bound only.
// - A missing number (no exposure on the date, no covariance, no benchmark loadings, a variance of
//   0 that leaves shares undefined) neither raises nor clears: the limit keeps the state it had.
//   A non-finite number counts as missing (none is stored, but a limit never compares one).
// - A crossing is a change of state against the limit's last recorded alert (breached → within
//   writes `cleared`, anything but breached → breached writes `breached`); with no alert yet, a
//   value within the bounds records nothing (nothing happened) and a breach records `breached`.
import type { AlertState, LimitMetric } from "../../schema/alerts.ts";

/** What a limit is about: its metric, factor and bounds (at least one bound). */
export interface LimitDefinition {
  metric: LimitMetric;
  /** A lens factor key (exposure metrics) or a risk factor key (risk metrics, factor_share); null otherwise. */
  factorKey: string | null;
  minValue: number | null;
  maxValue: number | null;
}

/** The numbers of one portfolio on one date that limits bound; a missing number is null or absent. */
export interface LimitMetricValues {
  /** Lens factor key → the portfolio's exposure (fraction of equity). */
  exposures: ReadonlyMap<string, number | null>;
  /** Lens factor key → the benchmark symbol's beta (active = exposure − beta). */
  benchmarkBetas: ReadonlyMap<string, number | null>;
  /** Risk factor key → b_p,k. */
  riskExposures: ReadonlyMap<string, number | null>;
  /** Risk factor key → b_a,k (portfolio minus benchmark). */
  activeRiskExposures: ReadonlyMap<string, number | null>;
  /** Risk factor key → c_k / V (its contribution's share of the total variance). */
  factorShares: ReadonlyMap<string, number | null>;
  /** Annualized, fraction of equity. */
  trackingError: number | null;
  /** Annualized, fraction of equity. */
  volatility: number | null;
}

/** The part of a risk block (worker/api/portfolio-risk.ts, as the batch stores it) limits read. */
export interface RiskBlockNumbers {
  exposures: readonly { factor_key: string; exposure: number | null }[] | null;
  active_exposures: readonly { factor_key: string; exposure: number | null }[] | null;
  total: { volatility: number | null; factors: readonly { factor_key: string; share: number | null }[] } | null;
  active: { tracking_error: number | null } | null;
}

export const noLimitValues: LimitMetricValues = {
  exposures: new Map(),
  benchmarkBetas: new Map(),
  riskExposures: new Map(),
  activeRiskExposures: new Map(),
  factorShares: new Map(),
  trackingError: null,
  volatility: null,
};

function finiteOrNull(value: number | null | undefined): number | null {
  return value === null || value === undefined || !Number.isFinite(value) ? null : value;
}

/** The values limits read, from the lens exposures, the benchmark's betas and the day's risk block (if any). */
export function limitValuesOf(input: {
  exposures: Iterable<readonly [string, number | null]>;
  benchmarkBetas: Iterable<readonly [string, number | null]>;
  risk: RiskBlockNumbers | null;
}): LimitMetricValues {
  const byKey = (entries: readonly { factor_key: string; exposure: number | null }[] | null | undefined) =>
    new Map((entries ?? []).map((entry) => [entry.factor_key, finiteOrNull(entry.exposure)]));
  const risk = input.risk;
  return {
    exposures: new Map([...input.exposures].map(([key, value]) => [key, finiteOrNull(value)])),
    benchmarkBetas: new Map([...input.benchmarkBetas].map(([key, value]) => [key, finiteOrNull(value)])),
    riskExposures: byKey(risk?.exposures),
    activeRiskExposures: byKey(risk?.active_exposures),
    factorShares: new Map((risk?.total?.factors ?? []).map((f) => [f.factor_key, finiteOrNull(f.share)])),
    trackingError: finiteOrNull(risk?.active?.tracking_error),
    volatility: finiteOrNull(risk?.total?.volatility),
  };
}

/** The number `limit` bounds on the date of `values`; null when it is missing. */
export function limitValue(
  limit: Pick<LimitDefinition, "metric" | "factorKey">,
  values: LimitMetricValues,
): number | null {
  const key = limit.factorKey ?? "";
  switch (limit.metric) {
    case "exposure":
      return finiteOrNull(values.exposures.get(key));
    case "active_exposure": {
      const exposure = finiteOrNull(values.exposures.get(key));
      const beta = finiteOrNull(values.benchmarkBetas.get(key));
      return exposure === null || beta === null ? null : finiteOrNull(exposure - beta);
    }
    case "risk_exposure":
      return finiteOrNull(values.riskExposures.get(key));
    case "active_risk_exposure":
      return finiteOrNull(values.activeRiskExposures.get(key));
    case "factor_share":
      return finiteOrNull(values.factorShares.get(key));
    case "tracking_error":
      return values.trackingError;
    case "volatility":
      return values.volatility;
  }
}

/** Where a value stands against a limit: outside its bounds, inside them, or unknown (missing). */
export type LimitPosition = "breached" | "within" | "missing";

/** `breached` when the value is outside [min, max] (inclusive bounds), `within` inside, `missing` without one. */
export function limitPosition(
  limit: Pick<LimitDefinition, "minValue" | "maxValue">,
  value: number | null,
): LimitPosition {
  if (value === null || !Number.isFinite(value)) return "missing";
  if (limit.minValue !== null && value < limit.minValue) return "breached";
  if (limit.maxValue !== null && value > limit.maxValue) return "breached";
  return "within";
}

/**
 * The alert a position records, given the limit's last recorded state (null: no alert yet): the
 * new state when it differs, null when nothing crossed (or the value is missing).
 */
export function crossingOf(previous: AlertState | null, position: LimitPosition): AlertState | null {
  if (position === "missing") return null;
  const next: AlertState = position === "breached" ? "breached" : "cleared";
  // With no alert yet the limit counts as within: a first value inside records nothing.
  return (previous ?? "cleared") === next ? null : next;
}

export interface LimitEvaluation {
  value: number | null;
  position: LimitPosition;
  /** The alert to record, or null. */
  crossing: AlertState | null;
}

/** The limit on the date of `values`, against its last recorded state. */
export function evaluateLimit(
  limit: LimitDefinition,
  values: LimitMetricValues,
  previous: AlertState | null,
): LimitEvaluation {
  const value = limitValue(limit, values);
  const position = limitPosition(limit, value);
  return { value, position, crossing: crossingOf(previous, position) };
}

/** Metrics that are fractions of equity or of the variance, shown in percent. */
const percentMetrics: ReadonlySet<LimitMetric> = new Set(["tracking_error", "volatility", "factor_share"]);

const metricNames: Record<LimitMetric, string> = {
  exposure: "exposure",
  active_exposure: "active exposure",
  risk_exposure: "risk exposure",
  active_risk_exposure: "active risk exposure",
  factor_share: "share of variance",
  tracking_error: "tracking error",
  volatility: "volatility",
};

/** A bound or value as the label shows it: percent for fractions, 4 significant digits otherwise. */
export function formatLimitNumber(metric: LimitMetric, value: number): string {
  const shown = percentMetrics.has(metric) ? value * 100 : value;
  const text = String(Number(shown.toPrecision(4)));
  return percentMetrics.has(metric) ? `${text}%` : text;
}

/** A one-line description of what a limit bounds, e.g. "market_beta exposure ≤ 1.2", "volatility in [5%, 20%]". */
export function limitLabel(limit: LimitDefinition): string {
  const subject = `${limit.factorKey ? `${limit.factorKey} ` : ""}${metricNames[limit.metric]}`;
  const format = (value: number) => formatLimitNumber(limit.metric, value);
  if (limit.minValue !== null && limit.maxValue !== null)
    return `${subject} in [${format(limit.minValue)}, ${format(limit.maxValue)}]`;
  if (limit.maxValue !== null) return `${subject} ≤ ${format(limit.maxValue)}`;
  if (limit.minValue !== null) return `${subject} ≥ ${format(limit.minValue)}`;
  return subject;
}
