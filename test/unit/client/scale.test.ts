// The heatmap's colour scales (client/src/lib/scale.ts): one fixed extent per factor shared with
// the Universe, per-row extents over the loaded numbers, the legend's words for both modes, and
// text on every colour the scale can produce at WCAG AA contrast (4.5:1).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  contrastRatio,
  darkText,
  divergingScale,
  factorExtent,
  factorScale,
  formatExtent,
  legendWords,
  lightText,
  minimumContrast,
  missingColor,
  negativeColor,
  parseScaleMode,
  positiveColor,
  type Rgb,
  rowScales,
  textColorOn,
  zeroColor,
} from "../../../client/src/lib/scale.ts";

describe("factorScale: one fixed extent per factor", () => {
  it("is 2 for market beta and 1 for the other factors, by key or by Universe column", () => {
    expect(factorExtent("market_beta")).toBe(2);
    expect(factorExtent("factor_market_beta")).toBe(2);
    expect(factorExtent("value")).toBe(1);
    expect(factorExtent("factor_size_spread")).toBe(1);
    expect(factorExtent("interest_rate_beta")).toBe(1);
    expect(factorScale("market_beta").extent).toBe(2);
    expect(factorScale("momentum").extent).toBe(1);
  });

  it("gives a value the same colour whatever else is loaded (the Universe's colour)", () => {
    expect(factorScale("value").color(0.38)).toEqual(divergingScale([], 1).color(0.38));
    expect(factorScale("market_beta").color(2)).toEqual(positiveColor);
    expect(factorScale("market_beta").color(1)).not.toEqual(positiveColor);
    expect(factorScale("growth").color(-1)).toEqual(negativeColor);
  });
});

describe("rowScales", () => {
  const keys = ["market_beta", "value", "size"];
  const values = [
    [0.78, 0.8, null],
    [0.1, -0.2, 0.05],
    [null, null, null],
  ];

  it("in fixed mode uses each factor's fixed scale, whatever the numbers", () => {
    const scales = rowScales("fixed", keys, values);
    expect(scales.mode).toBe("fixed");
    expect(scales.rows.map((scale) => scale.extent)).toEqual([2, 1, 1]);
  });

  it("in per-row mode scales each row to its own largest |value| (1 for a row without numbers)", () => {
    const scales = rowScales("row", keys, values);
    expect(scales.rows.map((scale) => scale.extent)).toEqual([0.8, 0.2, 1]);
    // A style row's largest value is full colour, where the fixed scale leaves it pale.
    expect(scales.rows[1]!.color(-0.2)).toEqual(negativeColor);
    expect(rowScales("fixed", keys, values).rows[1]!.color(-0.2)).not.toEqual(negativeColor);
  });

  it("per-row extents are the row's largest |value| for any numbers", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.option(fc.double({ min: -5, max: 5, noNaN: true }), { nil: null }), { maxLength: 8 }), {
          maxLength: 6,
        }),
        (rows) => {
          const scales = rowScales(
            "row",
            rows.map((_, i) => `f${i}`),
            rows,
          );
          rows.forEach((row, i) => {
            const largest = Math.max(0, ...row.map((value) => Math.abs(value ?? 0)));
            expect(scales.rows[i]!.extent).toBe(largest > 0 ? largest : 1);
            for (const value of row) if (value !== null) expect(scales.rows[i]!.color(value)).not.toEqual(missingColor);
          });
        },
      ),
    );
  });

  it("reads the mode from the URL: only `row` is per row", () => {
    expect(parseScaleMode("row")).toBe("row");
    expect(parseScaleMode(undefined)).toBe("fixed");
    expect(parseScaleMode("fixed")).toBe("fixed");
    expect(parseScaleMode("nonsense")).toBe("fixed");
  });
});

describe("legendWords", () => {
  const labels = ["Market Beta", "Value", "Size"];

  it("in fixed mode prints the common extent and names the rows that differ", () => {
    const words = legendWords(rowScales("fixed", ["market_beta", "value", "size"], []), labels);
    expect(words.low).toBe("−1");
    expect(words.high).toBe("+1");
    expect(words.note).toBe("Market Beta ±2");
    expect(words.mode).toMatch(/^Fixed/);
    expect(legendWords(rowScales("fixed", ["value", "size"], []), labels).note).toBeNull();
  });

  it("in per-row mode points at the extents beside the row names", () => {
    const words = legendWords(rowScales("row", ["market_beta", "value"], [[0.5], [0.2]]), labels);
    expect(words.low).toBe("−row max");
    expect(words.note).toContain("beside its name");
    expect(words.mode).toMatch(/^Per row/);
  });

  it("formats extents to two significant digits", () => {
    expect(formatExtent(2)).toBe("±2");
    expect(formatExtent(0.3812)).toBe("±0.38");
    expect(formatExtent(0.05234)).toBe("±0.052");
  });
});

describe("text colour by WCAG contrast", () => {
  it("computes WCAG contrast ratios", () => {
    expect(contrastRatio(darkText, lightText)).toBeCloseTo(21, 5);
    expect(contrastRatio(lightText, lightText)).toBeCloseTo(1, 5);
    // #767676 on white is the classic 4.54:1.
    expect(contrastRatio([118, 118, 118], lightText)).toBeCloseTo(4.54, 2);
  });

  it("picks dark text on the light middle and white on the saturated ends", () => {
    expect(textColorOn(zeroColor)).toEqual(darkText);
    expect(textColorOn(negativeColor)).toEqual(lightText);
    // The green end is light enough (luminance 0.23) that black reads better than white (5.7:1 against 3.7:1).
    expect(textColorOn(positiveColor)).toEqual(darkText);
    expect(textColorOn(missingColor)).toEqual(darkText);
  });

  /** The chosen text's contrast on a cell colour. */
  const chosenContrast = (color: Rgb) => contrastRatio(textColorOn(color), color);

  it("reaches 4.5:1 on every colour the scale can produce (a dense sweep)", () => {
    const scale = divergingScale([], 1);
    let worst = Infinity;
    for (let i = -20_000; i <= 20_000; i++) worst = Math.min(worst, chosenContrast(scale.color(i / 20_000)));
    worst = Math.min(worst, chosenContrast(missingColor));
    expect(worst).toBeGreaterThanOrEqual(minimumContrast);
  });

  it("reaches 4.5:1 for any value on any extent, and picks the higher of the two", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.001, max: 10, noNaN: true }),
        fc.double({ min: -20, max: 20, noNaN: true }),
        (extent, value) => {
          const color = divergingScale([], extent).color(value);
          expect(chosenContrast(color)).toBeGreaterThanOrEqual(minimumContrast);
          const other = textColorOn(color) === darkText ? lightText : darkText;
          expect(chosenContrast(color)).toBeGreaterThanOrEqual(contrastRatio(other, color));
        },
      ),
    );
  });

  it("would fail with the page's ink as the dark text (why the dark text is black)", () => {
    // The sweep's worst colour for the old dark text (#1b1f24): neither it nor white reaches 4.5:1.
    const ink: Rgb = [27, 31, 36];
    const scale = divergingScale([], 1);
    let worst = Infinity;
    for (let i = -2000; i <= 2000; i++) {
      const color = scale.color(i / 2000);
      worst = Math.min(worst, Math.max(contrastRatio(ink, color), contrastRatio(lightText, color)));
    }
    expect(worst).toBeLessThan(minimumContrast);
  });
});
