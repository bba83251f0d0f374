// The reads of a portfolio's exposures and drill-down, each as one batch (./read-batch.ts): one
// request to the database and one read transaction, with the data version first
// (./data-version.ts). What used to be read one query after another — the portfolio, the
// factors, the range's last date, then the rows of that range; or the metrics date, the
// positions, then the closes and betas of the symbols held on it — is computed inside SQL
// (common table expressions), so that no statement waits for another's answer. Visibility is
// the version's portfolio column: the route answers 404 when it is null, whatever the other
// statements read.
import type { InValue, ResultSet, Row } from "@libsql/client/web";
import type { Instrument, OptionType } from "../../schema/portfolios.ts";
import type { Caller } from "../auth/permissions.ts";
import { activeStandardError, isDistinguishable } from "../factors/exposure-uncertainty.ts";
import type { HoldingInput } from "../factors/portfolio.ts";
import { packedBetasColumn } from "./betas.ts";
import { drillDownVersion, exposuresVersion } from "./data-version.ts";
import { activeFactorsStatement } from "./factors.ts";
import type { ReadStatement } from "./read-batch.ts";

/** The default range of the exposures: this many days up to its last date (docs/api.md). */
export const defaultExposureRangeDays = 180;

export interface ExposuresRead {
  portfolioId: string;
  from: string | undefined;
  to: string | undefined;
  /** The asked factor keys, or undefined for every active factor. */
  factorKeys: readonly string[] | undefined;
  /** The benchmark symbol; undefined: the portfolio's own; null: none. */
  benchmark: string | null | undefined;
  /** Today (UTC): `to` when the portfolio has no snapshot yet. */
  today: string;
}

/**
 * The range, as SQL: `to` is the given one, else the portfolio's last snapshot date, else today;
 * `from` the given one, else `defaultExposureRangeDays` before `to`. Arguments ?1 portfolio,
 * ?2 from, ?3 to, ?4 today.
 */
const exposureRange = `with r(from_date, to_date) as (
  select coalesce(?2, date(t, '-${defaultExposureRangeDays} days')), t
  from (select coalesce(?3, (select max(date) from portfolio_snapshots where portfolio_id = ?1), ?4) as t))`;

/** The stored factors of the request: every active one, or those with the asked keys (?5, a JSON array, or null). */
const chosenFactors = `(select id from factor_definitions where is_active = 1
  and (?5 is null or key in (select value from json_each(?5))))`;

/**
 * A number as JSON text, built by SQLite: printf's 17 significant digits round-trip a double,
 * so the answer's numbers are the stored doubles exactly (JSON.stringify would print the
 * shortest of the digits that do; the values are the same). NULL, and a non-finite value
 * (which JSON cannot carry; JavaScript's JSON.stringify writes null for it too), are `null`.
 */
const jsonNumber = (value: string) =>
  `(case when (${value}) is null or abs(${value}) > 1.7976931348623157e308 ` +
  `then 'null' else printf('%!.17g', ${value}) end)`;

/** A JSON array of `value` over the range's dates (the rows with a date), in date order; `[]` without any. */
const jsonSeries = (value: string) =>
  `'[' || ifnull(group_concat(case when c.date is not null then ${value} end, ',' order by c.date), '') || ']'`;

/** A text value (NULL: `null`) as JSON text. */
const jsonText = (value: string) => `(case when (${value}) is null then 'null' else json_quote(${value}) end)`;

/**
 * `isDistinguishable` (worker/factors/exposure-uncertainty.ts) in SQL, as JSON text: exposure ≠ 0
 * and |exposure| ≥ 2·se, on the stored doubles (doubling and abs are exact, so both sides compare
 * the same numbers); null when either is.
 */
const jsonDistinguishable = (exposure: string, standardError: string) =>
  `(case when ${exposure} is null or ${standardError} is null then 'null'
    when ${exposure} <> 0 and abs(${exposure}) >= 2 * ${standardError} then 'true' else 'false' end)`;

/**
 * Why the stored exposure has no standard error (`exposureStandardErrorReasons`, worker/api/analytics.ts):
 * the reason stored with it, else no row (`no_exposure`), a row without an exposure
 * (`weights_unavailable`), or a row stored before standard errors were (`not_computed`).
 */
const portfolioStandardErrorReason = `(case when c.se is not null then null when c.ser is not null then c.ser
  when c.ed is null then 'no_exposure' when c.ev is null then 'weights_unavailable' else 'not_computed' end)`;

/** Why the benchmark's beta has no standard error: no beta, or one stored before standard errors existed. */
const benchmarkStandardErrorReason = `(case when c.bse is not null then null when c.bv is null then 'no_exposure'
  else 'standard_error_not_computed' end)`;

/**
 * Why the active exposure has no standard error: the portfolio side's reason, no benchmark beta
 * (`no_exposure`) or no standard error of it, or no X_B (`not_computed`: a snapshot stored
 * before its symbol weights were). Null exactly when active, se_p, se_B and X_B are all there.
 */
const activeStandardErrorReason = `(case when c.ev is null or c.se is null then ${portfolioStandardErrorReason}
  when c.bv is null then 'no_exposure' when c.bse is null then 'standard_error_not_computed'
  when c.xb is null then 'not_computed' end)`;

/**
 * The measures of a factor's object in the exposures answer, as [JSON key, SQL value over `c`],
 * in the answer's order: each becomes one series (`jsonSeries`).
 */
const factorSeries: readonly (readonly [string, string])[] = [
  ["portfolio", jsonNumber("c.ev")],
  ["exposure_dollar", jsonNumber("c.ed")],
  ["coverage", jsonNumber("c.cv")],
  [
    "coverage_count",
    `(case when c.pu is null or c.pt is null or c.pt <= 0 then 'null'
      else ${jsonNumber("cast(c.pu as real) / c.pt")} end)`,
  ],
  ["positions_used", jsonNumber("c.pu")],
  ["positions_total", jsonNumber("c.pt")],
  ["r_squared", jsonNumber("c.rs")],
  ["benchmark", jsonNumber("c.bv")],
  ["benchmark_r_squared", jsonNumber("c.br")],
  ["standard_error_reason", jsonText(portfolioStandardErrorReason)],
  ["distinguishable", jsonDistinguishable("c.ev", "c.se")],
  ["benchmark_standard_error_reason", jsonText(benchmarkStandardErrorReason)],
  ["benchmark_distinguishable", jsonDistinguishable("c.bv", "c.bse")],
  ["active_standard_error_reason", jsonText(activeStandardErrorReason)],
];

/** `,"key":[…]` for every measure, over one factor's rows of `c`. */
const factorSeriesBody = factorSeries.map(([key, value]) => `',"${key}":' || ${jsonSeries(value)}`).join(" || ");

/** The same text for a factor without any row (a range without dates): every series empty. */
const emptySeriesBody = `'${factorSeries.map(([key]) => `,"${key}":[]`).join("")}'`;

/** The series the Worker completes (`exposureFactorJson`): active, se_p and se_B. */
const extraSeries: readonly string[] = [
  `(case when c.ev is null or c.bv is null then 'null' else ${jsonNumber("c.ev - c.bv")} end)`,
  jsonNumber("c.se"),
  jsonNumber("c.bse"),
];

/**
 * The statements of `GET /portfolios/:id/exposures`, in the order the route reads them:
 * version, factors, range, the range's dates with equity, the benchmark's X_B and the last
 * date's data_quality, and the `factors` series, one row per factor (`exposureFactorJson`).
 *
 * The series are built by SQLite, as JSON text aligned with the dates: for each factor and date
 * of the range, the stored exposure row and the benchmark's beta (left joins on their natural
 * keys: null where none), `active` = portfolio − benchmark and `coverage_count` = used / total
 * computed there in the same double arithmetic. The Worker only joins the texts: building
 * 1,440 cells × 10 measures as objects and encoding them again was over half of the route's CPU.
 * The active standard error needs a square root, which SQLite has only when built with its math
 * functions: the Worker computes it (`activeStandardError`) from the series it parses for it.
 * The series are aggregated per factor (`g`) before the join with the factors: grouping
 * `f left join c` by factor cost SQLite 4 ms more on 120 dates × 12 factors.
 */
export function exposuresStatements(caller: Caller, read: ExposuresRead): ReadStatement[] {
  const range: InValue[] = [read.portfolioId, read.from ?? null, read.to ?? null, read.today];
  const keys = read.factorKeys === undefined ? null : JSON.stringify(read.factorKeys);
  const args: InValue[] = [...range, keys, read.benchmark ?? null, read.benchmark === null ? 0 : 1];
  // X_B: the portfolio's own summed weight in the benchmark symbol on the date (0 when it holds
  // none); null without a benchmark, and for a snapshot stored before its symbol weights were.
  // d is MATERIALIZED: otherwise SQLite evaluates the X_B subquery (json_each over the snapshot's
  // weights) again wherever the factors statement reads xb, once per factor and date — 8.8 ms of
  // the route's 16 on 120 dates × 12 factors.
  const dates = `bm(symbol) as (select coalesce(?6, (select benchmark_symbol from portfolios where id = ?1))),
    d(date, equity, xb) as materialized (select s.date, s.equity,
      case when ?7 = 1 and s.symbol_weights is not null then coalesce((select j.value
        from bm, json_each(s.symbol_weights) j where j.key = bm.symbol), 0) end
    from r, portfolio_snapshots s
    where s.portfolio_id = ?1 and s.date >= r.from_date and s.date <= r.to_date)`;
  return [
    exposuresVersion(caller, read.portfolioId),
    activeFactorsStatement,
    { sql: `${exposureRange} select from_date, to_date from r`, args: range },
    {
      sql: `${exposureRange}, ${dates}
        select json_group_array(date order by date),
          '[' || ifnull(group_concat(${jsonNumber("equity")}, ',' order by date), '') || ']',
          (select s.data_quality from portfolio_snapshots s
            where s.portfolio_id = ?1 and s.date = (select max(date) from d)),
          '[' || ifnull(group_concat(${jsonNumber("xb")}, ',' order by date), '') || ']'
        from d`,
      args,
    },
    {
      sql: `${exposureRange}, ${dates},
        f(id, key, name, display_order) as (select id, key, name, display_order from factor_definitions
          where id in ${chosenFactors}),
        c(factor_id, date, ev, ed, cv, rs, pu, pt, se, ser, bv, br, bse, xb) as (
          select f.id, d.date, e.exposure_value, e.exposure_dollar, e.coverage, e.r_squared, e.positions_used,
            e.positions_total, e.standard_error, e.standard_error_reason, b.beta_value, b.r_squared,
            b.standard_error, d.xb
          from f cross join d
          left join portfolio_factor_exposures e on e.portfolio_id = ?1 and e.factor_id = f.id
            and e.calculation_date = d.date
          left join symbol_factor_exposures b on ?7 = 1 and b.symbol = (select symbol from bm)
            and b.factor_id = f.id and b.calculation_date = d.date),
        g(factor_id, body, active, se, bse) as (
          select c.factor_id, ${factorSeriesBody}, ${extraSeries.map(jsonSeries).join(", ")}
          from c group by c.factor_id)
        select '{"key":' || json_quote(f.key) || ',"name":' || json_quote(f.name)
            || coalesce(g.body, ${emptySeriesBody}),
          coalesce(g.active, '[]'), coalesce(g.se, '[]'), coalesce(g.bse, '[]')
        from f left join g on g.factor_id = f.id
        order by f.display_order, f.id`,
      args,
    },
  ];
}

const parseSeries = (text: Row[number] | undefined): (number | null)[] =>
  typeof text === "string" ? (JSON.parse(text) as (number | null)[]) : [];

/**
 * One factor's object of the exposures answer, as JSON text, from its row of the `factors`
 * statement and the range's X_B (the dates statement's fourth column, parsed): the SQL's text,
 * then `active`, `standard_error` and `benchmark_standard_error` as SQLite wrote them, then the
 * active standard error sqrt(se_p² + se_B²(1 − 2X_B)) and whether the active exposure is
 * distinguishable from zero, computed here where all four numbers are there (where one is
 * missing, `active_standard_error_reason` says why).
 */
export function exposureFactorJson(row: Row, benchmarkWeights: readonly (number | null)[]): string {
  const active = parseSeries(row[1]);
  const portfolio = parseSeries(row[2]);
  const benchmark = parseSeries(row[3]);
  const activeErrors = active.map((value, i) => {
    const se = portfolio[i] ?? null;
    const seB = benchmark[i] ?? null;
    const weight = benchmarkWeights[i] ?? null;
    return value === null || se === null || seB === null || weight === null
      ? null
      : activeStandardError(se, weight, seB);
  });
  const distinguishable = active.map((value, i) => {
    const se = activeErrors[i] ?? null;
    return value === null || se === null ? null : isDistinguishable(value, se);
  });
  return (
    `${String(row[0])},"active":${String(row[1])},"standard_error":${String(row[2])}` +
    `,"benchmark_standard_error":${String(row[3])},"active_standard_error":${JSON.stringify(activeErrors)}` +
    `,"active_distinguishable":${JSON.stringify(distinguishable)}}`
  );
}

export interface DrillDownRead {
  portfolioId: string;
  /** The asked date, or undefined for the latest metrics date. */
  date: string | undefined;
  factorKey: string;
}

/**
 * The date, as SQL: the given one (?1), else the latest metrics date; and the beta symbols held
 * on it (an option's underlying; private holdings have none), of portfolio ?2, as the
 * aggregation reads them (worker/factors/portfolio.ts `betaSymbolOf`, `isHeldOn`).
 */
const heldOnDate = `with d(date) as (select coalesce(?1, (select max(metrics_date) from symbol_daily_metrics))),
held(symbol) as (select distinct
    case when x.instrument = 'option' then coalesce(x.underlying_symbol, x.symbol) else x.symbol end
  from positions x, d where x.portfolio_id = ?2 and x.instrument <> 'private'
    and (x.opened_on is null or x.opened_on <= d.date) and (x.closed_on is null or x.closed_on > d.date))`;

/** The asked factor, when it is active (?3). */
const askedFactor = "(select id from factor_definitions where key = ?3 and is_active = 1)";

/**
 * The statements of `GET /portfolios/:id/exposures/stocks`, in the order `drillDownFrom` reads
 * them: version (with the cash), the date and whether it has metrics, the positions, the
 * factors, and the closes, betas and beta gaps of the symbols held on the date for the factor.
 */
export function drillDownStatements(caller: Caller, read: DrillDownRead): ReadStatement[] {
  const held: InValue[] = [read.date ?? null, read.portfolioId, read.factorKey];
  return [
    drillDownVersion(caller, read.portfolioId),
    {
      sql: `select coalesce(?1, (select max(metrics_date) from symbol_daily_metrics)),
        exists (select 1 from symbol_daily_metrics
          where metrics_date = coalesce(?1, (select max(metrics_date) from symbol_daily_metrics)))`,
      args: [read.date ?? null],
    },
    {
      sql: `select id, symbol, instrument, quantity, opened_on, closed_on, underlying_symbol, option_type, strike,
        expiry, multiplier, delta, implied_vol, premium from positions where portfolio_id = ?1 order by id`,
      args: [read.portfolioId],
    },
    activeFactorsStatement,
    {
      // The company name (third column) labels the drill-down's rows; `closesFrom` reads the first two.
      sql: `${heldOnDate} select m.symbol, m.current_price, m.company_name from d, symbol_daily_metrics m
        where m.metrics_date = d.date and m.symbol in (select symbol from held)`,
      args: held.slice(0, 2),
    },
    {
      sql: `${heldOnDate} select ${packedBetasColumn}
        from d, symbol_factor_exposures b
        where b.calculation_date = d.date and b.symbol in (select symbol from held) and b.factor_id = ${askedFactor}`,
      args: held,
    },
    {
      sql: `${heldOnDate} select g.symbol, g.factor_id, g.calculation_date, g.reason, g.observations, g.detail
        from d, symbol_beta_gaps g
        where g.calculation_date = d.date and g.symbol in (select symbol from held) and g.factor_id = ${askedFactor}`,
      args: held,
    },
  ];
}

const textOrNull = (value: Row[number] | undefined) => (value === null || value === undefined ? null : String(value));
const numberOrNull = (value: Row[number] | undefined) => (value === null || value === undefined ? null : Number(value));

/** The positions, as `portfolioHoldings` (worker/portfolios/aggregation-input.ts) returns them. */
export function holdingsFrom(result: ResultSet | undefined): HoldingInput[] {
  return (result?.rows ?? []).map((row) => ({
    id: String(row[0]),
    symbol: String(row[1]),
    instrument: String(row[2]) as Instrument,
    quantity: Number(row[3]),
    openedOn: textOrNull(row[4]),
    closedOn: textOrNull(row[5]),
    underlyingSymbol: textOrNull(row[6]),
    optionType: textOrNull(row[7]) as OptionType | null,
    strike: numberOrNull(row[8]),
    expiry: textOrNull(row[9]),
    multiplier: numberOrNull(row[10]),
    delta: numberOrNull(row[11]),
    impliedVol: numberOrNull(row[12]),
    premium: numberOrNull(row[13]),
  }));
}

/** Company names by symbol from the drill-down's closes statement (its third column), where known. */
export function companyNamesFrom(result: ResultSet | undefined): Map<string, string> {
  const names = new Map<string, string>();
  for (const row of result?.rows ?? [])
    if (row[2] !== null && row[2] !== undefined && String(row[2]) !== "") names.set(String(row[0]), String(row[2]));
  return names;
}

/** Closes by symbol (a NULL close left out, as `aggregationInputFor` does). */
export function closesFrom(result: ResultSet | undefined): Map<string, number> {
  const closes = new Map<string, number>();
  for (const row of result?.rows ?? [])
    if (row[1] !== null && row[1] !== undefined) closes.set(String(row[0]), Number(row[1]));
  return closes;
}
