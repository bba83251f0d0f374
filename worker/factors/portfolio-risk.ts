// Portfolio risk on the risk lens, realized P&L attribution, and stress propagation
// (docs/design.md §11 "Portfolio risk", "P&L attribution", "Stress propagation", "Historical
// replay"; decisions in docs/factor-engine.md, "Portfolio risk, attribution and stress
// propagation"). Pure and synchronous: every input is passed in.
//
// Notation. x_i = w_i·δ_i per valued position (w_i = mv_i/E); exposure weights are summed per
// beta symbol first, X_s = Σ_{i on s} x_i (a stock and the options on it share one specific
// return), and D_s = Σ_{i on s} mv_i·δ_i = E·X_s in dollars. b_s are the symbol's loadings,
// s²_s its daily specific variance, se_s,k the loadings' standard errors, Σ the daily factor
// covariance in `factorKeys` order.
//
// Decisions beyond the design (repeated in docs/factor-engine.md):
// - A symbol is used when its loadings are `estimated` and carry every key of `factorKeys` (a
//   loading and a standard error each); otherwise its positions are left out and reported with
//   the loadings' reason, `not_computed` (no record) or `loadings_incomplete` (a key missing).
//   Positions the aggregation did not value (or valued without a delta) are left out with the
//   aggregation's status. Private positions are listed too (reason `private`).
// - Nothing covered: when public positions (expired options aside) are held but none is used,
//   the risk numbers are null (`no_positions_covered`), never a zero variance. A portfolio that
//   holds nothing public (cash only) has V = 0 honestly; then shares and marginals, which divide
//   by V or √V, are null with `sharesUnavailable: "zero_variance"`.
// - Stress impacts are computed in dollars (D_s), so they exist when equity ≤ 0; options are
//   repriced at the close the aggregation valued them with (`PositionValuation.price`).
// - Exposures b_p, their standard errors and the active exposures need no covariance: they are
//   given whenever weights are (equity > 0); the variance blocks need Σ too.
// - Active: the benchmark enters as a holding of weight −1 merged with the portfolio's own
//   position in it (X'_B = X_B − 1, a row with no positions when it is not held), and b_a is
//   computed as Σ_s X'_s b_s, so a portfolio that is exactly its benchmark has b_a = 0 and
//   V_a = 0 exactly. Active exposures carry standard errors from the same X'_s (the benchmark's
//   own estimation error included).
// - Σ is validated (K × K, finite, symmetric to 1e-12 of its largest entry, diagonal ≥ 0) but
//   not factorized. A factor variance b'Σb below −1e-12 of |b|ᵀ|Σ||b| means Σ is not
//   positive semi-definite: a RangeError. Above that, a negative rounding residue is kept in
//   the variance (so the contributions still add up to it) and counts as 0 under √.
// - Value at risk is the one-day parametric loss at 95% / 99%, z·√V·E, a positive number of
//   dollars (a loss), for a normal P&L with mean 0.
// - Lens exposure uncertainty uses each symbol's lens `beta` (capped at ±5, as the exposures
//   are) with the `standardError` of its raw estimate: ./exposure-uncertainty.ts, the one
//   implementation the batch's stored standard errors (GET /portfolios/:id/exposures) use too.
// - Outputs that overflow are a NumericOverflowError (errors.ts), never ±∞ or NaN.
import { requireFinite } from "./errors.ts";
import {
  EXPOSURE_STANDARD_ERROR_NOTE,
  exposureUncertainties,
  isDistinguishable,
  symbolExposureWeights,
} from "./exposure-uncertainty.ts";
import type { ExposureUncertainty } from "./exposure-uncertainty.ts";
import { blackScholesPrice, DEFAULT_RISK_FREE_RATE, isoDateToDayNumber, yearFraction } from "./options.ts";
import { DEFAULT_OPTION_MULTIPLIER } from "./portfolio.ts";
import type { BetaTable, HoldingInput, OptionType, PortfolioAggregation, PositionStatus } from "./portfolio.ts";
import type { RiskLoadingReason, SymbolRiskLoadings } from "./risk-model.ts";
import type { FactorSpec } from "./types.ts";

/** Trading days per year: annualizes the daily variances (docs/design.md §4.1). */
export const TRADING_DAYS_PER_YEAR = 252;
/** Φ⁻¹(0.95) and Φ⁻¹(0.99): the one-day parametric VaR multipliers. */
export const VAR_Z_95 = 1.6448536269514722;
export const VAR_Z_99 = 2.3263478740408408;

export { EXPOSURE_STANDARD_ERROR_NOTE };

/** A K × K matrix, row-major, in `factorKeys` order. */
export type Matrix = readonly (readonly number[])[];

/** What the risk computation reads from an aggregation (a whole `PortfolioAggregation` fits). */
export type RiskAggregation = Pick<PortfolioAggregation, "date" | "equity" | "weightsAvailable" | "positions">;

export interface PortfolioRiskInput {
  aggregation: RiskAggregation;
  /** The risk lens, in display order (K keys). */
  factorKeys: readonly string[];
  /** Daily Σ (K × K, `factorKeys` order) of the date; null when there is none. */
  covariance: Matrix | null;
  /** Why `covariance` is null (e.g. the stored `insufficient_history` detail); shown in dataQuality. */
  covarianceDetail?: string | null;
  /** Loadings by beta symbol (an option's underlying). */
  loadings: ReadonlyMap<string, SymbolRiskLoadings>;
  benchmarkSymbol?: string | null;
  /** Lens betas (with standard errors) and the lens factors: lens exposures with standard errors. */
  lensBetas?: BetaTable;
  lensFactors?: readonly FactorSpec[];
}

/** Why a block of numbers is null. */
export type RiskUnavailableReason =
  | "weights_unavailable" // equity ≤ 0
  | "no_covariance" // no factor covariance for the date
  | "no_positions_covered" // public positions are held, none has loadings and a value
  | "no_benchmark" // no benchmark symbol given
  | "benchmark_without_loadings" // the benchmark symbol has no estimated loadings
  | "not_requested"; // lens exposures: no lens betas/factors given

export interface RiskUnavailable {
  reason: RiskUnavailableReason;
  detail: string;
}

export type SymbolLeftOutReason = RiskLoadingReason | "not_computed" | "loadings_incomplete";

/** A beta symbol whose positions are valued but which has no usable loadings. */
export interface SymbolLeftOut {
  symbol: string;
  positionIds: string[];
  reason: SymbolLeftOutReason;
  detail: string | null;
}

/** A held position that is in no risk number, with the aggregation's status. */
export interface PositionLeftOut {
  positionId: string;
  symbol: string;
  betaSymbol: string;
  reason: Exclude<PositionStatus, "valued">;
  detail: string | null;
}

export interface PortfolioRiskDataQuality {
  date: string;
  equity: number;
  weightsAvailable: boolean;
  covarianceAvailable: boolean;
  covarianceDetail: string | null;
  /** Positions held on the date (private included). */
  positionsHeld: number;
  /** Positions whose weight × delta enters X_s. */
  positionsUsed: number;
  symbolsUsed: number;
  /** Σ |mv| of the positions used / Σ |mv| of the valued positions; null when the latter is 0. */
  coverage: number | null;
  symbolsLeftOut: SymbolLeftOut[];
  positionsLeftOut: PositionLeftOut[];
}

/** A used beta symbol: its summed exposure weight and dollar exposure. */
export interface SymbolRiskWeight {
  symbol: string;
  positionIds: string[];
  /** X_s = Σ w_i·δ_i; null when weights are unavailable. */
  weight: number | null;
  /** D_s = Σ mv_i·δ_i (= X_s × equity). */
  dollarExposure: number;
}

/** A risk factor exposure with its standard error. */
export interface RiskExposure {
  factorKey: string;
  /** b_pk = Σ_s X_s b_s,k. */
  exposure: number;
  /** sqrt(Σ_s (X_s se_s,k)²); see `note`. */
  standardError: number;
  /** exposure ≠ 0 and |exposure| ≥ 2·standardError. */
  distinguishable: boolean;
}

export interface ActiveExposure extends RiskExposure {
  /** b_pk */
  portfolio: number;
  /** b_Bk, the benchmark's own loading. */
  benchmark: number;
  // `exposure` is the active one, Σ_s X'_s b_s,k (= portfolio − benchmark), its standard error from X'_s.
}

export interface FactorRiskContribution {
  factorKey: string;
  /** The (portfolio or active) exposure b_k. */
  exposure: number;
  /** c_k = b_k (Σb)_k; Σ_k c_k = factor variance. */
  contribution: number;
  /** c_k / V; null when V = 0. */
  share: number | null;
}

export interface HoldingRiskContribution {
  symbol: string;
  /** Empty for the benchmark's row in the active block when the portfolio does not hold it. */
  positionIds: string[];
  /** X_s (X'_s in the active block). */
  weight: number;
  /** X_s·b_sᵀΣb */
  factorPart: number;
  /** X_s²·s²_s */
  specificPart: number;
  /** h_s = X_s (b_sᵀΣb + X_s s²_s) = factorPart + specificPart; Σ_s h_s = V. */
  contribution: number;
  /** h_s / V; null when V = 0. */
  share: number | null;
  /** (b_sᵀΣb + X_s s²_s) / √V per unit of weight; null when V = 0. */
  marginal: number | null;
}

/** A daily variance and its Euler decompositions. */
export interface VarianceDecomposition {
  /** V = factorVariance + specificVariance, daily, squared fractions of equity. */
  variance: number;
  factorVariance: number;
  specificVariance: number;
  /** In `factorKeys` order. */
  factors: FactorRiskContribution[];
  /** By |contribution| descending, then symbol. */
  holdings: HoldingRiskContribution[];
  /** "zero_variance" when V = 0 (shares and marginals are then null); null otherwise. */
  sharesUnavailable: "zero_variance" | null;
}

export interface TotalRisk extends VarianceDecomposition {
  /** sqrt(252 V), a fraction of equity. */
  volatility: number;
  volatilityDollar: number;
  /** One-day parametric VaR, z·√V·equity, dollars (a loss, positive). */
  valueAtRisk95: number;
  valueAtRisk99: number;
}

export interface ActiveRisk extends VarianceDecomposition {
  benchmarkSymbol: string;
  /** sqrt(252 V_a), a fraction of equity. */
  trackingError: number;
  trackingErrorDollar: number;
}

/** A lens factor's portfolio exposure with its standard error (./exposure-uncertainty.ts, shared with the batch). */
export type LensExposureUncertainty = ExposureUncertainty;

export interface PortfolioRisk {
  date: string;
  equity: number;
  factorKeys: string[];
  benchmarkSymbol: string | null;
  /** Used symbols, by symbol. */
  symbols: SymbolRiskWeight[];
  exposures: RiskExposure[] | null;
  exposuresUnavailable: RiskUnavailable | null;
  total: TotalRisk | null;
  totalUnavailable: RiskUnavailable | null;
  activeExposures: ActiveExposure[] | null;
  activeExposuresUnavailable: RiskUnavailable | null;
  active: ActiveRisk | null;
  activeUnavailable: RiskUnavailable | null;
  lensExposures: LensExposureUncertainty[] | null;
  lensExposuresUnavailable: RiskUnavailable | null;
  dataQuality: PortfolioRiskDataQuality;
  /** How standard errors are to be read (EXPOSURE_STANDARD_ERROR_NOTE). */
  note: string;
}

// ---------------------------------------------------------------------------------------------
// Validation and small helpers

function finiteOutput(what: string, value: number): number {
  return requireFinite(what, value, "portfolio risk");
}

function checkFactorKeys(factorKeys: readonly string[]): void {
  if (new Set(factorKeys).size !== factorKeys.length) throw new RangeError("risk factor keys must be unique");
}

/** Checks Σ (K × K, finite, symmetric to 1e-12 of its largest entry, diagonal ≥ 0); a copy. */
function checkedCovariance(covariance: Matrix, size: number): number[][] {
  if (covariance.length !== size)
    throw new RangeError(`covariance must be ${size} × ${size}, has ${covariance.length} rows`);
  let largest = 0;
  const copy = covariance.map((row, a) => {
    if (row.length !== size) throw new RangeError(`covariance row ${a} has ${row.length} entries, ${size} expected`);
    return row.map((value, b) => {
      if (!Number.isFinite(value)) throw new RangeError(`covariance[${a}][${b}] is not finite: ${value}`);
      largest = Math.max(largest, Math.abs(value));
      return value;
    });
  });
  for (let a = 0; a < size; a++) {
    if (copy[a]![a]! < 0) throw new RangeError(`covariance[${a}][${a}] (a variance) is negative: ${copy[a]![a]}`);
    for (let b = 0; b < a; b++) {
      if (Math.abs(copy[a]![b]! - copy[b]![a]!) > 1e-12 * largest)
        throw new RangeError(`covariance is not symmetric at [${a}][${b}]`);
    }
  }
  return copy;
}

function matrixVector(matrix: readonly (readonly number[])[], vector: readonly number[]): number[] {
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

const compareSymbols = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A symbol's loadings as vectors, or why they cannot be used. */
type UsableLoadings =
  | { usable: true; loadings: number[]; standardErrors: number[]; residualVariance: number }
  | { usable: false; reason: SymbolLeftOutReason; detail: string | null };

function usableLoadings(
  record: SymbolRiskLoadings | undefined,
  symbol: string,
  factorKeys: readonly string[],
): UsableLoadings {
  if (record === undefined) return { usable: false, reason: "not_computed", detail: `no loadings for ${symbol}` };
  if (record.status === "missing") return { usable: false, reason: record.reason, detail: record.detail };
  const absent = factorKeys.filter(
    (key) => record.loadings[key] === undefined || record.standardErrors[key] === undefined,
  );
  if (absent.length > 0) {
    return { usable: false, reason: "loadings_incomplete", detail: `no loading for ${absent.join(", ")}` };
  }
  const loadings = factorKeys.map((key) => record.loadings[key]!);
  const standardErrors = factorKeys.map((key) => record.standardErrors[key]!);
  const residualVariance = record.residualVariance;
  const bad =
    loadings.some((v) => !Number.isFinite(v)) ||
    standardErrors.some((v) => !(Number.isFinite(v) && v >= 0)) ||
    !(Number.isFinite(residualVariance) && residualVariance >= 0);
  if (bad) throw new RangeError(`loadings of ${symbol} are not finite (or a variance or standard error is negative)`);
  return { usable: true, loadings, standardErrors, residualVariance };
}

// ---------------------------------------------------------------------------------------------
// Collecting the positions per symbol

interface SymbolRow {
  symbol: string;
  positionIds: string[];
  /** X_s (0 when weights are unavailable; see `weightsAvailable`). */
  weight: number;
  dollar: number;
  grossCovered: number;
  loadings: number[];
  standardErrors: number[];
  residualVariance: number;
}

interface CollectedPositions {
  rows: SymbolRow[];
  symbolsLeftOut: SymbolLeftOut[];
  positionsLeftOut: PositionLeftOut[];
  positionsUsed: number;
  publicHeld: number;
  grossValued: number;
}

function collectPositions(
  aggregation: RiskAggregation,
  factorKeys: readonly string[],
  loadingsBySymbol: ReadonlyMap<string, SymbolRiskLoadings>,
): CollectedPositions {
  const positionsLeftOut: PositionLeftOut[] = [];
  const bySymbol = new Map<string, { positionIds: string[]; weight: number; dollar: number; gross: number }>();
  let grossValued = 0;
  let publicHeld = 0;
  for (const p of aggregation.positions) {
    if (p.status !== "private" && p.status !== "expired") publicHeld++;
    if (p.marketValue !== null) grossValued += Math.abs(p.marketValue);
    const usable = p.status === "valued" && p.marketValue !== null && p.delta !== null;
    if (!usable) {
      positionsLeftOut.push({
        positionId: p.positionId,
        symbol: p.symbol,
        betaSymbol: p.betaSymbol,
        reason: p.status === "valued" ? "no_delta" : p.status,
        detail: p.detail,
      });
      continue;
    }
    const entry = bySymbol.get(p.betaSymbol) ?? { positionIds: [], weight: 0, dollar: 0, gross: 0 };
    entry.positionIds.push(p.positionId);
    if (aggregation.weightsAvailable && p.weight !== null) entry.weight += p.weight * p.delta!;
    entry.dollar += p.marketValue! * p.delta!;
    entry.gross += Math.abs(p.marketValue!);
    bySymbol.set(p.betaSymbol, entry);
  }
  const rows: SymbolRow[] = [];
  const symbolsLeftOut: SymbolLeftOut[] = [];
  let positionsUsed = 0;
  for (const [symbol, entry] of [...bySymbol].sort((a, b) => compareSymbols(a[0], b[0]))) {
    const found = usableLoadings(loadingsBySymbol.get(symbol), symbol, factorKeys);
    if (!found.usable) {
      symbolsLeftOut.push({ symbol, positionIds: entry.positionIds, reason: found.reason, detail: found.detail });
      continue;
    }
    positionsUsed += entry.positionIds.length;
    rows.push({
      symbol,
      positionIds: entry.positionIds,
      weight: entry.weight,
      dollar: entry.dollar,
      grossCovered: entry.gross,
      loadings: found.loadings,
      standardErrors: found.standardErrors,
      residualVariance: found.residualVariance,
    });
  }
  return { rows, symbolsLeftOut, positionsLeftOut, positionsUsed, publicHeld, grossValued };
}

// ---------------------------------------------------------------------------------------------
// Exposures and variance decompositions

interface WeightedSymbol {
  symbol: string;
  positionIds: string[];
  weight: number;
  loadings: readonly number[];
  standardErrors: readonly number[];
  residualVariance: number;
}

/** b = Σ_s X_s b_s, and se_k = sqrt(Σ_s (X_s se_s,k)²). */
function exposureVector(
  rows: readonly WeightedSymbol[],
  size: number,
): { exposure: number[]; standardError: number[] } {
  const exposure = new Array<number>(size).fill(0);
  const squares = new Array<number>(size).fill(0);
  for (const row of rows) {
    for (let k = 0; k < size; k++) {
      exposure[k]! += row.weight * row.loadings[k]!;
      const e = row.weight * row.standardErrors[k]!;
      squares[k]! += e * e;
    }
  }
  return { exposure, standardError: squares.map(Math.sqrt) };
}

function riskExposures(factorKeys: readonly string[], rows: readonly WeightedSymbol[]): RiskExposure[] {
  const { exposure, standardError } = exposureVector(rows, factorKeys.length);
  return factorKeys.map((factorKey, k) => ({
    factorKey,
    exposure: finiteOutput(`exposure to ${factorKey}`, exposure[k]!),
    standardError: finiteOutput(`standard error of ${factorKey}`, standardError[k]!),
    distinguishable: isDistinguishable(exposure[k]!, standardError[k]!),
  }));
}

/** V = bᵀΣb + Σ X_s² s²_s with b = Σ X_s b_s, and its factor and holding (Euler) contributions. */
function decompose(
  factorKeys: readonly string[],
  sigma: readonly (readonly number[])[],
  rows: readonly WeightedSymbol[],
): VarianceDecomposition {
  const size = factorKeys.length;
  const { exposure } = exposureVector(rows, size);
  const sigmaB = matrixVector(sigma, exposure);
  const contributions = exposure.map((b, k) => b * sigmaB[k]!);
  let factorVariance = 0;
  for (const c of contributions) factorVariance += c;
  // The rounding scale of b'Σb: |b|ᵀ|Σ||b|. For a positive semi-definite Σ the computed value is
  // above −K·ε of it even where Σb cancels (b near a null direction of Σ, a hedged portfolio).
  let scale = 0;
  for (let a = 0; a < size; a++)
    for (let c = 0; c < size; c++) scale += Math.abs(exposure[a]! * sigma[a]![c]! * exposure[c]!);
  if (factorVariance < -1e-12 * scale) {
    throw new RangeError(`the covariance is not positive semi-definite: b'Σb = ${factorVariance}`);
  }
  const holdingParts = rows.map((row) => {
    const factorMarginal = dot(row.loadings, sigmaB); // b_sᵀΣb
    const specificMarginal = row.weight * row.residualVariance; // X_s s²_s
    return {
      row,
      marginal: factorMarginal + specificMarginal,
      factorPart: row.weight * factorMarginal,
      specificPart: row.weight * specificMarginal,
    };
  });
  let specificVariance = 0;
  for (const part of holdingParts) specificVariance += part.specificPart;
  const variance = finiteOutput("variance", factorVariance + specificVariance);
  const sd = Math.sqrt(Math.max(0, variance));
  const positive = variance > 0 && sd > 0;
  const factors = factorKeys.map((factorKey, k) => ({
    factorKey,
    exposure: finiteOutput(`exposure to ${factorKey}`, exposure[k]!),
    contribution: finiteOutput(`contribution of ${factorKey}`, contributions[k]!),
    share: positive ? contributions[k]! / variance : null,
  }));
  const holdings = holdingParts
    .map(({ row, marginal, factorPart, specificPart }) => {
      const contribution = finiteOutput(`contribution of ${row.symbol}`, row.weight * marginal);
      return {
        symbol: row.symbol,
        positionIds: row.positionIds,
        weight: row.weight,
        factorPart: finiteOutput(`factor part of ${row.symbol}`, factorPart),
        specificPart: finiteOutput(`specific part of ${row.symbol}`, specificPart),
        contribution,
        share: positive ? contribution / variance : null,
        marginal: positive ? marginal / sd : null,
      };
    })
    .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution) || compareSymbols(a.symbol, b.symbol));
  return {
    variance,
    factorVariance: finiteOutput("factor variance", factorVariance),
    specificVariance: finiteOutput("specific variance", specificVariance),
    factors,
    holdings,
    sharesUnavailable: positive ? null : "zero_variance",
  };
}

/** The portfolio's rows with the benchmark merged in at weight −1 (X'_B = X_B − 1). */
function activeRows(
  rows: readonly WeightedSymbol[],
  benchmarkSymbol: string,
  benchmark: Extract<UsableLoadings, { usable: true }>,
): WeightedSymbol[] {
  const held = rows.find((row) => row.symbol === benchmarkSymbol);
  const others = rows.filter((row) => row.symbol !== benchmarkSymbol);
  const benchmarkRow: WeightedSymbol = {
    symbol: benchmarkSymbol,
    positionIds: held?.positionIds ?? [],
    weight: (held?.weight ?? 0) - 1,
    loadings: benchmark.loadings,
    standardErrors: benchmark.standardErrors,
    residualVariance: benchmark.residualVariance,
  };
  return [...others, benchmarkRow].sort((a, b) => compareSymbols(a.symbol, b.symbol));
}

/** Portfolio risk on the risk lens (docs/design.md §11 "Portfolio risk"; see the header). */
export function computePortfolioRisk(input: PortfolioRiskInput): PortfolioRisk {
  const { aggregation, factorKeys, loadings } = input;
  checkFactorKeys(factorKeys);
  const size = factorKeys.length;
  const sigma = input.covariance === null ? null : checkedCovariance(input.covariance, size);
  const collected = collectPositions(aggregation, factorKeys, loadings);
  const { rows } = collected;
  const weightsAvailable = aggregation.weightsAvailable && aggregation.equity > 0;
  const equity = aggregation.equity;
  const benchmarkSymbol = input.benchmarkSymbol ?? null;

  const dataQuality: PortfolioRiskDataQuality = {
    date: aggregation.date,
    equity,
    weightsAvailable,
    covarianceAvailable: sigma !== null,
    covarianceDetail: sigma === null ? (input.covarianceDetail ?? "no factor covariance for the date") : null,
    positionsHeld: aggregation.positions.length,
    positionsUsed: collected.positionsUsed,
    symbolsUsed: rows.length,
    coverage:
      collected.grossValued > 0 ? rows.reduce((s, row) => s + row.grossCovered, 0) / collected.grossValued : null,
    symbolsLeftOut: collected.symbolsLeftOut,
    positionsLeftOut: collected.positionsLeftOut,
  };
  const symbols: SymbolRiskWeight[] = rows.map((row) => ({
    symbol: row.symbol,
    positionIds: row.positionIds,
    weight: weightsAvailable ? row.weight : null,
    dollarExposure: finiteOutput(`dollar exposure of ${row.symbol}`, row.dollar),
  }));

  // Why each block is null (the first reason that applies), or null when it can be computed.
  const exposuresUnavailable: RiskUnavailable | null = !weightsAvailable
    ? { reason: "weights_unavailable", detail: `equity is ${equity}: weights are undefined` }
    : rows.length === 0 && collected.publicHeld > 0
      ? {
          reason: "no_positions_covered",
          detail: `none of the ${collected.publicHeld} public positions held has a value and loadings`,
        }
      : null;
  const totalUnavailable: RiskUnavailable | null =
    exposuresUnavailable ??
    (sigma === null ? { reason: "no_covariance", detail: dataQuality.covarianceDetail ?? "" } : null);

  const benchmark =
    benchmarkSymbol === null ? null : usableLoadings(loadings.get(benchmarkSymbol), benchmarkSymbol, factorKeys);
  const benchmarkUnavailable: RiskUnavailable | null =
    benchmark === null
      ? { reason: "no_benchmark", detail: "no benchmark symbol given" }
      : !benchmark.usable
        ? {
            reason: "benchmark_without_loadings",
            detail: `${benchmarkSymbol}: ${benchmark.reason}${benchmark.detail ? ` (${benchmark.detail})` : ""}`,
          }
        : null;
  const activeExposuresUnavailable = exposuresUnavailable ?? benchmarkUnavailable;
  const activeUnavailable = totalUnavailable ?? benchmarkUnavailable;

  const exposures = exposuresUnavailable === null ? riskExposures(factorKeys, rows) : null;
  let total: TotalRisk | null = null;
  if (totalUnavailable === null && sigma !== null) {
    const decomposition = decompose(factorKeys, sigma, rows);
    const sd = Math.sqrt(Math.max(0, decomposition.variance));
    const volatility = finiteOutput(
      "volatility",
      Math.sqrt(TRADING_DAYS_PER_YEAR * Math.max(0, decomposition.variance)),
    );
    total = {
      ...decomposition,
      volatility,
      volatilityDollar: finiteOutput("volatility in dollars", volatility * equity),
      valueAtRisk95: finiteOutput("VaR 95%", VAR_Z_95 * sd * equity),
      valueAtRisk99: finiteOutput("VaR 99%", VAR_Z_99 * sd * equity),
    };
  }

  let activeExposures: ActiveExposure[] | null = null;
  let active: ActiveRisk | null = null;
  if (activeExposuresUnavailable === null && benchmarkSymbol !== null && benchmark?.usable) {
    const merged = activeRows(rows, benchmarkSymbol, benchmark);
    const portfolio = exposures ?? [];
    activeExposures = riskExposures(factorKeys, merged).map((e, k) => ({
      ...e,
      portfolio: portfolio[k]!.exposure,
      benchmark: benchmark.loadings[k]!,
    }));
    if (activeUnavailable === null && sigma !== null) {
      const decomposition = decompose(factorKeys, sigma, merged);
      const trackingError = finiteOutput(
        "tracking error",
        Math.sqrt(TRADING_DAYS_PER_YEAR * Math.max(0, decomposition.variance)),
      );
      active = {
        ...decomposition,
        benchmarkSymbol,
        trackingError,
        trackingErrorDollar: finiteOutput("tracking error in dollars", trackingError * equity),
      };
    }
  }

  const lensRequested = input.lensBetas !== undefined && input.lensFactors !== undefined;
  const lensExposuresUnavailable: RiskUnavailable | null = !lensRequested
    ? { reason: "not_requested", detail: "no lens betas or lens factors given" }
    : !weightsAvailable
      ? { reason: "weights_unavailable", detail: `equity is ${equity}: weights are undefined` }
      : null;
  const lens =
    lensExposuresUnavailable === null && input.lensBetas !== undefined && input.lensFactors !== undefined
      ? exposureUncertainties(input.lensFactors, input.lensBetas, symbolExposureWeights(aggregation.positions))
      : null;

  return {
    date: aggregation.date,
    equity,
    factorKeys: [...factorKeys],
    benchmarkSymbol,
    symbols,
    exposures,
    exposuresUnavailable,
    total,
    totalUnavailable,
    activeExposures,
    activeExposuresUnavailable,
    active,
    activeUnavailable,
    lensExposures: lens,
    lensExposuresUnavailable,
    dataQuality,
    note: EXPOSURE_STANDARD_ERROR_NOTE,
  };
}

// ---------------------------------------------------------------------------------------------
// P&L attribution

export interface AttributionDay {
  /** Trading day t. */
  date: string;
  /** P&L_t, the §4.7 snapshot of t; null when there is none. */
  pnl: number | null;
  /** E_{t−1}. */
  equityPrevious: number | null;
  /** b_p of t−1 by risk factor key (holdings and loadings of t−1). */
  exposuresPrevious: Readonly<Record<string, number>> | null;
  /** f_k,t by risk factor key. */
  factorReturns: Readonly<Record<string, number>> | null;
}

export type AttributionMissingReason =
  | "pnl_missing"
  | "equity_previous_missing"
  | "equity_previous_not_positive"
  | "exposures_missing"
  | "factor_returns_missing";

/** Sums over the attributed days (dollars, and return parts = dollars / E_{t−1}). */
export interface AttributionTotals {
  /** Attributed days summed. */
  days: number;
  pnl: number;
  /** By factor key, in `factorKeys` order. */
  factorPnl: Record<string, number>;
  /** Σ_k factorPnl. */
  factorPnlTotal: number;
  /** pnl − factorPnlTotal, so the parts add up to the P&L to rounding. */
  specificPnl: number;
  totalReturn: number;
  factorReturn: Record<string, number>;
  factorReturnTotal: number;
  specificReturn: number;
}

export interface AttributedDay {
  date: string;
  status: "attributed" | "missing";
  reason: AttributionMissingReason | null;
  detail: string | null;
  pnl: number | null;
  equityPrevious: number | null;
  /** E_{t−1}·b_p,k·f_k,t by key; null on a missing day. */
  factorPnl: Record<string, number> | null;
  factorPnlTotal: number | null;
  /** pnl − Σ_k factorPnl. */
  specificPnl: number | null;
  /** pnl / E_{t−1}. */
  totalReturn: number | null;
  factorReturn: Record<string, number> | null;
  specificReturn: number | null;
  /** Sums over the attributed days up to and including this one (a missing day adds nothing). */
  cumulative: AttributionTotals;
}

export interface Attribution {
  factorKeys: string[];
  days: AttributedDay[];
  /** Over the whole range: the last day's cumulative. */
  total: AttributionTotals;
  daysAttributed: number;
  daysMissing: number;
}

function emptyTotals(factorKeys: readonly string[]): AttributionTotals {
  const zeros = () => Object.fromEntries(factorKeys.map((key) => [key, 0]));
  return {
    days: 0,
    pnl: 0,
    factorPnl: zeros(),
    factorPnlTotal: 0,
    specificPnl: 0,
    totalReturn: 0,
    factorReturn: zeros(),
    factorReturnTotal: 0,
    specificReturn: 0,
  };
}

function checkRecord(name: string, date: string, record: Readonly<Record<string, number>> | null): void {
  if (record === null) return;
  for (const [key, value] of Object.entries(record))
    if (typeof value !== "number" || !Number.isFinite(value))
      throw new RangeError(`${name}.${key} on ${date} must be a finite number, got ${String(value)}`);
}

/**
 * Realized P&L attribution (docs/design.md §11): factor P&L_k,t = E_{t−1}·b_p,k·f_k,t, specific =
 * P&L_t − Σ_k factor P&L. `factorKeys` defaults to the union of the days' exposure keys (in order
 * of first appearance); a day whose exposures or factor returns lack one of them, or whose P&L or
 * previous equity is missing (or equity ≤ 0), is listed with its reason and left out of every sum.
 * Days must be in strictly ascending date order.
 */
export function computeAttribution(days: readonly AttributionDay[], factorKeys?: readonly string[]): Attribution {
  for (let i = 0; i < days.length; i++) {
    const day = days[i]!;
    isoDateToDayNumber(day.date);
    if (i > 0 && !(day.date > days[i - 1]!.date)) throw new RangeError(`attribution days must ascend: ${day.date}`);
    for (const [name, value] of [
      ["pnl", day.pnl],
      ["equityPrevious", day.equityPrevious],
    ] as const) {
      if (value !== null && !Number.isFinite(value))
        throw new RangeError(`${name} on ${day.date} must be finite, got ${value}`);
    }
    checkRecord("exposuresPrevious", day.date, day.exposuresPrevious);
    checkRecord("factorReturns", day.date, day.factorReturns);
  }
  let keys: string[];
  if (factorKeys === undefined) {
    const seen = new Set<string>();
    for (const day of days) for (const key of Object.keys(day.exposuresPrevious ?? {})) seen.add(key);
    keys = [...seen];
  } else {
    checkFactorKeys(factorKeys);
    keys = [...factorKeys];
    const known = new Set(keys);
    for (const day of days)
      for (const key of Object.keys(day.exposuresPrevious ?? {}))
        if (!known.has(key)) throw new RangeError(`exposure to ${key} on ${day.date} is not a factor of the list`);
  }

  let running = emptyTotals(keys);
  const out: AttributedDay[] = [];
  for (const day of days) {
    const missing = (reason: AttributionMissingReason, detail: string): AttributedDay => ({
      date: day.date,
      status: "missing",
      reason,
      detail,
      pnl: day.pnl,
      equityPrevious: day.equityPrevious,
      factorPnl: null,
      factorPnlTotal: null,
      specificPnl: null,
      totalReturn: null,
      factorReturn: null,
      specificReturn: null,
      cumulative: running,
    });
    const { pnl, equityPrevious: equity, exposuresPrevious: exposures, factorReturns: returns } = day;
    if (pnl === null) {
      out.push(missing("pnl_missing", "no P&L snapshot for the day"));
      continue;
    }
    if (equity === null) {
      out.push(missing("equity_previous_missing", "no equity on the previous trading day"));
      continue;
    }
    if (!(equity > 0)) {
      out.push(missing("equity_previous_not_positive", `equity on the previous trading day is ${equity}`));
      continue;
    }
    const noExposure = exposures === null ? keys : keys.filter((key) => exposures[key] === undefined);
    if (exposures === null || noExposure.length > 0) {
      const detail =
        exposures === null ? "no exposures on the previous trading day" : `no exposure to ${noExposure.join(", ")}`;
      out.push(missing("exposures_missing", detail));
      continue;
    }
    const noReturn = returns === null ? keys : keys.filter((key) => returns[key] === undefined);
    if (returns === null || noReturn.length > 0) {
      const detail = returns === null ? "no factor returns on the day" : `no return of ${noReturn.join(", ")}`;
      out.push(missing("factor_returns_missing", detail));
      continue;
    }
    const factorPnl: Record<string, number> = {};
    const factorReturn: Record<string, number> = {};
    let factorPnlTotal = 0;
    for (const key of keys) {
      const dollars = finiteOutput(`factor P&L of ${key} on ${day.date}`, equity * exposures[key]! * returns[key]!);
      factorPnl[key] = dollars;
      factorReturn[key] = dollars / equity;
      factorPnlTotal += dollars;
    }
    const specificPnl = finiteOutput(`specific P&L on ${day.date}`, pnl - factorPnlTotal);
    const totalReturn = pnl / equity;
    const specificReturn = specificPnl / equity;
    const next = emptyTotals(keys);
    next.days = running.days + 1;
    next.pnl = running.pnl + pnl;
    next.totalReturn = running.totalReturn + totalReturn;
    for (const key of keys) {
      next.factorPnl[key] = running.factorPnl[key]! + factorPnl[key]!;
      next.factorReturn[key] = running.factorReturn[key]! + factorReturn[key]!;
      next.factorPnlTotal += next.factorPnl[key]!;
      next.factorReturnTotal += next.factorReturn[key]!;
    }
    next.specificPnl = next.pnl - next.factorPnlTotal;
    next.specificReturn = next.totalReturn - next.factorReturnTotal;
    for (const [name, value] of Object.entries(next))
      if (typeof value === "number") finiteOutput(`cumulative ${name} on ${day.date}`, value);
    running = next;
    out.push({
      date: day.date,
      status: "attributed",
      reason: null,
      detail: null,
      pnl,
      equityPrevious: equity,
      factorPnl,
      factorPnlTotal,
      specificPnl,
      totalReturn,
      factorReturn,
      specificReturn,
      cumulative: running,
    });
  }
  const daysAttributed = running.days;
  return { factorKeys: keys, days: out, total: running, daysAttributed, daysMissing: days.length - daysAttributed };
}

// ---------------------------------------------------------------------------------------------
// Stress propagation

export type ShockPropagationErrorCode = "invalid_shocks" | "singular_shocked_covariance";

/** Shocks that cannot be propagated: invalid keys or values, or a singular Σ_SS. */
export class ShockPropagationError extends RangeError {
  readonly code: ShockPropagationErrorCode;

  constructor(code: ShockPropagationErrorCode, message: string) {
    super(message);
    this.name = "ShockPropagationError";
    this.code = code;
  }
}

/** A pivot of Σ_SS below this fraction of the factor's own variance makes Σ_SS singular. */
export const SHOCK_PIVOT_TOLERANCE = 1e-12;

export interface ShockPropagation {
  factorKeys: string[];
  /** S, in `factorKeys` order. */
  shocked: string[];
  /** f for every factor: the shock on S, the conditional mean Σ_US Σ_SS⁻¹ s_S elsewhere. */
  moves: Record<string, number>;
}

function checkShocks(factorKeys: readonly string[], shocks: Readonly<Record<string, number>>): void {
  const known = new Set(factorKeys);
  const entries = Object.entries(shocks);
  if (entries.length === 0) throw new ShockPropagationError("invalid_shocks", "at least one factor must be shocked");
  for (const [key, value] of entries) {
    if (!known.has(key)) throw new ShockPropagationError("invalid_shocks", `unknown risk factor key: ${key}`);
    if (typeof value !== "number" || !Number.isFinite(value))
      throw new ShockPropagationError(
        "invalid_shocks",
        `shock of ${key} must be a finite number, got ${String(value)}`,
      );
  }
}

/**
 * The full factor move of a shock to a subset S (docs/design.md §11 "Stress propagation"):
 * f_S = s_S, f_U = Σ_US Σ_SS⁻¹ s_S, solved by a Cholesky factorization of Σ_SS. A pivot ≤ 1e-12 of
 * the factor's variance (a shocked factor that the other shocked factors determine, or one
 * with no variance) is a `ShockPropagationError` (`singular_shocked_covariance`).
 */
export function propagateShocks(
  covariance: Matrix,
  factorKeys: readonly string[],
  shocks: Readonly<Record<string, number>>,
): ShockPropagation {
  checkFactorKeys(factorKeys);
  const sigma = checkedCovariance(covariance, factorKeys.length);
  checkShocks(factorKeys, shocks);
  const shockedIndex = factorKeys.flatMap((key, k) => (shocks[key] === undefined ? [] : [k]));
  const freeIndex = factorKeys.flatMap((key, k) => (shocks[key] === undefined ? [k] : []));
  const shocked = shockedIndex.map((k) => factorKeys[k]!);
  const moves: Record<string, number> = {};
  for (const key of factorKeys) moves[key] = shocks[key] ?? 0;
  if (freeIndex.length === 0) return { factorKeys: [...factorKeys], shocked, moves };

  // Cholesky of Σ_SS, L Lᵀ = Σ_SS, with a pivot test relative to each factor's variance.
  const n = shockedIndex.length;
  const factor: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let j = 0; j < n; j++) {
    const variance = sigma[shockedIndex[j]!]![shockedIndex[j]!]!;
    let pivot = variance;
    for (let k = 0; k < j; k++) pivot -= factor[j]![k]! ** 2;
    if (!(pivot > SHOCK_PIVOT_TOLERANCE * variance) || !(variance > 0)) {
      const others = shocked.filter((_, i) => i !== j);
      throw new ShockPropagationError(
        "singular_shocked_covariance",
        variance > 0
          ? `the shocked factors' covariance is singular: ${shocked[j]} is (nearly) a linear combination of ` +
              `${others.join(", ") || "nothing"} (residual variance ${pivot} of ${variance}); shock fewer factors`
          : `the shocked factor ${shocked[j]} has no variance, so nothing can be conditioned on it`,
      );
    }
    const diagonal = Math.sqrt(pivot);
    factor[j]![j] = diagonal;
    for (let i = j + 1; i < n; i++) {
      let sum = sigma[shockedIndex[i]!]![shockedIndex[j]!]!;
      for (let k = 0; k < j; k++) sum -= factor[i]![k]! * factor[j]![k]!;
      factor[i]![j] = sum / diagonal;
    }
  }
  // w = Σ_SS⁻¹ s_S: forward then backward substitution.
  const w = shockedIndex.map((k) => shocks[factorKeys[k]!]!);
  for (let i = 0; i < n; i++) {
    let sum = w[i]!;
    for (let k = 0; k < i; k++) sum -= factor[i]![k]! * w[k]!;
    w[i] = sum / factor[i]![i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    let sum = w[i]!;
    for (let k = i + 1; k < n; k++) sum -= factor[k]![i]! * w[k]!;
    w[i] = sum / factor[i]![i]!;
  }
  for (const u of freeIndex) {
    let sum = 0;
    for (let j = 0; j < n; j++) sum += sigma[u]![shockedIndex[j]!]! * w[j]!;
    moves[factorKeys[u]!] = finiteOutput(`propagated move of ${factorKeys[u]}`, sum);
  }
  return { factorKeys: [...factorKeys], shocked, moves };
}

/** The option fields of a holding the stress reprices with (a `HoldingInput` fits). */
export type StressHolding = Pick<
  HoldingInput,
  "id" | "instrument" | "quantity" | "optionType" | "strike" | "expiry" | "multiplier" | "impliedVol"
>;

export interface PortfolioStressInput {
  aggregation: RiskAggregation;
  factorKeys: readonly string[];
  /** Needed when `propagate`; null: the propagated side is null with reason `no_covariance`. */
  covariance: Matrix | null;
  loadings: ReadonlyMap<string, SymbolRiskLoadings>;
  /** Risk factor key → move in the factor's return units. */
  shocks: Readonly<Record<string, number>>;
  /** Also compute the propagated side (f_U = Σ_US Σ_SS⁻¹ s_S). */
  propagate: boolean;
  /** The positions' rows (only options are read): type, strike, expiry, multiplier, implied volatility. */
  holdings: readonly StressHolding[];
  /** Default `DEFAULT_RISK_FREE_RATE` (4%). */
  riskFreeRate?: number;
}

export interface StressFactorImpact {
  factorKey: string;
  /** f_k */
  move: number;
  shocked: boolean;
  /** b_pk; null when weights are unavailable. */
  exposure: number | null;
  /** Σ_s D_s b_s,k (= equity × b_pk). */
  exposureDollar: number;
  /** exposureDollar × f_k */
  impact: number;
}

export interface StressSymbolImpact {
  symbol: string;
  positionIds: string[];
  /** X_s; null when weights are unavailable. */
  weight: number | null;
  /** D_s = Σ mv_i δ_i (= equity × X_s). */
  dollarExposure: number;
  /** r_s = b_sᵀf */
  underlyingMove: number;
  /** D_s × r_s (options at their delta approximation). */
  impact: number;
}

export interface StressOptionImpact {
  positionId: string;
  symbol: string;
  underlyingSymbol: string;
  optionType: OptionType;
  contracts: number;
  multiplier: number;
  /** The underlying's close S on the date. */
  spot: number;
  /** r_s of the underlying. */
  underlyingMove: number;
  delta: number;
  /** contracts × multiplier × δ × S × r_s (its part of the symbol impact). */
  deltaApproximation: number;
  /** contracts × multiplier × (BS(S(1 + r_s)) − BS(S)); null with `repricedReason`. */
  repriced: number | null;
  repricedReason: "no_implied_volatility" | "underlying_price_not_positive" | null;
}

export interface StressSide {
  /** f by factor key. */
  moves: Record<string, number>;
  factors: StressFactorImpact[];
  /** By |impact| descending, then symbol. */
  symbols: StressSymbolImpact[];
  options: StressOptionImpact[];
  /** Σ factor impacts (= Σ symbol impacts): linear, options at delta. */
  total: number;
  /** total / equity; null when equity ≤ 0. */
  totalReturn: number | null;
  /** total with each repriced option's delta approximation replaced by its repricing. */
  totalRepriced: number;
  totalRepricedReturn: number | null;
  /** Options kept at their delta approximation (flagged). */
  optionsDeltaOnly: string[];
}

export interface PortfolioStress {
  date: string;
  equity: number;
  factorKeys: string[];
  shocks: Record<string, number>;
  /** f = s on the shocked factors, 0 elsewhere. */
  unpropagated: StressSide;
  propagated: StressSide | null;
  propagatedUnavailable: {
    reason: "not_requested" | "no_covariance" | "singular_shocked_covariance";
    detail: string;
  } | null;
  symbolsLeftOut: SymbolLeftOut[];
  positionsLeftOut: PositionLeftOut[];
}

function stressSide(
  input: PortfolioStressInput,
  rows: readonly SymbolRow[],
  weightsAvailable: boolean,
  moves: Record<string, number>,
): StressSide {
  const { factorKeys, aggregation } = input;
  const f = factorKeys.map((key) => moves[key]!);
  const equity = aggregation.equity;
  const factors = factorKeys.map((factorKey, k) => {
    let exposureDollar = 0;
    let exposure = 0;
    for (const row of rows) {
      exposureDollar += row.dollar * row.loadings[k]!;
      exposure += row.weight * row.loadings[k]!;
    }
    return {
      factorKey,
      move: f[k]!,
      shocked: input.shocks[factorKey] !== undefined,
      exposure: weightsAvailable ? finiteOutput(`exposure to ${factorKey}`, exposure) : null,
      exposureDollar: finiteOutput(`dollar exposure to ${factorKey}`, exposureDollar),
      impact: finiteOutput(`impact of ${factorKey}`, exposureDollar * f[k]!),
    };
  });
  const moveOf = new Map(rows.map((row) => [row.symbol, dot(row.loadings, f)]));
  const symbols = rows
    .map((row) => ({
      symbol: row.symbol,
      positionIds: row.positionIds,
      weight: weightsAvailable ? row.weight : null,
      dollarExposure: row.dollar,
      underlyingMove: moveOf.get(row.symbol)!,
      impact: finiteOutput(`impact on ${row.symbol}`, row.dollar * moveOf.get(row.symbol)!),
    }))
    .sort((a, b) => Math.abs(b.impact) - Math.abs(a.impact) || compareSymbols(a.symbol, b.symbol));

  const holdingsById = new Map(input.holdings.map((h) => [h.id, h]));
  const riskFreeRate = input.riskFreeRate ?? DEFAULT_RISK_FREE_RATE;
  const options: StressOptionImpact[] = [];
  for (const p of aggregation.positions) {
    if (p.instrument !== "option" || !moveOf.has(p.betaSymbol)) continue;
    if (p.status !== "valued" || p.delta === null || p.price === null) continue;
    const h = holdingsById.get(p.positionId);
    if (h === undefined || h.instrument !== "option" || !h.optionType || !h.strike || !h.expiry)
      throw new RangeError(`option position ${p.positionId} has no matching option holding`);
    const r = moveOf.get(p.betaSymbol)!;
    const multiplier = h.multiplier ?? DEFAULT_OPTION_MULTIPLIER;
    const units = h.quantity * multiplier;
    const deltaApproximation = finiteOutput(`delta approximation of ${p.positionId}`, units * p.delta * p.price * r);
    let repriced: number | null = null;
    let repricedReason: StressOptionImpact["repricedReason"] = null;
    if (h.impliedVol === null || h.impliedVol === undefined) repricedReason = "no_implied_volatility";
    else if (!(1 + r > 0)) repricedReason = "underlying_price_not_positive";
    else {
      const base = {
        optionType: h.optionType,
        strike: h.strike,
        years: Math.max(0, yearFraction(aggregation.date, h.expiry)),
        volatility: h.impliedVol,
        riskFreeRate,
      };
      const before = blackScholesPrice({ ...base, spot: p.price });
      const after = blackScholesPrice({ ...base, spot: p.price * (1 + r) });
      repriced = finiteOutput(`repricing of ${p.positionId}`, units * (after - before));
    }
    options.push({
      positionId: p.positionId,
      symbol: p.symbol,
      underlyingSymbol: p.betaSymbol,
      optionType: h.optionType,
      contracts: h.quantity,
      multiplier,
      spot: p.price,
      underlyingMove: r,
      delta: p.delta,
      deltaApproximation,
      repriced,
      repricedReason,
    });
  }
  let total = 0;
  for (const factor of factors) total += factor.impact;
  total = finiteOutput("total impact", total);
  let totalRepriced = total;
  for (const o of options) if (o.repriced !== null) totalRepriced += o.repriced - o.deltaApproximation;
  totalRepriced = finiteOutput("total impact with options repriced", totalRepriced);
  return {
    moves: { ...moves },
    factors,
    symbols,
    options,
    total,
    totalReturn: equity > 0 ? total / equity : null,
    totalRepriced,
    totalRepricedReturn: equity > 0 ? totalRepriced / equity : null,
    optionsDeltaOnly: options.filter((o) => o.repriced === null).map((o) => o.positionId),
  };
}

/**
 * A stress on the risk lens (docs/design.md §11 "Stress propagation"): impacts equity·b_pk·f_k by
 * factor and equity·X_s·b_sᵀf by symbol (computed in dollars, D_s = equity·X_s, so they exist when
 * equity ≤ 0), unpropagated (f = s on S, 0 elsewhere) and, when asked, propagated side by side;
 * options also repriced by Black–Scholes at S(1 + b_sᵀf), beside their delta approximation.
 */
export function stressPortfolio(input: PortfolioStressInput): PortfolioStress {
  const { aggregation, factorKeys, shocks } = input;
  checkFactorKeys(factorKeys);
  checkShocks(factorKeys, shocks);
  const collected = collectPositions(aggregation, factorKeys, input.loadings);
  const weightsAvailable = aggregation.weightsAvailable && aggregation.equity > 0;
  const plain: Record<string, number> = {};
  for (const key of factorKeys) plain[key] = shocks[key] ?? 0;
  const unpropagated = stressSide(input, collected.rows, weightsAvailable, plain);

  let propagated: StressSide | null = null;
  let propagatedUnavailable: PortfolioStress["propagatedUnavailable"] = null;
  if (!input.propagate) propagatedUnavailable = { reason: "not_requested", detail: "propagation was not asked for" };
  else if (input.covariance === null)
    propagatedUnavailable = { reason: "no_covariance", detail: "no factor covariance for the date" };
  else {
    try {
      const { moves } = propagateShocks(input.covariance, factorKeys, shocks);
      propagated = stressSide(input, collected.rows, weightsAvailable, moves);
    } catch (error) {
      if (!(error instanceof ShockPropagationError) || error.code !== "singular_shocked_covariance") throw error;
      propagatedUnavailable = { reason: "singular_shocked_covariance", detail: error.message };
    }
  }
  return {
    date: aggregation.date,
    equity: aggregation.equity,
    factorKeys: [...factorKeys],
    shocks: { ...shocks },
    unpropagated,
    propagated,
    propagatedUnavailable,
    symbolsLeftOut: collected.symbolsLeftOut,
    positionsLeftOut: collected.positionsLeftOut,
  };
}

// ---------------------------------------------------------------------------------------------
// Historical replay

/** A stored value: a finite number; null, undefined or NaN are missing. */
const isStored = (value: number | null | undefined): value is number =>
  value !== null && value !== undefined && !Number.isNaN(value);

function checkDates(dates: readonly string[]): void {
  for (let i = 0; i < dates.length; i++) {
    isoDateToDayNumber(dates[i]!);
    if (i > 0 && !(dates[i]! > dates[i - 1]!)) throw new RangeError(`dates must ascend strictly: ${dates[i]}`);
  }
}

function checkSeries(name: string, series: readonly (number | null)[], length: number): void {
  if (series.length !== length) throw new RangeError(`${name} has ${series.length} values for ${length} dates`);
  for (const value of series)
    if (value !== null && !Number.isNaN(value) && !Number.isFinite(value))
      throw new RangeError(`${name} holds a non-finite value: ${value}`);
}

export interface HistoricalFactorShock {
  factorKey: string;
  /** Σ f_k,t over the days of (from, to] that have a return; null when none has. */
  shock: number | null;
  daysUsed: number;
  /** Days of (from, to] without a return of this factor. */
  missingDates: string[];
}

export interface HistoricalShocks {
  from: string;
  to: string;
  /** Dates of (from, to] in `dates`. */
  days: number;
  firstDate: string | null;
  lastDate: string | null;
  /** The factors with a shock, ready for `stressPortfolio`. */
  shocks: Record<string, number>;
  factors: HistoricalFactorShock[];
  /** "no_days" when (from, to] holds no date; then every shock is null. */
  reason: "no_days" | null;
}

/**
 * An episode's factor moves (docs/design.md §11 "Historical replay"): f_k = Σ_{t ∈ (from, to]} f_k,t
 * over `dates` (ascending), each series aligned with them (null or NaN = no stored return). A day
 * without a factor's return is reported in its `missingDates`, never counted as 0.
 */
export function historicalShocks(
  dates: readonly string[],
  factorReturnsByKey: Readonly<Record<string, readonly (number | null)[]>>,
  from: string,
  to: string,
): HistoricalShocks {
  checkDates(dates);
  isoDateToDayNumber(from);
  isoDateToDayNumber(to);
  if (!(from < to)) throw new RangeError(`an episode needs from < to, got (${from}, ${to}]`);
  const inRange: number[] = [];
  for (let t = 0; t < dates.length; t++) if (dates[t]! > from && dates[t]! <= to) inRange.push(t);
  const shocks: Record<string, number> = {};
  const factors = Object.entries(factorReturnsByKey).map(([factorKey, series]) => {
    checkSeries(`returns of ${factorKey}`, series, dates.length);
    let sum = 0;
    let used = 0;
    const missingDates: string[] = [];
    for (const t of inRange) {
      const value = series[t];
      if (isStored(value)) {
        sum += value;
        used++;
      } else missingDates.push(dates[t]!);
    }
    const shock = used > 0 ? finiteOutput(`replayed move of ${factorKey}`, sum) : null;
    if (shock !== null) shocks[factorKey] = shock;
    return { factorKey, shock, daysUsed: used, missingDates };
  });
  return {
    from,
    to,
    days: inRange.length,
    firstDate: inRange.length > 0 ? dates[inRange[0]!]! : null,
    lastDate: inRange.length > 0 ? dates[inRange[inRange.length - 1]!]! : null,
    shocks,
    factors,
    reason: inRange.length === 0 ? "no_days" : null,
  };
}

export interface WorstStretch {
  /** The calendar day before `firstDate`: the episode is (from, to] for `historicalShocks`. */
  from: string;
  to: string;
  firstDate: string;
  lastDate: string;
  /** Stored days in the window (= length). */
  days: number;
  /** Σ of the series over the window. */
  sum: number;
}

/**
 * The `length` consecutive stored days (days with a value; a date without one is skipped, not
 * counted as 0) with the lowest sum of `series`; the earliest on a tie. Null when fewer stored
 * days than `length`.
 */
export function worstStretch(
  dates: readonly string[],
  series: readonly (number | null)[],
  length = 20,
): WorstStretch | null {
  checkDates(dates);
  checkSeries("series", series, dates.length);
  if (!Number.isInteger(length) || length < 1) throw new RangeError(`length must be an integer ≥ 1, got ${length}`);
  const stored: number[] = [];
  for (let t = 0; t < dates.length; t++) if (isStored(series[t])) stored.push(t);
  if (stored.length < length) return null;
  let best = Number.POSITIVE_INFINITY;
  let bestStart = 0;
  for (let start = 0; start + length <= stored.length; start++) {
    // Summed afresh per window (no running sum), so no rounding drifts along the series.
    let sum = 0;
    for (let j = start; j < start + length; j++) sum += series[stored[j]!]!;
    if (sum < best) {
      best = sum;
      bestStart = start;
    }
  }
  const firstDate = dates[stored[bestStart]!]!;
  const lastDate = dates[stored[bestStart + length - 1]!]!;
  const from = new Date((isoDateToDayNumber(firstDate) - 1) * 86_400_000).toISOString().slice(0, 10);
  return { from, to: lastDate, firstDate, lastDate, days: length, sum: finiteOutput("worst stretch", best) };
}
