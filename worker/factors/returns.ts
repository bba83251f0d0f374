// Calendar, daily returns and windows (docs/factor-engine.md, "Returns and windows").
//
// Everything downstream works on a `ReturnPanel`: one trading calendar and, per symbol, one
// row of returns aligned to it in a single Float64Array, so a window is an index range and
// aligning a symbol with a factor is an index lookup, never a date-string join.
// NaN is the panel's internal marker for "no return that day"; it never leaves the engine.
import { FactorEngineError } from "./errors.ts";

export interface ReturnPanel {
  /** Trading dates, strictly ascending (`YYYY-MM-DD`). */
  readonly calendar: readonly string[];
  /** `calendar` as days since 1970-01-01, for window arithmetic. */
  readonly calendarDays: Int32Array;
  readonly symbols: readonly string[];
  readonly symbolIndex: ReadonlyMap<string, number>;
  /**
   * Row-major `[symbol][calendar index]`: the return dated on that trading day, NaN when the
   * symbol has no return that day. Row `s` starts at `s * calendar.length`.
   */
  readonly returns: Float64Array;
}

/** One stored daily price, as the batch job reads it from the database. */
export interface PriceRow {
  symbol: string;
  date: string;
  close: number;
  adjClose?: number | null;
}

export type RejectedPriceReason =
  | "close_not_finite"
  | "close_not_positive"
  | "adj_close_not_finite"
  | "adj_close_not_positive"
  /** A date on which the market reference symbol has no close: not a trading day. */
  | "off_calendar"
  /** Two valid closes whose ratio overflows (e.g. 1e300 after 1e-10). */
  | "return_not_finite"
  /**
   * A one-day gross return `P_t / P_prev` beyond `maxDailyMove` either way: a likely bad
   * tick. Only that return is dropped; both closes stay (see `PriceRowOptions.maxDailyMove`).
   */
  | "suspect_move";

/**
 * A price the engine did not use; the day counts as "no close" (see docs/factor-engine.md).
 * For `suspect_move` and `return_not_finite` it is the return dated `date` that is not used.
 */
export interface RejectedPrice {
  symbol: string;
  date: string;
  reason: RejectedPriceReason;
  detail: string;
}

export interface ReturnPanelBuild {
  panel: ReturnPanel;
  rejectedPrices: RejectedPrice[];
}

export interface PriceRowOptions {
  /** The symbol whose dates define the trading calendar. Default `SPY`. */
  marketSymbol?: string;
  /** An explicit trading calendar; overrides the market symbol's dates. */
  calendar?: readonly string[];
  /**
   * The engine's safety net against bad ticks that reached the database (imports refuse them
   * at the door, `defaultMaxDailyMove` in market-data/price-import.ts): a daily return whose
   * gross ratio `P_t / P_prev` (on the prices the return uses) is > maxDailyMove or
   * < 1 / maxDailyMove is not used — NaN in the panel, reported as `suspect_move` — while the
   * closes stay, so a 1000× spike that comes back removes exactly two returns. A ratio at the
   * bound is used. Must be > 1; undefined (the default) checks nothing.
   */
  maxDailyMove?: number;
}

const msPerDay = 86_400_000;
const isoDate = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Days since 1970-01-01 of a `YYYY-MM-DD` date; throws `invalid_date` for anything else. */
export function dayNumber(date: string, symbol?: string): number {
  const match = isoDate.exec(date);
  if (match !== null) {
    const year = Number(match[1]);
    const month = Number(match[2]);
    const day = Number(match[3]);
    const ms = Date.UTC(year, month - 1, day);
    const parsed = new Date(ms);
    // Round-trip check rejects 2025-02-30 and friends, which Date.UTC silently rolls over.
    if (parsed.getUTCFullYear() === year && parsed.getUTCMonth() === month - 1 && parsed.getUTCDate() === day) {
      return Math.round(ms / msPerDay);
    }
  }
  const where = symbol === undefined ? "" : ` for ${symbol}`;
  throw new FactorEngineError("invalid_date", `invalid date ${JSON.stringify(date)}${where}: expected YYYY-MM-DD`, {
    date,
    ...(symbol === undefined ? {} : { symbol }),
  });
}

/** First index `i` with `days[i] > day` (binary search; `days` ascending). */
export function firstIndexAfter(days: Int32Array, day: number): number {
  let lo = 0;
  let hi = days.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (days[mid]! > day) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * The calendar index range `[start, end)` of a `windowDays` calendar-day window ending on
 * `endDay`: the returns dated in `(endDay − windowDays, endDay]`.
 */
export function windowStart(calendarDays: Int32Array, endDay: number, windowDays: number): number {
  return firstIndexAfter(calendarDays, endDay - windowDays);
}

export function windowEnd(calendarDays: Int32Array, endDay: number): number {
  return firstIndexAfter(calendarDays, endDay);
}

function checkedCalendar(calendar: readonly string[]): Int32Array {
  const days = new Int32Array(calendar.length);
  for (let t = 0; t < calendar.length; t++) {
    const date = calendar[t]!;
    days[t] = dayNumber(date);
    if (t > 0 && days[t]! <= days[t - 1]!) {
      throw new FactorEngineError(
        "invalid_calendar",
        `calendar is not strictly ascending at ${date} (after ${calendar[t - 1]})`,
        { date },
      );
    }
  }
  return days;
}

function indexSymbols(symbols: readonly string[]): Map<string, number> {
  const index = new Map<string, number>();
  for (const [i, symbol] of symbols.entries()) index.set(symbol, i);
  return index;
}

/**
 * A panel from returns already aligned to a calendar (`null` = no return that day). For
 * tests, generators and callers that computed returns elsewhere.
 */
export function buildReturnPanelFromReturns(
  calendar: readonly string[],
  returnsBySymbol:
    | Readonly<Record<string, readonly (number | null)[]>>
    | ReadonlyMap<string, readonly (number | null)[]>,
): ReturnPanel {
  const calendarDays = checkedCalendar(calendar);
  const entries = returnsBySymbol instanceof Map ? [...returnsBySymbol.entries()] : Object.entries(returnsBySymbol);
  const symbols = entries.map(([symbol]) => symbol);
  const days = calendar.length;
  const returns = new Float64Array(symbols.length * days);
  entries.forEach(([symbol, series], s) => {
    if (series.length !== days) {
      throw new FactorEngineError(
        "invalid_return",
        `returns of ${symbol} have ${series.length} values for a calendar of ${days} dates`,
        { symbol },
      );
    }
    for (let t = 0; t < days; t++) {
      const value = series[t];
      if (value === null || value === undefined) {
        returns[s * days + t] = NaN;
      } else if (!Number.isFinite(value)) {
        const date = calendar[t]!;
        throw new FactorEngineError("invalid_return", `return of ${symbol} on ${date} is ${value}`, { symbol, date });
      } else {
        returns[s * days + t] = value;
      }
    }
  });
  return { calendar: [...calendar], calendarDays, symbols, symbolIndex: indexSymbols(symbols), returns };
}

/**
 * A rejected ratio for a detail: four significant digits, or every digit when four would
 * print the bound itself (a ratio of 5.000000000000001 against a bound of 5).
 */
function formatRatio(ratio: number, maxDailyMove: number): string {
  const short = Number(ratio.toPrecision(4));
  return String(short > maxDailyMove || short < 1 / maxDailyMove ? short : ratio);
}

function compareRowDates(a: PriceRow, b: PriceRow): number {
  return a.date < b.date ? -1 : a.date > b.date ? 1 : 0;
}

function sameAdjClose(a: number | null | undefined, b: number | null | undefined): boolean {
  return Object.is(a ?? null, b ?? null);
}

/**
 * A panel from stored daily prices, following docs/factor-engine.md: the calendar is the
 * market symbol's dates; `r_t = P_t / P_prev − 1` needs a close on `t` and on the previous
 * calendar day; the adjusted close is used when both days have a valid one, otherwise the
 * close on both days (never a mix). A close that is not finite or not positive is rejected
 * and its day treated as missing; an invalid adjusted close is rejected and the day falls
 * back to closes. Rows come in any order; a repeated (symbol, date) with the same values is
 * ignored, with different values it is a `duplicate_price` error. With `maxDailyMove`, a
 * return beyond it is left out and reported `suspect_move`.
 */
export function buildReturnPanelFromPrices(rows: Iterable<PriceRow>, options: PriceRowOptions = {}): ReturnPanelBuild {
  const marketSymbol = options.marketSymbol ?? "SPY";
  // Without a bound the limits are ±∞ / 0, which no finite positive ratio crosses: the loop
  // below has one code path and the reference numbers stay bit-identical.
  const maxDailyMove = options.maxDailyMove ?? Number.POSITIVE_INFINITY;
  if (!(maxDailyMove > 1)) {
    throw new RangeError(`maxDailyMove must be a number > 1 (or undefined for no check), got ${options.maxDailyMove}`);
  }
  const minDailyMove = 1 / maxDailyMove;
  const rowsBySymbol = new Map<string, PriceRow[]>();
  for (const row of rows) {
    let symbolRows = rowsBySymbol.get(row.symbol);
    if (symbolRows === undefined) {
      symbolRows = [];
      rowsBySymbol.set(row.symbol, symbolRows);
    }
    symbolRows.push(row);
  }
  const symbols = [...rowsBySymbol.keys()].sort();
  for (const symbol of symbols) {
    const symbolRows = rowsBySymbol.get(symbol)!;
    let sorted = true;
    for (let i = 1; i < symbolRows.length && sorted; i++) sorted = symbolRows[i - 1]!.date <= symbolRows[i]!.date;
    if (!sorted) symbolRows.sort(compareRowDates);
    let kept = 0;
    for (let i = 0; i < symbolRows.length; i++) {
      const row = symbolRows[i]!;
      const previous = kept > 0 ? symbolRows[kept - 1]! : undefined;
      if (previous !== undefined && previous.date === row.date) {
        if (!Object.is(previous.close, row.close) || !sameAdjClose(previous.adjClose, row.adjClose)) {
          throw new FactorEngineError(
            "duplicate_price",
            `${symbol} has two different prices on ${row.date}: ` +
              `close ${previous.close} / adjusted ${previous.adjClose ?? "none"} and ` +
              `close ${row.close} / adjusted ${row.adjClose ?? "none"}`,
            { symbol, date: row.date },
          );
        }
        continue;
      }
      symbolRows[kept++] = row;
    }
    symbolRows.length = kept;
  }

  // A market row with a rejected close still marks a trading day: dropping the date would
  // join the days around it into a two-day return for every other symbol.
  const calendar = options.calendar
    ? [...options.calendar]
    : (rowsBySymbol.get(marketSymbol) ?? []).map((row) => row.date);
  for (const date of calendar) dayNumber(date, options.calendar ? undefined : marketSymbol);
  const calendarDays = checkedCalendar(calendar);
  const calendarIndex = new Map<string, number>();
  for (const [t, date] of calendar.entries()) calendarIndex.set(date, t);

  const days = calendar.length;
  const returns = new Float64Array(symbols.length * days).fill(NaN);
  const rejectedPrices: RejectedPrice[] = [];
  const closes = new Float64Array(days);
  const adjustedCloses = new Float64Array(days);
  symbols.forEach((symbol, s) => {
    closes.fill(NaN);
    adjustedCloses.fill(NaN);
    for (const row of rowsBySymbol.get(symbol)!) {
      const t = calendarIndex.get(row.date);
      if (t === undefined) {
        dayNumber(row.date, symbol);
        rejectedPrices.push({
          symbol,
          date: row.date,
          reason: "off_calendar",
          detail: `no ${marketSymbol} close on ${row.date}`,
        });
        continue;
      }
      if (!Number.isFinite(row.close)) {
        rejectedPrices.push({ symbol, date: row.date, reason: "close_not_finite", detail: `close is ${row.close}` });
        continue;
      }
      if (row.close <= 0) {
        rejectedPrices.push({ symbol, date: row.date, reason: "close_not_positive", detail: `close is ${row.close}` });
        continue;
      }
      closes[t] = row.close;
      const adjusted = row.adjClose;
      if (adjusted === null || adjusted === undefined) continue;
      if (!Number.isFinite(adjusted)) {
        rejectedPrices.push({
          symbol,
          date: row.date,
          reason: "adj_close_not_finite",
          detail: `adjusted close is ${adjusted}`,
        });
      } else if (adjusted <= 0) {
        rejectedPrices.push({
          symbol,
          date: row.date,
          reason: "adj_close_not_positive",
          detail: `adjusted close is ${adjusted}`,
        });
      } else {
        adjustedCloses[t] = adjusted;
      }
    }
    const row = s * days;
    for (let t = 1; t < days; t++) {
      const close = closes[t]!;
      const previousClose = closes[t - 1]!;
      if (Number.isNaN(close) || Number.isNaN(previousClose)) continue;
      const adjusted = adjustedCloses[t]!;
      const previousAdjusted = adjustedCloses[t - 1]!;
      // r_t = P_t / P_prev − 1, on adjusted closes only when both days have one.
      const useAdjusted = !Number.isNaN(adjusted) && !Number.isNaN(previousAdjusted);
      const ratio = useAdjusted ? adjusted / previousAdjusted : close / previousClose;
      const simpleReturn = ratio - 1;
      if (!Number.isFinite(simpleReturn)) {
        rejectedPrices.push({
          symbol,
          date: calendar[t]!,
          reason: "return_not_finite",
          detail: `return from ${previousClose} to ${close} is not finite`,
        });
      } else if (ratio > maxDailyMove || ratio < minDailyMove) {
        // Cold path: strings are only built for the rare rejected return.
        const price = useAdjusted ? "adjusted close" : "close";
        const from = useAdjusted ? previousAdjusted : previousClose;
        const to = useAdjusted ? adjusted : close;
        rejectedPrices.push({
          symbol,
          date: calendar[t]!,
          reason: "suspect_move",
          detail:
            `${price} moves ×${formatRatio(ratio, maxDailyMove)} from ${from} on ${calendar[t - 1]} ` +
            `to ${to} on ${calendar[t]}; the bound is a factor of ${maxDailyMove}`,
        });
      } else {
        returns[row + t] = simpleReturn;
      }
    }
  });

  return {
    panel: { calendar, calendarDays, symbols, symbolIndex: indexSymbols(symbols), returns },
    rejectedPrices,
  };
}
