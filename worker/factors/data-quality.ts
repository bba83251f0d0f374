// The `data_quality` contract (docs/design.md §4.9): what an aggregation could and could not
// use, in the snake_case shape the API serves and `portfolio_snapshots.data_quality` stores.
// Every producer builds it with `buildDataQuality`; every consumer imports `DataQuality`.
//
// Definitions (beyond docs/factor-engine.md):
// - A position's *beta symbol* is its own symbol for stocks and ETFs and the underlying for
//   options. `total_symbols` counts the distinct beta symbols of the public (non-private)
//   positions held on D, priced or not.
// - `symbols_with_ridge` / `symbols_with_spread`: beta symbols that have a close on D and an
//   estimated beta on at least one ridge / spread factor of the factor list (the ridge is one
//   joint regression per symbol: this counts the symbols it produced estimates for; a column
//   it could not estimate shows up in `symbols_missing` with its factors).
// - `symbols_missing`: one entry per (symbol, reason), sorted by symbol then reason.
//   `no_price` (no usable close on D: its positions are not valued, so they are in neither
//   equity, gross nor any exposure) and `no_betas` (the beta lookup has no entry, estimated
//   or missing, for any factor of the list — e.g. only estimates are stored and it has none) are
//   symbol-level and carry no `factors`. Every other reason is per factor and lists the
//   affected factor keys in factor-list order. A symbol without a price is reported only as
//   `no_price`: its betas are irrelevant while its positions cannot be valued.
// - `positions_total` counts every position held on D, private ones included;
//   `positions_private` those of them that are private (excluded from equity, gross, weights).
// - `positions_excluded` lists the public positions held on D that contribute to no factor,
//   with the reason; `no_price` ones are also outside equity and gross, the others (an option
//   without a usable delta) are valued and inside gross, so they lower every factor's coverage.
// - `weights_available` is false when equity ≤ 0: weights (and so `exposure` and the weight
//   columns of the drill-down) are then undefined and null; dollar exposures still hold.
import type { EstimatedBeta, FactorMethod, MissingBetaReason, SymbolFactorBeta } from "./types.ts";

/**
 * Why a symbol is (partly) missing from an aggregation:
 * - `no_price`: no usable close on D (absent, not finite, or not positive);
 * - `no_betas`: the beta lookup has nothing (no estimate, no recorded reason) for any factor of the list;
 * - `beta_not_found`: the symbol has betas on D, but none (estimated or missing) for this factor;
 * - the estimator's own reasons (`MissingBetaReason`): insufficient_data, degenerate, no_factor_data,
 *   and the batch's stale_prices / no_prices when they are stored as the symbol's gaps.
 */
export const symbolMissingReasons = [
  "no_price",
  "no_betas",
  "beta_not_found",
  "insufficient_data",
  "degenerate",
  "no_factor_data",
  "stale_prices",
  "no_prices",
] as const satisfies readonly ("no_price" | "no_betas" | "beta_not_found" | MissingBetaReason)[];
export type SymbolMissingReason = (typeof symbolMissingReasons)[number];

export interface SymbolMissing {
  symbol: string;
  reason: SymbolMissingReason;
  /** Factor keys the reason applies to; absent for the symbol-level `no_price` and `no_betas`. */
  factors?: string[];
  /** The held positions on this symbol (as the option underlying too). */
  position_ids: string[];
  detail?: string;
}

/**
 * Why a held public position contributes to no factor: `no_price` (its symbol, an option's
 * underlying, has no usable close on D), `no_delta` (an option with neither a delta nor an
 * implied volatility), `invalid_delta` (a given delta of the wrong sign for the option's type),
 * `expired` (an option past its expiry: no value, no delta; still held, since nobody closed it).
 */
export const positionExclusionReasons = ["no_price", "no_delta", "invalid_delta", "expired"] as const;
export type PositionExclusionReason = (typeof positionExclusionReasons)[number];

export interface PositionExcluded {
  position_id: string;
  symbol: string;
  reason: PositionExclusionReason;
  detail: string;
}

/** The data_quality contract: the six keys of docs/design.md §4.9 first, then what a reader needs beside them. */
export interface DataQuality {
  total_symbols: number;
  symbols_with_ridge: number;
  symbols_with_spread: number;
  symbols_missing: SymbolMissing[];
  positions_total: number;
  positions_private: number;
  /** The date D the aggregation is for. */
  date: string;
  /** Public positions held on D that have a close, so are in equity (stocks, ETFs, premiums) and gross. */
  positions_valued: number;
  positions_excluded: PositionExcluded[];
  /** Valued options without a premium: they are in gross and exposures, but add nothing to equity. */
  options_without_premium: number;
  equity: number;
  gross: number;
  net: number;
  /** False when equity ≤ 0: weights and `exposure` are null, `exposure_dollar` still holds. */
  weights_available: boolean;
}

/** One beta symbol of an aggregation, as the builder needs it. */
export interface SymbolCoverage {
  symbol: string;
  positionIds: readonly string[];
  /** False when the symbol has no usable close on D. */
  priced: boolean;
  /** The symbol's betas on D by factor key; undefined when the lookup has none for it. */
  betas: Readonly<Record<string, SymbolFactorBeta>> | undefined;
  /** Why it has no usable close, when it has none (e.g. "close is not positive: 0"). */
  priceDetail?: string;
}

export interface DataQualityInput {
  date: string;
  factors: readonly { key: string; method: FactorMethod }[];
  symbols: readonly SymbolCoverage[];
  positionsTotal: number;
  positionsPrivate: number;
  positionsValued: number;
  positionsExcluded: readonly PositionExcluded[];
  optionsWithoutPremium: number;
  equity: number;
  gross: number;
  net: number;
}

/** A symbol's beta on one factor: the estimate, or why there is none. */
export type BetaLookup = { estimate: EstimatedBeta } | { reason: SymbolMissingReason; detail?: string };

export function lookUpBeta(
  betas: Readonly<Record<string, SymbolFactorBeta>> | undefined,
  factorKey: string,
): BetaLookup {
  if (betas === undefined) return { reason: "no_betas" };
  const entry = betas[factorKey];
  if (entry === undefined) return { reason: "beta_not_found" };
  if (entry.status === "missing") return { reason: entry.reason, detail: entry.detail };
  return { estimate: entry };
}

/** Whether a symbol has no beta entry at all for any factor of the list (symbol-level `no_betas`). */
export function hasNoBetas(
  betas: Readonly<Record<string, SymbolFactorBeta>> | undefined,
  factorKeys: readonly string[],
): boolean {
  return betas === undefined || factorKeys.every((key) => betas[key] === undefined);
}

export function buildDataQuality(input: DataQualityInput): DataQuality {
  const factorKeys = input.factors.map((f) => f.key);
  const ridgeKeys = input.factors.filter((f) => f.method === "ridge").map((f) => f.key);
  const spreadKeys = input.factors.filter((f) => f.method === "spread").map((f) => f.key);
  const seen = new Set<string>();
  const missing: SymbolMissing[] = [];
  let withRidge = 0;
  let withSpread = 0;

  for (const s of input.symbols) {
    if (seen.has(s.symbol)) throw new Error(`buildDataQuality: symbol ${s.symbol} listed twice`);
    seen.add(s.symbol);
    const positionIds = [...s.positionIds];
    if (!s.priced) {
      missing.push({
        symbol: s.symbol,
        reason: "no_price",
        position_ids: positionIds,
        ...(s.priceDetail ? { detail: s.priceDetail } : {}),
      });
      continue;
    }
    const estimated = (key: string) => s.betas?.[key]?.status === "estimated";
    if (ridgeKeys.some(estimated)) withRidge++;
    if (spreadKeys.some(estimated)) withSpread++;
    if (factorKeys.length > 0 && hasNoBetas(s.betas, factorKeys)) {
      missing.push({ symbol: s.symbol, reason: "no_betas", position_ids: positionIds });
      continue;
    }
    const byReason = new Map<SymbolMissingReason, { factors: string[]; details: Set<string> }>();
    for (const key of factorKeys) {
      const status = lookUpBeta(s.betas, key);
      if ("estimate" in status) continue;
      const group = byReason.get(status.reason) ?? { factors: [], details: new Set<string>() };
      group.factors.push(key);
      if (status.detail) group.details.add(status.detail);
      byReason.set(status.reason, group);
    }
    for (const [reason, group] of byReason) {
      const detail = [...group.details].join("; ");
      missing.push({
        symbol: s.symbol,
        reason,
        factors: group.factors,
        position_ids: positionIds,
        ...(detail ? { detail } : {}),
      });
    }
  }

  missing.sort((a, b) => compareText(a.symbol, b.symbol) || compareText(a.reason, b.reason));
  return {
    total_symbols: input.symbols.length,
    symbols_with_ridge: withRidge,
    symbols_with_spread: withSpread,
    symbols_missing: missing,
    positions_total: input.positionsTotal,
    positions_private: input.positionsPrivate,
    date: input.date,
    positions_valued: input.positionsValued,
    positions_excluded: [...input.positionsExcluded].sort(
      (a, b) => compareText(a.symbol, b.symbol) || compareText(a.position_id, b.position_id),
    ),
    options_without_premium: input.optionsWithoutPremium,
    equity: input.equity,
    gross: input.gross,
    net: input.net,
    weights_available: input.equity > 0,
  };
}

/** Code-unit order: deterministic everywhere (localeCompare depends on the runtime's ICU). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
