import { describe, expect, it } from "vitest";
import { generateSyntheticMarket, weekdayCalendar } from "../../worker/market-data/synthetic.ts";
import { calculationDateFor, isWeekend } from "../../worker/batch/calendar.ts";
import { lastWeekday } from "../../scripts/seed-demo.ts";

const options = { seed: 7, equities: 24, startDate: "2025-01-01", endDate: "2025-12-31" };

describe("synthetic market", () => {
  it("is deterministic for a seed and different for another", () => {
    const a = generateSyntheticMarket(options);
    const b = generateSyntheticMarket(options);
    const c = generateSyntheticMarket({ ...options, seed: 8 });
    expect(b).toEqual(a);
    expect(c.prices[100]?.close).not.toBe(a.prices[100]?.close);
  });

  it("produces only positive finite closes on weekdays of the calendar", () => {
    const market = generateSyntheticMarket(options);
    const calendar = new Set(market.calendar);
    for (const price of market.prices) {
      expect(Number.isFinite(price.close) && price.close > 0).toBe(true);
      expect(calendar.has(price.date)).toBe(true);
    }
  });

  it("has every factor ETF with a full history and the gaps real data has", () => {
    const market = generateSyntheticMarket(options);
    const days = market.calendar.length;
    const closes = (symbol: string) => market.prices.filter((p) => p.symbol === symbol);
    for (const etf of ["SPY", "TLT", "VTV", "VUG", "MTUM", "QUAL", "IWM", "USMV"])
      expect(closes(etf)).toHaveLength(days);
    const equities = market.instruments.filter((i) => i.assetType === "equity").map((i) => i.symbol);
    const lateListing = closes(equities[3]!);
    expect(lateListing[0]?.date).toBe(market.calendar[Math.floor(days / 2)]);
    const delisted = closes(equities[5]!);
    expect(delisted.at(-1)?.date).toBe(market.calendar[days - 41]);
    expect(closes(equities[7]!)).toHaveLength(days - 5);
  });

  it("labels every instrument as synthetic, equities with a SYN ticker too", () => {
    const market = generateSyntheticMarket(options);
    for (const instrument of market.instruments) {
      expect(instrument.companyName.endsWith("(synthetic)")).toBe(true);
      if (instrument.assetType === "equity") expect(instrument.symbol.startsWith("SYN")).toBe(true);
    }
    expect(market.prices.every((price) => price.source === "synthetic")).toBe(true);
  });

  it("style ETFs move mostly with the market", () => {
    const market = generateSyntheticMarket({ ...options, equities: 0 });
    const returns = (symbol: string) => {
      const closes = market.prices.filter((p) => p.symbol === symbol).map((p) => p.close);
      return closes.slice(1).map((close, i) => close / closes[i]! - 1);
    };
    const correlation = (x: number[], y: number[]) => {
      const mean = (v: number[]) => v.reduce((s, a) => s + a, 0) / v.length;
      const mx = mean(x),
        my = mean(y);
      let sxy = 0,
        sxx = 0,
        syy = 0;
      for (let i = 0; i < x.length; i++) {
        sxy += (x[i]! - mx) * (y[i]! - my);
        sxx += (x[i]! - mx) ** 2;
        syy += (y[i]! - my) ** 2;
      }
      return sxy / Math.sqrt(sxx * syy);
    };
    for (const etf of ["VTV", "VUG", "QUAL", "USMV"])
      expect(correlation(returns("SPY"), returns(etf))).toBeGreaterThan(0.8);
    expect(correlation(returns("SPY"), returns("TLT"))).toBeLessThan(0);
  });
});

describe("calendar helpers", () => {
  it("lists weekdays only", () => {
    expect(weekdayCalendar("2025-01-03", "2025-01-07")).toEqual(["2025-01-03", "2025-01-06", "2025-01-07"]);
  });

  it("dates a 21:30 UTC cron firing on that UTC day and knows weekends", () => {
    expect(calculationDateFor(Date.UTC(2025, 0, 15, 21, 30))).toBe("2025-01-15");
    expect(isWeekend("2025-01-18")).toBe(true);
    expect(isWeekend("2025-01-20")).toBe(false);
  });

  it("ends the demo history on the latest weekday", () => {
    expect(lastWeekday(new Date("2026-11-21T12:00:00Z"))).toBe("2026-11-20");
    expect(lastWeekday(new Date("2026-11-19T23:59:00Z"))).toBe("2026-11-19");
  });
});
