// What an on-demand aggregation reads for a date (drill-down, stress, what-if, the latest
// exposures after a position change): the active factors, the closes of the positions' beta
// symbols on D (phase 2's `current_price`) and their stored betas — the cached symbol betas,
// never a regression per request.
//
// `computeWithinRange` runs a computation on such an input and answers 422
// `VALUE_OUT_OF_RANGE` when it overflows, naming the stored values behind it: the API caps
// what a caller may send (worker/api/fields.ts), but a database written before the caps may
// hold a quantity of 1e308, and a drill-down or stress test of that portfolio must say so
// rather than fail with a 500.
import { and, eq, inArray, max } from "drizzle-orm";
import { positions, symbolDailyMetrics } from "../../schema/index.ts";
import { loadStoredBetaTable } from "../db/betas.ts";
import type { Database } from "../db/client.ts";
import { loadActiveFactors } from "../db/factors.ts";
import { maxAmount, maxMultiplier, maxQuantity, maxUnitPrice } from "../api/fields.ts";
import { NumericOverflowError } from "../factors/errors.ts";
import { ApiError } from "../http/errors.ts";
import type { FieldError } from "../http/validation.ts";
import { betaSymbolOf, isHeldOn, type AggregationInput, type HoldingInput } from "../factors/portfolio.ts";

/** The latest date with symbol metrics, or null before the first batch. */
export async function latestMetricsDate(db: Database): Promise<string | null> {
  const row = await db
    .select({ date: max(symbolDailyMetrics.metricsDate) })
    .from(symbolDailyMetrics)
    .get();
  return row?.date ?? null;
}

/** `date`, or the latest metrics date; 404 NO_DATA when there is none or `date` has no metrics. */
export async function analyticsDate(db: Database, date: string | undefined): Promise<string> {
  if (date === undefined) {
    const latest = await latestMetricsDate(db);
    if (latest === null) throw new ApiError(404, "NO_DATA", "no symbol metrics exist yet: run the batch first");
    return latest;
  }
  const found = await db
    .select({ symbol: symbolDailyMetrics.symbol })
    .from(symbolDailyMetrics)
    .where(eq(symbolDailyMetrics.metricsDate, date))
    .limit(1)
    .get();
  if (!found)
    throw new ApiError(404, "NO_DATA", `no symbol metrics for ${date}: not a trading day, or its batch has not run`);
  return date;
}

/** The aggregation input of `holdings` and `cash` on `date`, for every active factor or the keys given. */
export async function aggregationInputFor(
  db: Database,
  date: string,
  holdings: readonly HoldingInput[],
  cash: number,
  factorKeys?: readonly string[],
): Promise<AggregationInput> {
  const active = await loadActiveFactors(db);
  const factors = factorKeys === undefined ? active : active.filter((factor) => factorKeys.includes(factor.key));
  const symbols = [
    ...new Set(holdings.filter((h) => h.instrument !== "private" && isHeldOn(h, date)).map(betaSymbolOf)),
  ];
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

/** The stored values of an aggregation input beyond the API's input limits, as field errors. */
export function outOfRangeValues(input: AggregationInput, prefix = ""): FieldError[] {
  const errors: FieldError[] = [];
  const beyond = (path: string, value: number | null | undefined, limit: number, what: string) => {
    if (value === null || value === undefined) return;
    if (!Number.isFinite(value) || Math.abs(value) > limit) {
      const message = `${what} ${value} is beyond the API's limit of ±${limit.toExponential()}; correct it`;
      errors.push({ path: `${prefix}${path}`, message });
    }
  };
  beyond("cash", input.cash, maxAmount, "the cash");
  for (const holding of input.holdings) {
    const at = `positions.${holding.id}`;
    beyond(`${at}.quantity`, holding.quantity, maxQuantity, "the quantity");
    beyond(`${at}.strike`, holding.strike, maxUnitPrice, "the strike");
    beyond(`${at}.premium`, holding.premium, maxUnitPrice, "the premium");
    beyond(`${at}.multiplier`, holding.multiplier, maxMultiplier, "the multiplier");
  }
  for (const [symbol, close] of input.closes) beyond(`closes.${symbol}`, close, maxUnitPrice, `the close of ${symbol}`);
  return errors;
}

/**
 * `compute()`, or a 422 `VALUE_OUT_OF_RANGE` when it overflows: the details name the stored
 * values of `inputs` beyond the API's limits (a position's quantity, the cash, a close), or
 * what overflowed when none is. Anything else it throws is rethrown.
 */
export function computeWithinRange<T>(
  inputs: readonly { input: AggregationInput; prefix?: string }[],
  compute: () => T,
): T {
  try {
    return compute();
  } catch (error) {
    if (!(error instanceof NumericOverflowError)) throw error;
    const details = inputs.flatMap(({ input, prefix }) => outOfRangeValues(input, prefix));
    if (details.length === 0) {
      details.push({ path: "", message: `${error.quantity} is too large to compute (${error.message})` });
    }
    const fields = [...new Set(details.map((detail) => detail.path || error.quantity))].join(", ");
    const message = `the numbers cannot be computed: stored values are out of range (${fields})`;
    throw new ApiError(422, "VALUE_OUT_OF_RANGE", message, details);
  }
}
