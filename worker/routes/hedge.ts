// `POST /portfolios/:id/hedge`: suggested hedge trades for a portfolio on a date (docs/design.md
// §11 "Hedge", docs/api.md "Hedge"), computed per request by worker/factors/hedge.ts from what
// `GET /portfolios/:id/risk` reads — the positions held on the date, their closes and the stored
// risk model of the date (worker/db/risk-reads.ts) — plus the instruments' loadings and closes.
// Nothing is stored. `POST /what-if` answers the same block for hypothetical holdings through
// `prepareHedge` and `hedgeAnswer` below.
//
// Decisions:
// - Default instruments are the lens ETFs, read from the data: the symbols of the active factor
//   definitions' regressors (input, long, short symbol) in display order, then the active risk
//   factors' symbols, each once. A default instrument without loadings or a close on the date is
//   left out and listed (`instruments_left_out`); an instrument the caller names must have both,
//   else 422 naming it.
// - Every reason a hedge cannot be computed is a 422 `HEDGE_UNAVAILABLE` whose details name the
//   request field (`instruments`, `target`, `benchmark`, `date`; prefixed `hedge.` in what-if) with
//   the reason (the engine's `HedgeError` code) and the symbols concerned. A list naming a symbol
//   twice is refused by the schema (400 on `instruments[i]`).
// - A trade's instrument kind (what "Apply" adds it as) is the universe's asset type: etf, else stock.
import { Hono } from "hono";
import { routes } from "../api/contract.ts";
import { type HedgeBlock, type HedgeOptions, hedgeRequestSchema, type HedgeResponse } from "../api/hedge.ts";
import { portfolioParamsSchema } from "../api/portfolios.ts";
import { type ApiEnv, guard } from "../auth/guard.ts";
import { readablePortfolio } from "../auth/ownership.ts";
import { batchConfig } from "../batch/config.ts";
import { type PortfolioRiskBlock, riskBlockOf } from "../batch/portfolio-analytics-phase.ts";
import { getDatabase, type Database } from "../db/client.ts";
import { readTogether } from "../db/read-batch.ts";
import { loadRiskInputs, riskModelInput, type StoredRiskInputs } from "../db/risk-reads.ts";
import { computeHedge, DEFAULT_HEDGE_PENALTY, type Hedge, HedgeError } from "../factors/hedge.ts";
import type { PortfolioRisk } from "../factors/portfolio-risk.ts";
import {
  type AggregationInput,
  aggregatePortfolio,
  betaSymbolOf,
  type HoldingInput,
  isHeldOn,
  type PortfolioAggregation,
} from "../factors/portfolio.ts";
import { ApiError } from "../http/errors.ts";
import { noQuery, validate } from "../http/validate.ts";
import {
  aggregationInputFor,
  analyticsDate,
  computeWithinRange,
  portfolioHoldings,
} from "../portfolios/aggregation-input.ts";

/** What the trades assume, beside the risk note on standard errors. */
const hedgeNote =
  "Trades are bought (or sold) at the date's close with cash, so equity is unchanged; shares are unrounded. " +
  "The hedge minimizes the target's variance on the stored risk model plus the penalty; it is only as good as " +
  "the model's loadings and covariance.";

/** The instruments of a hedge, with their closes and kinds on the date. */
export interface PreparedHedge {
  instruments: string[];
  isDefault: boolean;
  quotes: Map<string, { close: number | null; instrument: "stock" | "etf" }>;
}

/** The lens ETFs: the active factor definitions' regressor symbols in display order, then the risk factors'. */
const defaultInstrumentsStatements = [
  {
    sql: `select input_symbol, long_symbol, short_symbol from factor_definitions where is_active = 1
      order by display_order, id`,
    args: [],
  },
  {
    sql: "select long_symbol, short_symbol from risk_factors where is_active = 1 order by display_order, id",
    args: [],
  },
];

/**
 * The instruments (the given ones, else the defaults read from the data) and their closes on
 * `date` (phase 2's `current_price`, what the aggregation values positions with) and asset types.
 */
export async function prepareHedge(
  db: Database,
  date: string,
  requested: readonly string[] | undefined,
): Promise<PreparedHedge> {
  let instruments: string[];
  if (requested !== undefined) instruments = [...requested];
  else {
    const [definitions, riskFactors] = await readTogether(db, defaultInstrumentsStatements);
    const seen = new Set<string>();
    const symbols = [
      ...(definitions?.rows ?? []).flatMap((row) => [row[0], row[1], row[2]]),
      ...(riskFactors?.rows ?? []).flatMap((row) => [row[0], row[1]]),
    ];
    for (const value of symbols) if (typeof value === "string" && value !== "") seen.add(value);
    instruments = [...seen];
  }
  const [quotesResult] = await readTogether(db, [
    {
      sql: `select s.value, m.current_price, u.asset_type from json_each(?2) s
        left join symbol_daily_metrics m on m.metrics_date = ?1 and m.symbol = s.value
        left join symbol_universe u on u.symbol = s.value`,
      args: [date, JSON.stringify(instruments)],
    },
  ]);
  const quotes = new Map<string, { close: number | null; instrument: "stock" | "etf" }>();
  for (const row of quotesResult?.rows ?? []) {
    const close = row[1] === null || row[1] === undefined ? null : Number(row[1]);
    quotes.set(String(row[0]), {
      close: close !== null && Number.isFinite(close) && close > 0 ? close : null,
      instrument: row[2] === "etf" ? "etf" : "stock",
    });
  }
  return { instruments, isDefault: requested === undefined, quotes };
}

/** Loadings the engine can use: estimated, with a loading and a standard error per risk factor. */
const isUsable = (stored: StoredRiskInputs, factorKeys: readonly string[], symbol: string): boolean => {
  const record = stored.loadings.get(symbol);
  return (
    record?.status === "estimated" &&
    factorKeys.every((key) => record.loadings[key] !== undefined && record.standardErrors[key] !== undefined)
  );
};

/** `error` as the API's 422 (400 for a request the schema should have refused), field paths under `prefix`. */
function hedgeFailure(error: HedgeError, prefix: string): ApiError {
  const path = error.field === "" ? prefix.replace(/\.$/, "") : `${prefix}${error.field}`;
  const detail = {
    path,
    message: error.message,
    reason: error.code,
    ...(error.symbols.length > 0 ? { symbols: error.symbols } : {}),
    ...(error.riskReason !== null ? { risk_reason: error.riskReason } : {}),
  };
  if (error.code === "invalid_request")
    return new ApiError(400, "VALIDATION_ERROR", `invalid input: ${path || "(whole input)"}`, [detail]);
  return new ApiError(422, "HEDGE_UNAVAILABLE", `no hedge can be computed: ${error.message}`, [detail]);
}

function hedgeRisk(risk: PortfolioRisk, block: PortfolioRiskBlock) {
  const withoutHoldings = <T extends { holdings: unknown }>(value: T | null): Omit<T, "holdings"> | null => {
    if (value === null) return null;
    const { holdings: _holdings, ...rest } = value;
    return rest;
  };
  const total = withoutHoldings(block.total);
  // The hedge exists only where the portfolio's exposures and total risk do (computeHedge checks).
  if (block.exposures === null || total === null)
    throw new HedgeError("risk_unavailable", "", `the risk of ${risk.date} cannot be computed`);
  return {
    symbols: block.symbols,
    exposures: block.exposures,
    active_exposures: block.active_exposures,
    total,
    active: withoutHoldings(block.active),
    active_unavailable: block.active_unavailable,
  };
}

function blockOf(
  hedge: Hedge,
  prepared: PreparedHedge,
  leftOut: HedgeBlock["instruments_left_out"],
  stored: StoredRiskInputs,
  penaltyGiven: boolean,
): HedgeBlock {
  const before = riskBlockOf(hedge.before, stored.priceDecided);
  const after = riskBlockOf(hedge.after, stored.priceDecided);
  return {
    date: hedge.date,
    target: hedge.target,
    benchmark: hedge.benchmarkSymbol,
    penalty: hedge.penalty,
    penalty_default: !penaltyGiven,
    equity: hedge.equity,
    instruments: hedge.trades.map((trade) => trade.symbol),
    instruments_default: prepared.isDefault,
    instruments_left_out: leftOut,
    trades: hedge.trades.map((trade) => ({
      symbol: trade.symbol,
      instrument: prepared.quotes.get(trade.symbol)?.instrument ?? "stock",
      weight: trade.weight,
      weight_before: trade.weightBefore,
      weight_after: trade.weightAfter,
      dollars: trade.dollars,
      close: trade.close,
      shares: trade.shares,
    })),
    target_risk: {
      measure: hedge.target === "total" ? "volatility" : "tracking_error",
      variance_before: hedge.varianceBefore,
      variance_after: hedge.varianceAfter,
      before: hedge.riskBefore,
      after: hedge.riskAfter,
      change: hedge.riskAfter - hedge.riskBefore,
    },
    penalty_cost: hedge.penaltyCost,
    before: hedgeRisk(hedge.before, before),
    after: hedgeRisk(hedge.after, after),
    data_quality: before.data_quality,
    note: `${hedge.before.note} ${hedgeNote}`,
  };
}

/**
 * The hedge block of an aggregation on the stored model of its date (`stored` must hold the
 * loadings of the held symbols, the benchmark and the instruments): `computeHedge`, its errors
 * as 4xx with field paths under `prefix` ("" for the hedge route, "hedge." in what-if).
 */
export function hedgeAnswer(request: {
  options: HedgeOptions;
  prepared: PreparedHedge;
  stored: StoredRiskInputs;
  aggregation: PortfolioAggregation;
  input: AggregationInput;
  benchmark: string | null;
  prefix: string;
}): HedgeBlock {
  const { options, prepared, stored } = request;
  const model = riskModelInput(stored);
  // Default instruments without loadings or a close are left out; given ones are the engine's to refuse.
  const leftOut: HedgeBlock["instruments_left_out"] = [];
  let instruments = prepared.instruments;
  if (prepared.isDefault) {
    instruments = prepared.instruments.filter((symbol) => {
      if (!isUsable(stored, model.factorKeys, symbol)) {
        const record = stored.loadings.get(symbol);
        const gap = stored.priceDecided.get(symbol);
        leftOut.push({
          symbol,
          reason: "no_loadings",
          detail:
            record?.status === "missing"
              ? `${record.reason}: ${record.detail}`
              : gap !== undefined
                ? `${gap.reason}: ${gap.detail}`
                : `no risk loadings are stored for ${symbol} on ${stored.date}`,
        });
        return false;
      }
      if ((prepared.quotes.get(symbol)?.close ?? null) === null) {
        leftOut.push({ symbol, reason: "no_price", detail: `no close for ${symbol} on ${stored.date}` });
        return false;
      }
      return true;
    });
    if (instruments.length === 0)
      throw hedgeFailure(
        new HedgeError(
          "instruments_without_loadings",
          "instruments",
          `none of the default instruments (${prepared.instruments.join(", ") || "none configured"}) has loadings ` +
            `and a close on ${stored.date}: name the instruments`,
          { symbols: prepared.instruments },
        ),
        request.prefix,
      );
  }
  const closes = new Map<string, number>();
  for (const symbol of instruments) {
    const close = prepared.quotes.get(symbol)?.close ?? null;
    if (close !== null) closes.set(symbol, close);
  }
  try {
    const hedge = computeWithinRange([{ input: request.input }], () =>
      computeHedge({
        aggregation: request.aggregation,
        ...model,
        benchmarkSymbol: request.benchmark,
        target: options.target,
        instruments,
        penalty: options.penalty ?? DEFAULT_HEDGE_PENALTY,
        closes,
      }),
    );
    return blockOf(hedge, prepared, leftOut, stored, options.penalty !== undefined);
  } catch (error) {
    if (error instanceof HedgeError) throw hedgeFailure(error, request.prefix);
    throw error;
  }
}

/** The beta symbols of the public holdings held on `date`: whose loadings the risk reads. */
export const heldRiskSymbols = (holdings: readonly HoldingInput[], date: string): string[] =>
  holdings.filter((h) => h.instrument !== "private" && isHeldOn(h, date)).map(betaSymbolOf);

export const hedgeRoutes = new Hono<ApiEnv>().post(
  "/:id/hedge",
  guard(routes.hedgePortfolio),
  noQuery(),
  validate("param", portfolioParamsSchema),
  validate("json", hedgeRequestSchema),
  async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const db = getDatabase(c.env);
    // Visibility first: another tenant's portfolio is a 404 whatever the date.
    const portfolio = await readablePortfolio(db, c.get("caller"), id);
    const date = await analyticsDate(db, body.date);
    const input = await aggregationInputFor(db, date, await portfolioHoldings(db, id), portfolio.cash);
    const benchmark = body.benchmark === "none" ? null : (body.benchmark ?? portfolio.benchmarkSymbol);
    const prepared = await prepareHedge(db, date, body.instruments);
    const stored = await loadRiskInputs(
      db,
      date,
      [...heldRiskSymbols(input.holdings, date), ...(benchmark === null ? [] : [benchmark]), ...prepared.instruments],
      batchConfig(c.env).riskHalfLifeDays,
    );
    const aggregation = computeWithinRange([{ input }], () => aggregatePortfolio(input));
    const block = hedgeAnswer({
      options: body,
      prepared,
      stored,
      aggregation,
      input,
      benchmark,
      prefix: "",
    });
    const response: HedgeResponse = { portfolio_id: id, ...block };
    return c.json(response, 200);
  },
);
