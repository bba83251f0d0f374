import { describe, expect, it } from "vitest";
import { demoMarketOptions, lastWeekday } from "../../../../worker/market-data/demo-market.ts";
import {
  createSyntheticProvider,
  syntheticProviderFromContext,
} from "../../../../worker/market-data/providers/synthetic.ts";
import { generateSyntheticMarket, syntheticTicker } from "../../../../worker/market-data/synthetic.ts";

const options = { seed: 11, equities: 12, startDate: "2025-01-01", endDate: "2025-06-30" };

describe("synthetic provider", () => {
  it("serves exactly the synthetic market's closes and volumes in the range, adjusted close = close", async () => {
    const market = generateSyntheticMarket(options);
    const symbols = ["SPY", "TLT", syntheticTicker(0), syntheticTicker(9), syntheticTicker(7)];
    const from = "2025-02-03";
    const to = "2025-05-30";
    const result = await createSyntheticProvider({ market: options }).fetchDailyCloses({ symbols, from, to });

    const expected = symbols.flatMap((symbol) =>
      market.prices
        .filter((p) => p.symbol === symbol && p.date >= from && p.date <= to)
        .map((p) => ({
          symbol,
          date: p.date,
          close: p.close,
          adjClose: p.close,
          volume: p.volume,
          source: "synthetic",
        })),
    );
    expect(expected.length).toBeGreaterThan(300);
    expect(result.failures).toEqual([]);
    expect(result.prices.map(({ line: _line, ...row }) => row)).toEqual(expected);
    // The halt (equity 7) and the scattered gaps (equity 9) stay gaps: no row, no zero.
    expect(result.prices.filter((p) => p.symbol === syntheticTicker(7)).length).toBeLessThan(
      result.prices.filter((p) => p.symbol === "SPY").length,
    );
  });

  it("fails an unknown symbol and a range without closes as no_data, saying why", async () => {
    const provider = createSyntheticProvider({ market: options });
    const result = await provider.fetchDailyCloses({
      symbols: ["AAPL", "SPY", syntheticTicker(3)],
      from: "2025-01-06",
      to: "2025-01-10",
    });
    // Equity 3 lists at mid-calendar, so it has no close in early January.
    expect(result.prices.every((p) => p.symbol === "SPY")).toBe(true);
    expect(result.prices).toHaveLength(5);
    expect(result.failures.map((f) => [f.symbol, f.reason])).toEqual([
      ["AAPL", "no_data"],
      [syntheticTicker(3), "no_data"],
    ]);
    expect(result.failures[0]?.detail).toMatch(/not in the synthetic market/);

    const outside = await provider.fetchDailyCloses({ symbols: ["SPY"], from: "2025-07-01", to: "2025-07-31" });
    expect(outside.prices).toEqual([]);
    expect(outside.failures).toMatchObject([{ symbol: "SPY", reason: "no_data" }]);
    expect(outside.failures[0]?.detail).toContain("2025-01-01 to 2025-06-30");
  });

  it("from configuration serves the demo market the demo seed writes (same seed, universe and window)", async () => {
    const now = new Date("2026-03-15T12:00:00Z"); // a Sunday: the window ends on Friday the 13th
    const endDate = lastWeekday(now);
    expect(endDate).toBe("2026-03-13");
    const seeded = generateSyntheticMarket(demoMarketOptions(endDate));
    expect(seeded.instruments).toHaveLength(9 + 500);

    const provider = syntheticProviderFromContext({ now: () => now });
    const symbols = ["SPY", "QQQ", syntheticTicker(499)];
    const result = await provider.fetchDailyCloses({ symbols, from: "2026-03-02", to: endDate });
    const expected = seeded.prices.filter((p) => symbols.includes(p.symbol) && p.date >= "2026-03-02");
    expect(result.failures).toEqual([]);
    expect(result.prices.map((p) => [p.symbol, p.date, p.close, p.volume])).toEqual(
      expected.map((p) => [p.symbol, p.date, p.close, p.volume]),
    );

    // SYNTHETIC_MARKET_END_DATE pins the window to the day the demo was seeded.
    const pinned = syntheticProviderFromContext({ env: { SYNTHETIC_MARKET_END_DATE: "2026-03-06" }, now: () => now });
    const later = await pinned.fetchDailyCloses({ symbols: ["SPY"], from: "2026-03-09", to: "2026-03-13" });
    expect(later.failures).toMatchObject([{ symbol: "SPY", reason: "no_data" }]);
    expect(() => syntheticProviderFromContext({ env: { SYNTHETIC_MARKET_END_DATE: "2026-02-30" } })).toThrow(
      /SYNTHETIC_MARKET_END_DATE/,
    );
  });
});
