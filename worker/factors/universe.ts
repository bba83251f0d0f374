// Betas of every symbol for one calculation date, and the straightforward per-symbol path.
//
// Sharing (docs/design.md §4.4, "Sharing work"): for a date, each observation set
// (factor-plan.ts) has one list of factor observation dates F — the window's days on which
// all of the set's inputs have returns. The regressor side of every group in the set
// (means, centred or standardized columns, ZᵀZ, chol(ZᵀZ + αI)) is computed once over F
// (`planDate`). Symbols are then taken four at a time, through every set per batch (a batch's
// return rows come from memory once and are still in cache for the other sets): one pass
// over the four rows on F (shifted deviations and their sums, shared by all the set's
// regressions), the products of the deviations with every weight column — two columns and
// four symbols per loop (`dotProductBatch4x2`) — and a tiny solve per group for each symbol
// with a return on every date of F.
//
// A symbol missing some date of F (its own dates S differ from F) is queued and fitted after
// the batches (`fitIncompleteSymbols`). Symbols with the same S (listed, delisted or halted on
// the same days) share one regressor side summarized on S, and go through the same batched
// products. A symbol alone with its S is downdated from the plan (downdate.ts) when it misses
// at most half of F and the downdate's rounding bound allows; otherwise it takes the
// per-symbol fit on its own dates (`fitSetDirect`, the same code `computeSymbolBetasDirect`
// runs).
//
// Agreement with the per-symbol path: apart from downdated fits, every path calls the same
// summarize / complete / solve functions of regression.ts on the same values and forms every
// sum in the same order (the batched products are bit for bit `dotProduct`'s), so the results
// are identical bit for bit. Downdated fits differ by rounding only, bounded to 1e-13 relative
// (the tests hold all paths to 1e-12).
import { FactorEngineError } from "./errors.ts";
import type { FactorEngineInput, RegressionGroup } from "./factor-plan.ts";
import { createDowndateScratch, fitDowndated } from "./downdate.ts";
import type { DowndateScratch } from "./downdate.ts";
import { classifyEstimate, isEstimated, materializeBeta, Outcome } from "./quality.ts";
import type { FactorDescription } from "./quality.ts";
import {
  accumulateResponse,
  completeMoments,
  createFitResult,
  createRegressorSummary,
  createResponseMoments,
  createResponseSums,
  dotProduct,
  dotProductBatch4,
  dotProductBatch4x2,
  shiftResponse,
  solveFit,
  summarizeRegressors,
} from "./regression.ts";
import type { FitResult, RegressorSummary, ResponseMoments, ResponseSums } from "./regression.ts";
import { dayNumber, windowEnd, windowStart } from "./returns.ts";
import { minReciprocalCondition } from "./risk-settings.ts";
import type { SymbolBetas, SymbolFactorBeta } from "./types.ts";

/**
 * All symbols' betas for one date, stored by column (one entry per symbol × factor, at
 * `symbolIndex * factorCount + factorIndex`) so a 5,000-symbol universe is a few typed
 * arrays instead of 60,000 objects. `beta()`, `symbolBetas()` and `toArray()` give the shared
 * result types. In the raw arrays NaN means "no value" (missing beta, null R²); read them
 * together with `outcome` (quality.ts `Outcome`), or use the accessors, which never return NaN.
 */
export class UniverseBetas {
  readonly calculationDate: string;
  readonly symbols: readonly string[];
  readonly factors: readonly FactorDescription[];
  readonly factorCount: number;
  /** Per factor: dates in the window on which every input of the factor has a return. */
  readonly factorObservations: Int32Array;
  readonly outcome: Uint8Array;
  readonly rawBeta: Float64Array;
  readonly rSquared: Float64Array;
  readonly observations: Int32Array;
  /** The regression's residual variance s² (the same for every factor of a group; NaN where no fit). */
  readonly residualVariance: Float64Array;
  /** v_k with standard error = sqrt(s²·v_k) (regression.ts `varianceFactor`); see `standardErrorAt`. */
  readonly varianceFactor: Float64Array;
  /** Fits with R² ≥ `refineAboveRSquared`, for `refineResiduals`: symbol index and group. */
  readonly tightFits: { symbolIndex: number; group: RegressionGroup }[] = [];
  private symbolLookup: Map<string, number> | null = null;

  constructor(calculationDate: string, symbols: readonly string[], factors: readonly FactorDescription[]) {
    this.calculationDate = calculationDate;
    this.symbols = symbols;
    this.factors = factors;
    this.factorCount = factors.length;
    const size = symbols.length * factors.length;
    this.factorObservations = new Int32Array(factors.length);
    this.outcome = new Uint8Array(size);
    this.rawBeta = new Float64Array(size);
    this.rSquared = new Float64Array(size);
    this.observations = new Int32Array(size);
    this.residualVariance = new Float64Array(size);
    this.varianceFactor = new Float64Array(size);
  }

  beta(symbolIndex: number, factorIndex: number): SymbolFactorBeta {
    const at = symbolIndex * this.factorCount + factorIndex;
    return materializeBeta(
      this.factors[factorIndex]!,
      this.calculationDate,
      this.outcome[at]!,
      this.rawBeta[at]!,
      this.rSquared[at]!,
      this.observations[at]!,
      this.factorObservations[factorIndex]!,
      this.standardErrorAt(at),
    );
  }

  /** Standard error of the raw beta at `at` (NaN where there is no beta). */
  standardErrorAt(at: number): number {
    return Math.sqrt(this.residualVariance[at]! * this.varianceFactor[at]!);
  }

  symbolBetas(symbolIndex: number): SymbolBetas {
    const betas: Record<string, SymbolFactorBeta> = {};
    for (let f = 0; f < this.factorCount; f++) betas[this.factors[f]!.spec.key] = this.beta(symbolIndex, f);
    return { symbol: this.symbols[symbolIndex]!, calculationDate: this.calculationDate, betas };
  }

  /** The symbol's betas, or undefined when the universe does not hold it. */
  symbolBetasFor(symbol: string): SymbolBetas | undefined {
    if (this.symbolLookup === null) this.symbolLookup = new Map(this.symbols.map((name, index) => [name, index]));
    const index = this.symbolLookup.get(symbol);
    return index === undefined ? undefined : this.symbolBetas(index);
  }

  toArray(): SymbolBetas[] {
    return this.symbols.map((_, s) => this.symbolBetas(s));
  }
}

/** Observation dates (calendar indices, ascending): a set's F, or a missing-date pattern's S. */
export interface DateList {
  readonly dates: Int32Array;
  readonly count: number;
}

/** One observation set on one date: its factor observation dates F, and more. */
export interface SetPlan extends DateList {
  /** Calendar index range `[start, end)` of the set's window. */
  readonly start: number;
  readonly end: number;
  /**
   * Per column c of the set (in `setColumnOffset` order): the plan weights holding it and its
   * offset there, so the batched cross products can run over the set's columns two at a time
   * whatever group they belong to.
   */
  readonly columnWeights: readonly Float64Array[];
  readonly columnOffsets: Int32Array;
}

/** The regressor side of a date, shared by all symbols. */
export interface DatePlan {
  readonly calculationDate: string;
  readonly endIndex: number;
  readonly sets: readonly SetPlan[];
  /** Per group, summarized over its set's F. */
  readonly summaries: readonly RegressorSummary[];
}

export function planDate(input: FactorEngineInput, calculationDate: string): DatePlan {
  const days = input.panel.calendarDays;
  const endDay = dayNumber(calculationDate);
  const end = windowEnd(days, endDay);
  const summaries: RegressorSummary[] = new Array<RegressorSummary>(input.groups.length);
  const sets = input.sets.map((set): SetPlan => {
    const start = windowStart(days, endDay, set.windowDays);
    const dates = new Int32Array(Math.max(0, end - start));
    let count = 0;
    for (let t = start; t < end; t++) if (set.available[t] === 1) dates[count++] = t;
    const columnWeights: Float64Array[] = [];
    const columnOffsets = new Int32Array(set.columnCount);
    for (const g of set.groupIndices) {
      const group = input.groups[g]!;
      const summary = createRegressorSummary(group.columns.length, group.ridgeAlpha, count, group.method === "joint");
      summarizeRegressors(summary, group.columns, dates, count);
      summaries[g] = summary;
      for (let k = 0; k < group.columns.length; k++) {
        columnWeights[group.setColumnOffset + k] = summary.weights;
        columnOffsets[group.setColumnOffset + k] = k * count;
      }
    }
    return { start, end, dates, count, columnWeights, columnOffsets };
  });
  // Copied into a packed array (Array.from with a map function; `new Array(n)` and `map` give
  // holey ones), as the pattern path's summaries: `solveGroups` then sees one array shape (a
  // deoptimization otherwise, --trace-deopt).
  return { calculationDate, endIndex: end, sets, summaries: Array.from(summaries, (summary) => summary) };
}

/** Reusable per-group buffers for solving and for the per-symbol fits. */
export interface GroupScratch {
  readonly moments: ResponseMoments;
  readonly fit: FitResult;
  readonly solve: Float64Array;
  readonly products: Float64Array;
  /** The group's regressor side over a symbol's own dates (per-symbol, pattern and downdated fits). */
  readonly summary: RegressorSummary;
}

export function createGroupScratch(group: RegressionGroup): GroupScratch {
  const p = group.columns.length;
  return {
    moments: createResponseMoments(p),
    fit: createFitResult(p),
    solve: new Float64Array(2 * p),
    products: new Float64Array(p),
    summary: createRegressorSummary(p, group.ridgeAlpha, 0, group.method === "joint"),
  };
}

/** Symbols are processed four at a time (`shiftReturnsOnDates4`, `dotProductBatch4x2`). */
const batchSize = 4;

/** A growable list of symbol indices. */
export interface SymbolList {
  symbols: Int32Array;
  count: number;
}

function pushSymbol(list: SymbolList, symbolIndex: number): void {
  if (list.count === list.symbols.length) {
    const grown = new Int32Array(Math.max(16, 2 * list.count));
    grown.set(list.symbols);
    list.symbols = grown;
  }
  list.symbols[list.count++] = symbolIndex;
}

/** Buffers of the per-symbol fit (`fitSetDirect`), reused across symbols and dates. */
export interface DirectScratch {
  readonly groups: readonly GroupScratch[];
  readonly sums: ResponseSums;
  observationDates: Int32Array;
  alignedResponse: Float64Array;
  deviations: Float64Array;
}

/** How the shared path fitted each symbol on each observation set (diagnostics). */
export interface FitPathCounts {
  /** Complete on the set's F: the batched pass with the plan's regressor side. */
  complete: number;
  /** Missing some dates of F that other symbols miss too: one regressor side per pattern. */
  sharedPattern: number;
  /** Missing a few dates of F alone: regressor side downdated from the plan's. */
  downdated: number;
  /** The per-symbol fit: most of F missing, or a downdate not trusted to the tolerance. */
  perSymbol: number;
}

export function createFitPathCounts(): FitPathCounts {
  return { complete: 0, sharedPattern: 0, downdated: 0, perSymbol: 0 };
}

/**
 * Buffers of the shared path: the per-symbol fit's (a separate object, so `fitSetDirect` sees
 * one object shape from both paths), plus the batch and incomplete-symbol ones.
 */
export interface SharedScratch {
  readonly direct: DirectScratch;
  readonly fitPaths: FitPathCounts;
  /** A batch of four symbols on the current set: their deviations (row q at q·n) and sums. */
  batchDeviations: Float64Array;
  readonly batchSums: readonly ResponseSums[];
  /** Row q: the P_c of symbol q for every column c of the set. */
  readonly batchProducts: Float64Array;
  /** Per set: the symbols missing some date of F, fitted by `fitIncompleteSymbols`. */
  readonly incomplete: readonly SymbolList[];
  /** Per incomplete symbol: a hash of its missing positions and their count (see `fitIncompleteSymbols`). */
  patternHash: Int32Array;
  patternMissing: Int32Array;
  /** The missing positions (indices into F) of the symbol being downdated. */
  missing: Int32Array;
  /** The P_c of the symbol being downdated, for every column c of the set. */
  readonly products: Float64Array;
  readonly downdate: DowndateScratch;
  /** Per group: the regressor side over the current pattern's S (the per-symbol fit's buffers). */
  readonly patternSummaries: readonly RegressorSummary[];
  /** The current pattern's S, and its weights per set column (as `SetPlan.columnWeights`). */
  readonly pattern: { dates: Int32Array; count: number };
  readonly patternWeights: Float64Array[];
  readonly patternOffsets: Int32Array;
}

/** The per-symbol path's buffers only: it runs once per symbol, so it allocates no more. */
export function createDirectScratch(input: FactorEngineInput): DirectScratch {
  return {
    groups: input.groups.map(createGroupScratch),
    sums: createResponseSums(),
    observationDates: new Int32Array(0),
    alignedResponse: new Float64Array(0),
    deviations: new Float64Array(0),
  };
}

export function createSharedScratch(input: FactorEngineInput): SharedScratch {
  const widestSet = input.sets.reduce((widest, set) => Math.max(widest, set.columnCount), 0);
  const widestGroup = input.groups.reduce((widest, group) => Math.max(widest, group.columns.length), 0);
  const direct = createDirectScratch(input);
  return {
    direct,
    fitPaths: createFitPathCounts(),
    batchDeviations: new Float64Array(0),
    batchSums: Array.from({ length: batchSize }, createResponseSums),
    batchProducts: new Float64Array(batchSize * widestSet),
    incomplete: input.sets.map((): SymbolList => ({ symbols: new Int32Array(0), count: 0 })),
    patternHash: new Int32Array(0),
    patternMissing: new Int32Array(0),
    missing: new Int32Array(0),
    products: new Float64Array(widestSet),
    downdate: createDowndateScratch(widestGroup),
    // Packed, as `planDate`'s summaries (see there).
    patternSummaries: Array.from(direct.groups, (group) => group.summary),
    pattern: { dates: direct.observationDates, count: 0 },
    patternWeights: Array.from({ length: widestSet }, () => new Float64Array(0)),
    patternOffsets: new Int32Array(widestSet),
  };
}

function ensureCapacity(scratch: DirectScratch, size: number): void {
  if (scratch.deviations.length >= size) return;
  const capacity = Math.max(size, 2 * scratch.deviations.length);
  scratch.observationDates = new Int32Array(capacity);
  scratch.alignedResponse = new Float64Array(capacity);
  scratch.deviations = new Float64Array(capacity);
}

/** Room for `size` observations in every buffer of the shared path (call before a batch starts). */
function ensureSharedCapacity(scratch: SharedScratch, size: number): void {
  ensureCapacity(scratch.direct, size);
  const capacity = scratch.direct.deviations.length;
  if (scratch.missing.length < size) scratch.missing = new Int32Array(capacity);
  if (scratch.batchDeviations.length < batchSize * size)
    scratch.batchDeviations = new Float64Array(batchSize * capacity);
}

/**
 * Writes a group's outcome for one symbol: missing reasons in precedence order, else the
 * estimate and its flag. `fit` is read only when the regression ran.
 */
export function recordGroup(
  table: UniverseBetas,
  symbolIndex: number,
  group: RegressionGroup,
  observations: number,
  factorObservations: number,
  summary: RegressorSummary | null,
  fit: FitResult | null,
): void {
  const base = symbolIndex * table.factorCount;
  const joint = group.method === "joint";
  // A joint regression is degenerate as a whole: a zero-variance column, or a centred XᵀX too
  // ill-conditioned to separate the factors (docs/design.md §11).
  let jointOutcome: number | null = null;
  if (joint && summary !== null && fit !== null && factorObservations > 0) {
    if (summary.activeCount < summary.columnCount) jointOutcome = Outcome.degenerateRegressor;
    else if (!(summary.reciprocalCondition >= minReciprocalCondition)) jointOutcome = Outcome.singularSystem;
  }
  for (let k = 0; k < group.factorIndices.length; k++) {
    const f = group.factorIndices[k]!;
    const at = base + f;
    table.observations[at] = observations;
    let outcome: number;
    let rawBeta = NaN;
    let rSquared = NaN;
    let residualVariance = NaN;
    let varianceFactor = NaN;
    if (factorObservations === 0) outcome = Outcome.noFactorData;
    else if (observations < group.minObservations[k]! || summary === null || fit === null)
      outcome = Outcome.insufficientData;
    else if (jointOutcome !== null) outcome = jointOutcome;
    else if (summary.degenerate[k] === 1) outcome = Outcome.degenerateRegressor;
    else if (!fit.solved) outcome = Outcome.singularSystem;
    else if (!fit.finite) outcome = Outcome.nonFinite;
    else {
      rawBeta = fit.coefficients[k]!;
      rSquared = fit.rSquared;
      residualVariance = fit.residualVariance;
      varianceFactor = summary.varianceFactor[k]!;
      // Risk loadings are not capped: they enter variances and P&L sums as they are.
      outcome = classifyEstimate(rawBeta, fit.responseConstant, observations, factorObservations, !joint);
    }
    table.outcome[at] = outcome;
    table.rawBeta[at] = rawBeta;
    table.rSquared[at] = rSquared;
    table.residualVariance[at] = residualVariance;
    table.varianceFactor[at] = varianceFactor;
  }
  if (fit !== null && fit.rSquared >= refineAboveRSquared) table.tightFits.push({ symbolIndex, group });
}

/**
 * The per-symbol fit of every group of an observation set on one date: the symbol's own
 * observation dates (window days where the set's inputs and the symbol all have returns),
 * then each group summarized, accumulated and solved from scratch on them.
 */
export function fitSetDirect(
  input: FactorEngineInput,
  setIndex: number,
  symbolIndex: number,
  start: number,
  end: number,
  factorObservations: number,
  scratch: DirectScratch,
  table: UniverseBetas,
  tableSymbolIndex: number,
): void {
  const days = input.panel.calendar.length;
  const returns = input.panel.returns;
  const row = symbolIndex * days;
  const set = input.sets[setIndex]!;
  const available = set.available;
  ensureCapacity(scratch, Math.max(0, end - start));
  const dates = scratch.observationDates;
  const response = scratch.alignedResponse;
  let n = 0;
  for (let t = start; t < end; t++) {
    const y = returns[row + t]!;
    if (available[t] === 1 && !Number.isNaN(y)) {
      dates[n] = t;
      response[n] = y;
      n++;
    }
  }
  shiftResponse(response, n, scratch.deviations, scratch.sums);
  for (const g of set.groupIndices) {
    const group = input.groups[g]!;
    if (factorObservations === 0 || n < group.smallestMinimum) {
      recordGroup(table, tableSymbolIndex, group, n, factorObservations, null, null);
      continue;
    }
    const groupScratch = scratch.groups[g]!;
    summarizeRegressors(groupScratch.summary, group.columns, dates, n);
    accumulateResponse(
      groupScratch.summary,
      scratch.deviations,
      scratch.sums,
      groupScratch.products,
      groupScratch.moments,
    );
    solveFit(groupScratch.summary, groupScratch.moments, groupScratch.fit, groupScratch.solve);
    recordGroup(table, tableSymbolIndex, group, n, factorObservations, groupScratch.summary, groupScratch.fit);
  }
}

/**
 * A symbol's deviations on observation dates (a set's F, or a pattern's S): d_i = y_i − y₀
 * (y₀ = its return on the first date) into `deviations[offset + i]`, with S1 = Σ d_i and
 * S2 = Σ d_i² — the same values, in the same order, as `shiftResponse` on the aligned returns.
 * False when a return is missing (or the sums are otherwise not numbers): the symbol is then
 * fitted by `fitIncompleteSymbols`. A missing return (NaN) makes S1 NaN, so one check after
 * the loop replaces a branch per date.
 */
export function shiftReturnsOnDates(
  returns: Float64Array,
  row: number,
  observed: DateList,
  deviations: Float64Array,
  offset: number,
  sums: ResponseSums,
): boolean {
  const dates = observed.dates;
  const n = observed.count;
  const shift = n > 0 ? returns[row + dates[0]!]! : 0;
  let sumDeviation = 0;
  let sumSquaredDeviation = 0;
  for (let i = 0; i < n; i++) {
    const deviation = returns[row + dates[i]!]! - shift;
    deviations[offset + i] = deviation;
    sumDeviation += deviation;
    sumSquaredDeviation += deviation * deviation;
  }
  sums.shift = shift;
  sums.sumDeviation = sumDeviation;
  sums.sumSquaredDeviation = sumSquaredDeviation;
  return !Number.isNaN(sumDeviation);
}

/**
 * `shiftReturnsOnDates` for the four symbols at rows `row`, `row + days`, `row + 2·days` and
 * `row + 3·days`, deviations to `deviations[q·n …]` and sums to `sums[q]`: per symbol the
 * same operations in the same order, so bit for bit the same values. One loop over four rows
 * shares the date lookups and has eight independent sums where a single row's loop waits on
 * two dependent chains: about 1.8 times as fast. Returns a mask with bit q set when symbol q
 * is complete on F.
 */
function shiftReturnsOnDates4(
  returns: Float64Array,
  row: number,
  days: number,
  setPlan: SetPlan,
  deviations: Float64Array,
  sums: readonly ResponseSums[],
): number {
  const dates = setPlan.dates;
  const n = setPlan.count;
  const row0 = row;
  const row1 = row + days;
  const row2 = row + 2 * days;
  const row3 = row + 3 * days;
  const first = dates[0]!;
  const shift0 = returns[row0 + first]!;
  const shift1 = returns[row1 + first]!;
  const shift2 = returns[row2 + first]!;
  const shift3 = returns[row3 + first]!;
  let sum0 = 0;
  let squares0 = 0;
  let sum1 = 0;
  let squares1 = 0;
  let sum2 = 0;
  let squares2 = 0;
  let sum3 = 0;
  let squares3 = 0;
  for (let i = 0; i < n; i++) {
    const t = dates[i]!;
    const d0 = returns[row0 + t]! - shift0;
    deviations[i] = d0;
    sum0 += d0;
    squares0 += d0 * d0;
    const d1 = returns[row1 + t]! - shift1;
    deviations[n + i] = d1;
    sum1 += d1;
    squares1 += d1 * d1;
    const d2 = returns[row2 + t]! - shift2;
    deviations[2 * n + i] = d2;
    sum2 += d2;
    squares2 += d2 * d2;
    const d3 = returns[row3 + t]! - shift3;
    deviations[3 * n + i] = d3;
    sum3 += d3;
    squares3 += d3 * d3;
  }
  setSums(sums[0]!, shift0, sum0, squares0);
  setSums(sums[1]!, shift1, sum1, squares1);
  setSums(sums[2]!, shift2, sum2, squares2);
  setSums(sums[3]!, shift3, sum3, squares3);
  // A missing return makes its symbol's sum NaN.
  return (
    (Number.isNaN(sum0) ? 0 : 1) |
    (Number.isNaN(sum1) ? 0 : 2) |
    (Number.isNaN(sum2) ? 0 : 4) |
    (Number.isNaN(sum3) ? 0 : 8)
  );
}

function setSums(sums: ResponseSums, shift: number, sumDeviation: number, sumSquaredDeviation: number): void {
  sums.shift = shift;
  sums.sumDeviation = sumDeviation;
  sums.sumSquaredDeviation = sumSquaredDeviation;
}

/**
 * For a symbol missing some dates of F: deviations d_i = y_i − y₀ with y₀ its first return on
 * F and 0 on the missing dates (so products with the plan's weights are sums over its own
 * dates), S1 and S2 over its own dates — bit for bit what `shiftResponse` gives on its aligned
 * returns — and the missing positions (indices into F, ascending) in `missing`. Returns their
 * count.
 */
function shiftReturnsAroundGaps(
  returns: Float64Array,
  row: number,
  setPlan: SetPlan,
  deviations: Float64Array,
  sums: ResponseSums,
  missing: Int32Array,
): number {
  const dates = setPlan.dates;
  const n = setPlan.count;
  let first = 0;
  while (first < n && Number.isNaN(returns[row + dates[first]!]!)) first++;
  const shift = first < n ? returns[row + dates[first]!]! : 0;
  let k = 0;
  let sumDeviation = 0;
  let sumSquaredDeviation = 0;
  for (let i = 0; i < n; i++) {
    const y = returns[row + dates[i]!]!;
    if (Number.isNaN(y)) {
      missing[k++] = i;
      deviations[i] = 0;
      continue;
    }
    const deviation = y - shift;
    deviations[i] = deviation;
    sumDeviation += deviation;
    sumSquaredDeviation += deviation * deviation;
  }
  sums.shift = shift;
  sums.sumDeviation = sumDeviation;
  sums.sumSquaredDeviation = sumSquaredDeviation;
  return k;
}

/** One symbol's shared pass over a set (`scratch.deviations`, `scratch.sums`). */
export function shiftSetResponse(
  returns: Float64Array,
  row: number,
  setPlan: SetPlan,
  scratch: DirectScratch,
): boolean {
  ensureCapacity(scratch, setPlan.count);
  return shiftReturnsOnDates(returns, row, setPlan, scratch.deviations, 0, scratch.sums);
}

/**
 * Completes, solves and records every group of a set for one symbol from its products P_c
 * (`products[productsOffset + c]` for the set's columns c) and shifted sums, with the
 * regressor sides `summaries[g]` over its `observations` dates.
 */
function solveGroups(
  input: FactorEngineInput,
  setIndex: number,
  summaries: readonly RegressorSummary[],
  observations: number,
  factorObservations: number,
  sums: ResponseSums,
  products: Float64Array,
  productsOffset: number,
  scratch: DirectScratch,
  table: UniverseBetas,
  tableSymbolIndex: number,
): void {
  for (const g of input.sets[setIndex]!.groupIndices) {
    const group = input.groups[g]!;
    if (observations < group.smallestMinimum) {
      recordGroup(table, tableSymbolIndex, group, observations, factorObservations, null, null);
      continue;
    }
    const summary = summaries[g]!;
    const groupScratch = scratch.groups[g]!;
    completeMoments(
      summary,
      observations,
      sums.shift,
      sums.sumDeviation,
      sums.sumSquaredDeviation,
      products,
      productsOffset + group.setColumnOffset,
      groupScratch.moments,
    );
    solveFit(summary, groupScratch.moments, groupScratch.fit, groupScratch.solve);
    recordGroup(table, tableSymbolIndex, group, observations, factorObservations, summary, groupScratch.fit);
  }
}

/**
 * P_c for four symbols (deviation rows at q·n) and every column c of a set, two columns at a
 * time (`dotProductBatch4x2`), into `products[q·width + c]`.
 */
function batchCrossProducts(
  weights: readonly Float64Array[],
  offsets: Int32Array,
  width: number,
  deviations: Float64Array,
  n: number,
  products: Float64Array,
): void {
  let c = 0;
  for (; c + 1 < width; c += 2)
    dotProductBatch4x2(
      weights[c]!,
      offsets[c]!,
      weights[c + 1]!,
      offsets[c + 1]!,
      deviations,
      n,
      products,
      c,
      c + 1,
      width,
    );
  if (c < width) dotProductBatch4(weights[c]!, offsets[c]!, deviations, n, products, c, width);
}

/** Solves and records every group of a set for one symbol complete on F (after `shiftSetResponse`). */
export function recordCompleteSet(
  input: FactorEngineInput,
  plan: DatePlan,
  setIndex: number,
  scratch: SharedScratch,
  table: UniverseBetas,
  tableSymbolIndex: number,
): void {
  const n = plan.sets[setIndex]!.count;
  const products = scratch.batchProducts;
  for (const g of input.sets[setIndex]!.groupIndices) {
    const group = input.groups[g]!;
    const summary = plan.summaries[g]!;
    for (let k = 0; k < group.columns.length; k++) {
      products[group.setColumnOffset + k] = dotProduct(summary.weights, k * n, scratch.direct.deviations, 0, n);
    }
  }
  solveGroups(
    input,
    setIndex,
    plan.summaries,
    n,
    n,
    scratch.direct.sums,
    products,
    0,
    scratch.direct,
    table,
    tableSymbolIndex,
  );
}

/**
 * The shared path for four consecutive symbols `first … first + 3` on one set: their
 * deviations on F in one pass, the products with every weight column for the four at once
 * (`batchCrossProducts`), and the solves of the complete ones; the others are queued for
 * `fitIncompleteSymbols`. (An incomplete symbol's products are computed and ignored: cheaper
 * than re-forming the batch.)
 */
function fitBatch(
  input: FactorEngineInput,
  plan: DatePlan,
  setIndex: number,
  first: number,
  scratch: SharedScratch,
  table: UniverseBetas,
): void {
  const setPlan = plan.sets[setIndex]!;
  const n = setPlan.count;
  const days = input.panel.calendar.length;
  const deviations = scratch.batchDeviations;
  const complete = shiftReturnsOnDates4(
    input.panel.returns,
    first * days,
    days,
    setPlan,
    deviations,
    scratch.batchSums,
  );
  if (complete !== 0) {
    const width = input.sets[setIndex]!.columnCount;
    const products = scratch.batchProducts;
    batchCrossProducts(setPlan.columnWeights, setPlan.columnOffsets, width, deviations, n, products);
    for (let q = 0; q < batchSize; q++) {
      if ((complete & (1 << q)) !== 0) {
        solveGroups(
          input,
          setIndex,
          plan.summaries,
          n,
          n,
          scratch.batchSums[q]!,
          products,
          q * width,
          scratch.direct,
          table,
          first + q,
        );
        scratch.fitPaths.complete++;
      }
    }
  }
  for (let q = 0; q < batchSize; q++) if ((complete & (1 << q)) === 0) deferIncomplete(scratch, setIndex, first + q);
}

/**
 * Symbols missing at most this share of F may be downdated; beyond it the per-symbol fit is
 * used. Downdating costs O(k·p²) for k missing dates plus the products over F, the per-symbol
 * fit O((n − k)·p²): past half of F the latter is no dearer, and the downdate's cancellation
 * (ρ ≈ n/(n − k)) stays below about 2.
 */
const maxMissingShare = 0.5;

/** Queues a symbol that misses some date of the set's F for `fitIncompleteSymbols`. */
export function deferIncomplete(scratch: SharedScratch, setIndex: number, symbolIndex: number): void {
  pushSymbol(scratch.incomplete[setIndex]!, symbolIndex);
}

/** True when two symbols have returns on exactly the same dates of F. */
function samePattern(returns: Float64Array, rowA: number, rowB: number, dates: Int32Array, n: number): boolean {
  for (let i = 0; i < n; i++) {
    const a = returns[rowA + dates[i]!]!;
    const b = returns[rowB + dates[i]!]!;
    if (Number.isNaN(a) !== Number.isNaN(b)) return false;
  }
  return true;
}

/**
 * Fits the symbols queued by `deferIncomplete` for a set (each misses some date of F), then
 * empties the queue. Their own observation dates S differ from F, so the plan's regressor side
 * does not apply. Symbols are grouped by S (a hash of the missing positions, confirmed date by
 * date): several symbols with the same S — listed or delisted on the same day, missing the
 * same days — share one regressor side computed on S exactly as the per-symbol fit computes it
 * (bit for bit the same results, at the cost of one summary per pattern). A symbol alone with
 * its S is downdated when it misses few dates (`fitDowndatedSet`), else fitted per symbol.
 */
export function fitIncompleteSymbols(
  input: FactorEngineInput,
  plan: DatePlan,
  setIndex: number,
  scratch: SharedScratch,
  table: UniverseBetas,
): void {
  const list = scratch.incomplete[setIndex]!;
  const count = list.count;
  list.count = 0;
  if (count === 0) return;
  const setPlan = plan.sets[setIndex]!;
  const n = setPlan.count;
  const dates = setPlan.dates;
  const returns = input.panel.returns;
  const days = input.panel.calendar.length;
  ensureSharedCapacity(scratch, Math.max(n, setPlan.end - setPlan.start));
  if (scratch.patternHash.length < count) {
    scratch.patternHash = new Int32Array(2 * count);
    scratch.patternMissing = new Int32Array(2 * count);
  }
  const hashes = scratch.patternHash;
  const missingCounts = scratch.patternMissing;
  const order: number[] = [];
  for (let j = 0; j < count; j++) {
    const row = list.symbols[j]! * days;
    let hash = 0x811c9dc5 | 0; // FNV-1a over the missing positions
    let k = 0;
    for (let i = 0; i < n; i++) {
      const y = returns[row + dates[i]!]!;
      if (Number.isNaN(y)) {
        hash = Math.imul(hash ^ i, 0x01000193);
        k++;
      }
    }
    hashes[j] = hash;
    missingCounts[j] = k;
    order.push(j);
  }
  order.sort((a, b) => hashes[a]! - hashes[b]! || missingCounts[a]! - missingCounts[b]! || a - b);
  const maxMissing = Math.floor(maxMissingShare * n);
  for (let first = 0; first < count; ) {
    const j = order[first]!;
    const row = list.symbols[j]! * days;
    let end = first + 1;
    while (end < count) {
      const other = order[end]!;
      if (hashes[other] !== hashes[j] || missingCounts[other] !== missingCounts[j]) break;
      if (!samePattern(returns, row, list.symbols[other]! * days, dates, n)) break;
      end++;
    }
    if (end - first > 1) {
      fitPattern(input, plan, setIndex, list.symbols, order, first, end, scratch, table);
      scratch.fitPaths.sharedPattern += end - first;
    } else {
      const symbolIndex = list.symbols[j]!;
      const k = missingCounts[j]!;
      if (k > 0 && k <= maxMissing && fitDowndatedSet(input, plan, setIndex, symbolIndex, scratch, table)) {
        scratch.fitPaths.downdated++;
      } else {
        fitSetDirect(input, setIndex, symbolIndex, setPlan.start, setPlan.end, n, scratch.direct, table, symbolIndex);
        scratch.fitPaths.perSymbol++;
      }
    }
    first = end;
  }
}

/**
 * Symbols `symbols[order[first … end)]`, all with returns on the same dates S of F: the
 * regressor side of each group is summarized on S once, as the per-symbol fit would, then the
 * symbols go four at a time through the batched cross products against it, the rest one by
 * one (`fitSetDirect`'s remaining steps). Every sum is formed as in the per-symbol fit, so
 * the results are the same bit for bit.
 */
function fitPattern(
  input: FactorEngineInput,
  plan: DatePlan,
  setIndex: number,
  symbols: Int32Array,
  order: readonly number[],
  first: number,
  end: number,
  scratch: SharedScratch,
  table: UniverseBetas,
): void {
  const setPlan = plan.sets[setIndex]!;
  const n = setPlan.count;
  const returns = input.panel.returns;
  const days = input.panel.calendar.length;
  const set = input.sets[setIndex]!;
  const direct = scratch.direct;
  const pattern = scratch.pattern;
  pattern.dates = direct.observationDates;
  const representative = symbols[order[first]!]! * days;
  let observations = 0;
  for (let i = 0; i < n; i++) {
    const t = setPlan.dates[i]!;
    const y = returns[representative + t]!;
    if (!Number.isNaN(y)) pattern.dates[observations++] = t;
  }
  pattern.count = observations;
  let everyGroup = true;
  for (const g of set.groupIndices) {
    const group = input.groups[g]!;
    if (observations < group.smallestMinimum) {
      everyGroup = false;
      continue;
    }
    const summary = scratch.patternSummaries[g]!;
    summarizeRegressors(summary, group.columns, pattern.dates, observations);
    for (let k = 0; k < group.columns.length; k++) {
      scratch.patternWeights[group.setColumnOffset + k] = summary.weights;
      scratch.patternOffsets[group.setColumnOffset + k] = k * observations;
    }
  }
  let j = first;
  if (everyGroup) {
    const width = set.columnCount;
    const deviations = scratch.batchDeviations;
    const products = scratch.batchProducts;
    for (; j + batchSize <= end; j += batchSize) {
      for (let q = 0; q < batchSize; q++) {
        shiftReturnsOnDates(
          returns,
          symbols[order[j + q]!]! * days,
          pattern,
          deviations,
          q * observations,
          scratch.batchSums[q]!,
        );
      }
      batchCrossProducts(scratch.patternWeights, scratch.patternOffsets, width, deviations, observations, products);
      for (let q = 0; q < batchSize; q++) {
        const symbolIndex = symbols[order[j + q]!]!;
        solveGroups(
          input,
          setIndex,
          scratch.patternSummaries,
          observations,
          n,
          scratch.batchSums[q]!,
          products,
          q * width,
          direct,
          table,
          symbolIndex,
        );
      }
    }
  }
  for (; j < end; j++) {
    const symbolIndex = symbols[order[j]!]!;
    shiftReturnsOnDates(returns, symbolIndex * days, pattern, direct.deviations, 0, direct.sums);
    for (const g of set.groupIndices) {
      const group = input.groups[g]!;
      if (observations < group.smallestMinimum) {
        recordGroup(table, symbolIndex, group, observations, n, null, null);
        continue;
      }
      const groupScratch = direct.groups[g]!;
      accumulateResponse(
        groupScratch.summary,
        direct.deviations,
        direct.sums,
        groupScratch.products,
        groupScratch.moments,
      );
      solveFit(groupScratch.summary, groupScratch.moments, groupScratch.fit, groupScratch.solve);
      recordGroup(table, symbolIndex, group, observations, n, groupScratch.summary, groupScratch.fit);
    }
  }
}

/**
 * One symbol missing at most `maxMissingShare` of F, every group of the set downdated from the
 * plan (downdate.ts): deviations on F with 0 on the missing dates, their products with the
 * plan's weights (sums over the symbol's own dates), then O(k·p²) per group. False, with
 * nothing recorded that matters, when a group's downdated fit is not trusted to the tolerance
 * (the caller then fits the symbol per symbol, overwriting every group of the set).
 */
function fitDowndatedSet(
  input: FactorEngineInput,
  plan: DatePlan,
  setIndex: number,
  symbolIndex: number,
  scratch: SharedScratch,
  table: UniverseBetas,
): boolean {
  const setPlan = plan.sets[setIndex]!;
  const n = setPlan.count;
  const days = input.panel.calendar.length;
  const direct = scratch.direct;
  const k = shiftReturnsAroundGaps(
    input.panel.returns,
    symbolIndex * days,
    setPlan,
    direct.deviations,
    direct.sums,
    scratch.missing,
  );
  if (k === 0) return false;
  const observations = n - k;
  const products = scratch.products;
  for (const g of input.sets[setIndex]!.groupIndices) {
    const group = input.groups[g]!;
    if (observations < group.smallestMinimum) {
      recordGroup(table, symbolIndex, group, observations, n, null, null);
      continue;
    }
    const summary = plan.summaries[g]!;
    for (let c = 0; c < group.columns.length; c++) {
      products[group.setColumnOffset + c] = dotProduct(summary.weights, c * n, direct.deviations, 0, n);
    }
    const groupScratch = direct.groups[g]!;
    if (
      !fitDowndated(
        summary,
        scratch.missing,
        0,
        k,
        products,
        group.setColumnOffset,
        direct.sums,
        groupScratch,
        scratch.downdate,
      )
    )
      return false;
    recordGroup(table, symbolIndex, group, observations, n, groupScratch.summary, groupScratch.fit);
  }
  return true;
}

function fillFactorObservations(input: FactorEngineInput, plan: DatePlan, table: UniverseBetas): void {
  for (const group of input.groups) {
    const count = plan.sets[group.setIndex]!.count;
    for (const f of group.factorIndices) table.factorObservations[f] = count;
  }
}

export interface UniverseOptions {
  /** When given, receives (adds) how many symbol × set fits took each path. */
  fitPaths?: FitPathCounts;
}

/** Every symbol's betas on `calculationDate`, sharing the regressor side across symbols. */
export function computeUniverseBetas(
  input: FactorEngineInput,
  calculationDate: string,
  options: UniverseOptions = {},
): UniverseBetas {
  const plan = planDate(input, calculationDate);
  const table = new UniverseBetas(calculationDate, input.panel.symbols, input.descriptions);
  fillFactorObservations(input, plan, table);
  const scratch = createSharedScratch(input);
  const symbolCount = input.panel.symbols.length;
  // Sets without factor observations: every symbol's betas are missing (no_factor_data).
  const active: number[] = [];
  plan.sets.forEach((setPlan, setIndex) => {
    if (setPlan.count > 0) {
      active.push(setIndex);
      ensureSharedCapacity(scratch, Math.max(setPlan.count, setPlan.end - setPlan.start));
    } else {
      for (let s = 0; s < symbolCount; s++)
        for (const g of input.sets[setIndex]!.groupIndices) recordGroup(table, s, input.groups[g]!, 0, 0, null, null);
    }
  });
  // Symbol-major: a batch's rows are read from memory for the first set and are still in
  // cache for the others (the sets' windows overlap, all ending on the date).
  let s = 0;
  for (; s + batchSize <= symbolCount; s += batchSize) {
    for (const setIndex of active) fitBatch(input, plan, setIndex, s, scratch, table);
  }
  const days = input.panel.calendar.length;
  for (; s < symbolCount; s++) {
    for (const setIndex of active) {
      if (shiftSetResponse(input.panel.returns, s * days, plan.sets[setIndex]!, scratch.direct)) {
        recordCompleteSet(input, plan, setIndex, scratch, table, s);
        scratch.fitPaths.complete++;
      } else {
        deferIncomplete(scratch, setIndex, s);
      }
    }
  }
  for (const setIndex of active) fitIncompleteSymbols(input, plan, setIndex, scratch, table);
  refineResiduals(input, table, identity);
  if (options.fitPaths) addFitPaths(options.fitPaths, scratch.fitPaths);
  return table;
}

export function addFitPaths(total: FitPathCounts, counts: FitPathCounts): void {
  total.complete += counts.complete;
  total.sharedPattern += counts.sharedPattern;
  total.downdated += counts.downdated;
  total.perSymbol += counts.perSymbol;
}

/**
 * One symbol's betas computed on their own: for each observation set, the window's days where
 * the symbol and the inputs have returns, then every regression from scratch. The reference
 * the shared path is tested against, and the cheapest way to get a single symbol.
 */
export function computeSymbolBetasDirect(
  input: FactorEngineInput,
  symbol: string,
  calculationDate: string,
): SymbolBetas {
  return computeSymbolTableDirect(input, symbol, calculationDate).symbolBetas(0);
}

/** `computeSymbolBetasDirect` as a one-symbol table (the risk model reads its arrays). */
export function computeSymbolTableDirect(
  input: FactorEngineInput,
  symbol: string,
  calculationDate: string,
): UniverseBetas {
  const symbolIndex = input.panel.symbolIndex.get(symbol);
  if (symbolIndex === undefined) {
    throw new FactorEngineError("unknown_symbol", `no returns for ${symbol} (calculation date ${calculationDate})`, {
      symbol,
      date: calculationDate,
    });
  }
  const days = input.panel.calendarDays;
  const endDay = dayNumber(calculationDate);
  const end = windowEnd(days, endDay);
  const table = new UniverseBetas(calculationDate, [symbol], input.descriptions);
  const scratch = createDirectScratch(input);
  input.sets.forEach((set, setIndex) => {
    const start = windowStart(days, endDay, set.windowDays);
    let factorObservations = 0;
    for (let t = start; t < end; t++) factorObservations += set.available[t]!;
    for (const g of set.groupIndices)
      for (const f of input.groups[g]!.factorIndices) table.factorObservations[f] = factorObservations;
    fitSetDirect(input, setIndex, symbolIndex, start, end, factorObservations, scratch, table, 0);
  });
  refineResiduals(input, table, () => symbolIndex);
  return table;
}

function identity(index: number): number {
  return index;
}

/**
 * Fits with R² at least 1 − this have their residual sum of squares recomputed from the
 * residuals (`refineResiduals`).
 */
export const refineAboveRSquared = 1 - 1e-4;

/**
 * The moments give SSR = Syy − bᵀcross (− …), which cancels as R² → 1: its relative rounding
 * is about ε·√n/(1 − R²), so a symbol that tracks its factors closely (an index ETF on the
 * market, a symbol built from the factors) would get a residual variance, and standard
 * errors, with few correct digits. For every fit with R² ≥ `refineAboveRSquared` this
 * recomputes SSR as Σ e_i² from the residuals e_i = (y_i − ȳ) − Σ_k β_k (x_k,i − x̄_k) over
 * the fit's observation dates, and s² and the standard errors from it (statsmodels forms SSR
 * the same way). Below that threshold the moments' SSR is good to about 1e-11 relative.
 * Every path (shared, pattern, downdated, per-symbol, backfill) ends with this same step.
 * `panelIndex` maps a table row to its panel row.
 */
export function refineResiduals(
  input: FactorEngineInput,
  table: UniverseBetas,
  panelIndex: (tableIndex: number) => number,
): void {
  const fits = table.tightFits;
  if (fits.length === 0) return;
  const panel = input.panel;
  const days = panel.calendar.length;
  const returns = panel.returns;
  const endDay = dayNumber(table.calculationDate);
  const end = windowEnd(panel.calendarDays, endDay);
  // A symbol recorded twice for a group (a downdate not trusted, then fitted per symbol) is refined twice: harmless.
  for (const { symbolIndex, group } of fits) {
    const base = symbolIndex * table.factorCount;
    const set = input.sets[group.setIndex]!;
    const start = windowStart(panel.calendarDays, endDay, group.windowDays);
    const p = group.columns.length;
    let estimated = 0;
    for (let k = 0; k < p; k++) if (isEstimated(table.outcome[base + group.factorIndices[k]!]!)) estimated++;
    if (estimated === 0) continue;
    const row = panelIndex(symbolIndex) * days;
    let n = 0;
    let meanY = 0;
    for (let t = start; t < end; t++) {
      const y = returns[row + t]!;
      if (set.available[t] === 1 && !Number.isNaN(y)) {
        n++;
        meanY += y;
      }
    }
    meanY /= n;
    const means = new Float64Array(p);
    for (let k = 0; k < p; k++) {
      const column = group.columns[k]!;
      let sum = 0;
      for (let t = start; t < end; t++)
        if (set.available[t] === 1 && !Number.isNaN(returns[row + t]!)) sum += column[t]!;
      means[k] = sum / n;
    }
    let ssr = 0;
    for (let t = start; t < end; t++) {
      const y = returns[row + t]!;
      if (set.available[t] !== 1 || Number.isNaN(y)) continue;
      let residual = y - meanY;
      for (let k = 0; k < p; k++) {
        const at = base + group.factorIndices[k]!;
        if (isEstimated(table.outcome[at]!)) residual -= table.rawBeta[at]! * (group.columns[k]![t]! - means[k]!);
      }
      ssr += residual * residual;
    }
    const freedom = n - estimated - 1;
    const residualVariance = freedom > 0 ? ssr / freedom : NaN;
    for (let k = 0; k < p; k++) {
      const at = base + group.factorIndices[k]!;
      if (isEstimated(table.outcome[at]!)) table.residualVariance[at] = residualVariance;
    }
  }
  fits.length = 0;
}
