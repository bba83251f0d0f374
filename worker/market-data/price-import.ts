// Validation of a prices CSV file: `date,symbol,close[,adj_close,volume]`, columns in any
// order. Pure: text in, rows or every problem out (all bad rows, not just the first), so a
// file is imported whole or not at all.
//
// Besides each cell's own rules, a file is checked for bad ticks: a symbol's close (and its
// adjusted close) may not move by more than a factor of `maxDailyMove` between two of its
// consecutive rows by date. One stray 1000× print otherwise turns into two huge returns and
// drags every beta of the symbol to the ±5 cap; refusing it at the door, with both lines
// named, is cheaper than finding it in the exposures. The JSON upload (`price-upload.ts`)
// applies the same check through `findSuspectMoves` / `describeSuspectMove`.
import {
  maxPrice,
  parseIsoDate,
  parseOptionalCount,
  parseOptionalNumber,
  parseOptionalPositive,
  parseRequiredPositive,
  parseSymbol,
  readTable,
  sortErrors,
} from "./import-fields.ts";
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

/**
 * The default bound on a one-day move: a close may be at most 5 times, and at least a fifth
 * of, the symbol's previous close in the file. Wide enough for real crashes and squeezes of
 * liquid names; a 10:1 split in unadjusted closes needs a wider bound (`--max-daily-move`).
 */
export const defaultMaxDailyMove = 5;

export interface PriceValidationOptions {
  /**
   * The largest factor a close or adjusted close may move by between a symbol's consecutive
   * rows (by date) in one file, either way (ratio > bound or < 1/bound is refused); > 1.
   * `Infinity` disables the check. Default `defaultMaxDailyMove`.
   */
  maxDailyMove?: number;
}

/** The price columns the move check compares, each against itself. */
export type PriceField = "close" | "adj_close";

/** A move beyond the bound between two consecutive rows (by date) of one symbol. */
export interface SuspectMove {
  field: PriceField;
  /** The earlier row by date, cited. */
  from: PriceRow;
  /** The later row by date; the problem is reported on it. */
  to: PriceRow;
  /** `to / from` of the field's values. */
  ratio: number;
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

export function validatePriceCsv(text: string, options: PriceValidationOptions = {}): PriceImportResult {
  const maxDailyMove = checkMaxDailyMove(options.maxDailyMove ?? defaultMaxDailyMove);
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
    const adjClose = take("adj_close", parseOptionalPositive(cells.adj_close ?? "", "adj_close", maxPrice));
    const volume = take("volume", parseOptionalCount(cells.volume ?? "", "volume"));
    if (
      errors.length > errorsBefore ||
      symbol === undefined ||
      date === undefined ||
      close === undefined ||
      adjClose === undefined ||
      volume === undefined
    ) {
      continue;
    }

    const price: PriceRow = { symbol, date, close, adjClose, volume, line };
    let byDate = firstBySymbolDate.get(symbol);
    if (!byDate) {
      byDate = new Map();
      firstBySymbolDate.set(symbol, byDate);
    }
    const earlier = byDate.get(date);
    if (earlier) {
      if (earlier.close === close && earlier.adjClose === adjClose && earlier.volume === volume) {
        duplicateLines.push(line);
      } else {
        errors.push({
          line,
          reason:
            `${symbol} on ${date} is already on line ${earlier.line} with different values ` +
            `(${describe(earlier)} there, ${describe(price)} here)`,
        });
      }
      continue;
    }
    byDate.set(date, price);
    rows.push(price);
  }
  // Over the rows that passed every other check, so one run lists every problem of the file.
  for (const move of findSuspectMoves(rows, maxDailyMove)) {
    errors.push({
      line: move.to.line,
      column: move.field,
      reason: describeSuspectMove(move, maxDailyMove, (row) => `line ${row.line}`, "--max-daily-move"),
    });
  }
  if (errors.length > 0) return { ok: false, errors: sortErrors(errors) };
  return { ok: true, rows, columns: table.columns, duplicateLines };
}

/** `value` when it is a usable bound (> 1, `Infinity` included); a RangeError otherwise (a caller's bug). */
export function checkMaxDailyMove(value: number): number {
  if (!(value > 1))
    throw new RangeError(`maxDailyMove must be a number > 1 (Infinity disables the check), got ${value}`);
  return value;
}

/** A bound as a user writes it (`--max-daily-move 8`): a plain number > 1, or `Infinity` to disable the check. */
export function parseMaxDailyMove(raw: string): CellResult<number> {
  const text = raw.trim();
  if (/^\+?inf(inity)?$/i.test(text)) return { ok: true, value: Number.POSITIVE_INFINITY };
  const parsed = parseOptionalNumber(text, "the maximum daily move");
  if (!parsed.ok) return { ok: false, reason: `${parsed.reason}; expected a factor > 1, e.g. 5, or Infinity` };
  if (parsed.value === null || !(parsed.value > 1)) {
    return { ok: false, reason: `the maximum daily move must be a factor > 1, e.g. 5, or Infinity, got "${raw}"` };
  }
  return { ok: true, value: parsed.value };
}

/**
 * Every move beyond `maxDailyMove` between consecutive rows (by date) of one symbol: close
 * against close, and adjusted close against adjusted close when both rows have one. `rows`
 * holds one row per (symbol, date), in any order. A ratio exactly at the bound (or its
 * inverse) is accepted. Nothing is checked when the bound is `Infinity`.
 */
export function findSuspectMoves(rows: readonly PriceRow[], maxDailyMove: number): SuspectMove[] {
  const moves: SuspectMove[] = [];
  if (maxDailyMove === Number.POSITIVE_INFINITY) return moves;
  const minimum = 1 / maxDailyMove;
  const bySymbol = new Map<string, PriceRow[]>();
  for (const row of rows) {
    let symbolRows = bySymbol.get(row.symbol);
    if (!symbolRows) {
      symbolRows = [];
      bySymbol.set(row.symbol, symbolRows);
    }
    symbolRows.push(row);
  }
  for (const symbolRows of bySymbol.values()) {
    // Files are usually in date order; a symbol's list (built here) is sorted only when it is not.
    const sorted = symbolRows.every((row, i) => i === 0 || (symbolRows[i - 1]?.date ?? row.date) <= row.date);
    if (!sorted) symbolRows.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
    let from: PriceRow | undefined;
    for (const to of symbolRows) {
      const previous = from;
      from = to;
      if (previous === undefined) continue;
      // The price the return uses: the adjusted close when both rows have one (a 10:1 split moves
      // the close but not the adjusted close, and is no bad tick), else the close.
      if (previous.adjClose !== null && to.adjClose !== null) {
        const adjustedRatio = to.adjClose / previous.adjClose;
        if (adjustedRatio > maxDailyMove || adjustedRatio < minimum)
          moves.push({ field: "adj_close", from: previous, to, ratio: adjustedRatio });
      } else {
        const closeRatio = to.close / previous.close;
        if (closeRatio > maxDailyMove || closeRatio < minimum)
          moves.push({ field: "close", from: previous, to, ratio: closeRatio });
      }
    }
  }
  return moves;
}

/**
 * The message of a suspect move, e.g. `AAPL close moves ×1000 from 2025-03-03 (line 11, 150)
 * to 2025-03-04 (150000); the bound is a factor of 5 (--max-daily-move)`. `at` names where a
 * row is (a line, an upload index); `setting` names what changes the bound.
 */
export function describeSuspectMove(
  move: SuspectMove,
  maxDailyMove: number,
  at: (row: PriceRow) => string,
  setting: string,
): string {
  const value = (row: PriceRow) => (move.field === "close" ? row.close : row.adjClose);
  return (
    `${move.to.symbol} ${move.field} moves ×${formatRatio(move.ratio, maxDailyMove)} ` +
    `from ${move.from.date} (${at(move.from)}, ${value(move.from)}) ` +
    `to ${move.to.date} (${value(move.to)}); the bound is a factor of ${maxDailyMove} (${setting})`
  );
}

/**
 * A refused ratio for a message: four significant digits (×1000, ×0.001, ×7.333), or every
 * digit when four would print the bound itself (0.000001 → 0.000005 is ×5.000000000000001).
 */
export function formatRatio(ratio: number, maxDailyMove: number): string {
  const short = Number(ratio.toPrecision(4));
  return String(short > maxDailyMove || short < 1 / maxDailyMove ? short : ratio);
}

function memoize<T>(parse: (raw: string) => T): (raw: string) => T {
  const cache = new Map<string, T>();
  return (raw) => {
    let result = cache.get(raw);
    if (result === undefined) {
      result = parse(raw);
      cache.set(raw, result);
    }
    return result;
  };
}

function describe(row: PriceRow): string {
  const parts = [`close ${row.close}`];
  if (row.adjClose !== null) parts.push(`adj_close ${row.adjClose}`);
  if (row.volume !== null) parts.push(`volume ${row.volume}`);
  return parts.join(", ");
}
