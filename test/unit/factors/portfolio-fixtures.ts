// Shared builders for the portfolio, stress and what-if tests: factor specs from the seeded
// default set, and beta records as the estimators produce them.
import type { AggregationInput, BetaTable, HoldingInput } from "../../../worker/factors/portfolio.ts";
import { defaultFactorSpecs } from "../../../worker/factors/factor-specs.ts";
import type {
  EstimatedBeta,
  EstimatedQualityFlag,
  FactorSpec,
  MissingBeta,
  MissingBetaReason,
  SymbolFactorBeta,
} from "../../../worker/factors/types.ts";

export const DATE = "2025-06-30";

export const ALL_FACTORS: readonly FactorSpec[] = defaultFactorSpecs;

export function factor(key: string): FactorSpec {
  const spec = ALL_FACTORS.find((f) => f.key === key);
  if (spec === undefined) throw new Error(`no factor ${key}`);
  return spec;
}

function common(spec: FactorSpec) {
  return {
    factorId: spec.id,
    factorKey: spec.key,
    method: spec.method,
    calculationDate: DATE,
    windowDays: spec.windowDays,
    observations: 240,
    factorObservations: 250,
  };
}

export function estimated(key: string, beta: number, qualityFlag: EstimatedQualityFlag = "ok"): EstimatedBeta {
  const spec = factor(key);
  return {
    ...common(spec),
    status: "estimated",
    beta,
    rawBeta: beta,
    rSquared: 0.5,
    standardError: 0.05,
    qualityFlag,
    regularizationAlpha: spec.ridgeAlpha,
  };
}

export function missing(key: string, reason: MissingBetaReason, detail: string): MissingBeta {
  return { ...common(factor(key)), status: "missing", reason, detail };
}

/** symbol → factor key → a beta (a number is an `ok` estimate) or a MissingBeta. */
export function betaTable(entries: Record<string, Record<string, number | SymbolFactorBeta>>): BetaTable {
  return new Map(
    Object.entries(entries).map(([symbol, betas]) => [
      symbol,
      Object.fromEntries(
        Object.entries(betas).map(([key, value]) => [key, typeof value === "number" ? estimated(key, value) : value]),
      ),
    ]),
  );
}

// A long, a short, an ETF, a call with a given delta and premium, a short put with only an
// implied volatility, a private position, a stock without a close, a stock missing two
// betas, and three positions not held on D (closed on D, opened after D, expired before D).
const holdings: HoldingInput[] = [
  { id: "p-long", symbol: "AAPL", instrument: "stock", quantity: 100, openedOn: "2025-01-02", closedOn: null },
  { id: "p-short", symbol: "TSLA", instrument: "stock", quantity: -50, openedOn: "2025-03-03" },
  { id: "p-etf", symbol: "SPY", instrument: "etf", quantity: 20, openedOn: "2024-06-03" },
  {
    id: "p-call",
    symbol: "MSFT250919C00400000",
    instrument: "option",
    quantity: 2,
    openedOn: "2025-05-01",
    underlyingSymbol: "MSFT",
    optionType: "call",
    strike: 400,
    expiry: "2025-09-19",
    multiplier: 100,
    delta: 0.6,
    premium: 20,
  },
  {
    id: "p-put",
    symbol: "AAPL251219P00190000",
    instrument: "option",
    quantity: -3,
    openedOn: "2025-06-02",
    underlyingSymbol: "AAPL",
    optionType: "put",
    strike: 190,
    expiry: "2025-12-19",
    multiplier: null,
    impliedVol: 0.3,
  },
  { id: "p-private", symbol: "ACME-PRIVATE", instrument: "private", quantity: 1000, openedOn: "2023-01-01" },
  { id: "p-noprice", symbol: "XYZ", instrument: "stock", quantity: 10, openedOn: "2025-01-02" },
  { id: "p-newco", symbol: "NEWCO", instrument: "stock", quantity: 100, openedOn: "2025-04-01" },
  { id: "p-closed", symbol: "AAPL", instrument: "stock", quantity: 999, openedOn: "2025-01-02", closedOn: DATE },
  { id: "p-future", symbol: "TSLA", instrument: "stock", quantity: 999, openedOn: "2025-07-01" },
  {
    id: "p-expired",
    symbol: "SPY250627C00500000",
    instrument: "option",
    quantity: 5,
    openedOn: "2025-01-02",
    underlyingSymbol: "SPY",
    optionType: "call",
    strike: 500,
    expiry: "2025-06-27",
    delta: 0.5,
  },
];

const handFactors = [factor("market_beta"), factor("value"), factor("growth_value_spread")];

export const HAND_PORTFOLIO: AggregationInput = {
  date: DATE,
  holdings,
  cash: 10_000,
  closes: new Map([
    ["AAPL", 200],
    ["TSLA", 300],
    ["SPY", 500],
    ["MSFT", 400],
    ["NEWCO", 50],
    ["ACME-PRIVATE", 10],
  ]),
  betas: betaTable({
    AAPL: { market_beta: 1.2, value: -0.3, growth_value_spread: 0.5 },
    TSLA: { market_beta: 2.0, value: -0.8, growth_value_spread: 1.5 },
    SPY: { market_beta: 1.0, value: 0.4, growth_value_spread: 0.1 },
    MSFT: { market_beta: 1.1, value: -0.2, growth_value_spread: 0.6 },
    NEWCO: { market_beta: 1.3, value: missing("value", "insufficient_data", "40 observations, 60 required") },
  }),
  factors: handFactors,
};

// Black–Scholes put delta, S=200, K=190, T=172/365 (2025-06-30 → 2025-12-19), σ=30%, r=4%
// (the default): N(d1) − 1 from mpmath at 40 digits.
export const PUT_DELTA = -0.32867739443461029;
