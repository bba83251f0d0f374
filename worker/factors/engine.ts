// Public entry of the factor engine (pure and synchronous: arrays in, numbers out).
//
//   const { input, rejectedPrices } = buildFactorEngineInput(priceRows, factorSpecs);
//   const today = computeUniverseBetas(input, "2025-06-30");        // every symbol, shared work
//   today.symbolBetas(i) / today.toArray()                          // SymbolBetas (types.ts)
//   computeSymbolBetasDirect(input, "AAPL", "2025-06-30");           // one symbol, from scratch
//   computeBackfill(input, dates, { onDate: (betas) => store(betas) });
//
// Definitions: docs/design.md §4 and docs/factor-engine.md.
import { createFactorEngineInput } from "./factor-plan.ts";
import type { FactorEngineInput } from "./factor-plan.ts";
import { buildReturnPanelFromPrices } from "./returns.ts";
import type { PriceRow, PriceRowOptions, RejectedPrice } from "./returns.ts";
import type { FactorSpec } from "./types.ts";

export { FactorEngineError } from "./errors.ts";
export type { FactorEngineErrorCode } from "./errors.ts";
export { createFactorEngineInput } from "./factor-plan.ts";
export type { FactorEngineInput } from "./factor-plan.ts";
export { buildReturnPanelFromPrices, buildReturnPanelFromReturns } from "./returns.ts";
export type { PriceRow, PriceRowOptions, RejectedPrice, RejectedPriceReason, ReturnPanel } from "./returns.ts";
export { computeSymbolBetasDirect, computeUniverseBetas, createFitPathCounts, UniverseBetas } from "./universe.ts";
export type { FitPathCounts } from "./universe.ts";
export { computeBackfill } from "./backfill.ts";
export type { BackfillOptions, BackfillResult, BackfillStats } from "./backfill.ts";
export { fitStandardizedRidge, fitUnivariateOls } from "./regression.ts";
export type { RidgeFit, UnivariateOlsFit } from "./regression.ts";
export { betaCap, Outcome } from "./quality.ts";

export interface FactorEngineBuild {
  input: FactorEngineInput;
  /**
   * Prices not used, with date and reason (bad values, off-calendar dates, suspect moves when `maxDailyMove` is set).
   */
  rejectedPrices: RejectedPrice[];
}

/**
 * The engine's input from stored price rows `{symbol, date, close, adjClose}` and the active
 * factors. `options.maxDailyMove` drops one-day returns beyond that factor (`suspect_move`).
 */
export function buildFactorEngineInput(
  rows: Iterable<PriceRow>,
  factors: readonly FactorSpec[],
  options: PriceRowOptions = {},
): FactorEngineBuild {
  const { panel, rejectedPrices } = buildReturnPanelFromPrices(rows, options);
  return { input: createFactorEngineInput(panel, factors), rejectedPrices };
}
