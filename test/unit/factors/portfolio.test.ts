import { describe, expect, it } from "vitest";
import type { positions } from "../../../schema/portfolios.ts";
import type { HoldingInput } from "../../../worker/factors/portfolio.ts";
import {
  aggregatePortfolio,
  HoldingValidationError,
  isExpiredOn,
  isHeldOn,
  validateHoldings,
} from "../../../worker/factors/portfolio.ts";
import { betaTable, DATE, estimated, factor, HAND_PORTFOLIO as input, PUT_DELTA } from "./portfolio-fixtures.ts";

describe("aggregatePortfolio: a hand-computed portfolio", () => {
  const result = aggregatePortfolio(input);
  const byId = new Map(result.positions.map((p) => [p.positionId, p]));

  it("holds the positions effective on D only; an option past its expiry is held but expired", () => {
    expect(result.positions.map((p) => p.positionId)).toEqual([
      "p-long",
      "p-short",
      "p-etf",
      "p-call",
      "p-put",
      "p-private",
      "p-noprice",
      "p-newco",
      "p-expired",
    ]);
    expect(byId.get("p-expired")).toMatchObject({
      status: "expired",
      marketValue: null,
      delta: null,
      detail: "the option expired on 2025-06-27",
    });
  });

  it("values positions: stocks at quantity × close, options at notional, premium into equity", () => {
    expect(byId.get("p-long")).toMatchObject({
      status: "valued",
      price: 200,
      marketValue: 20_000,
      delta: 1,
      deltaSource: "unit",
    });
    expect(byId.get("p-short")).toMatchObject({ marketValue: -15_000, delta: 1 });
    expect(byId.get("p-etf")).toMatchObject({ marketValue: 10_000, delta: 1 });
    expect(byId.get("p-call")).toMatchObject({
      betaSymbol: "MSFT",
      price: 400,
      marketValue: 80_000,
      premiumValue: 4_000,
      delta: 0.6,
      deltaSource: "given",
    });
    const put = byId.get("p-put");
    expect(put).toMatchObject({
      betaSymbol: "AAPL",
      marketValue: -60_000,
      premiumValue: null,
      deltaSource: "black_scholes",
    });
    expect(Math.abs((put?.delta ?? 0) - PUT_DELTA)).toBeLessThanOrEqual(1e-12);
    expect(byId.get("p-private")).toMatchObject({ status: "private", marketValue: null, weight: null });
    expect(byId.get("p-noprice")).toMatchObject({ status: "no_price", marketValue: null, weight: null });
    expect(byId.get("p-newco")).toMatchObject({ marketValue: 5_000 });
  });

  it("computes equity, gross and net", () => {
    // equity = 10,000 cash + 20,000 − 15,000 + 10,000 + 5,000 (stocks, ETF) + 4,000 (call premium)
    expect(result.equity).toBe(34_000);
    // gross = 20,000 + 15,000 + 10,000 + 80,000 + 60,000 + 5,000
    expect(result.gross).toBe(190_000);
    // net = 20,000 − 15,000 + 10,000 + 80,000 − 60,000 + 5,000
    expect(result.net).toBe(40_000);
    expect(result.weightsAvailable).toBe(true);
  });

  it("weights each valued position by signed market value over equity", () => {
    const expected: Record<string, number> = {
      "p-long": 20_000 / 34_000,
      "p-short": -15_000 / 34_000,
      "p-etf": 10_000 / 34_000,
      "p-call": 80_000 / 34_000,
      "p-put": -60_000 / 34_000,
      "p-newco": 5_000 / 34_000,
    };
    for (const [id, weight] of Object.entries(expected)) expect(byId.get(id)?.weight).toBeCloseTo(weight, 15);
  });

  it("computes every factor's exposure, dollar exposure, coverage and counts", () => {
    // market: 20,000·1.2 − 15,000·2.0 + 10,000·1.0 + 80,000·0.6·1.1 − 60,000·δp·1.2 + 5,000·1.3
    //       = 63,300 − 72,000·δp
    // value: −6,000 + 12,000 + 4,000 − 9,600 + 18,000·δp (NEWCO has none) = 400 + 18,000·δp
    // growth−value spread: 10,000 − 22,500 + 1,000 + 28,800 − 30,000·δp = 17,300 − 30,000·δp
    const [market, value, spread] = result.exposures;
    expect(market).toMatchObject({
      factorId: 1,
      factorKey: "market_beta",
      coverage: 1,
      positionsUsed: 6,
      positionsTotal: 8,
    });
    expect(market?.exposureDollar).toBeCloseTo(86_964.772399291941, 8);
    expect(market?.exposure).toBeCloseTo(2.5577874235085865, 12);
    expect(value).toMatchObject({ factorKey: "value", positionsUsed: 5, positionsTotal: 8 });
    expect(value?.exposureDollar).toBeCloseTo(-5_516.1930998229852, 8);
    expect(value?.exposure).toBeCloseTo(-0.16224097352420545, 12);
    expect(value?.coverage).toBeCloseTo(185_000 / 190_000, 15);
    expect(spread).toMatchObject({ factorKey: "growth_value_spread", positionsUsed: 5, positionsTotal: 8 });
    expect(spread?.exposureDollar).toBeCloseTo(27_160.321833038309, 8);
    expect(spread?.exposure).toBeCloseTo(0.79883299508936202, 12);
    expect(spread?.coverage).toBeCloseTo(185_000 / 190_000, 15);
    for (const e of result.exposures)
      expect(e.exposureDollar).toBeCloseTo((e.exposure ?? Number.NaN) * result.equity, 8);
  });

  it("reports the data_quality contract", () => {
    expect(result.dataQuality).toEqual({
      total_symbols: 6, // AAPL (stock and put), TSLA, SPY, MSFT, XYZ, NEWCO
      symbols_with_ridge: 4,
      symbols_with_spread: 4,
      symbols_missing: [
        { symbol: "NEWCO", reason: "beta_not_found", factors: ["growth_value_spread"], position_ids: ["p-newco"] },
        {
          symbol: "NEWCO",
          reason: "insufficient_data",
          factors: ["value"],
          position_ids: ["p-newco"],
          detail: "40 observations, 60 required",
        },
        { symbol: "XYZ", reason: "no_price", position_ids: ["p-noprice"], detail: "no close for XYZ on the date" },
      ],
      positions_total: 9, // the expired option is held (nobody closed it) and excluded with its reason
      positions_private: 1,
      date: DATE,
      positions_valued: 6,
      positions_excluded: [
        {
          position_id: "p-expired",
          symbol: "SPY250627C00500000",
          reason: "expired",
          detail: "the option expired on 2025-06-27",
        },
        { position_id: "p-noprice", symbol: "XYZ", reason: "no_price", detail: "no close for XYZ on the date" },
      ],
      options_without_premium: 1,
      equity: 34_000,
      gross: 190_000,
      net: 40_000,
      weights_available: true,
    });
  });

  it("uses the given risk-free rate for Black–Scholes deltas", () => {
    const zeroRate = aggregatePortfolio({ ...input, riskFreeRate: 0 });
    const put = zeroRate.positions.find((p) => p.positionId === "p-put");
    expect(put?.delta).not.toBeCloseTo(PUT_DELTA, 6);
    expect(put?.delta).toBeLessThan(PUT_DELTA); // a lower rate makes the put more negative
  });
});

describe("aggregatePortfolio: edge cases", () => {
  const base = {
    date: DATE,
    cash: 0,
    closes: new Map([["AAPL", 200]]),
    betas: betaTable({ AAPL: { market_beta: 1.2 } }),
    factors: [factor("market_beta")],
  };

  it("returns null exposures (never 0 or NaN) when no position has a beta", () => {
    const result = aggregatePortfolio({
      ...base,
      betas: new Map(),
      holdings: [{ id: "a", symbol: "AAPL", instrument: "stock", quantity: 10 }],
    });
    expect(result.exposures[0]).toEqual({
      factorId: 1,
      factorKey: "market_beta",
      exposure: null,
      exposureDollar: null,
      coverage: 0,
      rSquared: null,
      positionsUsed: 0,
      positionsTotal: 1,
    });
    expect(result.dataQuality.symbols_missing).toEqual([{ symbol: "AAPL", reason: "no_betas", position_ids: ["a"] }]);
  });

  it("weights the holdings' R² by |market value × delta|, ignoring betas without one", () => {
    const withRSquared = (beta: number, rSquared: number | null) => ({ ...estimated("market_beta", beta), rSquared });
    const result = aggregatePortfolio({
      ...base,
      cash: 10_000,
      closes: new Map([
        ["AAPL", 100],
        ["MSFT", 200],
        ["TSLA", 50],
        ["FLAT", 10],
      ]),
      betas: betaTable({
        AAPL: { market_beta: withRSquared(1.2, 0.2) },
        MSFT: { market_beta: withRSquared(1.1, 0.8) },
        TSLA: { market_beta: withRSquared(2, 0.6) },
        FLAT: { market_beta: withRSquared(0.1, null) },
      }),
      holdings: [
        { id: "long", symbol: "AAPL", instrument: "stock", quantity: 300 }, // |mv·δ| = 30,000, R² 0.2
        { id: "short", symbol: "MSFT", instrument: "stock", quantity: -50 }, // 10,000, R² 0.8
        {
          id: "call",
          symbol: "TSLA260116C00050000",
          instrument: "option",
          quantity: 4,
          underlyingSymbol: "TSLA",
          optionType: "call",
          strike: 50,
          expiry: "2026-01-16",
          multiplier: 100,
          delta: 0.5,
        }, // 20,000 × 0.5 = 10,000, R² 0.6
        { id: "flat", symbol: "FLAT", instrument: "stock", quantity: 100 }, // R² undefined: left out of the mean
      ],
    });
    // (30,000·0.2 + 10,000·0.8 + 10,000·0.6) / 50,000
    expect(result.exposures[0]?.rSquared).toBeCloseTo(0.4, 15);
    expect(result.exposures[0]?.positionsUsed).toBe(4);
    const none = aggregatePortfolio({
      ...base,
      betas: betaTable({ AAPL: { market_beta: withRSquared(1.2, null) } }),
      holdings: [{ id: "a", symbol: "AAPL", instrument: "stock", quantity: 10 }],
    });
    expect(none.exposures[0]?.rSquared).toBeNull();
    expect(none.exposures[0]?.exposureDollar).toBeCloseTo(2_400, 12);
  });

  it("has null coverage for an empty portfolio", () => {
    const result = aggregatePortfolio({ ...base, cash: 1_000, holdings: [] });
    expect(result).toMatchObject({ equity: 1_000, gross: 0, net: 0, weightsAvailable: true });
    expect(result.exposures[0]).toMatchObject({
      exposure: null,
      exposureDollar: null,
      coverage: null,
      positionsUsed: 0,
    });
  });

  it("flags equity ≤ 0: exposures and weights null, dollar exposures kept", () => {
    const result = aggregatePortfolio({
      ...base,
      cash: -5_000,
      holdings: [{ id: "a", symbol: "AAPL", instrument: "stock", quantity: 10 }],
    });
    expect(result.equity).toBe(-3_000);
    expect(result.weightsAvailable).toBe(false);
    expect(result.dataQuality.weights_available).toBe(false);
    expect(result.positions[0]?.weight).toBeNull();
    expect(result.exposures[0]).toMatchObject({ exposure: null, exposureDollar: 2_400, coverage: 1, positionsUsed: 1 });
    const zero = aggregatePortfolio({
      ...base,
      cash: -2_000,
      holdings: [{ id: "a", symbol: "AAPL", instrument: "stock", quantity: 10 }],
    });
    expect(zero.equity).toBe(0);
    expect(zero.exposures[0]?.exposure).toBeNull();
  });

  it("counts options without delta or with a wrong-signed delta in gross but in no exposure", () => {
    const option = {
      instrument: "option" as const,
      underlyingSymbol: "AAPL",
      strike: 200,
      expiry: "2025-12-19",
      multiplier: 100,
    };
    const result = aggregatePortfolio({
      ...base,
      cash: 100_000,
      holdings: [
        { id: "stock", symbol: "AAPL", instrument: "stock", quantity: 100 },
        { ...option, id: "no-delta", symbol: "AAPL C", optionType: "call", quantity: 1, premium: 10 },
        { ...option, id: "bad-delta", symbol: "AAPL P", optionType: "put", quantity: 1, delta: 0.4 },
      ],
    });
    expect(result.gross).toBe(20_000 + 20_000 + 20_000);
    expect(result.equity).toBe(100_000 + 20_000 + 1_000);
    expect(result.exposures[0]).toMatchObject({
      exposureDollar: 24_000,
      coverage: 1 / 3,
      positionsUsed: 1,
      positionsTotal: 3,
    });
    expect(result.dataQuality.positions_excluded).toEqual([
      {
        position_id: "no-delta",
        symbol: "AAPL C",
        reason: "no_delta",
        detail: "option has neither a delta nor an implied volatility",
      },
      { position_id: "bad-delta", symbol: "AAPL P", reason: "invalid_delta", detail: "a put's delta cannot be 0.4" },
    ]);
    expect(result.dataQuality.options_without_premium).toBe(1);
  });

  it("treats a non-positive or non-finite close as no price", () => {
    for (const close of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      const result = aggregatePortfolio({
        ...base,
        closes: new Map([["AAPL", close]]),
        holdings: [{ id: "a", symbol: "AAPL", instrument: "stock", quantity: 1 }],
      });
      expect(result.positions[0]?.status).toBe("no_price");
      expect(result.gross).toBe(0);
      expect(result.dataQuality.symbols_missing[0]).toMatchObject({ symbol: "AAPL", reason: "no_price" });
    }
  });

  it("gives an option expiring on D its moneyness delta", () => {
    const result = aggregatePortfolio({
      ...base,
      cash: 10_000,
      holdings: [
        {
          id: "itm",
          symbol: "C1",
          instrument: "option",
          quantity: 1,
          underlyingSymbol: "AAPL",
          optionType: "call",
          strike: 150,
          expiry: DATE,
          impliedVol: 0.3,
        },
        {
          id: "otm",
          symbol: "P1",
          instrument: "option",
          quantity: 1,
          underlyingSymbol: "AAPL",
          optionType: "put",
          strike: 150,
          expiry: DATE,
          impliedVol: 0.3,
        },
      ],
    });
    // AAPL at 200: the 150 call is in the money (1), the 150 put out of it (0).
    expect(result.positions.map((p) => p.delta)).toEqual([1, 0]);
  });

  it("rejects holdings the positions table could not contain, listing every issue", () => {
    const bad: HoldingInput[] = [
      { id: "a", symbol: "AAPL", instrument: "stock", quantity: Number.NaN },
      { id: "a", symbol: "", instrument: "stock", quantity: 1, delta: 0.5 },
      {
        id: "o",
        symbol: "O",
        instrument: "option",
        quantity: 1,
        underlyingSymbol: "AAPL",
        optionType: "call",
        strike: 0,
        expiry: "2025-13-01",
        impliedVol: 0,
      },
      { id: "d", symbol: "AAPL", instrument: "stock", quantity: 1, openedOn: "2025-06-01", closedOn: "2025-06-01" },
    ];
    expect(validateHoldings(bad).map((i) => `${i.positionId}.${i.field}`)).toEqual([
      "a.quantity",
      "a.id",
      "a.symbol",
      "a.delta",
      "o.strike",
      "o.expiry",
      "o.impliedVol",
      "d.closedOn",
    ]);
    expect(() => aggregatePortfolio({ ...base, holdings: bad })).toThrow(HoldingValidationError);
    expect(() => aggregatePortfolio({ ...base, holdings: [], date: "30/06/2025" })).toThrow(RangeError);
    expect(() => aggregatePortfolio({ ...base, holdings: [], cash: Number.NaN })).toThrow(RangeError);
  });
});

describe("HoldingInput", () => {
  it("accepts a positions row as selected from the table", () => {
    const row: typeof positions.$inferSelect = {
      id: "r1",
      portfolioId: "pf",
      symbol: "AAPL250919C00200000",
      instrument: "option",
      quantity: 1,
      costBasis: 5,
      openedOn: "2025-01-02",
      closedOn: null,
      underlyingSymbol: "AAPL",
      optionType: "call",
      strike: 200,
      expiry: "2025-09-19",
      multiplier: 100,
      delta: 0.55,
      impliedVol: null,
      premium: 12,
      createdAt: "2025-01-02T00:00:00Z",
      updatedAt: "2025-01-02T00:00:00Z",
    };
    const result = aggregatePortfolio({
      date: DATE,
      holdings: [row],
      cash: 0,
      closes: new Map([["AAPL", 200]]),
      betas: betaTable({ AAPL: { market_beta: 1.2 } }),
      factors: [factor("market_beta")],
    });
    expect(result.equity).toBe(1_200);
    expect(result.exposures[0]?.exposureDollar).toBeCloseTo(20_000 * 0.55 * 1.2, 9);
  });
});

describe("isHeldOn (effective dating)", () => {
  const stock = (openedOn: string | null, closedOn: string | null): HoldingInput => ({
    id: "x",
    symbol: "X",
    instrument: "stock",
    quantity: 1,
    openedOn,
    closedOn,
  });

  it("holds from opened_on inclusive to closed_on exclusive", () => {
    expect(isHeldOn(stock("2025-06-30", null), "2025-06-30")).toBe(true);
    expect(isHeldOn(stock("2025-07-01", null), "2025-06-30")).toBe(false);
    expect(isHeldOn(stock("2025-01-01", "2025-07-01"), "2025-06-30")).toBe(true);
    expect(isHeldOn(stock("2025-01-01", "2025-06-30"), "2025-06-30")).toBe(false);
    expect(isHeldOn(stock(null, null), "1990-01-01")).toBe(true);
  });

  it("keeps an option past its expiry held (nobody closed it) but expired before D; on or after D it is live", () => {
    const option = (expiry: string): HoldingInput => ({
      id: "o",
      symbol: "O",
      instrument: "option",
      quantity: 1,
      openedOn: "2025-01-01",
      underlyingSymbol: "X",
      optionType: "call",
      strike: 10,
      expiry,
      delta: 0.5,
    });
    expect(isHeldOn(option("2025-06-29"), "2025-06-30")).toBe(true);
    expect(isExpiredOn(option("2025-06-29"), "2025-06-30")).toBe(true);
    expect(isExpiredOn(option("2025-06-30"), "2025-06-30")).toBe(false);
    expect(isExpiredOn(option("2025-07-18"), "2025-06-30")).toBe(false);
    expect(isExpiredOn({ instrument: "stock", expiry: null }, "2025-06-30")).toBe(false);
  });
});
