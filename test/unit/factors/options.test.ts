import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { blackScholesD1, blackScholesDelta, normalCdf, yearFraction } from "../../../worker/factors/options.ts";

// Φ(x) to 17 significant digits from mpmath (50-digit arithmetic): mpmath.ncdf(x).
const NORMAL_CDF_REFERENCE: readonly (readonly [number, number])[] = [
  [-37.5, 4.6053530095819548e-308],
  [-30, 4.9067139271481871e-198],
  [-20, 2.7536241186062337e-89],
  [-10, 7.6198530241605261e-24],
  [-8, 6.2209605742717841e-16],
  [-6, 9.8658764503769814e-10],
  [-5.657, 7.7020881721776008e-9],
  [-5, 2.8665157187919391e-7],
  [-3, 0.0013498980316300945],
  [-2, 0.022750131948179207],
  [-1.96, 0.024997895148220436],
  [-1, 0.15865525393145705],
  [-0.67448975, 0.25000000006231018],
  [-0.5, 0.3085375387259869],
  [-0.1, 0.46017216272297102],
  [-1e-10, 0.49999999996010577],
  [0, 0.5],
  [1e-10, 0.50000000003989423],
  [0.1, 0.53982783727702898],
  [0.35, 0.63683065117561906],
  [0.5, 0.6914624612740131],
  [0.67448975, 0.74999999993768982],
  [0.7, 0.75803634777692697],
  [1, 0.84134474606854295],
  [1.5, 0.93319279873114193],
  [1.96, 0.97500210485177956],
  [2, 0.97724986805182079],
  [3, 0.99865010196836991],
  [5, 0.99999971334842812],
  [5.66, 0.99999999243135025],
  [6, 0.99999999901341235],
  [8, 0.99999999999999938],
  [10, 1.0],
];

describe("normalCdf (Cody)", () => {
  it("matches 50-digit references to 1e-15 absolute, and to 1e-13 relative in the lower tail", () => {
    for (const [x, expected] of NORMAL_CDF_REFERENCE) {
      const actual = normalCdf(x);
      expect(Math.abs(actual - expected), `Φ(${x})`).toBeLessThanOrEqual(1e-15);
      if (x < 0) expect(Math.abs(actual / expected - 1), `Φ(${x}) relative`).toBeLessThanOrEqual(1e-13);
    }
  });

  it("has the right limits and is exactly ½ at 0", () => {
    expect(normalCdf(0)).toBe(0.5);
    expect(normalCdf(Number.POSITIVE_INFINITY)).toBe(1);
    expect(normalCdf(Number.NEGATIVE_INFINITY)).toBe(0);
    expect(normalCdf(-40)).toBe(0);
    expect(normalCdf(40)).toBe(1);
  });

  it("is monotone and symmetric (Φ(x) + Φ(−x) = 1) for any finite x", () => {
    fc.assert(
      fc.property(
        fc.double({ min: -50, max: 50, noNaN: true }),
        fc.double({ min: 0, max: 5, noNaN: true }),
        (x, step) => {
          const a = normalCdf(x);
          expect(a).toBeGreaterThanOrEqual(0);
          expect(a).toBeLessThanOrEqual(1);
          expect(normalCdf(x + step)).toBeGreaterThanOrEqual(a);
          expect(Math.abs(a + normalCdf(-x) - 1)).toBeLessThanOrEqual(2.3e-16);
        },
      ),
    );
  });
});

describe("blackScholesDelta", () => {
  // d1 and N(d1) from mpmath at 50 digits for the same binary inputs.
  const cases = [
    {
      spot: 100,
      strike: 100,
      years: 1,
      volatility: 0.2,
      riskFreeRate: 0.05,
      d1: 0.35000000000000001,
      call: 0.636830651175619,
    },
    {
      spot: 42,
      strike: 40,
      years: 0.5,
      volatility: 0.2,
      riskFreeRate: 0.1,
      d1: 0.76926262810603137,
      call: 0.77913129094266894,
    },
    {
      spot: 50,
      strike: 60,
      years: 30 / 365,
      volatility: 0.45,
      riskFreeRate: 0.04,
      d1: -1.3232358527351362,
      call: 0.09287847825944145,
    },
    {
      spot: 200,
      strike: 150,
      years: 2,
      volatility: 0.35,
      riskFreeRate: 0.03,
      d1: 0.94991123377999686,
      call: 0.82892132087854506,
    },
    {
      spot: 100,
      strike: 100,
      years: 1 / 365,
      volatility: 0.2,
      riskFreeRate: 0.04,
      d1: 0.015702717677706411,
      call: 0.5062642205640644,
    },
    {
      spot: 10,
      strike: 1000,
      years: 0.25,
      volatility: 0.5,
      riskFreeRate: 0.04,
      d1: -18.255680743952365,
      call: 9.3236019998550335e-75,
    },
  ];

  it("matches textbook and reference values to 1e-12 (call N(d1), put N(d1) − 1)", () => {
    for (const c of cases) {
      expect(Math.abs(blackScholesD1(c) - c.d1)).toBeLessThanOrEqual(1e-12);
      expect(Math.abs(blackScholesDelta({ ...c, optionType: "call" }) - c.call)).toBeLessThanOrEqual(1e-12);
      expect(Math.abs(blackScholesDelta({ ...c, optionType: "put" }) - (c.call - 1))).toBeLessThanOrEqual(1e-12);
    }
    // Hull's textbook example (S=42, K=40, r=10%, σ=20%, T=0.5): call delta 0.7791.
    expect(blackScholesDelta({ ...cases[1]!, optionType: "call" })).toBeCloseTo(0.7791, 4);
  });

  it("on the expiry date is 1/0 (call) and 0/−1 (put) by moneyness, ½ and −½ at the money", () => {
    const at = (spot: number, optionType: "call" | "put") =>
      blackScholesDelta({ optionType, spot, strike: 100, years: 0, volatility: 0.3, riskFreeRate: 0.04 });
    expect(at(101, "call")).toBe(1);
    expect(at(99, "call")).toBe(0);
    expect(at(100, "call")).toBe(0.5);
    expect(at(101, "put")).toBe(0);
    expect(at(99, "put")).toBe(-1);
    expect(at(100, "put")).toBe(-0.5);
  });

  it("with zero volatility is the step at the discounted strike", () => {
    const zeroVol = (spot: number) =>
      blackScholesDelta({ optionType: "call", spot, strike: 100, years: 1, volatility: 0, riskFreeRate: 0.05 });
    const discountedStrike = 100 * Math.exp(-0.05);
    expect(zeroVol(discountedStrike + 0.01)).toBe(1);
    expect(zeroVol(discountedStrike - 0.01)).toBe(0);
    expect(
      blackScholesDelta({ optionType: "put", spot: 100, strike: 100, years: 0, volatility: 0, riskFreeRate: 0 }),
    ).toBe(-0.5);
  });

  it("rejects invalid inputs instead of returning NaN", () => {
    const valid = {
      optionType: "call" as const,
      spot: 100,
      strike: 100,
      years: 1,
      volatility: 0.2,
      riskFreeRate: 0.04,
    };
    expect(() => blackScholesDelta({ ...valid, spot: 0 })).toThrow(RangeError);
    expect(() => blackScholesDelta({ ...valid, strike: -1 })).toThrow(RangeError);
    expect(() => blackScholesDelta({ ...valid, years: -0.01 })).toThrow(RangeError);
    expect(() => blackScholesDelta({ ...valid, volatility: Number.NaN })).toThrow(RangeError);
    expect(() => blackScholesDelta({ ...valid, riskFreeRate: Number.POSITIVE_INFINITY })).toThrow(RangeError);
  });

  const finiteInputs = fc.record({
    spot: fc.double({ min: 1e-6, max: 1e9, noNaN: true }),
    strike: fc.double({ min: 1e-6, max: 1e9, noNaN: true }),
    years: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 50, noNaN: true })),
    volatility: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1e6, noNaN: true })),
    riskFreeRate: fc.double({ min: -0.5, max: 1, noNaN: true }),
  });

  it("satisfies put-call parity of delta (call − put = 1) and stays in range, never NaN", () => {
    fc.assert(
      fc.property(finiteInputs, (inputs) => {
        const call = blackScholesDelta({ ...inputs, optionType: "call" });
        const put = blackScholesDelta({ ...inputs, optionType: "put" });
        expect(Number.isFinite(call) && Number.isFinite(put)).toBe(true);
        expect(call).toBeGreaterThanOrEqual(0);
        expect(call).toBeLessThanOrEqual(1);
        expect(put).toBeGreaterThanOrEqual(-1);
        expect(put).toBeLessThanOrEqual(0);
        expect(Math.abs(call - put - 1)).toBeLessThanOrEqual(1e-15);
      }),
    );
  });

  it("call delta rises with the spot", () => {
    fc.assert(
      fc.property(finiteInputs, fc.double({ min: 1, max: 2, noNaN: true }), (inputs, factor) => {
        const low = blackScholesDelta({ ...inputs, optionType: "call" });
        const high = blackScholesDelta({ ...inputs, spot: inputs.spot * factor, optionType: "call" });
        expect(high).toBeGreaterThanOrEqual(low);
      }),
    );
  });
});

describe("yearFraction (ACT/365)", () => {
  it("counts actual days over 365, across leap days", () => {
    expect(yearFraction("2025-06-30", "2025-12-19")).toBe(172 / 365);
    expect(yearFraction("2024-01-01", "2025-01-01")).toBe(366 / 365);
    expect(yearFraction("2025-03-01", "2025-03-01")).toBe(0);
    expect(yearFraction("2025-03-02", "2025-03-01")).toBe(-1 / 365);
  });

  it("rejects what is not a calendar date", () => {
    expect(() => yearFraction("2025-02-30", "2025-03-01")).toThrow(RangeError);
    expect(() => yearFraction("2025/03/01", "2025-03-01")).toThrow(RangeError);
  });
});
