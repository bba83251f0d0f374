// What-if (POST /what-if): the aggregation of a hypothetical holdings list, nothing stored,
// and its comparison with the original portfolio, factor by factor.
//
// Decisions: a hypothetical holding may omit its id (it gets `what-if-<n>`, n its 1-based
// place in the list, unless that id is taken) and its opened_on (held on every date). A
// change is what-if − original, null when either side is null (a factor that appears or
// disappears is visible from the two sides, not hidden behind a number). Factors are
// compared in the original's order, then any the what-if has in addition.
import { requireFinite } from "./errors.ts";
import { aggregatePortfolio } from "./portfolio.ts";
import type { AggregationInput, FactorExposure, HoldingInput, PortfolioAggregation } from "./portfolio.ts";

export type HypotheticalHolding = Omit<HoldingInput, "id"> & { id?: string | null };

export interface WhatIfInput extends Omit<AggregationInput, "holdings"> {
  holdings: readonly HypotheticalHolding[];
}

/** Gives every hypothetical holding an id (see the header). */
export function withHoldingIds(holdings: readonly HypotheticalHolding[]): HoldingInput[] {
  const taken = new Set(holdings.flatMap((h) => (typeof h.id === "string" && h.id !== "" ? [h.id] : [])));
  return holdings.map((h, index) => {
    if (typeof h.id === "string" && h.id !== "") return { ...h, id: h.id };
    let id = `what-if-${index + 1}`;
    for (let n = 2; taken.has(id); n++) id = `what-if-${index + 1}-${n}`;
    taken.add(id);
    return { ...h, id };
  });
}

/** The same aggregation as a stored portfolio's, over a hypothetical holdings list. */
export function whatIfAggregation(input: WhatIfInput): PortfolioAggregation {
  return aggregatePortfolio({ ...input, holdings: withHoldingIds(input.holdings) });
}

export interface Change {
  original: number | null;
  whatIf: number | null;
  /** whatIf − original; null when either is null. */
  change: number | null;
}

export interface FactorComparison {
  factorId: number;
  factorKey: string;
  exposure: Change;
  exposureDollar: Change;
  coverage: Change;
}

export interface AggregationComparison {
  equity: Change;
  gross: Change;
  net: Change;
  factors: FactorComparison[];
}

function change(original: number | null, whatIf: number | null, what: string): Change {
  // Both sides are finite; their difference overflows only for absurd magnitudes.
  const difference =
    original === null || whatIf === null ? null : requireFinite(what, whatIf - original, "what-if comparison");
  return { original, whatIf, change: difference };
}

/** What-if minus original, per factor and for equity, gross and net. */
export function compareAggregations(
  original: Pick<PortfolioAggregation, "equity" | "gross" | "net" | "exposures">,
  whatIf: Pick<PortfolioAggregation, "equity" | "gross" | "net" | "exposures">,
): AggregationComparison {
  const originalByKey = new Map(original.exposures.map((e) => [e.factorKey, e]));
  const whatIfByKey = new Map(whatIf.exposures.map((e) => [e.factorKey, e]));
  const keys = [...originalByKey.keys(), ...[...whatIfByKey.keys()].filter((k) => !originalByKey.has(k))];
  const factors = keys.map((key): FactorComparison => {
    const a: FactorExposure | undefined = originalByKey.get(key);
    const b: FactorExposure | undefined = whatIfByKey.get(key);
    return {
      factorId: ((a ?? b) as FactorExposure).factorId, // every key comes from one side or the other
      factorKey: key,
      exposure: change(a?.exposure ?? null, b?.exposure ?? null, `exposure of ${key}`),
      exposureDollar: change(a?.exposureDollar ?? null, b?.exposureDollar ?? null, `exposure_dollar of ${key}`),
      coverage: change(a?.coverage ?? null, b?.coverage ?? null, `coverage of ${key}`),
    };
  });
  return {
    equity: change(original.equity, whatIf.equity, "equity"),
    gross: change(original.gross, whatIf.gross, "gross"),
    net: change(original.net, whatIf.net, "net"),
    factors,
  };
}
