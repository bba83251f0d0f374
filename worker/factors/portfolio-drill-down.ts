// The stock-level drill-down of one factor on one date (GET /portfolios/:id/exposures/stocks):
// each position's weight, delta, beta and contribution w·δ·β, whose sum is the portfolio's
// exposure, and, listed apart with the reason, every held position that contributes nothing.
//
// Decisions: positions with the same symbol, instrument, beta symbol and delta (lots of one
// stock, or of one option contract at one delta) are one row, with their ids, summed market
// value, weight and contribution; anything else is its own row, so a row's delta and beta
// are always single numbers. Rows are sorted by |contribution| descending (by
// |contributionDollar| when equity ≤ 0 and weights are null: the same order, as equity only
// scales), ties by symbol then first position id. Private positions are listed as missing
// (reason `private`) so that the drill-down accounts for every position held on D.
// The result carries the portfolio's cash and its valued options' notional and premium (rows and
// left out alike), so that a reader can reconcile the weights with equity: Σ weights + cash /
// equity = 1 + (options' notional − their premium) / equity, as options count at notional in
// weights but at their premium in equity (worker/factors/portfolio.ts).
import { compareText, lookUpBeta } from "./data-quality.ts";
import { requireFinite } from "./errors.ts";
import type { PositionExclusionReason, SymbolMissingReason } from "./data-quality.ts";
import { aggregatePortfolio, betasOf } from "./portfolio.ts";
import type { AggregationInput, FactorExposure, Instrument, PositionValuation } from "./portfolio.ts";
import type { EstimatedQualityFlag } from "./types.ts";

export interface DrillDownRow {
  symbol: string;
  /** Whose betas apply: the underlying for options. */
  betaSymbol: string;
  instrument: Instrument;
  positionIds: string[];
  marketValue: number;
  /** Null when equity ≤ 0. */
  weight: number | null;
  delta: number;
  beta: number;
  qualityFlag: EstimatedQualityFlag;
  /** weight × delta × beta; null when equity ≤ 0. */
  contribution: number | null;
  /** marketValue × delta × beta. */
  contributionDollar: number;
  /** Options: Σ contracts × multiplier × premium (what counts in equity); null for stocks and without a premium. */
  premiumValue: number | null;
}

export interface DrillDownMissingRow {
  symbol: string;
  betaSymbol: string;
  instrument: Instrument;
  positionIds: string[];
  reason: "private" | PositionExclusionReason | SymbolMissingReason;
  detail: string;
  /** Null when the position could not be valued (private, no price). */
  marketValue: number | null;
  weight: number | null;
}

export interface FactorDrillDown {
  date: string;
  factorId: number;
  factorKey: string;
  /** The portfolio's cash (part of equity, no factor loading). */
  cash: number;
  /** Σ signed notional of the valued options (rows and left out): what their weights count. */
  optionsNotional: number;
  /** Σ premium value of those options (0 without a premium): what equity counts of them. */
  optionsPremium: number;
  equity: number;
  gross: number;
  weightsAvailable: boolean;
  rows: DrillDownRow[];
  missing: DrillDownMissingRow[];
  /** Sums over `rows`; null when there are no rows (or, for weights, when equity ≤ 0). */
  totals: { weight: number | null; contribution: number | null; contributionDollar: number | null };
  /** The aggregation's own numbers for the factor: totals.contribution equals `exposure.exposure`. */
  exposure: FactorExposure;
}

const sumOrNull = (values: readonly (number | null)[]): number | null =>
  values.length === 0 || values.some((v) => v === null) ? null : values.reduce<number>((s, v) => s + (v ?? 0), 0);

/** Σ of premium values, null while none of them is known (a stock's, an option's without a premium). */
const addPremium = (sum: number | null, value: number | null): number | null =>
  sum === null ? value : value === null ? sum : sum + value;

const finiteOrNull = (what: string, value: number | null): number | null =>
  value === null ? null : requireFinite(what, value, "drill-down");

function missingReason(p: PositionValuation): { reason: DrillDownMissingRow["reason"]; detail: string } | null {
  if (p.status === "valued") return null;
  return { reason: p.status, detail: p.detail ?? "" };
}

export function factorDrillDown(input: AggregationInput, factorKey: string): FactorDrillDown {
  const factor = input.factors.find((f) => f.key === factorKey);
  if (factor === undefined) throw new RangeError(`unknown factor key: ${factorKey}`);
  const aggregation = aggregatePortfolio(input);
  const exposure = aggregation.exposures.find((e) => e.factorKey === factorKey) as FactorExposure;
  const factorKeys = input.factors.map((f) => f.key);

  const rows = new Map<string, DrillDownRow>();
  const missing = new Map<string, DrillDownMissingRow>();
  for (const p of aggregation.positions) {
    let excluded = missingReason(p);
    if (excluded === null) {
      const lookup = lookUpBeta(betasOf(input.betas, p.betaSymbol, factorKeys), factorKey);
      if ("estimate" in lookup) {
        const marketValue = p.marketValue as number;
        const delta = p.delta as number;
        const beta = lookup.estimate.beta;
        const key = JSON.stringify([p.symbol, p.instrument, p.betaSymbol, delta]);
        const contribution = p.weight === null ? null : p.weight * delta * beta;
        const contributionDollar = marketValue * delta * beta;
        const row = rows.get(key);
        if (row === undefined) {
          rows.set(key, {
            symbol: p.symbol,
            betaSymbol: p.betaSymbol,
            instrument: p.instrument,
            positionIds: [p.positionId],
            marketValue,
            weight: p.weight,
            delta,
            beta,
            qualityFlag: lookup.estimate.qualityFlag,
            contribution,
            contributionDollar,
            premiumValue: p.premiumValue,
          });
        } else {
          row.positionIds.push(p.positionId);
          row.marketValue += marketValue;
          row.weight = row.weight === null || p.weight === null ? null : row.weight + p.weight;
          row.contribution =
            row.contribution === null || contribution === null ? null : row.contribution + contribution;
          row.contributionDollar += contributionDollar;
          row.premiumValue = addPremium(row.premiumValue, p.premiumValue);
        }
        continue;
      }
      excluded = { reason: lookup.reason, detail: lookup.detail ?? "" };
    }
    const key = JSON.stringify([p.symbol, p.instrument, p.betaSymbol, excluded.reason]);
    const row = missing.get(key);
    if (row === undefined) {
      missing.set(key, {
        symbol: p.symbol,
        betaSymbol: p.betaSymbol,
        instrument: p.instrument,
        positionIds: [p.positionId],
        reason: excluded.reason,
        detail: excluded.detail,
        marketValue: p.marketValue,
        weight: p.weight,
      });
    } else {
      row.positionIds.push(p.positionId);
      row.marketValue = row.marketValue === null || p.marketValue === null ? null : row.marketValue + p.marketValue;
      row.weight = row.weight === null || p.weight === null ? null : row.weight + p.weight;
    }
  }

  let optionsNotional = 0;
  let optionsPremium = 0;
  for (const p of aggregation.positions) {
    if (p.instrument !== "option" || p.marketValue === null) continue;
    optionsNotional += p.marketValue;
    optionsPremium += p.premiumValue ?? 0;
  }

  // Each row's numbers are finite when the aggregation's sums are, except with absurd magnitudes.
  for (const row of rows.values()) {
    requireFinite(`contribution_dollar of ${row.symbol}`, row.contributionDollar, "drill-down");
    requireFinite(`market_value of ${row.symbol}`, row.marketValue, "drill-down");
  }
  const sortedRows = [...rows.values()].sort(
    (a, b) =>
      Math.abs(b.contributionDollar) - Math.abs(a.contributionDollar) ||
      compareText(a.symbol, b.symbol) ||
      compareText(a.positionIds[0] ?? "", b.positionIds[0] ?? ""),
  );
  const sortedMissing = [...missing.values()].sort(
    (a, b) =>
      compareText(a.symbol, b.symbol) ||
      compareText(a.reason, b.reason) ||
      compareText(a.positionIds[0] ?? "", b.positionIds[0] ?? ""),
  );
  return {
    date: aggregation.date,
    factorId: factor.id,
    factorKey,
    cash: aggregation.cash,
    optionsNotional: requireFinite("options' notional", optionsNotional, "drill-down"),
    optionsPremium: requireFinite("options' premium", optionsPremium, "drill-down"),
    equity: aggregation.equity,
    gross: aggregation.gross,
    weightsAvailable: aggregation.weightsAvailable,
    rows: sortedRows,
    missing: sortedMissing,
    totals: {
      weight: finiteOrNull("total weight", sumOrNull(sortedRows.map((r) => r.weight))),
      contribution: finiteOrNull("total contribution", sumOrNull(sortedRows.map((r) => r.contribution))),
      contributionDollar: finiteOrNull(
        "total contribution_dollar",
        sumOrNull(sortedRows.map((r) => r.contributionDollar)),
      ),
    },
    exposure,
  };
}
