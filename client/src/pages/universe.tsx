// The universe: the symbol table of one metrics date (`GET /data/symbols`), searched (symbol
// prefix or company name), sorted, filtered and paged by the server. The table's state lives in
// the URL query, so a link or a reload shows the same rows; the factor columns are coloured on
// each factor's fixed scale (`factorScale`, the heatmap's and the symbol page's too), and each
// factor header explains its number on hover and focus and links to the factors page.
import type { JSX } from "preact";
import { useLocation } from "preact-iso";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, authorizedFetch, describeFailure, unwrap, type JsonBody } from "../api/client.ts";
import { Async, Empty, Field, Page, TableWrap, download } from "../components/ui.tsx";
import { exposureUnit, factorMeaningText, legendUnit } from "../lib/factor-meaning.ts";
import { formatDollars, formatExposure, formatPercent, missing } from "../lib/format.ts";
import { css, factorScale, textColorOn, type DivergingScale } from "../lib/scale.ts";
import {
  ariaSort,
  billionsText,
  defaultUniverseState,
  dollarsFromBillions,
  exportQueries,
  factorColumns,
  formatRatio,
  humanizeKey,
  joinCsvPages,
  pageQuery,
  pageRange,
  pageSizes,
  parseDecimal,
  readUniverseState,
  searchText,
  sortedBy,
  tooltipLeft,
  universeSearch,
  type FactorColumn,
  type SortColumn,
  type UniverseState,
} from "../lib/universe-query.ts";
import { onLive } from "../state/live.ts";
import { useAsync, useDebounced } from "../state/use-async.ts";
import "./universe.css";
import "./universe-clarity.css";

type SymbolsBody = JsonBody<Awaited<ReturnType<typeof api.data.symbols.$get>>>;
type SymbolRow = SymbolsBody["symbols"][number];
type FactorsBody = JsonBody<Awaited<ReturnType<typeof api.factors.$get>>>;
export type FactorDefinition = FactorsBody["factors"][number];

// The helper's column lists must stay names of the API's row (a renamed column fails here).
const _columnsAreRowKeys: readonly (keyof SymbolRow)[] = factorColumns;
void _columnsAreRowKeys;

/** The factor definitions, fetched once per page load (they change only with a migration). */
let factorsPromise: Promise<FactorDefinition[]> | null = null;
export function loadFactors(): Promise<FactorDefinition[]> {
  factorsPromise ??= unwrap(api.factors.$get()).then(
    (body) => [...body.factors].sort((a, b) => a.display_order - b.display_order),
    (error: unknown) => {
      factorsPromise = null; // the next page retries
      throw error;
    },
  );
  return factorsPromise;
}

/** The sectors of each metrics date (`GET /data/sectors`), read once per page load. */
const sectorsByDate = new Map<string, Promise<string[]>>();
function loadSectors(metricsDate: string): Promise<string[]> {
  let pending = sectorsByDate.get(metricsDate);
  if (!pending) {
    pending = unwrap(api.data.sectors.$get({ query: { date: metricsDate } })).then((body) =>
      body.sectors.map((entry) => entry.sector),
    );
    pending.catch(() => sectorsByDate.delete(metricsDate));
    sectorsByDate.set(metricsDate, pending);
  }
  return pending;
}

/** The universe's last query, so a symbol page's back link returns to the same rows. */
const searchKey = "factor-exposure.universe-search";
let lastSearch = "";
function rememberSearch(search: string): void {
  lastSearch = search;
  try {
    sessionStorage.setItem(searchKey, search);
  } catch {
    // Storage refused (private mode, quota): the in-memory copy still serves this tab.
  }
}
/** `/universe` with the query the table last had in this tab. */
export function universeHref(): string {
  let search = lastSearch;
  if (!search) {
    try {
      search = sessionStorage.getItem(searchKey) ?? "";
    } catch {
      search = "";
    }
  }
  return `/universe${search.startsWith("?") ? search : ""}`;
}

interface Column {
  key: string;
  label: string;
  sort?: SortColumn;
  numeric: boolean;
  title?: string;
  cell: (row: SymbolRow) => JSX.Element;
  /** Factor columns: the row's value, the column's colour scale, and its definition when GET /factors answered. */
  factor?: { column: FactorColumn; scale: DivergingScale; definition: FactorDefinition | undefined };
}

function FactorCell(props: {
  value: number | null;
  scale: DivergingScale;
  label: string;
  symbol: string;
}): JSX.Element {
  const background = props.scale.color(props.value);
  const shown = formatExposure(props.value, 2);
  return (
    <td
      class="num factor-cell"
      style={{ background: css(background), color: css(textColorOn(background)) }}
      title={`${props.symbol} · ${props.label}: ${props.value === null ? "no beta" : formatExposure(props.value, 3)}`}
    >
      {shown}
    </td>
  );
}

function buildColumns(factors: readonly FactorDefinition[] | undefined, date: string | null): Column[] {
  const detailQuery = date ? `?date=${encodeURIComponent(date)}` : "";
  const base: Column[] = [
    {
      key: "symbol",
      label: "Symbol",
      sort: "symbol",
      numeric: false,
      cell: (row) => (
        <a class="symbol-link" href={`/universe/${encodeURIComponent(row.symbol)}${detailQuery}`}>
          {row.symbol}
        </a>
      ),
    },
    {
      key: "company_name",
      label: "Company",
      numeric: false,
      // The cell shows the whole name to a screen reader (the text is only cut by CSS) and on hover.
      cell: (row) => (
        <span class="company" title={row.company_name ?? "No company name stored"}>
          {row.company_name ?? missing}
        </span>
      ),
    },
    {
      key: "sector",
      label: "Sector",
      sort: "sector",
      numeric: false,
      cell: (row) => (
        <span class="sector" title={row.sector ?? undefined}>
          {row.sector ?? missing}
        </span>
      ),
    },
    {
      key: "market_cap",
      label: "Market cap",
      sort: "market_cap",
      numeric: true,
      cell: (row) => <>{formatDollars(row.market_cap)}</>,
    },
    {
      key: "pe_ratio",
      label: "P/E",
      sort: "pe_ratio",
      numeric: true,
      title: "Price / earnings",
      cell: (row) => <>{formatRatio(row.pe_ratio)}</>,
    },
    {
      key: "ps_ratio",
      label: "P/S",
      sort: "ps_ratio",
      numeric: true,
      title: "Price / sales",
      cell: (row) => <>{formatRatio(row.ps_ratio)}</>,
    },
    {
      key: "return_1d",
      label: "1D",
      sort: "return_1d",
      numeric: true,
      title: "Return over the last day",
      cell: (row) => <>{formatPercent(row.return_1d)}</>,
    },
    {
      key: "return_ytd",
      label: "YTD",
      sort: "return_ytd",
      numeric: true,
      title: "Return year to date",
      cell: (row) => <>{formatPercent(row.return_ytd)}</>,
    },
  ];
  // Factor columns in GET /factors' display order when it answered, the API's order otherwise.
  const byColumn = new Map((factors ?? []).map((factor) => [`factor_${factor.key}`, factor]));
  const ordered = [...factorColumns].sort(
    (a, b) => (byColumn.get(a)?.display_order ?? 1e9) - (byColumn.get(b)?.display_order ?? 1e9),
  );
  return [
    ...base,
    ...ordered.map((column): Column => {
      const factor = byColumn.get(column);
      const label = factor?.name ?? humanizeKey(column);
      return {
        key: column,
        label,
        sort: column,
        numeric: true,
        cell: (row) => <>{formatExposure(row[column], 2)}</>,
        factor: { column, scale: factorScale(column), definition: factor },
      };
    }),
  ];
}

/** Where a factor header's explanation sits: fixed to the viewport, under the header. */
interface TipPlace {
  left: number;
  top: number;
  width: number;
}

/**
 * A factor's meaning (factor-meaning.ts) under its header while the pointer is on the header or
 * a control in it has keyboard focus (`:focus-visible`, not the focus a tap leaves); Escape hides
 * it until the next hover or focus (WCAG 1.4.13). It is fixed to the viewport, so the table's
 * scroll frame cannot clip it, and leaves on scroll. Screen readers get the same text as the
 * sort button's and the link's description.
 */
function useHeaderTip(): {
  place: TipPlace | null;
  handlers: {
    onMouseEnter: () => void;
    onMouseLeave: () => void;
    onFocusIn: (event: FocusEvent) => void;
    onFocusOut: () => void;
    onKeyDown: (event: KeyboardEvent) => void;
  };
  ref: { current: HTMLTableCellElement | null };
} {
  const ref = useRef<HTMLTableCellElement>(null);
  const [hovered, setHovered] = useState(false);
  const [focused, setFocused] = useState(false);
  const [dismissed, setDismissed] = useState(false);
  const [place, setPlace] = useState<TipPlace | null>(null);
  const shown = (hovered || focused) && !dismissed;
  useEffect(() => {
    const header = ref.current;
    if (!shown || !header) {
      setPlace(null);
      return;
    }
    const rect = header.getBoundingClientRect();
    const viewport = document.documentElement.clientWidth;
    const width = Math.min(384, viewport - 16);
    setPlace({ left: tooltipLeft(rect.left, width, viewport), top: rect.bottom + 2, width });
    const leave = (): void => setDismissed(true);
    window.addEventListener("scroll", leave, { capture: true, passive: true });
    window.addEventListener("resize", leave);
    return () => {
      window.removeEventListener("scroll", leave, { capture: true });
      window.removeEventListener("resize", leave);
    };
  }, [shown]);
  return {
    place,
    ref,
    handlers: {
      onMouseEnter: () => {
        setDismissed(false);
        setHovered(true);
      },
      onMouseLeave: () => setHovered(false),
      onFocusIn: (event) => {
        // Keyboard focus only: a tap or click that sorts should not open a box over the rows.
        if (event.target instanceof Element && !event.target.matches(":focus-visible")) return;
        setDismissed(false);
        setFocused(true);
      },
      onFocusOut: () => setFocused(false),
      onKeyDown: (event) => {
        if (event.key === "Escape") setDismissed(true);
      },
    },
  };
}

function SortHeader(props: {
  column: Column;
  state: UniverseState;
  onSort: (column: SortColumn) => void;
}): JSX.Element {
  const { column, state } = props;
  const sort = column.sort;
  const definition = column.factor?.definition;
  const tip = useHeaderTip();
  if (!sort) {
    return (
      <th scope="col" class={column.numeric ? "num" : ""} title={column.title}>
        {column.label}
      </th>
    );
  }
  const current = ariaSort(state, sort);
  const tipId = definition ? `factor-tip-${definition.key}` : undefined;
  const button = (
    <button
      type="button"
      class="sort-button"
      // A factor's explanation is the tooltip below; a native title would cover it.
      title={definition ? undefined : column.title ? `${column.title} (sort)` : `Sort by ${column.label}`}
      aria-describedby={tipId}
      onClick={() => props.onSort(sort)}
    >
      <span>{column.label}</span>
      <span class={`sort-mark ${current ? "active" : ""}`} aria-hidden="true">
        {current === "ascending" ? "▲" : current === "descending" ? "▼" : "↕"}
      </span>
    </button>
  );
  if (!definition)
    return (
      <th
        scope="col"
        class={`${column.numeric ? "num" : ""} ${column.factor ? "factor-head" : ""}`}
        aria-sort={current}
        data-column={sort}
      >
        {button}
      </th>
    );
  return (
    <th
      ref={tip.ref}
      scope="col"
      class={`${column.numeric ? "num" : ""} factor-head ${tip.place ? "tip-open" : ""}`}
      // The column's name is the factor's: the "?" link and the tooltip are not part of it.
      aria-label={column.label}
      aria-sort={current}
      data-column={sort}
      {...tip.handlers}
    >
      <span class="factor-head-inner">
        {button}
        <a
          class="factor-help"
          href={`/factors#${encodeURIComponent(definition.key)}`}
          aria-label={`What ${definition.name} means`}
          aria-describedby={tipId}
        >
          ?
        </a>
      </span>
      {/* Out of the header's own name (aria-hidden) but read as the controls' description. */}
      <div
        id={tipId}
        class="factor-tip"
        role="tooltip"
        aria-hidden="true"
        data-testid="factor-tip"
        hidden={tip.place === null}
        style={
          tip.place
            ? { left: `${tip.place.left}px`, top: `${tip.place.top}px`, width: `${tip.place.width}px` }
            : undefined
        }
      >
        {factorMeaningText(definition)}
        <span class="factor-tip-hint">Click the name to sort; “?” opens the factors page.</span>
      </div>
    </th>
  );
}

function Legend(): JSX.Element {
  // The style and spread loadings' scale; market beta's is twice as wide (said in words).
  const scale = factorScale("value");
  return (
    // A note (ancillary content) can carry a label, and its text stays readable, unlike an img's.
    <div class="legend universe-legend" role="note" aria-label="Factor colour scale" title={legendUnit}>
      <span>
        Factor cells, <strong>{exposureUnit}</strong>:
      </span>
      {scale.ticks.map((stop) => {
        const color = scale.color(stop);
        return (
          <span key={stop} class="legend-swatch" style={{ background: css(color), color: css(textColorOn(color)) }}>
            {formatExposure(stop, 1)}
          </span>
        );
      })}
      <span class="legend-swatch" style={{ background: css(scale.color(null)) }}>
        {missing}
      </span>
      <span class="muted">
        full colour at ±{scale.extent} (market beta ±{factorScale("market_beta").extent}); grey = no beta ·{" "}
        <a href="/factors">what the factors mean</a>
      </span>
    </div>
  );
}

/**
 * A filter input that follows the URL and writes back to it once typing pauses. `fromNumber`
 * turns a typed number into the URL's value ("invalid" when out of range).
 */
function useFilterText(
  current: number | null,
  toText: (value: number | null) => string,
  fromNumber: (value: number) => number | "invalid",
  apply: (value: number | null) => void,
) {
  const [textValue, setText] = useState(() => toText(current));
  const settled = useDebounced(textValue, 450);
  const read = (typed: string): number | null | "invalid" => {
    const parsed = parseDecimal(typed);
    return parsed === null || parsed === "invalid" ? parsed : fromNumber(parsed);
  };
  const parsedValue = read(textValue);
  useEffect(() => {
    const next = read(settled);
    if (next !== "invalid" && next !== current) apply(next);
    // Deliberately only on a settled edit: that is what writes the URL.
  }, [settled]);
  useEffect(() => {
    // The URL changed elsewhere (back button, clear): show its value unless that is what is typed.
    if (parsedValue !== current) setText(toText(current));
    // Deliberately only on a URL change.
  }, [current]);
  return { text: textValue, setText, invalid: parsedValue === "invalid", parsedValue };
}

/**
 * The search box: follows the URL's `q` and writes it back once typing pauses (Enter writes it
 * at once), so every keystroke does not cost a request or a history entry.
 */
function useSearchText(current: string | null, apply: (value: string | null) => void) {
  const [textValue, setText] = useState(current ?? "");
  const settled = useDebounced(textValue, 300);
  useEffect(() => {
    const next = searchText(settled);
    if (next !== current) apply(next);
    // Deliberately only on a settled edit: that is what writes the URL.
  }, [settled]);
  useEffect(() => {
    // The URL changed elsewhere (back button, clear): show its value unless that is what is typed.
    if (searchText(textValue) !== current) setText(current ?? "");
    // Deliberately only on a URL change.
  }, [current]);
  return {
    text: textValue,
    setText,
    applyNow: () => searchText(textValue) !== current && apply(searchText(textValue)),
  };
}

export function UniversePage(): JSX.Element {
  const location = useLocation();
  const state = readUniverseState(location.query);
  const search = universeSearch(state);
  const navigate = (next: UniverseState) => location.route(`/universe${universeSearch(next)}`, true);

  useEffect(() => rememberSearch(search), [search]);

  const query = pageQuery(state);
  const table = useAsync(() => unwrap(api.data.symbols.$get({ query })), [JSON.stringify(query)]);
  const factors = useAsync(() => loadFactors(), []);
  const metricsDate = table.data?.metrics_date ?? null;
  const sectors = useAsync(() => (metricsDate ? loadSectors(metricsDate) : Promise.resolve([])), [metricsDate]);
  const { reload: reloadTable } = table;
  const { reload: reloadSectors } = sectors;
  useEffect(
    () =>
      // A finished batch rewrites a date's metrics (usually a new latest date): show it.
      onLive((message) => {
        if (message.type !== "batch.completed") return;
        sectorsByDate.delete(message.date);
        reloadTable();
        reloadSectors();
      }),
    [reloadTable, reloadSectors],
  );

  const searchBox = useSearchText(state.q, (value) => navigate({ ...state, q: value, page: 1 }));
  const cap = useFilterText(
    state.minMarketCap,
    billionsText,
    (value) => (value < 0 ? "invalid" : dollarsFromBillions(value)),
    (value) => navigate({ ...state, minMarketCap: value, page: 1 }),
  );
  const pe = useFilterText(
    state.maxPeRatio,
    (value) => (value === null ? "" : String(value)),
    (value) => value,
    (value) => navigate({ ...state, maxPeRatio: value, page: 1 }),
  );

  /** Enter in a filter applies both typed values at once (they otherwise apply after a pause). */
  function applyNow(): void {
    const next = { ...state, page: 1 };
    if (cap.parsedValue !== "invalid") next.minMarketCap = cap.parsedValue;
    if (pe.parsedValue !== "invalid") next.maxPeRatio = pe.parsedValue;
    if (next.minMarketCap !== state.minMarketCap || next.maxPeRatio !== state.maxPeRatio) navigate(next);
  }

  const columns = buildColumns(factors.data, state.date);
  const sectorOptions = [...(sectors.data ?? [])];
  if (state.sector !== null && !sectorOptions.includes(state.sector)) sectorOptions.push(state.sector);
  const filtered =
    state.q !== null || state.sector !== null || state.minMarketCap !== null || state.maxPeRatio !== null;

  const [exporting, setExporting] = useState<{ status: "idle" | "running" | "error"; message?: string }>({
    status: "idle",
  });
  async function exportCsv(total: number): Promise<void> {
    setExporting({ status: "running" });
    try {
      const pages: string[] = [];
      for (const part of exportQueries(state, total, metricsDate)) {
        const response = await authorizedFetch(`/api/v1/data/symbols?${new URLSearchParams(part).toString()}`, {
          headers: { accept: "text/csv" },
        });
        pages.push(await response.text());
      }
      const name = ["symbols", metricsDate ?? "latest", state.sector?.toLowerCase().replace(/[^a-z0-9]+/g, "-")]
        .filter(Boolean)
        .join("-");
      download(new Blob([joinCsvPages(pages)], { type: "text/csv;charset=utf-8" }), `${name}.csv`);
      setExporting({ status: "idle" });
    } catch (error) {
      setExporting({ status: "error", message: describeFailure(error) });
    }
  }

  const total = table.data?.total_count;
  return (
    <Page
      title="Universe"
      subtitle={
        table.data ? (
          <>
            {table.data.metrics_date ? <>Metrics of {table.data.metrics_date}</> : <>No metrics computed yet</>}
            {state.date ? " (pinned)" : ""} · {table.data.total_count.toLocaleString("en-US")}{" "}
            {filtered ? "matching " : ""}symbols
          </>
        ) : (
          "The symbol table: sort on any column, filter, page"
        )
      }
      actions={
        <button
          type="button"
          class="button"
          data-testid="universe-export"
          // Not while the table reloads: the export's page count comes from the shown total.
          disabled={total === undefined || total === 0 || table.status === "loading" || exporting.status === "running"}
          onClick={() => total !== undefined && void exportCsv(total)}
          title="Every row that matches the filters, in the table's sort order, with every column the API returns"
        >
          {exporting.status === "running"
            ? "Preparing CSV…"
            : `Download CSV${total ? ` (all ${total.toLocaleString("en-US")} rows)` : ""}`}
        </button>
      }
    >
      {exporting.status === "error" ? (
        <div class="state state-error" role="alert">
          <strong>CSV export failed:</strong> {exporting.message}
        </div>
      ) : null}
      {/* A <fieldset> would bring its border, padding and legend layout to a toolbar styled as a row. */}
      {/* biome-ignore lint/a11y/useSemanticElements: a labelled group of controls */}
      <div class="toolbar universe-filters" role="group" aria-label="Filters">
        <Field
          label="Symbol or company"
          id="universe-search"
          class="universe-search"
          type="search"
          autocomplete="off"
          spellcheck={false}
          placeholder="e.g. SPY or software"
          title="Symbols that start with the text, or company names that contain it (any case)"
          value={searchBox.text}
          onInput={(event) => searchBox.setText(event.currentTarget.value)}
          onKeyDown={(event) => event.key === "Enter" && searchBox.applyNow()}
        />
        <div class="field">
          <label for="universe-sector">Sector</label>
          <select
            id="universe-sector"
            value={state.sector ?? ""}
            onChange={(event) => navigate({ ...state, sector: event.currentTarget.value || null, page: 1 })}
            aria-describedby={sectors.status === "error" ? "universe-sector-error" : undefined}
          >
            <option value="">All sectors</option>
            {sectorOptions.map((sector) => (
              <option key={sector} value={sector}>
                {sector}
              </option>
            ))}
          </select>
          {sectors.status === "error" ? (
            <small id="universe-sector-error" class="field-error">
              Sectors unavailable: {describeFailure(sectors.error)}
            </small>
          ) : null}
        </div>
        <Field
          label="Min market cap ($B)"
          id="universe-min-cap"
          class="filter-number"
          inputMode="decimal"
          autocomplete="off"
          placeholder="any"
          value={cap.text}
          error={cap.invalid ? "A number of billions, 0 or more" : null}
          onInput={(event) => cap.setText(event.currentTarget.value)}
          onKeyDown={(event) => event.key === "Enter" && applyNow()}
        />
        <Field
          label="Max P/E"
          id="universe-max-pe"
          class="filter-number"
          inputMode="decimal"
          autocomplete="off"
          placeholder="any"
          value={pe.text}
          error={pe.invalid ? "A number" : null}
          onInput={(event) => pe.setText(event.currentTarget.value)}
          onKeyDown={(event) => event.key === "Enter" && applyNow()}
        />
        <div class="field">
          <label for="universe-page-size">Rows per page</label>
          <select
            id="universe-page-size"
            value={String(state.pageSize)}
            onChange={(event) => navigate({ ...state, pageSize: Number(event.currentTarget.value), page: 1 })}
          >
            {pageSizes.map((size) => (
              <option key={size} value={String(size)}>
                {size}
              </option>
            ))}
          </select>
        </div>
        {filtered ? (
          <button
            type="button"
            class="button ghost"
            onClick={() =>
              navigate({
                ...defaultUniverseState,
                sortBy: state.sortBy,
                sortOrder: state.sortOrder,
                pageSize: state.pageSize,
                date: state.date,
              })
            }
          >
            Clear filters
          </button>
        ) : null}
        <Legend />
      </div>

      <Async state={table} what="symbols">
        {(body) => {
          if (body.metrics_date === null)
            return <Empty>No metrics have been computed yet: the table fills after the first batch run.</Empty>;
          const range = pageRange(state.page, state.pageSize, body.total_count, body.symbols.length);
          if (body.symbols.length === 0) {
            return body.total_count > 0 ? (
              <Empty>
                Page {state.page} is past the last page ({range.pages}).{" "}
                <button type="button" class="link-button" onClick={() => navigate({ ...state, page: range.pages })}>
                  Go to page {range.pages}
                </button>
              </Empty>
            ) : (
              <Empty>
                {state.q !== null
                  ? `No symbol starts with “${state.q}” and no company name contains it${
                      state.sector !== null || state.minMarketCap !== null || state.maxPeRatio !== null
                        ? " within these filters"
                        : ""
                    }. `
                  : "No symbols match these filters. "}
                {filtered ? (
                  <button
                    type="button"
                    class="link-button"
                    onClick={() =>
                      navigate({ ...state, q: null, sector: null, minMarketCap: null, maxPeRatio: null, page: 1 })
                    }
                  >
                    Clear filters
                  </button>
                ) : null}
              </Empty>
            );
          }
          return (
            <>
              <TableWrap label="Symbols table" class="universe-wrap">
                <table class="data universe-table" aria-label="Symbols" aria-rowcount={body.total_count + 1}>
                  <thead>
                    <tr>
                      {columns.map((column) => (
                        <SortHeader
                          key={column.key}
                          column={column}
                          state={state}
                          onSort={(sort) => navigate(sortedBy(state, sort))}
                        />
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {body.symbols.map((row, index) => (
                      <tr key={row.symbol} aria-rowindex={range.first + index + 1}>
                        {columns.map((column) =>
                          column.factor ? (
                            <FactorCell
                              key={column.key}
                              value={row[column.factor.column]}
                              scale={column.factor.scale}
                              label={column.label}
                              symbol={row.symbol}
                            />
                          ) : column.key === "symbol" ? (
                            <th key={column.key} scope="row">
                              {column.cell(row)}
                            </th>
                          ) : (
                            <td key={column.key} class={column.numeric ? "num" : ""}>
                              {column.cell(row)}
                            </td>
                          ),
                        )}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
              <nav class="pager" aria-label="Pages">
                <span data-testid="universe-range" aria-live="polite">
                  Rows {range.first.toLocaleString("en-US")}–{range.last.toLocaleString("en-US")} of{" "}
                  {range.total.toLocaleString("en-US")}
                </span>
                <span class="muted">
                  Page {state.page} of {range.pages}
                </span>
                <button
                  type="button"
                  class="button small"
                  disabled={!range.hasPrevious}
                  onClick={() => navigate({ ...state, page: 1 })}
                >
                  First
                </button>
                <button
                  type="button"
                  class="button small"
                  disabled={!range.hasPrevious}
                  onClick={() => navigate({ ...state, page: state.page - 1 })}
                >
                  Previous
                </button>
                <button
                  type="button"
                  class="button small"
                  disabled={!range.hasNext}
                  onClick={() => navigate({ ...state, page: state.page + 1 })}
                >
                  Next
                </button>
                <button
                  type="button"
                  class="button small"
                  disabled={!range.hasNext}
                  onClick={() => navigate({ ...state, page: range.pages })}
                >
                  Last
                </button>
              </nav>
            </>
          );
        }}
      </Async>
    </Page>
  );
}
