// From `FactorSpec[]` (data) to the regressions the engine runs. Nothing here knows the
// default factors: a new factor row becomes a new group (or a new ridge column) by itself.
//
// - Each `ols` factor and each `spread` factor is its own univariate regression group.
// - All `ridge` factors form one joint group (they must share α and window).
// - Groups whose inputs have returns on exactly the same calendar days and that use the same
//   window form an *observation set*: within a date, their regressions run on the same
//   observation dates, so one pass over a symbol's returns feeds all of them.
import { FactorEngineError } from "./errors.ts";
import type { FactorDescription } from "./quality.ts";
import type { ReturnPanel } from "./returns.ts";
import type { FactorMethod, FactorSpec } from "./types.ts";

/**
 * How a group regresses: a lens method, or `joint` — the risk lens's OLS on several columns
 * at once (docs/design.md §11; built by risk-model.ts, never from a factor row).
 */
export type GroupMethod = FactorMethod | "joint";

export interface RegressionGroup {
  readonly method: GroupMethod;
  /** Position in the factor list of each column's factor (one column unless ridge). */
  readonly factorIndices: readonly number[];
  /** Regressor series over the calendar (NaN where an input has no return). */
  readonly columns: readonly Float64Array[];
  readonly inputSymbols: readonly string[];
  readonly windowDays: number;
  readonly ridgeAlpha: number | null;
  /** Per column: its factor's minimum observations. */
  readonly minObservations: readonly number[];
  /** The regression runs when at least this many observations exist. */
  readonly smallestMinimum: number;
  readonly setIndex: number;
  /** Offset of this group's columns within its observation set's columns. */
  readonly setColumnOffset: number;
}

export interface ObservationSet {
  readonly windowDays: number;
  /** 1 on the calendar days where every input of the set's groups has a return. */
  readonly available: Uint8Array;
  readonly groupIndices: readonly number[];
  readonly columnCount: number;
}

/** The engine's input: the return panel plus the factor set, validated and compiled. */
export interface FactorEngineInput {
  readonly panel: ReturnPanel;
  readonly factors: readonly FactorSpec[];
  readonly descriptions: readonly FactorDescription[];
  readonly groups: readonly RegressionGroup[];
  readonly sets: readonly ObservationSet[];
  readonly longestWindowDays: number;
}

function invalid(spec: FactorSpec, problem: string): FactorEngineError {
  return new FactorEngineError("invalid_factor_spec", `factor ${spec.key} (id ${spec.id}): ${problem}`, {
    factorKey: spec.key,
  });
}

function requireSymbol(spec: FactorSpec, value: string | null, field: string): string {
  if (typeof value !== "string" || value.length === 0)
    throw invalid(spec, `${field} is required for method ${spec.method}`);
  return value;
}

function validateSpecs(factors: readonly FactorSpec[]): void {
  const keys = new Set<string>();
  const ids = new Set<number>();
  let ridgeReference: FactorSpec | null = null;
  for (const spec of factors) {
    if (keys.has(spec.key)) throw invalid(spec, "duplicate key");
    if (ids.has(spec.id)) throw invalid(spec, "duplicate id");
    keys.add(spec.key);
    ids.add(spec.id);
    if (!Number.isInteger(spec.windowDays) || spec.windowDays < 1)
      throw invalid(spec, `window_days must be a positive integer, got ${spec.windowDays}`);
    if (!Number.isInteger(spec.minObservations) || spec.minObservations < 2) {
      throw invalid(spec, `min_observations must be an integer ≥ 2, got ${spec.minObservations}`);
    }
    if (spec.method === "spread") {
      requireSymbol(spec, spec.longSymbol, "long_symbol");
      requireSymbol(spec, spec.shortSymbol, "short_symbol");
      if (spec.inputSymbol !== null) throw invalid(spec, "a spread has no input_symbol");
    } else {
      requireSymbol(spec, spec.inputSymbol, "input_symbol");
      if (spec.longSymbol !== null || spec.shortSymbol !== null)
        throw invalid(spec, `method ${spec.method} has no long/short symbols`);
    }
    if (spec.method === "ridge") {
      const alpha = spec.ridgeAlpha;
      if (alpha === null || !Number.isFinite(alpha) || alpha < 0)
        throw invalid(spec, `ridge_alpha must be finite and ≥ 0, got ${alpha}`);
      if (ridgeReference === null) {
        ridgeReference = spec;
      } else {
        // One joint regression has one α and one window.
        if (alpha !== ridgeReference.ridgeAlpha) {
          throw invalid(
            spec,
            `ridge_alpha ${alpha} differs from ${ridgeReference.key}'s ${ridgeReference.ridgeAlpha}; ` +
              "all ridge factors share one α",
          );
        }
        if (spec.windowDays !== ridgeReference.windowDays) {
          throw invalid(
            spec,
            `window_days ${spec.windowDays} differs from ${ridgeReference.key}'s ${ridgeReference.windowDays}; ` +
              "all ridge factors share one window",
          );
        }
      }
    } else if (spec.ridgeAlpha !== null) {
      throw invalid(spec, `ridge_alpha is only for ridge factors, got ${spec.ridgeAlpha}`);
    }
  }
}

export function symbolSeries(panel: ReturnPanel, symbol: string): Float64Array {
  const days = panel.calendar.length;
  const s = panel.symbolIndex.get(symbol);
  // An input the panel lacks simply has no returns: its factor reports `no_factor_data`.
  if (s === undefined) return new Float64Array(days).fill(NaN);
  return panel.returns.subarray(s * days, (s + 1) * days);
}

function availability(columns: readonly Float64Array[], days: number): Uint8Array {
  const available = new Uint8Array(days);
  for (let t = 0; t < days; t++) {
    let present = 1;
    for (const column of columns) if (Number.isNaN(column[t])) present = 0;
    available[t] = present;
  }
  return available;
}

function sameMask(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let t = 0; t < a.length; t++) if (a[t] !== b[t]) return false;
  return true;
}

/** A group before it is placed in an observation set. */
export interface DraftGroup {
  method: GroupMethod;
  factorIndices: number[];
  columns: Float64Array[];
  inputSymbols: string[];
  windowDays: number;
  ridgeAlpha: number | null;
  minObservations: number[];
}

/** Validates the factor set against the panel and compiles it; throws `invalid_factor_spec`. */
export function createFactorEngineInput(panel: ReturnPanel, factors: readonly FactorSpec[]): FactorEngineInput {
  validateSpecs(factors);
  const days = panel.calendar.length;
  const drafts: DraftGroup[] = [];
  const descriptions: FactorDescription[] = [];
  let ridgeDraft: DraftGroup | null = null;
  factors.forEach((spec, f) => {
    if (spec.method === "spread") {
      const long = spec.longSymbol!;
      const short = spec.shortSymbol!;
      const longSeries = symbolSeries(panel, long);
      const shortSeries = symbolSeries(panel, short);
      // s_t = r_long,t − r_short,t (NaN when either is missing).
      const spread = new Float64Array(days);
      for (let t = 0; t < days; t++) spread[t] = longSeries[t]! - shortSeries[t]!;
      drafts.push({
        method: "spread",
        factorIndices: [f],
        columns: [spread],
        inputSymbols: [long, short],
        windowDays: spec.windowDays,
        ridgeAlpha: null,
        minObservations: [spec.minObservations],
      });
      descriptions.push({ spec, regressorLabel: `${long} − ${short}`, inputSymbols: [long, short] });
    } else if (spec.method === "ols") {
      const input = spec.inputSymbol!;
      drafts.push({
        method: "ols",
        factorIndices: [f],
        columns: [symbolSeries(panel, input)],
        inputSymbols: [input],
        windowDays: spec.windowDays,
        ridgeAlpha: null,
        minObservations: [spec.minObservations],
      });
      descriptions.push({ spec, regressorLabel: input, inputSymbols: [input] });
    } else {
      const input = spec.inputSymbol!;
      if (ridgeDraft === null) {
        ridgeDraft = {
          method: "ridge",
          factorIndices: [],
          columns: [],
          inputSymbols: [],
          windowDays: spec.windowDays,
          ridgeAlpha: spec.ridgeAlpha,
          minObservations: [],
        };
        drafts.push(ridgeDraft);
      }
      ridgeDraft.factorIndices.push(f);
      ridgeDraft.columns.push(symbolSeries(panel, input));
      ridgeDraft.inputSymbols.push(input);
      ridgeDraft.minObservations.push(spec.minObservations);
      // The ridge inputs list is shared (filled as ridge factors are met).
      descriptions.push({ spec, regressorLabel: input, inputSymbols: ridgeDraft.inputSymbols });
    }
  });

  return compileGroups(panel, factors, descriptions, drafts);
}

/**
 * Each factor's daily regressor series over the panel's calendar (NaN where an input has no
 * return): r_input for OLS and ridge factors, r_long − r_short for spreads — the lens factors'
 * returns the batch stores in `factor_returns`.
 */
export function lensFactorReturnSeries(input: FactorEngineInput): { keys: string[]; series: Float64Array[] } {
  const series: Float64Array[] = new Array<Float64Array>(input.factors.length);
  for (const group of input.groups)
    group.factorIndices.forEach((f, k) => {
      series[f] = group.columns[k]!;
    });
  return { keys: input.factors.map((factor) => factor.key), series: Array.from(series, (column) => column) };
}

/** Places the groups in observation sets (same window, inputs with returns on the same days). */
export function compileGroups(
  panel: ReturnPanel,
  factors: readonly FactorSpec[],
  descriptions: readonly FactorDescription[],
  drafts: readonly DraftGroup[],
): FactorEngineInput {
  const days = panel.calendar.length;
  const sets: { windowDays: number; available: Uint8Array; groupIndices: number[]; columnCount: number }[] = [];
  const groups: RegressionGroup[] = drafts.map((draft, g) => {
    const available = availability(draft.columns, days);
    let setIndex = sets.findIndex((set) => set.windowDays === draft.windowDays && sameMask(set.available, available));
    if (setIndex < 0) {
      setIndex = sets.length;
      sets.push({ windowDays: draft.windowDays, available, groupIndices: [], columnCount: 0 });
    }
    const set = sets[setIndex]!;
    const setColumnOffset = set.columnCount;
    set.groupIndices.push(g);
    set.columnCount += draft.columns.length;
    return {
      method: draft.method,
      factorIndices: draft.factorIndices,
      columns: draft.columns,
      inputSymbols: draft.inputSymbols,
      windowDays: draft.windowDays,
      ridgeAlpha: draft.ridgeAlpha,
      minObservations: draft.minObservations,
      smallestMinimum: Math.min(...draft.minObservations),
      setIndex,
      setColumnOffset,
    };
  });
  return {
    panel,
    factors: [...factors],
    descriptions,
    groups,
    sets,
    longestWindowDays: factors.reduce((longest, spec) => Math.max(longest, spec.windowDays), 0),
  };
}
