// Option deltas for the portfolio aggregation: the standard normal CDF, Black–Scholes delta
// and price (the price reprices options under a stress, portfolio-risk.ts), and the ACT/365
// year fraction between two ISO dates.
//
// Decisions (beyond docs/factor-engine.md):
// - The normal CDF is W. J. Cody's rational Chebyshev approximation (ACM TOMS 715, "ANORM",
//   the algorithm R's `pnorm` runs), written here rather than pulled in as a dependency: it
//   is ~60 lines, and no small package is worth the Worker bundle. Its error is at the level
//   of double rounding (< 1e-15 absolute over the real line; the tests hold it to 1e-14
//   against mpmath), far inside the 1e-12 the engine asks for. Abramowitz–Stegun 7.1.26
//   (error ~1e-7) is not accurate enough for a delta that is compared across systems.
// - Delta is the Black–Scholes delta with no dividends: call N(d1), put N(d1) − 1, with
//   d1 = (ln(S/K) + (r + σ²/2)·T) / (σ√T), T in years ACT/365.
// - Where σ√T = 0 (on the expiry date, or zero volatility) d1 is the limit of the formula:
//   +∞ when the forward S·e^{rT} is above the strike, −∞ below it, 0 exactly at it. So on
//   the expiry date a call's delta is 1 in the money, 0 out of the money and ½ at the money
//   (put: 0, −1, −½); call − put = 1 always holds. Nothing here returns NaN or ±∞.
// - Invalid inputs (non-positive spot or strike, negative volatility or time, non-finite
//   anything) are a RangeError: a caller's bug, never silently a delta.
import type { OptionType } from "../../schema/portfolios.ts";

export type { OptionType };

/** Days in the ACT/365 year. */
export const DAYS_PER_YEAR = 365;

/** The risk-free rate used when the caller gives none (annual, continuously compounded). */
export const DEFAULT_RISK_FREE_RATE = 0.04;

const M_SQRT_32 = 5.656854249492380195206754896838; // √32: the boundary of Cody's middle range
const M_1_SQRT_2PI = 0.398942280401432677939946059934; // 1/√(2π)

const CODY_A = [
  2.2352520354606839287, 161.02823106855587881, 1067.6894854603709582, 18154.981253343561249, 0.065682337918207449113,
] as const;
const CODY_B = [47.20258190468824187, 976.09855173777669322, 10260.932208618978205, 45507.789335026729956] as const;
const CODY_C = [
  0.39894151208813466764, 8.8831497943883759412, 93.506656132177855979, 597.27027639480026226, 2494.5375852903726711,
  6848.1904505362823326, 11602.651437647350124, 9842.7148383839780218, 1.0765576773720192317e-8,
] as const;
const CODY_D = [
  22.266688044328115691, 235.38790178262499861, 1519.377599407554805, 6485.558298266760755, 18615.571640885098091,
  34900.952721145977266, 38912.003286093271411, 19685.429676859990727,
] as const;
const CODY_P = [
  0.21589853405795699, 0.1274011611602473639, 0.022235277870649807, 0.001421619193227893466, 2.9112874951168792e-5,
  0.02307344176494017303,
] as const;
const CODY_Q = [
  1.28426009614491121, 0.468238212480865118, 0.0659881378689285515, 0.00378239633202758244, 7.29751555083966205e-5,
] as const;

/**
 * e^{−y²/2} × `rational`, with y² split as (a + (y − a))·… where a = ⌊16y⌋/16 so that a² is
 * exact: the one rounding in y² would otherwise cost relative accuracy in the far tail.
 */
function gaussianTail(y: number, rational: number): number {
  const head = Math.trunc(y * 16) / 16;
  const rest = (y - head) * (y + head);
  return Math.exp(-head * head * 0.5) * Math.exp(-rest * 0.5) * rational;
}

/**
 * Standard normal distribution function Φ(x) = P[Z ≤ x], W. J. Cody's algorithm (see the
 * header). Φ(−∞) = 0, Φ(+∞) = 1; NaN in gives NaN out (callers validate first).
 */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const y = Math.abs(x);
  if (y <= 0.67448975) {
    // Central range, |x| ≤ Φ⁻¹(3/4): Φ(x) = ½ + x·R(x²).
    let numerator = 0;
    let denominator = 0;
    if (y > 1.1102230246251565e-16) {
      const square = x * x;
      numerator = CODY_A[4] * square;
      denominator = square;
      for (let i = 0; i < 3; i++) {
        numerator = (numerator + CODY_A[i]!) * square;
        denominator = (denominator + CODY_B[i]!) * square;
      }
    }
    return 0.5 + (x * (numerator + CODY_A[3])) / (denominator + CODY_B[3]);
  }
  let lowerTail: number; // Φ(−|x|)
  if (y <= M_SQRT_32) {
    let numerator = CODY_C[8] * y;
    let denominator = y;
    for (let i = 0; i < 7; i++) {
      numerator = (numerator + CODY_C[i]!) * y;
      denominator = (denominator + CODY_D[i]!) * y;
    }
    lowerTail = gaussianTail(y, (numerator + CODY_C[7]) / (denominator + CODY_D[7]));
  } else if (y < 37.5193) {
    // Asymptotic range: Φ(−y) = φ(y)/y × (1 − R(1/y²)); from 37.5193 on (R's bound) Φ(−y) is
    // below the smallest normal double and is returned as 0.
    const inverseSquare = 1 / (y * y);
    let numerator = CODY_P[5] * inverseSquare;
    let denominator = inverseSquare;
    for (let i = 0; i < 4; i++) {
      numerator = (numerator + CODY_P[i]!) * inverseSquare;
      denominator = (denominator + CODY_Q[i]!) * inverseSquare;
    }
    const rational = (inverseSquare * (numerator + CODY_P[4])) / (denominator + CODY_Q[4]);
    lowerTail = gaussianTail(y, (M_1_SQRT_2PI - rational) / y);
  } else {
    lowerTail = 0;
  }
  return x > 0 ? 1 - lowerTail : lowerTail;
}

export interface BlackScholesDeltaInput {
  optionType: OptionType;
  /** Underlying price S > 0. */
  spot: number;
  /** Strike K > 0. */
  strike: number;
  /** Time to expiry T ≥ 0 in years (see `yearFraction`). */
  years: number;
  /** Annualized volatility σ ≥ 0. */
  volatility: number;
  /** Continuously compounded annual risk-free rate r. */
  riskFreeRate: number;
}

function requireFinite(name: string, value: number, minimum: number, inclusive: boolean): void {
  const ok = Number.isFinite(value) && (inclusive ? value >= minimum : value > minimum);
  if (!ok) throw new RangeError(`${name} must be a finite number ${inclusive ? "≥" : ">"} ${minimum}, got ${value}`);
}

/** Black–Scholes d1, with its σ√T → 0 limit (±∞ or 0 by the forward's moneyness). */
export function blackScholesD1(input: Omit<BlackScholesDeltaInput, "optionType">): number {
  const { spot, strike, years, volatility, riskFreeRate } = input;
  requireFinite("spot", spot, 0, false);
  requireFinite("strike", strike, 0, false);
  requireFinite("years", years, 0, true);
  requireFinite("volatility", volatility, 0, true);
  if (!Number.isFinite(riskFreeRate)) throw new RangeError(`riskFreeRate must be finite, got ${riskFreeRate}`);
  // ln(S/K) + rT: log of forward moneyness. Written as a log difference so S/K cannot overflow.
  const forwardMoneyness = Math.log(spot) - Math.log(strike) + riskFreeRate * years;
  const deviation = volatility * Math.sqrt(years); // σ√T
  if (deviation === 0) {
    if (forwardMoneyness > 0) return Number.POSITIVE_INFINITY;
    if (forwardMoneyness < 0) return Number.NEGATIVE_INFINITY;
    return 0;
  }
  // d1 = m/(σ√T) + σ√T/2: never forms σ², so a huge σ cannot overflow into ∞ − ∞.
  return forwardMoneyness / deviation + deviation / 2;
}

/** Black–Scholes delta (no dividends): call N(d1), put N(d1) − 1. Always in [−1, 1]. */
export function blackScholesDelta(input: BlackScholesDeltaInput): number {
  const callDelta = normalCdf(blackScholesD1(input));
  return input.optionType === "call" ? callDelta : callDelta - 1;
}

/**
 * Black–Scholes price per unit of the underlying (no dividends): call S·N(d1) − K·e^{−rT}·N(d2),
 * put K·e^{−rT}·N(−d2) − S·N(−d1), d2 = d1 − σ√T. The put is written with N(−d) rather than
 * through put–call parity so that a deep out-of-the-money put keeps its relative accuracy.
 * Where σ√T = 0, d1 = d2 take the limit of `blackScholesD1`, so the price is the discounted
 * intrinsic value on the forward: max(S − K·e^{−rT}, 0) for a call, max(K·e^{−rT} − S, 0) for a
 * put. Inputs are validated as for the delta (RangeError).
 */
export function blackScholesPrice(input: BlackScholesDeltaInput): number {
  const { spot, strike, years, volatility, riskFreeRate } = input;
  const d1 = blackScholesD1(input);
  const deviation = volatility * Math.sqrt(years);
  const d2 = d1 - deviation; // ±∞ − finite stays ±∞
  const discountedStrike = strike * Math.exp(-riskFreeRate * years);
  const price =
    input.optionType === "call"
      ? spot * normalCdf(d1) - discountedStrike * normalCdf(d2)
      : discountedStrike * normalCdf(-d2) - spot * normalCdf(-d1);
  if (!Number.isFinite(price)) throw new RangeError(`Black–Scholes price is not finite (${price})`);
  // Rounding can leave a far out-of-the-money price a hair below 0; a price is never negative.
  return Math.max(0, price);
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Days since 1970-01-01 of an ISO `YYYY-MM-DD` date; RangeError for anything else. */
export function isoDateToDayNumber(date: string): number {
  const match = ISO_DATE.exec(date);
  if (match === null) throw new RangeError(`not an ISO date (YYYY-MM-DD): ${JSON.stringify(date)}`);
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  const time = Date.UTC(year, month - 1, day);
  const check = new Date(time);
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) {
    throw new RangeError(`not a calendar date: ${date}`);
  }
  return time / 86_400_000;
}

/** ACT/365 year fraction from `from` to `to` (negative when `to` is earlier). */
export function yearFraction(from: string, to: string): number {
  return (isoDateToDayNumber(to) - isoDateToDayNumber(from)) / DAYS_PER_YEAR;
}
