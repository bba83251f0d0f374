// Betas of every symbol for one calculation date, and the straightforward per-symbol path.
//
// Sharing (DESIGN.md §4, "Sharing work across symbols"): for a date, each observation set
// (factor-plan.ts) has one list of factor observation dates F — the window's days on which
// all of the set's inputs have returns. The regressor side of every group in the set
// (means, centred or standardized columns, ZᵀZ, chol(ZᵀZ + αI)) is computed once over F
// (`planDate`). A symbol with a return on every date of F then costs one pass over its
// returns on F (shifted deviations and their sums, shared by all the set's regressions), one
// dot product per regressor column against the precomputed weights — computed for four
// symbols at a time, which loads each weight once for four products — and a tiny solve per
// group. A symbol missing some date of F falls back, for that set's groups only, to the
// per-symbol fit on its own dates (`fitSetDirect`, the same code `computeSymbolBetasDirect`
// runs). Both paths call the same summarize / accumulate / solve functions of
// regression.ts in the same order on the same values, so they agree bit for bit whenever the
// observation dates coincide (the 1e-12 test checks it).
import { FactorEngineError } from "./errors.ts";
import type { FactorEngineInput, RegressionGroup } from "./factor-plan.ts";
import { classifyEstimate, materializeBeta, Outcome } from "./quality.ts";
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
  shiftResponse,
  solveFit,
  summarizeRegressors,
} from "./regression.ts";
import type { FitResult, RegressorSummary, ResponseMoments, ResponseSums } from "./regression.ts";
import { dayNumber, windowEnd, windowStart } from "./returns.ts";
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
    );
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

/** One observation set on one date. */
export interface SetPlan {
  /** Calendar index range `[start, end)` of the set's window. */
  readonly start: number;
  readonly end: number;
  /** The factor observation dates F (calendar indices, ascending) and their count. */
  readonly dates: Int32Array;
  readonly count: number;
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
    for (const g of set.groupIndices) {
      const group = input.groups[g]!;
      const summary = createRegressorSummary(group.columns.length, group.ridgeAlpha, count);
      summarizeRegressors(summary, group.columns, dates, count);
      summaries[g] = summary;
    }
    return { start, end, dates, count };
  });
  return { calculationDate, endIndex: end, sets, summaries };
}

/** Reusable per-group buffers for solving and for the per-symbol fallback. */
export interface GroupScratch {
  readonly moments: ResponseMoments;
  readonly fit: FitResult;
  readonly solve: Float64Array;
  readonly products: Float64Array;
  readonly summary: RegressorSummary;
}

export function createGroupScratch(group: RegressionGroup): GroupScratch {
  const p = group.columns.length;
  return {
    moments: createResponseMoments(p),
    fit: createFitResult(p),
    solve: new Float64Array(2 * p),
    products: new Float64Array(p),
    summary: createRegressorSummary(p, group.ridgeAlpha),
  };
}

/** Symbols complete on a set are processed four at a time (see `dotProductBatch4`). */
const batchSize = 4;

/** Buffers for the per-symbol passes, reused across symbols and dates. */
export interface SharedScratch {
  readonly groups: readonly GroupScratch[];
  readonly sums: ResponseSums;
  observationDates: Int32Array;
  alignedResponse: Float64Array;
  deviations: Float64Array;
  /** A batch of symbols complete on the current set: their deviations (row q at q·n) and sums. */
  batchDeviations: Float64Array;
  readonly batchSymbols: Int32Array;
  readonly batchSums: ResponseSums[];
  /** Row q: the P_c of symbol q for every column c of the set. */
  readonly batchProducts: Float64Array;
  batchCount: number;
}

export function createSharedScratch(input: FactorEngineInput): SharedScratch {
  const widest = input.sets.reduce((widest, set) => Math.max(widest, set.columnCount), 0);
  return {
    groups: input.groups.map(createGroupScratch),
    sums: createResponseSums(),
    observationDates: new Int32Array(0),
    alignedResponse: new Float64Array(0),
    deviations: new Float64Array(0),
    batchDeviations: new Float64Array(0),
    batchSymbols: new Int32Array(batchSize),
    batchSums: Array.from({ length: batchSize }, createResponseSums),
    batchProducts: new Float64Array(batchSize * widest),
    batchCount: 0,
  };
}

function ensureCapacity(scratch: SharedScratch, size: number): void {
  if (scratch.deviations.length >= size) return;
  const capacity = Math.max(size, 2 * scratch.deviations.length);
  scratch.observationDates = new Int32Array(capacity);
  scratch.alignedResponse = new Float64Array(capacity);
  scratch.deviations = new Float64Array(capacity);
  // A batch may be half filled when a fallback symbol needs more room: keep its rows.
  const batchDeviations = new Float64Array(batchSize * capacity);
  batchDeviations.set(scratch.batchDeviations);
  scratch.batchDeviations = batchDeviations;
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
  for (let k = 0; k < group.factorIndices.length; k++) {
    const f = group.factorIndices[k]!;
    const at = base + f;
    table.observations[at] = observations;
    let outcome: number;
    let rawBeta = NaN;
    let rSquared = NaN;
    if (factorObservations === 0) outcome = Outcome.noFactorData;
    else if (observations < group.minObservations[k]! || summary === null || fit === null) outcome = Outcome.insufficientData;
    else if (summary.degenerate[k] === 1) outcome = Outcome.degenerateRegressor;
    else if (!fit.solved) outcome = Outcome.singularSystem;
    else if (!fit.finite) outcome = Outcome.nonFinite;
    else {
      rawBeta = fit.coefficients[k]!;
      rSquared = fit.rSquared;
      outcome = classifyEstimate(rawBeta, fit.responseConstant, observations, factorObservations);
    }
    table.outcome[at] = outcome;
    table.rawBeta[at] = rawBeta;
    table.rSquared[at] = rSquared;
  }
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
  scratch: SharedScratch,
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
    if (available[t] === 1 && y === y) {
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
    accumulateResponse(groupScratch.summary, scratch.deviations, scratch.sums, groupScratch.products, groupScratch.moments);
    solveFit(groupScratch.summary, groupScratch.moments, groupScratch.fit, groupScratch.solve);
    recordGroup(table, tableSymbolIndex, group, n, factorObservations, groupScratch.summary, groupScratch.fit);
  }
}

/**
 * A symbol's deviations on a set's dates F: d_i = y_i − y₀ (y₀ = its return on the first date
 * of F) into `deviations[offset + i]`, with S1 = Σ d_i and S2 = Σ d_i² — the same values, in
 * the same order, as `shiftResponse` on the aligned returns. False as soon as a return is
 * missing (the symbol then takes the per-symbol path for this set).
 */
export function shiftReturnsOnDates(
  returns: Float64Array,
  row: number,
  setPlan: SetPlan,
  deviations: Float64Array,
  offset: number,
  sums: ResponseSums,
): boolean {
  const dates = setPlan.dates;
  const n = setPlan.count;
  const shift = n > 0 ? returns[row + dates[0]!]! : 0;
  let sumDeviation = 0;
  let sumSquaredDeviation = 0;
  for (let i = 0; i < n; i++) {
    const y = returns[row + dates[i]!]!;
    if (y !== y) return false;
    const deviation = y - shift;
    deviations[offset + i] = deviation;
    sumDeviation += deviation;
    sumSquaredDeviation += deviation * deviation;
  }
  sums.shift = shift;
  sums.sumDeviation = sumDeviation;
  sums.sumSquaredDeviation = sumSquaredDeviation;
  return true;
}

/** One symbol's shared pass over a set (`scratch.deviations`, `scratch.sums`). */
export function shiftSetResponse(returns: Float64Array, row: number, setPlan: SetPlan, scratch: SharedScratch): boolean {
  ensureCapacity(scratch, setPlan.count);
  return shiftReturnsOnDates(returns, row, setPlan, scratch.deviations, 0, scratch.sums);
}

function solveCompleteGroups(
  input: FactorEngineInput,
  plan: DatePlan,
  setIndex: number,
  sums: ResponseSums,
  products: Float64Array,
  productsOffset: number,
  scratch: SharedScratch,
  table: UniverseBetas,
  tableSymbolIndex: number,
): void {
  const n = plan.sets[setIndex]!.count;
  for (const g of input.sets[setIndex]!.groupIndices) {
    const group = input.groups[g]!;
    if (n < group.smallestMinimum) {
      recordGroup(table, tableSymbolIndex, group, n, n, null, null);
      continue;
    }
    const summary = plan.summaries[g]!;
    const groupScratch = scratch.groups[g]!;
    completeMoments(summary, n, sums.shift, sums.sumDeviation, sums.sumSquaredDeviation, products, productsOffset + group.setColumnOffset, groupScratch.moments);
    solveFit(summary, groupScratch.moments, groupScratch.fit, groupScratch.solve);
    recordGroup(table, tableSymbolIndex, group, n, n, summary, groupScratch.fit);
  }
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
      products[group.setColumnOffset + k] = dotProduct(summary.weights, k * n, scratch.deviations, 0, n);
    }
  }
  solveCompleteGroups(input, plan, setIndex, scratch.sums, products, 0, scratch, table, tableSymbolIndex);
}

/** Cross products and solves for the batch of complete symbols gathered so far. */
function flushBatch(input: FactorEngineInput, plan: DatePlan, setIndex: number, scratch: SharedScratch, table: UniverseBetas): void {
  const count = scratch.batchCount;
  if (count === 0) return;
  const n = plan.sets[setIndex]!.count;
  const width = input.sets[setIndex]!.columnCount;
  const products = scratch.batchProducts;
  const deviations = scratch.batchDeviations;
  for (const g of input.sets[setIndex]!.groupIndices) {
    const group = input.groups[g]!;
    const weights = plan.summaries[g]!.weights;
    for (let k = 0; k < group.columns.length; k++) {
      const column = group.setColumnOffset + k;
      if (count === batchSize) {
        dotProductBatch4(weights, k * n, deviations, n, products, column, width);
      } else {
        for (let q = 0; q < count; q++) products[q * width + column] = dotProduct(weights, k * n, deviations, q * n, n);
      }
    }
  }
  for (let q = 0; q < count; q++) {
    const symbolIndex = scratch.batchSymbols[q]!;
    solveCompleteGroups(input, plan, setIndex, scratch.batchSums[q]!, products, q * width, scratch, table, symbolIndex);
  }
  scratch.batchCount = 0;
}

/**
 * The shared path for one observation set over all symbols: complete symbols go through the
 * batched cross products, the others through the per-symbol fit.
 */
function computeSetShared(input: FactorEngineInput, plan: DatePlan, setIndex: number, scratch: SharedScratch, table: UniverseBetas): void {
  const setPlan = plan.sets[setIndex]!;
  const symbolCount = input.panel.symbols.length;
  const days = input.panel.calendar.length;
  const groupIndices = input.sets[setIndex]!.groupIndices;
  if (setPlan.count === 0) {
    for (let s = 0; s < symbolCount; s++) for (const g of groupIndices) recordGroup(table, s, input.groups[g]!, 0, 0, null, null);
    return;
  }
  ensureCapacity(scratch, Math.max(setPlan.count, setPlan.end - setPlan.start));
  const n = setPlan.count;
  scratch.batchCount = 0;
  for (let s = 0; s < symbolCount; s++) {
    const slot = scratch.batchCount;
    if (shiftReturnsOnDates(input.panel.returns, s * days, setPlan, scratch.batchDeviations, slot * n, scratch.batchSums[slot]!)) {
      scratch.batchSymbols[slot] = s;
      scratch.batchCount = slot + 1;
      if (scratch.batchCount === batchSize) flushBatch(input, plan, setIndex, scratch, table);
    } else {
      fitSetDirect(input, setIndex, s, setPlan.start, setPlan.end, n, scratch, table, s);
    }
  }
  flushBatch(input, plan, setIndex, scratch, table);
}

function fillFactorObservations(input: FactorEngineInput, plan: DatePlan, table: UniverseBetas): void {
  for (const group of input.groups) {
    const count = plan.sets[group.setIndex]!.count;
    for (const f of group.factorIndices) table.factorObservations[f] = count;
  }
}

/** Every symbol's betas on `calculationDate`, sharing the regressor side across symbols. */
export function computeUniverseBetas(input: FactorEngineInput, calculationDate: string): UniverseBetas {
  const plan = planDate(input, calculationDate);
  const table = new UniverseBetas(calculationDate, input.panel.symbols, input.descriptions);
  fillFactorObservations(input, plan, table);
  const scratch = createSharedScratch(input);
  for (let setIndex = 0; setIndex < plan.sets.length; setIndex++) computeSetShared(input, plan, setIndex, scratch, table);
  return table;
}

/**
 * One symbol's betas computed on their own: for each observation set, the window's days where
 * the symbol and the inputs have returns, then every regression from scratch. The reference
 * the shared path is tested against, and the cheapest way to get a single symbol.
 */
export function computeSymbolBetasDirect(input: FactorEngineInput, symbol: string, calculationDate: string): SymbolBetas {
  const symbolIndex = input.panel.symbolIndex.get(symbol);
  if (symbolIndex === undefined) {
    throw new FactorEngineError("unknown_symbol", `no returns for ${symbol} (calculation date ${calculationDate})`, { symbol, date: calculationDate });
  }
  const days = input.panel.calendarDays;
  const endDay = dayNumber(calculationDate);
  const end = windowEnd(days, endDay);
  const table = new UniverseBetas(calculationDate, [symbol], input.descriptions);
  const scratch = createSharedScratch(input);
  input.sets.forEach((set, setIndex) => {
    const start = windowStart(days, endDay, set.windowDays);
    let factorObservations = 0;
    for (let t = start; t < end; t++) factorObservations += set.available[t]!;
    for (const g of set.groupIndices) for (const f of input.groups[g]!.factorIndices) table.factorObservations[f] = factorObservations;
    fitSetDirect(input, setIndex, symbolIndex, start, end, factorObservations, scratch, table, 0);
  });
  return table.symbolBetas(0);
}
