// Symbol metrics for the dashboard row of a symbol on date D (docs/design.md §4.10,
// "Symbol metrics"): price, trailing returns, profile fields, the latest beta of each factor and a
// data quality score. Pure: closes in, one `symbol_daily_metrics` row out.
//
// Definitions (docs/factor-engine.md, "Symbol metrics"):
// - current_price: the actual close on D; null when the symbol has no close on D (then every
//   return is null too: a return "as of D" needs a price on D).
// - Returns compare D with a base close; the adjusted close is used when both ends have one,
//   otherwise the close at both ends (never a mix), as for the factor returns.
//   return_1d: base = the close on the previous trading day (no multi-day return over a gap).
//   return_mtd: base = the last close on or before the last day of the previous month.
//   return_ytd: base = the last close on or before 31 December of the previous year.
//   return_1m/3m/1y: base = the last close on or before the same calendar day 1/3/12 months
//   earlier (clamped to the month's end: 31 March − 1 month → 28 or 29 February).
//   A return whose base close does not exist is null, never 0; so is one whose base close is
//   more than 31 days before its target date (a halt or listing gap: not the period asked for).
// - data_quality_score: the share, 0–100 rounded, of the row's fields that are present:
//   the price, the six returns, the eight profile fields and one beta per factor.
import type { SymbolFactorBeta } from "./types.ts";

export interface DailyClose {
  date: string;
  close: number;
  adjClose: number | null;
}

export interface CompanyProfileFields {
  companyName: string | null;
  sector: string | null;
  industry: string | null;
  marketCap: number | null;
  enterpriseValue: number | null;
  peRatio: number | null;
  psRatio: number | null;
  pbRatio: number | null;
}

export interface SymbolMetricsInput {
  symbol: string;
  metricsDate: string;
  /** The symbol's closes, ascending by date, unique dates, positive finite closes. */
  closes: readonly DailyClose[];
  /** The trading day before `metricsDate` in the market calendar (null when D is the first). */
  previousTradingDate: string | null;
  profile: CompanyProfileFields | null;
  /** The symbol's betas on D by factor key; factors absent or missing count as not present. */
  betas: Readonly<Record<string, SymbolFactorBeta | undefined>>;
  /** Every factor key, in column order: the denominator of the score includes all of them. */
  factorKeys: readonly string[];
}

export interface SymbolMetrics extends CompanyProfileFields {
  symbol: string;
  metricsDate: string;
  currentPrice: number | null;
  return1d: number | null;
  returnMtd: number | null;
  returnYtd: number | null;
  return1m: number | null;
  return3m: number | null;
  return1y: number | null;
  /** Latest estimated beta per factor key; null when missing (never 0). */
  factorBetas: Record<string, number | null>;
  dataQualityScore: number;
}

/** The last index with `closes[i].date <= date`, or -1 (binary search; closes ascend). */
function lastCloseOnOrBefore(closes: readonly DailyClose[], date: string): number {
  let low = 0;
  let high = closes.length - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    if (closes[mid]!.date <= date) {
      found = mid;
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  return found;
}

/** A base close older than this before its target date is stale: the return is null. */
export const maxBaseAgeDays = 31;

function simpleReturn(end: DailyClose, base: DailyClose | undefined): number | null {
  if (!base) return null;
  const useAdjusted = end.adjClose !== null && base.adjClose !== null;
  const value = useAdjusted ? end.adjClose! / base.adjClose! - 1 : end.close / base.close - 1;
  return Number.isFinite(value) ? value : null;
}

function dayNumber(date: string): number {
  return Date.parse(`${date}T00:00:00Z`) / 86_400_000;
}

/** The ISO date `months` calendar months before `date`, clamped to the target month's end. */
export function monthsBefore(date: string, months: number): string {
  const [year, month, day] = date.split("-").map(Number) as [number, number, number];
  const totalMonths = year * 12 + (month - 1) - months;
  const targetYear = Math.floor(totalMonths / 12);
  const targetMonth = totalMonths - targetYear * 12; // 0-based
  const lastDay = new Date(Date.UTC(targetYear, targetMonth + 1, 0)).getUTCDate();
  return isoDate(targetYear, targetMonth + 1, Math.min(day, lastDay));
}

function isoDate(year: number, month: number, day: number): string {
  return `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
}

/** The last calendar day of the month before `date`'s month. */
function endOfPreviousMonth(date: string): string {
  const [year, month] = date.split("-").map(Number) as [number, number];
  const end = new Date(Date.UTC(year, month - 1, 0));
  return end.toISOString().slice(0, 10);
}

export function computeSymbolMetrics(input: SymbolMetricsInput): SymbolMetrics {
  const { closes, metricsDate } = input;
  const endIndex = lastCloseOnOrBefore(closes, metricsDate);
  const end = endIndex >= 0 && closes[endIndex]!.date === metricsDate ? closes[endIndex]! : undefined;
  // Base closes strictly before D: the lookups are for dates before D, so they never find D.
  const baseOnOrBefore = (date: string): DailyClose | undefined => {
    const index = lastCloseOnOrBefore(closes, date);
    const base = index >= 0 ? closes[index] : undefined;
    return base && dayNumber(date) - dayNumber(base.date) <= maxBaseAgeDays ? base : undefined;
  };
  const previous =
    input.previousTradingDate === null ? undefined : closes[lastCloseOnOrBefore(closes, input.previousTradingDate)];
  const year = Number(metricsDate.slice(0, 4));

  const returns = end
    ? {
        return1d: previous && previous.date === input.previousTradingDate ? simpleReturn(end, previous) : null,
        returnMtd: simpleReturn(end, baseOnOrBefore(endOfPreviousMonth(metricsDate))),
        returnYtd: simpleReturn(end, baseOnOrBefore(isoDate(year - 1, 12, 31))),
        return1m: simpleReturn(end, baseOnOrBefore(monthsBefore(metricsDate, 1))),
        return3m: simpleReturn(end, baseOnOrBefore(monthsBefore(metricsDate, 3))),
        return1y: simpleReturn(end, baseOnOrBefore(monthsBefore(metricsDate, 12))),
      }
    : { return1d: null, returnMtd: null, returnYtd: null, return1m: null, return3m: null, return1y: null };

  // Field by field: a profile row from the database carries more than these fields.
  const source = input.profile;
  const profile: CompanyProfileFields = {
    companyName: source?.companyName ?? null,
    sector: source?.sector ?? null,
    industry: source?.industry ?? null,
    marketCap: source?.marketCap ?? null,
    enterpriseValue: source?.enterpriseValue ?? null,
    peRatio: source?.peRatio ?? null,
    psRatio: source?.psRatio ?? null,
    pbRatio: source?.pbRatio ?? null,
  };
  const factorBetas: Record<string, number | null> = {};
  for (const key of input.factorKeys) {
    const beta = input.betas[key];
    factorBetas[key] = beta?.status === "estimated" ? beta.beta : null;
  }

  return {
    symbol: input.symbol,
    metricsDate,
    currentPrice: end?.close ?? null,
    ...returns,
    ...profile,
    factorBetas,
    dataQualityScore: dataQualityScore(
      [end?.close ?? null, ...Object.values(returns), ...Object.values(profile)],
      Object.values(factorBetas),
    ),
  };
}

/**
 * The share, 0–100 rounded, of a metrics row's fields that are present: its 15 own fields
 * (price, six returns, eight profile fields) and one beta per factor. The batch recomputes
 * it with this same function when it denormalizes the date's betas into the row.
 */
export function dataQualityScore(ownFields: readonly unknown[], factorBetas: readonly (number | null)[]): number {
  const fields = [...ownFields, ...factorBetas];
  if (fields.length === 0) return 0;
  const present = fields.filter((value) => value !== null && value !== undefined && value !== "").length;
  return Math.round((100 * present) / fields.length);
}
