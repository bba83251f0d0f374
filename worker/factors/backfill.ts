// Betas for a range of calculation dates (a backfill), reusing work between consecutive dates.
//
// Design. Returns and their alignment to the calendar are computed once (the panel); every
// window is an index range into it. Consecutive dates' windows overlap almost entirely, so
// instead of a full pass per symbol and date, the backfill keeps, per symbol and observation
// set, rolling sums over the symbol's observations in the window (days of the set's F where
// the symbol has a return):
//   n,   S1 = Σ d,   S2 = Σ d²,   A_c = Σ x'_c·d      with d = y − μ_y,  x'_c = x_c − μ_c
// where μ_y (per symbol) and μ_c (per regressor column) are fixed shifts for the whole range:
// the observed value closest to the series' mean over the range. Shifting by a central data
// value keeps the sums well conditioned (cancellation grows with (mean − μ)²/variance) and
// makes a series that is constant over the range give exact zeros. Moving to the next date
// subtracts the days that left the window and adds the days that entered it. The state also
// keeps the traffic T = Σ d² over every term added *or removed* since the last rebuild: the
// rounding that removed terms leave behind in the sums is proportional to it.
//
// The regressor side (means, Sxx, σ, ZᵀZ and its factor) is not rolled: it is cheap, so it
// is recomputed exactly per date by `planDate`, the same code as the single-date path. For a
// symbol complete on F the response side follows from the rolling sums:
//   ȳ = μ_y + S1/n,   Syy = S2 − S1²/n,
//   Σ x̃_c (y − ȳ) = A_c − (x̄_c − μ_c)·S1     (x̄_c from the date plan; divided by σ_c for ridge)
// and the same `solveFit` runs. Differences from the single-date path are rounding only, and
// are bounded three ways:
//   - drift: the rolling sums are rebuilt from scratch every `exactEvery` dates (default 20)
//     and whenever consecutive windows do not overlap, so at most ~2·exactEvery updates
//     accumulate (≈ 1e-14 relative to the sums);
//   - cancellation in Syy: when Syy ≤ 1% of T (returns near-constant in the window, far from
//     μ_y, or much calmer than the days that left the window — their rounding stays in the
//     sums), that symbol and set are recomputed with the exact single-date pass;
//   - cancellation in the cross products: when a column's traffic Σ x'² (window and days
//     rolled through since the rebuild) exceeds 100·Sxx — its window mean far from its shift,
//     or a calm window after a volatile one — the whole set uses the exact single-date pass
//     on that date.
// With these guards the cross products and Syy carry at most ~m·ε·100 of their natural scale
// (m ≲ 2·exactEvery + n terms), a worst-case bound of ~1e-11; observed differences are ~1e-14.
// Symbols missing a date of F are fitted as on a single date (`fitIncompleteSymbols`).
// The test suite holds backfill results to single-date results within 1e-10 relative.
import type { FactorEngineInput } from "./factor-plan.ts";
import {
  createSharedScratch,
  deferIncomplete,
  fitIncompleteSymbols,
  planDate,
  recordCompleteSet,
  recordGroup,
  refineResiduals,
  shiftSetResponse,
  UniverseBetas,
} from "./universe.ts";
import type { FitPathCounts } from "./universe.ts";
import { solveFit } from "./regression.ts";
import { dayNumber, windowEnd, windowStart } from "./returns.ts";

export interface BackfillOptions {
  /**
   * Receives each date's betas as soon as they are computed, in ascending date order; when
   * given, results are not collected (a long backfill then needs memory for one date only).
   */
  onDate?: (betas: UniverseBetas) => void;
  /** Rebuild the rolling sums from scratch every this many dates. Default 20. */
  exactEvery?: number;
}

export interface BackfillStats {
  dates: number;
  /** Set-date pairs whose rolling sums were rebuilt from scratch. */
  rebuilds: number;
  /** Symbol-set-date fits of symbols missing a date of F (`fitIncompleteSymbols`, as on a single date). */
  symbolFallbacks: number;
  /** How those were fitted: shared missing-date pattern, downdated, or per symbol. */
  incompletePaths: Omit<FitPathCounts, "complete">;
  /** Symbol-set-date fits recomputed with the exact single-date pass for precision. */
  exactRecomputes: number;
}

export interface BackfillResult {
  /** The calculation dates, ascending and de-duplicated. */
  calculationDates: string[];
  /** One table per date (empty when `onDate` is given). */
  results: UniverseBetas[];
  stats: BackfillStats;
}

/** Shift guards (see header). */
const syyShare = 0.01;
/** S1, S2, T before the cross products in each set's rolling state. */
const stateColumns = 3;
const columnTrafficRatio = 100;

/** The value of `series` at an index in [from, to) (where `mask` is 1, if given) closest to their mean; 0 when none. */
function centralValue(series: Float64Array, offset: number, from: number, to: number, mask: Uint8Array | null): number {
  let sum = 0;
  let count = 0;
  for (let t = from; t < to; t++) {
    const value = series[offset + t]!;
    if (!Number.isNaN(value) && (mask === null || mask[t] === 1)) {
      sum += value;
      count++;
    }
  }
  if (count === 0) return 0;
  const mean = sum / count;
  let closest = 0;
  let distance = Infinity;
  for (let t = from; t < to; t++) {
    const value = series[offset + t]!;
    if (!Number.isNaN(value) && (mask === null || mask[t] === 1) && Math.abs(value - mean) < distance) {
      distance = Math.abs(value - mean);
      closest = value;
    }
  }
  return closest;
}

export function computeBackfill(
  input: FactorEngineInput,
  calculationDates: readonly string[],
  options: BackfillOptions = {},
): BackfillResult {
  const exactEvery = options.exactEvery ?? 20;
  if (!Number.isInteger(exactEvery) || exactEvery < 1)
    throw new RangeError(`exactEvery must be a positive integer, got ${exactEvery}`);
  for (const date of calculationDates) dayNumber(date);
  const dates = [...new Set(calculationDates)].sort();
  const stats: BackfillStats = {
    dates: dates.length,
    rebuilds: 0,
    symbolFallbacks: 0,
    incompletePaths: { sharedPattern: 0, downdated: 0, perSymbol: 0 },
    exactRecomputes: 0,
  };
  const results: UniverseBetas[] = [];
  if (dates.length === 0) return { calculationDates: dates, results, stats };

  const panel = input.panel;
  const days = panel.calendar.length;
  const symbolCount = panel.symbols.length;
  const returns = panel.returns;
  const setCount = input.sets.length;
  const rangeStart = windowStart(panel.calendarDays, dayNumber(dates[0]!), input.longestWindowDays);
  const rangeEnd = windowEnd(panel.calendarDays, dayNumber(dates[dates.length - 1]!));
  const rangeLength = Math.max(0, rangeEnd - rangeStart);

  const responseShift = new Float64Array(symbolCount);
  for (let s = 0; s < symbolCount; s++) responseShift[s] = centralValue(returns, s * days, rangeStart, rangeEnd, null);

  // Per set: the column shifts μ_c and the shifted columns x'_c, row-major [t − rangeStart][c].
  const columnShifts: Float64Array[] = [];
  const shiftedColumns: Float64Array[] = [];
  const stateOffset = new Int32Array(setCount);
  let stride = 0;
  input.sets.forEach((set, setIndex) => {
    const width = set.columnCount;
    const shifts = new Float64Array(width);
    const shifted = new Float64Array(rangeLength * width);
    for (const g of set.groupIndices) {
      const group = input.groups[g]!;
      group.columns.forEach((column, k) => {
        const c = group.setColumnOffset + k;
        const shift = centralValue(column, 0, rangeStart, rangeEnd, set.available);
        shifts[c] = shift;
        for (let t = rangeStart; t < rangeEnd; t++) {
          shifted[(t - rangeStart) * width + c] = set.available[t] === 1 ? column[t]! - shift : 0;
        }
      });
    }
    columnShifts.push(shifts);
    shiftedColumns.push(shifted);
    stateOffset[setIndex] = stride;
    stride += stateColumns + width;
  });

  // Rolling state per symbol: for each set [S1, S2, T, A_0 … A_width−1], and the count n.
  const rollingSums = new Float64Array(symbolCount * stride);
  const rollingCounts = new Int32Array(symbolCount * setCount);
  const previousStart = new Int32Array(setCount);
  const previousEnd = new Int32Array(setCount);
  const rebuild = new Uint8Array(setCount);
  const columnTraffic = input.sets.map((set) => new Float64Array(set.columnCount));
  const exactSet = new Uint8Array(setCount);
  const scratch = createSharedScratch(input);

  // Adds (sign +1) or removes (sign −1) the symbol's observations in [from, to) of a set.
  const roll = (symbolIndex: number, setIndex: number, from: number, to: number, sign: number): void => {
    const available = input.sets[setIndex]!.available;
    const width = input.sets[setIndex]!.columnCount;
    const shifted = shiftedColumns[setIndex]!;
    const row = symbolIndex * days;
    const shift = responseShift[symbolIndex]!;
    const at = symbolIndex * stride + stateOffset[setIndex]!;
    let count = 0;
    let s1 = rollingSums[at]!;
    let s2 = rollingSums[at + 1]!;
    let traffic = rollingSums[at + 2]!;
    for (let t = from; t < to; t++) {
      const y = returns[row + t]!;
      if (available[t] !== 1 || Number.isNaN(y)) continue;
      const deviation = sign * (y - shift);
      const magnitude = y - shift;
      count++;
      s1 += deviation;
      s2 += deviation * magnitude;
      traffic += magnitude * magnitude;
      const base = (t - rangeStart) * width;
      const products = at + stateColumns;
      for (let c = 0; c < width; c++)
        rollingSums[products + c] = rollingSums[products + c]! + shifted[base + c]! * deviation;
    }
    rollingSums[at] = s1;
    rollingSums[at + 1] = s2;
    rollingSums[at + 2] = traffic;
    rollingCounts[symbolIndex * setCount + setIndex] = rollingCounts[symbolIndex * setCount + setIndex]! + sign * count;
  };

  for (let j = 0; j < dates.length; j++) {
    const calculationDate = dates[j]!;
    const plan = planDate(input, calculationDate);
    const table = new UniverseBetas(calculationDate, panel.symbols, input.descriptions);
    for (const group of input.groups) {
      const count = plan.sets[group.setIndex]!.count;
      for (const f of group.factorIndices) table.factorObservations[f] = count;
    }
    for (let setIndex = 0; setIndex < setCount; setIndex++) {
      const setPlan = plan.sets[setIndex]!;
      const overlapping = j > 0 && setPlan.start < previousEnd[setIndex]! && setPlan.start >= previousStart[setIndex]!;
      rebuild[setIndex] = j % exactEvery === 0 || !overlapping ? 1 : 0;
      if (rebuild[setIndex] === 1) stats.rebuilds++;
      // The columns' traffic Σ x'² over the days added or removed since the rebuild (all the
      // set's days: an upper bound for every symbol's share of it).
      const set = input.sets[setIndex]!;
      const traffic = columnTraffic[setIndex]!;
      const shifted = shiftedColumns[setIndex]!;
      const addTraffic = (from: number, to: number): void => {
        for (let t = from; t < to; t++) {
          if (set.available[t] !== 1) continue;
          const base = (t - rangeStart) * set.columnCount;
          for (let c = 0; c < set.columnCount; c++) traffic[c] = traffic[c]! + shifted[base + c]! * shifted[base + c]!;
        }
      };
      if (rebuild[setIndex] === 1) {
        traffic.fill(0);
        addTraffic(setPlan.start, setPlan.end);
      } else {
        addTraffic(previousStart[setIndex]!, setPlan.start);
        addTraffic(previousEnd[setIndex]!, setPlan.end);
      }
      let poorlyShifted = false;
      for (const g of set.groupIndices) {
        const group = input.groups[g]!;
        const summary = plan.summaries[g]!;
        for (let k = 0; k < group.columns.length; k++) {
          if (summary.degenerate[k] === 1) continue;
          if (traffic[group.setColumnOffset + k]! > columnTrafficRatio * summary.centeredSumOfSquares[k]!)
            poorlyShifted = true;
        }
      }
      exactSet[setIndex] = poorlyShifted ? 1 : 0;
    }

    for (let symbolIndex = 0; symbolIndex < symbolCount; symbolIndex++) {
      for (let setIndex = 0; setIndex < setCount; setIndex++) {
        const setPlan = plan.sets[setIndex]!;
        const at = symbolIndex * stride + stateOffset[setIndex]!;
        const width = input.sets[setIndex]!.columnCount;
        if (rebuild[setIndex] === 1) {
          rollingSums.fill(0, at, at + stateColumns + width);
          rollingCounts[symbolIndex * setCount + setIndex] = 0;
          roll(symbolIndex, setIndex, setPlan.start, setPlan.end, 1);
        } else {
          roll(symbolIndex, setIndex, previousStart[setIndex]!, setPlan.start, -1);
          roll(symbolIndex, setIndex, previousEnd[setIndex]!, setPlan.end, 1);
        }
        const groupIndices = input.sets[setIndex]!.groupIndices;
        const n = setPlan.count;
        if (n === 0) {
          for (const g of groupIndices) recordGroup(table, symbolIndex, input.groups[g]!, 0, 0, null, null);
          continue;
        }
        if (rollingCounts[symbolIndex * setCount + setIndex] !== n) {
          // Fitted after the loop, all together: symbols with the same dates share work.
          stats.symbolFallbacks++;
          deferIncomplete(scratch, setIndex, symbolIndex);
          continue;
        }
        const s1 = rollingSums[at]!;
        const s2 = rollingSums[at + 1]!;
        const traffic = rollingSums[at + 2]!;
        const meanDeviation = s1 / n;
        const syy = Math.max(0, s2 - s1 * meanDeviation);
        if (exactSet[setIndex] === 1 || syy <= syyShare * traffic) {
          stats.exactRecomputes++;
          shiftSetResponse(returns, symbolIndex * days, setPlan, scratch.direct);
          recordCompleteSet(input, plan, setIndex, scratch, table, symbolIndex);
          continue;
        }
        const meanY = responseShift[symbolIndex]! + meanDeviation;
        const shifts = columnShifts[setIndex]!;
        for (const g of groupIndices) {
          const group = input.groups[g]!;
          if (n < group.smallestMinimum) {
            recordGroup(table, symbolIndex, group, n, n, null, null);
            continue;
          }
          const summary = plan.summaries[g]!;
          const groupScratch = scratch.direct.groups[g]!;
          const moments = groupScratch.moments;
          moments.observations = n;
          moments.mean = meanY;
          moments.centeredSumOfSquares = syy;
          const ridge = group.ridgeAlpha !== null;
          for (let k = 0; k < group.columns.length; k++) {
            const c = group.setColumnOffset + k;
            if (summary.degenerate[k] === 1) {
              moments.cross[k] = 0;
              continue;
            }
            const cross = rollingSums[at + stateColumns + c]! - (summary.mean[k]! - shifts[c]!) * s1;
            moments.cross[k] = ridge ? cross / summary.scale[k]! : cross;
          }
          solveFit(summary, moments, groupScratch.fit, groupScratch.solve);
          recordGroup(table, symbolIndex, group, n, n, summary, groupScratch.fit);
        }
      }
    }
    for (let setIndex = 0; setIndex < setCount; setIndex++) fitIncompleteSymbols(input, plan, setIndex, scratch, table);
    for (let setIndex = 0; setIndex < setCount; setIndex++) {
      previousStart[setIndex] = plan.sets[setIndex]!.start;
      previousEnd[setIndex] = plan.sets[setIndex]!.end;
    }
    refineResiduals(input, table, (index) => index);
    if (options.onDate) options.onDate(table);
    else results.push(table);
  }
  stats.incompletePaths.sharedPattern = scratch.fitPaths.sharedPattern;
  stats.incompletePaths.downdated = scratch.fitPaths.downdated;
  stats.incompletePaths.perSymbol = scratch.fitPaths.perSymbol;
  return { calculationDates: dates, results, stats };
}
