// Risk: one portfolio's risk on a date and its history (docs/design.md §11), all served by the
// API, nothing recomputed here. State in the URL: `?portfolio=&date=&benchmark=&from=&to=&view=`.
// - headline: volatility, tracking error, one-day VaR, factor against specific share, each with
//   its stored history (GET …/risk?from&to) as a sparkline;
// - factor contributions to the variance, total or active, with each exposure's standard error;
// - holdings' Euler contributions in a sortable table (a click opens the symbol);
// - cumulative P&L attribution over the range: stacked uPlot areas and the table;
// - stress on the risk lens: predictive shocks and historical replay (RiskStress).
// A position change or a batch reaches the page live (`risk.updated`, `exposures.updated`,
// `resync`, `batch.completed`, the portfolio's `alert.*`) and reloads what it shows. A breached limit
// of the shown date outlines its factor's bar and the volatility / tracking error tile.
import type { JSX } from "preact";
import { useLocation } from "preact-iso";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type {
  AttributionResponse,
  PortfolioRiskResponse,
  PortfolioRiskSeriesResponse,
} from "../../../worker/api/portfolio-risk.ts";
import type { RiskFactorsResponse } from "../../../worker/api/risk.ts";
import { api, unwrap } from "../api/client.ts";
import { type AttributionChart, createAttributionChart } from "../charts/attribution.ts";
import { lineColors } from "../charts/lines.ts";
import { DateField } from "../components/date-field.tsx";
import { ImpactBars, type ImpactBarItem } from "../components/impact-bars.tsx";
import { RiskStress } from "../components/risk-stress.tsx";
import { Card, Empty, ErrorNotice, Field, Loading, Page, Segmented, TableWrap, download } from "../components/ui.tsx";
import {
  formatDollars,
  formatExposure,
  formatInstant,
  formatMoney,
  formatNumber,
  formatPercent,
  missing,
} from "../lib/format.ts";
import { reasonLabel } from "../lib/data-quality.ts";
import { type RiskBreaches, riskBreaches } from "../lib/limit-view.ts";
import {
  attributionCsv,
  attributionStack,
  type HoldingRow,
  type HoldingSortKey,
  riskCsv,
  type SortDirection,
  sortHoldings,
  sparklinePoints,
} from "../lib/risk-view.ts";
import { onLive, subscribePortfolio } from "../state/live.ts";
import { can } from "../state/session.ts";
import { useAsync, useDebounced } from "../state/use-async.ts";
import { addDays } from "../../../worker/dates.ts";
import "./risk.css";

/**
 * The API's default range in days (`defaultRiskRangeDays` of worker/api/portfolio-risk.ts, which
 * imports full zod: kept out of the bundle, so restated here).
 */
const defaultRiskRangeDays = 180;

/** Today as an ISO date in UTC (the API's dates are trading days, UTC). */
function todayIso(): string {
  return new Date().toISOString().slice(0, 10);
}

type RiskDate = Extract<PortfolioRiskResponse, { mode: "date" }>;
type RiskFactor = RiskFactorsResponse["factors"][number];
type View = "total" | "active";

/** How long live messages must settle before the page reloads (a burst of them is one reload). */
const liveSettleMs = 300;

function usePortfolioQuery(): {
  query: Record<string, string>;
  setQuery: (changes: Record<string, string | null>) => void;
} {
  const location = useLocation();
  const setQuery = (changes: Record<string, string | null>) => {
    const params = new URLSearchParams(location.query);
    for (const [key, value] of Object.entries(changes)) {
      if (value === null || value === "") params.delete(key);
      else params.set(key, value);
    }
    const search = params.toString();
    location.route(`${location.path}${search ? `?${search}` : ""}`, true);
  };
  return { query: location.query, setQuery };
}

function Sparkline(props: { values: readonly (number | null)[]; label: string }): JSX.Element | null {
  const width = 120;
  const height = 28;
  const runs = sparklinePoints(props.values, width, height);
  if (runs.length === 0) return null;
  return (
    <svg class="sparkline" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img">
      <title>{props.label}</title>
      {runs.map((points) => (
        <polyline key={points} points={points} fill="none" stroke="currentColor" stroke-width="1.5" />
      ))}
    </svg>
  );
}

function Headline(props: {
  label: string;
  value: string;
  secondary?: string;
  testId: string;
  dataValue: number | null;
  history: readonly (number | null)[] | null;
  historyLabel: string;
  unavailable?: string | null;
  title?: string;
  /** A breached limit on this figure (its description): outlined, and said in the title. */
  breached?: string | null;
}): JSX.Element {
  return (
    <div
      class={`risk-headline${props.breached ? " breached" : ""}`}
      title={props.breached ? `${props.title ?? ""}. Limit breached: ${props.breached}` : props.title}
      data-breached={props.breached ? "" : undefined}
    >
      <div class="risk-headline-label">{props.label}</div>
      <div class="risk-headline-value" data-testid={props.testId} data-value={props.dataValue ?? ""}>
        {props.unavailable ? missing : props.value}
      </div>
      {props.breached ? <span class="visually-hidden">Limit breached: {props.breached}</span> : null}
      {props.unavailable ? (
        <div class="risk-headline-note">{props.unavailable}</div>
      ) : props.secondary ? (
        <div class="risk-headline-note">{props.secondary}</div>
      ) : null}
      {props.history ? <Sparkline values={props.history} label={props.historyLabel} /> : null}
    </div>
  );
}

function unavailableText(block: { reason: string; detail: string } | null): string | null {
  return block ? `${reasonLabel(block.reason)}: ${block.detail}` : null;
}

function HeadlineFigures(props: {
  risk: RiskDate;
  series: PortfolioRiskSeriesResponse | null;
  breaches: RiskBreaches;
}): JSX.Element {
  const { risk, series } = props;
  const total = risk.total;
  const active = risk.active;
  const totalMissing = unavailableText(risk.total_unavailable) ?? (total ? null : "Not available");
  const activeMissing =
    risk.benchmark === null
      ? "No benchmark chosen"
      : (unavailableText(risk.active_unavailable) ?? (active ? null : "Not available"));
  const range = series ? `${series.from} to ${series.to}` : "";
  return (
    // biome-ignore lint/a11y/useSemanticElements: a labelled group of figures, not a form's fieldset
    <div class="risk-headlines" role="group" aria-label="Headline figures">
      <Headline
        label="Volatility (annualized)"
        value={formatPercent(total?.volatility, 2)}
        secondary={total ? `${formatDollars(total.volatility_dollar)} a year` : undefined}
        testId="risk-volatility"
        dataValue={total?.volatility ?? null}
        history={series?.volatility ?? null}
        historyLabel={`Volatility, ${range}`}
        unavailable={totalMissing}
        title="sqrt(252 × daily variance): a fraction of equity a year"
        breached={props.breaches.volatility}
      />
      <Headline
        label={`Tracking error${risk.benchmark ? ` vs ${risk.benchmark}` : ""}`}
        value={formatPercent(active?.tracking_error, 2)}
        secondary={active ? `${formatDollars(active.tracking_error_dollar)} a year` : undefined}
        testId="risk-tracking-error"
        dataValue={active?.tracking_error ?? null}
        history={series?.tracking_error ?? null}
        historyLabel={`Tracking error against the portfolio's benchmark, ${range}`}
        unavailable={activeMissing}
        title="sqrt(252 × variance of the portfolio minus its benchmark)"
        breached={props.breaches.trackingError}
      />
      <Headline
        label="One-day VaR 95%"
        value={formatMoney(total?.value_at_risk_95, { cents: "never" })}
        secondary={total ? `99%: ${formatMoney(total.value_at_risk_99, { cents: "never" })}` : undefined}
        testId="risk-var-95"
        dataValue={total?.value_at_risk_95 ?? null}
        history={series?.value_at_risk_95 ?? null}
        historyLabel={`One-day VaR 95%, ${range}`}
        unavailable={totalMissing}
        title="Parametric: z × sqrt(daily variance) × equity, a loss in dollars"
      />
      <Headline
        label="Factor / specific"
        value={
          total?.factor_share === null || total?.factor_share === undefined
            ? missing
            : `${formatPercent(total.factor_share)} / ${formatPercent(1 - total.factor_share)}`
        }
        secondary="share of the variance"
        testId="risk-factor-share"
        dataValue={total?.factor_share ?? null}
        history={series?.factor_share ?? null}
        historyLabel={`Factor share of the variance, ${range}`}
        unavailable={totalMissing}
        title="Factor variance bᵀΣb against specific variance Σ X² s², as shares of the total"
      />
    </div>
  );
}

function contributionItems(risk: RiskDate, view: View, names: Map<string, RiskFactor>): ImpactBarItem[] | null {
  const block = view === "total" ? risk.total : risk.active;
  if (!block) return null;
  const exposures = new Map(
    (view === "total" ? (risk.exposures ?? []) : (risk.active_exposures ?? [])).map((e) => [e.factor_key, e]),
  );
  const items: ImpactBarItem[] = block.factors.map((factor) => {
    const exposure = exposures.get(factor.factor_key);
    const name = names.get(factor.factor_key)?.name ?? factor.factor_key;
    const se = exposure ? ` ± ${formatNumber(exposure.standard_error, 3)} SE` : "";
    const flat = exposure && !exposure.distinguishable ? " · not distinguishable from zero" : "";
    return {
      key: `contribution-${factor.factor_key}`,
      label: name,
      detail: `exposure ${formatExposure(factor.exposure)}${se}${flat}`,
      value: factor.share,
      text: formatPercent(factor.share),
      title:
        `${name}: ${formatPercent(factor.share)} of the ${view === "total" ? "variance" : "active variance"}` +
        (exposure
          ? `; exposure ${formatExposure(exposure.exposure)}, ` +
            `standard error ${formatNumber(exposure.standard_error, 4)}` +
            (exposure.distinguishable ? "" : " (|exposure| < 2 SE: not distinguishable from zero)") +
            ". Standard errors take estimation errors as independent across symbols."
          : ""),
    };
  });
  const specificShare = block.variance > 0 ? block.specific_variance / block.variance : null;
  items.push({
    key: "contribution-specific",
    label: "Specific",
    detail: "Σ X² s² over the symbols",
    value: specificShare,
    text: formatPercent(specificShare),
    title: "The symbols' own (residual) variance, summed per symbol",
  });
  return items;
}

const holdingColumns: readonly { key: HoldingSortKey; label: string; title: string }[] = [
  { key: "symbol", label: "Symbol", title: "The symbol (stock and options on it share one row)" },
  { key: "weight", label: "Weight", title: "X_s: Σ weight × delta of the symbol's positions" },
  { key: "factor_part", label: "Factor part", title: "X_s b_sᵀ Σ b, as a share of the variance" },
  { key: "specific_part", label: "Specific part", title: "X_s² s²_s, as a share of the variance" },
  { key: "share", label: "Share", title: "Contribution h_s / variance: the shares add up to 100%" },
  { key: "marginal", label: "Marginal", title: "The volatility added per unit of weight (daily)" },
];

const holdingPageSize = 50;

function HoldingsTable(props: { rows: readonly HoldingRow[]; view: View; variance: number }): JSX.Element {
  const location = useLocation();
  const [sort, setSort] = useState<{ key: HoldingSortKey; direction: SortDirection }>({
    key: "share",
    direction: "descending",
  });
  const [all, setAll] = useState(false);
  const sorted = useMemo(() => sortHoldings(props.rows, sort.key, sort.direction), [props.rows, sort]);
  const shown = all ? sorted : sorted.slice(0, holdingPageSize);
  const toggle = (key: HoldingSortKey) =>
    setSort((current) =>
      current.key === key
        ? { key, direction: current.direction === "ascending" ? "descending" : "ascending" }
        : { key, direction: key === "symbol" ? "ascending" : "descending" },
    );
  const format = (key: HoldingSortKey, row: HoldingRow): string => {
    switch (key) {
      case "symbol":
        return row.symbol;
      case "weight":
        return formatPercent(row.weight, 2);
      case "share":
        return formatPercent(row.share, 2);
      case "marginal":
        return formatPercent(row.marginal, 3);
      default:
        // Daily variance is unreadable as a number (4.6e−6): shown as its share of the variance.
        return props.variance > 0 ? formatPercent(row[key] / props.variance, 2) : formatNumber(row[key], 8);
    }
  };
  return (
    <TableWrap label="Holding contributions">
      <table class="data risk-holdings" data-testid="risk-holdings">
        <caption class="visually-hidden">
          Holding contributions to the {props.view === "total" ? "variance" : "active variance"}, sortable by column
        </caption>
        <thead>
          <tr>
            {holdingColumns.map((column) => (
              <th
                key={column.key}
                scope="col"
                aria-sort={sort.key === column.key ? sort.direction : "none"}
                class={column.key === "symbol" ? "" : "num"}
              >
                <button type="button" title={column.title} onClick={() => toggle(column.key)}>
                  {column.label}
                  <span aria-hidden="true">
                    {sort.key === column.key ? (sort.direction === "ascending" ? " ▲" : " ▼") : ""}
                  </span>
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {shown.map((row) => (
            <tr
              key={row.symbol}
              class="clickable"
              data-symbol={row.symbol}
              onClick={(event) => {
                // The link handles its own click; anywhere else on the row opens the symbol too.
                if ((event.target as HTMLElement).closest("a")) return;
                location.route(`/universe/${encodeURIComponent(row.symbol)}`);
              }}
            >
              {holdingColumns.map((column) =>
                column.key === "symbol" ? (
                  <th key={column.key} scope="row" class="row-head">
                    <a href={`/universe/${encodeURIComponent(row.symbol)}`}>{row.symbol}</a>
                    {row.position_ids.length === 0 ? <span class="muted"> (benchmark)</span> : null}
                  </th>
                ) : (
                  <td key={column.key} class="num" data-column={column.key} data-value={row[column.key] ?? ""}>
                    {format(column.key, row)}
                  </td>
                ),
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {sorted.length > holdingPageSize ? (
        <button type="button" class="button small ghost" onClick={() => setAll(!all)}>
          {all ? `Show the first ${holdingPageSize}` : `Show all ${sorted.length}`}
        </button>
      ) : null}
    </TableWrap>
  );
}

/** A canvas with a title line above the chart's own pixels, as a PNG. */
function chartPng(source: HTMLCanvasElement, title: string): Promise<Blob> {
  const ratio = window.devicePixelRatio || 1;
  const header = Math.round(28 * ratio);
  const output = document.createElement("canvas");
  output.width = source.width;
  output.height = source.height + header;
  const context = output.getContext("2d");
  if (!context) return Promise.reject(new Error("no 2D canvas"));
  context.fillStyle = "#ffffff";
  context.fillRect(0, 0, output.width, output.height);
  context.fillStyle = "#1f2933";
  context.font = `600 ${Math.round(13 * ratio)}px system-ui, sans-serif`;
  context.textBaseline = "middle";
  context.fillText(title, Math.round(8 * ratio), header / 2);
  context.drawImage(source, 0, header);
  return new Promise((resolve, reject) =>
    output.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("the PNG could not be encoded"))), "image/png"),
  );
}

/** Bars (label, value, printed text) drawn on a canvas for a PNG: the contribution bars as shown. */
function barsPng(title: string, items: readonly ImpactBarItem[]): Promise<Blob> {
  const ratio = 2;
  const rowHeight = 26;
  const width = 720;
  const height = 40 + items.length * rowHeight + 12;
  const output = document.createElement("canvas");
  output.width = width * ratio;
  output.height = height * ratio;
  const context = output.getContext("2d");
  if (!context) return Promise.reject(new Error("no 2D canvas"));
  context.scale(ratio, ratio);
  context.fillStyle = "#ffffff";
  context.fillRect(0, 0, width, height);
  context.fillStyle = "#1f2933";
  context.font = "600 13px system-ui, sans-serif";
  context.textBaseline = "middle";
  context.fillText(title, 8, 18);
  const extent = Math.max(1e-12, ...items.map((item) => Math.abs(item.value ?? 0)));
  const zero = 420;
  const half = 180;
  context.font = "12px system-ui, sans-serif";
  items.forEach((item, i) => {
    const y = 40 + i * rowHeight + rowHeight / 2;
    context.fillStyle = "#1f2933";
    context.textAlign = "left";
    context.fillText(typeof item.label === "string" ? item.label : item.key, 8, y);
    const value = item.value ?? 0;
    const length = (Math.abs(value) / extent) * half;
    context.fillStyle = value < 0 ? "#c0392b" : "#2e8540";
    context.fillRect(value < 0 ? zero - length : zero, y - 7, length, 14);
    context.fillStyle = "#1f2933";
    context.textAlign = "right";
    context.fillText(item.text, width - 8, y);
  });
  context.strokeStyle = "#52606d";
  context.beginPath();
  context.moveTo(zero + 0.5, 34);
  context.lineTo(zero + 0.5, height - 6);
  context.stroke();
  return new Promise((resolve, reject) =>
    output.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("the PNG could not be encoded"))), "image/png"),
  );
}

function AttributionView(props: {
  attribution: AttributionResponse;
  names: Map<string, RiskFactor>;
  portfolioName: string;
}): JSX.Element {
  const { attribution } = props;
  const host = useRef<HTMLDivElement>(null);
  const chart = useRef<AttributionChart | null>(null);
  const [cursor, setCursor] = useState<number | null>(null);
  const stack = useMemo(() => attributionStack(attribution), [attribution]);
  const labels = [...attribution.factors.map((key) => props.names.get(key)?.name ?? key), "Specific"];
  const colors = [...attribution.factors.map((_, i) => lineColors[i % lineColors.length] ?? "#7F7F7F"), "#9AA5B1"];

  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const created = createAttributionChart(element, Math.max(280, element.clientWidth), 280, setCursor);
    chart.current = created;
    const observer = new ResizeObserver(() => created.setSize(Math.max(280, element.clientWidth), 280));
    observer.observe(element);
    return () => {
      observer.disconnect();
      created.destroy();
      chart.current = null;
    };
  }, []);
  useEffect(() => {
    if (stack.dates.length > 0) chart.current?.setData({ stack, labels, colors });
  }, [stack]);

  const last = stack.dates.length - 1;
  const at = cursor ?? last;
  const top = stack.stacked.at(-1)?.[last] ?? null;
  const lastPnl = stack.pnl[last] ?? null;
  const total = attribution.total;
  const missingDays = attribution.days.filter((day) => day.status === "missing");
  return (
    <>
      {stack.dates.length === 0 ? (
        <Empty>No stored P&L in this range.</Empty>
      ) : (
        <figure class="attribution-figure">
          <div
            ref={host}
            class="attribution-chart"
            data-testid="attribution-chart"
            data-total={top ?? ""}
            data-pnl={lastPnl ?? ""}
            role="img"
            aria-label={
              `Cumulative P&L from ${attribution.from} to ${attribution.to}: ` +
              `${formatMoney(total.pnl, { cents: "never" })}, of which factors ` +
              `${formatMoney(total.factor_pnl_total, { cents: "never" })} and specific ` +
              `${formatMoney(total.specific_pnl, { cents: "never" })}`
            }
          />
          <figcaption class="attribution-legend">
            <span class="muted">{stack.dates[at] ?? ""}</span>
            {stack.layers.map((layer, j) => (
              <span key={layer.key} class="legend-item">
                <span class="swatch" style={{ background: colors[j] }} aria-hidden="true" />
                {labels[j]} {formatDollars(layer.values[at])}
              </span>
            ))}
            <span class="legend-item">
              <span class="swatch swatch-line" aria-hidden="true" />
              P&L {formatDollars(stack.pnl[at])}
            </span>
          </figcaption>
        </figure>
      )}
      <TableWrap label="P&L attribution">
        <table class="data" data-testid="attribution-table">
          <caption class="visually-hidden">
            P&L attribution from {attribution.from} to {attribution.to}: the parts add up to the P&L
          </caption>
          <thead>
            <tr>
              <th scope="col">Source</th>
              <th scope="col" class="num">
                P&L
              </th>
              <th scope="col" class="num">
                Return
              </th>
            </tr>
          </thead>
          <tbody>
            {attribution.factors.map((key) => (
              <tr key={key}>
                <th scope="row" class="row-head">
                  {props.names.get(key)?.name ?? key}
                </th>
                <td class="num">{formatMoney(total.factor_pnl[key], { cents: "never", sign: true })}</td>
                <td class="num">{formatPercent(total.factor_return[key], 2)}</td>
              </tr>
            ))}
            <tr>
              <th scope="row" class="row-head">
                Factors
              </th>
              <td class="num">{formatMoney(total.factor_pnl_total, { cents: "never", sign: true })}</td>
              <td class="num">{formatPercent(total.factor_return_total, 2)}</td>
            </tr>
            <tr>
              <th scope="row" class="row-head">
                Specific
              </th>
              <td class="num">{formatMoney(total.specific_pnl, { cents: "never", sign: true })}</td>
              <td class="num">{formatPercent(total.specific_return, 2)}</td>
            </tr>
          </tbody>
          <tfoot>
            <tr>
              <th scope="row" class="row-head">
                P&L ({total.days} days)
              </th>
              <td class="num" data-testid="attribution-total" data-value={total.pnl}>
                {formatMoney(total.pnl, { cents: "never", sign: true })}
              </td>
              <td class="num">{formatPercent(total.total_return, 2)}</td>
            </tr>
          </tfoot>
        </table>
      </TableWrap>
      {missingDays.length > 0 ? (
        <details class="risk-missing">
          <summary>
            {missingDays.length} {missingDays.length === 1 ? "day" : "days"} not attributed (left out of the sums)
          </summary>
          <ul>
            {missingDays.map((day) => (
              <li key={day.date}>
                {day.date}: {reasonLabel(day.reason ?? "not_computed")}
                {day.detail ? ` (${day.detail})` : ""}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
      <div class="card-actions">
        <button
          type="button"
          class="button small"
          onClick={() =>
            download(
              new Blob([attributionCsv(attribution)], { type: "text/csv" }),
              `attribution-${attribution.portfolio_id}-${attribution.from}-${attribution.to}.csv`,
            )
          }
        >
          Download CSV
        </button>
        <button
          type="button"
          class="button small"
          disabled={stack.dates.length === 0}
          onClick={() => {
            const canvas = chart.current?.canvas();
            if (!canvas) return;
            void chartPng(
              canvas,
              `${props.portfolioName}: cumulative P&L attribution, ${attribution.from} to ${attribution.to}`,
            ).then((blob) => download(blob, `attribution-${attribution.portfolio_id}-${attribution.to}.png`));
          }}
        >
          Download PNG
        </button>
      </div>
    </>
  );
}

function DataQuality(props: { risk: RiskDate }): JSX.Element | null {
  const quality = props.risk.data_quality;
  const left = quality.symbols_left_out.length + quality.positions_left_out.length;
  return (
    <div class="risk-quality" data-testid="risk-data-quality">
      <p>
        {quality.positions_used} of {quality.positions_held} positions used ({quality.symbols_used} symbols)
        {quality.coverage !== null ? `, ${formatPercent(quality.coverage)} of value` : ""}.{" "}
        {quality.covariance_available ? null : `No factor covariance: ${quality.covariance_detail ?? "not stored"}.`}
      </p>
      {left > 0 ? (
        <details>
          <summary>Left out ({left})</summary>
          <ul>
            {quality.symbols_left_out.map((entry) => (
              <li key={`s-${entry.symbol}`}>
                <a href={`/universe/${encodeURIComponent(entry.symbol)}`}>{entry.symbol}</a>:{" "}
                {reasonLabel(entry.reason)}
                {entry.detail ? ` (${entry.detail})` : ""}
              </li>
            ))}
            {quality.positions_left_out.map((entry) => (
              <li key={`p-${entry.position_id}`}>
                {entry.symbol}: {reasonLabel(entry.reason)}
                {entry.detail ? ` (${entry.detail})` : ""}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
      <p class="muted">{props.risk.note}</p>
    </div>
  );
}

export function RiskPage(): JSX.Element {
  const { query, setQuery } = usePortfolioQuery();
  const portfolios = useAsync((signal) => unwrap(api.portfolios.$get({}, { init: { signal } })), []);
  const factors = useAsync((signal) => unwrap(api.risk.factors.$get({ query: {} }, { init: { signal } })), []);
  const portfolioList = portfolios.data?.portfolios ?? [];
  const portfolioId = query["portfolio"] || portfolioList[0]?.id || "";
  const portfolio = portfolioList.find((p) => p.id === portfolioId);
  const view: View = query["view"] === "active" ? "active" : "total";
  const [dateText, setDateText] = useState(query["date"] ?? "");
  const [benchmarkText, setBenchmarkText] = useState(query["benchmark"] ?? "");
  const [fromText, setFromText] = useState(query["from"] ?? "");
  const [toText, setToText] = useState(query["to"] ?? "");
  const date = useDebounced(dateText, 300);
  const benchmark = useDebounced(benchmarkText.trim().toUpperCase(), 400);
  const from = useDebounced(fromText, 300);
  const to = useDebounced(toText, 300);
  useEffect(() => {
    if (
      (query["date"] ?? "") !== date ||
      (query["benchmark"] ?? "") !== benchmark ||
      (query["from"] ?? "") !== from ||
      (query["to"] ?? "") !== to
    )
      setQuery({ date, benchmark, from, to });
  }, [date, benchmark, from, to]);

  const risk = useAsync<RiskDate | null>(
    async (signal) => {
      if (!portfolioId) return null;
      const body = await unwrap(
        api.portfolios[":id"].risk.$get(
          {
            param: { id: portfolioId },
            query: {
              ...(date ? { date } : {}),
              ...(benchmark ? { benchmark: benchmark.toLowerCase() === "none" ? "none" : benchmark } : {}),
            },
          },
          { init: { signal } },
        ),
      );
      return body.mode === "date" ? body : null;
    },
    [portfolioId, date, benchmark],
  );
  // The portfolio's limits: a breached one outlines its bar or tile (on the date they are of).
  const limits = useAsync(
    (signal) =>
      portfolioId
        ? unwrap(api.portfolios[":id"].limits.$get({ param: { id: portfolioId } }, { init: { signal } }))
        : Promise.resolve(null),
    [portfolioId],
  );
  const attribution = useAsync<AttributionResponse | null>(
    (signal) =>
      portfolioId
        ? unwrap(
            api.portfolios[":id"].attribution.$get(
              { param: { id: portfolioId }, query: { ...(from ? { from } : {}), ...(to ? { to } : {}) } },
              { init: { signal } },
            ),
          )
        : Promise.resolve(null),
    [portfolioId, from, to],
  );

  // The sparklines cover the attribution's range: as typed, else the range the attribution's
  // answer resolved (its default), else the API's default length up to today. Without from/to
  // the route would answer one date, not a series.
  const seriesFrom = from || attribution.data?.from || addDays(todayIso(), -defaultRiskRangeDays);
  const seriesTo = to || attribution.data?.to || "";
  const series = useAsync<PortfolioRiskSeriesResponse | null>(
    async (signal) => {
      if (!portfolioId) return null;
      const query = { from: seriesFrom, ...(seriesTo ? { to: seriesTo } : {}) };
      const body = await unwrap(
        api.portfolios[":id"].risk.$get({ param: { id: portfolioId }, query }, { init: { signal } }),
      );
      return body.mode === "series" ? body : null;
    },
    [portfolioId, seriesFrom, seriesTo],
  );

  // Live: anything that recomputes the portfolio reloads the three reads, once the burst settles.
  const [liveVersion, setLiveVersion] = useState(0);
  const [updatedAt, setUpdatedAt] = useState<string | null>(null);
  const reloaders = useRef<(() => void)[]>([]);
  reloaders.current = [risk.reload, series.reload, attribution.reload, limits.reload];
  useEffect(() => {
    if (!portfolioId) return;
    const unsubscribe = subscribePortfolio(portfolioId);
    let timer: ReturnType<typeof setTimeout> | null = null;
    const stop = onLive((message) => {
      const ours =
        message.type === "batch.completed" ||
        ((message.type === "risk.updated" ||
          message.type === "exposures.updated" ||
          message.type === "resync" ||
          message.type === "alert.raised" ||
          message.type === "alert.cleared") &&
          message.portfolio_id === portfolioId);
      if (!ours) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        for (const reload of reloaders.current) reload();
        setLiveVersion((value) => value + 1);
        setUpdatedAt(formatInstant(Date.now()));
      }, liveSettleMs);
    });
    return () => {
      if (timer) clearTimeout(timer);
      stop();
      unsubscribe();
    };
  }, [portfolioId]);

  const names = useMemo(
    () => new Map((factors.data?.factors ?? []).map((factor) => [factor.key, factor])),
    [factors.data],
  );
  const riskData = risk.data ?? null;
  const breaches = riskBreaches(limits.data?.limits ?? [], riskData?.date ?? null);
  const items =
    riskData === null
      ? null
      : (contributionItems(riskData, view, names)?.map((item) => ({
          ...item,
          breached: breaches[view].get(item.key.replace(/^contribution-/, "")),
        })) ?? null);
  const block = riskData ? (view === "total" ? riskData.total : riskData.active) : null;
  const blockMissing = riskData
    ? view === "total"
      ? unavailableText(riskData.total_unavailable)
      : riskData.benchmark === null
        ? "No benchmark chosen: choose one to see active risk."
        : unavailableText(riskData.active_unavailable)
    : null;
  const benchmarkIssue =
    risk.status === "error" && risk.error instanceof Error && /benchmark/i.test(String(risk.error.message))
      ? risk.error.message
      : null;
  const title = portfolio ? `Risk: ${portfolio.name}` : "Risk";

  return (
    <Page
      title={title}
      subtitle={
        <>
          Volatility, tracking error, VaR and where they come from, on the joint risk lens (seven factors).{" "}
          {portfolioId ? <a href={`/portfolios/${encodeURIComponent(portfolioId)}`}>Positions</a> : null}
          {updatedAt ? (
            <span class="muted" role="status" data-testid="risk-updated">
              {" "}
              · updated live at {updatedAt}
            </span>
          ) : null}
        </>
      }
    >
      {/* biome-ignore lint/a11y/useSemanticElements: a labelled group of controls styled as a toolbar */}
      <div class="toolbar risk-toolbar" role="group" aria-label="Risk inputs">
        <div class="field">
          <label for="risk-portfolio">Portfolio</label>
          <select
            id="risk-portfolio"
            value={portfolioId}
            disabled={portfolioList.length === 0}
            onChange={(event) => setQuery({ portfolio: event.currentTarget.value })}
          >
            {portfolioList.length === 0 ? (
              <option value="">{portfolios.status === "loading" ? "Loading…" : "No portfolios"}</option>
            ) : null}
            {portfolioList.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </div>
        {/* While a date field's text is not a date the last date stays in use (the field says why). */}
        <DateField
          label="Date (empty: latest)"
          id="risk-date"
          value={dateText}
          dates={series.data?.dates}
          onChange={(next) => {
            if (next !== null) setDateText(next);
          }}
        />
        <Field
          label="Benchmark"
          id="risk-benchmark"
          placeholder={portfolio?.benchmark_symbol ?? "SPY"}
          hint="empty: the portfolio's; none: no active risk"
          value={benchmarkText}
          error={benchmarkIssue}
          onInput={(event) => setBenchmarkText(event.currentTarget.value)}
        />
      </div>
      {portfolios.status === "error" ? (
        <ErrorNotice error={portfolios.error} retry={portfolios.reload} title="Could not load the portfolios" />
      ) : null}
      {portfolios.status === "ok" && portfolioList.length === 0 ? (
        <Empty>
          No portfolios yet: <a href="/portfolios">create one</a>.
        </Empty>
      ) : null}
      {portfolioId ? (
        <>
          {risk.status === "error" && !benchmarkIssue ? (
            <ErrorNotice error={risk.error} retry={risk.reload} title="Could not load the risk" />
          ) : null}
          {riskData ? (
            <>
              <p class="muted risk-date" data-testid="risk-date">
                {riskData.date} · equity {formatMoney(riskData.equity, { cents: "never" })}
                {riskData.benchmark ? ` · benchmark ${riskData.benchmark}` : " · no benchmark"}
              </p>
              <HeadlineFigures risk={riskData} series={series.data ?? null} breaches={breaches} />
              <Card
                title="Where the risk comes from"
                label="Factor contributions"
                actions={
                  <>
                    <Segmented<View>
                      label="Total or active risk"
                      value={view}
                      options={[
                        { value: "total", label: "Total" },
                        { value: "active", label: "Active" },
                      ]}
                      onChange={(value) => setQuery({ view: value === "total" ? null : value })}
                    />
                    <button
                      type="button"
                      class="button small"
                      onClick={() =>
                        download(
                          new Blob([riskCsv(riskData)], { type: "text/csv" }),
                          `risk-${riskData.portfolio_id}-${riskData.date}.csv`,
                        )
                      }
                    >
                      Download CSV
                    </button>
                    <button
                      type="button"
                      class="button small"
                      disabled={!items}
                      onClick={() => {
                        if (!items) return;
                        const what = view === "total" ? "variance" : `active variance vs ${riskData.benchmark}`;
                        void barsPng(
                          `${portfolio?.name ?? portfolioId}: shares of the ${what}, ${riskData.date}`,
                          items,
                        ).then((blob) =>
                          download(blob, `risk-contributions-${riskData.portfolio_id}-${view}-${riskData.date}.png`),
                        );
                      }}
                    >
                      Download PNG
                    </button>
                  </>
                }
              >
                {items && block ? (
                  <>
                    <p class="muted">
                      Share of the {view === "total" ? "daily variance" : "active variance (tracking error²)"} by risk
                      factor; each factor's exposure with its standard error.
                    </p>
                    <ImpactBars
                      items={items}
                      label={`Shares of the ${view === "total" ? "variance" : "active variance"}`}
                      testId="risk-contributions"
                    />
                    <h3>Holdings</h3>
                    <HoldingsTable rows={block.holdings} view={view} variance={block.variance} />
                  </>
                ) : (
                  <Empty>{blockMissing ?? "Not available"}</Empty>
                )}
              </Card>
              <Card title="Data quality" label="What the risk numbers used">
                <DataQuality risk={riskData} />
              </Card>
            </>
          ) : risk.status === "loading" ? (
            <Loading what="the risk" />
          ) : null}
          <Card
            title="P&L attribution"
            label="P&L attribution"
            actions={
              <div class="risk-range">
                <DateField
                  label="From"
                  id="risk-from"
                  value={fromText}
                  dates={series.data?.dates}
                  onChange={(next) => {
                    if (next !== null) setFromText(next);
                  }}
                />
                <DateField
                  label="To"
                  id="risk-to"
                  value={toText}
                  dates={series.data?.dates}
                  onChange={(next) => {
                    if (next !== null) setToText(next);
                  }}
                />
              </div>
            }
          >
            <p class="muted">
              Each day's P&L split into risk factors (yesterday's exposures × today's factor returns) and the specific
              rest; cumulative over the range.
            </p>
            {attribution.status === "error" ? (
              <ErrorNotice
                error={attribution.error}
                retry={attribution.reload}
                title="Could not load the attribution"
              />
            ) : null}
            {attribution.data ? (
              <AttributionView
                attribution={attribution.data}
                names={names}
                portfolioName={portfolio?.name ?? portfolioId}
              />
            ) : attribution.status === "loading" ? (
              <Loading what="the attribution" />
            ) : null}
          </Card>
          <Card title="Stress on the risk lens" label="Stress on the risk lens">
            <RiskStress
              portfolioId={portfolioId}
              date={riskData?.date ?? (date || null)}
              canManage={can("MANAGE_PORTFOLIOS")}
              refreshKey={liveVersion}
            />
          </Card>
        </>
      ) : null}
    </Page>
  );
}
