// The engine's safety net against bad ticks (`PriceRowOptions.maxDailyMove`, docs/factor-engine.md
// "Returns and windows"): a one-day gross return beyond the bound is left out of the panel and
// reported `suspect_move`; the closes stay. A spike that comes back therefore removes exactly two
// returns, and the betas are those of the series without them.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buildFactorEngineInput,
  computeSymbolBetasDirect,
  computeUniverseBetas,
} from "../../../worker/factors/engine.ts";
import type { PriceRow, ReturnPanel } from "../../../worker/factors/engine.ts";
import { buildReturnPanelFromPrices } from "../../../worker/factors/returns.ts";
import { factorEtfs, generateUniverse, scaledFactorSpecs } from "./synthetic-universe.ts";

const dates = ["2025-03-03", "2025-03-04", "2025-03-05", "2025-03-06", "2025-03-07", "2025-03-10"];
const spy: PriceRow[] = dates.map((date, t) => ({ symbol: "SPY", date, close: 500 + t }));

function series(symbol: string, closes: readonly number[], adjusted?: readonly (number | null)[]): PriceRow[] {
  return closes.map((close, t) => ({
    symbol,
    date: dates[t]!,
    close,
    ...(adjusted ? { adjClose: adjusted[t] ?? null } : {}),
  }));
}

function returnsOf(panel: ReturnPanel, symbol: string): (number | null)[] {
  const s = panel.symbolIndex.get(symbol)!;
  const days = panel.calendar.length;
  return Array.from(panel.returns.subarray(s * days, (s + 1) * days), (r) => (Number.isNaN(r) ? null : r));
}

describe("maxDailyMove in the engine", () => {
  it(
    "leaves out both returns of a 1000× spike, keeps the closes and reports each with both dates, " +
      "prices and the ratio",
    () => {
      const { panel, rejectedPrices } = buildReturnPanelFromPrices(
        [...spy, ...series("AAPL", [150, 151, 151_000, 152, 153, 154])],
        { maxDailyMove: 5 },
      );
      expect(returnsOf(panel, "AAPL")).toEqual([null, 151 / 150 - 1, null, null, 153 / 152 - 1, 154 / 153 - 1]);
      expect(rejectedPrices).toEqual([
        {
          symbol: "AAPL",
          date: "2025-03-05",
          reason: "suspect_move",
          detail: "close moves ×1000 from 151 on 2025-03-04 to 151000 on 2025-03-05; the bound is a factor of 5",
        },
        {
          symbol: "AAPL",
          date: "2025-03-06",
          reason: "suspect_move",
          detail: "close moves ×0.001007 from 151000 on 2025-03-05 to 152 on 2025-03-06; the bound is a factor of 5",
        },
      ]);
    },
  );

  it("accepts a ratio exactly at the bound either way and refuses one just beyond it", () => {
    const { panel, rejectedPrices } = buildReturnPanelFromPrices(
      [
        ...spy,
        ...series("EDGE", [10, 50, 10, 50, 10, 50]),
        ...series("UP", [10, 50.0001, 50, 50, 50, 50]),
        ...series("DOWN", [10, 1.99999, 2, 2, 2, 2]),
      ],
      { maxDailyMove: 5 },
    );
    expect(returnsOf(panel, "EDGE")).toEqual([null, 4, -0.8, 4, -0.8, 4]);
    expect(returnsOf(panel, "UP")).toEqual([null, null, 50 / 50.0001 - 1, 0, 0, 0]);
    expect(returnsOf(panel, "DOWN")).toEqual([null, null, 2 / 1.99999 - 1, 0, 0, 0]);
    expect(rejectedPrices.map((r) => [r.symbol, r.date, r.reason])).toEqual([
      ["DOWN", "2025-03-04", "suspect_move"],
      ["UP", "2025-03-04", "suspect_move"],
    ]);
    // Four digits would print ×5 and ×0.2, the bound itself: the detail shows every digit.
    expect(rejectedPrices.map((r) => r.detail)).toEqual([
      `close moves ×${1.99999 / 10} from 10 on 2025-03-03 to 1.99999 on 2025-03-04; the bound is a factor of 5`,
      `close moves ×${50.0001 / 10} from 10 on 2025-03-03 to 50.0001 on 2025-03-04; the bound is a factor of 5`,
    ]);
  });

  it("checks the prices the return uses: adjusted closes when both days have one, else closes", () => {
    const { panel, rejectedPrices } = buildReturnPanelFromPrices(
      [
        ...spy,
        // A 10:1 split: the close falls ×0.1, the adjusted close is smooth.
        ...series("SPLIT", [1000, 1010, 102, 103, 104, 105], [100, 101, 102, 103, 104, 105]),
        // A bad adjusted close with sane closes.
        ...series("BADADJ", [20, 20.2, 20.4, 20.6, 20.8, 21], [20, 20.2, 2040, 20.6, null, 21]),
      ],
      { maxDailyMove: 5 },
    );
    expect(returnsOf(panel, "SPLIT")).toEqual([
      null,
      101 / 100 - 1,
      102 / 101 - 1,
      103 / 102 - 1,
      104 / 103 - 1,
      105 / 104 - 1,
    ]);
    expect(returnsOf(panel, "BADADJ")).toEqual([null, 20.2 / 20 - 1, null, null, 20.8 / 20.6 - 1, 21 / 20.8 - 1]);
    expect(rejectedPrices).toEqual([
      {
        symbol: "BADADJ",
        date: "2025-03-05",
        reason: "suspect_move",
        detail: "adjusted close moves ×101 from 20.2 on 2025-03-04 to 2040 on 2025-03-05; the bound is a factor of 5",
      },
      {
        symbol: "BADADJ",
        date: "2025-03-06",
        reason: "suspect_move",
        detail:
          "adjusted close moves ×0.0101 from 2040 on 2025-03-05 to 20.6 on 2025-03-06; the bound is a factor of 5",
      },
    ]);
  });

  it("checks nothing without the option, and refuses a bound that is not > 1", () => {
    const rows = [...spy, ...series("AAPL", [150, 151, 151_000, 152, 153, 154])];
    const unchecked = buildReturnPanelFromPrices(rows);
    expect(returnsOf(unchecked.panel, "AAPL")[2]).toBe(151_000 / 151 - 1);
    expect(unchecked.rejectedPrices).toEqual([]);
    expect(buildReturnPanelFromPrices(rows, { maxDailyMove: Number.POSITIVE_INFINITY })).toEqual(unchecked);
    expect(buildReturnPanelFromPrices(rows, { maxDailyMove: 2000 }).rejectedPrices).toEqual([]);
    for (const bad of [1, 0.5, 0, -5, Number.NaN]) {
      expect(() => buildReturnPanelFromPrices(rows, { maxDailyMove: bad })).toThrow(RangeError);
    }
  });

  it("keeps a bad market close's day in the calendar and only drops its returns", () => {
    const rows = [...series("SPY", [500, 501, 500_000, 502, 503, 504]), ...series("AAA", [10, 11, 12, 13, 14, 15])];
    const { panel, rejectedPrices } = buildReturnPanelFromPrices(rows, { maxDailyMove: 5 });
    expect(panel.calendar).toEqual(dates);
    expect(returnsOf(panel, "SPY")).toEqual([null, 501 / 500 - 1, null, null, 503 / 502 - 1, 504 / 503 - 1]);
    expect(returnsOf(panel, "AAA")).toEqual([null, 11 / 10 - 1, 12 / 11 - 1, 13 / 12 - 1, 14 / 13 - 1, 15 / 14 - 1]);
    expect(rejectedPrices.map((r) => [r.symbol, r.date])).toEqual([
      ["SPY", "2025-03-05"],
      ["SPY", "2025-03-06"],
    ]);
  });
});

describe("a spiked series gives the betas of the series without the spike's two returns", () => {
  const days = 130;
  const factors = scaledFactorSpecs(150, 90, 40);

  /** Prices compounding the universe's returns; every symbol has a close on every day. */
  function pricesOf(seed: number): { rows: PriceRow[]; calendar: string[]; symbols: string[] } {
    const universe = generateUniverse({ seed, equities: 6, days });
    const rows: PriceRow[] = [];
    for (const [symbol, returns] of Object.entries(universe.returns)) {
      let close = 40 + (seed % 17) * 7;
      universe.calendar.forEach((date, t) => {
        close *= 1 + (returns[t] ?? 0);
        rows.push({ symbol, date, close, adjClose: close });
      });
    }
    return { rows, calendar: universe.calendar, symbols: [...factorEtfs, ...universe.equities] };
  }

  /** `rows` with the (symbol, date) close replaced: multiplied by `factor`, or NaN (no close). */
  function withClose(rows: readonly PriceRow[], symbol: string, date: string, factor: number): PriceRow[] {
    return rows.map((row) =>
      row.symbol === symbol && row.date === date
        ? {
            ...row,
            close: Number.isNaN(factor) ? Number.NaN : row.close * factor,
            adjClose: Number.isNaN(factor) ? null : row.adjClose! * factor,
          }
        : row,
    );
  }

  it("by hand: a 1000× tick caps every beta of the symbol without the bound, and changes nothing with it", () => {
    const { rows, calendar } = pricesOf(11);
    const symbol = "EQ0002";
    const spikeDate = calendar[100]!;
    const calculationDate = calendar[days - 1]!;
    const spiked = withClose(rows, symbol, spikeDate, 1000);

    const clean = buildFactorEngineInput(withClose(rows, symbol, spikeDate, Number.NaN), factors);
    const guarded = buildFactorEngineInput(spiked, factors, { maxDailyMove: 5 });
    const unguarded = buildFactorEngineInput(spiked, factors);

    expect(guarded.rejectedPrices.map((r) => [r.symbol, r.date, r.reason])).toEqual([
      [symbol, spikeDate, "suspect_move"],
      [symbol, calendar[101]!, "suspect_move"],
    ]);
    const expected = computeSymbolBetasDirect(clean.input, symbol, calculationDate);
    expect(computeSymbolBetasDirect(guarded.input, symbol, calculationDate)).toEqual(expected);
    expect(computeUniverseBetas(guarded.input, calculationDate).symbolBetasFor(symbol)).toEqual(expected);
    for (const beta of Object.values(expected.betas))
      expect(beta).toMatchObject({ status: "estimated", qualityFlag: "ok" });

    // What the bound prevents: the two ±1000× returns swamp the regressions.
    const wrecked = Object.values(computeSymbolBetasDirect(unguarded.input, symbol, calculationDate).betas);
    expect(
      wrecked.filter((beta) => beta.status === "estimated" && beta.qualityFlag === "capped").length,
    ).toBeGreaterThanOrEqual(10);
  });

  it("for any symbol (ETFs included), day, size and direction of the spike", () => {
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.integer({ min: 1, max: 10_000 }),
          symbol: fc.nat({ max: factorEtfs.length + 5 }),
          day: fc.integer({ min: 1, max: days - 2 }),
          // At least 6: with the day's own return (a few %) both legs still cross the bound of 5.
          size: fc.double({ min: 6, max: 1e6, noNaN: true }),
          down: fc.boolean(),
        }),
        ({ seed, symbol: symbolIndex, day, size, down }) => {
          const { rows, calendar, symbols } = pricesOf(seed);
          const symbol = symbols[symbolIndex]!;
          const spikeDate = calendar[day]!;
          const calculationDate = calendar[days - 1]!;
          const guarded = buildFactorEngineInput(withClose(rows, symbol, spikeDate, down ? 1 / size : size), factors, {
            maxDailyMove: 5,
          });
          const clean = buildFactorEngineInput(withClose(rows, symbol, spikeDate, Number.NaN), factors);
          expect(guarded.rejectedPrices.map((r) => [r.symbol, r.date, r.reason])).toEqual([
            [symbol, spikeDate, "suspect_move"],
            [symbol, calendar[day + 1]!, "suspect_move"],
          ]);
          expect(guarded.input.panel.returns).toEqual(clean.input.panel.returns);
          expect(computeUniverseBetas(guarded.input, calculationDate).toArray()).toEqual(
            computeUniverseBetas(clean.input, calculationDate).toArray(),
          );
          expect(computeSymbolBetasDirect(guarded.input, symbol, calculationDate)).toEqual(
            computeSymbolBetasDirect(clean.input, symbol, calculationDate),
          );
        },
      ),
      { numRuns: 25 },
    );
  });
});
