// The what-if page's hedge panel, its pure parts: the penalty slider's log scale, the
// instruments' checkbox list, and the request's `hedge` options. No DOM and no API calls here
// (test/unit/client/hedge.test.ts).

/** The slider's positions 0..`steps` map to λ = 10^(minExponent + position / perDecade). */
export const penaltyScale = { minExponent: -8, maxExponent: 2, perDecade: 10 } as const;
export const penaltySteps = (penaltyScale.maxExponent - penaltyScale.minExponent) * penaltyScale.perDecade;
/** The API's default (worker/factors/hedge.ts `DEFAULT_HEDGE_PENALTY`), where the slider starts. */
export const defaultPenalty = 1e-5;

/** λ at a slider position (clamped to the scale); never 0 or NaN. */
export function penaltyAt(position: number): number {
  const clamped = Number.isFinite(position) ? Math.min(penaltySteps, Math.max(0, Math.round(position))) : 0;
  const exponent = penaltyScale.minExponent + clamped / penaltyScale.perDecade;
  // 10 ** -5 is 0.000009999999999999999 in binary; one significant digit more than the scale keeps.
  return Number((10 ** exponent).toPrecision(12));
}

/** The slider position nearest to λ (clamped; 0 and below go to the left end). */
export function sliderPositionOf(penalty: number): number {
  if (!(penalty > 0)) return 0;
  const position = Math.round((Math.log10(penalty) - penaltyScale.minExponent) * penaltyScale.perDecade);
  return Math.min(penaltySteps, Math.max(0, position));
}

/** λ as shown beside the slider: "1.0e-5". */
export function formatPenalty(penalty: number): string {
  return penalty === 0 ? "0" : penalty.toExponential(1).replace("e+", "e");
}

export type HedgeTargetChoice = "tracking_error" | "total";

/** What the panel lets the user choose. `selected` null: the API's default instruments. */
export interface HedgeChoices {
  target: HedgeTargetChoice;
  penalty: number;
  selected: readonly string[] | null;
}

/** The `hedge` of the what-if request: instruments only when they differ from the default. */
export function hedgeOptions(choices: HedgeChoices): {
  target: HedgeTargetChoice;
  penalty: number;
  instruments?: string[];
} {
  return {
    target: choices.target,
    penalty: choices.penalty,
    ...(choices.selected === null ? {} : { instruments: [...choices.selected] }),
  };
}

/**
 * The checkboxes: the default instruments (as the last default answer listed them, those it
 * left out included), then the symbols the user added, each once.
 */
export function instrumentChoices(defaults: readonly string[], added: readonly string[]): string[] {
  return [...new Set([...defaults, ...added])];
}

/** Toggling `symbol` in the selection (null: all `defaults` selected); an empty selection stays empty. */
export function toggleInstrument(
  selected: readonly string[] | null,
  defaults: readonly string[],
  symbol: string,
  on: boolean,
): string[] {
  const current = selected ?? defaults;
  if (on) return current.includes(symbol) ? [...current] : [...current, symbol];
  return current.filter((entry) => entry !== symbol);
}

/** A symbol typed to add: upper case, trimmed; null when it is not a ticker the API takes. */
export function normalizedSymbol(input: string): string | null {
  const symbol = input.trim().toUpperCase();
  return /^[A-Z0-9][A-Z0-9.-]{0,19}$/.test(symbol) ? symbol : null;
}
