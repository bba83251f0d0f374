import { describe, expect, it } from "vitest";
import { factorDrillDown } from "../../../worker/factors/portfolio-drill-down.ts";
import { betaTable, DATE, factor, HAND_PORTFOLIO, PUT_DELTA } from "./portfolio-fixtures.ts";

const EQUITY = 34_000;

describe("factorDrillDown on the hand-computed portfolio", () => {
  it("lists weight, delta, beta and contribution per position, by |contribution|", () => {
    const drill = factorDrillDown(HAND_PORTFOLIO, "market_beta");
    expect(drill).toMatchObject({
      date: DATE,
      factorId: 1,
      factorKey: "market_beta",
      equity: EQUITY,
      gross: 190_000,
      weightsAvailable: true,
    });
    const putDollar = -60_000 * PUT_DELTA * 1.2; // 23,664.77…
    const expected = [
      {
        id: "p-call",
        symbol: "MSFT250919C00400000",
        betaSymbol: "MSFT",
        instrument: "option",
        mv: 80_000,
        delta: 0.6,
        beta: 1.1,
        dollar: 52_800,
      },
      {
        id: "p-short",
        symbol: "TSLA",
        betaSymbol: "TSLA",
        instrument: "stock",
        mv: -15_000,
        delta: 1,
        beta: 2,
        dollar: -30_000,
      },
      {
        id: "p-long",
        symbol: "AAPL",
        betaSymbol: "AAPL",
        instrument: "stock",
        mv: 20_000,
        delta: 1,
        beta: 1.2,
        dollar: 24_000,
      },
      {
        id: "p-put",
        symbol: "AAPL251219P00190000",
        betaSymbol: "AAPL",
        instrument: "option",
        mv: -60_000,
        delta: PUT_DELTA,
        beta: 1.2,
        dollar: putDollar,
      },
      {
        id: "p-etf",
        symbol: "SPY",
        betaSymbol: "SPY",
        instrument: "etf",
        mv: 10_000,
        delta: 1,
        beta: 1,
        dollar: 10_000,
      },
      {
        id: "p-newco",
        symbol: "NEWCO",
        betaSymbol: "NEWCO",
        instrument: "stock",
        mv: 5_000,
        delta: 1,
        beta: 1.3,
        dollar: 6_500,
      },
    ];
    expect(drill.rows.map((r) => r.positionIds)).toEqual(expected.map((e) => [e.id]));
    drill.rows.forEach((row, i) => {
      const e = expected[i]!;
      expect(row).toMatchObject({
        symbol: e.symbol,
        betaSymbol: e.betaSymbol,
        instrument: e.instrument,
        marketValue: e.mv,
        beta: e.beta,
        qualityFlag: "ok",
      });
      expect(row.delta).toBeCloseTo(e.delta, 12);
      expect(row.weight).toBeCloseTo(e.mv / EQUITY, 15);
      expect(row.contributionDollar).toBeCloseTo(e.dollar, 8);
      expect(row.contribution).toBeCloseTo(e.dollar / EQUITY, 12);
    });
    expect(drill.missing).toEqual([
      {
        symbol: "ACME-PRIVATE",
        betaSymbol: "ACME-PRIVATE",
        instrument: "private",
        positionIds: ["p-private"],
        reason: "private",
        detail: "private position: no public returns",
        marketValue: null,
        weight: null,
      },
      {
        symbol: "SPY250627C00500000",
        betaSymbol: "SPY",
        instrument: "option",
        positionIds: ["p-expired"],
        reason: "expired",
        detail: "the option expired on 2025-06-27",
        marketValue: null,
        weight: null,
      },
      {
        symbol: "XYZ",
        betaSymbol: "XYZ",
        instrument: "stock",
        positionIds: ["p-noprice"],
        reason: "no_price",
        detail: "no close for XYZ on the date",
        marketValue: null,
        weight: null,
      },
    ]);
    expect(drill.totals.weight).toBeCloseTo(40_000 / EQUITY, 15);
    expect(drill.totals.contributionDollar).toBeCloseTo(86_964.772399291941, 8);
    expect(drill.totals.contribution).toBeCloseTo(2.5577874235085865, 12);
    expect(drill.totals.contribution).toBeCloseTo(drill.exposure.exposure ?? Number.NaN, 14);
  });

  it("lists the positions without a beta for the factor with the estimator's reason", () => {
    const value = factorDrillDown(HAND_PORTFOLIO, "value");
    expect(value.rows).toHaveLength(5);
    expect(value.missing.find((m) => m.symbol === "NEWCO")).toEqual({
      symbol: "NEWCO",
      betaSymbol: "NEWCO",
      instrument: "stock",
      positionIds: ["p-newco"],
      reason: "insufficient_data",
      detail: "40 observations, 60 required",
      marketValue: 5_000,
      weight: 5_000 / EQUITY,
    });
    const spread = factorDrillDown(HAND_PORTFOLIO, "growth_value_spread");
    expect(spread.missing.find((m) => m.symbol === "NEWCO")?.reason).toBe("beta_not_found");
  });

  it("rejects a factor key outside the list", () => {
    expect(() => factorDrillDown(HAND_PORTFOLIO, "size")).toThrow(/unknown factor key: size/);
  });
});

describe("factorDrillDown grouping", () => {
  const base = {
    date: DATE,
    closes: new Map([["AAPL", 100]]),
    betas: betaTable({ AAPL: { market_beta: 1.5 } }),
    factors: [factor("market_beta")],
  };

  it("merges lots of one symbol into one row and keeps options at other deltas apart", () => {
    const drill = factorDrillDown(
      {
        ...base,
        cash: 0,
        holdings: [
          { id: "lot-1", symbol: "AAPL", instrument: "stock", quantity: 10 },
          { id: "lot-2", symbol: "AAPL", instrument: "stock", quantity: 30 },
          {
            id: "c-1",
            symbol: "AAPL C",
            instrument: "option",
            quantity: 1,
            underlyingSymbol: "AAPL",
            optionType: "call",
            strike: 100,
            expiry: "2025-12-19",
            delta: 0.5,
          },
          {
            id: "c-2",
            symbol: "AAPL C",
            instrument: "option",
            quantity: 1,
            underlyingSymbol: "AAPL",
            optionType: "call",
            strike: 100,
            expiry: "2025-12-19",
            delta: 0.4,
          },
        ],
      },
      "market_beta",
    );
    // Equity is the 4,000 of stock (no premiums); the 6,000 tie is broken by symbol.
    expect(drill.rows.map((r) => [r.positionIds, r.marketValue, r.delta, r.contributionDollar])).toEqual([
      [["c-1"], 10_000, 0.5, 7_500],
      [["lot-1", "lot-2"], 4_000, 1, 6_000],
      [["c-2"], 10_000, 0.4, 6_000],
    ]);
    expect(drill.rows.map((r) => r.weight)).toEqual([2.5, 1, 2.5]);
  });

  it("keeps dollar contributions and nulls weights when equity ≤ 0", () => {
    const drill = factorDrillDown(
      { ...base, cash: -1_000, holdings: [{ id: "a", symbol: "AAPL", instrument: "stock", quantity: 10 }] },
      "market_beta",
    );
    expect(drill.weightsAvailable).toBe(false);
    expect(drill.rows[0]).toMatchObject({ weight: null, contribution: null, contributionDollar: 1_500 });
    expect(drill.totals).toEqual({ weight: null, contribution: null, contributionDollar: 1_500 });
    expect(drill.exposure).toMatchObject({ exposure: null, exposureDollar: 1_500 });
  });
});
