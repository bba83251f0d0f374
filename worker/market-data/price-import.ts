// Validation of a prices CSV file: `date,symbol,close[,adj_close,volume]`, columns in any
// order. Pure: text in, rows or every problem out (all bad rows, not just the first), so a
// file is imported whole or not at all.
import { parseIsoDate, parseOptionalCount, parseOptionalPositive, parseRequiredPositive, parseSymbol, readTable, sortErrors } from "./import-fields.ts";
import type { CellResult, ImportError } from "./import-fields.ts";

export type { ImportError };

export const priceColumns = ["date", "symbol", "close", "adj_close", "volume"] as const;
export type PriceColumn = (typeof priceColumns)[number];

export interface PriceRow {
  symbol: string;
  date: string;
  close: number;
  /** Null when the file has no adj_close column or the cell is empty. */
  adjClose: number | null;
  volume: number | null;
  /** Where the row is in the file, for messages. */
  line: number;
}

export type PriceImportResult =
  | {
      ok: true;
      /** One row per (symbol, date); identical repeats in the file are kept once. */
      rows: PriceRow[];
      columns: PriceColumn[];
      /** Lines that repeated an earlier row exactly and were skipped. */
      duplicateLines: number[];
    }
  | { ok: false; errors: ImportError[] };

export function validatePriceCsv(text: string): PriceImportResult {
  const table = readTable(text, { columns: priceColumns, required: ["date", "symbol", "close"] });
  const errors = [...table.errors];
  const rows: PriceRow[] = [];
  const duplicateLines: number[] = [];
  // Symbols and dates repeat on almost every line: each distinct text is checked once.
  const symbols = memoize((raw: string) => parseSymbol(raw));
  const dates = memoize((raw: string) => parseIsoDate(raw, "date"));
  const firstBySymbolDate = new Map<string, Map<string, PriceRow>>();
  let line = 0;
  const take = <T>(column: PriceColumn, result: CellResult<T>): T | undefined => {
    if (result.ok) return result.value;
    errors.push({ line, column, reason: result.reason });
    return undefined;
  };

  for (const row of table.rows) {
    line = row.line;
    const { cells } = row;
    const errorsBefore = errors.length;
    const symbol = take("symbol", symbols(cells.symbol ?? ""));
    const date = take("date", dates(cells.date ?? ""));
    const close = take("close", parseRequiredPositive(cells.close ?? "", "close"));
    const adjClose = take("adj_close", parseOptionalPositive(cells.adj_close ?? "", "adj_close"));
    const volume = take("volume", parseOptionalCount(cells.volume ?? "", "volume"));
    if (errors.length > errorsBefore || symbol === undefined || date === undefined || close === undefined || adjClose === undefined || volume === undefined) {
      continue;
    }

    const price: PriceRow = { symbol, date, close, adjClose, volume, line };
    let byDate = firstBySymbolDate.get(symbol);
    if (!byDate) firstBySymbolDate.set(symbol, (byDate = new Map()));
    const earlier = byDate.get(date);
    if (earlier) {
      if (earlier.close === close && earlier.adjClose === adjClose && earlier.volume === volume) {
        duplicateLines.push(line);
      } else {
        errors.push({
          line,
          reason: `${symbol} on ${date} is already on line ${earlier.line} with different values (${describe(earlier)} there, ${describe(price)} here)`,
        });
      }
      continue;
    }
    byDate.set(date, price);
    rows.push(price);
  }
  if (errors.length > 0) return { ok: false, errors: sortErrors(errors) };
  return { ok: true, rows, columns: table.columns, duplicateLines };
}

function memoize<T>(parse: (raw: string) => T): (raw: string) => T {
  const cache = new Map<string, T>();
  return (raw) => {
    let result = cache.get(raw);
    if (result === undefined) cache.set(raw, (result = parse(raw)));
    return result;
  };
}

function describe(row: PriceRow): string {
  const parts = [`close ${row.close}`];
  if (row.adjClose !== null) parts.push(`adj_close ${row.adjClose}`);
  if (row.volume !== null) parts.push(`volume ${row.volume}`);
  return parts.join(", ");
}
