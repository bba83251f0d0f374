// The heatmap's numbers, as pure functions of the exposures the API returned: which series a
// view shows, the window of dates the slider selects, the portfolios-as-columns matrix, a live
// `exposures.updated` message folded into the loaded series at once, then the route's numbers of
// that date (standard errors included) folded in when they arrive (`DateReads` reads them), and
// each cell's standard error: whether it can be told from zero, and the words that say so; the
// views a benchmark choice allows and the words naming each column's benchmark.
// Also the slider's date as the URL carries it, and the exports' titles and file names.
import type { Exposures, ExposureSeries } from "../api/types.ts";
import { isDistinguishable } from "../../../worker/factors/exposure-uncertainty.ts";
import type { ExposuresUpdated } from "../../../worker/realtime/messages.ts";

export type HeatmapView = "portfolio" | "benchmark" | "active";

// The benchmark picker's choice: "" each portfolio's own, "none", or a symbol for every portfolio shown.

/** Why the Benchmark and Active views are off: the page has no benchmark ("none"). */
export const noBenchmarkReason = "choose a benchmark to see benchmark and active exposures";

/** Whether a view has numbers with the page's benchmark: Benchmark and Active need one. */
export const viewAvailable = (view: HeatmapView, benchmark: string): boolean =>
  view === "portfolio" || benchmark !== "none";

/** The view shown: the one asked for (URL or buttons), or Portfolio when it needs a benchmark and there is none. */
export const shownView = (asked: HeatmapView, benchmark: string): HeatmapView =>
  viewAvailable(asked, benchmark) ? asked : "portfolio";

/**
 * The sentence under the controls without a benchmark (null with one): the views it turns off,
 * and that the Portfolio view is shown when the one asked for (URL, or None picked while in it) needs one.
 */
export function noBenchmarkNote(asked: HeatmapView, benchmark: string): string | null {
  if (viewAvailable("active", benchmark)) return null;
  return viewAvailable(asked, benchmark)
    ? `No benchmark chosen: ${noBenchmarkReason}.`
    : `No benchmark chosen, so portfolio exposures are shown: ${noBenchmarkReason}.`;
}

/**
 * The benchmark a portfolio's numbers are against: the one the API served (`served`, once loaded;
 * GET /portfolios/:id/exposures applies an explicit benchmark to every portfolio), else the choice,
 * else the portfolio's own. Null: none.
 */
export function columnBenchmark(choice: string, own: string | null, served: string | null | undefined): string | null {
  if (served !== undefined) return served;
  return choice === "none" ? null : choice || own;
}

/** A portfolio column's title: its name and the benchmark its numbers are against. */
export const portfolioColumnTitle = (name: string, benchmark: string | null): string =>
  `${name} · ${benchmark ? `vs ${benchmark}` : "no benchmark"}`;

/**
 * The heatmap's benchmark in words (subtitle, heading, PNG title). Dates as columns: the
 * portfolio's `benchmark`. Portfolios as columns: each against its own (the picker's default),
 * or every one against the chosen symbol.
 */
export function benchmarkPhrase(choice: string, columns: "dates" | "portfolios", benchmark: string | null): string {
  if (choice === "none") return "no benchmark";
  if (columns === "portfolios") return choice ? `each against ${choice}` : "each against its own benchmark";
  return benchmark ? `benchmark ${benchmark}` : "no benchmark";
}

export function seriesFor(factor: ExposureSeries, view: HeatmapView): (number | null)[] {
  return view === "portfolio" ? factor.portfolio : view === "benchmark" ? factor.benchmark : factor.active;
}

/** Why a standard error is missing, as the API says (worker/api/analytics.ts `exposureStandardErrorReasons`). */
export type StandardErrorReason = NonNullable<ExposureSeries["standard_error_reason"][number]>;

/**
 * A date a live update changed, whose numbers are being read again from the exposures route
 * (`failed`: that read failed; it is tried again on the next update or reconnect). `seq` is the
 * update's: only the read for the date's latest update is folded in.
 */
export interface PendingDate {
  seq: number;
  failed: boolean;
}

/** Loaded exposures, with the live-updated dates whose route numbers have not arrived yet. */
export type LiveExposures = Exposures & { pending?: Readonly<Record<string, PendingDate>> };

/**
 * Why a cell's standard error is missing: the API's reason, or, after a live update changed it,
 * `live_loading` (the date's numbers are being read) or `live_unavailable` (that read failed).
 */
export type UncertaintyReason = StandardErrorReason | "live_loading" | "live_unavailable";

/** A cell's standard error (docs/design.md §11): its value, whether the exposure is told from zero, or why unknown. */
export interface CellUncertainty {
  standardError: number | null;
  /** |exposure| ≥ 2 SE (and ≠ 0); false: not distinguishable from zero; null when the SE is. */
  distinguishable: boolean | null;
  /** Why `standardError` is null (null when it is not). */
  reason: UncertaintyReason | null;
}

/**
 * The view's standard error, distinguishable flag and reason on the `index`-th date; `pending`
 * is that date's live state (a standard error without a reason is one a live update made unknown).
 */
export function uncertaintyFor(
  factor: ExposureSeries,
  view: HeatmapView,
  index: number,
  pending?: PendingDate,
): CellUncertainty {
  const [standardError, distinguishable, reason] =
    view === "portfolio"
      ? [factor.standard_error, factor.distinguishable, factor.standard_error_reason]
      : view === "benchmark"
        ? [factor.benchmark_standard_error, factor.benchmark_distinguishable, factor.benchmark_standard_error_reason]
        : [factor.active_standard_error, factor.active_distinguishable, factor.active_standard_error_reason];
  const value = standardError[index] ?? null;
  return {
    standardError: value,
    distinguishable: distinguishable[index] ?? null,
    reason: reason[index] ?? (value === null ? (pending?.failed ? "live_unavailable" : "live_loading") : null),
  };
}

/** The cell is marked: its exposure is not distinguishable from zero (|exposure| < 2 SE). */
export const isIndistinguishable = (uncertainty: CellUncertainty | null | undefined): boolean =>
  uncertainty?.distinguishable === false;

/** The legend entry of a marked cell. */
export const indistinguishableLegend =
  "|exposure| < 2 SE: not distinguishable from zero (errors taken as independent across symbols)";

const reasonTexts: Record<UncertaintyReason, string> = {
  no_exposure: "no exposure on this date",
  weights_unavailable: "equity ≤ 0, so weights (and the exposure) are undefined",
  standard_error_not_computed: "a beta used has no stored standard error (computed before standard errors existed)",
  not_computed: "not computed for this date yet (stored before standard errors were; a batch rerun computes it)",
  live_loading: "the exposure changed live; loading its standard error",
  live_unavailable:
    "the exposure changed live and its standard error could not load (tried again on the next update or reconnect)",
};

/**
 * What a cell's tooltip and screen-reader label say about its standard error: `value` the short
 * form ("±0.120 (2 SE)", "loading…" while a live-updated date is read, or "unavailable"), `text`
 * the sentence. Null for a missing cell.
 */
export function uncertaintyLabel(
  value: number | null,
  uncertainty: CellUncertainty | null,
): { value: string; text: string; indistinguishable: boolean } | null {
  if (value === null || uncertainty === null) return null;
  const { standardError, distinguishable, reason } = uncertainty;
  if (standardError === null) {
    const why = reason ?? "live_loading";
    return {
      value: why === "live_loading" ? "loading…" : "unavailable",
      text: `Standard error unavailable: ${reasonTexts[why]}.`,
      indistinguishable: false,
    };
  }
  // A standard error is ≥ 0: no sign to print, the exposures' three decimals.
  const band = `±${(2 * standardError).toFixed(3)} (2 SE)`;
  const independence = "errors taken as independent across symbols";
  if (distinguishable === false)
    return {
      value: band,
      text: `Not distinguishable from zero: |exposure| < 2 SE, ${band}; ${independence}.`,
      indistinguishable: true,
    };
  return {
    value: band,
    text:
      distinguishable === true
        ? `Distinguishable from zero: |exposure| ≥ 2 SE, ${band}; ${independence}.`
        : `Standard error: ${band}; ${independence}.`,
    indistinguishable: false,
  };
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
  /** Each cell's standard error (null for a missing cell), aligned with `values`. */
  uncertainty: (CellUncertainty | null)[][];
}

/** Rows = factors, columns = the window's dates; x is the date's index in the loaded range. */
export function datesMatrix(exposures: LiveExposures, view: HeatmapView, range: [number, number]): Matrix {
  const [start, end] = range;
  // The window's loaded dates (a range from windowRange over these dates never runs past them).
  const columnKeys = exposures.dates.slice(start, end + 1);
  const xs = columnKeys.map((_, offset) => start + offset);
  const values = exposures.factors.map((factor) => xs.map((i) => seriesFor(factor, view)[i] ?? null));
  return {
    xs,
    columnKeys,
    values,
    uncertainty: exposures.factors.map((factor, row) =>
      xs.map((i, column) =>
        values[row]?.[column] === null
          ? null
          : uncertaintyFor(factor, view, i, exposures.pending?.[exposures.dates[i] ?? ""]),
      ),
    ),
  };
}

/** The cells to mark on the heatmap: true where the exposure is not distinguishable from zero. */
export function indistinguishableCells(matrix: Pick<Matrix, "uncertainty">): boolean[][] {
  return matrix.uncertainty.map((row) => row.map(isIndistinguishable));
}

/**
 * Rows = factors (in `factorKeys` order), columns = portfolios, on `date`. A portfolio without
 * that date, or without the factor, is missing (null), never 0.
 */
export function portfoliosMatrix(
  byPortfolio: readonly { id: string; exposures: LiveExposures | undefined }[],
  factorKeys: readonly string[],
  view: HeatmapView,
  date: string,
): Matrix {
  const cells = factorKeys.map((key) =>
    byPortfolio.map(({ exposures }) => {
      if (!exposures) return null;
      const index = exposures.dates.indexOf(date);
      const factor = exposures.factors.find((candidate) => candidate.key === key);
      const value = index < 0 || !factor ? null : (seriesFor(factor, view)[index] ?? null);
      return value === null || !factor
        ? null
        : { value, uncertainty: uncertaintyFor(factor, view, index, exposures.pending?.[date]) };
    }),
  );
  return {
    xs: byPortfolio.map((_, i) => i),
    columnKeys: byPortfolio.map((entry) => entry.id),
    values: cells.map((row) => row.map((cell) => cell?.value ?? null)),
    uncertainty: cells.map((row) => row.map((cell) => cell?.uncertainty ?? null)),
  };
}

/** `list` with its `index`-th entry replaced. */
const replaceAt = <T>(list: readonly T[], index: number, value: T): T[] =>
  list.map((old, i) => (i === index ? value : old));

/**
 * Folds a live update into loaded exposures at once, and marks its date pending: the caller reads
 * the date again from the exposures route (`DateReads`) and folds that in (`foldDateReads`).
 * Returns the new object, or null when the update cannot be applied in place (a date the range
 * does not hold): the caller refetches then.
 *
 * The standard errors: the message's portfolio standard error (the stored number, so exactly
 * the route's) is folded in with whether it tells the exposure from zero; an active standard
 * error needs the benchmark's and the portfolio's weight in it, so where the exposure or its
 * standard error changed it is unknown (`live_loading`) until the date's read, never the old
 * number beside the new exposure. A message without a standard error (stored before messages
 * had one) leaves an unchanged exposure's as they were and makes a changed one's unknown.
 */
export function applyUpdate(exposures: LiveExposures, update: ExposuresUpdated): LiveExposures | null {
  if (update.portfolio_id !== exposures.portfolio_id) return exposures;
  const index = exposures.dates.indexOf(update.date);
  if (index < 0) return null;
  const byKey = new Map(update.exposures.map((value) => [value.factor_key, value]));
  const replace = <T>(list: readonly T[], value: T): T[] => replaceAt(list, index, value);
  return {
    ...exposures,
    pending: { ...exposures.pending, [update.date]: { seq: update.seq, failed: false } },
    equity: replace(exposures.equity, update.equity),
    factors: exposures.factors.map((factor) => {
      const value = byKey.get(factor.key);
      if (!value) return factor;
      const benchmark = factor.benchmark[index] ?? null;
      const standardError = value.standard_error;
      const unchanged =
        value.exposure === (factor.portfolio[index] ?? null) &&
        (standardError === undefined || standardError === (factor.standard_error[index] ?? null));
      const errors = unchanged
        ? {}
        : {
            standard_error: replace(factor.standard_error, standardError ?? null),
            // A null standard error's reason is the route's to say (the date's read brings it).
            standard_error_reason: replace(factor.standard_error_reason, null),
            distinguishable: replace(
              factor.distinguishable,
              value.exposure === null || standardError === undefined || standardError === null
                ? null
                : isDistinguishable(value.exposure, standardError),
            ),
            active_standard_error: replace(factor.active_standard_error, null),
            active_standard_error_reason: replace(factor.active_standard_error_reason, null),
            active_distinguishable: replace(factor.active_distinguishable, null),
          };
      return {
        ...factor,
        ...errors,
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

/** The dates of a read (date → the `seq` of the update it was asked for). */
export type DateRead = ReadonlyMap<string, number>;

/**
 * Folds the exposures route's answer for live-updated dates (`answer`, a range covering the
 * read's dates; null: the read failed) into loaded exposures. A date still pending for the same
 * update gets every series of the route on that date (its standard errors and reasons in all
 * three views, and the counts and benchmark the message does not carry) and is no longer pending;
 * one the answer lacks, or any date of a failed read, is marked failed. A date updated again
 * since (another `seq`: its own read follows), or no longer pending (a full load replaced the
 * exposures), is left alone: a stale read never overwrites newer numbers.
 */
export function foldDateReads(exposures: LiveExposures, read: DateRead, answer: Exposures | null): LiveExposures {
  const pending = { ...exposures.pending };
  let factors = exposures.factors;
  let equity = exposures.equity;
  let changed = false;
  for (const [date, seq] of read) {
    if (pending[date]?.seq !== seq) continue;
    changed = true;
    const index = exposures.dates.indexOf(date);
    if (index < 0) {
      delete pending[date];
      continue;
    }
    const from = answer ? answer.dates.indexOf(date) : -1;
    const answered = factors.map((factor) => answer?.factors.find((candidate) => candidate.key === factor.key));
    if (from < 0 || answered.some((factor) => factor === undefined)) {
      pending[date] = { seq, failed: true };
      continue;
    }
    delete pending[date];
    equity = replaceAt(equity, index, answer?.equity[from] ?? null);
    factors = factors.map((factor, row) => foldSeries(factor, index, answered[row] ?? factor, from));
  }
  if (!changed) return exposures;
  return { ...exposures, equity, factors, pending };
}

/** `factor` with every series' `index`-th entry replaced by `source`'s `from`-th (key and name kept). */
function foldSeries(factor: ExposureSeries, index: number, source: ExposureSeries, from: number): ExposureSeries {
  const folded: Record<string, unknown> = { ...factor };
  for (const [name, series] of Object.entries(factor)) {
    const replacement: unknown = (source as Record<string, unknown>)[name];
    if (Array.isArray(series) && Array.isArray(replacement))
      folded[name] = replaceAt(series as unknown[], index, (replacement[from] as unknown) ?? null);
  }
  return folded as unknown as ExposureSeries;
}

/**
 * The failed dates of loaded exposures, to read again (on the next update or a reconnect), and
 * the exposures with those dates loading again.
 */
export function retryFailedReads(exposures: LiveExposures): { exposures: LiveExposures; read: DateRead } {
  const failed = Object.entries(exposures.pending ?? {}).filter(([, state]) => state.failed);
  if (failed.length === 0) return { exposures, read: new Map() };
  const pending = { ...exposures.pending };
  for (const [date, state] of failed) pending[date] = { seq: state.seq, failed: false };
  return { exposures: { ...exposures, pending }, read: new Map(failed.map(([date, state]) => [date, state.seq])) };
}

/**
 * Reads live-updated dates from the exposures route, one read per portfolio at a time: dates
 * asked meanwhile wait and go together in the next read (a history run publishing dates in
 * quick succession costs a read per round trip, not one per date, and none is starved). A read
 * whose every date was asked again (updated again) is cancelled for the new one. `settle` gets
 * each read's dates and answer (null: failed), never a cancelled read's.
 */
export class DateReads {
  readonly #read: (portfolioId: string, dates: readonly string[], signal: AbortSignal) => Promise<Exposures>;
  readonly #settle: (portfolioId: string, read: DateRead, answer: Exposures | null) => void;
  readonly #inFlight = new Map<string, { read: DateRead; controller: AbortController }>();
  readonly #queued = new Map<string, Map<string, number>>();

  constructor(
    read: (portfolioId: string, dates: readonly string[], signal: AbortSignal) => Promise<Exposures>,
    settle: (portfolioId: string, read: DateRead, answer: Exposures | null) => void,
  ) {
    this.#read = read;
    this.#settle = settle;
  }

  /** Reads the portfolio's dates (date → update `seq`): at once, or after the read in flight. */
  request(portfolioId: string, dates: DateRead): void {
    if (dates.size === 0) return;
    const queue = this.#queued.get(portfolioId) ?? new Map<string, number>();
    for (const [date, seq] of dates) queue.set(date, seq);
    this.#queued.set(portfolioId, queue);
    const current = this.#inFlight.get(portfolioId);
    if (current && [...current.read.keys()].every((date) => queue.has(date))) {
      current.controller.abort();
      this.#inFlight.delete(portfolioId);
    }
    if (!this.#inFlight.has(portfolioId)) this.#start(portfolioId);
  }

  /** Cancels every read and forgets the queued dates (the page's portfolios or benchmark changed, or it closed). */
  cancel(): void {
    for (const { controller } of this.#inFlight.values()) controller.abort();
    this.#inFlight.clear();
    this.#queued.clear();
  }

  #start(portfolioId: string): void {
    const read = this.#queued.get(portfolioId);
    if (!read || read.size === 0) return;
    this.#queued.delete(portfolioId);
    const controller = new AbortController();
    this.#inFlight.set(portfolioId, { read, controller });
    const dates = [...read.keys()].sort();
    let promise: Promise<Exposures>;
    try {
      promise = this.#read(portfolioId, dates, controller.signal);
    } catch (error) {
      promise = Promise.reject(error);
    }
    void promise
      .then(
        (answer) => answer,
        () => null,
      )
      .then((answer) => {
        if (controller.signal.aborted) return;
        this.#inFlight.delete(portfolioId);
        this.#settle(portfolioId, read, answer);
        this.#start(portfolioId);
      });
  }
}

/** Every finite value of a view over the whole loaded range: the colour scale's domain. */
export function viewValues(exposures: readonly Exposures[], view: HeatmapView): number[] {
  const values: number[] = [];
  for (const entry of exposures)
    for (const factor of entry.factors)
      for (const value of seriesFor(factor, view)) if (value !== null && Number.isFinite(value)) values.push(value);
  return values;
}

// ---- the slider's date in the URL (`?date=`) ------------------------------------------------

/** The slider at the latest date: a batch adding a date moves the window with it. */
export const followLatest = Number.MAX_SAFE_INTEGER;

const isoDate = /^\d{4}-\d{2}-\d{2}$/;
const dayNumber = (date: string): number => Date.parse(`${date}T00:00:00Z`) / 86_400_000;

/**
 * The slider's position from the URL's `date` (the window's last date, or the date shown with
 * portfolios as columns) over the loaded `dates` (sorted): absent, follow the latest; a loaded
 * date, its index; any other date, the nearest loaded one (the earlier of two as near) with a
 * note saying so; not a date, follow the latest with a note. No note before dates are loaded.
 */
export function pinnedEnd(dates: readonly string[], asked: string | undefined): { end: number; note: string | null } {
  if (asked === undefined || asked === "") return { end: followLatest, note: null };
  if (!isoDate.test(asked) || Number.isNaN(dayNumber(asked)))
    return { end: followLatest, note: `"${asked}" in the address is not a date (YYYY-MM-DD): showing the latest.` };
  if (dates.length === 0) return { end: followLatest, note: null };
  const exact = dates.indexOf(asked);
  if (exact >= 0) return { end: exact, note: null };
  const target = dayNumber(asked);
  let nearest = 0;
  for (const [index, date] of dates.entries())
    if (Math.abs(dayNumber(date) - target) < Math.abs(dayNumber(dates[nearest] ?? date) - target)) nearest = index;
  return {
    end: nearest,
    note: `${asked} has no computed exposures: showing the nearest loaded date, ${dates[nearest]}.`,
  };
}

/** What the URL's `date` becomes when the slider moves to `index`: null (removed) at the latest date. */
export function dateParam(dates: readonly string[], index: number): string | null {
  if (index >= dates.length - 1) return null;
  return dates[Math.max(0, index)] ?? null;
}

// ---- export titles and file names -------------------------------------------------------------

/**
 * The PNG's title (and the printed page's): subject, view with its benchmark, dates —
 * "Growth Tilt — active vs SPY — 2026-10-01 to 2026-11-30". `benchmark` is the dates' portfolio's
 * (null: none); with portfolios as columns `choice` says whose ("" each one's own).
 */
export function heatmapExportTitle(input: {
  subject: string;
  view: HeatmapView;
  columns: "dates" | "portfolios";
  benchmark: string | null;
  choice: string;
  from: string;
  to: string;
}): string {
  const against =
    input.choice === "none"
      ? null
      : input.columns === "portfolios"
        ? input.choice || "each one's own benchmark"
        : input.benchmark;
  const view =
    input.view === "active"
      ? `active vs ${against ?? "no benchmark"}`
      : input.view === "benchmark"
        ? `benchmark exposures (${against ?? "no benchmark"})`
        : `portfolio exposures (${against ? `benchmark ${against}` : "no benchmark"})`;
  const dates = !input.from || input.from === input.to ? input.to : `${input.from} to ${input.to}`;
  return [input.subject, view, dates].filter(Boolean).join(" — ");
}

/** A name as a file name part: lower case, letters and digits joined by "-" ("Growth Tilt" → "growth-tilt"). */
export function fileSlug(name: string, fallback: string): string {
  const slug = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "") // the accents NFKD split off: "é" → "e"
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 60);
  return slug || fallback;
}

/** "heatmap-growth-tilt-active-2026-10-01-2026-11-30-wide.csv": subject, view, dates, then what it is. */
export function heatmapFileName(subject: string, view: HeatmapView, dates: readonly string[], suffix: string): string {
  const first = dates[0] ?? "";
  const last = dates[dates.length - 1] ?? "";
  const span = first === last ? [last] : [first, last];
  return `heatmap-${[subject, view, ...span].filter(Boolean).join("-")}${suffix}`;
}
