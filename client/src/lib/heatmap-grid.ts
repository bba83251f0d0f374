// The heatmap's numbers, as pure functions of the exposures the API returned: which series a
// view shows, the window of dates the slider selects, the portfolios-as-columns matrix, and a
// live `exposures.updated` message folded into the loaded series (no refetch).
import type { Exposures, ExposureSeries } from "../api/types.ts";
import type { ExposuresUpdated } from "../../../worker/realtime/messages.ts";

export type HeatmapView = "portfolio" | "benchmark" | "active";

export function seriesFor(factor: ExposureSeries, view: HeatmapView): (number | null)[] {
  return view === "portfolio" ? factor.portfolio : view === "benchmark" ? factor.benchmark : factor.active;
}

/** The [start, end] indices (inclusive) of a `size`-date window ending at `end`. */
export function windowRange(count: number, size: number, end: number): [number, number] {
  if (count === 0) return [0, -1];
  const last = Math.min(Math.max(end, 0), count - 1);
  return [Math.max(0, last - size + 1), last];
}

/** The slider's next position while playing: one date on, from the first full window after the end. */
export function nextPlayEnd(count: number, size: number, end: number): number {
  const first = Math.min(size, count) - 1;
  return end >= count - 1 ? first : Math.max(first, end + 1);
}

export interface Matrix {
  xs: number[];
  columnKeys: string[];
  values: (number | null)[][];
}

/** Rows = factors, columns = the window's dates; x is the date's index in the loaded range. */
export function datesMatrix(exposures: Exposures, view: HeatmapView, range: [number, number]): Matrix {
  const [start, end] = range;
  // The window's loaded dates (a range from windowRange over these dates never runs past them).
  const columnKeys = exposures.dates.slice(start, end + 1);
  const xs = columnKeys.map((_, offset) => start + offset);
  return {
    xs,
    columnKeys,
    values: exposures.factors.map((factor) => xs.map((i) => seriesFor(factor, view)[i] ?? null)),
  };
}

/**
 * Rows = factors (in `factorKeys` order), columns = portfolios, on `date`. A portfolio without
 * that date, or without the factor, is missing (null), never 0.
 */
export function portfoliosMatrix(
  byPortfolio: readonly { id: string; exposures: Exposures | undefined }[],
  factorKeys: readonly string[],
  view: HeatmapView,
  date: string,
): Matrix {
  return {
    xs: byPortfolio.map((_, i) => i),
    columnKeys: byPortfolio.map((entry) => entry.id),
    values: factorKeys.map((key) =>
      byPortfolio.map(({ exposures }) => {
        if (!exposures) return null;
        const index = exposures.dates.indexOf(date);
        const factor = exposures.factors.find((candidate) => candidate.key === key);
        return index < 0 || !factor ? null : (seriesFor(factor, view)[index] ?? null);
      }),
    ),
  };
}

/**
 * Folds a live update into loaded exposures. Returns the new object, or null when the update
 * cannot be applied in place (a date the range does not hold): the caller refetches then.
 */
export function applyUpdate(exposures: Exposures, update: ExposuresUpdated): Exposures | null {
  if (update.portfolio_id !== exposures.portfolio_id) return exposures;
  const index = exposures.dates.indexOf(update.date);
  if (index < 0) return null;
  const byKey = new Map(update.exposures.map((value) => [value.factor_key, value]));
  const replace = <T>(list: T[], value: T): T[] => list.map((old, i) => (i === index ? value : old));
  return {
    ...exposures,
    equity: replace(exposures.equity, update.equity),
    factors: exposures.factors.map((factor) => {
      const value = byKey.get(factor.key);
      if (!value) return factor;
      const benchmark = factor.benchmark[index] ?? null;
      return {
        ...factor,
        portfolio: replace(factor.portfolio, value.exposure),
        exposure_dollar: replace(factor.exposure_dollar, value.exposure_dollar),
        coverage: replace(factor.coverage, value.coverage),
        // A message stored before the hub sent R² has none: keep the loaded number then.
        r_squared: value.r_squared === undefined ? factor.r_squared : replace(factor.r_squared, value.r_squared),
        active: replace(
          factor.active,
          value.exposure === null || benchmark === null ? null : value.exposure - benchmark,
        ),
      };
    }),
  };
}

/** Every finite value of a view over the whole loaded range: the colour scale's domain. */
export function viewValues(exposures: readonly Exposures[], view: HeatmapView): number[] {
  const values: number[] = [];
  for (const entry of exposures)
    for (const factor of entry.factors)
      for (const value of seriesFor(factor, view)) if (value !== null && Number.isFinite(value)) values.push(value);
  return values;
}
