// What a factor's number means, in words (client/src/lib/factor-meaning.ts), over the seeded factor
// set as GET /factors serves it: every factor says its method, inputs, window, minimum and what
// 1.0 means; the plain text carries the unit; the factors page's symbol links cut text at whole
// symbols only.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Factor } from "../../../client/src/api/types.ts";
import {
  exposureUnit,
  factorMeaning,
  factorMeaningText,
  factorSymbols,
  legendUnit,
  symbolParts,
  type TextPart,
} from "../../../client/src/lib/factor-meaning.ts";
import { defaultFactors } from "../../../schema/seed/default-factors.ts";

/** The seeded factors as GET /factors answers (worker/routes/factors.ts). */
const factors: Factor[] = defaultFactors.map((seed) => ({
  id: seed.id,
  key: seed.key,
  name: seed.name,
  category: seed.category,
  method: seed.method,
  input_symbol: seed.inputSymbol ?? null,
  long_symbol: seed.longSymbol ?? null,
  short_symbol: seed.shortSymbol ?? null,
  window_days: seed.windowDays,
  min_observations: seed.minObservations,
  ridge_alpha: seed.ridgeAlpha ?? null,
  description: seed.description,
  display_order: seed.displayOrder,
  is_active: seed.isActive ?? true,
}));
const byKey = (key: string): Factor => {
  const factor = factors.find((candidate) => candidate.key === key);
  if (!factor) throw new Error(`no seeded factor ${key}`);
  return factor;
};

describe("factor meaning", () => {
  it("covers the 12 seeded factors, each with its own window, minimum and inputs in words", () => {
    expect(factors).toHaveLength(12);
    for (const factor of factors) {
      const meaning = factorMeaning(factor);
      expect(meaning.key).toBe(factor.key);
      expect(meaning.window).toContain(`${factor.window_days} calendar days`);
      expect(meaning.window).toContain(`at least ${factor.min_observations}`);
      for (const symbol of factorSymbols(factor)) expect(meaning.inputs).toContain(symbol);
      expect(meaning.one).toMatch(/1 %/);
      // No placeholder for a missing symbol in the seeded set.
      expect(`${meaning.inputs} ${meaning.one} ${meaning.method}`).not.toMatch(/\?|—/);
    }
  });

  it("explains each method in its own terms", () => {
    expect(factorMeaning(byKey("market_beta")).method).toMatch(/Ordinary least squares/);
    expect(factorMeaning(byKey("value")).method).toMatch(/ridge.*α = 1/);
    expect(factorMeaning(byKey("value")).caveat).toMatch(/not a z-score/);
    const spread = factorMeaning(byKey("growth_value_spread"));
    expect(spread.inputs).toBe("VUG minus VTV daily returns");
    expect(spread.one).toMatch(/VUG beats VTV by 1 %/);
    expect(factorMeaning(byKey("market_beta")).caveat).toBeNull();
  });

  it("gives a plain text for a tooltip with the name, the unit, and one fact per line", () => {
    const text = factorMeaningText(byKey("momentum_spread"));
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^Momentum Spread \(momentum_spread\) — /);
    expect(text).toContain(`Unit: ${exposureUnit}.`);
    expect(lines.some((line) => line.startsWith("Window: Trailing 180 calendar days"))).toBe(true);
    expect(lines.some((line) => line.startsWith("Note: "))).toBe(true);
    expect(
      factorMeaningText(byKey("market_beta"))
        .split("\n")
        .some((line) => line.startsWith("Note: ")),
    ).toBe(false);
    expect(legendUnit).toContain("loading (β)");
  });
});

describe("factor symbols", () => {
  it("lists the input, or the long then the short leg", () => {
    expect(factorSymbols(byKey("market_beta"))).toEqual(["SPY"]);
    expect(factorSymbols(byKey("size_spread"))).toEqual(["IWM", "SPY"]);
  });

  it("cuts text at whole symbols only, keeping every character", () => {
    const joined = (parts: TextPart[]) => parts.map((part) => ("symbol" in part ? part.symbol : part.text)).join("");
    expect(symbolParts("VUG minus VTV daily returns", ["VUG", "VTV"])).toEqual([
      { symbol: "VUG" },
      { text: " minus " },
      { symbol: "VTV" },
      { text: " daily returns" },
    ]);
    // Not inside a longer symbol or word; a sentence's full stop is not part of the symbol.
    expect(symbolParts("SPYG and XSPY, not SPY.", ["SPY"])).toEqual([
      { text: "SPYG and XSPY, not " },
      { symbol: "SPY" },
      { text: "." },
    ]);
    expect(symbolParts("BRK.B beside BRK", ["BRK"])).toEqual([{ text: "BRK.B beside " }, { symbol: "BRK" }]);
    expect(symbolParts("no symbols", [])).toEqual([{ text: "no symbols" }]);
    expect(symbolParts("", ["SPY"])).toEqual([]);
    fc.assert(
      fc.property(fc.array(fc.constantFrom("SPY", " ", "VUG", "x", ".", "-", "minus", "TLT")), (pieces) => {
        const text = pieces.join("");
        const parts = symbolParts(text, ["SPY", "VUG", "TLT"]);
        expect(joined(parts)).toBe(text);
        for (const part of parts) if ("text" in part) expect(part.text).not.toBe("");
      }),
    );
  });
});
