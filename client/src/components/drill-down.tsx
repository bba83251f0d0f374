// The stocks behind one heatmap cell: each holding's notional weight, delta-adjusted weight
// (delta × weight), beta and contribution (delta-adjusted weight × beta), sortable by any
// column and filtered by symbol or name; the holdings left out with their reasons; a cash row
// and totals that sum to the cell and say why the weights sum to what they do. It scrolls into
// view when it opens; the table scrolls sideways on its own (first column pinned) on a phone.
// The pure parts (order, filter, totals, CSV) are in lib/drill-down.ts.
import type { JSX } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, unwrap } from "../api/client.ts";
import type { DrillDown } from "../api/types.ts";
import { drillDownCoverage, reasonLabel } from "../lib/data-quality.ts";
import {
  drillDownCsv,
  formatDelta,
  holdingLine,
  drillDownTotals,
  filterNote,
  holdingRows,
  leftOutRows,
  matchesFilter,
  nextSort,
  type SortKey,
  type SortState,
  sortHoldings,
  sortLeftOut,
  weightsNote,
} from "../lib/drill-down.ts";
import { formatDollars, formatExposure, formatPercent } from "../lib/format.ts";
import { useAsync } from "../state/use-async.ts";
import { Async, Card, download } from "./ui.tsx";
import "./data-quality.css";
import "./drill-down.css";

export interface DrillDownTarget {
  portfolioId: string;
  portfolioName: string;
  factorKey: string;
  factorName: string;
  date: string;
  /**
   * The heatmap's view when it is not the portfolio's own exposure (e.g. "Active"): the table
   * always breaks down the portfolio's exposure, and says so. Optional: older callers omit it.
   */
  view?: string;
}

/** The element that has focus is one the user types into: opening the panel must not take it away. */
function isTyping(element: Element | null): boolean {
  if (!(element instanceof HTMLElement)) return false;
  if (element.isContentEditable || element instanceof HTMLTextAreaElement || element instanceof HTMLSelectElement)
    return true;
  return (
    element instanceof HTMLInputElement && !["button", "submit", "reset", "checkbox", "radio"].includes(element.type)
  );
}

export function DrillDownPanel(props: { target: DrillDownTarget; onClose: () => void }): JSX.Element {
  const { portfolioId, factorKey, date } = props.target;
  const state = useAsync(
    () =>
      unwrap(
        api.portfolios[":id"].exposures.stocks.$get({ param: { id: portfolioId }, query: { factor: factorKey, date } }),
      ),
    [portfolioId, factorKey, date],
  );
  const [sort, setSort] = useState<SortState | null>(null);
  const anchor = useRef<HTMLDivElement>(null);

  // On opening and on each new cell: focus on the heading (so that a screen reader announces
  // what opened) unless the user is typing somewhere, and, once this cell's answer is shown (the
  // page is only then tall enough to scroll to it), the panel into view. A panel whose top is
  // already near the top of the viewport is left where it is.
  const section = (): HTMLElement | null | undefined => anchor.current?.closest<HTMLElement>("section.card");
  const scrollPending = useRef(false);
  useEffect(() => {
    scrollPending.current = true;
    const heading = section()?.querySelector<HTMLElement>("h2");
    if (heading && !isTyping(document.activeElement)) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
  }, [portfolioId, factorKey, date]);
  const answered =
    (state.data?.portfolio_id === portfolioId && state.data.factor_key === factorKey && state.data.date === date) ||
    state.status === "error";
  useEffect(() => {
    const panel = section();
    if (!answered || !scrollPending.current || !panel) return;
    scrollPending.current = false;
    const top = panel.getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight * 0.25) {
      const reduce = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
      panel.scrollIntoView({ block: "start", behavior: reduce ? "auto" : "smooth" });
    }
  }, [answered, portfolioId, factorKey, date]);

  const view = props.target.view;
  const exportCsv = (data: DrillDown): void => {
    const csv = drillDownCsv(
      data,
      {
        portfolioName: props.target.portfolioName,
        portfolioId,
        factorName: props.target.factorName,
        factorKey,
        date: data.date,
        view: view ? `portfolio exposure (the heatmap showed the ${view} view)` : "portfolio exposure",
      },
      sort,
    );
    download(new Blob([csv], { type: "text/csv;charset=utf-8" }), `drill-down-${portfolioId}-${factorKey}-${date}.csv`);
  };

  const data = state.data;
  return (
    <Card
      class="drill-down"
      label="Drill-down"
      title={
        <>
          {props.target.factorName} · {props.target.portfolioName} · {date}
        </>
      }
      actions={
        <>
          <button
            type="button"
            class="button small"
            disabled={data === undefined}
            onClick={() => data && exportCsv(data)}
            title="Every holding, the cash row and the totals, rounded (the precision is in the file)"
          >
            Export CSV
          </button>
          <button type="button" class="button small ghost" onClick={props.onClose} aria-label="Close the drill-down">
            Close
          </button>
        </>
      }
    >
      <div ref={anchor}>
        <Async state={state} what="the stocks behind this cell">
          {(loaded) => <DrillDownTable data={loaded} view={view} sort={sort} onSort={setSort} />}
        </Async>
      </div>
    </Card>
  );
}

interface Column {
  key: SortKey;
  label: string;
  /** A second line under the label: what the number is, visible without a hover. */
  hint?: string;
  title: string;
  numeric: boolean;
}

const columns: readonly Column[] = [
  { key: "symbol", label: "Symbol", title: "The holding; its company name below", numeric: false },
  {
    key: "weight",
    label: "Weight",
    hint: "notional",
    title: "Market value ÷ equity; an option at its notional (contracts × multiplier × underlying price)",
    numeric: true,
  },
  {
    key: "delta_weight",
    label: "Δ-adj. weight",
    hint: "delta × weight",
    title:
      "Delta-adjusted weight: delta × notional weight, the part that moves with the underlying. " +
      "The contribution uses this weight.",
    numeric: true,
  },
  { key: "delta", label: "Delta", title: "1 for a stock; an option's delta per unit of its underlying", numeric: true },
  { key: "beta", label: "Beta", title: "The underlying's beta to this factor on the date", numeric: true },
  {
    key: "contribution",
    label: "Contribution",
    hint: "Δ-adj. weight × beta",
    title: "Delta-adjusted weight × beta. The column sums to the cell's exposure.",
    numeric: true,
  },
  {
    key: "contribution_dollar",
    label: "Contribution $",
    hint: "value × delta × beta",
    title: "Market value × delta × beta: the contribution in dollars (the column sums to exposure × equity)",
    numeric: true,
  },
  // Last: on a phone the numbers come right after the pinned symbol.
  { key: "instrument", label: "Instrument", title: "Stock, ETF or option", numeric: false },
];

function sortText(sort: SortState | null): string {
  if (sort === null) return "Ordered by size of contribution, largest first.";
  const column = columns.find((entry) => entry.key === sort.key);
  const text = column?.numeric === false;
  const order =
    sort.direction === "ascending" ? (text ? "A to Z" : "smallest first") : text ? "Z to A" : "largest first";
  return `Sorted by ${column?.label ?? sort.key}, ${order}.`;
}

/** The symbol (a link to its underlying's page) over a second line: the company, or an option's terms. */
function SymbolCell(props: { symbol: string; betaSymbol: string; name: string | null; count?: number }): JSX.Element {
  const line = holdingLine(props);
  return (
    <th scope="row" class="symbol-cell">
      <a href={`/universe/${encodeURIComponent(props.betaSymbol)}`}>{props.symbol}</a>
      {props.count !== undefined && props.count > 1 ? <span class="muted small"> ×{props.count}</span> : null}
      {line ? (
        <span
          class="holding-name muted small"
          title={props.name && props.name !== line ? `${line} · ${props.name}` : line}
        >
          {line}
        </span>
      ) : null}
    </th>
  );
}

function DrillDownTable(props: {
  data: DrillDown;
  view: string | undefined;
  sort: SortState | null;
  onSort: (sort: SortState | null) => void;
}): JSX.Element {
  const { data, sort } = props;
  const [filter, setFilter] = useState("");
  const coverage = drillDownCoverage(data);
  const totals = useMemo(() => drillDownTotals(data), [data]);
  const holdings = useMemo(() => sortHoldings(holdingRows(data), sort), [data, sort]);
  const leftOut = useMemo(() => sortLeftOut(leftOutRows(data), sort), [data, sort]);
  const shownHoldings = holdings.filter((row) => matchesFilter(row, filter));
  const shownLeftOut = leftOut.filter((row) => matchesFilter(row, filter));
  const hidden = filterNote(
    { holdings: shownHoldings.length, leftOut: shownLeftOut.length },
    { holdings: holdings.length, leftOut: leftOut.length },
  );
  const leftOutPositions = data.missing.reduce((count, item) => count + item.position_ids.length, 0);
  const ariaSort = (key: SortKey) => (sort?.key === key ? sort.direction : undefined);
  const noteId = `drill-down-note-${data.portfolio_id}-${data.factor_key}`;

  return (
    <>
      <p class="muted small" data-testid="drill-down-summary">
        Exposure {formatExposure(data.exposure)} ({formatDollars(data.exposure_dollar)}), coverage{" "}
        <span data-testid="drill-down-coverage">{coverage.text}</span>, equity {formatDollars(data.equity)}.
        {data.weights_available
          ? ""
          : " Weights are not available (equity is not positive); contributions are shown in dollars only."}
        {props.view
          ? ` The heatmap shows the ${props.view} view; this table breaks down the portfolio's own exposure.`
          : ""}
      </p>
      <div class="drill-down-tools">
        <div class="field">
          <label for={`${noteId}-filter`}>Filter holdings</label>
          <input
            id={`${noteId}-filter`}
            type="search"
            value={filter}
            placeholder="Symbol or company name"
            autoComplete="off"
            onInput={(event) => setFilter(event.currentTarget.value)}
          />
        </div>
        <p class="muted small drill-down-order" role="status" data-testid="drill-down-status">
          {hidden ? <strong data-testid="drill-down-filter-note">{hidden}. </strong> : null}
          {sortText(sort)}{" "}
          {sort ? (
            <button type="button" class="link-button" onClick={() => props.onSort(null)}>
              Order by size
            </button>
          ) : null}
        </p>
      </div>
      {/* A labelled section is a region; focusable so that a keyboard can scroll it sideways. */}
      <section
        class="table-wrap drill-down-scroll"
        aria-label="Drill-down holdings table (scrolls sideways)"
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scroll region must be reachable from the keyboard.
        tabIndex={0}
      >
        <table class="data drill-down-table" data-testid="drill-down-table" aria-describedby={noteId}>
          <caption class="visually-hidden">
            Holdings behind the cell. {sortText(sort)} {hidden ?? ""}
          </caption>
          <thead>
            <tr>
              {columns.map((column) => (
                <th
                  key={column.key}
                  scope="col"
                  class={column.numeric ? "num" : undefined}
                  aria-sort={ariaSort(column.key)}
                  title={column.title}
                >
                  <button
                    type="button"
                    class="sort-button"
                    data-sort-key={column.key}
                    onClick={() => props.onSort(nextSort(sort, column.key))}
                  >
                    <span class="sort-label">
                      {column.label}
                      <span class="sort-mark" aria-hidden="true">
                        {sort?.key === column.key ? (sort.direction === "ascending" ? "▲" : "▼") : "↕"}
                      </span>
                    </span>
                    {column.hint ? <span class="sort-hint">{column.hint}</span> : null}
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody data-testid="drill-down-holdings">
            {shownHoldings.map((row) => (
              <tr key={row.key} data-symbol={row.symbol} data-instrument={row.instrument}>
                <SymbolCell symbol={row.symbol} betaSymbol={row.betaSymbol} name={row.name} />
                <td class="num" data-weight={row.weight ?? ""}>
                  {formatPercent(row.weight, 2)}
                </td>
                <td
                  class={`num ${row.instrument === "option" ? "option-weight" : "muted"}`}
                  data-delta-weight={row.deltaWeight ?? ""}
                >
                  {formatPercent(row.deltaWeight, 2)}
                </td>
                <td class="num">{formatDelta(row.delta)}</td>
                <td class="num">{formatExposure(row.beta)}</td>
                <td class="num" data-contribution={row.contribution ?? ""}>
                  {formatExposure(row.contribution, 4)}
                </td>
                <td class="num">{formatDollars(row.contributionDollar)}</td>
                <td>{row.instrument}</td>
              </tr>
            ))}
            {shownHoldings.length === 0 ? (
              <tr class="empty-row">
                <td colSpan={columns.length} class="muted">
                  No holding with a beta matches “{filter}”.
                </td>
              </tr>
            ) : null}
          </tbody>
          {data.missing.length > 0 ? (
            <tbody class="left-out-rows" data-testid="drill-down-left-out">
              <tr class="group-row">
                <th scope="rowgroup" colSpan={columns.length}>
                  {/* Pinned like the first column, so that a phone shows it without scrolling sideways. */}
                  <span class="group-label">
                    Left out of the total: {leftOutPositions} position{leftOutPositions === 1 ? "" : "s"} without a beta
                    for this factor
                  </span>
                </th>
              </tr>
              {shownLeftOut.map((item) => (
                <tr key={item.key} class="left-out-row" data-reason={item.reason}>
                  <SymbolCell
                    symbol={item.symbol}
                    betaSymbol={item.betaSymbol}
                    name={item.name}
                    count={item.positions}
                  />
                  <td class="num">
                    {item.weight === null ? <span class="muted">no weight</span> : formatPercent(item.weight, 2)}
                  </td>
                  <td colSpan={4} class="reason" title={item.detail || undefined}>
                    <strong>{reasonLabel(item.reason)}</strong>
                    {item.detail ? <span class="muted">: {item.detail}</span> : null}
                  </td>
                  <td class="num" title="Market value (not counted)">
                    {item.marketValue === null ? (
                      <span class="muted">no value</span>
                    ) : (
                      <span class="muted">{formatDollars(item.marketValue)}</span>
                    )}
                  </td>
                  <td>{item.instrument}</td>
                </tr>
              ))}
            </tbody>
          ) : null}
          <tbody class="cash-rows">
            <tr class="cash-row" data-testid="drill-down-cash">
              <th scope="row" class="symbol-cell">
                Cash
                <span class="holding-name muted small">part of equity</span>
              </th>
              <td class="num" data-weight={totals.cashWeight ?? ""}>
                {formatPercent(totals.cashWeight, 2)}
              </td>
              <td class="num muted">{formatPercent(totals.cashWeight === null ? null : 0, 2)}</td>
              <td colSpan={2} class="muted">
                no factor loading
              </td>
              <td class="num">{formatExposure(totals.weightsAvailable ? 0 : null, 4)}</td>
              <td class="num">{formatDollars(0)}</td>
              <td>cash</td>
            </tr>
          </tbody>
          <tfoot>
            <tr data-testid="drill-down-totals">
              <th scope="row" class="symbol-cell">
                Total
                <span class="holding-name small">
                  all {totals.holdings} holding{totals.holdings === 1 ? "" : "s"}
                  {totals.leftOut > 0 ? `, ${totals.leftOut} left out` : ""}, cash
                  {hidden ? ` (${shownHoldings.length} shown)` : ""}
                </span>
              </th>
              <td class="num" data-testid="drill-down-total-weight" data-total={totals.allWeights ?? ""}>
                {formatPercent(totals.allWeights, 2)}
              </td>
              <td class="num" data-total={totals.deltaWeight ?? ""}>
                {formatPercent(totals.deltaWeight, 2)}
              </td>
              <td />
              <td />
              <td class="num" data-testid="drill-down-total" data-total={totals.contribution ?? ""}>
                {formatExposure(totals.contribution, 4)}
                <span class="cell-value small" data-testid="drill-down-cell-value">
                  cell {formatExposure(totals.cellExposure, 4)}
                </span>
              </td>
              <td class="num">
                {formatDollars(totals.contributionDollar)}
                <span class="cell-value small">cell {formatDollars(totals.cellExposureDollar)}</span>
              </td>
              <td />
            </tr>
          </tfoot>
        </table>
      </section>
      <p class="small drill-down-note" id={noteId} data-testid="drill-down-weights-note">
        {hidden ? <strong>{hidden}. </strong> : null}
        {weightsNote(totals)} Contributions use the delta-adjusted weight and sum to the cell's exposure.
      </p>
    </>
  );
}
