// The route table: every API route's method, path (under /api/v1), permission and schemas.
// It is the one place a route's permission is declared: the guard middleware reads it
// (worker/auth/guard.ts), the OpenAPI document is generated from it (worker/api/openapi.ts),
// and a test fails when the app serves a route the table lacks, or the table a route the app
// does not serve. Request schemas here are the ones the routes validate with.
import type { z } from "zod";
import type { Permission } from "../auth/permissions.ts";
import {
  batchBackfillRequestSchema,
  batchRunDetailQuerySchema,
  batchRunListQuerySchema,
  batchRunParamsSchema,
  batchRunRequestSchema,
  dualWriteReportQuerySchema,
  priceUploadSchema,
} from "./admin.ts";
import {
  drillDownQuerySchema,
  drillDownResponseSchema,
  exposuresQuerySchema,
  exposuresResponseSchema,
  scenarioParamsSchema,
  stressAnswerSchema,
  stressRequestSchema,
  stressScenarioCreateSchema,
  stressScenarioListSchema,
  stressScenarioSchema,
  whatIfRequestSchema,
  whatIfResponseSchema,
} from "./analytics.ts";
import { factorsResponseSchema } from "./factors.ts";
import { hedgeRequestSchema, hedgeResponseSchema } from "./hedge.ts";
import { liveConnectQuerySchema, liveTicketResponseSchema } from "./live.ts";
import {
  alertListQuerySchema,
  alertListSchema,
  alertParamsSchema,
  alertSchema,
  alertSummarySchema,
  limitCreateSchema,
  limitListSchema,
  limitParamsSchema,
  limitUpdateSchema,
  limitWriteResponseSchema,
} from "./limits.ts";
import {
  portfolioCreateSchema,
  portfolioListSchema,
  portfolioParamsSchema,
  portfolioSchema,
  portfolioUpdateSchema,
  positionCreateSchema,
  positionImportQuerySchema,
  positionImportResponseSchema,
  positionListQuerySchema,
  positionListSchema,
  positionParamsSchema,
  positionWriteResponseSchema,
  positionUpdateSchema,
} from "./portfolios.ts";
import {
  attributionQuerySchema,
  attributionResponseSchema,
  episodeParamsSchema,
  portfolioRiskQuerySchema,
  portfolioRiskResponseSchema,
  stressEpisodeCreateSchema,
  stressEpisodeListSchema,
  stressEpisodeSchema,
} from "./portfolio-risk.ts";
import {
  covarianceQuerySchema,
  covarianceResponseSchema,
  factorReturnsQuerySchema,
  factorReturnsResponseSchema,
  riskFactorsQuerySchema,
  riskFactorsResponseSchema,
} from "./risk.ts";
import {
  sectorsQuerySchema,
  sectorsResponseSchema,
  symbolDetailQuerySchema,
  symbolDetailResponseSchema,
  symbolParamsSchema,
  symbolsQuerySchema,
  symbolsResponseSchema,
} from "./symbols.ts";
import { webhookRoutes } from "./webhooks.ts";

export type HttpMethod = "get" | "post" | "put" | "patch" | "delete";

/** The error statuses a route may answer, each with the error body (docs/api.md, "Errors and limits"). */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 426 | 429 | 503;

export interface RouteContract {
  method: HttpMethod;
  /** Hono's path pattern under /api/v1 (`:name` parameters). */
  path: string;
  /**
   * The permission the caller's token must carry; "public" routes take no token, "ticket"
   * routes a single-use live ticket instead (the WebSocket upgrade, which cannot carry a header).
   */
  permission: Permission | "public" | "ticket";
  summary: string;
  tag: string;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** The body's media type when it is not JSON (CSV imports). */
  bodyMediaType?: "text/csv";
  /** The success response's schema and status. */
  response?: z.ZodType;
  status?: 200 | 201 | 202 | 204;
  /** Another success status the route answers with the same body (200 for a run already under way). */
  alsoStatus?: 200;
  /** The success body's media type when it is not JSON (the docs page). */
  responseMediaType?: "text/html";
  /**
   * Error statuses beyond those every route of its kind answers (worker/api/openapi.ts
   * `errorStatuses`: 401/403/429/503 with a token, 400 with any input, 404 with a path
   * parameter, 413 with a body, 415 with a CSV body): 409 on a name conflict or a quota, 404
   * for an id in the body, 422 for stored values out of range.
   */
  errors?: readonly ErrorStatus[];
  /** The route also answers text/csv (`Accept: text/csv` or `?format=csv`). */
  csv?: boolean;
  /**
   * The answer depends only on stored results: its 200 carries an ETag from the data version,
   * and a matching `If-None-Match` is answered 304 without a body (worker/http/etag.ts).
   */
  conditional?: true;
}

export const routes = {
  health: {
    method: "get",
    path: "/health",
    permission: "public",
    tag: "service",
    errors: [503],
    summary: "Service status and database reachability.",
  },
  openapi: {
    method: "get",
    path: "/openapi.json",
    permission: "public",
    tag: "service",
    summary: "This API's OpenAPI 3.1 document.",
  },
  docs: {
    method: "get",
    path: "/docs",
    permission: "public",
    tag: "service",
    responseMediaType: "text/html",
    summary: "A page rendering the OpenAPI document.",
  },

  listSymbols: {
    method: "get",
    path: "/data/symbols",
    permission: "VIEW_FACTOR_ANALYTICS",
    conditional: true,
    tag: "symbols",
    csv: true,
    summary: "The symbol table of a metrics date: server-side sort (nulls last), filters and paging.",
    query: symbolsQuerySchema,
    response: symbolsResponseSchema,
  },
  listSectors: {
    method: "get",
    path: "/data/sectors",
    permission: "VIEW_FACTOR_ANALYTICS",
    conditional: true,
    tag: "symbols",
    summary: "The sectors of a metrics date's symbols (the symbol table's sector filter), with counts.",
    query: sectorsQuerySchema,
    response: sectorsResponseSchema,
  },
  getSymbol: {
    method: "get",
    path: "/data/symbols/:symbol",
    permission: "VIEW_FACTOR_ANALYTICS",
    conditional: true,
    tag: "symbols",
    errors: [404],
    summary: "One symbol: profile, latest metrics, betas of a date with their statistics, and each beta's history.",
    params: symbolParamsSchema,
    query: symbolDetailQuerySchema,
    response: symbolDetailResponseSchema,
  },
  listFactors: {
    method: "get",
    path: "/factors",
    permission: "VIEW_FACTOR_ANALYTICS",
    tag: "factors",
    errors: [400],
    summary: "The factor definitions.",
    response: factorsResponseSchema,
  },

  listRiskFactors: {
    method: "get",
    path: "/risk/factors",
    permission: "VIEW_FACTOR_ANALYTICS",
    conditional: true,
    tag: "risk",
    csv: true,
    summary: "The active risk factors in display order, with the risk model's settings (CSV: one row per factor).",
    query: riskFactorsQuerySchema,
    response: riskFactorsResponseSchema,
  },
  getFactorReturns: {
    method: "get",
    path: "/risk/factor-returns",
    permission: "VIEW_FACTOR_ANALYTICS",
    conditional: true,
    tag: "risk",
    csv: true,
    summary:
      "Stored daily factor returns (risk or lens) over a range of at most 2,000 days, one array per factor " +
      "(CSV: a row per date, a column per factor).",
    query: factorReturnsQuerySchema,
    response: factorReturnsResponseSchema,
  },
  getCovariance: {
    method: "get",
    path: "/risk/covariance",
    permission: "VIEW_FACTOR_ANALYTICS",
    conditional: true,
    tag: "risk",
    csv: true,
    errors: [404],
    summary:
      "The stored daily factor covariance of a date (default the latest), with annualized volatilities and " +
      "correlations; 404 when none was computed for the date (CSV: the matrix, factor keys on both edges).",
    query: covarianceQuerySchema,
    response: covarianceResponseSchema,
  },

  listPortfolios: {
    method: "get",
    path: "/portfolios",
    permission: "VIEW_FACTOR_ANALYTICS",
    tag: "portfolios",
    summary: "The caller's portfolios, and its org's with VIEW_ALL_POSITIONS.",
    response: portfolioListSchema,
  },
  createPortfolio: {
    method: "post",
    path: "/portfolios",
    permission: "MANAGE_PORTFOLIOS",
    tag: "portfolios",
    status: 201,
    errors: [409],
    summary: "Create a portfolio owned by the caller.",
    body: portfolioCreateSchema,
    response: portfolioSchema,
  },
  getPortfolio: {
    method: "get",
    path: "/portfolios/:id",
    permission: "VIEW_FACTOR_ANALYTICS",
    tag: "portfolios",
    summary: "One portfolio.",
    params: portfolioParamsSchema,
    response: portfolioSchema,
  },
  updatePortfolio: {
    method: "patch",
    path: "/portfolios/:id",
    permission: "MANAGE_PORTFOLIOS",
    tag: "portfolios",
    errors: [409],
    summary: "Rename a portfolio, set its cash or benchmark.",
    params: portfolioParamsSchema,
    body: portfolioUpdateSchema,
    response: portfolioSchema,
  },
  deletePortfolio: {
    method: "delete",
    path: "/portfolios/:id",
    permission: "MANAGE_PORTFOLIOS",
    tag: "portfolios",
    status: 204,
    summary: "Delete a portfolio with its positions and results.",
    params: portfolioParamsSchema,
  },
  listPositions: {
    method: "get",
    path: "/portfolios/:id/positions",
    permission: "VIEW_FACTOR_ANALYTICS",
    tag: "portfolios",
    summary: "A portfolio's positions (all, or those held on a date).",
    params: portfolioParamsSchema,
    query: positionListQuerySchema,
    response: positionListSchema,
  },
  createPosition: {
    method: "post",
    path: "/portfolios/:id/positions",
    permission: "MANAGE_PORTFOLIOS",
    tag: "portfolios",
    status: 201,
    errors: [409],
    summary: "Add an effective-dated position (stock, ETF, option or private).",
    params: portfolioParamsSchema,
    body: positionCreateSchema,
    response: positionWriteResponseSchema,
  },
  updatePosition: {
    method: "patch",
    path: "/portfolios/:id/positions/:positionId",
    permission: "MANAGE_PORTFOLIOS",
    tag: "portfolios",
    errors: [409],
    summary: "Change a position; the result must be a valid position.",
    params: positionParamsSchema,
    body: positionUpdateSchema,
    response: positionWriteResponseSchema,
  },
  deletePosition: {
    method: "delete",
    path: "/portfolios/:id/positions/:positionId",
    permission: "MANAGE_PORTFOLIOS",
    tag: "portfolios",
    status: 204,
    summary: "Delete a position.",
    params: positionParamsSchema,
  },
  importPositions: {
    method: "post",
    path: "/portfolios/:id/positions/import",
    permission: "MANAGE_PORTFOLIOS",
    tag: "portfolios",
    bodyMediaType: "text/csv",
    errors: [409],
    summary: "Import positions from CSV: all or nothing, errors by line and field.",
    params: portfolioParamsSchema,
    query: positionImportQuerySchema,
    response: positionImportResponseSchema,
  },
  getExposures: {
    method: "get",
    path: "/portfolios/:id/exposures",
    permission: "VIEW_FACTOR_ANALYTICS",
    conditional: true,
    tag: "analytics",
    csv: true,
    summary: "Exposures over a date range: portfolio, benchmark, active, coverage and data_quality per date.",
    params: portfolioParamsSchema,
    query: exposuresQuerySchema,
    response: exposuresResponseSchema,
  },
  getDrillDown: {
    method: "get",
    path: "/portfolios/:id/exposures/stocks",
    permission: "VIEW_FACTOR_ANALYTICS",
    conditional: true,
    tag: "analytics",
    csv: true,
    errors: [422],
    summary: "The stocks behind one factor's exposure on a date: weight × delta × beta, sorted by |contribution|.",
    params: portfolioParamsSchema,
    query: drillDownQuerySchema,
    response: drillDownResponseSchema,
  },
  getPortfolioRisk: {
    method: "get",
    path: "/portfolios/:id/risk",
    permission: "VIEW_FACTOR_ANALYTICS",
    conditional: true,
    tag: "risk",
    csv: true,
    errors: [422],
    summary:
      "One date's risk on the risk lens (exposures with standard errors, volatility, VaR, tracking error, factor " +
      "and holding contributions), or with from/to the stored daily series (CSV: the holding contributions; the " +
      "series).",
    params: portfolioParamsSchema,
    query: portfolioRiskQuerySchema,
    response: portfolioRiskResponseSchema,
  },
  getAttribution: {
    method: "get",
    path: "/portfolios/:id/attribution",
    permission: "VIEW_FACTOR_ANALYTICS",
    conditional: true,
    tag: "risk",
    csv: true,
    summary:
      "Realized daily and cumulative P&L split into risk factor and specific parts, in dollars and in return " +
      "(CSV: a row per day).",
    params: portfolioParamsSchema,
    query: attributionQuerySchema,
    response: attributionResponseSchema,
  },
  runStress: {
    method: "post",
    path: "/portfolios/:id/stress",
    permission: "VIEW_FACTOR_ANALYTICS",
    tag: "analytics",
    errors: [422],
    summary:
      "$ impact of a scenario or hand-set lens shocks per factor and in total; or of risk factor shocks " +
      "(predictive: propagated beside unpropagated) or a historical episode, by factor and by holding, options " +
      "repriced beside their delta.",
    params: portfolioParamsSchema,
    body: stressRequestSchema,
    response: stressAnswerSchema,
  },
  hedgePortfolio: {
    method: "post",
    path: "/portfolios/:id/hedge",
    permission: "VIEW_FACTOR_ANALYTICS",
    tag: "risk",
    errors: [422],
    summary:
      "Suggested hedge trades (dollars and shares at the date's close) in a few instruments, minimizing the " +
      "tracking error or total variance plus a penalty on trade size, with the risk before and after; 422 " +
      "HEDGE_UNAVAILABLE naming the field when no hedge can be computed.",
    params: portfolioParamsSchema,
    body: hedgeRequestSchema,
    response: hedgeResponseSchema,
  },
  listScenarios: {
    method: "get",
    path: "/stress/scenarios",
    permission: "VIEW_FACTOR_ANALYTICS",
    tag: "analytics",
    errors: [400],
    summary: "Built-in stress scenarios and the caller's saved ones.",
    response: stressScenarioListSchema,
  },
  createScenario: {
    method: "post",
    path: "/stress/scenarios",
    permission: "MANAGE_PORTFOLIOS",
    tag: "analytics",
    status: 201,
    errors: [409],
    summary: "Save a stress scenario.",
    body: stressScenarioCreateSchema,
    response: stressScenarioSchema,
  },
  deleteScenario: {
    method: "delete",
    path: "/stress/scenarios/:id",
    permission: "MANAGE_PORTFOLIOS",
    tag: "analytics",
    status: 204,
    summary: "Delete one of the caller's saved scenarios.",
    params: scenarioParamsSchema,
  },
  listEpisodes: {
    method: "get",
    path: "/stress/episodes",
    permission: "VIEW_FACTOR_ANALYTICS",
    tag: "analytics",
    errors: [400],
    summary:
      "The caller's saved historical episodes and the built-in ones found in the stored factor returns (each risk " +
      "factor's worst 20-day stretch), with their summed factor returns.",
    response: stressEpisodeListSchema,
  },
  createEpisode: {
    method: "post",
    path: "/stress/episodes",
    permission: "MANAGE_PORTFOLIOS",
    tag: "analytics",
    status: 201,
    errors: [409],
    summary: "Save a historical episode (from, to] by name.",
    body: stressEpisodeCreateSchema,
    response: stressEpisodeSchema,
  },
  deleteEpisode: {
    method: "delete",
    path: "/stress/episodes/:id",
    permission: "MANAGE_PORTFOLIOS",
    tag: "analytics",
    status: 204,
    summary: "Delete one of the caller's saved episodes.",
    params: episodeParamsSchema,
  },
  whatIf: {
    method: "post",
    path: "/what-if",
    permission: "VIEW_FACTOR_ANALYTICS",
    tag: "analytics",
    errors: [404, 422],
    summary: "Exposures of a hypothetical portfolio, optionally compared with a stored one; nothing is stored.",
    body: whatIfRequestSchema,
    response: whatIfResponseSchema,
  },

  listLimits: {
    method: "get",
    path: "/portfolios/:id/limits",
    permission: "VIEW_FACTOR_ANALYTICS",
    tag: "limits",
    summary:
      "A portfolio's exposure limits, each with where its number stands on the latest computed date and its " +
      "latest alert.",
    params: portfolioParamsSchema,
    response: limitListSchema,
  },
  createLimit: {
    method: "post",
    path: "/portfolios/:id/limits",
    permission: "MANAGE_PORTFOLIOS",
    tag: "limits",
    status: 201,
    errors: [409],
    summary:
      "Add a limit (min and/or max, inclusive) on an exposure, active exposure, risk exposure, factor share, " +
      "tracking error or volatility; evaluated at once on the latest computed date (409 over the per-portfolio cap).",
    params: portfolioParamsSchema,
    body: limitCreateSchema,
    response: limitWriteResponseSchema,
  },
  updateLimit: {
    method: "patch",
    path: "/portfolios/:id/limits/:limitId",
    permission: "MANAGE_PORTFOLIOS",
    tag: "limits",
    summary:
      "Change a limit (merged; the result must be a valid limit); evaluated at once on the latest computed date.",
    params: limitParamsSchema,
    body: limitUpdateSchema,
    response: limitWriteResponseSchema,
  },
  deleteLimit: {
    method: "delete",
    path: "/portfolios/:id/limits/:limitId",
    permission: "MANAGE_PORTFOLIOS",
    tag: "limits",
    status: 204,
    summary: "Delete a limit and its alerts.",
    params: limitParamsSchema,
  },
  listAlerts: {
    method: "get",
    path: "/alerts",
    permission: "VIEW_FACTOR_ANALYTICS",
    tag: "limits",
    csv: true,
    errors: [404],
    summary:
      "Alerts of the caller's visible portfolios, newest first, a page at a time (cursor); each with its limit as " +
      "it is now and whether the breach is ongoing (CSV: a row per alert of the page).",
    query: alertListQuerySchema,
    response: alertListSchema,
  },
  alertSummary: {
    method: "get",
    path: "/alerts/summary",
    permission: "VIEW_FACTOR_ANALYTICS",
    tag: "limits",
    summary:
      "Ongoing breaches of the caller's visible portfolios (acknowledged or not) and the portfolios that have limits.",
    response: alertSummarySchema,
  },
  acknowledgeAlert: {
    method: "post",
    path: "/alerts/:id/acknowledge",
    permission: "MANAGE_PORTFOLIOS",
    tag: "limits",
    summary: "Acknowledge an alert (idempotent: the first acknowledgement's who and when are kept).",
    params: alertParamsSchema,
    response: alertSchema,
  },

  liveTicket: {
    method: "post",
    path: "/live/ticket",
    permission: "VIEW_FACTOR_ANALYTICS",
    tag: "live",
    summary: "A single-use ticket (valid 30 s) for opening the live WebSocket.",
    response: liveTicketResponseSchema,
  },
  liveConnect: {
    method: "get",
    path: "/live",
    permission: "ticket",
    tag: "live",
    summary:
      "Upgrade to the live WebSocket (Upgrade: websocket, an allowed Origin, ?ticket=). " +
      "Messages: worker/realtime/messages.ts.",
    query: liveConnectQuerySchema,
  },

  runBatch: {
    method: "post",
    path: "/admin/batch/run",
    permission: "RUN_BATCH",
    tag: "admin",
    status: 202,
    alsoStatus: 200,
    errors: [404],
    summary: "Start the daily batch for one date (200 with the run already under way).",
    body: batchRunRequestSchema,
  },
  backfillBatch: {
    method: "post",
    path: "/admin/batch/backfill",
    permission: "RUN_BATCH",
    tag: "admin",
    status: 202,
    alsoStatus: 200,
    errors: [404, 409],
    summary:
      "Start the batch for every weekday of a range (409 with the run's id while another run covers any of its dates).",
    body: batchBackfillRequestSchema,
  },
  listBatchRuns: {
    method: "get",
    path: "/admin/batch/runs",
    permission: "RUN_BATCH",
    tag: "admin",
    summary: "Batch run history, newest first.",
    query: batchRunListQuerySchema,
  },
  getBatchRun: {
    method: "get",
    path: "/admin/batch/runs/:id",
    permission: "RUN_BATCH",
    tag: "admin",
    summary: "One run with its phases, counts and errors.",
    params: batchRunParamsSchema,
    query: batchRunDetailQuerySchema,
  },
  dualWriteReport: {
    method: "get",
    path: "/admin/dual-write/report",
    permission: "RUN_BATCH",
    tag: "admin",
    errors: [404],
    summary: "The dual-write validation report over a date range.",
    query: dualWriteReportQuerySchema,
  },
  uploadPrices: {
    method: "post",
    path: "/admin/market-data/prices",
    permission: "IMPORT_MARKET_DATA",
    tag: "admin",
    summary: "Bulk JSON price upload (the CSV import's validation).",
    body: priceUploadSchema,
  },

  ...webhookRoutes,
} as const satisfies Record<string, RouteContract>;

export type RouteName = keyof typeof routes;

/** `METHOD /path` of a route, as tests and logs name it. */
export function routeKey(route: Pick<RouteContract, "method" | "path">): string {
  return `${route.method.toUpperCase()} ${route.path}`;
}
