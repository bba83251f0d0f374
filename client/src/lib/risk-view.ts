// The Risk page's arithmetic-free shaping of the API's answers (docs/design.md §11): the holdings
// table's sort, the attribution chart's stacked series, the sparklines' paths and the CSV
// exports. Every number shown is one the API served; nothing here recomputes risk.
import type { AttributionResponse, PortfolioRiskResponse } from "../../../worker/api/portfolio-risk.ts";
import { buildCsv, type CsvCell } from "./csv.ts";

export type HoldingRow = NonNullable<PortfolioRiskResponse["total"]>["holdings"][number];
export type HoldingSortKey =
  | "symbol"
  | "weight"
  | "contribution"
  | "share"
  | "factor_part"
  | "specific_part"
  | "marginal";
export type SortDirection = "ascending" | "descending";

/** Rows sorted by one column; missing numbers last in either direction, ties by symbol. */
export function sortHoldings(rows: readonly HoldingRow[], key: HoldingSortKey, direction: SortDirection): HoldingRow[] {
  const sign = direction === "ascending" ? 1 : -1;
  return [...rows].sort((a, b) => {
    if (key === "symbol") return sign * a.symbol.localeCompare(b.symbol);
    const x = a[key];
    const y = b[key];
    if (x === null || y === null) return x === y ? a.symbol.localeCompare(b.symbol) : x === null ? 1 : -1;
    return x === y ? a.symbol.localeCompare(b.symbol) : sign * (x - y);
  });
}

export interface AttributionLayer {
  /** A risk factor key, or "specific". */
  key: string;
  /** The layer's own cumulative dollars per date (not stacked). */
  values: number[];
}

export interface AttributionStack {
  dates: string[];
  /** Factors in the response's order, then specific. */
  layers: AttributionLayer[];
  /** Running sums of the layers, bottom to top: `stacked[j][t] = Σ_{i ≤ j} layers[i].values[t]`. */
  stacked: number[][];
  /** The cumulative P&L per date (the API's `cumulative.pnl`), which the top of the stack equals. */
  pnl: number[];
}

/**
 * The cumulative attribution as stacked layers, one point per day of the response. A day without
 * attribution keeps the running sums of the days before it (the API's `cumulative` already does).
 */
export function attributionStack(response: AttributionResponse): AttributionStack {
  const dates = response.days.map((day) => day.date);
  const layers: AttributionLayer[] = [
    ...response.factors.map((key) => ({
      key,
      // `cumulative.factor_pnl` has every factor key (sums over the attributed days, 0 before the
      // first one); a key it lacked would be an API bug, shown as no P&L rather than a crash.
      values: response.days.map((day) => day.cumulative.factor_pnl[key] ?? 0),
    })),
    { key: "specific", values: response.days.map((day) => day.cumulative.specific_pnl) },
  ];
  const stacked: number[][] = [];
  let below: number[] = dates.map(() => 0);
  for (const layer of layers) {
    below = layer.values.map((value, t) => (below[t] ?? 0) + value);
    stacked.push(below);
  }
  return { dates, layers, stacked, pnl: response.days.map((day) => day.cumulative.pnl) };
}

/** An SVG polyline's points for a sparkline of `values` in a width × height box (gaps skipped). */
export function sparklinePoints(values: readonly (number | null)[], width: number, height: number): string[] {
  const finite = values.filter((value): value is number => value !== null && Number.isFinite(value));
  if (finite.length === 0) return [];
  const low = Math.min(...finite);
  const high = Math.max(...finite);
  const span = high - low;
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  // Runs of consecutive numbers: a gap (a missing day) breaks the line rather than bridging it.
  const runs: string[] = [];
  let run: string[] = [];
  values.forEach((value, i) => {
    if (value === null || !Number.isFinite(value)) {
      if (run.length > 0) runs.push(run.join(" "));
      run = [];
      return;
    }
    const y = span > 0 ? height - ((value - low) / span) * height : height / 2;
    run.push(`${(i * step).toFixed(1)},${y.toFixed(1)}`);
  });
  if (run.length > 0) runs.push(run.join(" "));
  return runs;
}

type RiskDate = Extract<PortfolioRiskResponse, { mode: "date" }>;

/**
 * One date's risk as long CSV: a `section` column (summary, factor, holding, active_factor,
 * active_holding, exposure), then key, measure and value: one number per line, exactly as served.
 */
export function riskCsv(risk: RiskDate): string {
  const rows: CsvCell[][] = [];
  const add = (section: string, key: string, measure: string, value: number | null) =>
    rows.push([risk.date, section, key, measure, value]);
  add("summary", "portfolio", "equity", risk.equity);
  if (risk.total) {
    for (const measure of [
      "variance",
      "factor_variance",
      "specific_variance",
      "factor_share",
      "volatility",
      "volatility_dollar",
      "value_at_risk_95",
      "value_at_risk_99",
    ] as const)
      add("summary", "total", measure, risk.total[measure]);
  }
  if (risk.active) {
    for (const measure of [
      "variance",
      "factor_variance",
      "specific_variance",
      "factor_share",
      "tracking_error",
      "tracking_error_dollar",
    ] as const)
      add("summary", `active vs ${risk.active.benchmark}`, measure, risk.active[measure]);
  }
  for (const exposure of risk.exposures ?? []) {
    add("exposure", exposure.factor_key, "exposure", exposure.exposure);
    add("exposure", exposure.factor_key, "standard_error", exposure.standard_error);
  }
  for (const exposure of risk.active_exposures ?? []) {
    add("active_exposure", exposure.factor_key, "exposure", exposure.exposure);
    add("active_exposure", exposure.factor_key, "standard_error", exposure.standard_error);
  }
  for (const [section, block] of [
    ["", risk.total],
    ["active_", risk.active],
  ] as const) {
    if (!block) continue;
    for (const factor of block.factors) {
      add(`${section}factor`, factor.factor_key, "contribution", factor.contribution);
      add(`${section}factor`, factor.factor_key, "share", factor.share);
    }
    for (const holding of block.holdings) {
      for (const measure of ["weight", "factor_part", "specific_part", "contribution", "share", "marginal"] as const)
        add(`${section}holding`, holding.symbol, measure, holding[measure]);
    }
  }
  return buildCsv(["date", "section", "key", "measure", "value"], rows);
}

/** The attribution as wide CSV: one line per day, its P&L, each factor's P&L, specific, and the reason of a gap. */
export function attributionCsv(response: AttributionResponse): string {
  const header = [
    "date",
    "status",
    "reason",
    "pnl",
    ...response.factors.map((key) => `factor_pnl_${key}`),
    "factor_pnl_total",
    "specific_pnl",
    "total_return",
    ...response.factors.map((key) => `factor_return_${key}`),
    "specific_return",
  ];
  const rows = response.days.map((day): CsvCell[] => [
    day.date,
    day.status,
    day.reason,
    day.pnl,
    ...response.factors.map((key) => day.factor_pnl?.[key] ?? null),
    day.factor_pnl_total,
    day.specific_pnl,
    day.total_return,
    ...response.factors.map((key) => day.factor_return?.[key] ?? null),
    day.specific_return,
  ]);
  const total = response.total;
  rows.push([
    "total",
    `${total.days} days attributed`,
    null,
    total.pnl,
    ...response.factors.map((key) => total.factor_pnl[key] ?? null),
    total.factor_pnl_total,
    total.specific_pnl,
    total.total_return,
    ...response.factors.map((key) => total.factor_return[key] ?? null),
    total.specific_return,
  ]);
  return buildCsv(header, rows);
}
