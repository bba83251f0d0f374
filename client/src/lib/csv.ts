// CSV downloads built in the browser (the heatmap's data): the same RFC 4180 writer as the
// server's exports, numbers in JavaScript's shortest round-trip form, missing values empty, and
// the same cell rule (worker/http/csv-cell.ts): text that a spreadsheet would run as a formula
// gets a leading `'`, numbers are never altered. The heatmap's export: wide or long, opened by
// `# key: value` lines naming the portfolio(s), view, benchmark(s) and dates.
import { formatCsv } from "../../../worker/market-data/csv.ts";
import { csvCell } from "../../../worker/http/csv-cell.ts";

export type CsvCell = string | number | null | undefined;

export function buildCsv(header: readonly string[], rows: readonly (readonly CsvCell[])[]): string {
  return formatCsv([header.map(csvCell), ...rows.map((row) => row.map(csvCell))]);
}

/** The heatmap's matrix as long CSV: one line per factor and column (date or portfolio). */
export function heatmapCsv(
  rowKeys: readonly string[],
  columnKeys: readonly string[],
  value: (row: number, column: number) => number | null,
  columnName = "date",
): string {
  const rows: CsvCell[][] = [];
  for (const [c, columnKey] of columnKeys.entries())
    for (const [r, rowKey] of rowKeys.entries()) rows.push([columnKey, rowKey, value(r, c)]);
  return buildCsv([columnName, "factor_key", "value"], rows);
}

// ---- the heatmap's export ---------------------------------------------------------------------

/** Wide: a row per factor, a column per date (or portfolio). Long: a row per column and factor. */
export type CsvLayout = "wide" | "long";

/** One column of the heatmap: a date, or a portfolio with the benchmark its numbers are against. */
export interface ExportColumn {
  key: string;
  /** A portfolio's name (absent for a date). */
  name?: string;
  /** A portfolio's benchmark (null: none; absent for a date). */
  benchmark?: string | null;
}

export interface HeatmapExport {
  layout: CsvLayout;
  columnsAre: "dates" | "portfolios";
  /** `# key: value` lines that open the file, in order (`heatmapCsvHeader`). */
  header: readonly (readonly [string, string])[];
  columns: readonly ExportColumn[];
  factors: readonly { key: string; name: string }[];
  value: (row: number, column: number) => number | null;
}

// Rounding for every CSV the dashboard builds (the heatmap's and the drill-down's): a missing or
// non-finite number is an empty cell (null), never 0 or NaN; −0 prints as 0.

/** `digits` significant digits (betas and exposures: 6). */
export const roundSignificant = (value: number | null, digits = 6): number | null =>
  value === null || !Number.isFinite(value) ? null : Number(value.toPrecision(digits)) + 0;

/** `decimals` digits after the point (weights and deltas: 6). */
export const roundDecimals = (value: number | null, decimals = 6): number | null =>
  value === null || !Number.isFinite(value) ? null : Number(value.toFixed(decimals)) + 0;

/** Dollars: to the cent. */
export const roundCents = (value: number | null): number | null => roundDecimals(value, 2);

/**
 * A number without binary noise: 12 significant digits, far more than an exposure's precision,
 * so an active exposure computed as a difference reads 0.1, not 0.09999999999999987.
 */
export const cleanNumber = (value: number | null): number | null => roundSignificant(value, 12);

/**
 * The heatmap as CSV. The file opens with `# key: value` lines, one field each, naming what it
 * holds (comment lines to pandas' `comment="#"` or R's `comment.char`; a spreadsheet shows them
 * as a first column of text above the table). Wide: `factor_key,factor_name,<date or portfolio…>`;
 * long: `date,factor_key,factor_name,value`, or with portfolios as columns
 * `portfolio_id,portfolio_name,benchmark,factor_key,factor_name,value`. Wide portfolio columns
 * are headed by name (by name and id when two share a name).
 */
export function heatmapExportCsv(data: HeatmapExport): string {
  const header = data.header.map(([key, value]) => [csvCell(`# ${key}: ${value}`)]);
  const portfolios = data.columnsAre === "portfolios";
  const rows: CsvCell[][] = [];
  if (data.layout === "wide") {
    const names = data.columns.map((column) => column.name ?? column.key);
    const heading = data.columns.map((column, index) =>
      names.indexOf(names[index] ?? "") !== names.lastIndexOf(names[index] ?? "")
        ? `${names[index]} (${column.key})`
        : (names[index] ?? column.key),
    );
    rows.push(["factor_key", "factor_name", ...heading]);
    for (const [r, factor] of data.factors.entries())
      rows.push([factor.key, factor.name, ...data.columns.map((_, c) => cleanNumber(data.value(r, c)))]);
  } else {
    rows.push(
      portfolios
        ? ["portfolio_id", "portfolio_name", "benchmark", "factor_key", "factor_name", "value"]
        : ["date", "factor_key", "factor_name", "value"],
    );
    for (const [c, column] of data.columns.entries())
      for (const [r, factor] of data.factors.entries()) {
        const value = cleanNumber(data.value(r, c));
        rows.push(
          portfolios
            ? [column.key, column.name ?? column.key, column.benchmark ?? "", factor.key, factor.name, value]
            : [column.key, factor.key, factor.name, value],
        );
      }
  }
  return formatCsv([...header, ...rows.map((row) => row.map(csvCell))]);
}

const viewWords = {
  portfolio: "portfolio (the portfolio's exposures)",
  benchmark: "benchmark (the benchmark's exposures)",
  active: "active (portfolio minus benchmark)",
} as const;

/**
 * The `# key: value` lines of a heatmap export: what is shown (portfolio or portfolios with their
 * ids, view, benchmark — each portfolio's with portfolios as columns — dates, layout). Lists are
 * joined with "; " so a line stays one field.
 */
export function heatmapCsvHeader(input: {
  layout: CsvLayout;
  columnsAre: "dates" | "portfolios";
  view: keyof typeof viewWords;
  /** Dates as columns: the one portfolio; portfolios as columns: each, in column order. */
  portfolios: readonly { id: string; name: string; benchmark: string | null }[];
  /** The columns' dates (dates as columns), or the one date shown. */
  dates: readonly string[];
  /** The benchmark picker's choice: "" each portfolio's own, "none", or a symbol. */
  benchmarkChoice: string;
}): [string, string][] {
  const { portfolios, dates } = input;
  const first = dates[0] ?? "";
  const last = dates[dates.length - 1] ?? "";
  const named = (entry: { id: string; name: string }) => `${entry.name} (${entry.id})`;
  const lines: [string, string][] = [];
  if (input.columnsAre === "dates") {
    const only = portfolios[0];
    lines.push(["portfolio", only ? named(only) : ""]);
    lines.push(["view", viewWords[input.view]]);
    lines.push(["benchmark", only?.benchmark ?? "none"]);
    lines.push(["dates", `${first} to ${last} (${dates.length} date${dates.length === 1 ? "" : "s"})`]);
  } else {
    lines.push(["portfolios", portfolios.map(named).join("; ")]);
    lines.push(["view", viewWords[input.view]]);
    const each = portfolios.map((entry) => `${entry.name} vs ${entry.benchmark ?? "none"}`).join("; ");
    const choice =
      input.benchmarkChoice === "none"
        ? "none"
        : input.benchmarkChoice
          ? `${input.benchmarkChoice} for every portfolio`
          : "each portfolio's own";
    lines.push(["benchmark", choice === "none" ? choice : `${choice}: ${each}`]);
    lines.push(["date", last]);
  }
  lines.push([
    "layout",
    input.layout === "wide"
      ? `wide (a row per factor; a column per ${input.columnsAre === "dates" ? "date" : "portfolio"})`
      : `long (a row per ${input.columnsAre === "dates" ? "date" : "portfolio"} and factor)`,
  ]);
  return lines;
}
