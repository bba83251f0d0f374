import type { factorDefinitions } from "../factors.ts";

/** Seeded rows carry their stable ids (symbol_factor_exposures refers to them). */
type FactorSeed = typeof factorDefinitions.$inferInsert & { id: number };

const ridgeAlpha = 1.0;

/** The default factor set of DESIGN.md section 4, seeded as data by `npm run db:migrate`. */
export const defaultFactors: readonly FactorSeed[] = [
  { id: 1, key: "market_beta", name: "Market Beta", category: "market", method: "ols", inputSymbol: "SPY",
    windowDays: 365, minObservations: 60, displayOrder: 1,
    description: "OLS slope of daily returns on the S&P 500 (SPY)." },
  { id: 2, key: "interest_rate_beta", name: "Interest Rate Beta", category: "rates", method: "ols", inputSymbol: "TLT",
    windowDays: 365, minObservations: 60, displayOrder: 2,
    description: "OLS slope of daily returns on long Treasuries (TLT)." },
  { id: 3, key: "value", name: "Value", category: "style", method: "ridge", inputSymbol: "VTV", ridgeAlpha,
    windowDays: 365, minObservations: 60, displayOrder: 3,
    description: "Joint ridge loading on the value ETF (VTV)." },
  { id: 4, key: "growth", name: "Growth", category: "style", method: "ridge", inputSymbol: "VUG", ridgeAlpha,
    windowDays: 365, minObservations: 60, displayOrder: 4,
    description: "Joint ridge loading on the growth ETF (VUG)." },
  { id: 5, key: "momentum", name: "Momentum", category: "style", method: "ridge", inputSymbol: "MTUM", ridgeAlpha,
    windowDays: 365, minObservations: 60, displayOrder: 5,
    description: "Joint ridge loading on the momentum ETF (MTUM)." },
  { id: 6, key: "quality", name: "Quality", category: "style", method: "ridge", inputSymbol: "QUAL", ridgeAlpha,
    windowDays: 365, minObservations: 60, displayOrder: 6,
    description: "Joint ridge loading on the quality ETF (QUAL)." },
  { id: 7, key: "size", name: "Size", category: "style", method: "ridge", inputSymbol: "IWM", ridgeAlpha,
    windowDays: 365, minObservations: 60, displayOrder: 7,
    description: "Joint ridge loading on the small-cap ETF (IWM)." },
  { id: 8, key: "low_volatility", name: "Low Volatility", category: "style", method: "ridge", inputSymbol: "USMV", ridgeAlpha,
    windowDays: 365, minObservations: 60, displayOrder: 8,
    description: "Joint ridge loading on the minimum-volatility ETF (USMV)." },
  { id: 9, key: "growth_value_spread", name: "Growth-Value Spread", category: "spread", method: "spread",
    longSymbol: "VUG", shortSymbol: "VTV", windowDays: 180, minObservations: 60, displayOrder: 9,
    description: "OLS slope on VUG minus VTV daily returns." },
  { id: 10, key: "momentum_spread", name: "Momentum Spread", category: "spread", method: "spread",
    longSymbol: "MTUM", shortSymbol: "SPY", windowDays: 180, minObservations: 60, displayOrder: 10,
    description: "OLS slope on MTUM minus SPY daily returns." },
  { id: 11, key: "size_spread", name: "Size Spread", category: "spread", method: "spread",
    longSymbol: "IWM", shortSymbol: "SPY", windowDays: 180, minObservations: 60, displayOrder: 11,
    description: "OLS slope on IWM minus SPY daily returns." },
  { id: 12, key: "quality_spread", name: "Quality Spread", category: "spread", method: "spread",
    longSymbol: "QUAL", shortSymbol: "SPY", windowDays: 180, minObservations: 60, displayOrder: 12,
    description: "OLS slope on QUAL minus SPY daily returns." },
];
