// Suggested hedges (docs/design.md §11 "Hedge"): the trades in a few instruments that minimize
// the target variance of the portfolio plus the hedge — its total variance, or its active
// variance against the benchmark (tracking error) — plus a penalty on the size of the trades.
// Pure and synchronous: every input is passed in.
//
// Notation as ./portfolio-risk.ts: X_s the exposure weights summed per beta symbol, b_s the
// loadings, s²_s the daily specific variance, Σ the daily factor covariance. For the active
// target the benchmark B is a holding of weight −1 merged into X (X'_B = X_B − 1). A hedge buys
// u_j of equity in instrument j (dollars = u_j × equity), funded from cash, so equity is
// unchanged and X_j grows by u_j. The target variance after the hedge is
//
//   V(u) = (b + B_H u)ᵀ Σ (b + B_H u) + Σ_{s ∉ H} X_s² s²_s + Σ_{j ∈ H} (X_j + u_j)² s²_j
//
// (b = Σ_s X_s b_s, B_H the instruments' loadings as columns), and the objective is
// 252·V(u) + λ Σ_j u_j², λ = `penalty` in annualized variance per squared unit of weight. Its
// gradient vanishes where
//
//   (B_Hᵀ Σ B_H + diag(s²_H) + (λ/252) I) u = −(B_Hᵀ Σ b + d),   d_j = X_j s²_j,
//
// the design's system with its λ the daily λ/252. The matrix is symmetric positive semi-definite
// (positive definite when λ > 0); it is factorized by Cholesky and the solution refined once.
//
// Decisions (repeated in docs/design.md §11 and docs/api.md):
// - The penalty is annualized, like the volatilities the API serves: λ = 1e-5 (the default)
//   makes a trade of 100% of equity cost as much as an annualized variance of 1e-5, a
//   volatility of 0.32%. Small beside a factor's annualized variance (a factor with a 3%
//   volatility has 9e-4), it barely moves the hedge but makes it unique when instruments
//   duplicate each other.
// - A singular system is refused, never regularized behind the caller's back: a pivot of the
//   Cholesky factorization at or below 1e-12 of its diagonal entry means an instrument is
//   (nearly) a combination of the ones before it — identical loadings and specific variance,
//   or no risk at all — so the hedge is not unique. `HedgeError` (`singular`) names the
//   instruments and says to add a penalty or remove one; the API answers 422 on `instruments`.
// - Instruments must have estimated loadings carrying every risk factor, and a positive close
//   (the trade in shares); otherwise `HedgeError` names them.
// - Before and after are computed by `computePortfolioRisk` on the aggregation and on the same
//   aggregation with one position per trade (id `hedge-<SYMBOL>`, weight u_j, delta 1, valued at
//   D's close), so they are the risk route's numbers, standard errors included; the after
//   variance equals V(u) above to rounding.
// - Trades are exact: shares = dollars / close, fractional; rounding them is the caller's.
import { NumericOverflowError, requireFinite } from "./errors.ts";
import { computePortfolioRisk, TRADING_DAYS_PER_YEAR } from "./portfolio-risk.ts";
import type {
  Matrix,
  PortfolioRisk,
  PortfolioRiskInput,
  RiskAggregation,
  RiskUnavailableReason,
} from "./portfolio-risk.ts";
import type { PositionValuation } from "./portfolio.ts";
import type { SymbolRiskLoadings } from "./risk-model.ts";

export const hedgeTargets = ["tracking_error", "total"] as const;
export type HedgeTarget = (typeof hedgeTargets)[number];

/** λ when the caller gives none: annualized variance per squared unit of weight (see the header). */
export const DEFAULT_HEDGE_PENALTY = 1e-5;
/** A Cholesky pivot at or below this fraction of its diagonal entry makes the system singular. */
export const HEDGE_PIVOT_TOLERANCE = 1e-12;
/** Position ids of the trades in the after aggregation: `hedge-<SYMBOL>`. */
export const HEDGE_POSITION_PREFIX = "hedge-";

export type HedgeErrorCode =
  /** A penalty that is negative or not finite, no instruments, an instrument listed twice. */
  | "invalid_request"
  /** The tracking-error target without a benchmark. */
  | "no_benchmark"
  /** The tracking-error target with a benchmark that has no estimated loadings on the date. */
  | "benchmark_without_loadings"
  /** The portfolio's target risk cannot be computed (equity ≤ 0, no covariance, nothing covered). */
  | "risk_unavailable"
  | "instruments_without_loadings"
  | "instruments_without_price"
  /** The system is singular: the hedge is not unique. */
  | "singular";

/** The request field a hedge error is about, as the API names it. */
export type HedgeErrorField = "instruments" | "penalty" | "target" | "benchmark" | "date" | "";

/** A hedge that cannot be computed, with the field at fault and the symbols concerned. */
export class HedgeError extends RangeError {
  readonly code: HedgeErrorCode;
  readonly field: HedgeErrorField;
  readonly symbols: string[];
  /** The risk engine's reason when `code` is `risk_unavailable`. */
  readonly riskReason: RiskUnavailableReason | null;

  constructor(
    code: HedgeErrorCode,
    field: HedgeErrorField,
    message: string,
    options: { symbols?: readonly string[]; riskReason?: RiskUnavailableReason } = {},
  ) {
    super(message);
    this.name = "HedgeError";
    this.code = code;
    this.field = field;
    this.symbols = [...(options.symbols ?? [])];
    this.riskReason = options.riskReason ?? null;
  }
}

// ---------------------------------------------------------------------------------------------
// The linear system

/** A symbol of the target portfolio: its weight (X'_s for the active target) and its model. */
export interface HedgeHolding {
  symbol: string;
  weight: number;
  /** In factor order. */
  loadings: readonly number[];
  /** s², daily. */
  residualVariance: number;
}

/** An instrument: its model; its current weight is the holdings' entry of the same symbol, if any. */
export interface HedgeInstrument {
  symbol: string;
  loadings: readonly number[];
  residualVariance: number;
}

export interface HedgeSystemInput {
  /** Daily Σ, K × K, symmetric positive semi-definite. */
  covariance: Matrix;
  holdings: readonly HedgeHolding[];
  instruments: readonly HedgeInstrument[];
  /** λ, annualized (the objective is 252·V(u) + λ Σ u_j²). */
  penalty: number;
}

export interface HedgeSystemSolution {
  /** u_j in the instruments' order, fractions of equity (positive buys). */
  weights: number[];
  /** The target variance V(0) and V(u), daily. */
  varianceBefore: number;
  varianceAfter: number;
  /** λ Σ u_j², annualized variance units. */
  penaltyCost: number;
}

function matrixVector(matrix: Matrix, vector: readonly number[]): number[] {
  return matrix.map((row) => {
    let sum = 0;
    for (let k = 0; k < row.length; k++) sum += row[k]! * vector[k]!;
    return sum;
  });
}

function dot(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let k = 0; k < a.length; k++) sum += a[k]! * b[k]!;
  return sum;
}

/** V(u): the target variance with weights X'_s + u_s (daily). */
function targetVariance(input: HedgeSystemInput, u: readonly number[]): number {
  const size = input.covariance.length;
  const weights = new Map<string, { weight: number; loadings: readonly number[]; residualVariance: number }>();
  for (const holding of input.holdings) weights.set(holding.symbol, { ...holding });
  input.instruments.forEach((instrument, j) => {
    const held = weights.get(instrument.symbol);
    weights.set(instrument.symbol, {
      weight: (held?.weight ?? 0) + u[j]!,
      loadings: instrument.loadings,
      residualVariance: instrument.residualVariance,
    });
  });
  const exposure = new Array<number>(size).fill(0);
  let specific = 0;
  for (const { weight, loadings, residualVariance } of weights.values()) {
    for (let k = 0; k < size; k++) exposure[k]! += weight * loadings[k]!;
    specific += weight * weight * residualVariance;
  }
  return dot(exposure, matrixVector(input.covariance, exposure)) + specific;
}

/** Why the pivot of instrument `j` vanished: which instruments make the hedge not unique. */
function singularError(input: HedgeSystemInput, j: number, diagonal: number): HedgeError {
  const instrument = input.instruments[j]!;
  const symbol = instrument.symbol;
  if (!(diagonal > 0))
    return new HedgeError(
      "singular",
      "instruments",
      `${symbol} has no risk (its loadings are 0 and it has no specific variance): its trade is undetermined; ` +
        "add a penalty or remove it",
      { symbols: [symbol] },
    );
  const scale = Math.max(...instrument.loadings.map(Math.abs), Math.sqrt(instrument.residualVariance), 1e-300);
  const twin = input.instruments
    .slice(0, j)
    .find(
      (other) =>
        Math.abs(other.residualVariance - instrument.residualVariance) <= 1e-9 * scale * scale &&
        other.loadings.every((value, k) => Math.abs(value - instrument.loadings[k]!) <= 1e-9 * scale),
    );
  if (twin !== undefined)
    return new HedgeError(
      "singular",
      "instruments",
      `${twin.symbol} and ${symbol} have identical loadings: the hedge is not unique; add a penalty or remove one`,
      { symbols: [twin.symbol, symbol] },
    );
  const before = input.instruments.slice(0, j).map((other) => other.symbol);
  return new HedgeError(
    "singular",
    "instruments",
    `${symbol} is (nearly) a combination of ${before.join(", ")} with no specific risk of its own: the hedge is ` +
      "not unique; add a penalty or remove one",
    { symbols: [...before, symbol] },
  );
}

/**
 * Solves the hedge's normal equations (see the header) for `input`. Throws `HedgeError`
 * (`singular`) when the system has no unique solution, `invalid_request` for a bad penalty.
 */
export function solveHedgeSystem(input: HedgeSystemInput): HedgeSystemSolution {
  const { covariance, holdings, instruments } = input;
  const size = covariance.length;
  if (!(Number.isFinite(input.penalty) && input.penalty >= 0))
    throw new HedgeError("invalid_request", "penalty", `penalty must be a finite number ≥ 0, got ${input.penalty}`);
  const n = instruments.length;
  const lambda = input.penalty / TRADING_DAYS_PER_YEAR;
  // b = Σ_s X'_s b_s and Σb.
  const exposure = new Array<number>(size).fill(0);
  for (const holding of holdings) for (let k = 0; k < size; k++) exposure[k]! += holding.weight * holding.loadings[k]!;
  const sigmaB = matrixVector(covariance, exposure);
  const sigmaColumns = instruments.map((instrument) => matrixVector(covariance, instrument.loadings));
  const heldWeight = new Map(holdings.map((holding) => [holding.symbol, holding.weight]));
  // M = B_Hᵀ Σ B_H + diag(s²_H) + λI; rhs = −(B_Hᵀ Σ b + d).
  const matrix: number[][] = instruments.map((row, i) =>
    instruments.map((_, j) => dot(row.loadings, sigmaColumns[j]!) + (i === j ? row.residualVariance + lambda : 0)),
  );
  // Exactly symmetric (the two products round differently).
  for (let i = 0; i < n; i++)
    for (let j = 0; j < i; j++) matrix[i]![j] = matrix[j]![i] = (matrix[i]![j]! + matrix[j]![i]!) / 2;
  const rhs = instruments.map(
    (instrument) =>
      -(dot(instrument.loadings, sigmaB) + (heldWeight.get(instrument.symbol) ?? 0) * instrument.residualVariance),
  );

  // Cholesky, L Lᵀ = M, with a pivot test relative to each diagonal entry.
  const factor: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let j = 0; j < n; j++) {
    const diagonal = matrix[j]![j]!;
    let pivot = diagonal;
    for (let k = 0; k < j; k++) pivot -= factor[j]![k]! ** 2;
    if (!(diagonal > 0) || !(pivot > HEDGE_PIVOT_TOLERANCE * diagonal)) throw singularError(input, j, diagonal);
    const root = Math.sqrt(pivot);
    factor[j]![j] = root;
    for (let i = j + 1; i < n; i++) {
      let sum = matrix[i]![j]!;
      for (let k = 0; k < j; k++) sum -= factor[i]![k]! * factor[j]![k]!;
      factor[i]![j] = sum / root;
    }
  }
  const solve = (vector: readonly number[]): number[] => {
    const x = [...vector];
    for (let i = 0; i < n; i++) {
      let sum = x[i]!;
      for (let k = 0; k < i; k++) sum -= factor[i]![k]! * x[k]!;
      x[i] = sum / factor[i]![i]!;
    }
    for (let i = n - 1; i >= 0; i--) {
      let sum = x[i]!;
      for (let k = i + 1; k < n; k++) sum -= factor[k]![i]! * x[k]!;
      x[i] = sum / factor[i]![i]!;
    }
    return x;
  };
  const u = solve(rhs);
  // One step of iterative refinement: the residual of an ill-conditioned system is solved again.
  const residual = rhs.map((value, i) => value - dot(matrix[i]!, u));
  const correction = solve(residual);
  // `+ 0`: no −0 for a trade of nothing.
  const weights = u.map(
    (value, j) => requireFinite(`hedge weight of ${instruments[j]!.symbol}`, value + correction[j]!) + 0,
  );
  let squares = 0;
  for (const value of weights) squares += value * value;
  return {
    weights,
    varianceBefore: requireFinite("variance before the hedge", targetVariance(input, new Array<number>(n).fill(0))),
    varianceAfter: requireFinite("variance after the hedge", targetVariance(input, weights)),
    penaltyCost: requireFinite("penalty cost", input.penalty * squares),
  };
}

// ---------------------------------------------------------------------------------------------
// A portfolio's hedge

export interface HedgeInput extends Omit<PortfolioRiskInput, "lensBetas" | "lensFactors"> {
  target: HedgeTarget;
  /** The instruments to trade (beta symbols with loadings), each once. */
  instruments: readonly string[];
  /** λ, annualized; default `DEFAULT_HEDGE_PENALTY`. */
  penalty?: number;
  /** D's close of each instrument: the trades' price. */
  closes: ReadonlyMap<string, number>;
}

export interface HedgeTrade {
  symbol: string;
  /** u_j: the trade as a fraction of equity (positive buys). */
  weight: number;
  /** X_j before the trade (0 when not held; never the benchmark's −1). */
  weightBefore: number;
  /** X_j + u_j. */
  weightAfter: number;
  /** u_j × equity. */
  dollars: number;
  /** D's close. */
  close: number;
  /** dollars / close, fractional. */
  shares: number;
}

export interface Hedge {
  date: string;
  target: HedgeTarget;
  benchmarkSymbol: string | null;
  penalty: number;
  equity: number;
  /** In the order given. */
  trades: HedgeTrade[];
  /** The portfolio's risk as it is, and with the trades (`hedge-<SYMBOL>` positions). */
  before: PortfolioRisk;
  after: PortfolioRisk;
  /** The target's daily variance before and after (the risk engine's, `before`/`after`). */
  varianceBefore: number;
  varianceAfter: number;
  /** The target's annualized volatility or tracking error, sqrt(252 V). */
  riskBefore: number;
  riskAfter: number;
  /** λ Σ u_j², annualized variance units. */
  penaltyCost: number;
}

type UsableModel = { loadings: number[]; residualVariance: number };

/**
 * A symbol's loadings as a vector in `factorKeys` order, or null when they cannot be used — by the
 * risk engine's rule (./portfolio-risk.ts): estimated, a loading and a standard error per factor.
 */
function modelOf(record: SymbolRiskLoadings | undefined, factorKeys: readonly string[]): UsableModel | null {
  if (record === undefined || record.status !== "estimated") return null;
  if (factorKeys.some((key) => record.loadings[key] === undefined || record.standardErrors[key] === undefined))
    return null;
  const loadings = factorKeys.map((key) => record.loadings[key]!);
  if (!loadings.every(Number.isFinite) || !(Number.isFinite(record.residualVariance) && record.residualVariance >= 0))
    return null;
  return { loadings, residualVariance: record.residualVariance };
}

/** The aggregation with one valued position per non-zero trade, equity unchanged (bought with cash). */
export function withHedgeTrades<A extends RiskAggregation>(aggregation: A, trades: readonly HedgeTrade[]): A {
  const added: PositionValuation[] = trades
    .filter((trade) => trade.weight !== 0)
    .map((trade) => ({
      positionId: `${HEDGE_POSITION_PREFIX}${trade.symbol}`,
      symbol: trade.symbol,
      betaSymbol: trade.symbol,
      // Not read by the risk engine: the instrument's kind only matters to a stored position.
      instrument: "etf",
      status: "valued",
      price: trade.close,
      marketValue: trade.dollars,
      premiumValue: null,
      delta: 1,
      deltaSource: "unit",
      weight: trade.weight,
      detail: null,
    }));
  return { ...aggregation, positions: [...aggregation.positions, ...added] };
}

const listed = (symbols: readonly string[]) => symbols.join(", ");

/**
 * The hedge of a portfolio (docs/design.md §11 "Hedge"; see the header): its risk before, the
 * trades, and its risk after. Throws `HedgeError` when no hedge can be computed, saying why.
 */
export function computeHedge(input: HedgeInput): Hedge {
  const penalty = input.penalty ?? DEFAULT_HEDGE_PENALTY;
  if (!(Number.isFinite(penalty) && penalty >= 0))
    throw new HedgeError("invalid_request", "penalty", `penalty must be a finite number ≥ 0, got ${penalty}`);
  if (input.instruments.length === 0) throw new HedgeError("invalid_request", "instruments", "no instruments given");
  const twice = input.instruments.filter((symbol, i) => input.instruments.indexOf(symbol) !== i);
  if (twice.length > 0)
    throw new HedgeError("invalid_request", "instruments", `instruments listed twice: ${listed(twice)}`, {
      symbols: twice,
    });
  const benchmarkSymbol = input.benchmarkSymbol ?? null;
  if (input.target === "tracking_error" && benchmarkSymbol === null)
    throw new HedgeError(
      "no_benchmark",
      "target",
      "the tracking_error target needs a benchmark: give one, or hedge the total risk (target total)",
    );

  const riskInput: PortfolioRiskInput = {
    aggregation: input.aggregation,
    factorKeys: input.factorKeys,
    covariance: input.covariance,
    loadings: input.loadings,
    benchmarkSymbol,
    ...(input.covarianceDetail === undefined ? {} : { covarianceDetail: input.covarianceDetail }),
  };
  const riskOf = (aggregation: RiskAggregation): PortfolioRisk => {
    try {
      return computePortfolioRisk({ ...riskInput, aggregation });
    } catch (error) {
      // A covariance that is not positive semi-definite, a stored loading that is not finite.
      if (!(error instanceof RangeError) || error instanceof NumericOverflowError) throw error;
      throw new HedgeError(
        "risk_unavailable",
        "date",
        `the risk of ${input.aggregation.date} cannot be computed: ${error.message}`,
        { riskReason: "no_covariance" },
      );
    }
  };
  /** The target's variance block of a computed risk. */
  const targetBlock = (risk: PortfolioRisk) => (input.target === "total" ? risk.total : risk.active);
  const before = riskOf(input.aggregation);
  const unavailable = input.target === "total" ? before.totalUnavailable : before.activeUnavailable;
  if (unavailable !== null) {
    if (unavailable.reason === "benchmark_without_loadings")
      throw new HedgeError(
        "benchmark_without_loadings",
        "benchmark",
        `the benchmark has no loadings on ${before.date} (${unavailable.detail}): choose another benchmark or hedge ` +
          "the total risk",
        { symbols: benchmarkSymbol === null ? [] : [benchmarkSymbol] },
      );
    throw new HedgeError(
      "risk_unavailable",
      unavailable.reason === "no_covariance" ? "date" : "",
      `the portfolio's ${input.target === "total" ? "total risk" : "tracking error"} on ${before.date} cannot be ` +
        `computed (${unavailable.reason}: ${unavailable.detail}), so neither can a hedge`,
      { riskReason: unavailable.reason },
    );
  }

  const { factorKeys } = before;
  const covariance = input.covariance as Matrix; // non-null: the target's block was computed
  const models = input.instruments.map((symbol) => modelOf(input.loadings.get(symbol), factorKeys));
  const withoutLoadings = input.instruments.filter((_, j) => models[j] === null);
  if (withoutLoadings.length > 0)
    throw new HedgeError(
      "instruments_without_loadings",
      "instruments",
      `no risk loadings on ${before.date} for ${listed(withoutLoadings)}: only symbols with estimated loadings can ` +
        "hedge (see GET /data/symbols/:symbol, risk_loadings)",
      { symbols: withoutLoadings },
    );
  const closes = input.instruments.map((symbol) => input.closes.get(symbol));
  const withoutPrice = input.instruments.filter((_, j) => {
    const close = closes[j];
    return close === undefined || !(Number.isFinite(close) && close > 0);
  });
  if (withoutPrice.length > 0)
    throw new HedgeError(
      "instruments_without_price",
      "instruments",
      `no close on ${before.date} for ${listed(withoutPrice)}: a trade needs a price`,
      { symbols: withoutPrice },
    );

  // The target's holdings: the used symbols' X_s, the benchmark merged at −1 for the active target.
  const weights = new Map<string, number>();
  for (const row of before.symbols) weights.set(row.symbol, row.weight ?? 0);
  const targetWeights = new Map(weights);
  if (input.target === "tracking_error" && benchmarkSymbol !== null)
    targetWeights.set(benchmarkSymbol, (targetWeights.get(benchmarkSymbol) ?? 0) - 1);
  const holdings: HedgeHolding[] = [...targetWeights].map(([symbol, weight]) => {
    // Every used symbol and the benchmark have usable loadings: the target's block was computed.
    const model = modelOf(input.loadings.get(symbol), factorKeys) as UsableModel;
    return { symbol, weight, ...model };
  });
  const solution = solveHedgeSystem({
    covariance,
    holdings,
    instruments: input.instruments.map((symbol, j) => ({ symbol, ...(models[j] as UsableModel) })),
    penalty,
  });

  const equity = before.equity;
  const trades: HedgeTrade[] = input.instruments.map((symbol, j) => {
    const weight = solution.weights[j]!;
    const weightBefore = weights.get(symbol) ?? 0;
    const close = closes[j] as number;
    const dollars = requireFinite(`trade in ${symbol}`, weight * equity);
    return {
      symbol,
      weight,
      weightBefore,
      weightAfter: weightBefore + weight,
      dollars,
      close,
      shares: requireFinite(`shares of ${symbol}`, dollars / close),
    };
  });
  const after = riskOf(withHedgeTrades(input.aggregation, trades));
  const blockBefore = targetBlock(before);
  const blockAfter = targetBlock(after);
  // Both exist: the trades add valued positions with loadings to a portfolio whose block was computed.
  if (blockBefore === null || blockAfter === null)
    throw new HedgeError("risk_unavailable", "", "the risk after the hedge cannot be computed");
  const varianceBefore = blockBefore.variance;
  const varianceAfter = blockAfter.variance;
  const annualized = (variance: number) => Math.sqrt(TRADING_DAYS_PER_YEAR * Math.max(0, variance));
  return {
    date: before.date,
    target: input.target,
    benchmarkSymbol,
    penalty,
    equity,
    trades,
    before,
    after,
    varianceBefore,
    varianceAfter,
    riskBefore: annualized(varianceBefore),
    riskAfter: annualized(varianceAfter),
    penaltyCost: solution.penaltyCost,
  };
}
