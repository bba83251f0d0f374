// The risk lens of docs/design.md §11: factor return series, one joint OLS per symbol on all
// of them (loadings with standard errors, residual variance, R²), and their exponentially
// weighted covariance.
//
// The joint regression is a regression group of the factor engine (method `joint`), so it
// runs through the same machinery as the lens factors: the regressor side is summarized
// once per observation set and date and shared by every symbol observed on the same dates,
// symbols missing some dates share a pattern or are downdated, and a backfill rolls the
// moments from date to date (universe.ts, backfill.ts). It is solved as a ridge with α = 0 on
// the standardized columns, which is OLS exactly: b = (ZᵀZ)⁻¹Zᵀ(y − ȳ), β_k = b_k/σ_k,
// Var(β_k) = s²·[(ZᵀZ)⁻¹]_kk/σ_k², s² = SSR/(n − K − 1) — statsmodels' `OLS(y,
// add_constant(X)).fit()` `params[1:]`, `bse[1:]`, `mse_resid`, `rsquared`. Unlike the lens
// ridge, a zero-variance column does not drop out: the regression is `degenerate` as a whole,
// as it is when the centred XᵀX has a reciprocal condition number below 1e-12. Loadings are
// not capped.
import { computeBackfill } from "./backfill.ts";
import type { BackfillStats } from "./backfill.ts";
import { FactorEngineError } from "./errors.ts";
import { compileGroups, symbolSeries } from "./factor-plan.ts";
import type { FactorEngineInput } from "./factor-plan.ts";
import { isEstimated, Outcome } from "./quality.ts";
import type { FactorDescription } from "./quality.ts";
import { dayNumber, windowEnd } from "./returns.ts";
import type { ReturnPanel } from "./returns.ts";
import { defaultRiskModelSettings, minReciprocalCondition } from "./risk-settings.ts";
import type { RiskModelSettings } from "./risk-settings.ts";
import type { FactorSpec } from "./types.ts";
import { computeSymbolTableDirect, computeUniverseBetas } from "./universe.ts";
import type { UniverseBetas } from "./universe.ts";

export type { RiskModelSettings };
export { lensFactorReturnSeries } from "./factor-plan.ts";
export { defaultRiskModelSettings };

/** One row of `risk_factors`: the factor's daily return is r_long, minus r_short when set. */
export interface RiskFactorSpec {
  id: number;
  key: string;
  name: string;
  longSymbol: string;
  shortSymbol: string | null;
}

/** The risk model compiled against a return panel. */
export interface RiskEngineInput {
  readonly panel: ReturnPanel;
  readonly factors: readonly RiskFactorSpec[];
  readonly settings: Readonly<RiskModelSettings>;
  /** Per factor, its daily return over the panel's calendar (NaN where a leg has no return). */
  readonly series: readonly Float64Array[];
  /** The joint regression as a factor engine input (one `joint` group). */
  readonly engine: FactorEngineInput;
}

export type RiskLoadingFlag = "ok" | "limited_history" | "degenerate";
export type RiskLoadingReason = "insufficient_data" | "degenerate" | "no_factor_data";

interface LoadingsCommon {
  symbol: string;
  calculationDate: string;
  windowDays: number;
  /** Dates used: in the window, with the symbol's return and every factor's. */
  observations: number;
  /** Dates in the window on which every risk factor has a return. */
  factorObservations: number;
}

export interface EstimatedRiskLoadings extends LoadingsCommon {
  status: "estimated";
  /** By risk factor key, in raw return units. */
  loadings: Record<string, number>;
  standardErrors: Record<string, number>;
  /** s² = SSR/(n − K − 1): the daily specific variance, squared return units. */
  residualVariance: number;
  /** Null when the symbol's returns are constant. */
  rSquared: number | null;
  /** `degenerate`: the symbol's returns are constant (loadings ≈ 0, R² null). */
  qualityFlag: RiskLoadingFlag;
}

export interface MissingRiskLoadings extends LoadingsCommon {
  status: "missing";
  reason: RiskLoadingReason;
  detail: string;
}

export type SymbolRiskLoadings = EstimatedRiskLoadings | MissingRiskLoadings;

function invalid(problem: string): FactorEngineError {
  return new FactorEngineError("invalid_factor_spec", `risk model: ${problem}`);
}

function checkedSettings(overrides: Partial<RiskModelSettings>, factorCount: number): RiskModelSettings {
  const settings = { ...defaultRiskModelSettings, ...overrides };
  const positiveInteger = (name: keyof RiskModelSettings, minimum: number) => {
    const value = settings[name];
    if (!Number.isInteger(value) || value < minimum)
      throw invalid(`${name} must be an integer ≥ ${minimum}, got ${value}`);
  };
  positiveInteger("windowDays", 1);
  // n − K − 1 degrees of freedom must remain for the residual variance.
  positiveInteger("minObservations", factorCount + 2);
  positiveInteger("maxCovarianceDays", 2);
  positiveInteger("minCovarianceDays", 2);
  if (settings.minCovarianceDays > settings.maxCovarianceDays)
    throw invalid("minCovarianceDays must not exceed maxCovarianceDays");
  if (!(settings.halfLifeDays > 0) || !Number.isFinite(settings.halfLifeDays))
    throw invalid(`halfLifeDays must be a positive number, got ${settings.halfLifeDays}`);
  return settings;
}

/** Validates the risk factors and compiles the joint regression against `panel`. */
export function createRiskEngineInput(
  panel: ReturnPanel,
  factors: readonly RiskFactorSpec[],
  overrides: Partial<RiskModelSettings> = {},
): RiskEngineInput {
  const settings = checkedSettings(overrides, factors.length);
  const keys = new Set<string>();
  for (const factor of factors) {
    if (keys.has(factor.key)) throw invalid(`duplicate risk factor key ${factor.key}`);
    keys.add(factor.key);
    if (!factor.longSymbol) throw invalid(`risk factor ${factor.key} has no long symbol`);
    if (factor.shortSymbol === factor.longSymbol)
      throw invalid(`risk factor ${factor.key}: the short symbol equals the long one`);
  }
  const days = panel.calendar.length;
  const series = factors.map((factor) => {
    const long = symbolSeries(panel, factor.longSymbol);
    if (factor.shortSymbol === null) return long;
    const short = symbolSeries(panel, factor.shortSymbol);
    const spread = new Float64Array(days);
    for (let t = 0; t < days; t++) spread[t] = long[t]! - short[t]!;
    return spread;
  });
  const inputSymbols = [
    ...new Set(factors.flatMap((f) => (f.shortSymbol ? [f.longSymbol, f.shortSymbol] : [f.longSymbol]))),
  ];
  // The engine's descriptions: a spec per factor, used for its key and position only.
  const specs: FactorSpec[] = factors.map((factor) => ({
    id: factor.id,
    key: factor.key,
    name: factor.name,
    category: "market",
    method: "ols",
    inputSymbol: factor.longSymbol,
    longSymbol: null,
    shortSymbol: null,
    windowDays: settings.windowDays,
    minObservations: settings.minObservations,
    ridgeAlpha: null,
  }));
  const descriptions: FactorDescription[] = specs.map((spec, k) => ({
    spec,
    regressorLabel: factors[k]!.shortSymbol ? `${factors[k]!.longSymbol} − ${factors[k]!.shortSymbol}` : spec.key,
    inputSymbols,
  }));
  const drafts =
    factors.length === 0
      ? []
      : [
          {
            method: "joint" as const,
            factorIndices: factors.map((_, k) => k),
            columns: series,
            inputSymbols,
            windowDays: settings.windowDays,
            ridgeAlpha: 0,
            minObservations: factors.map(() => settings.minObservations),
          },
        ];
  const engine = compileGroups(panel, specs, descriptions, drafts);
  return { panel, factors: [...factors], settings, series, engine };
}

/** The risk factors' daily returns over the panel's calendar (NaN = missing), by key. */
export function riskFactorReturnSeries(input: RiskEngineInput): { keys: string[]; series: Float64Array[] } {
  return { keys: input.factors.map((factor) => factor.key), series: [...input.series] };
}

const missingReasons: Record<number, RiskLoadingReason> = {
  [Outcome.insufficientData]: "insufficient_data",
  [Outcome.noFactorData]: "no_factor_data",
  [Outcome.degenerateRegressor]: "degenerate",
  [Outcome.singularSystem]: "degenerate",
  [Outcome.nonFinite]: "degenerate",
};

/** Every symbol's loadings on one date, over the engine's table (one column per risk factor). */
export class RiskLoadingsTable {
  readonly calculationDate: string;
  readonly symbols: readonly string[];
  private lookup: Map<string, number> | null = null;

  readonly table: UniverseBetas;
  readonly input: RiskEngineInput;

  constructor(table: UniverseBetas, input: RiskEngineInput) {
    this.table = table;
    this.input = input;
    this.calculationDate = table.calculationDate;
    this.symbols = table.symbols;
  }

  loadings(symbolIndex: number): SymbolRiskLoadings {
    const { table, input } = this;
    const factors = input.factors;
    const K = factors.length;
    const at = symbolIndex * table.factorCount;
    const common = {
      symbol: table.symbols[symbolIndex]!,
      calculationDate: table.calculationDate,
      windowDays: input.settings.windowDays,
    };
    if (K === 0) {
      return {
        ...common,
        status: "missing",
        reason: "no_factor_data",
        detail: "no risk factor is active",
        observations: 0,
        factorObservations: 0,
      };
    }
    const outcome = table.outcome[at]!;
    const observations = table.observations[at]!;
    const factorObservations = table.factorObservations[0]!;
    if (isEstimated(outcome)) {
      const loadings: Record<string, number> = {};
      const standardErrors: Record<string, number> = {};
      for (let k = 0; k < K; k++) {
        loadings[factors[k]!.key] = table.rawBeta[at + k]!;
        standardErrors[factors[k]!.key] = table.standardErrorAt(at + k);
      }
      const rSquared = table.rSquared[at]!;
      return {
        ...common,
        status: "estimated",
        loadings,
        standardErrors,
        residualVariance: table.residualVariance[at]!,
        rSquared: Number.isFinite(rSquared) ? rSquared : null,
        observations,
        factorObservations,
        qualityFlag:
          outcome === Outcome.degenerateEstimate
            ? "degenerate"
            : outcome === Outcome.limitedHistory
              ? "limited_history"
              : "ok",
      };
    }
    const reason = missingReasons[outcome] ?? "degenerate";
    return {
      ...common,
      status: "missing",
      reason,
      detail: missingDetail(input, table.calculationDate, outcome, observations),
      observations,
      factorObservations,
    };
  }

  loadingsFor(symbol: string): SymbolRiskLoadings | undefined {
    if (this.lookup === null) this.lookup = new Map(this.symbols.map((name, index) => [name, index]));
    const index = this.lookup.get(symbol);
    return index === undefined ? undefined : this.loadings(index);
  }

  toArray(): SymbolRiskLoadings[] {
    return this.symbols.map((_, index) => this.loadings(index));
  }
}

function missingDetail(input: RiskEngineInput, date: string, outcome: number, observations: number): string {
  const { windowDays, minObservations } = input.settings;
  switch (outcome) {
    case Outcome.insufficientData:
      return `${observations} observations in the ${windowDays}-day window ending ${date}, ${minObservations} required`;
    case Outcome.noFactorData:
      return (
        `no day on which every risk factor (${input.factors.map((f) => f.key).join(", ")}) has a return ` +
        `in the ${windowDays}-day window ending ${date}`
      );
    case Outcome.degenerateRegressor:
      return `a risk factor's returns have zero variance over the ${observations} observations`;
    case Outcome.singularSystem:
      return (
        `the risk factors' returns are collinear over the ${observations} observations ` +
        `(reciprocal condition number of XᵀX below ${minReciprocalCondition})`
      );
    default:
      return "the estimate is not finite (extreme returns)";
  }
}

/** Every symbol's loadings on `calculationDate`, sharing the regressor side across symbols. */
export function computeUniverseRiskLoadings(input: RiskEngineInput, calculationDate: string): RiskLoadingsTable {
  return new RiskLoadingsTable(computeUniverseBetas(input.engine, calculationDate), input);
}

/** One symbol's loadings from scratch: the reference the shared path is tested against. */
export function computeSymbolRiskLoadingsDirect(
  input: RiskEngineInput,
  symbol: string,
  calculationDate: string,
): SymbolRiskLoadings {
  return new RiskLoadingsTable(computeSymbolTableDirect(input.engine, symbol, calculationDate), input).loadings(0);
}

export interface RiskBackfillOptions {
  /** Receives each date's loadings in ascending date order (then nothing is collected). */
  onDate?: (table: RiskLoadingsTable) => void;
  exactEvery?: number;
}

export interface RiskBackfillResult {
  calculationDates: string[];
  results: RiskLoadingsTable[];
  stats: BackfillStats;
}

/** Loadings for a range of dates with rolling moments (backfill.ts); covariance per date is cheap and direct. */
export function computeRiskBackfill(
  input: RiskEngineInput,
  calculationDates: readonly string[],
  options: RiskBackfillOptions = {},
): RiskBackfillResult {
  const onDate = options.onDate;
  const backfill = computeBackfill(input.engine, calculationDates, {
    ...(options.exactEvery === undefined ? {} : { exactEvery: options.exactEvery }),
    ...(onDate ? { onDate: (table: UniverseBetas) => onDate(new RiskLoadingsTable(table, input)) } : {}),
  });
  return {
    calculationDates: backfill.calculationDates,
    results: backfill.results.map((table) => new RiskLoadingsTable(table, input)),
    stats: backfill.stats,
  };
}

interface CovarianceCommon {
  calculationDate: string;
  factorKeys: string[];
  halfLifeDays: number;
  /** Days used (or found, when too few). */
  observations: number;
}

export interface EstimatedCovariance extends CovarianceCommon {
  status: "estimated";
  /** Daily covariance, K × K in `factorKeys` order. */
  matrix: number[][];
  firstDate: string;
  lastDate: string;
}

export interface MissingCovariance extends CovarianceCommon {
  status: "missing";
  reason: "insufficient_history" | "no_factors";
  detail: string;
}

export type FactorCovariance = EstimatedCovariance | MissingCovariance;

/**
 * The EWMA covariance of the risk factors on `calculationDate` (docs/design.md §11): over the
 * last (at most `maxCovarianceDays`) trading days ≤ the date on which every factor has a
 * return, day j (0 = the latest) weighted ∝ 0.5^(j/H), weights summing to 1;
 * μ = Σ w_j f_j, Σ = Σ w_j (f_j − μ)(f_j − μ)ᵀ. Fewer than `minCovarianceDays` days: missing.
 */
export function computeFactorCovariance(input: RiskEngineInput, calculationDate: string): FactorCovariance {
  const { halfLifeDays, maxCovarianceDays, minCovarianceDays } = input.settings;
  const factorKeys = input.factors.map((factor) => factor.key);
  const common = { calculationDate, factorKeys, halfLifeDays };
  const K = factorKeys.length;
  if (K === 0) {
    return { ...common, status: "missing", reason: "no_factors", detail: "no risk factor is active", observations: 0 };
  }
  const series = input.series;
  const end = windowEnd(input.panel.calendarDays, dayNumber(calculationDate));
  const used: number[] = []; // calendar indices, latest first
  for (let t = end - 1; t >= 0 && used.length < maxCovarianceDays; t--) {
    let complete = true;
    for (let k = 0; k < K; k++) if (Number.isNaN(series[k]![t]!)) complete = false;
    if (complete) used.push(t);
  }
  const m = used.length;
  if (m < minCovarianceDays) {
    return {
      ...common,
      status: "missing",
      reason: "insufficient_history",
      detail:
        `${m} trading days up to ${calculationDate} on which every risk factor has a return, ` +
        `${minCovarianceDays} required`,
      observations: m,
    };
  }
  const weights = new Float64Array(m);
  let total = 0;
  for (let j = 0; j < m; j++) {
    weights[j] = 0.5 ** (j / halfLifeDays);
    total += weights[j]!;
  }
  for (let j = 0; j < m; j++) weights[j] = weights[j]! / total;
  const mean = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    const column = series[k]!;
    let sum = 0;
    for (let j = 0; j < m; j++) sum += weights[j]! * column[used[j]!]!;
    mean[k] = sum;
  }
  const matrix: number[][] = Array.from({ length: K }, () => new Array<number>(K).fill(0));
  for (let a = 0; a < K; a++) {
    for (let b = 0; b <= a; b++) {
      const columnA = series[a]!;
      const columnB = series[b]!;
      let sum = 0;
      for (let j = 0; j < m; j++) {
        const t = used[j]!;
        sum += weights[j]! * (columnA[t]! - mean[a]!) * (columnB[t]! - mean[b]!);
      }
      matrix[a]![b] = sum;
      matrix[b]![a] = sum;
    }
  }
  const calendar = input.panel.calendar;
  return {
    ...common,
    status: "estimated",
    matrix,
    observations: m,
    firstDate: calendar[used[m - 1]!]!,
    lastDate: calendar[used[0]!]!,
  };
}
