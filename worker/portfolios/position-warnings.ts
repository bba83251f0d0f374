// What a position write answers besides the rows: the positions the numbers cannot use yet,
// each with its reason (issue: "positions the numbers cannot use are reported, not dropped").
// Create and import accept them — a user may import positions before their prices — but say
// per position (and per CSV line) which ones are left out and why, on the latest date the
// batch computed:
//   no_prices      no close of the symbol (an option's underlying) is stored at all;
//   stale_prices   its last close is too old for betas on that date (halted, delisted);
//   no_betas       it has prices but no beta on that date, with the batch's stored reason
//                  (insufficient_data with its observations, …);
//   not_computed   no batch run has computed it yet (new to the universe): the next run will;
//   expired        an option whose expiry is before today.
// Private positions are excluded by design and counted in data_quality; they are not warned about.
import { and, eq, inArray, max, min, sql } from "drizzle-orm";
import { marketPrices, symbolBetaGaps, symbolFactorExposures } from "../../schema/index.ts";
import { latestBetaDate } from "../db/betas.ts";
import type { Database } from "../db/client.ts";
import { isExpiredOn } from "../factors/portfolio.ts";
import type { PositionInsert } from "./records.ts";

export const positionWarningReasons = ["no_prices", "stale_prices", "no_betas", "not_computed", "expired"] as const;
export type PositionWarningReason = (typeof positionWarningReasons)[number];

export interface PositionWarning {
  /** The CSV line, for an import. */
  line?: number;
  position_id: string;
  symbol: string;
  reason: PositionWarningReason;
  detail: string;
}

/** The warnings of `rows` (with their CSV lines when imported), in row order. */
export async function positionWarnings(
  db: Database,
  rows: readonly (PositionInsert & { line?: number })[],
  today: string,
): Promise<PositionWarning[]> {
  const betaSymbolOf = (row: PositionInsert) =>
    row.instrument === "option" ? (row.underlyingSymbol ?? row.symbol) : row.symbol;
  const symbols = [...new Set(rows.filter((row) => row.instrument !== "private").map(betaSymbolOf))];
  if (symbols.length === 0) return [];
  const [closes, date] = await Promise.all([
    db
      .select({ symbol: marketPrices.symbol, first: min(marketPrices.date), last: max(marketPrices.date) })
      .from(marketPrices)
      .where(inArray(marketPrices.symbol, symbols))
      .groupBy(marketPrices.symbol),
    latestBetaDate(db),
  ]);
  const closeRange = new Map(closes.map((row) => [row.symbol, row]));
  const withBetas = new Set<string>();
  const gaps = new Map<string, { reason: string; detail: string }>();
  if (date !== null) {
    const [betaRows, gapRows] = await Promise.all([
      db
        .selectDistinct({ symbol: symbolFactorExposures.symbol })
        .from(symbolFactorExposures)
        .where(and(eq(symbolFactorExposures.calculationDate, date), inArray(symbolFactorExposures.symbol, symbols))),
      db
        .select({
          symbol: symbolBetaGaps.symbol,
          reason: symbolBetaGaps.reason,
          detail: sql<string>`min(${symbolBetaGaps.detail})`,
        })
        .from(symbolBetaGaps)
        .where(and(eq(symbolBetaGaps.calculationDate, date), inArray(symbolBetaGaps.symbol, symbols)))
        .groupBy(symbolBetaGaps.symbol, symbolBetaGaps.reason),
    ]);
    for (const row of betaRows) withBetas.add(row.symbol);
    for (const row of gapRows)
      if (!gaps.has(row.symbol)) gaps.set(row.symbol, { reason: row.reason, detail: row.detail });
  }

  const warnings: PositionWarning[] = [];
  for (const row of rows) {
    if (row.instrument === "private") continue;
    const symbol = betaSymbolOf(row);
    const at = { ...(row.line === undefined ? {} : { line: row.line }), position_id: row.id, symbol: row.symbol };
    if (isExpiredOn({ instrument: row.instrument, expiry: row.expiry ?? null }, today)) {
      warnings.push({
        ...at,
        reason: "expired",
        detail: `the option expired on ${row.expiry}: it is left out of every number from then on`,
      });
      continue;
    }
    const range = closeRange.get(symbol);
    if (!range) {
      warnings.push({
        ...at,
        reason: "no_prices",
        detail:
          `no close of ${symbol} is stored: ` +
          "the position is left out of every number until its prices are imported",
      });
      continue;
    }
    if (date === null || withBetas.has(symbol)) continue;
    const gap = gaps.get(symbol);
    if (gap?.reason === "stale_prices") warnings.push({ ...at, reason: "stale_prices", detail: gap.detail });
    else if (gap)
      warnings.push({
        ...at,
        reason: "no_betas",
        detail: `${symbol} has no betas on ${date}: ${gap.reason}: ${gap.detail}`,
      });
    else
      warnings.push({
        ...at,
        reason: "not_computed",
        detail: `${symbol} has no betas yet (closes ${range.first} to ${range.last}); the next batch run computes them`,
      });
  }
  return warnings;
}
