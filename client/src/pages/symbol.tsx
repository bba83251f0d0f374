// One symbol (`GET /data/symbols/:symbol`): its profile and day's metrics, the factor betas of
// its latest (or the linked) date with R², observations, method and quality, the factors it
// has no beta for and why, and every factor's beta over the last year as a table. Codes the API
// gives (reasons, quality flags, methods, the asset type) show as words with the code in the
// tooltip; a factor's name explains it on hover and links to its entry on the factors page.
import type { ComponentChildren, JSX } from "preact";
import { useLocation, useRoute } from "preact-iso";
import { useEffect } from "preact/hooks";
import { ApiFailure, api, unwrap, type JsonBody } from "../api/client.ts";
import { Async, Card, Empty, ErrorNotice, Page, TableWrap } from "../components/ui.tsx";
import { missingBetaText } from "../lib/data-quality.ts";
import { factorMeaning, factorMeaningText, legendUnit } from "../lib/factor-meaning.ts";
import { formatDollars, formatExposure, formatMoney, formatPercent, missing } from "../lib/format.ts";
import { css, factorScale, textColorOn } from "../lib/scale.ts";
import { assetTypeLabel, codeTitle, formatRatio, humanizeKey, qualityBadge } from "../lib/universe-query.ts";
import { onLive } from "../state/live.ts";
import { useAsync } from "../state/use-async.ts";
import { loadFactors, universeHref, type FactorDefinition } from "./universe.tsx";
import "./universe.css";

type SymbolDetail = JsonBody<Awaited<ReturnType<(typeof api.data.symbols)[":symbol"]["$get"]>>>;
type Beta = SymbolDetail["betas"][number];
type MissingBeta = SymbolDetail["missing_betas"][number];

const isoDatePattern = /^\d{4}-\d{2}-\d{2}$/;

const formatPrice = (value: number | null | undefined): string => formatMoney(value, { cents: "always" });

function formatRSquared(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? missing : value.toFixed(3);
}

const methodLabels: Record<string, string> = { ols: "OLS", ridge: "Ridge", spread: "Spread" };

function Fact(props: { label: string; children: ComponentChildren; title?: string }): JSX.Element {
  return (
    <div title={props.title}>
      <dt>{props.label}</dt>
      <dd>{props.children}</dd>
    </div>
  );
}

function BetaCell(props: { factorKey: string; value: number | null; title: string }): JSX.Element {
  const background = factorScale(props.factorKey).color(props.value);
  return (
    <td
      class="num factor-cell"
      style={{ background: css(background), color: css(textColorOn(background)) }}
      title={props.title}
    >
      {formatExposure(props.value)}
    </td>
  );
}

interface FactorRow {
  key: string;
  name: string;
  definition: FactorDefinition | undefined;
  beta: Beta | null;
  gap: MissingBeta | null;
}

/** Every factor once, in display order: its stored beta, or why there is none. */
function factorRows(detail: SymbolDetail, factors: readonly FactorDefinition[] | undefined): FactorRow[] {
  const definitions = new Map((factors ?? []).map((factor) => [factor.key, factor]));
  const order = new Map((factors ?? []).map((factor) => [factor.key, factor.display_order]));
  const rows: FactorRow[] = [
    ...detail.betas.map((beta) => ({
      key: beta.factor_key,
      name: beta.factor_name,
      definition: definitions.get(beta.factor_key),
      beta,
      gap: null,
    })),
    ...detail.missing_betas.map((gap) => ({
      key: gap.factor_key,
      name: gap.factor_name || (definitions.get(gap.factor_key)?.name ?? humanizeKey(gap.factor_key)),
      definition: definitions.get(gap.factor_key),
      beta: null,
      gap,
    })),
  ];
  return rows.sort((a, b) => (order.get(a.key) ?? 1e9) - (order.get(b.key) ?? 1e9));
}

/** A factor's name: linked to its entry on the factors page, its meaning on hover. */
function FactorName(props: { row: FactorRow }): JSX.Element {
  const { row } = props;
  return (
    <a
      href={`/factors#${encodeURIComponent(row.key)}`}
      title={row.definition ? factorMeaningText(row.definition) : `${row.name}: on the factors page`}
    >
      {row.name}
    </a>
  );
}

function BetasCard(props: { detail: SymbolDetail; factors: readonly FactorDefinition[] | undefined }): JSX.Element {
  const { detail } = props;
  const rows = factorRows(detail, props.factors);
  return (
    <Card
      title={<>Factor betas{detail.betas_date ? <span class="muted"> · {detail.betas_date}</span> : null}</>}
      label="Factor betas"
    >
      {rows.length === 0 ? (
        <Empty>No active factors.</Empty>
      ) : (
        <TableWrap label="Factor betas table">
          <table class="data betas-table" aria-label="Factor betas">
            <thead>
              <tr>
                <th scope="col">Factor</th>
                <th scope="col" class="num" title={legendUnit}>
                  Beta
                </th>
                <th scope="col" class="num">
                  R²
                </th>
                <th scope="col" class="num">
                  Observations
                </th>
                <th scope="col" class="num">
                  Window
                </th>
                <th scope="col">Method</th>
                <th scope="col">Quality</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => {
                if (!row.beta) {
                  // Why there is no beta, with its figures, where the beta would be; the detail on hover.
                  const gap = row.gap;
                  const text = gap ? missingBetaText(gap) : "No beta";
                  return (
                    <tr key={row.key} data-factor={row.key} data-missing="" data-reason={gap?.reason}>
                      <th scope="row">
                        <FactorName row={row} />
                      </th>
                      <td colSpan={5} class="reason" title={gap?.detail || undefined} data-testid="missing-beta-reason">
                        {/* The words; the reason's code in their own tooltip, the detail in the cell's. */}
                        {gap ? (
                          <span class="coded" title={codeTitle(gap.reason, gap.detail || null)} data-code={gap.reason}>
                            {text}
                          </span>
                        ) : (
                          text
                        )}
                        {gap?.detail ? <span class="visually-hidden"> ({gap.detail})</span> : null}
                      </td>
                      <td>
                        <span class={`badge ${gap?.reason === "not_computed" ? "" : "warn"}`}>No beta</span>
                      </td>
                    </tr>
                  );
                }
                const beta = row.beta;
                const badge = qualityBadge(beta.quality_flag);
                return (
                  <tr key={row.key} data-factor={row.key}>
                    <th scope="row">
                      <FactorName row={row} />
                    </th>
                    <BetaCell
                      factorKey={row.key}
                      value={beta.beta}
                      title={`${row.name}: ${formatExposure(beta.beta, 4)}`}
                    />
                    <td class="num">{formatRSquared(beta.r_squared)}</td>
                    <td class="num">{beta.observations.toLocaleString("en-US")}</td>
                    <td class="num">{beta.window_days} d</td>
                    <td>
                      <span
                        class="coded"
                        title={codeTitle(beta.method, row.definition ? factorMeaning(row.definition).method : null)}
                        data-code={beta.method}
                      >
                        {methodLabels[beta.method] ?? humanizeKey(beta.method)}
                      </span>
                      {beta.regularization_alpha !== null ? (
                        <span class="muted"> (α {beta.regularization_alpha})</span>
                      ) : null}
                    </td>
                    <td>
                      <span class={`badge ${badge.tone}`} title={badge.title} data-code={beta.quality_flag}>
                        {badge.label}
                      </span>
                      {beta.raw_beta !== null ? (
                        <span class="muted small"> raw {formatExposure(beta.raw_beta)}</span>
                      ) : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableWrap>
      )}
    </Card>
  );
}

function HistoryCard(props: { detail: SymbolDetail; factors: readonly FactorDefinition[] | undefined }): JSX.Element {
  const { history } = props.detail;
  const definitions = new Map((props.factors ?? []).map((factor) => [factor.key, factor]));
  const names = new Map((props.factors ?? []).map((factor) => [factor.key, factor.name]));
  const series = history.series;
  const byDate = new Map<string, Map<string, { beta: number; r_squared: number | null }>>();
  for (const line of series)
    for (const point of line.points) {
      let row = byDate.get(point.date);
      if (!row) {
        row = new Map();
        byDate.set(point.date, row);
      }
      row.set(line.factor_key, point);
    }
  // Newest date first (ISO dates sort as text).
  const rows = [...byDate].sort(([a], [b]) => (a < b ? 1 : a > b ? -1 : 0));
  const columns = series.map((line) => ({
    line,
    scale: factorScale(line.factor_key),
  }));
  return (
    <Card
      title={
        <>
          Beta history{" "}
          <span class="muted">
            · {history.from} to {history.to} · {rows.length} {rows.length === 1 ? "date" : "dates"}
          </span>
        </>
      }
      label="Beta history"
    >
      {rows.length === 0 ? (
        <Empty>
          No betas stored between {history.from} and {history.to}.
        </Empty>
      ) : (
        <TableWrap label="Beta history table" class="history-wrap">
          <table class="data history-table" aria-label="Beta history">
            <thead>
              <tr>
                <th scope="col">Date</th>
                {series.map((line) => {
                  const definition = definitions.get(line.factor_key);
                  return (
                    <th
                      key={line.factor_key}
                      scope="col"
                      class="num"
                      title={definition ? factorMeaningText(definition) : undefined}
                    >
                      {names.get(line.factor_key) ?? humanizeKey(line.factor_key)}
                    </th>
                  );
                })}
              </tr>
            </thead>
            <tbody>
              {rows.map(([date, row]) => (
                <tr key={date}>
                  <th scope="row">{date}</th>
                  {columns.map(({ line, scale }) => {
                    const point = row.get(line.factor_key);
                    const background = scale.color(point?.beta ?? null);
                    const name = names.get(line.factor_key) ?? humanizeKey(line.factor_key);
                    return (
                      <td
                        key={line.factor_key}
                        class="num factor-cell"
                        style={{ background: css(background), color: css(textColorOn(background)) }}
                        title={
                          point
                            ? `${name} on ${date}: ${formatExposure(point.beta, 4)}, ` +
                              `R² ${formatRSquared(point.r_squared)}`
                            : `${name} on ${date}: no beta`
                        }
                      >
                        {formatExposure(point?.beta ?? null)}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </Card>
  );
}

function ProfileCard(props: { detail: SymbolDetail }): JSX.Element {
  const { profile, metrics } = props.detail;
  // The day's metrics carry the valuation as of the metrics date; the profile is the fallback.
  const value = <K extends "market_cap" | "enterprise_value" | "pe_ratio" | "ps_ratio" | "pb_ratio">(key: K) =>
    metrics?.[key] ?? profile?.[key] ?? null;
  return (
    <Card title="Valuation and returns" label="Valuation and returns">
      {!metrics && !profile ? (
        <Empty>No profile or metrics stored for this symbol.</Empty>
      ) : (
        <>
          <dl class="facts">
            <Fact label="Price">{formatPrice(metrics?.current_price)}</Fact>
            <Fact label="Market cap">{formatDollars(value("market_cap"))}</Fact>
            <Fact label="Enterprise value">{formatDollars(value("enterprise_value"))}</Fact>
            <Fact label="P/E" title="Price / earnings">
              {formatRatio(value("pe_ratio"))}
            </Fact>
            <Fact label="P/S" title="Price / sales">
              {formatRatio(value("ps_ratio"))}
            </Fact>
            <Fact label="P/B" title="Price / book">
              {formatRatio(value("pb_ratio"))}
            </Fact>
            <Fact label="Return 1D">{formatPercent(metrics?.return_1d)}</Fact>
            <Fact label="Return MTD">{formatPercent(metrics?.return_mtd)}</Fact>
            <Fact label="Return YTD">{formatPercent(metrics?.return_ytd)}</Fact>
            <Fact label="Return 1M">{formatPercent(metrics?.return_1m)}</Fact>
            <Fact label="Return 3M">{formatPercent(metrics?.return_3m)}</Fact>
            <Fact label="Return 1Y">{formatPercent(metrics?.return_1y)}</Fact>
            <Fact label="Data quality" title="The day's data-quality score, 0 to 100">
              {metrics ? `${metrics.data_quality_score} / 100` : missing}
            </Fact>
          </dl>
          <p class="facts-note muted small">
            {metrics ? <>Metrics of {metrics.metrics_date}. </> : <>No daily metrics stored. </>}
            {profile?.as_of ? <>Profile as of {profile.as_of}.</> : <>No company profile stored.</>}
          </p>
        </>
      )}
    </Card>
  );
}

export function SymbolPage(props: { symbol?: string; params?: Record<string, string | undefined> }): JSX.Element {
  const route = useRoute();
  const location = useLocation();
  const symbol = (props.symbol ?? props.params?.["symbol"] ?? route.params["symbol"] ?? "").toUpperCase();
  const dateParam = location.query["date"];
  const date = dateParam !== undefined && isoDatePattern.test(dateParam) ? dateParam : null;
  const detail = useAsync(
    () => unwrap(api.data.symbols[":symbol"].$get({ param: { symbol }, query: date ? { date } : {} })),
    [symbol, date],
  );
  const factors = useAsync(() => loadFactors(), []);
  const { reload } = detail;
  // A finished batch may store this symbol's betas of a new date.
  useEffect(
    () =>
      onLive((message) => {
        if (message.type === "batch.completed") reload();
      }),
    [reload],
  );
  const back = (
    <a class="back-link" href={universeHref()}>
      ← Back to the universe
    </a>
  );

  if (detail.status === "error" && detail.error instanceof ApiFailure && detail.error.status === 404) {
    return (
      <Page title={symbol} subtitle={back}>
        <Empty>{symbol} is not in the universe.</Empty>
      </Page>
    );
  }
  const data = detail.data;
  const name = data?.profile?.company_name ?? data?.metrics?.company_name ?? null;
  const sector = data?.profile?.sector ?? data?.metrics?.sector ?? null;
  const industry = data?.profile?.industry ?? data?.metrics?.industry ?? null;
  return (
    <Page
      title={symbol}
      subtitle={
        <>
          {back}
          {data ? (
            <span data-testid="symbol-summary">
              {" · "}
              {name ?? "No company name"} · {sector ?? "no sector"}
              {industry ? ` · ${industry}` : ""}{" "}
              <span class="badges">
                <span class="badge" title={codeTitle(data.asset_type)} data-code={data.asset_type}>
                  {assetTypeLabel(data.asset_type)}
                </span>
                {data.is_active ? null : <span class="badge warn">Inactive</span>}
                {date ? <span class="badge running">Pinned to {date}</span> : null}
              </span>
            </span>
          ) : null}
        </>
      }
    >
      <Async state={detail} what={symbol}>
        {(body) => (
          <div class="symbol-body">
            {factors.status === "error" ? (
              <ErrorNotice error={factors.error} retry={factors.reload} title="Factor names unavailable" />
            ) : null}
            <div class="symbol-top">
              <BetasCard detail={body} factors={factors.data} />
              <ProfileCard detail={body} />
            </div>
            <HistoryCard detail={body} factors={factors.data} />
          </div>
        )}
      </Async>
    </Page>
  );
}
