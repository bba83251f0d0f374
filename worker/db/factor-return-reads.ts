// Stored factor returns (`factor_returns`) as the routes read them: packed by SQLite into one
// text cell in date order (./compact.ts), then aligned by date in the Worker. A year of seven
// factors crosses Hrana as one cell, not 1,800 rows, whose decoding was a third of a route's CPU.
import { exactTextSql, packedLines, packedNumber, packedRowsSql } from "./compact.ts";

/**
 * `date,factor_key,value;…` of the rows of `factor_returns fr` a query selects, in date order
 * (value exact, NULL as ''). Dates and factor keys (`[a-z0-9_]`) hold no ',' or ';'.
 */
export const packedFactorReturnsColumn = packedRowsSql(
  ["fr.date", "fr.factor_key", exactTextSql("fr.value")],
  "fr.date",
);

export interface AlignedFactorReturns {
  /** Every date with a return of at least one of `keys`, ascending. */
  dates: string[];
  /** Per key (in `keys` order), aligned with `dates`; null where the factor has no (finite) return. */
  columns: (number | null)[][];
}

/**
 * A `packedFactorReturnsColumn` cell aligned by date for `keys`; returns of other keys (retired
 * factors) are left out.
 */
export function alignFactorReturns(packed: unknown, keys: readonly string[]): AlignedFactorReturns {
  const index = new Map(keys.map((key, k) => [key, k]));
  const dates: string[] = [];
  const columns: (number | null)[][] = keys.map(() => []);
  for (const [date = "", key = "", text = ""] of packedLines(packed)) {
    const column = columns[index.get(key) ?? -1];
    if (column === undefined) continue;
    if (dates.at(-1) !== date) {
      dates.push(date);
      for (const series of columns) series.push(null);
    }
    const value = packedNumber(text);
    column[dates.length - 1] = value !== null && Number.isFinite(value) ? value : null;
  }
  return { dates, columns };
}
