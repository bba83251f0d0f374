// The drill-down's pure parts (components/drill-down.tsx): its rows as the table shows them
// (notional and delta-adjusted weights), sorting by any column, the symbol/name filter, the
// totals with the cash row that reconcile the weights with equity, and the CSV.
//
// Decisions:
// - A weight is notional: market value / equity, an option at contracts × multiplier ×
//   underlying close. Its delta-adjusted weight is delta × weight, the size that moves with
//   the underlying; the contribution is delta-adjusted weight × beta. A far out-of-the-money
//   put can weigh 90 % at notional and −0.05 % delta-adjusted: both are shown.
// - Equity is cash + stocks' values + options' premiums, so the weights (holdings, the left-out
//   holdings that have a value, and cash) sum to 100 % plus the options' notional beyond their
//   premium: Σ weights = 1 + (options_notional − options_premium) / equity. The note says so,
//   and that short positions count negative (their proceeds are in cash).
// - Totals are always of every holding; a filter only hides rows, and the note says how many.
// - No sort is the API's order (largest |contribution| first). A column's first click sorts
//   text A→Z and numbers largest first; a second click reverses. Missing numbers sort last
//   either way; ties keep the API's order.
// - The CSV has every row whatever the filter, in the table's order, under a header block
//   (factor, portfolio, date, view, equity, precision). Numbers are rounded to a stated
//   precision — weights and deltas to 6 decimals, betas and exposures to 6 significant digits,
//   dollars to the cent — so no 0.30000000000000004; totals are summed before rounding.
import { buildCsv, type CsvCell, roundCents, roundDecimals, roundSignificant } from "./csv.ts";
import { formatExposure, formatPercent } from "./format.ts";

/** The parts of a drill-down answer this module reads (GET /portfolios/:id/exposures/stocks). */
export interface DrillDownRowLike {
  symbol: string;
  beta_symbol: string;
  instrument: string;
  position_ids: readonly string[];
  market_value: number;
  weight: number | null;
  delta: number;
  beta: number;
  quality_flag: string;
  contribution: number | null;
  contribution_dollar: number;
  name?: string | null;
  premium_value?: number | null;
}

export interface DrillDownMissingLike {
  symbol: string;
  beta_symbol: string;
  instrument: string;
  position_ids: readonly string[];
  reason: string;
  detail: string;
  market_value: number | null;
  weight: number | null;
  name?: string | null;
}

export interface DrillDownLike {
  equity: number;
  cash: number;
  options_notional: number;
  options_premium: number;
  weights_available: boolean;
  rows: readonly DrillDownRowLike[];
  missing: readonly DrillDownMissingLike[];
  exposure: number | null;
  exposure_dollar: number | null;
}

/** One holding row as the table shows it; `order` is its place in the API's order. */
export interface HoldingRow {
  key: string;
  order: number;
  symbol: string;
  betaSymbol: string;
  name: string | null;
  instrument: string;
  positions: number;
  marketValue: number;
  weight: number | null;
  /** delta × weight; null when weights are not available. */
  deltaWeight: number | null;
  delta: number;
  beta: number;
  contribution: number | null;
  contributionDollar: number;
  premiumValue: number | null;
  qualityFlag: string;
}

export interface LeftOutRow {
  key: string;
  order: number;
  symbol: string;
  betaSymbol: string;
  name: string | null;
  instrument: string;
  positions: number;
  reason: string;
  detail: string;
  marketValue: number | null;
  weight: number | null;
}

export function holdingRows(data: Pick<DrillDownLike, "rows">): HoldingRow[] {
  return data.rows.map((row, order) => ({
    key: `${row.symbol}|${row.position_ids.join(",")}`,
    order,
    symbol: row.symbol,
    betaSymbol: row.beta_symbol,
    name: row.name ?? null,
    instrument: row.instrument,
    positions: row.position_ids.length,
    marketValue: row.market_value,
    weight: row.weight,
    deltaWeight: row.weight === null ? null : row.weight * row.delta,
    delta: row.delta,
    beta: row.beta,
    contribution: row.contribution,
    contributionDollar: row.contribution_dollar,
    premiumValue: row.premium_value ?? null,
    qualityFlag: row.quality_flag,
  }));
}

export function leftOutRows(data: Pick<DrillDownLike, "missing">): LeftOutRow[] {
  return data.missing.map((row, order) => ({
    key: `${row.symbol}|${row.reason}|${row.position_ids.join(",")}`,
    order,
    symbol: row.symbol,
    betaSymbol: row.beta_symbol,
    name: row.name ?? null,
    instrument: row.instrument,
    positions: row.position_ids.length,
    reason: row.reason,
    detail: row.detail,
    marketValue: row.market_value,
    weight: row.weight,
  }));
}

/**
 * A delta as the table shows it: 2 decimals, 4 below 0.01 in size (a far out-of-the-money
 * option's −0.0006 is not 0.00).
 */
export function formatDelta(delta: number): string {
  return formatExposure(delta, Math.abs(delta) < 0.01 && delta !== 0 ? 4 : 2);
}

const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** An OCC option symbol's terms (`SPY 270401P00504000` → put, strike 504, expiry 2027-04-01); null otherwise. */
export function optionTerms(symbol: string): { type: "call" | "put"; strike: number; expiry: string } | null {
  const match = /^\S+\s+(\d{2})(\d{2})(\d{2})([CP])(\d{8})$/.exec(symbol.trim());
  if (!match) return null;
  const [, yy, mm, dd, kind, strike] = match as unknown as [string, string, string, string, string, string];
  if (Number(mm) < 1 || Number(mm) > 12 || Number(dd) < 1 || Number(dd) > 31) return null;
  return { type: kind === "C" ? "call" : "put", strike: Number(strike) / 1000, expiry: `20${yy}-${mm}-${dd}` };
}

/**
 * The line under a holding's symbol: its company name; for an option its terms
 * (`put 504 · Apr 1 2027`), or the underlying and its name when the symbol is not OCC-formed.
 */
export function holdingLine(row: { symbol: string; betaSymbol: string; name: string | null }): string {
  if (row.symbol === row.betaSymbol) return row.name ?? "";
  const terms = optionTerms(row.symbol);
  if (terms) {
    const [year, month, day] = terms.expiry.split("-");
    return `${terms.type} ${terms.strike} · ${months[Number(month) - 1]} ${Number(day)} ${year}`;
  }
  return row.name ? `on ${row.betaSymbol} · ${row.name}` : `on ${row.betaSymbol}`;
}

// ---- sorting ----------------------------------------------------------------------------------

export type SortKey =
  | "symbol"
  | "instrument"
  | "weight"
  | "delta_weight"
  | "delta"
  | "beta"
  | "contribution"
  | "contribution_dollar";
export type SortDirection = "ascending" | "descending";
export interface SortState {
  key: SortKey;
  direction: SortDirection;
}

const textKeys: ReadonlySet<SortKey> = new Set(["symbol", "instrument"]);

/** The sort after a click on `key`'s header: a new column starts A→Z or largest first; the same one reverses. */
export function nextSort(current: SortState | null, key: SortKey): SortState {
  if (current?.key === key) return { key, direction: current.direction === "ascending" ? "descending" : "ascending" };
  return { key, direction: textKeys.has(key) ? "ascending" : "descending" };
}

function holdingValue(row: HoldingRow, key: SortKey): string | number | null {
  switch (key) {
    case "symbol":
      return row.symbol;
    case "instrument":
      return row.instrument;
    case "weight":
      return row.weight;
    case "delta_weight":
      return row.deltaWeight;
    case "delta":
      return row.delta;
    case "beta":
      return row.beta;
    case "contribution":
      // Without weights (equity ≤ 0) the dollars give the same order.
      return row.contribution ?? row.contributionDollar;
    case "contribution_dollar":
      return row.contributionDollar;
  }
}

function leftOutValue(row: LeftOutRow, key: SortKey): string | number | null | undefined {
  if (key === "symbol") return row.symbol;
  if (key === "instrument") return row.instrument;
  if (key === "weight") return row.weight;
  // A left-out row has no delta, beta or contribution: it keeps its place.
  return undefined;
}

const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

/** Compares two sort values: missing last in either direction, then by direction. */
function compareValues(a: string | number | null, b: string | number | null, direction: SortDirection): number {
  const aMissing = a === null || (typeof a === "number" && !Number.isFinite(a));
  const bMissing = b === null || (typeof b === "number" && !Number.isFinite(b));
  if (aMissing || bMissing) return aMissing === bMissing ? 0 : aMissing ? 1 : -1;
  const order = typeof a === "string" || typeof b === "string" ? collator.compare(String(a), String(b)) : a - b;
  return direction === "ascending" ? order : -order;
}

/** The holdings in `sort`'s order (null: the API's, by size of contribution); ties keep the API's order. */
export function sortHoldings(rows: readonly HoldingRow[], sort: SortState | null): HoldingRow[] {
  const sorted = [...rows];
  if (sort === null) return sorted.sort((a, b) => a.order - b.order);
  return sorted.sort(
    (a, b) => compareValues(holdingValue(a, sort.key), holdingValue(b, sort.key), sort.direction) || a.order - b.order,
  );
}

/** The left-out rows by symbol, instrument or weight; by any other column in the API's order. */
export function sortLeftOut(rows: readonly LeftOutRow[], sort: SortState | null): LeftOutRow[] {
  const sorted = [...rows];
  return sorted.sort((a, b) => {
    const key = sort?.key;
    if (sort === null || key === undefined) return a.order - b.order;
    const x = leftOutValue(a, key);
    const y = leftOutValue(b, key);
    if (x === undefined || y === undefined) return a.order - b.order;
    return compareValues(x, y, sort.direction) || a.order - b.order;
  });
}

// ---- filter -----------------------------------------------------------------------------------

/**
 * Whether a row matches the filter text: every word (case-insensitive) appears in its symbol,
 * its underlying's symbol or its company name. Empty text matches everything.
 */
export function matchesFilter(row: { symbol: string; betaSymbol: string; name: string | null }, text: string): boolean {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const haystack = `${row.symbol} ${row.betaSymbol} ${row.name ?? ""}`.toLowerCase();
  return words.every((word) => haystack.includes(word));
}

/** What a filter hides, said beside the totals; null when everything is shown. */
export function filterNote(shown: { holdings: number; leftOut: number }, total: { holdings: number; leftOut: number }) {
  if (shown.holdings === total.holdings && shown.leftOut === total.leftOut) return null;
  const holdings = `${shown.holdings} of ${total.holdings} holding${total.holdings === 1 ? "" : "s"}`;
  const leftOut = total.leftOut > 0 ? ` and ${shown.leftOut} of ${total.leftOut} left out` : "";
  return `${holdings}${leftOut} shown; totals are of all holdings`;
}

// ---- totals -----------------------------------------------------------------------------------

export interface DrillDownTotals {
  holdings: number;
  leftOut: number;
  /** Σ of the holdings' notional weights (null without weights). */
  weight: number | null;
  /** Σ of the holdings' delta-adjusted weights. */
  deltaWeight: number | null;
  /** Σ of the contributions: the cell's exposure. */
  contribution: number | null;
  contributionDollar: number;
  /** Σ of the left-out holdings' weights where they have one (those without are outside equity). */
  leftOutWeight: number | null;
  /** Left-out holdings without a value (unpriced, expired, private): outside equity. */
  leftOutUnvalued: number;
  cash: number;
  cashWeight: number | null;
  /** Holdings + left out + cash: every weight in the table. */
  allWeights: number | null;
  /** The valued options' notional and premium as shares of equity. */
  optionsNotionalWeight: number | null;
  optionsPremiumWeight: number | null;
  /** Σ of the negative weights (short positions, long puts). */
  shortWeight: number | null;
  /** The cell's value as the API states it (the aggregation's exposure). */
  cellExposure: number | null;
  cellExposureDollar: number | null;
  weightsAvailable: boolean;
  equity: number;
}

const sum = (values: readonly number[]): number => values.reduce((total, value) => total + value, 0);

/** Σ of the non-null values; null when every value is null (or there are none). */
const sumKnown = (values: readonly (number | null)[]): number | null => {
  const known = values.filter((value): value is number => value !== null);
  return known.length === 0 ? null : sum(known);
};

export function drillDownTotals(data: DrillDownLike): DrillDownTotals {
  const rows = holdingRows(data);
  const available = data.weights_available && data.equity > 0;
  const share = (value: number): number | null => (available ? value / data.equity : null);
  const weight = available ? sum(rows.map((row) => row.weight ?? 0)) : null;
  const leftOutWeight = available ? (sumKnown(data.missing.map((row) => row.weight)) ?? 0) : null;
  const cashWeight = share(data.cash);
  const negative = [...rows.map((row) => row.weight ?? 0), ...data.missing.map((row) => row.weight ?? 0)].filter(
    (value) => value < 0,
  );
  return {
    holdings: rows.length,
    leftOut: data.missing.length,
    weight,
    deltaWeight: available ? sum(rows.map((row) => row.deltaWeight ?? 0)) : null,
    contribution: available && rows.length > 0 ? sum(rows.map((row) => row.contribution ?? 0)) : null,
    contributionDollar: sum(rows.map((row) => row.contributionDollar)),
    leftOutWeight,
    leftOutUnvalued: data.missing.filter((row) => row.market_value === null).length,
    cash: data.cash,
    cashWeight,
    allWeights:
      weight === null || leftOutWeight === null || cashWeight === null ? null : weight + leftOutWeight + cashWeight,
    optionsNotionalWeight: share(data.options_notional),
    optionsPremiumWeight: share(data.options_premium),
    shortWeight: available ? sum(negative) : null,
    cellExposure: data.exposure,
    cellExposureDollar: data.exposure_dollar,
    weightsAvailable: available,
    equity: data.equity,
  };
}

const pct = (value: number | null): string => formatPercent(value, 2);

/**
 * Why the weights sum to what they do: the parts (holdings, left out, cash) and, when the sum
 * is not 100 %, the options' notional beyond their premium; short positions count negative.
 */
export function weightsNote(totals: DrillDownTotals): string {
  if (!totals.weightsAvailable || totals.allWeights === null)
    return "Weights are not available: equity is not positive, so contributions are in dollars only.";
  const parts = [
    `${pct(totals.weight)} in ${totals.holdings} holding${totals.holdings === 1 ? "" : "s"} with a beta`,
    // Left-out holdings without a value have no weight: only those with one are a part.
    ...(totals.leftOut > totals.leftOutUnvalued ? [`${pct(totals.leftOutWeight)} left out`] : []),
    `${pct(totals.cashWeight)} cash`,
  ];
  const sentences = [`Weights sum to ${pct(totals.allWeights)} of equity: ${parts.join(", ")}.`];
  const notional = totals.optionsNotionalWeight ?? 0;
  const premium = totals.optionsPremiumWeight ?? 0;
  if (notional !== 0 || premium !== 0) {
    sentences.push(
      `Not 100% because options count at their notional (${pct(notional)} of equity) in the weights ` +
        `but at their premium (${pct(premium)}) in equity.`,
    );
  } else {
    sentences.push("Equity is cash plus the holdings' market values, so the weights make 100%.");
  }
  if ((totals.shortWeight ?? 0) < 0)
    sentences.push(`Short positions count negative (${pct(totals.shortWeight)}); their proceeds are in cash.`);
  if (totals.leftOutUnvalued > 0)
    sentences.push(
      `${totals.leftOutUnvalued} left-out holding${totals.leftOutUnvalued === 1 ? " has" : "s have"} ` +
        "no value (unpriced, expired or private) and no weight.",
    );
  return sentences.join(" ");
}

// ---- CSV --------------------------------------------------------------------------------------

export const csvPrecision =
  "weights and deltas to 6 decimals; betas and contributions to 6 significant digits; dollars to the cent";

export interface DrillDownCsvMeta {
  portfolioName: string;
  portfolioId: string;
  factorName: string;
  factorKey: string;
  date: string;
  /** What the table decomposes, e.g. "portfolio exposure". */
  view: string;
}

export const csvColumns = [
  "row",
  "symbol",
  "name",
  "instrument",
  "positions",
  "market_value",
  "weight",
  "delta_adjusted_weight",
  "delta",
  "beta",
  "contribution",
  "contribution_dollar",
  "quality_flag",
  "note",
] as const;

/** The drill-down as CSV: header block, blank line, then every holding, left out, cash and total. */
export function drillDownCsv(data: DrillDownLike, meta: DrillDownCsvMeta, sort: SortState | null = null): string {
  const totals = drillDownTotals(data);
  const holdings: CsvCell[][] = sortHoldings(holdingRows(data), sort).map((row) => [
    "holding",
    row.symbol,
    row.name,
    row.instrument,
    row.positions,
    roundCents(row.marketValue),
    roundDecimals(row.weight),
    roundDecimals(row.deltaWeight),
    roundDecimals(row.delta),
    roundSignificant(row.beta),
    roundSignificant(row.contribution),
    roundCents(row.contributionDollar),
    row.qualityFlag,
    row.symbol === row.betaSymbol ? "" : `beta of ${row.betaSymbol}`,
  ]);
  const leftOut: CsvCell[][] = sortLeftOut(leftOutRows(data), sort).map((row) => [
    "left out",
    row.symbol,
    row.name,
    row.instrument,
    row.positions,
    roundCents(row.marketValue),
    roundDecimals(row.weight),
    null,
    null,
    null,
    null,
    null,
    null,
    row.detail ? `${row.reason}: ${row.detail}` : row.reason,
  ]);
  const cash: CsvCell[] = [
    "cash",
    "Cash",
    null,
    "cash",
    null,
    roundCents(data.cash),
    roundDecimals(totals.cashWeight),
    null,
    null,
    null,
    0,
    0,
    null,
    "no factor loading",
  ];
  const total: CsvCell[] = [
    "total",
    null,
    null,
    null,
    null,
    null,
    roundDecimals(totals.allWeights),
    roundDecimals(totals.deltaWeight),
    null,
    null,
    roundSignificant(totals.contribution),
    roundCents(totals.contributionDollar),
    null,
    `${weightsNote(totals)} Contributions sum to the cell's exposure ${roundSignificant(totals.cellExposure) ?? ""}.`,
  ];
  const header: CsvCell[][] = [
    ["portfolio", `${meta.portfolioName} (${meta.portfolioId})`],
    ["date", meta.date],
    ["view", meta.view],
    ["equity", roundCents(data.equity)],
    ["precision", csvPrecision],
  ];
  return buildCsv(
    ["factor", `${meta.factorName} (${meta.factorKey})`],
    [...header, [], [...csvColumns], ...holdings, ...leftOut, cash, total],
  );
}
