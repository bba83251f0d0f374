// API benchmark: `npm run bench:api` (node scripts/bench-api.ts).
//
// What it measures, per route and per runtime: the workerd CPU time per request; requests/s,
// p50 and p99 at 50 connections and at 1 connection; and each figure's ratio to the floor
// route's in the same run. The routes are the reads a dashboard hits hardest, on the real local
// stack against the local libSQL server, with the batch benchmark's data set
// (scripts/bench-batch/seed.ts: 3,000 symbols, 100 portfolios of 50 positions), over loopback:
//   floor              GET /docs: the static docs page, no token, no database (the reference)
//   symbols_sorted     GET /data/symbols?sort_by=factor_momentum&sort_order=desc&limit=100
//   symbols_sector     GET /data/symbols?sector=<the most common sector>&sort_by=market_cap&sort_order=desc
//   symbols_deep_page  GET /data/symbols?sort_by=return_ytd&limit=100&offset=2800
//   exposures          GET /portfolios/<id>/exposures?from=<first of 120 dates>&to=<end date>&benchmark=SPY
//                      (120 dates × 12 factors, portfolio, benchmark and active values)
//   drill_down         GET /portfolios/<id>/exposures/stocks?factor=market_beta&date=<end date>
//   exposures_304      the exposures request with If-None-Match: its ETag (every answer a 304
//                      read from the data version alone, docs/api.md "Conditional requests")
//   symbol_detail      GET /data/symbols/SPY: betas with standard errors, history, risk loadings
//   risk_covariance    GET /risk/covariance?date=<end date>: the stored EWMA covariance
//   risk_factor_returns GET /risk/factor-returns?from=<a year before>&to=<end date>
//   risk_one_date      GET /portfolios/<id>/risk?date=<end date>: the portfolio's risk computed per
//                      request (positions, closes, lens betas, stored loadings and covariance)
//   risk_series        GET /portfolios/<id>/risk?from=<first of 120 dates>&to=<end date>: the
//                      stored risk summaries (volatility, tracking error, VaR …) of 120 dates
//   attribution        GET /portfolios/<id>/attribution?from=<first of 120 dates>&to=<end date>:
//                      120 days of P&L split into risk factor and specific parts
//   hedge              POST /portfolios/<id>/hedge {target: tracking_error, date, benchmark: SPY}:
//                      the suggested trades in the default instruments, solved per request
//   limits             GET /portfolios/<id>/limits: the 10 seeded limits (`benchLimits`), each
//                      with its number on the latest computed date
//   alerts             GET /alerts?portfolio_id=<id>&limit=50: a page of the seeded limits' alerts
//                      (one on every fourth of the 120 dates per limit), each with its limit now
// all under /api/v1, with a bearer token of the bench portfolios' owner (every permission).
//
// Two runtimes (--runtime direct|wrangler|both, default both), one after the other, never at
// the same time, on the same snapshot of the Worker and the same database:
// - direct: the bundle on workerd through Miniflare's API (scripts/bench-api/direct.ts), with the
//   bindings wrangler reads from the same wrangler.toml (Durable Object, queues, rate limit,
//   vars, assets) and the bench's vars and secrets: one workerd process, no proxy, no
//   per-request log. Its CPU is that process's utime + stime from /proc.
// - wrangler: `wrangler dev --no-bundle` on the same bundle (scripts/bench-batch/stack.ts): its
//   proxy (a second workerd passing every request through a Durable Object) and its Node
//   process (which logs every request) in front of the Worker. Its workerd CPU is both workerd
//   processes'; wrangler's Node is reported apart.
//
// Per route and runtime: one request first, which must answer the expected status (200, or 304
// for exposures_304) and shape, else the benchmark stops and prints the body; a warm-up (2 s at
// 50 connections, not counted); the measured run at 50 connections (10 s); a pause; the measured
// run at 1 connection (5 s). During each measured run, the CPU seconds of the runtime's workerd,
// of this process (the libSQL server) and of the load generator. CPU per request = workerd CPU
// seconds ÷ answers received. Latency: every answer's time in fractional ms (load.ts collects
// them; autocannon's own histogram keeps whole ms, also in the JSON).
// Targets, on the direct runtime: each route's CPU per request ≤ 2× the floor's; p99 ≤ 100 ms
// at 50 connections; no errors and no unexpected status.
//
// How: a fresh temp dir holds the database (the libSQL server runs in this process, with an
// auth token), the runtimes' state and logs. Migrations, then the bench data set for a fixed end
// date (the same as `npm run bench:batch`'s, positions opened before the first of the 120
// weekdays before the end date). The Worker is snapshotted as the batch benchmark does (bundled
// with `wrangler deploy --dry-run`; the client assets and wrangler.toml copied), with one change
// to the copied wrangler.toml: the per-caller rate limit (API_RATE_LIMIT, 1,200 requests a
// minute) is raised to 1,000,000, so that the benchmark measures the routes, not 429s. The
// first runtime started runs the real batch for the end date through the admin API
// (POST /admin/batch/run, polled until it ends: runBatch in scripts/bench-batch/common.ts): it
// stores the metrics, betas, portfolio exposures and snapshots the routes read. Rather than a
// 13-minute backfill, the end date's rows of the measured portfolio (exposures, snapshot, risk
// summary) and of SPY are then copied in SQL to the 119 weekdays before it (INSERT … SELECT
// with the date replaced): the exposures, risk series and attribution routes read the same
// number of rows whoever wrote them, so they do the same work (the values repeat; the
// attribution's factor returns are the batch's own). autocannon runs in a child process
// (scripts/bench-api/load.ts), not on this process's event loop. Everything started is stopped
// on exit, error or Ctrl-C; `--keep` keeps the temp dir.
//
// --profile DIR: after each route's measured runs on the direct runtime, one more run at 50
// connections with the isolate's V8 sampling profiler on (the inspector, Miniflare's
// inspectorPort; scripts/bench-api/profile.ts): DIR/<route>.cpuprofile (Chrome DevTools,
// speedscope) and the self time by function and by source module, printed and in the JSON.
// The profiled run is not one of the figures.
//
// Options: --runtime direct|wrangler|both (both), --connections N (50), --duration S (seconds
// at N connections, 10), --single-duration S (seconds at 1 connection, 5), --warmup S (2),
// --routes a,b (a subset of the names above), --portfolio ID (bench-portfolio-001),
// --symbols N (3000), --portfolios N (100), --positions N (50), --dates N (exposure dates, 120),
// --end-date YYYY-MM-DD (2026-06-30), --out FILE (bench-results/api.json), --profile DIR, --keep.
//
// Caveats:
// - Everything shares the machine's cores: the runtime's workerd (the Worker is one isolate:
//   one core at most), this process (the libSQL server; with wrangler, also the log it reads),
//   autocannon's process, and with wrangler its proxy and Node. A production Worker runs on
//   Cloudflare's machines and queries Turso over the network: its latency has a network round
//   trip per query that loopback does not, and none of this contention. The figures compare
//   routes, runtimes and changes on this machine; they are not production latencies.
// - autocannon is closed-loop (each connection sends its next request when the answer
//   arrives): with 50 connections, latency ≈ 50 / throughput, so p99 ≤ 100 ms needs well over
//   500 requests/s.
// - The copied exposure rows repeat the end date's values; the drill-down and the symbol
//   routes read what the batch computed for the end date.
// - Other processes on the machine (tests, another dev stack) skew the figures; the JSON
//   records the load average at start and end.
import { createClient, type Client } from "@libsql/client";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import type { ExposuresResponse } from "../worker/api/analytics.ts";
import { addDays } from "../worker/dates.ts";
import { allPermissions, mintDevToken } from "./dev-token.ts";
import { projectRoot } from "./local-config.ts";
import {
  benchSay,
  benchSecrets,
  benchTempDir,
  benchWorkerVars,
  buildClientIfMissing,
  checkEndDate,
  excerpt,
  exitOnSignals,
  loadAverage,
  lookbackDaysFor,
  machineInfo,
  printColumns,
  round,
  runAndExit,
  request as authorizedRequest,
  runBatch,
  seconds,
  sleep,
  startBenchDatabase,
  thousands,
  weekdaysBefore,
  wholeNumber,
  writeResults,
  type BatchFigures,
} from "./bench-batch/common.ts";
import { benchMarketOptions, benchOrg, benchOwner } from "./bench-batch/seed.ts";
import { freePort, onStop, snapshotWorker, tail } from "./bench-batch/stack.ts";
import type { LoadRequest, LoadResult } from "./bench-api/load.ts";
import { LoadGenerator } from "./bench-api/load-generator.ts";
import {
  bundleModules,
  InspectorSession,
  profileWhile,
  summarizeProfile,
  type ProfileSummary,
} from "./bench-api/profile.ts";
import {
  runtimeNames,
  startDirectRuntime,
  startWranglerRuntime,
  type Runtime,
  type RuntimeName,
  type RuntimeOptions,
} from "./bench-api/runtimes.ts";

const targets = { p99Ms: 100, cpuRatio: 2 };
const expectedFactors = 12;
const raisedRateLimit = 1_000_000;
const benchmarkSymbol = "SPY";
/**
 * The limits the `limits` and `alerts` routes read, one of each metric (and a few more lens
 * factors): `npm run bench:batch` seeds none. Each gets an alert on every fourth exposure date,
 * breached and cleared in turn, so the alerts route pages through a history.
 */
const benchLimits: readonly { metric: string; factorKey: string | null; min: number | null; max: number | null }[] = [
  { metric: "exposure", factorKey: "market_beta", min: null, max: 0.9 },
  { metric: "exposure", factorKey: "momentum", min: -0.2, max: 0.2 },
  { metric: "exposure", factorKey: "size", min: -0.3, max: null },
  { metric: "active_exposure", factorKey: "market_beta", min: -0.1, max: 0.1 },
  { metric: "risk_exposure", factorKey: "market", min: null, max: 1 },
  { metric: "active_risk_exposure", factorKey: "size", min: -0.2, max: 0.2 },
  { metric: "factor_share", factorKey: "market", min: null, max: 0.8 },
  { metric: "tracking_error", factorKey: null, min: null, max: 0.05 },
  { metric: "volatility", factorKey: null, min: 0.05, max: 0.2 },
  { metric: "volatility", factorKey: null, min: null, max: 0.3 },
];
/** Alerts asked for per page by the `alerts` route. */
const benchAlertsPage = 50;

/** `floor` is a reference, not a target: a public static page with no token, no database. */
const routeNames = [
  "floor",
  "symbols_sorted",
  "symbols_sector",
  "symbols_deep_page",
  "exposures",
  "drill_down",
  "exposures_304",
  "symbol_detail",
  "risk_covariance",
  "risk_factor_returns",
  "risk_one_date",
  "risk_series",
  "attribution",
  "hedge",
  "limits",
  "alerts",
] as const;
type RouteName = (typeof routeNames)[number];

const { values: flags } = parseArgs({
  options: {
    runtime: { type: "string", default: "both" },
    connections: { type: "string", default: "50" },
    duration: { type: "string", default: "10" },
    "single-duration": { type: "string", default: "5" },
    warmup: { type: "string", default: "2" },
    routes: { type: "string", default: routeNames.join(",") },
    portfolio: { type: "string", default: "bench-portfolio-001" },
    symbols: { type: "string", default: "3000" },
    portfolios: { type: "string", default: "100" },
    positions: { type: "string", default: "50" },
    dates: { type: "string", default: "120" },
    "end-date": { type: "string", default: "2026-06-30" },
    out: { type: "string", default: "bench-results/api.json" },
    profile: { type: "string" },
    keep: { type: "boolean", default: false },
  },
  strict: true,
});

const endDate = checkEndDate(flags["end-date"]);
const connections = wholeNumber("connections", flags.connections, 1);
const durationSeconds = wholeNumber("duration", flags.duration, 1);
const singleDurationSeconds = wholeNumber("single-duration", flags["single-duration"], 0);
const warmupSeconds = wholeNumber("warmup", flags.warmup, 0);
const symbols = wholeNumber("symbols", flags.symbols, 1);
const portfolioCount = wholeNumber("portfolios", flags.portfolios, 1);
const positionsPerPortfolio = wholeNumber("positions", flags.positions, 1);
const dateCount = wholeNumber("dates", flags.dates, 1);
const portfolioId = flags.portfolio;
const profileDir = flags.profile === undefined ? null : path.resolve(projectRoot, flags.profile);
const selectedRuntimes: RuntimeName[] =
  flags.runtime === "both"
    ? [...runtimeNames]
    : (runtimeNames as readonly string[]).includes(flags.runtime)
      ? [flags.runtime as RuntimeName]
      : [];
if (selectedRuntimes.length === 0)
  throw new Error(`--runtime must be one of ${runtimeNames.join(", ")} or both, got ${flags.runtime}`);
const selectedRoutes = flags.routes
  .split(",")
  .map((name) => name.trim())
  .filter((name) => name !== "");
for (const name of selectedRoutes)
  if (!(routeNames as readonly string[]).includes(name))
    throw new Error(`--routes: unknown route ${name}; one of ${routeNames.join(", ")}`);

/** The exposures route's dates: the end date and the weekdays before it. */
const exposureDates = [...weekdaysBefore(endDate, dateCount - 1), endDate];
/** Positions open before this date, as `npm run bench:batch` seeds them (its first backfill date). */
const firstMeasuredDate = weekdaysBefore(endDate, dateCount)[0] ?? endDate;
// A year of history before the first measured date, plus a margin (as bench-batch computes it).
const lookbackDays = lookbackDaysFor(endDate, firstMeasuredDate);

const say = benchSay();

// ---------------------------------------------------------------------------------------------

/**
 * Copies the rows of `table` stored for `endDate` (where `keyColumn` = `keyValue`) to `dates`,
 * every column but the id and created_at kept, the date column replaced; rows that exist are
 * left alone. Returns [rows on the end date, rows inserted].
 */
async function copyEndDateRows(
  client: Client,
  table: string,
  dateColumn: string,
  keyColumn: string,
  keyValue: string,
  dates: readonly string[],
): Promise<[number, number]> {
  const info = await client.execute(`PRAGMA table_info("${table}")`);
  const columns = info.rows.map((row) => String(row["name"])).filter((name) => name !== "id" && name !== "created_at");
  if (!columns.includes(dateColumn) || !columns.includes(keyColumn))
    throw new Error(`${table} has no ${dateColumn} or ${keyColumn} column`);
  const source = await client.execute({
    sql: `SELECT count(*) AS n FROM "${table}" WHERE "${keyColumn}" = ? AND "${dateColumn}" = ?`,
    args: [keyValue, endDate],
  });
  const sourceRows = Number(source.rows[0]?.["n"] ?? 0);
  if (sourceRows === 0)
    throw new Error(`${table} has no row for ${keyColumn} = ${keyValue} on ${endDate}: did the batch store it?`);
  const list = columns.map((name) => `"${name}"`).join(", ");
  const select = columns.map((name) => (name === dateColumn ? "d.value" : `t."${name}"`)).join(", ");
  const inserted = await client.execute({
    sql:
      `INSERT INTO "${table}" (${list}) SELECT ${select} FROM "${table}" t, json_each(?) d ` +
      `WHERE t."${keyColumn}" = ? AND t."${dateColumn}" = ? ON CONFLICT DO NOTHING`,
    args: [JSON.stringify(dates), keyValue, endDate],
  });
  return [sourceRows, inserted.rowsAffected];
}

// ---------------------------------------------------------------------------------------------

interface RouteSpec {
  name: RouteName;
  path: string;
  /**
   * Revalidation: the load sends `If-None-Match` with the ETag of a first plain answer, and
   * every answer must be a 304 without a body.
   */
  revalidate: boolean;
  /** A POST's JSON body (the hedge); GET when absent. */
  body?: unknown;
  /** Checks the first 200 answer's body; returns what it holds, throws when it is not what the route should answer. */
  check(body: unknown): string;
}

interface SymbolsBody {
  symbols: { symbol: string }[];
  total_count: number;
  metrics_date: string | null;
}

function checkSymbols(body: unknown, minRows: number): string {
  const page = body as SymbolsBody;
  if (!Array.isArray(page.symbols) || page.metrics_date !== endDate)
    throw new Error(`expected symbols for ${endDate}, got metrics_date ${String(page.metrics_date)}`);
  if (page.symbols.length < minRows)
    throw new Error(`expected at least ${minRows} rows, got ${page.symbols.length} (total_count ${page.total_count})`);
  return `${page.symbols.length} rows of ${page.total_count}, metrics date ${page.metrics_date}`;
}

function checkExposures(body: unknown): string {
  const answer = body as Partial<ExposuresResponse>;
  const dates = answer.dates ?? [];
  const factors = answer.factors ?? [];
  const aligned = factors.every(
    (factor) =>
      factor.portfolio.length === dates.length &&
      factor.benchmark.length === dates.length &&
      factor.active.length === dates.length,
  );
  if (dates.length !== exposureDates.length || factors.length !== expectedFactors || !aligned) {
    throw new Error(
      `expected ${exposureDates.length} dates × ${expectedFactors} factors, got ${dates.length} ` +
        `dates × ${factors.length} factors${aligned ? "" : " (series not aligned with the dates)"}`,
    );
  }
  const cells = dates.length * factors.length;
  const count = (key: "portfolio" | "benchmark" | "active") =>
    factors.reduce((sum, factor) => sum + factor[key].filter((value) => value !== null).length, 0);
  const [portfolio, benchmark, active] = [count("portfolio"), count("benchmark"), count("active")];
  if (portfolio < cells || benchmark < cells)
    say(`  WARNING: not every cell has a value: ${portfolio}/${cells} portfolio, ${benchmark}/${cells} benchmark`);
  return (
    `${dates.length} dates × ${factors.length} factors (${dates[0]}..${dates.at(-1)}), ` +
    `benchmark ${answer.benchmark}; values: portfolio ${portfolio}/${cells}, ` +
    `benchmark ${benchmark}/${cells}, active ${active}/${cells}`
  );
}

interface DrillDownBody {
  date: string;
  rows: unknown[];
  missing: unknown[];
  exposure: number | null;
}

function checkDrillDown(body: unknown): string {
  const drill = body as DrillDownBody;
  if (drill.date !== endDate || !Array.isArray(drill.rows) || drill.rows.length === 0)
    throw new Error(`expected rows for ${endDate}, got ${drill.rows?.length ?? 0} rows for ${drill.date}`);
  return (
    `${drill.rows.length} rows, ${drill.missing.length} missing, ` +
    `exposure ${drill.exposure === null ? "null" : round(drill.exposure, 4)}`
  );
}

interface CovarianceBody {
  date: string | null;
  matrix: number[][] | null;
  observations: number;
  reason?: string | null;
}

function checkCovariance(body: unknown): string {
  const covariance = body as CovarianceBody;
  if (covariance.date !== endDate) throw new Error(`expected the covariance of ${endDate}, got ${covariance.date}`);
  return covariance.matrix
    ? `${covariance.matrix.length}×${covariance.matrix.length} on ${covariance.observations} days`
    : `no matrix: ${covariance.reason} (${covariance.observations} days)`;
}

function checkFactorReturns(body: unknown): string {
  const answer = body as { dates: string[]; factors: string[] };
  if (!Array.isArray(answer.dates) || answer.dates.length === 0) throw new Error("expected stored factor returns");
  return `${answer.dates.length} dates × ${answer.factors.length} risk factors`;
}

function checkSymbolDetail(body: unknown): string {
  const detail = body as { symbol: string; betas: unknown[]; risk_loadings: { status: string } };
  if (detail.symbol !== benchmarkSymbol || !Array.isArray(detail.betas))
    throw new Error(`expected ${benchmarkSymbol}'s page`);
  return `${detail.betas.length} betas with standard errors, risk loadings ${detail.risk_loadings.status}`;
}

function checkRiskOneDate(body: unknown): string {
  const risk = body as {
    date: string;
    total: { volatility: number } | null;
    total_unavailable: { reason: string } | null;
  };
  if (risk.date !== endDate) throw new Error(`expected the risk of ${endDate}, got ${risk.date}`);
  return risk.total
    ? `volatility ${round(risk.total.volatility, 4)} on ${risk.date}`
    : `no total risk: ${risk.total_unavailable?.reason}`;
}

function checkRiskSeries(body: unknown): string {
  const series = body as { dates: string[]; volatility: (number | null)[]; missing: unknown[] };
  if (!Array.isArray(series.dates) || series.dates.length !== exposureDates.length)
    throw new Error(`expected ${exposureDates.length} dates of risk summaries, got ${series.dates?.length ?? 0}`);
  const values = series.volatility.filter((value) => value !== null).length;
  return `${series.dates.length} dates, ${values} volatilities, ${series.missing.length} missing`;
}

function checkAttribution(body: unknown): string {
  const attribution = body as { days: unknown[]; days_attributed: number; factors: string[] };
  if (!Array.isArray(attribution.days) || attribution.days.length !== exposureDates.length)
    throw new Error(`expected ${exposureDates.length} days, got ${attribution.days?.length ?? 0}`);
  const { days, factors, days_attributed: attributed } = attribution;
  return `${days.length} days × ${factors.length} risk factors, ${attributed} attributed`;
}

function checkHedge(body: unknown): string {
  const hedge = body as { date: string; instruments: string[]; trades: unknown[]; target_risk: { measure: string } };
  if (hedge.date !== endDate || !Array.isArray(hedge.trades))
    throw new Error(`expected a hedge on ${endDate}, got ${String(hedge.date)}`);
  return `${hedge.trades.length} trades in ${hedge.instruments.length} instruments, ${hedge.target_risk.measure}`;
}

function checkLimits(body: unknown): string {
  const list = body as { limits: { current: { position: string } }[] };
  if (!Array.isArray(list.limits) || list.limits.length !== benchLimits.length)
    throw new Error(`expected the ${benchLimits.length} seeded limits, got ${list.limits?.length ?? 0}`);
  const breached = list.limits.filter((limit) => limit.current.position === "breached").length;
  return `${list.limits.length} limits, ${breached} breached now, each with its current number`;
}

function checkAlerts(body: unknown): string {
  const list = body as { alerts: unknown[]; next_cursor: string | null };
  if (!Array.isArray(list.alerts) || list.alerts.length !== benchAlertsPage)
    throw new Error(`expected a full page of ${benchAlertsPage} alerts, got ${list.alerts?.length ?? 0}`);
  return `${list.alerts.length} alerts (a page; more: ${list.next_cursor !== null}), each with its limit now`;
}

function routeSpecs(sector: string): RouteSpec[] {
  const from = exposureDates[0] ?? endDate;
  const exposuresPath = `/portfolios/${portfolioId}/exposures?from=${from}&to=${endDate}&benchmark=${benchmarkSymbol}`;
  const specs: RouteSpec[] = [
    {
      name: "floor",
      path: "/docs",
      revalidate: false,
      check: (body) => {
        if (typeof body !== "string" || !body.startsWith("<!doctype html>")) throw new Error("expected the docs page");
        return "the static docs page (no token check, no database): what the runtime serves at best on this machine";
      },
    },
    {
      name: "symbols_sorted",
      path: "/data/symbols?sort_by=factor_momentum&sort_order=desc&limit=100",
      revalidate: false,
      check: (body) => checkSymbols(body, 100),
    },
    {
      name: "symbols_sector",
      path: `/data/symbols?sector=${encodeURIComponent(sector)}&sort_by=market_cap&sort_order=desc`,
      revalidate: false,
      check: (body) => checkSymbols(body, 1),
    },
    {
      name: "symbols_deep_page",
      path: "/data/symbols?sort_by=return_ytd&limit=100&offset=2800",
      revalidate: false,
      check: (body) => checkSymbols(body, 1),
    },
    { name: "exposures", path: exposuresPath, revalidate: false, check: checkExposures },
    {
      name: "drill_down",
      path: `/portfolios/${portfolioId}/exposures/stocks?factor=market_beta&date=${endDate}`,
      revalidate: false,
      check: checkDrillDown,
    },
    { name: "exposures_304", path: exposuresPath, revalidate: true, check: checkExposures },
    { name: "symbol_detail", path: `/data/symbols/${benchmarkSymbol}`, revalidate: false, check: checkSymbolDetail },
    { name: "risk_covariance", path: `/risk/covariance?date=${endDate}`, revalidate: false, check: checkCovariance },
    {
      name: "risk_factor_returns",
      path: `/risk/factor-returns?from=${addDays(endDate, -365)}&to=${endDate}`,
      revalidate: false,
      check: checkFactorReturns,
    },
    {
      name: "risk_one_date",
      path: `/portfolios/${portfolioId}/risk?date=${endDate}`,
      revalidate: false,
      check: checkRiskOneDate,
    },
    {
      name: "risk_series",
      path: `/portfolios/${portfolioId}/risk?from=${from}&to=${endDate}`,
      revalidate: false,
      check: checkRiskSeries,
    },
    {
      name: "attribution",
      path: `/portfolios/${portfolioId}/attribution?from=${from}&to=${endDate}`,
      revalidate: false,
      check: checkAttribution,
    },
    {
      name: "hedge",
      path: `/portfolios/${portfolioId}/hedge`,
      revalidate: false,
      body: { target: "tracking_error", date: endDate, benchmark: benchmarkSymbol },
      check: checkHedge,
    },
    { name: "limits", path: `/portfolios/${portfolioId}/limits`, revalidate: false, check: checkLimits },
    {
      name: "alerts",
      path: `/alerts?portfolio_id=${portfolioId}&limit=${benchAlertsPage}`,
      revalidate: false,
      check: checkAlerts,
    },
  ];
  return specs.filter((spec) => selectedRoutes.includes(spec.name));
}

// ---------------------------------------------------------------------------------------------

interface LoadFigures {
  connections: number;
  seconds: number;
  /** autocannon's mean of per-second answer counts. */
  requestsPerSecond: number;
  requestsTotal: number;
  /** Every answer's latency, fractional ms. */
  latencyMs: LoadResult["exactLatency"];
  /** autocannon's histogram of the same answers, whole ms. */
  autocannonLatencyMs: { p50: number; p99: number; max: number };
  errors: number;
  timeouts: number;
  /** Answers with another status than the route's (200, or 304 when revalidating). */
  unexpected: number;
  statusCodes: Record<string, number>;
  /** CPU seconds during the run. */
  cpuSeconds: {
    workerd: number | null;
    wranglerNode: number | null;
    libsqlServerProcess: number;
    loadGenerator: number;
    wallSeconds: number;
  };
  /** CPU ms per answer during the run. */
  cpuMsPerRequest: { workerd: number | null; libsqlServerProcess: number | null };
}

/** A figure's ratio to the floor's (two decimals); null without a floor or a figure. */
type Ratio = number | null;

interface RouteFigures {
  name: RouteName;
  path: string;
  revalidate: boolean;
  firstAnswer: { status: number; ms: number; bytes: number; etag: string | null; holds: string };
  loaded: LoadFigures;
  single: LoadFigures | null;
  ratiosToFloor: {
    cpuMsPerRequest: Ratio;
    loaded: { requestsPerSecond: Ratio; p50: Ratio; p99: Ratio };
    single: { requestsPerSecond: Ratio; p50: Ratio; p99: Ratio };
  } | null;
  target: { cpuWithinRatio: boolean | null; p99Met: boolean; noErrors: boolean };
  profile?: ProfileSummary & { file: string };
}

/**
 * A pause after a load run: autocannon stops at the end of its duration without waiting for
 * the answers in flight, which the stack is still working on; the next run starts on an idle stack.
 */
const settleMs = 2_000;
const settle = () => sleep(settleMs);

async function measureLoad(
  runtime: Runtime,
  loader: LoadGenerator,
  request: LoadRequest,
  expectedStatus: number,
): Promise<LoadFigures> {
  const before = runtime.cpu();
  const ownBefore = process.cpuUsage();
  const wallBefore = performance.now();
  const result = await loader.run(request);
  const wallSeconds = (performance.now() - wallBefore) / 1000;
  const own = process.cpuUsage(ownBefore);
  const after = runtime.cpu();
  const workerd = before && after ? round(after.workerd - before.workerd, 2) : null;
  const wranglerNode =
    before?.wranglerNode != null && after?.wranglerNode != null
      ? round(after.wranglerNode - before.wranglerNode, 2)
      : null;
  const libsqlSeconds = round((own.user + own.system) / 1e6, 2);
  const answers = result.requests.total;
  const expected = result.statusCodes[String(expectedStatus)] ?? 0;
  return {
    connections: request.connections,
    seconds: result.duration,
    requestsPerSecond: round(result.requests.average, 1),
    requestsTotal: answers,
    latencyMs: result.exactLatency,
    autocannonLatencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    errors: result.errors,
    timeouts: result.timeouts,
    unexpected: answers - expected,
    statusCodes: result.statusCodes,
    cpuSeconds: {
      workerd,
      wranglerNode,
      libsqlServerProcess: libsqlSeconds,
      loadGenerator: result.generatorCpuSeconds,
      wallSeconds: round(wallSeconds, 1),
    },
    cpuMsPerRequest: {
      workerd: workerd === null || answers === 0 ? null : round((workerd * 1000) / answers, 2),
      libsqlServerProcess: answers === 0 ? null : round((libsqlSeconds * 1000) / answers, 2),
    },
  };
}

function describeLoad(figures: LoadFigures): string {
  const codes = Object.entries(figures.statusCodes)
    .map(([code, n]) => `${code}×${thousands(n)}`)
    .join(", ");
  const cpu = figures.cpuMsPerRequest.workerd;
  return (
    `${figures.connections} conn, ${figures.seconds} s: ${figures.requestsPerSecond} req/s, ` +
    `p50 ${figures.latencyMs.p50} ms, p99 ${figures.latencyMs.p99} ms, ` +
    `max ${figures.latencyMs.max} ms; workerd ${cpu === null ? "n/a" : `${cpu} ms`}/req; ${figures.errors} ` +
    `errors, ${figures.unexpected} unexpected (${codes || "no answers"})`
  );
}

interface Profiling {
  session: InspectorSession;
  markers: { line: number; module: string }[];
  dir: string;
}

async function measureRoute(
  spec: RouteSpec,
  runtime: Runtime,
  token: string,
  loader: LoadGenerator,
  profiling: Profiling | null,
): Promise<RouteFigures> {
  const url = `${runtime.base}/api/v1${spec.path}`;
  const method = spec.body === undefined ? "GET" : "POST";
  const plain = await authorizedRequest(url, token, spec.body === undefined ? {} : { method, body: spec.body });
  if (plain.status !== 200) {
    throw new Error(
      `${spec.name}: ${method} ${spec.path} answered ${plain.status}, ` +
        `not 200:\n${excerpt(plain)}\nlog tail:\n${tail(runtime.logFile, 20)}`,
    );
  }
  let holds: string;
  try {
    holds = spec.check(plain.body);
  } catch (error) {
    throw new Error(
      `${spec.name}: ${method} ${spec.path} answered 200 but not what it ` +
        `should: ${error instanceof Error ? error.message : String(error)}\n${excerpt(plain)}`,
    );
  }
  const headers: Record<string, string> = {
    authorization: `Bearer ${token}`,
    ...(spec.body === undefined ? {} : { "content-type": "application/json" }),
  };
  let first = plain;
  if (spec.revalidate) {
    if (plain.etag === null) throw new Error(`${spec.name}: GET ${spec.path} answered 200 without an ETag`);
    headers["if-none-match"] = plain.etag;
    first = await authorizedRequest(url, token, { headers: { "if-none-match": plain.etag } });
    if (first.status !== 304 || first.text !== "")
      throw new Error(
        `${spec.name}: GET ${spec.path} with If-None-Match ${plain.etag} ` +
          `answered ${first.status} with ${first.text.length} bytes, not an empty 304`,
      );
    holds = `304 for If-None-Match ${plain.etag} (the 200 it revalidates: ${holds})`;
  }
  const expectedStatus = spec.revalidate ? 304 : 200;
  say(`${runtime.name} ${spec.name}: ${method} /api/v1${spec.path}${spec.revalidate ? " (If-None-Match)" : ""}`);
  say(`  first answer ${first.status} in ${round(first.ms)} ms, ${thousands(first.text.length)} bytes: ${holds}`);
  const request = (title: string, connectionCount: number, seconds: number): LoadRequest => ({
    url,
    connections: connectionCount,
    durationSeconds: seconds,
    headers,
    title: `${runtime.name} ${spec.name} ${title}`,
    ...(spec.body === undefined ? {} : { method: "POST" as const, body: JSON.stringify(spec.body) }),
  });
  if (warmupSeconds > 0) {
    const warm = await loader.run(request("warm-up", connections, warmupSeconds));
    say(
      `  warm-up ${warmupSeconds} s: ${round(warm.requests.average)} req/s, ` +
        `p99 ${warm.exactLatency.p99} ms, ${warm.errors} errors (not counted)`,
    );
    await settle();
  }
  const loaded = await measureLoad(runtime, loader, request("loaded", connections, durationSeconds), expectedStatus);
  say(`  ${describeLoad(loaded)}`);
  await settle();
  let single: LoadFigures | null = null;
  if (singleDurationSeconds > 0) {
    single = await measureLoad(runtime, loader, request("single", 1, singleDurationSeconds), expectedStatus);
    say(`  ${describeLoad(single)}`);
    await settle();
  }
  const figures: RouteFigures = {
    name: spec.name,
    path: spec.path,
    revalidate: spec.revalidate,
    firstAnswer: { status: first.status, ms: round(first.ms, 1), bytes: first.text.length, etag: plain.etag, holds },
    loaded,
    single,
    ratiosToFloor: null,
    target: {
      cpuWithinRatio: null,
      p99Met: loaded.latencyMs.count > 0 && loaded.latencyMs.p99 <= targets.p99Ms,
      noErrors:
        loaded.errors === 0 &&
        loaded.unexpected === 0 &&
        (single === null || (single.errors === 0 && single.unexpected === 0)),
    },
  };
  if (profiling !== null) {
    const profile = await profileWhile(profiling.session, async () => {
      await loader.run(request("profiled", connections, durationSeconds));
    });
    const file = path.join(profiling.dir, `${runtime.name}-${spec.name}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    const summary = summarizeProfile(profile, profiling.markers);
    figures.profile = { ...summary, file: path.relative(projectRoot, file) };
    say(`  profile (${summary.busyMs} ms busy in ${durationSeconds} s) → ${path.relative(projectRoot, file)}`);
    for (const entry of summary.byModule.slice(0, 10)) say(`    ${String(entry.share).padStart(5)}%  ${entry.module}`);
    for (const entry of summary.byFunction.slice(0, 15))
      say(`    ${String(entry.share).padStart(5)}%  ${entry.name}  [${entry.module}]`);
    await settle();
  }
  return figures;
}

/** Each route's figures divided by the floor's, and the CPU target, once every route is measured. */
function compareWithFloor(routes: RouteFigures[]): void {
  const floor = routes.find((route) => route.name === "floor");
  if (!floor) return;
  const ratio = (value: number | null | undefined, base: number | null | undefined): Ratio =>
    value === null || value === undefined || base === null || base === undefined || base === 0
      ? null
      : round(value / base, 2);
  for (const route of routes) {
    const cpu = ratio(route.loaded.cpuMsPerRequest.workerd, floor.loaded.cpuMsPerRequest.workerd);
    route.ratiosToFloor = {
      cpuMsPerRequest: cpu,
      loaded: {
        requestsPerSecond: ratio(route.loaded.requestsPerSecond, floor.loaded.requestsPerSecond),
        p50: ratio(route.loaded.latencyMs.p50, floor.loaded.latencyMs.p50),
        p99: ratio(route.loaded.latencyMs.p99, floor.loaded.latencyMs.p99),
      },
      single: {
        requestsPerSecond: ratio(route.single?.requestsPerSecond, floor.single?.requestsPerSecond),
        p50: ratio(route.single?.latencyMs.p50, floor.single?.latencyMs.p50),
        p99: ratio(route.single?.latencyMs.p99, floor.single?.latencyMs.p99),
      },
    };
    route.target.cpuWithinRatio = cpu === null ? null : cpu <= targets.cpuRatio;
  }
}

function printTable(runtime: RuntimeName, routes: readonly RouteFigures[]): void {
  const cell = (value: number | null | undefined, ratio: Ratio | undefined, digits: number) =>
    value === null || value === undefined
      ? "n/a"
      : `${value.toFixed(digits)}${ratio === null || ratio === undefined ? "" : ` (${ratio.toFixed(2)}×)`}`;
  const header = [
    `${runtime}: route`,
    "CPU ms/req",
    `${connections} conn: req/s`,
    "p50 ms",
    "p99 ms",
    "1 conn: req/s",
    "p50 ms",
    "p99 ms",
    "errors",
    `CPU ≤ ${targets.cpuRatio}× floor`,
    `p99 ≤ ${targets.p99Ms} ms`,
  ];
  const rows = routes.map((route) => {
    const r = route.ratiosToFloor;
    return [
      route.name,
      cell(route.loaded.cpuMsPerRequest.workerd, r?.cpuMsPerRequest, 2),
      cell(route.loaded.requestsPerSecond, r?.loaded.requestsPerSecond, 0),
      cell(route.loaded.latencyMs.p50, r?.loaded.p50, 1),
      cell(route.loaded.latencyMs.p99, r?.loaded.p99, 1),
      cell(route.single?.requestsPerSecond, r?.single.requestsPerSecond, 0),
      cell(route.single?.latencyMs.p50, r?.single.p50, 2),
      cell(route.single?.latencyMs.p99, r?.single.p99, 2),
      route.target.noErrors
        ? "0"
        : `${route.loaded.errors + (route.single?.errors ?? 0)}+` +
          `${route.loaded.unexpected + (route.single?.unexpected ?? 0)}`,
      route.name === "floor"
        ? "(floor)"
        : route.target.cpuWithinRatio === null
          ? "n/a"
          : route.target.cpuWithinRatio
            ? "MET"
            : "NOT MET",
      route.target.p99Met ? "MET" : "NOT MET",
    ];
  });
  printColumns(header, rows);
}

// ---------------------------------------------------------------------------------------------

interface RuntimeResults {
  name: RuntimeName;
  cpuCounts: string;
  port: number;
  /** The Worker's vars over wrangler.toml's (LIVE_ALLOWED_ORIGINS names the runtime's own origin). */
  workerVars: Record<string, string>;
  healthyMs: number;
  routes: RouteFigures[];
  targets: { met: boolean; cpuNotMet: string[]; p99NotMet: string[]; errors: string[] };
}

/** The batch run, the copied exposure rows and the sector filter: once, on the first runtime started. */
async function prepareData(
  runtime: Runtime,
  operatorToken: string,
  client: Client,
): Promise<{ batch: Omit<BatchFigures, "postedAt"> & { runtime: RuntimeName }; copied: unknown; sector: string }> {
  say(`batch on ${runtime.name}: POST /api/v1/admin/batch/run {"date": "${endDate}"}`);
  // Polled every 1 s, progress every 15 s, 20 min at most; the POST's wall-clock time (what
  // bench:live measures from) is not one of this benchmark's figures.
  const { postedAt: _postedAt, ...batch } = await runBatch(runtime.base, operatorToken, runtime.watched, endDate, {
    say,
    hardLimitMs: 20 * 60_000,
    pollMs: 1_000,
    progressEveryMs: 15_000,
  });
  say(`  run ${batch.runId} ${batch.status} in ${seconds(batch.ms)} (${batch.datesPublished} date(s) published)`);
  for (const failed of batch.failedPhases) say(`  FAILED ${failed.date} ${failed.phase}: ${failed.message}`);
  if (batch.status === "failed") throw new Error(`the batch run failed: ${batch.errorText ?? "(no error text)"}`);

  // 120 dates of stored exposures: the end date's rows copied to the weekdays before it.
  const earlier = exposureDates.slice(0, -1);
  const copyStarted = performance.now();
  const [exposureSource, exposureRows] = await copyEndDateRows(
    client,
    "portfolio_factor_exposures",
    "calculation_date",
    "portfolio_id",
    portfolioId,
    earlier,
  );
  const [snapshotSource, snapshotRows] = await copyEndDateRows(
    client,
    "portfolio_snapshots",
    "date",
    "portfolio_id",
    portfolioId,
    earlier,
  );
  // The risk series and the attribution read the stored risk summaries (and the snapshots above).
  const [riskSource, riskRows] = await copyEndDateRows(
    client,
    "portfolio_risk_summaries",
    "date",
    "portfolio_id",
    portfolioId,
    earlier,
  );
  const [benchmarkSource, benchmarkRows] = await copyEndDateRows(
    client,
    "symbol_factor_exposures",
    "calculation_date",
    "symbol",
    benchmarkSymbol,
    earlier,
  );
  const copied = {
    dates: earlier.length,
    from: earlier[0] ?? null,
    to: earlier.at(-1) ?? null,
    portfolioFactorExposures: { endDateRows: exposureSource, inserted: exposureRows },
    portfolioSnapshots: { endDateRows: snapshotSource, inserted: snapshotRows },
    portfolioRiskSummaries: { endDateRows: riskSource, inserted: riskRows },
    benchmarkBetas: { symbol: benchmarkSymbol, endDateRows: benchmarkSource, inserted: benchmarkRows },
    ms: round(performance.now() - copyStarted),
  };
  say(
    `copied ${portfolioId}'s end-date rows (${exposureSource} exposures, ${snapshotSource} snapshot, ` +
      `${riskSource} risk summary) and ${benchmarkSymbol}'s ${benchmarkSource} betas to the ${earlier.length} ` +
      `weekdays ${copied.from}..${copied.to} in SQL: ${thousands(exposureRows)} ` +
      `+ ${snapshotRows} + ${riskRows} + ${thousands(benchmarkRows)} rows (the exposures, risk series and ` +
      `attribution routes read stored rows; who wrote them does not change their work)`,
  );
  // The limits and their alerts (see `benchLimits`).
  const alertDates = exposureDates.filter((_, index) => index % 4 === 0);
  await client.batch(
    benchLimits.flatMap((limit, index) => {
      const id = `bench-limit-${index}`;
      return [
        {
          sql:
            "INSERT INTO portfolio_limits (id, portfolio_id, metric, factor_key, min_value, max_value, description, " +
            "created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
          args: [id, portfolioId, limit.metric, limit.factorKey, limit.min, limit.max, `bench ${index}`, benchOwner],
        },
        {
          sql:
            "INSERT INTO alerts (id, limit_id, portfolio_id, date, state, metric, factor_key, value, min_value, " +
            "max_value, cause) SELECT ? || '-' || d.key, ?, ?, d.value, iif(d.key % 2 = 0, 'breached', 'cleared'), " +
            "?, ?, iif(d.key % 2 = 0, 1.5, 0.01), ?, ?, 'batch' FROM json_each(?) d WHERE true ON CONFLICT DO NOTHING",
          args: [id, id, portfolioId, limit.metric, limit.factorKey, limit.min, limit.max, JSON.stringify(alertDates)],
        },
      ];
    }),
    "write",
  );
  say(`seeded ${benchLimits.length} limits with an alert each on ${alertDates.length} dates`);
  const sectorRow = await client.execute({
    sql:
      "SELECT sector, count(*) AS n FROM symbol_daily_metrics WHERE metrics_date = ? AND sector IS NOT NULL " +
      "GROUP BY sector ORDER BY n DESC, sector LIMIT 1",
    args: [endDate],
  });
  const sector = sectorRow.rows[0]?.["sector"];
  if (typeof sector !== "string")
    throw new Error(`no symbol_daily_metrics with a sector on ${endDate}: did the batch store metrics?`);
  say(`sector filter: ${sector} (${String(sectorRow.rows[0]?.["n"])} symbols)`);
  return { batch: { ...batch, runtime: runtime.name }, copied, sector };
}

function runtimeTargets(routes: readonly RouteFigures[]): RuntimeResults["targets"] {
  const measured = routes.filter((route) => route.name !== "floor");
  const cpuNotMet = measured.filter((route) => route.target.cpuWithinRatio !== true).map((route) => route.name);
  const p99NotMet = measured.filter((route) => !route.target.p99Met).map((route) => route.name);
  const errors = routes.filter((route) => !route.target.noErrors).map((route) => route.name);
  return { met: cpuNotMet.length === 0 && p99NotMet.length === 0 && errors.length === 0, cpuNotMet, p99NotMet, errors };
}

async function main(): Promise<number> {
  const loadAtStart = loadAverage();
  const dir = benchTempDir("bench-api-", flags.keep);
  const { authToken, jwtSecret, operatorToken } = await benchSecrets();
  const readerToken = await mintDevToken({
    secret: jwtSecret,
    sub: benchOwner,
    org: benchOrg,
    permissions: allPermissions,
    ttlSeconds: 4 * 3600,
  });
  const marketOptions = benchMarketOptions({ endDate, symbols, lookbackDays });
  say(
    `temp dir ${dir}; end date ${endDate}; ${symbols} symbols ` +
      `(${marketOptions.etfs} ETFs + ${marketOptions.equities} equities), ` +
      `seed ${marketOptions.seed}, window ${marketOptions.startDate}..${endDate} ` +
      `(${lookbackDays} days); runtimes: ${selectedRuntimes.join(", ")}`,
  );

  // 1. Database: server, migrations, bench data.
  const setupStarted = performance.now();
  const { server, migrateMs, seed } = await startBenchDatabase(
    dir,
    authToken,
    { endDate, symbols, lookbackDays, portfolios: portfolioCount, positionsPerPortfolio, firstMeasuredDate },
    say,
  );
  const client = createClient({ url: server.url, authToken });
  onStop(() => client.close());

  // 2. The Worker's snapshot (bundle, assets, config with the rate limit raised), for both runtimes.
  await buildClientIfMissing(say);
  const bundleStarted = performance.now();
  const config = await snapshotWorker(path.join(dir, "worker"), path.join(dir, "wrangler-build.log"));
  const bundleMs = performance.now() - bundleStarted;
  const toml = readFileSync(config, "utf8");
  const rateLimit = /(name\s*=\s*"API_RATE_LIMIT"[^[]*?simple\s*=\s*\{\s*limit\s*=\s*)(\d+)/;
  const originalRateLimit = rateLimit.exec(toml)?.[2];
  if (originalRateLimit === undefined)
    throw new Error(
      `the snapshot's wrangler.toml (${config}) has no API_RATE_LIMIT "simple = { limit = N … }" to raise`,
    );
  writeFileSync(config, toml.replace(rateLimit, `$1${raisedRateLimit}`));
  say(`bundled the Worker and copied its config and assets in ${seconds(bundleMs)}`);
  say(
    `raised the per-caller rate limit API_RATE_LIMIT from ${originalRateLimit} to ${thousands(raisedRateLimit)} ` +
      `requests a period in the snapshot's wrangler.toml (the project's is unchanged)`,
  );
  const profiling =
    profileDir === null ? null : { dir: profileDir, markers: bundleModules(path.join(dir, "worker/bundle/index.js")) };
  if (profiling) mkdirSync(profiling.dir, { recursive: true });

  const loader = new LoadGenerator();
  onStop(() => loader.stop());
  let prepared: Awaited<ReturnType<typeof prepareData>> | null = null;
  const results: RuntimeResults[] = [];
  for (const name of selectedRuntimes) {
    const [port, inspectorPort] = [await freePort(), await freePort()];
    const vars = benchWorkerVars(
      { endDate, equities: marketOptions.equities, lookbackDays },
      `http://127.0.0.1:${port}`,
    );
    const options: RuntimeOptions = {
      config,
      port,
      inspectorPort,
      persistTo: path.join(dir, `${name}-state`),
      logFile: path.join(dir, `${name}.log`),
      vars,
      secrets: { TURSO_DATABASE_URL: server.url, TURSO_AUTH_TOKEN: authToken, JWT_SECRET: jwtSecret },
    };
    say(`starting the ${name} runtime on http://127.0.0.1:${port} (log ${options.logFile})`);
    const started = performance.now();
    const runtime = name === "direct" ? await startDirectRuntime(options) : await startWranglerRuntime(options);
    onStop(() => runtime.stop());
    const healthyMs = performance.now() - started;
    say(`${name}: Worker healthy after ${seconds(healthyMs)}`);
    prepared ??= await prepareData(runtime, operatorToken, client);
    const session =
      profiling && runtime.inspectorPort !== null
        ? await InspectorSession.open(runtime.inspectorPort, "core:user:factor-exposure")
        : null;
    say(
      `${name}: measuring ${selectedRoutes.length} route(s): ${warmupSeconds} s warm-up, ${durationSeconds} ` +
        `s at ${connections} connections, ${singleDurationSeconds} s at 1 connection`,
    );
    const routes: RouteFigures[] = [];
    for (const spec of routeSpecs(prepared.sector))
      routes.push(
        await measureRoute(spec, runtime, readerToken, loader, session && profiling ? { ...profiling, session } : null),
      );
    session?.close();
    compareWithFloor(routes);
    results.push({
      name,
      cpuCounts: runtime.cpuCounts,
      port,
      workerVars: vars,
      healthyMs: round(healthyMs),
      routes,
      targets: runtimeTargets(routes),
    });
    await runtime.stop();
  }
  const setupMs = performance.now() - setupStarted;

  console.log(
    `\nAPI routes: ${seed.symbols} symbols, ${exposureDates.length} exposure dates × ${expectedFactors} factors, ` +
      `portfolio ${portfolioId}; ${durationSeconds} s at ${connections} connections and ${singleDurationSeconds} ` +
      `s at 1 connection per route (after ${warmupSeconds} s warm-up)`,
  );
  for (const spec of routeSpecs(prepared?.sector ?? "?"))
    console.log(
      `  ${spec.name.padEnd(18)} ${spec.body === undefined ? "GET" : "POST"} /api/v1${spec.path}` +
        (spec.revalidate ? "  (If-None-Match: its ETag)" : ""),
    );
  for (const runtime of results) {
    console.log(`\n${runtime.name}: workerd CPU = ${runtime.cpuCounts}`);
    printTable(runtime.name, runtime.routes);
  }
  console.log(
    "  (figures (ratio to the floor's); latency of every answer in fractional ms; " +
      "CPU per answer during the measured run at 50 connections)",
  );
  const direct = results.find((runtime) => runtime.name === "direct");
  if (direct) {
    const t = direct.targets;
    console.log(
      `\nTargets on the direct runtime: CPU ≤ ${targets.cpuRatio}× ` +
        `floor ${t.cpuNotMet.length === 0 ? "MET" : `NOT MET (${t.cpuNotMet.join(", ")})`}; ` +
        `p99 ≤ ${targets.p99Ms} ms at ${connections} ` +
        `connections ${t.p99NotMet.length === 0 ? "MET" : `NOT MET (${t.p99NotMet.join(", ")})`}; ` +
        `no errors ${t.errors.length === 0 ? "MET" : `NOT MET (${t.errors.join(", ")})`}`,
    );
  }

  writeResults(flags.out, {
    machine: machineInfo(loadAtStart),
    configuration: {
      runtimes: selectedRuntimes,
      endDate,
      symbols,
      portfolios: portfolioCount,
      positionsPerPortfolio,
      lookbackDays,
      firstMeasuredDate,
      exposureDates: { count: exposureDates.length, from: exposureDates[0], to: endDate },
      portfolioId,
      benchmark: benchmarkSymbol,
      sector: prepared?.sector ?? null,
      connections,
      durationSeconds,
      singleDurationSeconds,
      warmupSeconds,
      loadGenerator: "autocannon (child process)",
      rateLimit: { binding: "API_RATE_LIMIT", configured: Number(originalRateLimit), benchmark: raisedRateLimit },
      workerSource:
        "bundle snapshot (wrangler deploy --dry-run); direct: " +
        "Miniflare with wrangler's bindings; wrangler: wrangler dev --no-bundle",
      profileDir: profileDir === null ? null : path.relative(projectRoot, profileDir),
    },
    setup: {
      ms: round(setupMs),
      migrateMs: round(migrateMs),
      seed,
      bundleMs: round(bundleMs),
      batch: prepared?.batch ?? null,
      copiedRows: prepared?.copied ?? null,
    },
    targets: {
      p99Ms: targets.p99Ms,
      cpuRatioToFloor: targets.cpuRatio,
      appliesTo: "direct",
      direct: direct?.targets ?? null,
    },
    runtimes: results,
    notes: [
      "requestsPerSecond: autocannon's mean of per-second answer counts over the measured run",
      "latencyMs: every answer's time in fractional ms (load.ts); autocannonLatencyMs: " +
        "autocannon's whole-ms histogram; closed loop, so latency ≈ connections / throughput",
      "cpuMsPerRequest.workerd: the runtime's workerd CPU seconds during " +
        "the measured run / answers received (see each runtime's cpuCounts)",
      "cpuSeconds.libsqlServerProcess: this process, which hosts the libSQL server (and, with wrangler, reads its log)",
      "ratiosToFloor: each figure divided by the floor route's in the same runtime and run",
      "exposure rows for the dates before the end date are the end " +
        "date's rows copied in SQL (one portfolio and the benchmark)",
      "loopback database, no network round trips as in production",
    ],
  });
  return 0;
}

exitOnSignals();
if (import.meta.main) runAndExit(main);
