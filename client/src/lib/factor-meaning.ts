// What a factor's number means, in words, from its definition (GET /factors): the method, the
// inputs, the window, and what an exposure of 1.0 means. The heatmap's row labels, the legend,
// the Universe's column headers and the factors help page (/factors) all read this one module,
// so the explanation cannot differ between screens. docs/factor-engine.md has the formulas.
import type { Factor } from "../api/types.ts";

/** The unit of every lens exposure: a loading (a regression slope), not a z-score or a weight. */
export const exposureUnit = "loading (β)";

/** The legend's caption: what the colour's numbers are. */
export const legendUnit =
  "Exposure: regression loading (β) on the factor's daily returns; 1.0 moves 1 % with a 1 % factor move";

export interface FactorMeaning {
  key: string;
  name: string;
  /** The stored one-line description. */
  description: string;
  /** The estimator, in words. */
  method: string;
  /** The return series the stock's daily returns are regressed on. */
  inputs: string;
  /** The trailing window and the fewest observations a number needs. */
  window: string;
  /** What an exposure of 1.0 means. */
  one: string;
  /** A caution an analyst should read before comparing numbers, or null. */
  caveat: string | null;
}

const methodText: Record<Factor["method"], (factor: Factor) => string> = {
  ols: () => "Ordinary least squares: the slope of the stock's daily returns on the input's, with an intercept.",
  ridge: (factor) =>
    "Joint ridge regression of the stock's daily returns on all six style ETFs at once (columns standardized, " +
    `α = ${factor.ridge_alpha ?? "—"}), slopes given back in return units.`,
  spread: () =>
    "Ordinary least squares on a long-minus-short spread: the slope of the stock's daily returns on the " +
    "difference of the two ETFs' daily returns, with an intercept.",
};

function inputsText(factor: Factor): string {
  if (factor.method === "spread")
    return `${factor.long_symbol ?? "?"} minus ${factor.short_symbol ?? "?"} daily returns`;
  if (factor.method === "ridge")
    return `${factor.input_symbol ?? "?"} daily returns, jointly with the other style ETFs`;
  return `${factor.input_symbol ?? "?"} daily returns`;
}

function oneText(factor: Factor): string {
  if (factor.method === "spread")
    return (
      `On a day ${factor.long_symbol ?? "the long leg"} beats ${factor.short_symbol ?? "the short leg"} by 1 %, ` +
      "the holding tends to move 1 % with it (beyond its average day)."
    );
  if (factor.method === "ridge")
    return (
      `A 1 % move in ${factor.input_symbol ?? "the ETF"}, the other style ETFs held fixed, goes with a 1 % move ` +
      "in the holding."
    );
  return `A 1 % move in ${factor.input_symbol ?? "the input"} goes with a 1 % move in the holding.`;
}

function caveatText(factor: Factor): string | null {
  if (factor.method === "ridge")
    return (
      "A loading, not a z-score or a characteristic: every style ETF holds the market, so broad index funds " +
      "load on style factors too (SPY itself shows a positive Value loading)."
    );
  if (factor.method === "spread")
    return "Near 0 for a stock that moves like the short leg; the sign says which leg it follows.";
  return null;
}

export function factorMeaning(factor: Factor): FactorMeaning {
  return {
    key: factor.key,
    name: factor.name,
    description: factor.description,
    method: methodText[factor.method](factor),
    inputs: inputsText(factor),
    window: `Trailing ${factor.window_days} calendar days; at least ${factor.min_observations} daily observations.`,
    one: oneText(factor),
    caveat: caveatText(factor),
  };
}

/** The meaning as plain text for a `title` attribute or a screen reader (one fact per line). */
export function factorMeaningText(factor: Factor): string {
  const meaning = factorMeaning(factor);
  return [
    `${meaning.name} (${meaning.key}) — ${meaning.description}`,
    `Unit: ${exposureUnit}. ${meaning.one}`,
    `Method: ${meaning.method}`,
    `Inputs: ${meaning.inputs}.`,
    `Window: ${meaning.window}`,
    ...(meaning.caveat ? [`Note: ${meaning.caveat}`] : []),
  ].join("\n");
}

/** The ETF symbols a factor regresses on: its input, or its long then its short leg. */
export function factorSymbols(factor: Pick<Factor, "input_symbol" | "long_symbol" | "short_symbol">): string[] {
  const symbols = [factor.input_symbol, factor.long_symbol, factor.short_symbol];
  return symbols.filter((symbol): symbol is string => symbol !== null && symbol !== "");
}

/** A piece of text, or a symbol in it that a page can link to its symbol page. */
export type TextPart = { text: string } | { symbol: string };

/**
 * `text` cut at every whole-word occurrence of `symbols` (so `SPY` in "SPY daily returns" is a
 * part, but not inside "SPYG"), for the factors page to link each ETF it names.
 */
export function symbolParts(text: string, symbols: readonly string[]): TextPart[] {
  const known = [...new Set(symbols.filter((symbol) => symbol !== ""))].sort((a, b) => b.length - a.length);
  if (known.length === 0) return text === "" ? [] : [{ text }];
  const escaped = known.map((symbol) => symbol.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  // A symbol is a whole word: not next to a letter, digit, dot or dash (BRK.B, BF-B are symbols too).
  const pattern = new RegExp(`(?<![\\w.-])(${escaped.join("|")})(?![\\w-]|\\.\\w)`, "g");
  const parts: TextPart[] = [];
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    const start = match.index;
    if (start > last) parts.push({ text: text.slice(last, start) });
    parts.push({ symbol: match[0] });
    last = start + match[0].length;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return parts;
}
