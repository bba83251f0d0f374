// Portfolio and position rows as the API shows them (snake_case), and API bodies as rows.
import type { portfolios, positions } from "../../schema/index.ts";
import type { PortfolioResponse, PositionCreate, PositionResponse } from "../api/portfolios.ts";
import type { Caller } from "../auth/permissions.ts";
import { isWritable } from "../auth/ownership.ts";

type PortfolioRow = typeof portfolios.$inferSelect;
type PositionRow = typeof positions.$inferSelect;
export type PositionInsert = typeof positions.$inferInsert;

export function portfolioResponse(row: PortfolioRow, caller: Caller): PortfolioResponse {
  return {
    id: row.id,
    name: row.name,
    owner: row.owner,
    org: row.org,
    cash: row.cash,
    benchmark_symbol: row.benchmarkSymbol,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    writable: isWritable(caller, row),
  };
}

export function positionResponse(row: PositionRow): PositionResponse {
  return {
    id: row.id,
    portfolio_id: row.portfolioId,
    symbol: row.symbol,
    instrument: row.instrument,
    quantity: row.quantity,
    cost_basis: row.costBasis,
    opened_on: row.openedOn,
    closed_on: row.closedOn,
    underlying_symbol: row.underlyingSymbol,
    option_type: row.optionType,
    strike: row.strike,
    expiry: row.expiry,
    multiplier: row.multiplier,
    delta: row.delta,
    implied_vol: row.impliedVol,
    premium: row.premium,
  };
}

/** Tickers are stored upper case; option and private labels as given. */
export function storedSymbol(instrument: PositionCreate["instrument"], symbol: string): string {
  return instrument === "stock" || instrument === "etf" ? symbol.toUpperCase() : symbol;
}

/** An API position as a row; options get the default multiplier when none is given. */
export function positionRow(portfolioId: string, id: string, body: PositionCreate): PositionInsert {
  const isOption = body.instrument === "option";
  return {
    id,
    portfolioId,
    symbol: storedSymbol(body.instrument, body.symbol),
    instrument: body.instrument,
    quantity: body.quantity,
    costBasis: body.cost_basis ?? null,
    openedOn: body.opened_on,
    closedOn: body.closed_on ?? null,
    underlyingSymbol: isOption ? (body.underlying_symbol ?? null) : null,
    optionType: isOption ? (body.option_type ?? null) : null,
    strike: isOption ? (body.strike ?? null) : null,
    expiry: isOption ? (body.expiry ?? null) : null,
    multiplier: isOption ? (body.multiplier ?? 100) : null,
    delta: isOption ? (body.delta ?? null) : null,
    impliedVol: isOption ? (body.implied_vol ?? null) : null,
    premium: isOption ? (body.premium ?? null) : null,
  };
}

/** A row back as the API body it came from (to merge a PATCH into). */
export function positionBody(row: PositionRow): PositionCreate {
  const response = positionResponse(row);
  const { id: _id, portfolio_id: _portfolio, ...body } = response;
  return body as PositionCreate;
}
