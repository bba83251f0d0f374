// Errors the factor engine raises for input it cannot interpret. Bad *values* (a NaN close, a
// symbol without enough history) are not errors: they become rejected prices or missing betas
// with a reason. An error means the input contradicts itself or the factor set is invalid, so
// no honest number can be produced; the message always names the symbol and/or date.

export type FactorEngineErrorCode =
  /** Two rows for one symbol and date with different closes. */
  | "duplicate_price"
  /** A date that is not a valid `YYYY-MM-DD` calendar date. */
  | "invalid_date"
  /** A calendar that is not strictly ascending. */
  | "invalid_calendar"
  /** A return series that does not fit the calendar, or a non-finite return. */
  | "invalid_return"
  /** A factor definition the engine cannot run (missing input, bad window, mixed ridge α…). */
  | "invalid_factor_spec"
  /** A symbol the return panel does not hold. */
  | "unknown_symbol";

export interface FactorEngineErrorContext {
  symbol?: string;
  date?: string;
  factorKey?: string;
}

export class FactorEngineError extends Error {
  readonly code: FactorEngineErrorCode;
  readonly symbol: string | null;
  readonly date: string | null;
  readonly factorKey: string | null;

  constructor(code: FactorEngineErrorCode, message: string, context: FactorEngineErrorContext = {}) {
    super(message);
    this.name = "FactorEngineError";
    this.code = code;
    this.symbol = context.symbol ?? null;
    this.date = context.date ?? null;
    this.factorKey = context.factorKey ?? null;
  }
}

/**
 * A computation whose result is not a finite number (an overflow: only absurd magnitudes, such
 * as a quantity of 1e308 stored before the API capped its inputs). A RangeError, as before, so
 * callers that treat a RangeError as a failed computation keep doing so; the API turns it into
 * a 422 naming the stored values that caused it (worker/portfolios/aggregation-input.ts).
 */
export class NumericOverflowError extends RangeError {
  /** What overflowed, e.g. `equity` or `exposure_dollar of market_beta`. */
  readonly quantity: string;

  constructor(message: string, quantity: string) {
    super(message);
    this.name = "NumericOverflowError";
    this.quantity = quantity;
  }
}

/** `value`, or a `NumericOverflowError` naming `what` when it is not finite. */
export function requireFinite(what: string, value: number, context = "computation"): number {
  if (!Number.isFinite(value)) throw new NumericOverflowError(`${context} overflowed: ${what} is ${value}`, what);
  return value;
}
