import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { aggregatePortfolio } from "../../../worker/factors/portfolio.ts";
import { compareAggregations, whatIfAggregation, withHoldingIds } from "../../../worker/factors/what-if.ts";
import type { HypotheticalHolding } from "../../../worker/factors/what-if.ts";
import { close, twoPortfolios } from "./portfolio-arbitraries.ts";
import { DATE, HAND_PORTFOLIO } from "./portfolio-fixtures.ts";

describe("whatIfAggregation", () => {
  it("aggregates a hypothetical list exactly as a stored portfolio, ids and dates optional", () => {
    const holdings: HypotheticalHolding[] = [
      { symbol: "AAPL", instrument: "stock", quantity: 100 },
      { symbol: "SPY", instrument: "etf", quantity: -10, id: "hedge" },
    ];
    const result = whatIfAggregation({ ...HAND_PORTFOLIO, holdings, cash: 5_000 });
    expect(result.positions.map((p) => p.positionId)).toEqual(["what-if-1", "hedge"]);
    // equity 5,000 + 20,000 − 5,000; market: 20,000·1.2 − 5,000·1.0
    expect(result.equity).toBe(20_000);
    expect(result.exposures[0]).toMatchObject({
      factorKey: "market_beta",
      exposureDollar: 19_000,
      exposure: 0.95,
      coverage: 1,
      positionsUsed: 2,
    });
    expect(result).toEqual(aggregatePortfolio({ ...HAND_PORTFOLIO, cash: 5_000, holdings: withHoldingIds(holdings) }));
  });

  it("never gives a generated id that the list already uses", () => {
    const ids = withHoldingIds([
      { symbol: "A", instrument: "stock", quantity: 1, id: "what-if-2" },
      { symbol: "B", instrument: "stock", quantity: 1 },
      { symbol: "C", instrument: "stock", quantity: 1, id: null },
    ]).map((h) => h.id);
    expect(ids).toEqual(["what-if-2", "what-if-2-2", "what-if-3"]);
  });
});

describe("compareAggregations", () => {
  it("gives what-if − original per factor and for equity, gross and net", () => {
    const original = aggregatePortfolio(HAND_PORTFOLIO);
    // Buy 20 more SPY (10,000) with cash: equity unchanged, +10,000 of SPY's betas.
    const whatIf = whatIfAggregation({
      ...HAND_PORTFOLIO,
      cash: HAND_PORTFOLIO.cash - 10_000,
      holdings: [...HAND_PORTFOLIO.holdings, { symbol: "SPY", instrument: "etf", quantity: 20, openedOn: DATE }],
    });
    const comparison = compareAggregations(original, whatIf);
    expect(comparison.equity).toEqual({ original: 34_000, whatIf: 34_000, change: 0 });
    expect(comparison.gross).toEqual({ original: 190_000, whatIf: 200_000, change: 10_000 });
    expect(comparison.net).toEqual({ original: 40_000, whatIf: 50_000, change: 10_000 });
    const [market, value, spread] = comparison.factors;
    expect(market?.factorKey).toBe("market_beta");
    expect(market?.exposureDollar.change).toBeCloseTo(10_000, 8);
    expect(market?.exposure.change).toBeCloseTo(10_000 / 34_000, 12);
    expect(value?.exposureDollar.change).toBeCloseTo(4_000, 8);
    expect(spread?.exposureDollar.change).toBeCloseTo(1_000, 8);
    expect(value?.coverage.change).toBeCloseTo(195_000 / 200_000 - 185_000 / 190_000, 15);
  });

  it("has a null change where either side is null, and compares factors of either side", () => {
    const original = aggregatePortfolio({ ...HAND_PORTFOLIO, holdings: [] });
    const whatIf = aggregatePortfolio({ ...HAND_PORTFOLIO, factors: HAND_PORTFOLIO.factors.slice(0, 1) });
    const comparison = compareAggregations(whatIf, original);
    expect(comparison.factors.map((f) => f.factorKey)).toEqual(["market_beta", "value", "growth_value_spread"]);
    expect(comparison.factors[0]?.exposure).toEqual({
      original: whatIf.exposures[0]?.exposure,
      whatIf: null,
      change: null,
    });
    expect(comparison.factors[1]?.exposureDollar).toEqual({ original: null, whatIf: null, change: null });
  });

  it("the change from adding holdings is those holdings' own dollar exposure", () => {
    fc.assert(
      fc.property(twoPortfolios, ({ a, b }) => {
        const comparison = compareAggregations(
          aggregatePortfolio(a),
          whatIfAggregation({ ...a, cash: a.cash + b.cash, holdings: [...a.holdings, ...b.holdings] }),
        );
        const original = aggregatePortfolio(a);
        const added = aggregatePortfolio(b);
        const scale = 5 * (original.gross + added.gross);
        const premiums = [...original.positions, ...added.positions].reduce(
          (s, p) => s + Math.abs(p.premiumValue ?? 0),
          0,
        );
        comparison.factors.forEach((f, i) => {
          const own = added.exposures[i]!.exposureDollar;
          if (f.exposureDollar.change !== null && own !== null)
            expect(close(f.exposureDollar.change, own, 1e-12, scale)).toBe(true);
        });
        expect(
          close(
            comparison.equity.change ?? Number.NaN,
            added.equity,
            1e-12,
            scale + premiums + Math.abs(a.cash) + Math.abs(b.cash),
          ),
        ).toBe(true);
      }),
    );
  });
});
