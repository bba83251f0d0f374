import type { riskFactors } from "../risk.ts";

type RiskFactorSeed = typeof riskFactors.$inferInsert & { id: number };

/** The risk lens of docs/design.md §11, seeded as data by `npm run db:migrate`. */
export const defaultRiskFactors: readonly RiskFactorSeed[] = [
  {
    id: 1,
    key: "market",
    name: "Market",
    longSymbol: "SPY",
    shortSymbol: null,
    displayOrder: 1,
    description: "Daily return of the S&P 500 (SPY).",
  },
  {
    id: 2,
    key: "rates",
    name: "Rates",
    longSymbol: "TLT",
    shortSymbol: null,
    displayOrder: 2,
    description: "Daily return of long Treasuries (TLT).",
  },
  {
    id: 3,
    key: "growth_value",
    name: "Growth − Value",
    longSymbol: "VUG",
    shortSymbol: "VTV",
    displayOrder: 3,
    description: "Growth minus value: VUG's daily return minus VTV's.",
  },
  {
    id: 4,
    key: "momentum",
    name: "Momentum",
    longSymbol: "MTUM",
    shortSymbol: "SPY",
    displayOrder: 4,
    description: "Momentum over the market: MTUM's daily return minus SPY's.",
  },
  {
    id: 5,
    key: "size",
    name: "Size",
    longSymbol: "IWM",
    shortSymbol: "SPY",
    displayOrder: 5,
    description: "Small caps over the market: IWM's daily return minus SPY's.",
  },
  {
    id: 6,
    key: "quality",
    name: "Quality",
    longSymbol: "QUAL",
    shortSymbol: "SPY",
    displayOrder: 6,
    description: "Quality over the market: QUAL's daily return minus SPY's.",
  },
  {
    id: 7,
    key: "low_volatility",
    name: "Low Volatility",
    longSymbol: "USMV",
    shortSymbol: "SPY",
    displayOrder: 7,
    description: "Low volatility over the market: USMV's daily return minus SPY's.",
  },
];
