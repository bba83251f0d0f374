// Returns, calendar, windows and input hygiene (docs/factor-engine.md, "Returns and windows").
import { describe, expect, it } from "vitest";
import { buildFactorEngineInput } from "../../../worker/factors/engine.ts";
import { FactorEngineError } from "../../../worker/factors/errors.ts";
import {
  buildReturnPanelFromPrices,
  buildReturnPanelFromReturns,
  dayNumber,
  windowEnd,
  windowStart,
} from "../../../worker/factors/returns.ts";
import type { PriceRow, ReturnPanel } from "../../../worker/factors/returns.ts";
import { computeSymbolBetasDirect, computeUniverseBetas } from "../../../worker/factors/universe.ts";
import { defaultFactorSpecs, generateUniverse, scaledFactorSpecs } from "./synthetic-universe.ts";

const dates = ["2025-01-06", "2025-01-07", "2025-01-08", "2025-01-09", "2025-01-10"];

function spyRows(closes: readonly number[] = [100, 101, 102, 103, 104]): PriceRow[] {
  return closes.map((close, t) => ({ symbol: "SPY", date: dates[t]!, close }));
}

/** The symbol's returns as an array, null where missing. */
function returnsOf(panel: ReturnPanel, symbol: string): (number | null)[] {
  const s = panel.symbolIndex.get(symbol)!;
  const days = panel.calendar.length;
  return Array.from(panel.returns.subarray(s * days, (s + 1) * days), (r) => (Number.isNaN(r) ? null : r));
}

describe("returns", () => {
  it("are simple close-to-close returns on the market calendar", () => {
    const { panel, rejectedPrices } = buildReturnPanelFromPrices([
      ...spyRows(),
      { symbol: "AAA", date: dates[0]!, close: 50 },
      { symbol: "AAA", date: dates[1]!, close: 55 },
      { symbol: "AAA", date: dates[2]!, close: 49.5 },
    ]);
    expect(panel.calendar).toEqual(dates);
    expect(panel.symbols).toEqual(["AAA", "SPY"]);
    expect(returnsOf(panel, "AAA")).toEqual([null, 55 / 50 - 1, 49.5 / 55 - 1, null, null]);
    expect(returnsOf(panel, "SPY")).toEqual([null, 101 / 100 - 1, 102 / 101 - 1, 103 / 102 - 1, 104 / 103 - 1]);
    expect(rejectedPrices).toEqual([]);
  });

  it("use the adjusted close when both days have one, else the close on both days (never a mix)", () => {
    const { panel } = buildReturnPanelFromPrices([
      ...spyRows(),
      { symbol: "DIV", date: dates[0]!, close: 100, adjClose: 98 },
      { symbol: "DIV", date: dates[1]!, close: 101, adjClose: 99.5 },
      { symbol: "DIV", date: dates[2]!, close: 102, adjClose: null },
      { symbol: "DIV", date: dates[3]!, close: 103, adjClose: 101 },
      { symbol: "DIV", date: dates[4]!, close: 104, adjClose: 102 },
    ]);
    expect(returnsOf(panel, "DIV")).toEqual([null, 99.5 / 98 - 1, 102 / 101 - 1, 103 / 102 - 1, 102 / 101 - 1]);
  });

  it("never span a gap: a missing day removes the returns on both sides of it", () => {
    const { panel } = buildReturnPanelFromPrices([
      ...spyRows(),
      { symbol: "GAP", date: dates[0]!, close: 10 },
      { symbol: "GAP", date: dates[1]!, close: 11 },
      { symbol: "GAP", date: dates[3]!, close: 12 },
      { symbol: "GAP", date: dates[4]!, close: 12.6 },
    ]);
    expect(returnsOf(panel, "GAP")).toEqual([null, 11 / 10 - 1, null, null, 12.6 / 12 - 1]);
  });

  it("reject NaN, infinite, zero and negative closes with their date and reason, treating the day as missing", () => {
    const { panel, rejectedPrices } = buildReturnPanelFromPrices([
      ...spyRows(),
      { symbol: "BAD", date: dates[0]!, close: 10 },
      { symbol: "BAD", date: dates[1]!, close: Number.NaN },
      { symbol: "BAD", date: dates[2]!, close: 10.5 },
      { symbol: "BAD", date: dates[3]!, close: 0 },
      { symbol: "BAD", date: dates[4]!, close: 11 },
      { symbol: "WORSE", date: dates[0]!, close: Number.POSITIVE_INFINITY },
      { symbol: "WORSE", date: dates[1]!, close: -3 },
      { symbol: "WORSE", date: dates[2]!, close: 4, adjClose: Number.NaN },
      { symbol: "WORSE", date: dates[3]!, close: 5, adjClose: -1 },
      { symbol: "WORSE", date: dates[4]!, close: 6, adjClose: 6 },
    ]);
    expect(returnsOf(panel, "BAD")).toEqual([null, null, null, null, null]);
    // Invalid adjusted closes are dropped; the closes are used.
    expect(returnsOf(panel, "WORSE")).toEqual([null, null, null, 5 / 4 - 1, 6 / 5 - 1]);
    expect(rejectedPrices).toEqual([
      { symbol: "BAD", date: dates[1], reason: "close_not_finite", detail: "close is NaN" },
      { symbol: "BAD", date: dates[3], reason: "close_not_positive", detail: "close is 0" },
      { symbol: "WORSE", date: dates[0], reason: "close_not_finite", detail: "close is Infinity" },
      { symbol: "WORSE", date: dates[1], reason: "close_not_positive", detail: "close is -3" },
      { symbol: "WORSE", date: dates[2], reason: "adj_close_not_finite", detail: "adjusted close is NaN" },
      { symbol: "WORSE", date: dates[3], reason: "adj_close_not_positive", detail: "adjusted close is -1" },
    ]);
  });

  it("reject a return that overflows", () => {
    const { panel, rejectedPrices } = buildReturnPanelFromPrices([
      ...spyRows(),
      { symbol: "HUGE", date: dates[0]!, close: 1e-300 },
      { symbol: "HUGE", date: dates[1]!, close: 1e300 },
    ]);
    expect(returnsOf(panel, "HUGE")[1]).toBeNull();
    expect(rejectedPrices).toMatchObject([{ symbol: "HUGE", date: dates[1], reason: "return_not_finite" }]);
  });

  it("accept duplicate rows with the same values and sort unsorted input", () => {
    const rows: PriceRow[] = [
      ...spyRows(),
      { symbol: "AAA", date: dates[2]!, close: 12, adjClose: 11 },
      { symbol: "AAA", date: dates[0]!, close: 10 },
      { symbol: "AAA", date: dates[1]!, close: 11 },
      { symbol: "AAA", date: dates[2]!, close: 12, adjClose: 11 },
    ];
    const sorted = buildReturnPanelFromPrices(
      [...rows].sort((a, b) => (a.symbol + a.date).localeCompare(b.symbol + b.date)),
    );
    const shuffled = buildReturnPanelFromPrices([...rows].reverse());
    expect(returnsOf(shuffled.panel, "AAA")).toEqual(returnsOf(sorted.panel, "AAA"));
    expect(returnsOf(shuffled.panel, "AAA")).toEqual([null, 11 / 10 - 1, 12 / 11 - 1, null, null]);
  });

  it("throw a typed error naming symbol and date for one date with two different prices", () => {
    const rows: PriceRow[] = [
      ...spyRows(),
      { symbol: "DUP", date: dates[1]!, close: 10 },
      { symbol: "DUP", date: dates[1]!, close: 10.01 },
    ];
    const attempt = () => buildReturnPanelFromPrices(rows);
    expect(attempt).toThrow(FactorEngineError);
    expect(attempt).toThrow(/DUP.*2025-01-07/);
    try {
      attempt();
    } catch (error) {
      expect(error).toMatchObject({ code: "duplicate_price", symbol: "DUP", date: "2025-01-07" });
    }
    // Same close, different adjusted close: also a conflict.
    expect(() =>
      buildReturnPanelFromPrices([
        ...spyRows(),
        { symbol: "DUP", date: dates[1]!, close: 10, adjClose: 9 },
        { symbol: "DUP", date: dates[1]!, close: 10 },
      ]),
    ).toThrow(FactorEngineError);
  });

  it("take the calendar from the market symbol, keeping a day whose market close was rejected", () => {
    const { panel, rejectedPrices } = buildReturnPanelFromPrices([
      ...spyRows([100, 101, Number.NaN, 103, 104]),
      ...[0, 1, 2, 3, 4].map((t) => ({ symbol: "AAA", date: dates[t]!, close: 20 + t })),
      { symbol: "AAA", date: "2025-01-11", close: 30 },
    ]);
    expect(panel.calendar).toEqual(dates);
    expect(returnsOf(panel, "SPY")).toEqual([null, 101 / 100 - 1, null, null, 104 / 103 - 1]);
    expect(returnsOf(panel, "AAA")).toEqual([null, 21 / 20 - 1, 22 / 21 - 1, 23 / 22 - 1, 24 / 23 - 1]);
    expect(rejectedPrices).toContainEqual({
      symbol: "AAA",
      date: "2025-01-11",
      reason: "off_calendar",
      detail: "no SPY close on 2025-01-11",
    });
    expect(
      buildReturnPanelFromPrices([{ symbol: "QQQ", date: dates[0]!, close: 1 }], { marketSymbol: "QQQ" }).panel
        .calendar,
    ).toEqual([dates[0]]);
    expect(buildReturnPanelFromPrices([], { calendar: dates }).panel.calendar).toEqual(dates);
  });

  it("reject malformed dates and calendars with a typed error", () => {
    expect(() => buildReturnPanelFromPrices([...spyRows(), { symbol: "AAA", date: "2025-1-7", close: 1 }])).toThrow(
      /AAA/,
    );
    expect(() => buildReturnPanelFromPrices([{ symbol: "SPY", date: "2025-02-30", close: 1 }])).toThrow(
      FactorEngineError,
    );
    expect(() => buildReturnPanelFromReturns(["2025-01-07", "2025-01-06"], {})).toThrow(/ascending/);
    expect(() => buildReturnPanelFromReturns(dates, { AAA: [0.1] })).toThrow(/AAA/);
    expect(() => buildReturnPanelFromReturns(dates, { AAA: [null, 0.1, Number.NaN, 0, 0] })).toThrow(
      /AAA on 2025-01-08/,
    );
  });
});

describe("windows", () => {
  it("hold the returns dated in (D − W, D]", () => {
    const calendar = ["2025-01-01", "2025-01-02", "2025-01-03", "2025-01-06", "2025-01-07"];
    const days = Int32Array.from(calendar, (date) => dayNumber(date));
    const end = dayNumber("2025-01-07");
    // W = 5: (2025-01-02, 2025-01-07] → 01-03, 01-06, 01-07.
    expect([windowStart(days, end, 5), windowEnd(days, end)]).toEqual([2, 5]);
    expect(windowStart(days, end, 6)).toBe(1);
    expect(windowStart(days, end, 1)).toBe(4);
    expect(windowEnd(days, dayNumber("2025-01-05"))).toBe(3);
    expect(windowEnd(days, dayNumber("2024-12-31"))).toBe(0);
  });
});

describe("bad input end to end", () => {
  it("turns bad and sparse price series into flagged betas, never NaN", () => {
    const universe = generateUniverse({ seed: 8, equities: 2, days: 90 });
    const rows: PriceRow[] = [];
    for (const [symbol, returns] of Object.entries(universe.returns)) {
      let close = 100;
      universe.calendar.forEach((date, t) => {
        close *= 1 + (returns[t] ?? 0);
        rows.push({ symbol, date, close, adjClose: close });
      });
    }
    rows.push({ symbol: "ONE", date: universe.calendar[50]!, close: 12 });
    for (const [t, date] of universe.calendar.entries())
      rows.push({ symbol: "JUNK", date, close: [Number.NaN, Number.POSITIVE_INFINITY, -1, 0][t % 4]! });
    for (const [t, date] of universe.calendar.entries())
      rows.push({ symbol: "HOLES", date, close: t % 3 === 0 ? Number.NaN : 50 + Math.sin(t) });
    const { input, rejectedPrices } = buildFactorEngineInput(rows.reverse(), scaledFactorSpecs(120, 60, 40));
    expect(rejectedPrices.filter((r) => r.symbol === "JUNK")).toHaveLength(90);
    const calculationDate = universe.calendar[89]!;
    const table = computeUniverseBetas(input, calculationDate);
    for (const symbol of ["ONE", "JUNK", "HOLES"]) {
      const betas = table.symbolBetasFor(symbol)!.betas;
      expect(computeSymbolBetasDirect(input, symbol, calculationDate).betas).toEqual(betas);
      for (const beta of Object.values(betas)) {
        // HOLES has a close on 2 of 3 days, so a return on only 1 day in 3: below the minimum.
        expect(beta).toMatchObject({ status: "missing", reason: "insufficient_data" });
      }
    }
    for (const beta of Object.values(table.symbolBetasFor(universe.equities[0]!)!.betas)) {
      expect(beta.status).toBe("estimated");
      if (beta.status === "estimated")
        expect(Number.isFinite(beta.rawBeta) && Number.isFinite(beta.rSquared!)).toBe(true);
    }
    expect(table.symbols).toContain("ONE");
    expect(() => buildFactorEngineInput(rows, defaultFactorSpecs)).not.toThrow();
  });
});
