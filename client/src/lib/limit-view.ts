// How the dashboard shows limits and their alerts (docs/dashboard.md, "Alerts"): values in the
// metric's own unit (percent for tracking error, volatility and shares, a plain number for
// exposures), the text of an alert, the form's parsing with its inline errors, which of the
// Risk page's bars and tiles a breached limit outlines, and which exposures heatmap cells breach
// a limit. Pure, so it is unit-tested.
import type { LimitResponse } from "../../../.types/worker/api/limits";
import { formatLimitNumber, limitPosition } from "../../../worker/factors/limits.ts";
import { missing } from "./format.ts";
import type { HeatmapView } from "./heatmap-grid.ts";

export type LimitMetric = LimitResponse["metric"];

export const metricLabels: Record<LimitMetric, string> = {
  exposure: "Exposure (lens factor)",
  active_exposure: "Active exposure (lens factor)",
  risk_exposure: "Risk exposure (risk factor)",
  active_risk_exposure: "Active risk exposure (risk factor)",
  factor_share: "Share of variance (risk factor)",
  tracking_error: "Tracking error",
  volatility: "Volatility",
};

/** Which factors a metric names: the lens's (GET /factors), the risk lens's (GET /risk/factors), or none. */
export function factorKind(metric: LimitMetric): "lens" | "risk" | null {
  if (metric === "exposure" || metric === "active_exposure") return "lens";
  if (metric === "risk_exposure" || metric === "active_risk_exposure" || metric === "factor_share") return "risk";
  return null;
}

/** Metrics entered and shown in percent (fractions of equity or of the variance). */
export function isPercentMetric(metric: LimitMetric): boolean {
  return metric === "tracking_error" || metric === "volatility" || metric === "factor_share";
}

/** A limit's number as shown: percent or plain, "—" when missing (never 0). */
export function formatLimitValue(metric: LimitMetric, value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? missing : formatLimitNumber(metric, value);
}

/** "≤ 1.2", "≥ 5%", "in [−0.5, 1.2]": the bounds in the metric's unit. */
export function formatBounds(metric: LimitMetric, min: number | null, max: number | null): string {
  if (min !== null && max !== null) return `in [${formatLimitValue(metric, min)}, ${formatLimitValue(metric, max)}]`;
  if (max !== null) return `≤ ${formatLimitValue(metric, max)}`;
  if (min !== null) return `≥ ${formatLimitValue(metric, min)}`;
  return "";
}

/** Whether a message's metric (a plain string on the wire) is one this dashboard knows. */
export function isLimitMetric(value: string): value is LimitMetric {
  return Object.hasOwn(metricLabels, value);
}

/** What an alert message says in a toast. */
export function alertText(alert: {
  type: "alert.raised" | "alert.cleared";
  metric: string;
  factor_key: string | null;
  value: number;
  min_value: number | null;
  max_value: number | null;
  date: string;
}): { title: string; body: string } {
  const subject = `${alert.factor_key ? `${alert.factor_key} ` : ""}${alert.metric.replaceAll("_", " ")}`;
  const title = alert.type === "alert.raised" ? "Limit breached" : "Back within limit";
  if (!isLimitMetric(alert.metric)) return { title, body: `${subject} ${alert.value} on ${alert.date}` };
  const bounds = formatBounds(alert.metric, alert.min_value, alert.max_value);
  return {
    title,
    body: `${subject} ${formatLimitValue(alert.metric, alert.value)} (limit ${bounds}) on ${alert.date}`,
  };
}

/** The form's fields as typed. */
export interface LimitDraft {
  metric: LimitMetric;
  factorKey: string;
  min: string;
  max: string;
  description: string;
}

export interface LimitBody {
  metric: LimitMetric;
  factor_key: string | null;
  min_value: number | null;
  max_value: number | null;
  description: string;
}

/** A draft from a stored limit (bounds in the metric's unit as typed: percent where shown in percent). */
export function draftOf(limit: LimitResponse | null): LimitDraft {
  if (!limit) return { metric: "exposure", factorKey: "", min: "", max: "", description: "" };
  const typed = (value: number | null) =>
    value === null ? "" : String(isPercentMetric(limit.metric) ? Number((value * 100).toPrecision(12)) : value);
  return {
    metric: limit.metric,
    factorKey: limit.factor_key ?? "",
    min: typed(limit.min_value),
    max: typed(limit.max_value),
    description: limit.description,
  };
}

/**
 * The body the API takes, or the form's own errors by API field name (`factor_key`, `min_value`,
 * `max_value`): the rules the API enforces, checked before sending so they show at once.
 */
export function readLimitDraft(draft: LimitDraft): { body: LimitBody | null; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const scale = isPercentMetric(draft.metric) ? 100 : 1;
  const parse = (text: string, field: "min_value" | "max_value"): number | null => {
    if (text.trim() === "") return null;
    const value = Number(text.trim());
    if (!Number.isFinite(value)) {
      errors[field] = `${field === "min_value" ? "Min" : "Max"} must be a number`;
      return null;
    }
    return value / scale;
  };
  const min = parse(draft.min, "min_value");
  const max = parse(draft.max, "max_value");
  const kind = factorKind(draft.metric);
  if (kind !== null && draft.factorKey === "") errors["factor_key"] = "Choose a factor";
  if (!errors["min_value"] && !errors["max_value"]) {
    if (min === null && max === null) errors["min_value"] = "Give a min, a max or both";
    else if (min !== null && max !== null && min > max) errors["min_value"] = "Min must not be above max";
  }
  if (Object.keys(errors).length > 0) return { body: null, errors };
  return {
    body: {
      metric: draft.metric,
      factor_key: kind === null ? null : draft.factorKey,
      min_value: min,
      max_value: max,
      description: draft.description.trim(),
    },
    errors,
  };
}

/** What a limit is called in lists: its description, else its label. */
export function limitName(limit: Pick<LimitResponse, "description" | "label">): string {
  return limit.description.trim() || limit.label;
}

/** The Risk page's outlines: per view, factor key → the breached limit's text; the two headline tiles. */
export interface RiskBreaches {
  total: Map<string, string>;
  active: Map<string, string>;
  volatility: string | null;
  trackingError: string | null;
}

/**
 * The limits breached on `date` (the date the Risk page shows) that concern its bars and tiles: a
 * risk exposure or a factor share outlines the factor's bar of the total view, an active risk
 * exposure its bar of the active view; volatility and tracking error their tiles. A limit of
 * another date (the page shows an older one) outlines nothing.
 */
export function riskBreaches(limits: readonly LimitResponse[], date: string | null): RiskBreaches {
  const breaches: RiskBreaches = { total: new Map(), active: new Map(), volatility: null, trackingError: null };
  const join = (existing: string | null | undefined, text: string) => (existing ? `${existing}; ${text}` : text);
  for (const limit of limits) {
    if (date === null || limit.current.date !== date || limit.current.position !== "breached") continue;
    const text = `${limitName(limit)} (now ${formatLimitValue(limit.metric, limit.current.value)})`;
    const key = limit.factor_key ?? "";
    if (limit.metric === "risk_exposure" || limit.metric === "factor_share")
      breaches.total.set(key, join(breaches.total.get(key), text));
    else if (limit.metric === "active_risk_exposure") breaches.active.set(key, join(breaches.active.get(key), text));
    else if (limit.metric === "volatility") breaches.volatility = join(breaches.volatility, text);
    else if (limit.metric === "tracking_error") breaches.trackingError = join(breaches.trackingError, text);
  }
  return breaches;
}

/** The limits of one heatmap column's portfolio, and whether the column's numbers use its own benchmark. */
export interface BreachColumn {
  limits: readonly LimitResponse[];
  /**
   * The exposures were served against the portfolio's own benchmark: active exposure limits are
   * evaluated against that one, so against another (or none) an active number says nothing of them.
   */
  ownBenchmark: boolean;
}

/** The heatmap's outlines: breached[row][column], and each cell's text (null where nothing is breached). */
export interface HeatmapBreaches {
  breached: boolean[][];
  texts: (string | null)[][];
}

/** Whether a portfolio's exposures served against `served` (the route's `benchmark`) use its own benchmark. */
export function isOwnBenchmark(served: string | null | undefined, own: string | null | undefined): boolean {
  return served !== null && served !== undefined && served === own;
}

/** The limit metric a heatmap view shows, given whether its benchmark is the portfolio's; null: none. */
function heatmapMetric(view: HeatmapView, ownBenchmark: boolean): LimitMetric | null {
  if (view === "portfolio") return "exposure";
  // A benchmark's own betas are no number of the portfolio that a limit bounds.
  if (view === "active" && ownBenchmark) return "active_exposure";
  return null;
}

/**
 * Which heatmap cells breach a limit (values[row][column], rows the lens factors `rowKeys`,
 * `columns` each column's portfolio): the portfolio view against `exposure` limits of the row's
 * factor, the active view against `active_exposure` ones when the column uses the portfolio's
 * own benchmark, the benchmark view against none. Every date shown is compared with the limit's
 * bounds, not only the latest the API evaluates: the served number is the one the limit bounds.
 * The rule is the evaluation's (worker/factors/limits.ts `limitPosition`): outside the inclusive
 * bounds; a missing number is never a breach. A cell's text names each limit it breaches.
 */
export function heatmapBreaches(
  values: readonly (readonly (number | null)[])[],
  rowKeys: readonly string[],
  view: HeatmapView,
  columns: readonly BreachColumn[],
): HeatmapBreaches {
  // Per column, per factor key: the limits that could outline a cell of that row.
  const byColumn = columns.map((column) => {
    const metric = heatmapMetric(view, column.ownBenchmark);
    const byKey = new Map<string, LimitResponse[]>();
    if (metric === null) return byKey;
    for (const limit of column.limits) {
      if (limit.metric !== metric || limit.factor_key === null) continue;
      byKey.set(limit.factor_key, [...(byKey.get(limit.factor_key) ?? []), limit]);
    }
    return byKey;
  });
  const texts = values.map((row, r) =>
    row.map((value, c) => {
      const key = rowKeys[r];
      const candidates = key === undefined ? undefined : byColumn[c]?.get(key);
      if (!candidates || value === null) return null;
      const breached = candidates.filter(
        (limit) => limitPosition({ minValue: limit.min_value, maxValue: limit.max_value }, value) === "breached",
      );
      return breached.length === 0
        ? null
        : breached
            .map(
              (limit) =>
                `Breaches ${limitName(limit)}: ${formatBounds(limit.metric, limit.min_value, limit.max_value)}`,
            )
            .join("; ");
    }),
  );
  return { breached: texts.map((row) => row.map((text) => text !== null)), texts };
}

/** The legend entry of an outlined cell. */
export const breachLegend = "outlined: breaches a limit";
