// What an on-demand aggregation reads for a date (drill-down, stress, what-if, the latest
// exposures after a position change): the active factors, the closes of the positions' beta
// symbols on D (phase 2's `current_price`) and their stored betas — the cached symbol betas,
// never a regression per request.
import { and, eq, inArray, max } from "drizzle-orm";
import { positions, symbolDailyMetrics } from "../../schema/index.ts";
import { loadStoredBetaTable } from "../db/betas.ts";
import type { Database } from "../db/client.ts";
import { loadActiveFactors } from "../db/factors.ts";
import { ApiError } from "../http/errors.ts";
import { betaSymbolOf, isHeldOn, type AggregationInput, type HoldingInput } from "../factors/portfolio.ts";

/** The latest date with symbol metrics, or null before the first batch. */
export async function latestMetricsDate(db: Database): Promise<string | null> {
  const row = await db.select({ date: max(symbolDailyMetrics.metricsDate) }).from(symbolDailyMetrics).get();
  return row?.date ?? null;
}

/** `date`, or the latest metrics date; 404 NO_DATA when there is none or `date` has no metrics. */
export async function analyticsDate(db: Database, date: string | undefined): Promise<string> {
  if (date === undefined) {
    const latest = await latestMetricsDate(db);
    if (latest === null) throw new ApiError(404, "NO_DATA", "no symbol metrics exist yet: run the batch first");
    return latest;
  }
  const found = await db.select({ symbol: symbolDailyMetrics.symbol }).from(symbolDailyMetrics).where(eq(symbolDailyMetrics.metricsDate, date)).limit(1).get();
  if (!found) throw new ApiError(404, "NO_DATA", `no symbol metrics for ${date}: not a trading day, or its batch has not run`);
  return date;
}

/** The aggregation input of `holdings` and `cash` on `date`, for every active factor or the keys given. */
export async function aggregationInputFor(db: Database, date: string, holdings: readonly HoldingInput[], cash: number, factorKeys?: readonly string[]): Promise<AggregationInput> {
  const active = await loadActiveFactors(db);
  const factors = factorKeys === undefined ? active : active.filter((factor) => factorKeys.includes(factor.key));
  const symbols = [...new Set(holdings.filter((h) => h.instrument !== "private" && isHeldOn(h, date)).map(betaSymbolOf))];
  const closes = new Map<string, number>();
  const [prices, betas] = await Promise.all([
    symbols.length === 0
      ? Promise.resolve([])
      : db
          .select({ symbol: symbolDailyMetrics.symbol, price: symbolDailyMetrics.currentPrice })
          .from(symbolDailyMetrics)
          .where(and(eq(symbolDailyMetrics.metricsDate, date), inArray(symbolDailyMetrics.symbol, symbols))),
    loadStoredBetaTable(db, date, symbols, factors),
  ]);
  for (const row of prices) if (row.price !== null) closes.set(row.symbol, row.price);
  return { date, holdings, cash, closes, betas, factors };
}

/** A stored portfolio's positions as holdings. */
export async function portfolioHoldings(db: Database, portfolioId: string): Promise<HoldingInput[]> {
  return db.select().from(positions).where(eq(positions.portfolioId, portfolioId)).orderBy(positions.id);
}
