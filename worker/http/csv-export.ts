// CSV export of the tables the dashboard shows: a route answers CSV when the caller sends
// `Accept: text/csv` or `?format=csv` (a link in a browser cannot set headers). Numbers are
// written in JavaScript's shortest round-trip form; a missing value is an empty field, never 0.
// Text cells (the header included) are neutralised against CSV injection by csvCell
// (./csv-cell.ts), the one rule the dashboard's own CSV downloads use too.
import type { Context } from "hono";
import { formatCsv } from "../market-data/csv.ts";
import { csvCell, type CsvCellValue } from "./csv-cell.ts";

export type CsvValue = CsvCellValue;

export function wantsCsv(c: Context, format: "json" | "csv" | undefined): boolean {
  if (format !== undefined) return format === "csv";
  const accept = c.req.header("accept") ?? "";
  return /(^|,)\s*text\/csv\s*(;|,|$)/i.test(accept);
}

/**
 * A CSV attachment: a header row, then one row per record. Sent with `c.text` so the route's
 * type stays a typed response (`hc` keeps its JSON type), with the CSV content type.
 */
export function csvResponse(
  c: Context,
  filename: string,
  header: readonly string[],
  rows: readonly (readonly CsvValue[])[],
) {
  const body = formatCsv([header.map(csvCell), ...rows.map((row) => row.map(csvCell))]);
  return c.text(body, 200, {
    "Content-Type": "text/csv; charset=utf-8",
    "Content-Disposition": `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]/g, "_")}"`,
  });
}
