// The dashboard's pure parts: the diverging colour scale, number and date formatting, CSV.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildCsv, heatmapCsv } from "../../../client/src/lib/csv.ts";
import {
  dateTicks,
  formatDateTick,
  formatDollars,
  formatExposure,
  formatMoney,
  formatNumber,
  formatPercent,
  missing,
} from "../../../client/src/lib/format.ts";
import {
  css,
  divergingScale,
  missingColor,
  negativeColor,
  positiveColor,
  textColorOn,
  zeroColor,
} from "../../../client/src/lib/scale.ts";
import { parseCsv } from "../../../worker/market-data/csv.ts";

const distance = (a: readonly number[], b: readonly number[]) =>
  Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!);

describe("divergingScale", () => {
  it("is white at 0, full red and green at the extent, grey for missing, symmetric around 0", () => {
    const scale = divergingScale([-0.5, 0.2, null, 1.5]);
    expect(scale.extent).toBe(1.5);
    expect(scale.color(0)).toEqual(zeroColor);
    expect(scale.color(1.5)).toEqual(positiveColor);
    expect(scale.color(-1.5)).toEqual(negativeColor);
    expect(scale.color(99)).toEqual(positiveColor); // clamped
    expect(scale.color(null)).toEqual(missingColor);
    expect(scale.color(Number.NaN)).toEqual(missingColor);
    expect(scale.ticks).toEqual([-1.5, -0.75, 0, 0.75, 1.5]);
    expect(css(scale.color(0))).toBe("rgb(247, 247, 247)");
  });

  it("gets more intense with |value| on either side, equally for ±v", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (a, b) => {
        const scale = divergingScale([], 1);
        const [small, large] = a <= b ? [a, b] : [b, a];
        expect(distance(scale.color(large), zeroColor)).toBeGreaterThanOrEqual(
          distance(scale.color(small), zeroColor) - 1e-9,
        );
        expect(Math.abs(distance(scale.color(a), zeroColor) - distance(scale.color(-a), zeroColor))).toBeLessThan(80);
        expect(scale.color(a)[1]).toBeGreaterThanOrEqual(scale.color(a)[0]); // positive leans green
        expect(scale.color(-a)[0]).toBeGreaterThanOrEqual(scale.color(-a)[1]); // negative leans red
      }),
    );
  });

  it("keeps 0 white when every value is 0 or missing, and honours a fixed extent", () => {
    expect(divergingScale([0, null, 0]).extent).toBe(1);
    expect(divergingScale([0]).color(0)).toEqual(zeroColor);
    expect(divergingScale([5], 2).color(1)).toEqual(divergingScale([], 2).color(1));
  });

  it("picks readable text on light and dark cells", () => {
    expect(textColorOn(zeroColor)).toEqual([0, 0, 0]);
    expect(textColorOn(negativeColor)).toEqual([255, 255, 255]);
  });
});

describe("formatting", () => {
  it("formats exposures, percentages and dollars with real minus signs, and missing as a dash", () => {
    expect(formatExposure(0.12345)).toBe("+0.123");
    expect(formatExposure(-0.0454)).toBe("\u22120.045");
    expect(formatExposure(-0.0004)).toBe("0.000");
    expect(formatExposure(null)).toBe(missing);
    expect(formatPercent(0.1234)).toBe("12.3%");
    expect(formatPercent(-0.5)).toBe("\u221250.0%");
    expect(formatPercent(undefined)).toBe(missing);
    expect(formatDollars(1_234_567)).toBe("$1.23M");
    expect(formatDollars(-45_600)).toBe("\u2212$45.6K");
    expect(formatDollars(950)).toBe("$950");
    expect(formatDollars(-0.4)).toBe("$0");
    expect(formatDollars(Number.POSITIVE_INFINITY)).toBe(missing);
  });

  it("labels date ticks, with the year where it changes, and spaces them evenly ending at the last date", () => {
    expect(formatDateTick("2026-06-30")).toBe("Jun 30 2026");
    expect(formatDateTick("2026-06-30", "2026-06-29")).toBe("Jun 30");
    expect(formatDateTick("2026-01-02", "2025-12-31")).toBe("Jan 2 2026");
    expect(dateTicks(["a", "b", "c", "d", "e", "f", "g"], 3)).toEqual([0, 3, 6]);
    expect(dateTicks(["a", "b"], 10)).toEqual([0, 1]);
    expect(dateTicks([], 5)).toEqual([]);
  });
});

describe("CSV", () => {
  it("writes numbers exactly, missing values empty, and quotes what needs it; the parser reads it back", () => {
    const text = buildCsv(
      ["name", "value"],
      [
        ["a, b", 0.1 + 0.2],
        ['say "hi"', null],
        ["x", Number.NaN],
      ],
    );
    expect(text).toBe('name,value\r\n"a, b",0.30000000000000004\r\n"say ""hi""",\r\nx,\r\n');
    expect(parseCsv(text).records.map((record) => record.fields)).toEqual([
      ["name", "value"],
      ["a, b", "0.30000000000000004"],
      ['say "hi"', ""],
      ["x", ""],
    ]);
  });

  it("lays the heatmap out long: one line per column and factor", () => {
    const text = heatmapCsv(["market_beta", "value"], ["2026-06-29", "2026-06-30"], (r, c) =>
      r === 1 && c === 0 ? null : r + c / 10,
    );
    expect(text.trim().split("\r\n")).toEqual([
      "date,factor_key,value",
      "2026-06-29,market_beta,0",
      "2026-06-29,value,",
      "2026-06-30,market_beta,0.1",
      "2026-06-30,value,1.1",
    ]);
  });
});

describe("formatMoney and formatNumber", () => {
  it("prints exact grouped dollars, cents only when there are any unless told, a real minus, + on request", () => {
    expect(formatMoney(250000)).toBe("$250,000");
    expect(formatMoney(-1234.5)).toBe("\u2212$1,234.50");
    expect(formatMoney(125000.504)).toBe("$125,000.50");
    expect(formatMoney(0.004)).toBe("$0");
    expect(formatMoney(12.3, { cents: "always" })).toBe("$12.30");
    expect(formatMoney(-200103.6, { cents: "never", sign: true })).toBe("\u2212$200,104");
    expect(formatMoney(8295.2, { cents: "never", sign: true })).toBe("+$8,295");
    expect(formatMoney(0.2, { cents: "never", sign: true })).toBe("$0");
    expect(formatMoney(null)).toBe("\u2014");
    expect(formatMoney(Number.NaN)).toBe("\u2014");
  });

  it("prints plain numbers grouped with up to the given decimals", () => {
    expect(formatNumber(1250)).toBe("1,250");
    expect(formatNumber(-0.45)).toBe("\u22120.45");
    expect(formatNumber(105.123456, 2)).toBe("105.12");
    expect(formatNumber(-0.00001)).toBe("0");
    expect(formatNumber(undefined)).toBe("\u2014");
  });
});
