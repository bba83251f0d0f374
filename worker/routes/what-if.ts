// `POST /what-if`: the exposures of a hypothetical portfolio on a date, aggregated from the
// stored symbol betas exactly as a stored portfolio's are, and its risk on the risk lens from the
// stored risk model of the date (loadings and factor covariance, worker/db/risk-reads.ts; the
// same engine and block as the batch's risk summaries); nothing is stored. With `portfolio_id`
// the result is compared with that portfolio (which the caller must be able to read), and its
// cash is used unless `cash` is given. Both risk blocks are against one benchmark (`benchmark`,
// else the compared portfolio's, else SPY), so their tracking errors compare. With `hedge`, the
// hypothetical holdings' suggested hedge against that benchmark: the block of
// `POST /portfolios/:id/hedge` (./hedge.ts).
import { Hono } from "hono";
import { whatIfRequestSchema, type WhatIfResponse } from "../api/analytics.ts";
import { routes } from "../api/contract.ts";
import { guard, type ApiEnv } from "../auth/guard.ts";
import { readablePortfolio } from "../auth/ownership.ts";
import { marketReferenceSymbol } from "../batch/calendar.ts";
import { batchConfig } from "../batch/config.ts";
import { portfolioRiskOn, type PortfolioRiskBlock, riskBlockOf } from "../batch/portfolio-analytics-phase.ts";
import { getDatabase } from "../db/client.ts";
import { loadRiskInputs } from "../db/risk-reads.ts";
import {
  aggregatePortfolio,
  betaSymbolOf,
  type HoldingInput,
  isHeldOn,
  type PortfolioAggregation,
} from "../factors/portfolio.ts";
import { compareAggregations, type Change } from "../factors/what-if.ts";
import { noQuery, validate } from "../http/validate.ts";
import { hedgeAnswer, prepareHedge } from "./hedge.ts";
import {
  aggregationInputFor,
  analyticsDate,
  computeWithinRange,
  portfolioHoldings,
} from "../portfolios/aggregation-input.ts";
import { storedSymbol } from "../portfolios/records.ts";

function summary(aggregation: PortfolioAggregation, risk: PortfolioRiskBlock) {
  return {
    equity: aggregation.equity,
    gross: aggregation.gross,
    net: aggregation.net,
    exposures: aggregation.exposures.map((e) => ({
      factor_key: e.factorKey,
      exposure: e.exposure,
      exposure_dollar: e.exposureDollar,
      coverage: e.coverage,
      positions_used: e.positionsUsed,
      positions_total: e.positionsTotal,
    })),
    data_quality: aggregation.dataQuality,
    risk,
  };
}

const change = (value: Change) => ({ original: value.original, what_if: value.whatIf, change: value.change });

/** what-if − original; null when either side is. */
const changeOf = (original: number | null, whatIf: number | null) => ({
  original,
  what_if: whatIf,
  change: original === null || whatIf === null ? null : whatIf - original,
});

function riskComparison(original: PortfolioRiskBlock, whatIf: PortfolioRiskBlock) {
  return {
    volatility: changeOf(original.total?.volatility ?? null, whatIf.total?.volatility ?? null),
    tracking_error: changeOf(original.active?.tracking_error ?? null, whatIf.active?.tracking_error ?? null),
    factor_share: changeOf(original.total?.factor_share ?? null, whatIf.total?.factor_share ?? null),
    value_at_risk_95: changeOf(original.total?.value_at_risk_95 ?? null, whatIf.total?.value_at_risk_95 ?? null),
    value_at_risk_99: changeOf(original.total?.value_at_risk_99 ?? null, whatIf.total?.value_at_risk_99 ?? null),
  };
}

/** The beta symbols of the public holdings held on `date`: whose loadings the risk reads. */
const heldSymbols = (holdings: readonly HoldingInput[], date: string) =>
  holdings.filter((h) => h.instrument !== "private" && isHeldOn(h, date)).map(betaSymbolOf);

export const whatIfRoutes = new Hono<ApiEnv>().post(
  "/",
  guard(routes.whatIf),
  noQuery(),
  validate("json", whatIfRequestSchema),
  async (c) => {
    const body = c.req.valid("json");
    const db = getDatabase(c.env);
    const date = await analyticsDate(db, body.date);
    const original =
      body.portfolio_id === undefined ? null : await readablePortfolio(db, c.get("caller"), body.portfolio_id);
    const holdings: HoldingInput[] = body.holdings.map((holding, index) => ({
      id: `what-if-${index + 1}`,
      symbol: storedSymbol(holding.instrument, holding.symbol),
      instrument: holding.instrument,
      quantity: holding.quantity,
      openedOn: holding.opened_on ?? null,
      closedOn: holding.closed_on ?? null,
      underlyingSymbol: holding.underlying_symbol ?? null,
      optionType: holding.option_type ?? null,
      strike: holding.strike ?? null,
      expiry: holding.expiry ?? null,
      multiplier: holding.instrument === "option" ? (holding.multiplier ?? 100) : null,
      delta: holding.delta ?? null,
      impliedVol: holding.implied_vol ?? null,
      premium: holding.premium ?? null,
    }));
    const cash = body.cash ?? original?.cash ?? 0;
    const whatIfInput = await aggregationInputFor(db, date, holdings, cash);
    const originalInput = original
      ? await aggregationInputFor(db, date, await portfolioHoldings(db, original.id), original.cash)
      : null;
    const benchmark =
      body.benchmark === "none" ? null : (body.benchmark ?? original?.benchmarkSymbol ?? marketReferenceSymbol);
    const hedgeOptions = body.hedge;
    const prepared = hedgeOptions === undefined ? null : await prepareHedge(db, date, hedgeOptions.instruments);
    const riskSymbols = [
      ...heldSymbols(whatIfInput.holdings, date),
      ...(originalInput ? heldSymbols(originalInput.holdings, date) : []),
      ...(benchmark === null ? [] : [benchmark]),
      ...(prepared?.instruments ?? []),
    ];
    const riskInputs = await loadRiskInputs(db, date, riskSymbols, batchConfig(c.env).riskHalfLifeDays);
    const riskOf = (aggregation: PortfolioAggregation, input: typeof whatIfInput) =>
      riskBlockOf(
        portfolioRiskOn(aggregation, benchmark, riskInputs, { betas: input.betas, factors: input.factors }),
        riskInputs.priceDecided,
      );
    // The hypothetical holdings are capped by the schema; the stored portfolio's values may not be.
    const inputs = [{ input: whatIfInput }, ...(originalInput ? [{ input: originalInput, prefix: "portfolio." }] : [])];
    const { whatIf, whatIfRisk, originalAggregation, originalRisk, comparison, hedge } = computeWithinRange(
      inputs,
      () => {
        const aggregated = aggregatePortfolio(whatIfInput);
        const stored: PortfolioAggregation | null = originalInput ? aggregatePortfolio(originalInput) : null;
        const compared = stored ? compareAggregations(stored, aggregated) : null;
        return {
          whatIf: aggregated,
          whatIfRisk: riskOf(aggregated, whatIfInput),
          originalAggregation: stored,
          originalRisk: stored && originalInput ? riskOf(stored, originalInput) : null,
          comparison: compared,
          hedge:
            hedgeOptions === undefined || prepared === null
              ? null
              : hedgeAnswer({
                  options: hedgeOptions,
                  prepared,
                  stored: riskInputs,
                  aggregation: aggregated,
                  input: whatIfInput,
                  benchmark,
                  prefix: "hedge.",
                }),
        };
      },
    );
    const response: WhatIfResponse = {
      date,
      what_if: summary(whatIf, whatIfRisk),
      original: originalAggregation && originalRisk ? summary(originalAggregation, originalRisk) : null,
      comparison:
        comparison && originalRisk
          ? {
              equity: change(comparison.equity),
              gross: change(comparison.gross),
              net: change(comparison.net),
              risk: riskComparison(originalRisk, whatIfRisk),
              factors: comparison.factors.map((factor) => ({
                factor_key: factor.factorKey,
                exposure: change(factor.exposure),
                exposure_dollar: change(factor.exposureDollar),
                coverage: change(factor.coverage),
              })),
            }
          : null,
      hedge,
    };
    return c.json(response, 200);
  },
);
