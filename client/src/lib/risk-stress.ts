// The risk lens stress builder's pure parts (client/src/components/risk-stress.tsx): percent
// inputs → the request of `POST /portfolios/:id/stress` (`predictive` shocks or a `historical`
// episode), the API's field issues back to the inputs, the answer's two sides (propagated and
// unpropagated) merged into one row per factor, holding and option, the episodes in picker
// order, and the result tables as CSV. Shapes follow worker/api/analytics.ts
// (`riskStressResponseSchema`) and worker/api/portfolio-risk.ts (`stressEpisodeSchema`); only
// the fields read here are declared, so the API's own types satisfy them.
import { buildCsv } from "./csv.ts";
import { formatPercent, missing } from "./format.ts";
import { parseNumberInput } from "./what-if-holdings.ts";

export type StressMode = "predictive" | "historical";

/** The picker's value for a range typed by hand (ids are UUIDs or `builtin-worst-20d-<key>`). */
export const customEpisodeId = "custom";

// ---- inputs → request ---------------------------------------------------------------------------

export interface ParsedShocks {
  /** Risk factor key → shock as a fraction (−10 % → −0.1). */
  shocks: Record<string, number>;
  /** Risk factor key → what is wrong with its input. */
  errors: Record<string, string>;
}

/**
 * The typed shocks: percent text per risk factor → fractions. Empty inputs are not shocked; a
 * malformed one is an error, never dropped. Only `keys` (the risk factors listed) are read, so a
 * text left from a factor no longer listed is not sent.
 */
export function parsePercentShocks(text: Readonly<Record<string, string>>, keys: readonly string[]): ParsedShocks {
  const shocks: Record<string, number> = {};
  const errors: Record<string, string> = {};
  for (const key of keys) {
    const value = text[key] ?? "";
    const parsed = parseNumberInput(value);
    if (parsed === "invalid") errors[key] = `must be a number of percent, got ${JSON.stringify(value.trim())}`;
    // toPrecision: 12.3 / 100 is 0.12300000000000001 in binary; the API echoes what it is sent.
    else if (parsed !== "empty") shocks[key] = Number((parsed / 100).toPrecision(12));
  }
  return { shocks, errors };
}

/** What is wrong with a custom range (from, to] as typed: ISO dates from date inputs, "" when empty. */
export function customRangeErrors(from: string, to: string): { from?: string; to?: string } {
  if (from === "" && to === "") return {};
  if (from === "") return { from: "give the day before the episode's first day" };
  if (to === "") return { to: "give the episode's last day" };
  if (!(from < to)) return { from: `must be before to (${to}): the episode is (from, to]` };
  return {};
}

export type StressRequestBody =
  | { predictive: { shocks: Record<string, number> }; date?: string }
  | { historical: { episode_id: string } | { from: string; to: string }; date?: string };

/** The request to send, or why there is none (shown instead of a result). */
export type PlannedStress = { body: StressRequestBody; reason: null } | { body: null; reason: string };

export interface StressInputs {
  mode: StressMode;
  /** null or "": the API's default (the latest metrics date). */
  date: string | null;
  shocks: ParsedShocks;
  /** The picked episode, `customEpisodeId`, or null while none can be picked (the list is loading or empty). */
  episodeId: string | null;
  from: string;
  to: string;
}

export function planStressRequest(inputs: StressInputs): PlannedStress {
  const date = inputs.date ? { date: inputs.date } : {};
  if (inputs.mode === "predictive") {
    if (Object.keys(inputs.shocks.errors).length > 0)
      return { body: null, reason: "Fix the shocks marked in red to see their impact." };
    if (Object.keys(inputs.shocks.shocks).length === 0)
      return { body: null, reason: "Enter a shock for at least one risk factor to see its impact." };
    return { body: { predictive: { shocks: inputs.shocks.shocks }, ...date }, reason: null };
  }
  if (inputs.episodeId === null) return { body: null, reason: "Pick an episode to replay." };
  if (inputs.episodeId !== customEpisodeId)
    return { body: { historical: { episode_id: inputs.episodeId }, ...date }, reason: null };
  if (inputs.from === "" && inputs.to === "")
    return { body: null, reason: "Give the range to replay: from (exclusive) and to." };
  if (Object.keys(customRangeErrors(inputs.from, inputs.to)).length > 0)
    return { body: null, reason: "Fix the range marked in red to replay it." };
  return { body: { historical: { from: inputs.from, to: inputs.to }, ...date }, reason: null };
}

// ---- the API's issues → the inputs --------------------------------------------------------------

export interface StressIssues {
  /** `predictive.shocks.<key>`: risk factor key → message. */
  shocks: Record<string, string>;
  /** `historical.from`, `historical.to`: the custom range's fields. */
  from: string | null;
  to: string | null;
  /** `historical.episode_id` and `historical` (an episode without stored returns, a request without one). */
  episode: string | null;
  /** Anything else (`date`, the body as a whole). */
  other: { path: string; message: string }[];
}

export function splitStressIssues(issues: readonly { path: string; message: string }[]): StressIssues {
  const split: StressIssues = { shocks: {}, from: null, to: null, episode: null, other: [] };
  for (const issue of issues) {
    const shockKey = /^predictive\.shocks\.([a-z0-9_]+)$/.exec(issue.path)?.[1];
    if (shockKey !== undefined) split.shocks[shockKey] = issue.message;
    else if (issue.path === "historical.from") split.from = issue.message;
    else if (issue.path === "historical.to") split.to = issue.message;
    else if (issue.path === "historical.episode_id" || issue.path === "historical") split.episode = issue.message;
    else split.other.push(issue);
  }
  return split;
}

// ---- the answer's tables ------------------------------------------------------------------------

/** The fields of one side (`propagated`, `unpropagated`) of a risk stress answer read here. */
export interface StressSideLike {
  factors: readonly {
    factor_key: string;
    move: number;
    shocked: boolean;
    exposure_dollar: number;
    impact: number;
  }[];
  holdings: readonly {
    symbol: string;
    position_ids: readonly string[];
    dollar_exposure: number;
    underlying_move: number;
    impact: number;
  }[];
  options: readonly {
    position_id: string;
    symbol: string;
    underlying_symbol: string;
    option_type: string;
    contracts: number;
    multiplier: number;
    delta: number;
    underlying_move: number;
    delta_approximation: number;
    repriced: number | null;
    repriced_reason: string | null;
  }[];
  total: number;
  total_repriced: number;
}

export interface RiskStressLike {
  kind: StressMode;
  unpropagated: StressSideLike;
  propagated: StressSideLike | null;
}

/** How a factor came by its move: given (predictive), summed over the episode, the conditional mean, or none. */
export type MoveSource = "shocked" | "replayed" | "propagated" | "not_moved";

export interface FactorMoveRow {
  key: string;
  source: MoveSource;
  /** The headline move: propagated when the API computed that side, else unpropagated (a fraction). */
  move: number;
  moveUnpropagated: number;
  exposureDollar: number;
  /** null when the propagated side is unavailable. */
  impact: number | null;
  impactUnpropagated: number;
}

/** The position of each key in `order` (risk factors in display order); unknown keys last, as given. */
function orderBy<T>(items: readonly T[], keyOf: (item: T) => string, order: readonly string[]): T[] {
  const rank = new Map(order.map((key, index) => [key, index]));
  return items
    .map((item, index) => ({ item, index, rank: rank.get(keyOf(item)) ?? order.length }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map((entry) => entry.item);
}

/** One row per risk factor, both sides side by side, in `order` (the risk factors' display order). */
export function factorMoveRows(result: RiskStressLike, order: readonly string[]): FactorMoveRow[] {
  const propagated = new Map((result.propagated?.factors ?? []).map((factor) => [factor.factor_key, factor]));
  const rows = result.unpropagated.factors.map((plain): FactorMoveRow => {
    const spread = propagated.get(plain.factor_key);
    const source: MoveSource = plain.shocked
      ? result.kind === "historical"
        ? "replayed"
        : "shocked"
      : spread === undefined
        ? "not_moved"
        : "propagated";
    return {
      key: plain.factor_key,
      source,
      move: spread?.move ?? plain.move,
      moveUnpropagated: plain.move,
      exposureDollar: plain.exposure_dollar,
      impact: spread?.impact ?? null,
      impactUnpropagated: plain.impact,
    };
  });
  return orderBy(rows, (row) => row.key, order);
}

export interface HoldingImpactRow {
  symbol: string;
  positionIds: readonly string[];
  dollarExposure: number;
  /** The underlying's move b_sᵀf on the headline side. */
  move: number | null;
  impact: number | null;
  impactUnpropagated: number | null;
}

/**
 * One row per beta symbol (options at their delta, in their underlying's row), both sides side by
 * side, largest headline |impact| first.
 */
export function holdingImpactRows(result: RiskStressLike): HoldingImpactRow[] {
  const rows = new Map<string, HoldingImpactRow>();
  const row = (holding: StressSideLike["holdings"][number]): HoldingImpactRow => {
    const existing = rows.get(holding.symbol);
    if (existing) return existing;
    const created: HoldingImpactRow = {
      symbol: holding.symbol,
      positionIds: holding.position_ids,
      dollarExposure: holding.dollar_exposure,
      move: null,
      impact: null,
      impactUnpropagated: null,
    };
    rows.set(holding.symbol, created);
    return created;
  };
  for (const holding of result.unpropagated.holdings) {
    const target = row(holding);
    target.impactUnpropagated = holding.impact;
    if (result.propagated === null) target.move = holding.underlying_move;
  }
  for (const holding of result.propagated?.holdings ?? []) {
    const target = row(holding);
    target.impact = holding.impact;
    target.move = holding.underlying_move;
  }
  const headline = (r: HoldingImpactRow) =>
    Math.abs((result.propagated === null ? r.impactUnpropagated : r.impact) ?? 0);
  return [...rows.values()].sort((a, b) => headline(b) - headline(a) || (a.symbol < b.symbol ? -1 : 1));
}

export interface OptionSide {
  underlyingMove: number;
  deltaApproximation: number;
  repriced: number | null;
  repricedReason: string | null;
}

export interface OptionImpactRow {
  positionId: string;
  symbol: string;
  underlyingSymbol: string;
  optionType: string;
  contracts: number;
  multiplier: number;
  delta: number;
  propagated: OptionSide | null;
  unpropagated: OptionSide | null;
}

/** Each option once, its delta approximation beside its repricing on both sides. */
export function optionImpactRows(result: RiskStressLike): OptionImpactRow[] {
  const rows = new Map<string, OptionImpactRow>();
  const sides: [StressSideLike | null, "propagated" | "unpropagated"][] = [
    [result.propagated, "propagated"],
    [result.unpropagated, "unpropagated"],
  ];
  for (const [side, name] of sides) {
    for (const option of side?.options ?? []) {
      const row = rows.get(option.position_id) ?? {
        positionId: option.position_id,
        symbol: option.symbol,
        underlyingSymbol: option.underlying_symbol,
        optionType: option.option_type,
        contracts: option.contracts,
        multiplier: option.multiplier,
        delta: option.delta,
        propagated: null,
        unpropagated: null,
      };
      row[name] = {
        underlyingMove: option.underlying_move,
        deltaApproximation: option.delta_approximation,
        repriced: option.repriced,
        repricedReason: option.repriced_reason,
      };
      rows.set(option.position_id, row);
    }
  }
  return [...rows.values()];
}

// ---- episodes -----------------------------------------------------------------------------------

/** The fields of an episode (GET /stress/episodes) read here. */
export interface EpisodeLike {
  id: string;
  name: string;
  from: string;
  to: string;
  builtin: boolean;
  days: number;
  first_date: string | null;
  last_date: string | null;
  basis: { factor_key: string; days: number; sum: number } | null;
}

/** Built-ins first (in the API's order: the risk factors'), then the saved ones by name. */
export function orderEpisodes<E extends EpisodeLike>(episodes: readonly E[]): { builtin: E[]; saved: E[] } {
  return {
    builtin: episodes.filter((episode) => episode.builtin),
    saved: episodes
      .filter((episode) => !episode.builtin)
      .sort((a, b) => a.name.localeCompare(b.name, "en") || (a.id < b.id ? -1 : 1)),
  };
}

/** The episode picked: the one asked for while it exists, else the first built-in, else the first saved. */
export function resolveEpisodeId(chosen: string | null, episodes: readonly EpisodeLike[]): string | null {
  if (chosen === customEpisodeId) return chosen;
  if (chosen !== null && episodes.some((episode) => episode.id === chosen)) return chosen;
  const { builtin, saved } = orderEpisodes(episodes);
  return builtin[0]?.id ?? saved[0]?.id ?? null;
}

/** An episode's stored days: "2020-02-20 – 2020-03-18, 20 days"; the range (from, to] when none is stored. */
export function episodeRangeText(episode: EpisodeLike): string {
  if (episode.first_date === null || episode.last_date === null || episode.days === 0)
    return `(${episode.from}, ${episode.to}], no stored day`;
  const days = `${episode.days} day${episode.days === 1 ? "" : "s"}`;
  return episode.first_date === episode.last_date
    ? `${episode.first_date}, ${days}`
    : `${episode.first_date} – ${episode.last_date}, ${days}`;
}

/** The picker's label: name, stored days and, for a built-in, its factor's summed return. */
export function episodeLabel(episode: EpisodeLike): string {
  const basis = episode.basis === null ? "" : ` · ${formatMove(episode.basis.sum)}`;
  return `${episode.name} · ${episodeRangeText(episode)}${basis}`;
}

// ---- formatting and CSV -------------------------------------------------------------------------

/** A move (a fraction) as a signed percentage with 2 decimals: +1.25%, −10.00%, 0.00%. */
export function formatMove(value: number | null | undefined): string {
  const text = formatPercent(value, 2);
  // Positive as printed (formatPercent's rounding): 0.00001 is "0.00%", not "+0.00%".
  return value !== null && value !== undefined && text !== missing && Number((value * 100).toFixed(2)) > 0
    ? `+${text}`
    : text;
}

export function factorCsv(rows: readonly FactorMoveRow[], name: (key: string) => string): string {
  return buildCsv(
    [
      "factor_key",
      "factor",
      "source",
      "move",
      "move_unpropagated",
      "exposure_dollar",
      "impact_propagated",
      "impact_unpropagated",
    ],
    rows.map((row) => [
      row.key,
      name(row.key),
      row.source,
      row.move,
      row.moveUnpropagated,
      row.exposureDollar,
      row.impact,
      row.impactUnpropagated,
    ]),
  );
}

export function holdingCsv(rows: readonly HoldingImpactRow[]): string {
  return buildCsv(
    ["symbol", "position_ids", "dollar_exposure", "underlying_move", "impact_propagated", "impact_unpropagated"],
    rows.map((row) => [
      row.symbol,
      row.positionIds.join(" "),
      row.dollarExposure,
      row.move,
      row.impact,
      row.impactUnpropagated,
    ]),
  );
}

export function optionCsv(rows: readonly OptionImpactRow[]): string {
  return buildCsv(
    [
      "position_id",
      "symbol",
      "underlying_symbol",
      "option_type",
      "contracts",
      "multiplier",
      "delta",
      "underlying_move_propagated",
      "delta_approximation_propagated",
      "repriced_propagated",
      "repriced_reason_propagated",
      "underlying_move_unpropagated",
      "delta_approximation_unpropagated",
      "repriced_unpropagated",
      "repriced_reason_unpropagated",
    ],
    rows.map((row) => [
      row.positionId,
      row.symbol,
      row.underlyingSymbol,
      row.optionType,
      row.contracts,
      row.multiplier,
      row.delta,
      row.propagated?.underlyingMove,
      row.propagated?.deltaApproximation,
      row.propagated?.repriced,
      row.propagated?.repricedReason,
      row.unpropagated?.underlyingMove,
      row.unpropagated?.deltaApproximation,
      row.unpropagated?.repriced,
      row.unpropagated?.repricedReason,
    ]),
  );
}
