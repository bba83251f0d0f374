// A portfolio's risk on the risk lens (docs/design.md §11; shapes in worker/api/portfolio-risk.ts
// and, for the stress answers, worker/api/analytics.ts):
// - `GET /portfolios/:id/risk?date&benchmark`: one date's full risk block, computed per request
//   by the engine (worker/factors/portfolio-risk.ts `computePortfolioRisk`) from what the
//   drill-down reads (the positions held on the date, their closes, the stored lens betas) and
//   the stored risk model of the date (worker/db/risk-reads.ts: loadings and covariance) — never
//   a regression per request; `?from&to`: the daily series the batch stored in
//   `portfolio_risk_summaries`;
// - `GET /portfolios/:id/attribution?from&to`: realized P&L split into factor and specific parts
//   (`computeAttribution`) from the stored snapshots, the stored exposures of the previous
//   trading day (the summaries' detail) and the stored factor returns;
// - the predictive and historical stress tests of `POST /portfolios/:id/stress`
//   (`riskStressAnswer`, called by worker/routes/portfolio-analytics.ts);
// - `GET, POST /stress/episodes`, `DELETE /stress/episodes/:id`: saved historical episodes and
//   built-in ones found in the stored factor returns (each risk factor's worst 20-day stretch).
//
// Decisions:
// - The one-date route reads in two requests: the data version, the date and the positions; then
//   the closes, lens betas and risk model of the symbols held on the date. Both GETs are
//   conditional reads (ETag, 304) over a version that adds to the drill-down's (positions,
//   portfolio) the risk tables' and the portfolio's stored summaries and snapshots.
// - One date is computed exactly as the batch computes the summary it stores (`portfolioRiskOn`
//   and `riskBlockOf`, worker/batch/portfolio-analytics-phase.ts), so a stored date and a request
//   for it agree; the risk factors are the covariance's (the order the batch stored Σ in),
//   without a stored covariance the active risk factors in display order.
// - A series lists every date of the range the batch computed for the portfolio (a snapshot or a
//   summary); a date without a summary is null in every series and listed in `missing` with
//   `not_computed`, a summary without a volatility or tracking error with the stored reason.
// - Attribution: t − 1 is the previous trading day of the market calendar (the reference
//   symbol's closes); a day whose previous day has no snapshot, no stored exposures, or whose
//   own factor returns or P&L are missing is listed with its reason and added to no sum.
// - Historical episodes are (from, to]: the summed stored returns of the days after `from` up to
//   `to`. A replay is propagated like a predictive stress (default): a factor without a stored
//   return in the episode moves by its conditional mean on the propagated side (0 unpropagated)
//   and is listed in `missing`.
import type { ResultSet, Row } from "@libsql/client/web";
import { and, asc, eq } from "drizzle-orm";
import { Hono } from "hono";
import { stressEpisodes } from "../../schema/index.ts";
import type { RiskStressResponse, StressRequest } from "../api/analytics.ts";
import { routes } from "../api/contract.ts";
import {
  type AttributionResponse,
  attributionQuerySchema,
  builtinEpisodeDays,
  builtinEpisodePrefix,
  defaultRiskRangeDays,
  episodeParamsSchema,
  maxRiskRangeDays,
  type PortfolioRiskResponse,
  type PortfolioRiskSeriesResponse,
  portfolioRiskQuerySchema,
  type StressEpisodeResponse,
  stressEpisodeCreateSchema,
} from "../api/portfolio-risk.ts";
import { portfolioParamsSchema } from "../api/portfolios.ts";
import { type ApiEnv, guard } from "../auth/guard.ts";
import type { Caller } from "../auth/permissions.ts";
import { portfolioNotFound } from "../auth/ownership.ts";
import { marketReferenceSymbol } from "../batch/calendar.ts";
import { portfolioRiskOn, riskBlockOf } from "../batch/portfolio-analytics-phase.ts";
import { addDays } from "../dates.ts";
import { betaTableFrom, packedBetasColumn, storedBetasFrom, storedGapsFrom } from "../db/betas.ts";
import { type Database, getDatabase } from "../db/client.ts";
import { drillDownVersion, versionOf } from "../db/data-version.ts";
import { activeFactorsFrom, activeFactorsStatement } from "../db/factors.ts";
import { closesFrom, holdingsFrom } from "../db/portfolio-reads.ts";
import { alignFactorReturns, packedFactorReturnsColumn } from "../db/factor-return-reads.ts";
import { firstRow, type ReadStatement, readTogether } from "../db/read-batch.ts";
import { riskInputStatements, riskInputsFrom, riskModelInput, type StoredRiskInputs } from "../db/risk-reads.ts";
import {
  type AggregationInput,
  aggregatePortfolio,
  betaSymbolOf,
  type HoldingInput,
  isHeldOn,
} from "../factors/portfolio.ts";
import {
  type AttributionDay,
  computeAttribution,
  historicalShocks,
  type HistoricalShocks,
  type PortfolioStress,
  type StressSide,
  stressPortfolio,
  worstStretch,
} from "../factors/portfolio-risk.ts";
import { csvResponse, wantsCsv } from "../http/csv-export.ts";
import { ApiError } from "../http/errors.ts";
import { entityTag, notModifiedIfCurrent, representationOf, withValidators } from "../http/etag.ts";
import { noQuery, validate } from "../http/validate.ts";
import { validationError } from "../http/validation.ts";
import { computeWithinRange } from "../portfolios/aggregation-input.ts";
import { required } from "../required.ts";
import { riskModelSettings, riskVersion } from "./risk.ts";

const today = () => new Date().toISOString().slice(0, 10);
const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);

// ---- reads -------------------------------------------------------------------------------------

/**
 * The version of a portfolio's risk answers: the drill-down's (the batch's part, the portfolio
 * row with its cash, its positions' count and last update), the portfolio's benchmark, the risk
 * tables' part (risk factors, the newest factor return, the covariances), and the portfolio's
 * stored summaries and snapshots — their count and newest row, and the values of the latest
 * date with betas, which a position change rewrites outside any run (as the exposures' version).
 */
export function portfolioRiskVersion(caller: Caller, portfolioId: string): ReadStatement {
  const base = drillDownVersion(caller, portfolioId);
  return {
    sql: `select v.*,
  case when v.portfolio is not null then (select benchmark_symbol from portfolios where id = ?1) end
    as benchmark_symbol,
  (select count(*) from portfolio_risk_summaries where portfolio_id = ?1) as risk_summaries,
  (select max(updated_at) from portfolio_risk_summaries where portfolio_id = ?1) as risk_summaries_updated,
  (select count(*) from portfolio_snapshots where portfolio_id = ?1) as snapshots,
  (select max(id) from portfolio_snapshots where portfolio_id = ?1) as snapshots_newest,
  (select group_concat(date || ',' || printf('%!.17g', equity) || ',' || ifnull(printf('%!.17g', daily_pnl), ''), ';')
    from portfolio_snapshots where portfolio_id = ?1 and date >=
      (select max(calculation_date) from batch_phase_results where phase = 'universe_factors' and success = 1))
    as refreshed_snapshots,
  r.*
from (${base.sql}) v, (${riskVersion().sql}) r`,
    args: base.args,
  };
}

/** The date (?1, else the latest metrics date) and whether it has metrics. */
function dateStatement(date: string | undefined): ReadStatement {
  return {
    sql: `select coalesce(?1, (select max(metrics_date) from symbol_daily_metrics)),
      exists (select 1 from symbol_daily_metrics
        where metrics_date = coalesce(?1, (select max(metrics_date) from symbol_daily_metrics)))`,
    args: [date ?? null],
  };
}

function positionsStatement(portfolioId: string): ReadStatement {
  return {
    sql: `select id, symbol, instrument, quantity, opened_on, closed_on, underlying_symbol, option_type, strike,
      expiry, multiplier, delta, implied_vol, premium from positions where portfolio_id = ?1 order by id`,
    args: [portfolioId],
  };
}

/** The closes, every active lens factor's betas and beta gaps of `symbols` on `date` (?1; ?2 the symbols as JSON). */
function lensStatements(date: string, symbols: readonly string[]): ReadStatement[] {
  const args = [date, JSON.stringify(symbols)];
  const held = "(select value from json_each(?2))";
  return [
    activeFactorsStatement,
    {
      sql: `select symbol, current_price from symbol_daily_metrics where metrics_date = ?1 and symbol in ${held}`,
      args,
    },
    {
      sql: `select ${packedBetasColumn} from symbol_factor_exposures b
        where b.calculation_date = ?1 and b.symbol in ${held}
          and b.factor_id in (select id from factor_definitions where is_active = 1)`,
      args,
    },
    {
      sql: `select g.symbol, g.factor_id, g.calculation_date, g.reason, g.observations, g.detail
        from symbol_beta_gaps g where g.calculation_date = ?1 and g.symbol in ${held}
          and g.factor_id in (select id from factor_definitions where is_active = 1)`,
      args,
    },
  ];
}

/** Everything one date's risk is computed from. */
export interface RiskDateRead {
  versionRow: Row;
  date: string;
  holdings: HoldingInput[];
  /** The lens aggregation's input (closes, betas, factors) of the positions held on the date. */
  input: AggregationInput;
  risk: StoredRiskInputs;
}

/**
 * The reads of one date's risk, in two requests: `version` (its `portfolio` column null: 404),
 * the date and the positions; then the lens input and the risk model of the beta symbols held
 * on the date and of `extraSymbols` (a benchmark).
 */
async function readRiskDate(
  db: Database,
  env: object,
  read: {
    portfolioId: string;
    date: string | undefined;
    version: ReadStatement;
    extraSymbols: (versionRow: Row) => string[];
  },
): Promise<RiskDateRead> {
  const [versionResult, dateResult, positionsResult] = await readTogether(db, [
    read.version,
    dateStatement(read.date),
    positionsStatement(read.portfolioId),
  ]);
  const versionRow = firstRow(versionResult);
  if (versionRow === undefined || versionOf(versionRow, { requires: "portfolio" }) === null)
    throw portfolioNotFound(read.portfolioId);
  const dateRow = firstRow(dateResult);
  const date = (dateRow?.[0] ?? null) as string | null;
  // The same answers as analyticsDate (worker/portfolios/aggregation-input.ts).
  if (date === null) throw new ApiError(404, "NO_DATA", "no symbol metrics exist yet: run the batch first");
  if (Number(dateRow?.[1] ?? 0) === 0)
    throw new ApiError(404, "NO_DATA", `no symbol metrics for ${date}: not a trading day, or its batch has not run`);
  const holdings = holdingsFrom(positionsResult);
  const held = [
    ...new Set(holdings.filter((h) => h.instrument !== "private" && isHeldOn(h, date)).map(betaSymbolOf)),
  ].sort();
  const symbols = [...new Set([...held, ...read.extraSymbols(versionRow)])];
  const { halfLifeDays } = riskModelSettings(env);
  const results = await readTogether(db, [
    ...lensStatements(date, held),
    ...riskInputStatements(date, symbols, halfLifeDays),
  ]);
  const [factorsResult, closesResult, betasResult, gapsResult, ...riskResults] = results;
  const factors = activeFactorsFrom(factorsResult);
  const input: AggregationInput = {
    date,
    holdings,
    cash: Number(versionRow["cash"]),
    closes: closesFrom(closesResult),
    betas: betaTableFrom(storedBetasFrom(betasResult), storedGapsFrom(gapsResult), factors),
    factors,
  };
  const risk = riskInputsFrom(date, symbols, halfLifeDays, riskResults);
  return { versionRow, date, holdings, input, risk };
}

/** One date's risk in the API's shape: the batch's own mapping of the engine's result (what a summary stores). */
function riskOfDate(portfolioId: string, read: RiskDateRead, benchmark: string | null): PortfolioRiskResponse {
  const { input, risk } = read;
  const result = computeWithinRange([{ input }], () =>
    portfolioRiskOn(aggregatePortfolio(input), benchmark, risk, { betas: input.betas, factors: input.factors }),
  );
  return { mode: "date", portfolio_id: portfolioId, ...riskBlockOf(result, risk.priceDecided) };
}

const holdingCsvHeader = [
  "symbol",
  "position_ids",
  "weight",
  "dollar_exposure",
  "contribution",
  "factor_part",
  "specific_part",
  "share",
  "marginal",
  "active_weight",
  "active_contribution",
  "active_share",
  "active_marginal",
];

/** The holding contributions of one date: a row per used symbol (and the benchmark's active row). */
function holdingCsvRows(body: PortfolioRiskResponse) {
  const total = new Map((body.total?.holdings ?? []).map((row) => [row.symbol, row]));
  const active = new Map((body.active?.holdings ?? []).map((row) => [row.symbol, row]));
  const order = body.total?.holdings.map((row) => row.symbol) ?? body.symbols.map((row) => row.symbol);
  for (const symbol of active.keys()) if (!order.includes(symbol)) order.push(symbol);
  const symbols = new Map(body.symbols.map((row) => [row.symbol, row]));
  return order.map((symbol) => {
    const row = total.get(symbol);
    const activeRow = active.get(symbol);
    const weights = symbols.get(symbol);
    return [
      symbol,
      (row?.position_ids ?? activeRow?.position_ids ?? weights?.position_ids ?? []).join(" "),
      row?.weight ?? weights?.weight ?? null,
      weights?.dollar_exposure ?? null,
      row?.contribution ?? null,
      row?.factor_part ?? null,
      row?.specific_part ?? null,
      row?.share ?? null,
      row?.marginal ?? null,
      activeRow?.weight ?? null,
      activeRow?.contribution ?? null,
      activeRow?.share ?? null,
      activeRow?.marginal ?? null,
    ];
  });
}

// ---- GET /portfolios/:id/risk?from&to (series) -------------------------------------------------

/**
 * The range as SQL, from ?1 portfolio, ?2 from, ?3 to, ?4 today: `to` is the given one, else the
 * portfolio's latest stored summary, else its latest snapshot, else today; `from` the given one,
 * else `defaultRiskRangeDays` before `to`.
 */
const seriesRange = `with t as (select coalesce(?3,
    (select max(date) from portfolio_risk_summaries where portfolio_id = ?1),
    (select max(date) from portfolio_snapshots where portfolio_id = ?1), ?4) as t),
  r(f, t) as (select coalesce(?2, date(t.t, '-${defaultRiskRangeDays} days')), t.t from t)`;

function seriesStatements(portfolioId: string, from: string | undefined, to: string | undefined): ReadStatement[] {
  const args = [portfolioId, from ?? null, to ?? null, today()];
  return [
    { sql: `${seriesRange} select f, t from r`, args },
    // Nothing is read for a range over the cap: the route answers 400 from the bounds.
    {
      sql: `${seriesRange}, d(date) as (
    select s.date from portfolio_snapshots s, r where s.portfolio_id = ?1 and s.date >= r.f and s.date <= r.t
    union select s.date from portfolio_risk_summaries s, r
      where s.portfolio_id = ?1 and s.date >= r.f and s.date <= r.t)
  select d.date, s.portfolio_id is not null, s.benchmark_symbol, coalesce(s.equity, p.equity), s.volatility,
    s.tracking_error, s.factor_share, s.value_at_risk_95, s.value_at_risk_99, s.data_quality,
    -- Only the reasons of the detail (a whole day's risk block is ~40 KB): what a null figure needs.
    case when s.volatility is null or s.tracking_error is null then json_object(
      'total_unavailable', json(json_extract(s.detail, '$.total_unavailable')),
      'active_unavailable', json(json_extract(s.detail, '$.active_unavailable'))) end
  from d cross join r
  left join portfolio_risk_summaries s on s.portfolio_id = ?1 and s.date = d.date
  left join portfolio_snapshots p on p.portfolio_id = ?1 and p.date = d.date
  where julianday(r.t) - julianday(r.f) <= ${maxRiskRangeDays}
  order by d.date`,
      args,
    },
  ];
}

const numberOrNull = (value: unknown): number | null => {
  if (value === null || value === undefined) return null;
  const number = Number(value);
  return Number.isFinite(number) ? number : null;
};

function parsedJson(value: unknown): unknown {
  if (typeof value !== "string") return value ?? null;
  try {
    return JSON.parse(value);
  } catch {
    return null;
  }
}

type SeriesMissing = PortfolioRiskSeriesResponse["missing"][number];
const seriesReasons = new Set<string>([
  "weights_unavailable",
  "no_covariance",
  "no_positions_covered",
  "no_benchmark",
  "benchmark_without_loadings",
  "not_requested",
]);

/**
 * Why a stored summary has no number for `series`: the reason the batch stored beside it (its
 * detail's `<block>_unavailable`, as the one-date answer names it), else a generic one.
 */
function storedUnavailable(
  detail: unknown,
  block: "total" | "active",
  date: string,
): { reason: SeriesMissing["reason"]; detail: string } {
  const record = detail !== null && typeof detail === "object" ? (detail as Record<string, unknown>) : {};
  const stored = record[`${block}_unavailable`] ?? record[`${block}Unavailable`];
  if (stored !== null && typeof stored === "object") {
    const { reason, detail: text } = stored as { reason?: unknown; detail?: unknown };
    if (typeof reason === "string" && seriesReasons.has(reason))
      return { reason: reason as SeriesMissing["reason"], detail: typeof text === "string" ? text : reason };
  }
  return block === "total"
    ? { reason: "no_covariance", detail: `the stored risk summary of ${date} has no volatility` }
    : { reason: "no_benchmark", detail: `the stored risk summary of ${date} has no tracking error` };
}

function seriesBody(portfolioId: string, from: string, to: string, rows: readonly Row[]): PortfolioRiskSeriesResponse {
  const body: PortfolioRiskSeriesResponse = {
    mode: "series",
    portfolio_id: portfolioId,
    from,
    to,
    dates: [],
    benchmark: [],
    equity: [],
    volatility: [],
    tracking_error: [],
    factor_share: [],
    value_at_risk_95: [],
    value_at_risk_99: [],
    missing: [],
  };
  for (const row of rows) {
    const date = String(row[0]);
    const stored = Number(row[1]) === 1;
    body.dates.push(date);
    body.benchmark.push(stored && row[2] !== null && row[2] !== undefined ? String(row[2]) : null);
    body.equity.push(numberOrNull(row[3]));
    const volatility = stored ? numberOrNull(row[4]) : null;
    const trackingError = stored ? numberOrNull(row[5]) : null;
    body.volatility.push(volatility);
    body.tracking_error.push(trackingError);
    body.factor_share.push(stored ? numberOrNull(row[6]) : null);
    body.value_at_risk_95.push(stored ? numberOrNull(row[7]) : null);
    body.value_at_risk_99.push(stored ? numberOrNull(row[8]) : null);
    if (!stored) {
      body.missing.push({
        date,
        series: "all",
        reason: "not_computed",
        detail: `no risk summary is stored for ${date}: the batch's portfolio risk has not run for it`,
      });
      continue;
    }
    const detail = parsedJson(row[10]);
    if (volatility === null)
      body.missing.push({ date, series: "volatility", ...storedUnavailable(detail, "total", date) });
    if (trackingError === null)
      body.missing.push({ date, series: "tracking_error", ...storedUnavailable(detail, "active", date) });
  }
  return body;
}

function checkRange(from: string, to: string, defaultTo: string): void {
  if (from > to)
    throw validationError(`from (${from}) is after to (${to})`, [
      { path: "from", message: `from (${from}) is after to (${to}: ${defaultTo})` },
    ]);
  if (addDays(from, maxRiskRangeDays) < to)
    throw validationError(`the range is longer than ${maxRiskRangeDays} days`, [
      { path: "from", message: `from must be within ${maxRiskRangeDays} days of to` },
    ]);
}

const seriesCsvHeader = [
  "date",
  "benchmark",
  "equity",
  "volatility",
  "tracking_error",
  "factor_share",
  "value_at_risk_95",
  "value_at_risk_99",
] as const;

// ---- GET /portfolios/:id/attribution -----------------------------------------------------------

/** The range as SQL (?1 portfolio, ?2 from, ?3 to, ?4 today): `to` defaults to the latest snapshot, else today. */
const attributionRange = `with t as (select coalesce(?3,
    (select max(date) from portfolio_snapshots where portfolio_id = ?1), ?4) as t),
  r(f, t) as (select coalesce(?2, date(t.t, '-${defaultRiskRangeDays} days')), t.t from t)`;

function attributionStatements(portfolioId: string, from: string | undefined, to: string | undefined): ReadStatement[] {
  const args = [portfolioId, from ?? null, to ?? null, today(), marketReferenceSymbol];
  const cap = `julianday(r.t) - julianday(r.f) <= ${maxRiskRangeDays}`;
  return [
    { sql: `${attributionRange} select f, t from r`, args: args.slice(0, 4) },
    {
      sql: "select key from risk_factors where is_active = 1 order by display_order, id",
      args: [],
    },
    // Per snapshot day t of the range: its P&L, t − 1 (the market calendar's previous day), the
    // snapshot equity and the stored risk summary's detail of t − 1.
    {
      sql: `${attributionRange}, d as (
    select s.date, s.daily_pnl,
      (select max(m.date) from market_prices m where m.symbol = ?5 and m.date < s.date) as previous
    from portfolio_snapshots s, r where s.portfolio_id = ?1 and s.date >= r.f and s.date <= r.t and ${cap})
  select d.date, d.daily_pnl, d.previous, ps.equity,
    -- Only the exposures of t − 1's risk block (the whole block is ~40 KB a day), as
    -- "key=value;…" with 17 significant digits (SQLite's JSON output would round them to 15).
    (select group_concat(json_extract(e.value, '$.factor_key') || '=' ||
        ifnull(printf('%!.17g', json_extract(e.value, '$.exposure')), ''), ';')
      from json_each(rs.detail, '$.exposures') e where rs.detail is not null),
    rs.portfolio_id is not null
  from d
  left join portfolio_snapshots ps on ps.portfolio_id = ?1 and ps.date = d.previous
  left join portfolio_risk_summaries rs on rs.portfolio_id = ?1 and rs.date = d.previous
  order by d.date`,
      args,
    },
    {
      sql: `${attributionRange} select ${packedFactorReturnsColumn} from factor_returns fr, r
  where fr.kind = 'risk' and fr.date >= r.f and fr.date <= r.t and ${cap}`,
      args: args.slice(0, 4),
    },
  ];
}

/**
 * The risk exposures b_p of t − 1 by factor key, from the attribution read's "key=value;…" text
 * (the stored summary's `exposures` list, extracted in SQL), keeping `keys` only; null when the
 * summary stores none. A factor without a finite exposure is left out (reported missing).
 */
function exposuresFromText(value: unknown, keys: readonly string[]): Record<string, number> | null {
  if (typeof value !== "string") return null;
  const wanted = new Set(keys);
  const out: Record<string, number> = {};
  for (const pair of value.split(";")) {
    const at = pair.indexOf("=");
    const key = pair.slice(0, at);
    const text = pair.slice(at + 1);
    if (at < 0 || text === "" || !wanted.has(key)) continue;
    const exposure = Number(text);
    if (Number.isFinite(exposure)) out[key] = exposure;
  }
  return out;
}

function attributionBody(
  portfolioId: string,
  from: string,
  to: string,
  keys: readonly string[],
  dayRows: readonly Row[],
  packedReturns: unknown,
): AttributionResponse {
  // Each date's finite returns of `keys` (a missing one is absent, reported by the attribution).
  const aligned = alignFactorReturns(packedReturns, keys);
  const returns = new Map<string, Record<string, number>>();
  aligned.dates.forEach((date, t) => {
    const day: Record<string, number> = {};
    keys.forEach((key, k) => {
      const value = aligned.columns[k]?.[t];
      if (value !== null && value !== undefined) day[key] = value;
    });
    if (Object.keys(day).length > 0) returns.set(date, day);
  });
  const previousDates: (string | null)[] = [];
  const days: AttributionDay[] = dayRows.map((row) => {
    const date = String(row[0]);
    const previous = row[2] === null || row[2] === undefined ? null : String(row[2]);
    previousDates.push(previous);
    const summaryStored = Number(row[5]) === 1;
    return {
      date,
      pnl: numberOrNull(row[1]),
      equityPrevious: numberOrNull(row[3]),
      exposuresPrevious: summaryStored ? exposuresFromText(row[4], keys) : null,
      factorReturns: returns.get(date) ?? null,
    };
  });
  const result = computeAttribution(days, keys);
  const totals = (value: (typeof result)["total"]) => ({
    days: value.days,
    pnl: value.pnl,
    factor_pnl: value.factorPnl,
    factor_pnl_total: value.factorPnlTotal,
    specific_pnl: value.specificPnl,
    total_return: value.totalReturn,
    factor_return: value.factorReturn,
    factor_return_total: value.factorReturnTotal,
    specific_return: value.specificReturn,
  });
  return {
    portfolio_id: portfolioId,
    from,
    to,
    factors: result.factorKeys,
    days: result.days.map((day, index) => ({
      date: day.date,
      previous_date: previousDates[index] ?? null,
      status: day.status,
      reason: day.reason,
      detail:
        day.reason === "exposures_missing" && days[index]?.exposuresPrevious === null
          ? `no risk exposures are stored for ${previousDates[index] ?? "the previous trading day"}`
          : day.detail,
      pnl: day.pnl,
      equity_previous: day.equityPrevious,
      factor_pnl: day.factorPnl,
      factor_pnl_total: day.factorPnlTotal,
      specific_pnl: day.specificPnl,
      total_return: day.totalReturn,
      factor_return: day.factorReturn,
      factor_return_total: day.factorReturn === null ? null : sum(Object.values(day.factorReturn)),
      specific_return: day.specificReturn,
      cumulative: totals(day.cumulative),
    })),
    total: totals(result.total),
    days_attributed: result.daysAttributed,
    days_missing: result.daysMissing,
  };
}

// ---- historical episodes -----------------------------------------------------------------------

interface StoredReturns {
  dates: string[];
  /** Per active risk factor key, aligned with `dates` (null: no stored return). */
  byKey: Record<string, (number | null)[]>;
  factors: { key: string; name: string }[];
}

/** Every stored risk factor return of the active risk factors (or those of [from, to]), aligned by date. */
async function loadStoredReturns(db: Database, range?: { from: string; to: string }): Promise<StoredReturns> {
  const [factorsResult, returnsResult] = await readTogether(db, [
    { sql: "select key, name from risk_factors where is_active = 1 order by display_order, id", args: [] },
    {
      sql: `select ${packedFactorReturnsColumn} from factor_returns fr where fr.kind = 'risk'
        and (?1 is null or fr.date >= ?1) and (?2 is null or fr.date <= ?2)`,
      args: [range?.from ?? null, range?.to ?? null],
    },
  ]);
  const factors = (factorsResult?.rows ?? []).map((row) => ({ key: String(row[0]), name: String(row[1]) }));
  const { dates, columns } = alignFactorReturns(
    firstRow(returnsResult)?.[0],
    factors.map((factor) => factor.key),
  );
  return { dates, byKey: Object.fromEntries(factors.map((factor, k) => [factor.key, columns[k] ?? []])), factors };
}

interface Episode {
  id: string;
  name: string;
  description: string;
  from: string;
  to: string;
  builtin: boolean;
  owner: string | null;
  basis: StressEpisodeResponse["basis"];
}

const percent = (value: number) => `${(value * 100).toFixed(1)}%`;

/** The built-in episodes: per active risk factor, its worst stretch of `builtinEpisodeDays` stored days. */
function builtinEpisodes(returns: StoredReturns): Episode[] {
  return returns.factors.flatMap((factor) => {
    const stretch = worstStretch(returns.dates, returns.byKey[factor.key] ?? [], builtinEpisodeDays);
    if (stretch === null) return [];
    return [
      {
        id: `${builtinEpisodePrefix}${factor.key}`,
        name: `Worst ${builtinEpisodeDays} days: ${factor.name}`,
        description:
          `The ${builtinEpisodeDays} consecutive stored trading days with the lowest summed ${factor.name} return ` +
          `(${percent(stretch.sum)}), ${stretch.firstDate} to ${stretch.lastDate}, found in the stored factor returns.`,
        from: stretch.from,
        to: stretch.to,
        builtin: true,
        owner: null,
        basis: { factor_key: factor.key, days: stretch.days, sum: stretch.sum },
      },
    ];
  });
}

function episodeBody(episode: Episode, returns: StoredReturns): StressEpisodeResponse {
  const replay = historicalShocks(returns.dates, returns.byKey, episode.from, episode.to);
  return {
    id: episode.id,
    name: episode.name,
    description: episode.description,
    from: episode.from,
    to: episode.to,
    builtin: episode.builtin,
    owner: episode.owner,
    days: replay.days,
    first_date: replay.firstDate,
    last_date: replay.lastDate,
    shocks: replay.shocks,
    basis: episode.basis,
  };
}

type EpisodeRow = typeof stressEpisodes.$inferSelect;

const savedEpisode = (row: EpisodeRow): Episode => ({
  id: row.id,
  name: row.name,
  description: row.description,
  from: row.fromDate,
  to: row.toDate,
  builtin: false,
  owner: row.owner,
  basis: null,
});

const episodeNotFound = (id: string) => new ApiError(404, "NOT_FOUND", `stress episode ${id} does not exist`);

// ---- POST /portfolios/:id/stress (predictive, historical) -------------------------------------

function sideBody(side: StressSide) {
  return {
    moves: side.moves,
    factors: side.factors.map((factor) => ({
      factor_key: factor.factorKey,
      move: factor.move,
      shocked: factor.shocked,
      exposure: factor.exposure,
      exposure_dollar: factor.exposureDollar,
      impact: factor.impact,
    })),
    holdings: side.symbols.map((row) => ({
      symbol: row.symbol,
      position_ids: row.positionIds,
      weight: row.weight,
      dollar_exposure: row.dollarExposure,
      underlying_move: row.underlyingMove,
      impact: row.impact,
    })),
    options: side.options.map((option) => ({
      position_id: option.positionId,
      symbol: option.symbol,
      underlying_symbol: option.underlyingSymbol,
      option_type: option.optionType,
      contracts: option.contracts,
      multiplier: option.multiplier,
      spot: option.spot,
      underlying_move: option.underlyingMove,
      delta: option.delta,
      delta_approximation: option.deltaApproximation,
      repriced: option.repriced,
      repriced_reason: option.repricedReason,
    })),
    total: side.total,
    total_return: side.totalReturn,
    total_repriced: side.totalRepriced,
    total_repriced_return: side.totalRepricedReturn,
    options_delta_only: side.optionsDeltaOnly,
  };
}

/** The episode a historical stress replays: given by range, a saved one of the caller's, or a built-in. */
async function resolveEpisode(
  db: Database,
  caller: Caller,
  historical: NonNullable<StressRequest["historical"]>,
): Promise<{ episode: Episode | null; from: string; to: string; returns: StoredReturns }> {
  if (historical.episode_id === undefined) {
    const from = required(historical.from, "the episode's from");
    const to = required(historical.to, "the episode's to");
    return { episode: null, from, to, returns: await loadStoredReturns(db, { from, to }) };
  }
  const id = historical.episode_id;
  if (id.startsWith(builtinEpisodePrefix)) {
    const returns = await loadStoredReturns(db);
    const episode = builtinEpisodes(returns).find((candidate) => candidate.id === id);
    if (episode === undefined) throw episodeNotFound(id);
    return { episode, from: episode.from, to: episode.to, returns };
  }
  const row = await db
    .select()
    .from(stressEpisodes)
    .where(and(eq(stressEpisodes.id, id), eq(stressEpisodes.owner, caller.sub)))
    .get();
  if (!row) throw episodeNotFound(id);
  const episode = savedEpisode(row);
  return { episode, from: episode.from, to: episode.to, returns: await loadStoredReturns(db, episode) };
}

/**
 * The answer of `POST /portfolios/:id/stress` with `predictive` or `historical`: the date's
 * positions and stored risk model through `stressPortfolio` (worker/factors/portfolio-risk.ts).
 */
export async function riskStressAnswer(
  env: object,
  db: Database,
  caller: Caller,
  portfolioId: string,
  body: StressRequest,
): Promise<RiskStressResponse> {
  const read = await readRiskDate(db, env, {
    portfolioId,
    date: body.date,
    version: drillDownVersion(caller, portfolioId),
    extraSymbols: () => [],
  });
  const { risk, input } = read;
  const model = riskModelInput(risk);
  const factorKeys = [...model.factorKeys];
  const known = new Set(factorKeys);
  let shocks: Record<string, number>;
  let propagate: boolean;
  let replay: HistoricalShocks | null = null;
  let episode: Episode | null = null;
  if (body.predictive !== undefined) {
    const unknown = Object.keys(body.predictive.shocks).filter((key) => !known.has(key));
    if (unknown.length > 0)
      throw validationError(
        `unknown risk factor key(s): ${unknown.join(", ")}`,
        unknown.map((key) => ({
          path: `predictive.shocks.${key}`,
          message: `unknown risk factor key: ${key}; see GET /risk/factors (${factorKeys.join(", ")})`,
        })),
      );
    shocks = { ...body.predictive.shocks };
    propagate = body.predictive.propagate ?? true;
  } else {
    const historical = required(body.historical, "the historical stress");
    const resolved = await resolveEpisode(db, caller, historical);
    episode = resolved.episode;
    const byKey = Object.fromEntries(factorKeys.map((key) => [key, resolved.returns.byKey[key] ?? []]));
    // A risk factor of the covariance that is no longer active has no stored series here: all null.
    for (const key of factorKeys)
      if ((byKey[key] ?? []).length !== resolved.returns.dates.length)
        byKey[key] = resolved.returns.dates.map(() => null);
    replay = historicalShocks(resolved.returns.dates, byKey, resolved.from, resolved.to);
    if (Object.keys(replay.shocks).length === 0) {
      const path = historical.episode_id === undefined ? "historical.from" : "historical.episode_id";
      throw validationError(`no stored risk factor return in (${resolved.from}, ${resolved.to}]`, [
        {
          path,
          message:
            `no risk factor return is stored for a day in (${resolved.from}, ${resolved.to}]: ` +
            "nothing to replay (see GET /risk/factor-returns)",
        },
      ]);
    }
    shocks = replay.shocks;
    propagate = historical.propagate ?? true;
  }
  const stress: PortfolioStress = computeWithinRange([{ input }], () =>
    stressPortfolio({
      aggregation: aggregatePortfolio(input),
      factorKeys,
      covariance: model.covariance,
      loadings: model.loadings,
      shocks,
      propagate,
      holdings: read.holdings,
    }),
  );
  const headline = stress.propagated ?? stress.unpropagated;
  const missing = replay === null ? [] : replay.factors.filter((f) => f.shock === null).map((f) => f.factorKey);
  const propagatedUnavailable =
    stress.propagatedUnavailable === null
      ? null
      : {
          reason: stress.propagatedUnavailable.reason,
          detail:
            stress.propagatedUnavailable.reason === "no_covariance" && risk.covariance.status === "missing"
              ? risk.covariance.detail
              : stress.propagatedUnavailable.detail,
        };
  return {
    kind: body.predictive !== undefined ? "predictive" : "historical",
    portfolio_id: portfolioId,
    date: read.date,
    scenario: {
      id: episode?.id ?? null,
      name: replay === null ? "Predictive shocks" : (episode?.name ?? `Episode ${replay.from} to ${replay.to}`),
      shocks: stress.shocks,
    },
    equity: stress.equity,
    impacts: headline.factors.map((factor) => ({
      factor_key: factor.factorKey,
      shock: factor.move,
      exposure_dollar: factor.exposureDollar,
      impact: factor.impact,
    })),
    missing,
    total: headline.total,
    total_return: headline.totalReturn,
    complete: missing.length === 0,
    headline: stress.propagated === null ? "unpropagated" : "propagated",
    factors: stress.factorKeys,
    propagate,
    unpropagated: sideBody(stress.unpropagated),
    propagated: stress.propagated === null ? null : sideBody(stress.propagated),
    propagated_unavailable: propagatedUnavailable,
    episode:
      replay === null
        ? null
        : {
            id: episode?.id ?? null,
            name: episode?.name ?? `Episode ${replay.from} to ${replay.to}`,
            from: replay.from,
            to: replay.to,
            builtin: episode?.builtin ?? false,
            days: replay.days,
            first_date: replay.firstDate,
            last_date: replay.lastDate,
            factors: replay.factors.map((factor) => ({
              factor_key: factor.factorKey,
              shock: factor.shock,
              days_used: factor.daysUsed,
              missing_dates: factor.missingDates,
            })),
          },
    symbols_left_out: stress.symbolsLeftOut.map((row) => {
      // A symbol stored without loadings for a price reason is reported with it (as riskBlockOf does).
      const stored = row.reason === "not_computed" ? risk.priceDecided.get(row.symbol) : undefined;
      return {
        symbol: row.symbol,
        position_ids: row.positionIds,
        reason: stored?.reason ?? row.reason,
        detail: stored?.detail ?? row.detail,
      };
    }),
    positions_left_out: stress.positionsLeftOut.map((row) => ({
      position_id: row.positionId,
      symbol: row.symbol,
      beta_symbol: row.betaSymbol,
      reason: row.reason,
      detail: row.detail,
    })),
  };
}

// ---- the routes ----------------------------------------------------------------------------------

function rangeOf(result: ResultSet | undefined): { from: string; to: string } {
  const row = firstRow(result);
  return { from: String(row?.[0] ?? ""), to: String(row?.[1] ?? "") };
}

export const portfolioRiskRoutes = new Hono<ApiEnv>()
  .get(
    "/:id/risk",
    guard(routes.getPortfolioRisk),
    validate("param", portfolioParamsSchema),
    validate("query", portfolioRiskQuerySchema),
    async (c) => {
      const { id } = c.req.valid("param");
      const query = c.req.valid("query");
      const caller = c.get("caller");
      const db = getDatabase(c.env);
      const csv = wantsCsv(c, query.format);
      const { halfLifeDays } = riskModelSettings(c.env);
      // The defaults fall back to today (series) or the latest metrics date; the half-life is the deployment's.
      const representation = [
        ...representationOf(c, "getPortfolioRisk", caller, csv ? "csv" : "json"),
        today(),
        halfLifeDays,
      ];
      const version = portfolioRiskVersion(caller, id);
      const unchanged = await notModifiedIfCurrent(c, db, representation, version, { requires: "portfolio" });
      if (unchanged) return unchanged;

      if (query.from !== undefined || query.to !== undefined) {
        const [versionResult, rangeResult, rowsResult] = await readTogether(db, [
          version,
          ...seriesStatements(id, query.from, query.to),
        ]);
        const versionData = versionOf(firstRow(versionResult), { requires: "portfolio" });
        if (versionData === null) throw portfolioNotFound(id);
        const etag = await entityTag(representation, versionData);
        const { from, to } = rangeOf(rangeResult);
        checkRange(from, to, query.to === undefined ? "the default, the latest stored summary or today" : "given");
        const body = seriesBody(id, from, to, rowsResult?.rows ?? []);
        if (csv) {
          const rows = body.dates.map((date, index) => [
            date,
            body.benchmark[index] ?? null,
            body.equity[index] ?? null,
            body.volatility[index] ?? null,
            body.tracking_error[index] ?? null,
            body.factor_share[index] ?? null,
            body.value_at_risk_95[index] ?? null,
            body.value_at_risk_99[index] ?? null,
          ]);
          return withValidators(csvResponse(c, `risk-${id}-${from}-${to}.csv`, seriesCsvHeader, rows), etag);
        }
        return withValidators(c.json(body, 200), etag);
      }

      const read = await readRiskDate(db, c.env, {
        portfolioId: id,
        date: query.date,
        version,
        extraSymbols: (row) => {
          const benchmark = query.benchmark ?? row["benchmark_symbol"];
          return benchmark === "none" || benchmark === null || benchmark === undefined ? [] : [String(benchmark)];
        },
      });
      const versionData = required(versionOf(read.versionRow, { requires: "portfolio" }), "the version");
      const etag = await entityTag(representation, versionData);
      const benchmark =
        query.benchmark === "none"
          ? null
          : (query.benchmark ?? (read.versionRow["benchmark_symbol"] as string | null) ?? null);
      const body = riskOfDate(id, read, benchmark);
      if (csv)
        return withValidators(
          csvResponse(c, `risk-${id}-${body.date}.csv`, holdingCsvHeader, holdingCsvRows(body)),
          etag,
        );
      return withValidators(c.json(body, 200), etag);
    },
  )
  .get(
    "/:id/attribution",
    guard(routes.getAttribution),
    validate("param", portfolioParamsSchema),
    validate("query", attributionQuerySchema),
    async (c) => {
      const { id } = c.req.valid("param");
      const query = c.req.valid("query");
      const caller = c.get("caller");
      const db = getDatabase(c.env);
      const csv = wantsCsv(c, query.format);
      const representation = [...representationOf(c, "getAttribution", caller, csv ? "csv" : "json"), today()];
      const version = portfolioRiskVersion(caller, id);
      const unchanged = await notModifiedIfCurrent(c, db, representation, version, { requires: "portfolio" });
      if (unchanged) return unchanged;
      const [versionResult, rangeResult, keysResult, daysResult, returnsResult] = await readTogether(db, [
        version,
        ...attributionStatements(id, query.from, query.to),
      ]);
      const versionData = versionOf(firstRow(versionResult), { requires: "portfolio" });
      if (versionData === null) throw portfolioNotFound(id);
      const etag = await entityTag(representation, versionData);
      const { from, to } = rangeOf(rangeResult);
      checkRange(from, to, query.to === undefined ? "the default, the latest snapshot or today" : "given");
      const keys = (keysResult?.rows ?? []).map((row) => String(row[0]));
      const body = attributionBody(id, from, to, keys, daysResult?.rows ?? [], firstRow(returnsResult)?.[0]);
      if (csv) {
        const header = [
          "date",
          "previous_date",
          "status",
          "reason",
          "equity_previous",
          "pnl",
          ...body.factors.map((key) => `factor_pnl_${key}`),
          "factor_pnl",
          "specific_pnl",
          "total_return",
          ...body.factors.map((key) => `factor_return_${key}`),
          "factor_return",
          "specific_return",
        ];
        const rows = body.days.map((day) => [
          day.date,
          day.previous_date,
          day.status,
          day.reason,
          day.equity_previous,
          day.pnl,
          ...body.factors.map((key) => day.factor_pnl?.[key] ?? null),
          day.factor_pnl_total,
          day.specific_pnl,
          day.total_return,
          ...body.factors.map((key) => day.factor_return?.[key] ?? null),
          day.factor_return_total,
          day.specific_return,
        ]);
        return withValidators(csvResponse(c, `attribution-${id}-${from}-${to}.csv`, header, rows), etag);
      }
      return withValidators(c.json(body, 200), etag);
    },
  );

export const stressEpisodeRoutes = new Hono<ApiEnv>()
  .get("/", guard(routes.listEpisodes), noQuery(), async (c) => {
    const caller = c.get("caller");
    const db = getDatabase(c.env);
    const [returns, saved] = await Promise.all([
      loadStoredReturns(db),
      db.select().from(stressEpisodes).where(eq(stressEpisodes.owner, caller.sub)).orderBy(asc(stressEpisodes.name)),
    ]);
    const episodes = [...builtinEpisodes(returns), ...saved.map(savedEpisode)].map((episode) =>
      episodeBody(episode, returns),
    );
    return c.json({ episodes }, 200);
  })
  .post("/", guard(routes.createEpisode), noQuery(), validate("json", stressEpisodeCreateSchema), async (c) => {
    const caller = c.get("caller");
    const body = c.req.valid("json");
    const db = getDatabase(c.env);
    const clash = await db
      .select({ id: stressEpisodes.id })
      .from(stressEpisodes)
      .where(and(eq(stressEpisodes.owner, caller.sub), eq(stressEpisodes.name, body.name)))
      .get();
    if (clash)
      throw new ApiError(409, "CONFLICT", `you already have an episode named "${body.name}"`, [
        { path: "name", message: "must be unique among your episodes" },
      ]);
    const [row] = await db
      .insert(stressEpisodes)
      .values({
        id: crypto.randomUUID(),
        owner: caller.sub,
        name: body.name,
        fromDate: body.from,
        toDate: body.to,
        description: body.description ?? "",
      })
      .returning();
    // An insert returns the row it wrote.
    const created = savedEpisode(required(row, "the inserted episode"));
    c.header("Location", `/api/v1/stress/episodes/${created.id}`);
    return c.json(episodeBody(created, await loadStoredReturns(db, created)), 201);
  })
  .delete("/:id", guard(routes.deleteEpisode), noQuery(), validate("param", episodeParamsSchema), async (c) => {
    const caller = c.get("caller");
    const { id } = c.req.valid("param");
    const db = getDatabase(c.env);
    if (id.startsWith(builtinEpisodePrefix)) {
      const keys = await db.$client.execute({
        sql: "select 1 from risk_factors where is_active = 1 and key = ?1",
        args: [id.slice(builtinEpisodePrefix.length)],
      });
      if (keys.rows.length > 0) throw new ApiError(403, "FORBIDDEN", "built-in episodes cannot be deleted");
    }
    const row = await db.select().from(stressEpisodes).where(eq(stressEpisodes.id, id)).get();
    if (!row || row.owner !== caller.sub) throw episodeNotFound(id);
    await db.delete(stressEpisodes).where(eq(stressEpisodes.id, id));
    return c.body(null, 204);
  });
