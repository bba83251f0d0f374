// CSV downloads built in the browser (the heatmap's data): the same RFC 4180 writer as the
// server's exports, numbers in JavaScript's shortest round-trip form, missing values empty, and
// the same cell rule (worker/http/csv-cell.ts): text that a spreadsheet would run as a formula
// gets a leading `'`, numbers are never altered.
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
