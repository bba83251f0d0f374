// One CSV cell as every export writes it, on the server (worker/http/csv-export.ts) and in the
// browser (client/src/lib/csv.ts). A pure module with no imports, so the client bundles it too.
//
// CSV injection (OWASP "CSV Injection"): a spreadsheet that opens a downloaded CSV runs a cell
// that starts with `=`, `+`, `-` or `@` as a formula (`=HYPERLINK(…)` leaks data on a click,
// `@SUM(…)`, `+1+1`, `-2+3` evaluate), and a leading tab or carriage return can hide such a
// prefix from a quick look while some importers still strip it and evaluate the rest. Text
// cells with one of those first characters get a leading `'`, which spreadsheets treat as
// "this is text" and do not show. Numbers the exporter writes as numbers are never altered:
// a negative exposure -0.5 stays `-0.5`, so the columns stay numeric after import.

/** A value an export writes into one cell. */
export type CsvCellValue = string | number | boolean | null | undefined;

/** First characters a spreadsheet may read as the start of a formula. */
const formulaPrefix = /^[=+\-@\t\r]/;

/** A text cell made safe to open in a spreadsheet: `'` before a formula-like first character. */
export function neutralizeCsvText(text: string): string {
  return formulaPrefix.test(text) ? `'${text}` : text;
}

/**
 * The text of one cell: missing (null, undefined, NaN, ±Infinity) is an empty field, never 0;
 * a number in JavaScript's shortest round-trip form, untouched; text neutralised. Quoting is
 * formatCsv's job (worker/market-data/csv.ts), after this.
 */
export function csvCell(value: CsvCellValue): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "";
  if (typeof value === "boolean") return String(value);
  return neutralizeCsvText(value);
}
