// The home page: a portfolio's factor exposures as a heatmap (factors × dates, or factors ×
// portfolios on one date), portfolio / benchmark / active, a time slider that plays the window
// through the loaded range, a drill-down to the stocks behind any cell, PNG and CSV export,
// and exposure lines in sync with the heatmap. Live updates fold into the loaded numbers at once,
// then the updated date is read again from the route for its standard errors. A cell whose
// exposure cannot be told from zero (|exposure| < 2 standard errors) is dotted, and its tooltip
// and labels give the 2 SE band or why there is no standard error. A cell whose number breaches
// one of its portfolio's limits is outlined, and its labels name the limit.
// The page's choices live in the URL (?portfolio=&view=&columns=&benchmark=&window=&date=&scale=); the
// slider follows the latest date unless `date` pins it (lib/heatmap-grid.ts `pinnedEnd`). A
// portfolio with no computed date says what computes it (components/history-progress.tsx
// `FirstStart`), and a load that failed runs again when the live connection comes back.
import type { JSX } from "preact";
import { useLocation } from "preact-iso";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, unwrap } from "../api/client.ts";
import type { Factor, Portfolio } from "../api/types.ts";
import { DrillDownPanel, type DrillDownTarget } from "../components/drill-down.tsx";
import { ExposureLines } from "../components/exposure-lines.tsx";
import { BreachLegend, HeatmapView, type PngLegends, UncertaintyLegend } from "../components/heatmap-view.tsx";
import { Card, Empty, ErrorNotice, Loading, Page, Segmented, SelectField, download } from "../components/ui.tsx";
import { type CsvLayout, heatmapCsvHeader, heatmapExportCsv } from "../lib/csv.ts";
import { FirstStart, HistoryProgress, useRunProgress } from "../components/history-progress.tsx";
import { LeftOutNote } from "../components/left-out.tsx";
import { coverageLabel, type CoverageLabel } from "../lib/data-quality.ts";
import { formatDateTick, formatDollars, formatExposure, formatPercent } from "../lib/format.ts";
import {
  applyUpdate,
  benchmarkPhrase,
  columnBenchmark,
  DateReads,
  dateParam,
  datesMatrix,
  fileSlug,
  foldDateReads,
  heatmapExportTitle,
  heatmapFileName,
  indistinguishableCells,
  indistinguishableLegend,
  nextPlayEnd,
  noBenchmarkNote,
  noBenchmarkReason,
  pinnedEnd,
  portfolioColumnTitle,
  portfoliosMatrix,
  retryFailedReads,
  shownView,
  uncertaintyLabel,
  viewAvailable,
  seriesFor,
  windowRange,
  type HeatmapView as View,
  type LiveExposures,
} from "../lib/heatmap-grid.ts";
import { type BreachColumn, breachLegend, heatmapBreaches, isOwnBenchmark } from "../lib/limit-view.ts";
import { factorMeaning } from "../lib/factor-meaning.ts";
import { fitForPrint } from "../lib/print-fit.ts";
import { parseScaleMode, rowScales } from "../lib/scale.ts";
import { connectionState, onLive, subscribePortfolio } from "../state/live.ts";
import { useAsync, useRetryOnReconnect } from "../state/use-async.ts";
import "./exposures.css";

type Columns = "dates" | "portfolios";

const views: readonly { value: View; label: string }[] = [
  { value: "portfolio", label: "Portfolio" },
  { value: "benchmark", label: "Benchmark" },
  { value: "active", label: "Active" },
];
const columnModes: readonly { value: Columns; label: string }[] = [
  { value: "dates", label: "Dates" },
  { value: "portfolios", label: "Portfolios" },
];
const windowSizes = ["20", "60", "120"] as const;
const syncKey = "exposures";
const playIntervalMs = 400;
/** Live news that needs a refetch (new dates, counts) refetches at most this often. */
const reloadGapMs = 1_000;
/** The limits are read again this long after the portfolio's live news (news meanwhile joins that read). */
const limitsSettleMs = 500;

function useQueryState(): [Record<string, string>, (changes: Record<string, string | null>) => void] {
  const location = useLocation();
  const set = (changes: Record<string, string | null>): void => {
    const query = new URLSearchParams(location.query);
    for (const [key, value] of Object.entries(changes)) {
      if (value === null || value === "") query.delete(key);
      else query.set(key, value);
    }
    const text = query.toString();
    location.route(`${location.path}${text ? `?${text}` : ""}`, true);
  };
  return [location.query, set];
}

/** Benchmarks to compare with: "none", each portfolio's, and the factor ETFs. */
function benchmarkOptions(portfolios: readonly Portfolio[], factors: readonly Factor[]): string[] {
  const symbols = new Set<string>();
  for (const portfolio of portfolios) if (portfolio.benchmark_symbol) symbols.add(portfolio.benchmark_symbol);
  for (const factor of factors)
    for (const symbol of [factor.input_symbol, factor.long_symbol, factor.short_symbol])
      if (symbol) symbols.add(symbol);
  return [...symbols].sort();
}

export function ExposuresPage(): JSX.Element {
  const [query, setQuery] = useQueryState();
  const basics = useAsync(async () => {
    const [portfolios, factors] = await Promise.all([
      unwrap(api.portfolios.$get({ query: {} })),
      unwrap(api.factors.$get()),
    ]);
    return { portfolios: portfolios.portfolios, factors: factors.factors };
  }, []);

  if (basics.status === "error" && !basics.data)
    return (
      <Page title="Exposures">
        <ErrorNotice error={basics.error} retry={basics.reload} />
      </Page>
    );
  if (!basics.data)
    return (
      <Page title="Exposures">
        <Loading what="portfolios" />
      </Page>
    );
  const { portfolios, factors } = basics.data;
  const portfolio = portfolios.find((candidate) => candidate.id === query["portfolio"]) ?? portfolios[0];
  if (!portfolio) {
    return (
      <Page title="Exposures">
        <Empty>
          No portfolios yet. <a href="/portfolios">Create one</a> to see its factor exposures.
        </Empty>
      </Page>
    );
  }
  return (
    <ExposuresView portfolios={portfolios} factors={factors} portfolio={portfolio} query={query} setQuery={setQuery} />
  );
}

interface ViewProps {
  portfolios: Portfolio[];
  factors: Factor[];
  portfolio: Portfolio;
  query: Record<string, string>;
  setQuery: (changes: Record<string, string | null>) => void;
}

function ExposuresView(props: ViewProps): JSX.Element {
  const { portfolios, factors, portfolio, query, setQuery } = props;
  const columns: Columns = query["columns"] === "portfolios" ? "portfolios" : "dates";
  const windowSize = windowSizes.includes(query["window"] as (typeof windowSizes)[number])
    ? Number(query["window"])
    : 20;
  const benchmark = query["benchmark"] ?? "";
  // Without a benchmark the Benchmark and Active views have no numbers: the Portfolio view is
  // shown instead, and says why (the URL keeps the view asked for, back once a benchmark is chosen).
  const askedView: View = views.some((option) => option.value === query["view"])
    ? (query["view"] as View)
    : "portfolio";
  const view = shownView(askedView, benchmark);
  const viewNote = noBenchmarkNote(askedView, benchmark);
  const benchmarkChoices = useMemo(() => benchmarkOptions(portfolios, factors), [portfolios, factors]);

  // Which portfolios' exposures are needed: the chosen one, or all of them as columns.
  const needed = columns === "portfolios" ? portfolios.map((entry) => entry.id) : [portfolio.id];
  // What is loaded, also kept in a ref so that live messages read and change the latest state
  // synchronously (several can arrive before the next render).
  const [loaded, setLoadedState] = useState<Record<string, LiveExposures>>({});
  const loadedRef = useRef(loaded);
  const updateLoaded = (change: (current: Record<string, LiveExposures>) => Record<string, LiveExposures>): void => {
    const next = change(loadedRef.current);
    if (next === loadedRef.current) return;
    loadedRef.current = next;
    setLoadedState(next);
  };
  const [loadError, setLoadError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [version, setVersion] = useState(0);
  const reload = (): void => setVersion((value) => value + 1);
  // Live news (a history run publishing dates one after another) refetches once per gap, not
  // once per message: each refetch aborts the previous one, so a burst would starve them all.
  const reloadTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const lastReload = useRef(0);
  const requestReload = (): void => {
    if (reloadTimer.current !== null) return;
    const wait = Math.max(0, lastReload.current + reloadGapMs - Date.now());
    reloadTimer.current = setTimeout(() => {
      reloadTimer.current = null;
      lastReload.current = Date.now();
      setVersion((value) => value + 1);
    }, wait);
  };
  useEffect(
    () => () => {
      if (reloadTimer.current !== null) clearTimeout(reloadTimer.current);
    },
    [],
  );
  const { history, computing } = useRunProgress(portfolio.id);
  // On paper the heatmap's sideways-scrolling columns are zoomed to the page, not cut (lib/print-fit.ts).
  useEffect(() => fitForPrint(".heatmap-inner"), []);

  // A live-updated date's numbers, standard errors included, read again from the route with the
  // page's benchmark (one read per portfolio at a time; lib/heatmap-grid.ts `DateReads`).
  const benchmarkRef = useRef(benchmark);
  benchmarkRef.current = benchmark;
  const dateReads = useRef<DateReads | null>(null);
  dateReads.current ??= new DateReads(
    (id, dates, signal) => {
      const query = {
        from: dates[0] ?? "",
        to: dates[dates.length - 1] ?? "",
        ...(benchmarkRef.current ? { benchmark: benchmarkRef.current } : {}),
      };
      return unwrap(api.portfolios[":id"].exposures.$get({ param: { id }, query }, { init: { signal } }));
    },
    (id, read, answer) =>
      updateLoaded((current) => {
        const exposures = current[id];
        const next = exposures ? foldDateReads(exposures, read, answer) : exposures;
        return next === exposures || !next ? current : { ...current, [id]: next };
      }),
  );
  /** Reads the portfolio's failed dates again (after a later update or a reconnect). */
  const retryReads = (id: string): void => {
    const exposures = loadedRef.current[id];
    if (!exposures) return;
    const retry = retryFailedReads(exposures);
    if (retry.read.size === 0) return;
    updateLoaded((current) => ({ ...current, [id]: retry.exposures }));
    dateReads.current?.request(id, retry.read);
  };
  // The shown portfolios' limits (portfolio id → its limits): a cell whose number breaches one is
  // outlined. A failed read keeps the last limits (useAsync): the outlines are an aid, the numbers
  // are shown either way.
  const limits = useAsync(
    async (signal) => {
      const entries = await Promise.all(
        needed.map((id) =>
          unwrap(api.portfolios[":id"].limits.$get({ param: { id } }, { init: { signal } })).then(
            (body) => [id, body.limits] as const,
          ),
        ),
      );
      return Object.fromEntries(entries);
    },
    [needed.join(",")],
  );
  const reloadLimits = limits.reload;
  const limitsTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(
    () => () => {
      if (limitsTimer.current !== null) clearTimeout(limitsTimer.current);
    },
    [],
  );
  /**
   * Reads the limits again shortly after the portfolio's news: they can be edited elsewhere (an
   * edit that crosses a bound raises or clears an alert). News while a read is scheduled joins it,
   * so a history run's burst of dates costs a read per interval, and a steady stream never
   * postpones it for good (each read aborts the one before).
   */
  const requestLimitsReload = (): void => {
    if (limitsTimer.current !== null) return;
    limitsTimer.current = setTimeout(() => {
      limitsTimer.current = null;
      reloadLimits();
    }, limitsSettleMs);
  };

  // Reads asked for other portfolios or another benchmark are of no use (the full load follows).
  useEffect(() => () => dateReads.current?.cancel(), [needed.join(","), benchmark]);

  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    setLoadError(null);
    const benchmarkQuery = benchmark ? { benchmark } : {};
    Promise.all(
      needed.map((id) =>
        unwrap(
          api.portfolios[":id"].exposures.$get(
            { param: { id }, query: benchmarkQuery },
            { init: { signal: controller.signal } },
          ),
        ).then((body) => [id, body] as const),
      ),
    ).then(
      (entries) => {
        if (controller.signal.aborted) return;
        updateLoaded(() => Object.fromEntries(entries));
        setLoading(false);
      },
      (error: unknown) => {
        if (controller.signal.aborted) return;
        setLoadError(error);
        setLoading(false);
      },
    );
    return () => controller.abort();
  }, [needed.join(","), benchmark, version]);
  // A load that failed runs again when the live connection (re)opens: the network that failed it
  // is probably back (as useAsync's loads do).
  useRetryOnReconnect(loadError !== null, reload);

  // Live: subscribe to what is shown; fold updates in place, then read the date again for its
  // standard errors; refetch what cannot be folded.
  useEffect(() => {
    const unsubscribes = needed.map((id) => subscribePortfolio(id));
    const stop = onLive((message) => {
      if (
        (message.type === "alert.raised" ||
          message.type === "alert.cleared" ||
          message.type === "exposures.updated" ||
          message.type === "resync") &&
        needed.includes(message.portfolio_id)
      )
        requestLimitsReload();
      if (message.type === "exposures.updated") {
        const id = message.portfolio_id;
        const exposures = loadedRef.current[id];
        if (!exposures) return;
        const next = applyUpdate(exposures, message);
        if (next === null) {
          // A date the page does not hold (a batch or the portfolio's history run computing it).
          requestReload();
          return;
        }
        // A position change: the message has the numbers, and the date's read the counts, not data_quality.
        if (message.cause === "positions") requestReload();
        updateLoaded((current) => ({ ...current, [id]: next }));
        dateReads.current?.request(id, new Map([[message.date, message.seq]]));
        retryReads(id);
      } else if (
        (message.type === "resync" && needed.includes(message.portfolio_id)) ||
        message.type === "batch.completed"
      ) {
        requestReload();
      }
    });
    // A reconnect reads the dates whose read failed again.
    let previous = connectionState.peek();
    const stopConnection = connectionState.subscribe((state) => {
      if (state === "open" && previous !== "open") for (const id of Object.keys(loadedRef.current)) retryReads(id);
      previous = state;
    });
    return () => {
      stop();
      stopConnection();
      for (const unsubscribe of unsubscribes) unsubscribe();
    };
  }, [needed.join(",")]);

  const main = loaded[portfolio.id];
  const dates = useMemo(() => {
    if (columns === "dates") return main?.dates ?? [];
    const all = new Set<string>();
    for (const id of needed) for (const date of loaded[id]?.dates ?? []) all.add(date);
    return [...all].sort();
  }, [loaded, columns, main]);

  // The slider: the index of the window's last date (or the date shown, with portfolios as columns),
  // from the URL's `date`: absent, the latest date, whichever it is (a batch adding a date moves
  // the window); moving the slider to the latest date removes it again.
  const pinned = useMemo(() => pinnedEnd(dates, query["date"]), [dates, query["date"]]);
  const end = pinned.end;
  const setEnd = (index: number): void => setQuery({ date: dateParam(dates, index) });
  const [playing, setPlaying] = useState(false);
  const lastIndex = dates.length - 1;
  const clampedEnd = Math.min(Math.max(end, 0), Math.max(0, lastIndex));
  const size = columns === "dates" ? windowSize : 1;
  const range = windowRange(dates.length, size, clampedEnd);

  // Playing: one date on every interval, stopping at the last date.
  useEffect(() => {
    if (!playing) return;
    if (clampedEnd >= lastIndex) {
      setPlaying(false);
      return;
    }
    const timer = setTimeout(() => setEnd(nextPlayEnd(dates.length, size, clampedEnd)), playIntervalMs);
    return () => clearTimeout(timer);
  }, [playing, clampedEnd, lastIndex, dates.length, size]);

  const startPlaying = (): void => {
    // From the end, start over at the first full window.
    if (clampedEnd >= lastIndex) setEnd(nextPlayEnd(dates.length, size, clampedEnd));
    setPlaying(true);
  };

  const [selected, setSelected] = useState<{ row: number; column: number } | null>(null);
  const [drill, setDrill] = useState<DrillDownTarget | null>(null);
  const [showTable, setShowTable] = useState(false);
  const [chosen, setChosen] = useState<string[]>(() => factors.slice(0, 3).map((factor) => factor.key));
  const exportPng = useRef<((title: string, legends: PngLegends) => Promise<Blob>) | null>(null);

  const factorKeys =
    (main ?? Object.values(loaded)[0])?.factors.map((factor) => factor.key) ?? factors.map((factor) => factor.key);
  const factorNames = factorKeys.map((key) => factors.find((factor) => factor.key === key)?.name ?? key);
  const portfolioName = (id: string) => portfolios.find((entry) => entry.id === id)?.name ?? id;

  const matrix = useMemo(() => {
    if (columns === "dates") return main ? datesMatrix(main, view, range) : null;
    const date = dates[range[1]];
    if (!date) return null;
    return portfoliosMatrix(
      needed.map((id) => ({ id, exposures: loaded[id] })),
      factorKeys,
      view,
      date,
    );
  }, [loaded, main, view, columns, range[0], range[1], dates]);

  // Cells whose exposure cannot be told from zero (|exposure| < 2 SE): dotted on the canvas.
  const marked = useMemo(() => (matrix ? indistinguishableCells(matrix) : []), [matrix]);
  // Cells whose number breaches a limit of their column's portfolio: outlined on the canvas. The
  // active view's limits are evaluated against the portfolio's own benchmark, so each column checks
  // the benchmark its numbers were served against.
  const breaches = useMemo(() => {
    if (!matrix) return null;
    const byId = limits.data ?? {};
    const columnOf = (id: string): BreachColumn => ({
      limits: byId[id] ?? [],
      ownBenchmark: isOwnBenchmark(
        loaded[id]?.benchmark,
        portfolios.find((entry) => entry.id === id)?.benchmark_symbol,
      ),
    });
    const columnLimits =
      columns === "dates" ? matrix.columnKeys.map(() => columnOf(portfolio.id)) : matrix.columnKeys.map(columnOf);
    return heatmapBreaches(matrix.values, factorKeys, view, columnLimits);
  }, [matrix, limits.data, loaded, portfolios, portfolio.id, columns, view, factorKeys.join(",")]);
  const breached = useMemo(() => breaches?.breached ?? [], [breaches]);
  const anyBreached = breached.some((row) => row.some(Boolean));
  /** The limits a cell breaches, in words (tooltip, screen-reader label, table); null: none. */
  const breachOf = (cell: { row: number; column: number }): string | null =>
    breaches?.texts[cell.row]?.[cell.column] ?? null;
  /** A cell's standard error in words (tooltip, screen-reader label, table); null for a missing cell. */
  const uncertaintyOf = (cell: { row: number; column: number }) =>
    matrix
      ? uncertaintyLabel(
          matrix.values[cell.row]?.[cell.column] ?? null,
          matrix.uncertainty[cell.row]?.[cell.column] ?? null,
        )
      : null;

  // A colour scale per row (?scale=row: each row's largest |value|, else the factor's fixed scale,
  // the Universe's colours), over everything loaded for this view: stable while the slider moves.
  const scaleMode = parseScaleMode(query["scale"]);
  const scales = useMemo(() => {
    const shown = columns === "dates" ? (main ? [main] : []) : needed.flatMap((id) => (loaded[id] ? [loaded[id]] : []));
    const rowValues = factorKeys.map((key) =>
      shown.flatMap((exposures) => {
        const factor = exposures.factors.find((entry) => entry.key === key);
        return factor ? seriesFor(factor, view) : [];
      }),
    );
    return rowScales(scaleMode, factorKeys, rowValues);
  }, [loaded, main, view, columns, scaleMode, factorKeys.join(",")]);
  // What each row's factor means (its label's hover and focus explanation).
  const rowHelp = useMemo(
    () =>
      factorKeys.map((key) => {
        const factor = factors.find((entry) => entry.key === key);
        return factor ? factorMeaning(factor) : null;
      }),
    [factors, factorKeys.join(",")],
  );

  /** The benchmark a portfolio's numbers are against (the served one once loaded). */
  const benchmarkOf = (id: string): string | null =>
    columnBenchmark(
      benchmark,
      portfolios.find((entry) => entry.id === id)?.benchmark_symbol ?? null,
      loaded[id]?.benchmark,
    );
  // Portfolios as columns: each column's title (table, tooltip) names the benchmark it is against;
  // the canvas keeps the short names.
  const columnTitles = matrix
    ? columns === "dates"
      ? matrix.columnKeys
      : matrix.columnKeys.map((id) => portfolioColumnTitle(portfolioName(id), benchmarkOf(id)))
    : [];
  const columnLabels = matrix
    ? columns === "dates"
      ? matrix.columnKeys.map((date, i) => formatDateTick(date, i > 0 ? matrix.columnKeys[i - 1] : undefined))
      : matrix.columnKeys.map(portfolioName)
    : [];

  /**
   * What a heatmap cell shows: its factor, portfolio and date. Null for a cell outside the
   * current matrix (one the chart still holds from before the matrix changed).
   */
  const cellTarget = (cell: { row: number; column: number }) => {
    if (!matrix) return null;
    const factorKey = factorKeys[cell.row];
    const factorName = factorNames[cell.row];
    const columnKey = matrix.columnKeys[cell.column];
    const date = columns === "dates" ? columnKey : dates[range[1]];
    const portfolioId = columns === "dates" ? portfolio.id : columnKey;
    if (factorKey === undefined || factorName === undefined || date === undefined || portfolioId === undefined)
      return null;
    return { factorKey, factorName, portfolioId, date };
  };

  const selectCell = (cell: { row: number; column: number }): void => {
    const target = cellTarget(cell);
    if (!target) return;
    setSelected(cell);
    const viewLabel = views.find((option) => option.value === view)?.label;
    setDrill({
      ...target,
      portfolioName: portfolioName(target.portfolioId),
      ...(view === "portfolio" || !viewLabel ? {} : { view: viewLabel }),
    });
  };

  /** Coverage by value and by count of a cell (its portfolio, factor and date). */
  const coverageOf = (cell: { row: number; column: number }): CoverageLabel | null => {
    const target = cellTarget(cell);
    if (!target) return null;
    const exposures = loaded[target.portfolioId];
    const index = exposures ? exposures.dates.indexOf(target.date) : -1;
    const factor = exposures?.factors.find((entry) => entry.key === target.factorKey);
    if (index < 0 || !factor) return null;
    return coverageLabel({
      value: factor.coverage[index],
      used: factor.positions_used[index],
      total: factor.positions_total[index],
    });
  };
  const cellNote = (cell: { row: number; column: number }): { short: string | null; title: string } | null => {
    if (view === "benchmark") return null;
    const coverage = coverageOf(cell);
    return coverage ? { short: coverage.short, title: `Coverage: ${coverage.text}` } : null;
  };

  const tooltip = (cell: { row: number; column: number }): JSX.Element | null => {
    const target = cellTarget(cell);
    if (!matrix || !target) return null;
    const { portfolioId, date } = target;
    const exposures = loaded[portfolioId];
    const index = exposures ? exposures.dates.indexOf(date) : -1;
    const factor = exposures?.factors.find((entry) => entry.key === target.factorKey);
    const at = (values: (number | null)[] | undefined) => (index < 0 || !values ? null : (values[index] ?? null));
    const uncertainty = uncertaintyOf(cell);
    const breach = breachOf(cell);
    return (
      <>
        <strong>{target.factorName}</strong>
        <div>
          {columns === "dates"
            ? date
            : `${portfolioColumnTitle(portfolioName(portfolioId), benchmarkOf(portfolioId))} · ${date}`}
        </div>
        {breach ? (
          <p class="tooltip-breach" data-testid="tooltip-breach">
            {breach}
          </p>
        ) : null}
        <dl>
          <dt>{views.find((option) => option.value === view)?.label}</dt>
          <dd data-testid="tooltip-value">{formatExposure(matrix.values[cell.row]?.[cell.column] ?? null)}</dd>
          {uncertainty ? (
            <>
              <dt>Standard error</dt>
              <dd
                data-testid="tooltip-standard-error"
                data-indistinguishable={uncertainty.indistinguishable ? "true" : undefined}
              >
                {uncertainty.value}
              </dd>
            </>
          ) : null}
          {view !== "portfolio" ? (
            <>
              <dt>Portfolio</dt>
              <dd>{formatExposure(at(factor?.portfolio))}</dd>
            </>
          ) : null}
          <dt>Exposure $</dt>
          <dd>{formatDollars(at(factor?.exposure_dollar))}</dd>
          <dt>Coverage</dt>
          <dd data-testid="tooltip-coverage">{coverageOf(cell)?.text ?? formatPercent(at(factor?.coverage))}</dd>
          <dt>R² (holdings)</dt>
          <dd data-testid="tooltip-r-squared">{formatPercent(at(factor?.r_squared))}</dd>
          <dt>Benchmark{exposures?.benchmark ? ` (${exposures.benchmark})` : ""}</dt>
          <dd>{formatExposure(at(factor?.benchmark))}</dd>
          <dt>R² (benchmark)</dt>
          <dd>{formatPercent(at(factor?.benchmark_r_squared))}</dd>
        </dl>
        {uncertainty ? (
          <p class="tooltip-uncertainty" data-testid="tooltip-uncertainty">
            {uncertainty.text}
          </p>
        ) : null}
      </>
    );
  };

  const rangeLabel = dates.length
    ? columns === "dates"
      ? `${dates[range[0]]} – ${dates[range[1]]}`
      : dates[range[1]]
    : "";
  const viewLabel = views.find((option) => option.value === view)?.label;
  const heatmapSubject = columns === "dates" ? portfolio.name : "All portfolios";
  const benchmarkText = benchmarkPhrase(
    benchmark,
    columns,
    columnBenchmark(benchmark, portfolio.benchmark_symbol, main?.benchmark),
  );
  const heatmapTitle = `${heatmapSubject} · ${viewLabel} exposures · ${benchmarkText} · ${rangeLabel}`;

  // The exports name what they show: the PNG's title and the file names carry the portfolio, the
  // view, its benchmark and the dates (lib/heatmap-grid.ts); the CSV opens with the same facts.
  const shownDates = matrix ? (columns === "dates" ? matrix.columnKeys : [dates[range[1]] ?? ""]) : [];
  const exportTitle = heatmapExportTitle({
    subject: columns === "dates" ? portfolio.name : `All portfolios (${needed.length})`,
    view,
    columns,
    benchmark: columnBenchmark(benchmark, portfolio.benchmark_symbol, main?.benchmark),
    choice: benchmark,
    from: shownDates[0] ?? "",
    to: shownDates[shownDates.length - 1] ?? "",
  });
  const fileSubject = columns === "dates" ? fileSlug(portfolio.name, portfolio.id) : "all-portfolios";
  const exportMenu = useRef<HTMLDetailsElement>(null);
  const exportCsv = (layout: CsvLayout): void => {
    if (exportMenu.current) exportMenu.current.open = false;
    if (!matrix) return;
    const exportColumns = matrix.columnKeys.map((key) =>
      columns === "dates" ? { key } : { key, name: portfolioName(key), benchmark: benchmarkOf(key) },
    );
    const csv = heatmapExportCsv({
      layout,
      columnsAre: columns,
      header: heatmapCsvHeader({
        layout,
        columnsAre: columns,
        view,
        portfolios:
          columns === "dates"
            ? [{ id: portfolio.id, name: portfolio.name, benchmark: benchmarkOf(portfolio.id) }]
            : exportColumns.map((column) => ({
                id: column.key,
                name: column.name ?? column.key,
                benchmark: column.benchmark ?? null,
              })),
        dates: shownDates,
        benchmarkChoice: benchmark,
      }),
      columns: exportColumns,
      factors: factorKeys.map((key, row) => ({ key, name: factorNames[row] ?? key })),
      value: (row, column) => matrix.values[row]?.[column] ?? null,
    });
    download(new Blob([csv], { type: "text/csv" }), heatmapFileName(fileSubject, view, shownDates, `-${layout}.csv`));
  };
  const exportImage = async (): Promise<void> => {
    if (!exportPng.current) return;
    download(
      await exportPng.current(exportTitle, {
        mark: marked.some((row) => row.some(Boolean)) ? indistinguishableLegend : null,
        breach: anyBreached ? breachLegend : null,
      }),
      heatmapFileName(fileSubject, view, shownDates, ".png"),
    );
  };

  const quality = main?.data_quality;
  const empty = !loading && matrix !== null && matrix.xs.length === 0;
  // Nothing to export without a cell (a portfolio with no computed date), nor while a load
  // replaces the numbers shown (they would be the old choice's, or some portfolios' missing).
  const hasCells = matrix !== null && matrix.xs.length > 0 && !loading;

  return (
    <Page
      title="Exposures"
      subtitle={
        <>
          {columns === "dates" ? portfolio.name : `${needed.length} portfolios`} · {benchmarkText}
          {main?.dates.length
            ? ` · ${main.dates.length} dates loaded (${main.dates[0]} – ${main.dates[main.dates.length - 1]})`
            : ""}
          {columns === "dates" && history ? (
            <>
              {" · "}
              <HistoryProgress indicator={history} />
            </>
          ) : null}
        </>
      }
    >
      <Card label="Heatmap controls" class="controls">
        <div class="toolbar">
          {columns === "dates" ? (
            <SelectField
              label="Portfolio"
              value={portfolio.id}
              options={portfolios.map((entry) => ({ value: entry.id, label: entry.name }))}
              onChange={(value) => {
                setSelected(null);
                setDrill(null);
                setQuery({ portfolio: value });
              }}
            />
          ) : null}
          <div class="field">
            <span class="label" id="columns-label">
              Columns
            </span>
            <Segmented
              label="Columns"
              value={columns}
              options={columnModes}
              onChange={(value) => {
                setSelected(null);
                setQuery({ columns: value === "dates" ? null : value });
              }}
            />
          </div>
          <div class="field" title={viewNote ? `Benchmark and Active: ${noBenchmarkReason}` : undefined}>
            <span class="label">Show</span>
            <Segmented
              label="Show"
              value={view}
              options={views.map((option) => ({ ...option, disabled: !viewAvailable(option.value, benchmark) }))}
              onChange={(value) => setQuery({ view: value === "portfolio" ? null : value })}
            />
          </div>
          <SelectField
            label="Benchmark"
            value={benchmark}
            options={[
              {
                value: "",
                label:
                  columns === "dates" ? `Portfolio's (${portfolio.benchmark_symbol ?? "none"})` : "Each portfolio's",
              },
              { value: "none", label: "None" },
              ...benchmarkChoices.map((symbol) => ({ value: symbol, label: symbol })),
            ]}
            onChange={(value) => setQuery({ benchmark: value || null })}
          />
          {columns === "dates" ? (
            <SelectField
              label="Window"
              value={String(windowSize)}
              options={windowSizes.map((value) => ({ value, label: `${value} days` }))}
              onChange={(value) => setQuery({ window: value === "20" ? null : value })}
            />
          ) : null}
        </div>
        <div class="slider-row">
          <button
            type="button"
            class="button play"
            onClick={() => (playing ? setPlaying(false) : startPlaying())}
            disabled={dates.length <= size}
            aria-label={playing ? "Pause" : "Play"}
          >
            {playing ? "❚❚ Pause" : "▶ Play"}
          </button>
          <label class="visually-hidden" for="time-slider">
            {columns === "dates" ? "Last date of the window" : "Date"}
          </label>
          <input
            id="time-slider"
            type="range"
            // A date pinned before the first full window (a link's) shows a shorter window: the thumb goes there too.
            min={Math.min(size, dates.length, clampedEnd + 1) - 1}
            max={Math.max(0, lastIndex)}
            step={1}
            value={clampedEnd}
            disabled={dates.length <= size}
            aria-valuetext={rangeLabel}
            onInput={(event) => {
              setPlaying(false);
              setEnd(Number(event.currentTarget.value));
            }}
          />
          <output for="time-slider" class="range-label" data-testid="window-label">
            {rangeLabel || "no dates"}
          </output>
        </div>
      </Card>

      <Card
        label="Heatmap"
        title={
          <>
            {viewLabel} exposure by factor
            {columns === "dates" ? " and date" : " and portfolio"} · {benchmarkText}
          </>
        }
        actions={
          <>
            <button
              type="button"
              class="button small"
              onClick={() => setShowTable((value) => !value)}
              aria-pressed={showTable}
            >
              {showTable ? "Hide table" : "Show table"}
            </button>
            <details
              class="export-menu"
              ref={exportMenu}
              onToggle={(event) => {
                // Nothing to export yet: the menu stays shut.
                if (!hasCells && event.currentTarget.open) event.currentTarget.open = false;
              }}
            >
              <summary class="button small" aria-disabled={!hasCells || undefined}>
                Export CSV
              </summary>
              <div class="export-choices">
                <button type="button" class="button small" onClick={() => exportCsv("wide")} disabled={!hasCells}>
                  Wide: a row per factor
                </button>
                <button type="button" class="button small" onClick={() => exportCsv("long")} disabled={!hasCells}>
                  Long: a row per value
                </button>
              </div>
            </details>
            <button
              type="button"
              class="button small"
              onClick={() => void exportImage()}
              disabled={!hasCells}
              data-png-title={exportTitle}
            >
              Export PNG
            </button>
          </>
        }
      >
        {loadError ? <ErrorNotice error={loadError} retry={reload} /> : null}
        {matrix && matrix.xs.length > 0 ? (
          // What the printed page names above the heatmap (the controls are not printed).
          <p class="print-title" aria-hidden="true">
            {exportTitle}
          </p>
        ) : null}
        {pinned.note ? (
          <p class="view-note" data-testid="date-note" role="status">
            {pinned.note}
          </p>
        ) : null}
        {viewNote ? (
          <p class="view-note" data-testid="view-note" role="status">
            {viewNote}
          </p>
        ) : null}
        {loading && !matrix ? <Loading what="exposures" /> : null}
        {empty ? (
          <Empty>
            <FirstStart computing={computing} />
          </Empty>
        ) : null}
        {matrix && matrix.xs.length > 0 ? (
          // While a reload runs the old numbers stay, dimmed and marked busy.
          <div class="async" aria-busy={loading} data-stale={loading ? "" : undefined}>
            <HeatmapView
              xs={matrix.xs}
              columnLabels={columnLabels}
              columnTitles={columnTitles}
              rowLabels={factorNames}
              values={matrix.values}
              scales={scales}
              onScaleMode={(mode) => setQuery({ scale: mode === "fixed" ? null : mode })}
              rowHelp={rowHelp}
              selected={selected}
              syncKey={syncKey}
              label={heatmapTitle}
              tooltip={tooltip}
              onSelect={selectCell}
              onReady={(exporter) => (exportPng.current = exporter)}
              showTable={showTable}
              cellNote={cellNote}
              marked={marked}
              cellUncertainty={uncertaintyOf}
              breached={breached}
              cellBreach={breachOf}
            />
            <UncertaintyLegend text={indistinguishableLegend} />
            {anyBreached ? <BreachLegend text={breachLegend} /> : null}
          </div>
        ) : null}
        {quality && columns === "dates" ? (
          <LeftOutNote
            portfolioId={portfolio.id}
            quality={quality}
            factorKeys={main?.factors.map((factor) => factor.key) ?? []}
            factorName={(key) => factors.find((factor) => factor.key === key)?.name ?? key}
          />
        ) : null}
      </Card>

      {drill ? (
        <DrillDownPanel
          target={drill}
          onClose={() => {
            setDrill(null);
            setSelected(null);
          }}
        />
      ) : null}

      {columns === "dates" && main && main.dates.length > 0 ? (
        <Card
          label="Exposure lines"
          title="Exposure over time"
          actions={
            <FactorPicker
              factors={main.factors.map((factor) => ({ key: factor.key, name: factor.name }))}
              chosen={chosen}
              onChange={setChosen}
            />
          }
        >
          <ExposureLines
            exposures={main}
            range={range}
            chosen={chosen}
            syncKey={syncKey}
            benchmarkLabel={main.benchmark}
          />
        </Card>
      ) : null}
    </Page>
  );
}

function FactorPicker(props: {
  factors: { key: string; name: string }[];
  chosen: string[];
  onChange: (keys: string[]) => void;
}): JSX.Element {
  return (
    <details class="factor-picker">
      <summary class="button small">Factors ({props.chosen.length})</summary>
      <fieldset>
        <legend class="visually-hidden">Factors to draw</legend>
        {props.factors.map((factor) => (
          <label key={factor.key}>
            <input
              type="checkbox"
              checked={props.chosen.includes(factor.key)}
              onChange={(event) =>
                props.onChange(
                  event.currentTarget.checked
                    ? [...props.chosen, factor.key]
                    : props.chosen.filter((key) => key !== factor.key),
                )
              }
            />{" "}
            {factor.name}
          </label>
        ))}
      </fieldset>
    </details>
  );
}
