// Where every number came from and why a missing one is missing, as words: the reasons the API
// gives (a symbol's missing beta, a position left out of an aggregation, a position a write
// warns about), coverage by value beside coverage by count (never "100%" while a held position
// is left out), and the left-out positions of a `data_quality` grouped for a one-line summary.
// Pure functions over the API's shapes (worker/factors/data-quality.ts is the contract).
import { formatDollars, formatPercent, missing } from "./format.ts";

// ---- reasons ------------------------------------------------------------------------------------

/**
 * Every reason code the API serves (symbol betas, data_quality, the drill-down, position
 * warnings), as a short label that starts a sentence. An unknown code is humanized, never hidden.
 */
const reasonLabels: Record<string, string> = {
  // a symbol's missing beta (GET /data/symbols/:symbol), also data_quality's symbol reasons
  insufficient_data: "Insufficient data",
  stale_prices: "Stale prices",
  no_prices: "No prices",
  degenerate: "Degenerate regression",
  no_factor_data: "No factor data",
  not_computed: "Not computed",
  // data_quality: symbols and positions
  no_price: "Unpriced",
  no_betas: "No betas",
  beta_not_found: "No beta for this factor",
  no_delta: "No delta",
  invalid_delta: "Invalid delta",
  expired: "Expired",
  // the drill-down lists private holdings too
  private: "Private",
  // a stored beta's quality flag (the symbol page, the Universe)
  ok: "OK",
  limited_history: "Limited history",
  capped: "Capped",
};

/** The label of a reason code: `insufficient_data` → "Insufficient data". */
export function reasonLabel(reason: string): string {
  const known = reasonLabels[reason];
  if (known) return known;
  const words = reason.replace(/_/g, " ").trim();
  return words ? words.charAt(0).toUpperCase() + words.slice(1) : "Unknown reason";
}

/** The fields of a symbol's missing beta (`missing_betas[]` of GET /data/symbols/:symbol). */
export interface MissingBetaLike {
  reason: string;
  detail: string;
  observations: number | null;
  min_observations: number | null;
  last_close_date: string | null;
}

/**
 * A missing beta in a few words with its figures: "Insufficient data: 41 of 60 observations",
 * "Stale prices: last close 2026-10-01", "No prices", "Not computed". The detail goes in a title.
 */
export function missingBetaText(gap: MissingBetaLike): string {
  const label = reasonLabel(gap.reason);
  if (gap.reason === "insufficient_data" && gap.observations !== null && gap.min_observations !== null) {
    const minimum = gap.min_observations.toLocaleString("en-US");
    return `${label}: ${gap.observations.toLocaleString("en-US")} of ${minimum} observations`;
  }
  if (gap.reason === "stale_prices" && gap.last_close_date) return `${label}: last close ${gap.last_close_date}`;
  return label;
}

// ---- coverage -------------------------------------------------------------------------------------

export interface CoverageInput {
  /** Share of gross exposure that had a beta, 0–1 (coverage by value). */
  value: number | null | undefined;
  /** Positions with a beta for the factor, and the public positions held (coverage by count). */
  used: number | null | undefined;
  total: number | null | undefined;
}

export interface CoverageLabel {
  /** "99.8% of value · 9 of 10 positions", "100.0% of value · all 10 positions". */
  text: string;
  /** For a table cell: "9 of 10" when positions are left out, else null (nothing to flag). */
  short: string | null;
  /** Every held public position had a beta (known only with the counts). */
  complete: boolean | null;
}

const isNumber = (value: number | null | undefined): value is number =>
  value !== null && value !== undefined && Number.isFinite(value);

/**
 * A share as a percentage that never reads 100% unless it is complete: 0.9996 with something
 * left out is "99.9%", not "100.0%".
 */
export function formatShare(value: number | null | undefined, complete: boolean, decimals = 1): string {
  if (!isNumber(value)) return missing;
  const text = formatPercent(value, decimals);
  if (complete) return text;
  const full = formatPercent(1, decimals);
  if (text !== full && value < 1) return text;
  // Rounded up to 100% (or exactly 1 while something is left out): the largest share below it.
  const step = 10 ** -decimals;
  return `${(100 - step).toFixed(decimals)}%`;
}

/**
 * Coverage by value beside coverage by count. While positions are left out (used < total) the
 * count is always shown and the value never reads 100%: when the left-out positions have no
 * value at all (unpriced, expired: outside gross), the value part says "all priced value".
 */
export function coverageLabel(input: CoverageInput): CoverageLabel {
  const { value, used, total } = input;
  if (!isNumber(used) || !isNumber(total) || total <= 0) {
    // No counts (a number stored before they existed): by value only, as before.
    return { text: isNumber(value) ? `${formatPercent(value)} of value` : missing, short: null, complete: null };
  }
  if (used >= total) {
    const share = isNumber(value) ? `${formatShare(value, value >= 1)} of value` : null;
    const count = total === 1 ? "the 1 position" : `all ${total.toLocaleString("en-US")} positions`;
    return { text: share ? `${share} · ${count}` : count, short: null, complete: true };
  }
  const count = `${used.toLocaleString("en-US")} of ${total.toLocaleString("en-US")} positions`;
  const share = !isNumber(value) ? null : value >= 1 ? "all priced value" : `${formatShare(value, false)} of value`;
  return {
    text: share ? `${share} · ${count}` : count,
    short: `${used.toLocaleString("en-US")} of ${total.toLocaleString("en-US")}`,
    complete: false,
  };
}

/** The shape of a drill-down this module reads. */
export interface DrillDownLike {
  coverage: number | null;
  rows: readonly { position_ids: readonly string[]; market_value: number }[];
  missing: readonly { position_ids: readonly string[]; reason: string; market_value: number | null }[];
}

/** A drill-down's coverage by count: positions in its rows over the public positions it lists. */
export function drillDownCoverage(drill: DrillDownLike): CoverageLabel {
  const used = drill.rows.reduce((sum, row) => sum + row.position_ids.length, 0);
  const left = drill.missing
    .filter((row) => row.reason !== "private")
    .reduce((sum, row) => sum + row.position_ids.length, 0);
  return coverageLabel({ value: drill.coverage, used, total: used + left });
}

// ---- left-out positions of a data_quality ---------------------------------------------------------

/** The shape of `data_quality` this module reads (worker/factors/data-quality.ts). */
export interface DataQualityLike {
  date: string;
  symbols_missing: readonly {
    symbol: string;
    reason: string;
    factors?: readonly string[] | undefined;
    position_ids: readonly string[];
    detail?: string | undefined;
  }[];
  positions_excluded: readonly { position_id: string; symbol: string; reason: string; detail: string }[];
  positions_total: number;
  positions_private: number;
  positions_valued: number;
}

/** How a held public position is left out: of every factor, or of some. */
export type LeftOutKind = "unpriced" | "expired" | "no_delta" | "no_betas" | "some_betas";

const kindOrder: readonly LeftOutKind[] = ["unpriced", "expired", "no_delta", "no_betas", "some_betas"];

const kindWords: Record<LeftOutKind, [one: string, many: string]> = {
  unpriced: ["unpriced", "unpriced"],
  expired: ["expired", "expired"],
  no_delta: ["without a usable delta", "without a usable delta"],
  no_betas: ["without betas", "without betas"],
  some_betas: ["without some betas", "without some betas"],
};

/** One symbol's positions left out for one reason. */
export interface LeftOutGroup {
  symbol: string;
  kind: LeftOutKind;
  /** The API's reason code (`no_price`, `expired`, `insufficient_data`, …). */
  reason: string;
  detail: string;
  positionIds: string[];
  /** The factor keys it has no beta for (every factor for the other kinds). */
  factors: string[] | "all";
  /** Market value when known (a drill-down said), null otherwise (unpriced and expired have none). */
  value: number | null;
}

export interface LeftOutSummary {
  date: string;
  groups: LeftOutGroup[];
  /** Distinct positions left out of at least one factor, by their main kind. */
  counts: Record<LeftOutKind, number>;
  total: number;
}

function kindOfExclusion(reason: string): LeftOutKind {
  if (reason === "no_price") return "unpriced";
  if (reason === "expired") return "expired";
  return "no_delta";
}

/**
 * The positions a date's aggregation left out, grouped by symbol and reason: excluded ones
 * (unpriced, expired, without a delta: out of every factor), then those whose symbol has no
 * beta for every factor (`no_betas`) or for some (`some_betas`). A position counts once, under
 * its first kind in that order.
 */
export function leftOutSummary(quality: DataQualityLike, factorKeys: readonly string[]): LeftOutSummary {
  const groups: LeftOutGroup[] = [];
  const kindOf = new Map<string, LeftOutKind>();
  const claim = (ids: readonly string[], kind: LeftOutKind): void => {
    for (const id of ids) if (!kindOf.has(id)) kindOf.set(id, kind);
  };

  const excluded = new Map<string, LeftOutGroup>();
  for (const item of quality.positions_excluded) {
    const kind = kindOfExclusion(item.reason);
    const key = `${item.symbol}\u0000${item.reason}`;
    const group = excluded.get(key);
    if (group) {
      group.positionIds.push(item.position_id);
      if (item.detail && !group.detail.split("; ").includes(item.detail))
        group.detail = `${group.detail}; ${item.detail}`;
    } else {
      excluded.set(key, {
        symbol: item.symbol,
        kind,
        reason: item.reason,
        detail: item.detail,
        positionIds: [item.position_id],
        factors: "all",
        value: null,
      });
    }
  }
  const excludedIds = new Set<string>();
  for (const group of excluded.values()) {
    groups.push(group);
    claim(group.positionIds, group.kind);
    for (const id of group.positionIds) excludedIds.add(id);
  }

  const allFactors = new Set(factorKeys);
  for (const item of quality.symbols_missing) {
    if (item.reason === "no_price") continue; // listed per position in positions_excluded
    const ids = item.position_ids.filter((id) => !excludedIds.has(id));
    if (ids.length === 0) continue;
    const factors = item.factors === undefined ? "all" : [...item.factors];
    const everyFactor =
      factors === "all" || (allFactors.size > 0 && [...allFactors].every((key) => factors.includes(key)));
    const kind: LeftOutKind = everyFactor ? "no_betas" : "some_betas";
    groups.push({
      symbol: item.symbol,
      kind,
      reason: item.reason,
      detail: item.detail ?? "",
      positionIds: ids,
      factors: everyFactor ? "all" : factors,
      value: null,
    });
  }
  // A symbol without betas for several reasons (each for some factors) may still miss every factor.
  const bySymbol = new Map<string, LeftOutGroup[]>();
  for (const group of groups)
    if (group.kind === "some_betas") bySymbol.set(group.symbol, [...(bySymbol.get(group.symbol) ?? []), group]);
  for (const list of bySymbol.values()) {
    const covered = new Set(list.flatMap((group) => (group.factors === "all" ? [] : group.factors)));
    if (allFactors.size > 0 && [...allFactors].every((key) => covered.has(key)))
      for (const group of list) group.kind = "no_betas";
  }
  for (const kind of ["no_betas", "some_betas"] as const)
    for (const group of groups) if (group.kind === kind) claim(group.positionIds, kind);

  groups.sort(
    (a, b) =>
      kindOrder.indexOf(a.kind) - kindOrder.indexOf(b.kind) ||
      (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0) ||
      (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0),
  );
  const counts: Record<LeftOutKind, number> = { unpriced: 0, expired: 0, no_delta: 0, no_betas: 0, some_betas: 0 };
  for (const kind of kindOf.values()) counts[kind]++;
  return { date: quality.date, groups, counts, total: kindOf.size };
}

/** "3 positions left out: 1 unpriced, 1 expired, 1 without betas"; null when none is. */
export function leftOutLine(summary: LeftOutSummary): string | null {
  if (summary.total === 0) return null;
  const parts = kindOrder
    .filter((kind) => summary.counts[kind] > 0)
    .map((kind) => `${summary.counts[kind]} ${kindWords[kind][summary.counts[kind] === 1 ? 0 : 1]}`);
  return `${summary.total} position${summary.total === 1 ? "" : "s"} left out: ${parts.join(", ")}`;
}

/**
 * The groups' market values from a drill-down of the same date (its rows and left-out rows carry
 * them): a group's value is the sum over the drill-down entries whose positions are all in the
 * group, when they cover every position of it; null otherwise (unpriced and expired have none).
 */
export function withValues(summary: LeftOutSummary, drill: DrillDownLike | null | undefined): LeftOutSummary {
  if (!drill) return summary;
  const entries = [
    ...drill.rows.map((row) => ({ ids: row.position_ids, value: row.market_value as number | null })),
    ...drill.missing.map((row) => ({ ids: row.position_ids, value: row.market_value })),
  ];
  const groups = summary.groups.map((group) => {
    const ids = new Set(group.positionIds);
    const inside = entries.filter((entry) => entry.ids.length > 0 && entry.ids.every((id) => ids.has(id)));
    const covered = new Set(inside.flatMap((entry) => entry.ids));
    const known = inside.every((entry) => entry.value !== null) && group.positionIds.every((id) => covered.has(id));
    return {
      ...group,
      value: known && inside.length > 0 ? inside.reduce((sum, entry) => sum + (entry.value ?? 0), 0) : null,
    };
  });
  return { ...summary, groups };
}

/** The value left out, over the groups whose value is known; null when none is. */
export function leftOutValue(summary: LeftOutSummary): number | null {
  const known = summary.groups.filter((group) => group.value !== null);
  return known.length === 0 ? null : known.reduce((sum, group) => sum + Math.abs(group.value ?? 0), 0);
}

/** One group as a sentence: "Unpriced: no close on 2026-11-20", "Insufficient data (3 factors)". */
export function leftOutGroupText(group: LeftOutGroup, factorName: (key: string) => string = (key) => key): string {
  const label = reasonLabel(group.reason);
  const scope =
    group.factors === "all" || group.kind !== "some_betas"
      ? ""
      : ` (${
          group.factors.length <= 3 ? group.factors.map(factorName).join(", ") : `${group.factors.length} factors`
        })`;
  const value = group.value === null ? "" : ` · ${formatDollars(group.value)}`;
  return `${label}${scope}${value}`;
}

/** Per position id, the short reason it is left out (of every factor, or of some). */
export function positionFlags(
  summary: LeftOutSummary,
): Map<string, { label: string; detail: string; kind: LeftOutKind }> {
  const flags = new Map<string, { label: string; detail: string; kind: LeftOutKind }>();
  for (const group of summary.groups) {
    for (const id of group.positionIds) {
      if (flags.has(id)) continue;
      const label =
        group.kind === "some_betas" ? `${reasonLabel(group.reason)} (some factors)` : reasonLabel(group.reason);
      flags.set(id, { label, detail: group.detail, kind: group.kind });
    }
  }
  return flags;
}

// ---- position warnings ----------------------------------------------------------------------------

/** A warning of a position write (worker/portfolios/position-warnings.ts). */
export interface PositionWarningLike {
  line?: number | undefined;
  position_id: string;
  symbol: string;
  reason: string;
  detail: string;
}

/** Warnings in CSV line order (those without a line last), one sentence each. */
export function warningLines(
  warnings: readonly PositionWarningLike[],
): { key: string; line: number | null; symbol: string; label: string; detail: string }[] {
  return [...warnings]
    .sort(
      (a, b) =>
        (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER) ||
        (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0),
    )
    .map((warning) => ({
      key: `${warning.position_id}-${warning.reason}`,
      line: warning.line ?? null,
      symbol: warning.symbol,
      label: reasonLabel(warning.reason),
      detail: warning.detail,
    }));
}

/** Whether an option position has expired by `today` (expiry before it): still held, left out of every number. */
export function isExpiredOption(position: { instrument: string; expiry: string | null }, today: string): boolean {
  return position.instrument === "option" && position.expiry !== null && position.expiry < today;
}
