// `POST /what-if`: the exposures of a hypothetical portfolio on a date, aggregated from the
// stored symbol betas exactly as a stored portfolio's are; nothing is stored. With
// `portfolio_id` the result is compared with that portfolio (which the caller must be able to
// read), and its cash is used unless `cash` is given.
import { Hono } from "hono";
import { whatIfRequestSchema, type WhatIfResponse } from "../api/analytics.ts";
import { routes } from "../api/contract.ts";
import { guard, type ApiEnv } from "../auth/guard.ts";
import { readablePortfolio } from "../auth/ownership.ts";
import { getDatabase } from "../db/client.ts";
import { aggregatePortfolio, type HoldingInput, type PortfolioAggregation } from "../factors/portfolio.ts";
import { compareAggregations, type Change } from "../factors/what-if.ts";
import { noQuery, validate } from "../http/validate.ts";
import {
  aggregationInputFor,
  analyticsDate,
  computeWithinRange,
  portfolioHoldings,
} from "../portfolios/aggregation-input.ts";
import { storedSymbol } from "../portfolios/records.ts";

function summary(aggregation: PortfolioAggregation) {
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
  };
}

const change = (value: Change) => ({ original: value.original, what_if: value.whatIf, change: value.change });

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
    // The hypothetical holdings are capped by the schema; the stored portfolio's values may not be.
    const inputs = [{ input: whatIfInput }, ...(originalInput ? [{ input: originalInput, prefix: "portfolio." }] : [])];
    const { whatIf, originalAggregation, comparison } = computeWithinRange(inputs, () => {
      const aggregated = aggregatePortfolio(whatIfInput);
      const stored: PortfolioAggregation | null = originalInput ? aggregatePortfolio(originalInput) : null;
      const compared = stored ? compareAggregations(stored, aggregated) : null;
      return { whatIf: aggregated, originalAggregation: stored, comparison: compared };
    });
    const response: WhatIfResponse = {
      date,
      what_if: summary(whatIf),
      original: originalAggregation ? summary(originalAggregation) : null,
      comparison: comparison
        ? {
            equity: change(comparison.equity),
            gross: change(comparison.gross),
            net: change(comparison.net),
            factors: comparison.factors.map((factor) => ({
              factor_key: factor.factorKey,
              exposure: change(factor.exposure),
              exposure_dollar: change(factor.exposureDollar),
              coverage: change(factor.coverage),
            })),
          }
        : null,
    };
    return c.json(response, 200);
  },
);
