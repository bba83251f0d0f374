// The dual-write compare report (docs/design.md §6): does the aggregate path (portfolio
// exposures from the cached symbol betas) give the numbers the old per-position path gave?
// Shared by the admin endpoint and `npm run compare`; `DualWriteReport` is their contract.
//
// Comparisons, over the `position_factor_exposures` rows (written by phase 4 with dual-write
// on) dated in [startDate, endDate], optionally of one portfolio:
// - `position_beta`: per row, delta × beta_value (the old path's per-position beta) against
//   delta × the cached `symbol_factor_exposures` beta of the row's beta symbol (the row's
//   `symbol`: the underlying for options) on that date and factor; a match within 1e-4.
// - `portfolio_exposure`: per (portfolio, factor, date) with position rows, Σ exposure_value
//   of the rows against `portfolio_factor_exposures.exposure_value`; a match within 1e-3. A
//   missing or null portfolio value is a discrepancy (new_value and difference null).
// `difference` is new − old. Tolerances are absolute: betas and weights are O(1) numbers.
//
// Missing symbols (not comparisons, listed with their reason):
// - `no_cached_beta`: a position row whose beta symbol has no cached beta for the factor on
//   the date — the old path estimated a beta the new one does not have;
// - `no_position_row`: a position that has rows on the date (so it was valued with a weight
//   and a delta) but none for an active factor its beta symbol has a cached beta for — the
//   new path has a beta the old one did not estimate.
//
// Recommendation: `SAFE_TO_DEPRECATE` only when something was compared, no comparison is
// beyond tolerance and no symbol is missing on either side (the two paths must agree on which
// betas exist, not only on their values); otherwise `KEEP_DUAL_WRITE`, with the reason.
// Counts are exact; the listed discrepancies and missing symbols are capped at
// `maxListedDiscrepancies` each (ordered by date, portfolio, position, factor), with a
// `…_truncated` flag. The counting runs in SQL, so a long range costs no Worker memory.
import { and, asc, eq, gte, isNull, lte, or, sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import {
  factorDefinitions,
  portfolioFactorExposures,
  positionFactorExposures,
  symbolFactorExposures,
} from "../../schema/index.ts";
import type { Database } from "../db/client.ts";
import { compareText as compare } from "../factors/data-quality.ts";
import { isoDateToDayNumber } from "../factors/options.ts";

export const dualWriteTolerances = { position_beta: 1e-4, portfolio_exposure: 1e-3 } as const;
export const maxListedDiscrepancies = 1000;

export type DualWriteComparisonKind = keyof typeof dualWriteTolerances;
export type DualWriteRecommendation = "SAFE_TO_DEPRECATE" | "KEEP_DUAL_WRITE";

export interface DualWriteDiscrepancy {
  date: string;
  kind: DualWriteComparisonKind;
  portfolio_id: string;
  /** Null for `portfolio_exposure`. */
  position_id: string | null;
  /** The beta symbol (an option's underlying); null for `portfolio_exposure`. */
  symbol: string | null;
  factor_key: string;
  /** The old path: delta × beta_value, or Σ position exposure_value. */
  old_value: number;
  /** The new path: delta × cached beta, or the portfolio's exposure_value; null when absent. */
  new_value: number | null;
  /** new_value − old_value; null when new_value is. */
  difference: number | null;
  /** Null for `portfolio_exposure`. */
  is_option: boolean | null;
}

export type DualWriteMissingReason = "no_cached_beta" | "no_position_row";

export interface DualWriteMissingSymbol {
  date: string;
  reason: DualWriteMissingReason;
  portfolio_id: string;
  position_id: string;
  symbol: string;
  factor_key: string;
  is_option: boolean;
}

export interface DualWriteKindCounts {
  comparisons: number;
  matches: number;
  discrepancies: number;
}

export interface DualWriteCounts extends DualWriteKindCounts {
  by_kind: Record<DualWriteComparisonKind, DualWriteKindCounts>;
  missing_symbols: number;
  /** matches / comparisons; null when nothing was compared. */
  match_rate: number | null;
}

export interface DualWriteDateCounts extends DualWriteCounts {
  date: string;
}

export interface DualWriteReport {
  start_date: string;
  end_date: string;
  portfolio_id: string | null;
  tolerances: Record<DualWriteComparisonKind, number>;
  overall: DualWriteCounts;
  /** Dates with position rows or missing symbols, ascending. */
  dates: DualWriteDateCounts[];
  discrepancies: DualWriteDiscrepancy[];
  discrepancies_truncated: boolean;
  missing_symbols: DualWriteMissingSymbol[];
  missing_symbols_truncated: boolean;
  recommendation: DualWriteRecommendation;
  reason: string;
}

export interface DualWriteRange {
  startDate: string;
  endDate: string;
  portfolioId?: string | null;
}

function emptyCounts(): DualWriteCounts {
  const kind = (): DualWriteKindCounts => ({ comparisons: 0, matches: 0, discrepancies: 0 });
  return {
    comparisons: 0,
    matches: 0,
    discrepancies: 0,
    by_kind: { position_beta: kind(), portfolio_exposure: kind() },
    missing_symbols: 0,
    match_rate: null,
  };
}

function addKind(counts: DualWriteCounts, kind: DualWriteComparisonKind, comparisons: number, matches: number): void {
  const byKind = counts.by_kind[kind];
  byKind.comparisons += comparisons;
  byKind.matches += matches;
  byKind.discrepancies += comparisons - matches;
  counts.comparisons += comparisons;
  counts.matches += matches;
  counts.discrepancies += comparisons - matches;
  counts.match_rate = counts.comparisons > 0 ? counts.matches / counts.comparisons : null;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

function recommend(overall: DualWriteCounts): { recommendation: DualWriteRecommendation; reason: string } {
  if (overall.comparisons === 0) {
    return {
      recommendation: "KEEP_DUAL_WRITE",
      reason: "nothing compared: no position_factor_exposures rows in the range (was dual-write on?)",
    };
  }
  const problems: string[] = [];
  if (overall.discrepancies > 0) {
    const { position_beta: beta, portfolio_exposure: portfolio } = overall.by_kind;
    problems.push(
      `${plural(overall.discrepancies, "discrepancy")} beyond tolerance ` +
        `(${beta.discrepancies} position betas beyond ${dualWriteTolerances.position_beta}, ` +
        `${portfolio.discrepancies} portfolio exposures beyond ${dualWriteTolerances.portfolio_exposure})`,
    );
  }
  if (overall.missing_symbols > 0)
    problems.push(`${plural(overall.missing_symbols, "missing symbol")}: the paths disagree on which betas exist`);
  if (problems.length > 0) return { recommendation: "KEEP_DUAL_WRITE", reason: problems.join("; ") };
  return {
    recommendation: "SAFE_TO_DEPRECATE",
    reason: `${plural(overall.comparisons, "comparison")} all within tolerance, no missing symbols`,
  };
}

function requireIsoDate(name: string, value: string): void {
  try {
    isoDateToDayNumber(value);
  } catch {
    throw new RangeError(`${name} must be an ISO date (YYYY-MM-DD), got ${JSON.stringify(value)}`);
  }
}

export async function buildDualWriteReport(db: Database, range: DualWriteRange): Promise<DualWriteReport> {
  requireIsoDate("startDate", range.startDate);
  requireIsoDate("endDate", range.endDate);
  if (range.startDate > range.endDate)
    throw new RangeError(`startDate ${range.startDate} is after endDate ${range.endDate}`);
  const portfolioId = range.portfolioId ?? null;

  const position = positionFactorExposures;
  const cached = symbolFactorExposures;
  const inScope: SQL = and(
    gte(position.calculationDate, range.startDate),
    lte(position.calculationDate, range.endDate),
    portfolioId === null ? undefined : eq(position.portfolioId, portfolioId),
  ) as SQL;

  // position_beta: each position row against its beta symbol's cached beta.
  const cachedJoin = and(
    eq(cached.symbol, position.symbol),
    eq(cached.factorId, position.factorId),
    eq(cached.calculationDate, position.calculationDate),
  );
  const oldBeta = sql<number>`${position.delta} * ${position.betaValue}`;
  const newBeta = sql<number>`${position.delta} * ${cached.betaValue}`;
  const betaBeyond = sql`abs(${newBeta} - ${oldBeta}) > ${dualWriteTolerances.position_beta}`;

  // portfolio_exposure: Σ position exposure_value per (portfolio, factor, date) against the portfolio row.
  const sums = db
    .select({
      portfolioId: position.portfolioId,
      factorId: position.factorId,
      date: position.calculationDate,
      oldValue: sql<number>`sum(${position.exposureValue})`.as("old_value"),
    })
    .from(position)
    .where(inScope)
    .groupBy(position.portfolioId, position.factorId, position.calculationDate)
    .as("position_sums");
  const portfolioJoin = and(
    eq(portfolioFactorExposures.portfolioId, sums.portfolioId),
    eq(portfolioFactorExposures.factorId, sums.factorId),
    eq(portfolioFactorExposures.calculationDate, sums.date),
  );
  const portfolioBeyond = or(
    isNull(portfolioFactorExposures.exposureValue),
    sql`abs(${portfolioFactorExposures.exposureValue} - ${sums.oldValue}) > ${dualWriteTolerances.portfolio_exposure}`,
  );

  // no_position_row: positions with rows on a date, active factors their beta symbol has a
  // cached beta for, and no row of theirs for that factor.
  const valued = db
    .selectDistinct({
      portfolioId: position.portfolioId,
      positionId: position.positionId,
      symbol: position.symbol,
      date: position.calculationDate,
      isOption: position.isOption,
    })
    .from(position)
    .where(inScope)
    .as("valued_positions");
  const existing = alias(positionFactorExposures, "existing");
  const withoutRow = and(isNull(existing.id), eq(factorDefinitions.isActive, true));
  const withoutRowQuery = () =>
    db
      .select({
        date: valued.date,
        portfolioId: valued.portfolioId,
        positionId: valued.positionId,
        symbol: valued.symbol,
        isOption: valued.isOption,
        factorKey: factorDefinitions.key,
        factorId: factorDefinitions.id,
      })
      .from(valued)
      .innerJoin(cached, and(eq(cached.symbol, valued.symbol), eq(cached.calculationDate, valued.date)))
      .innerJoin(factorDefinitions, eq(factorDefinitions.id, cached.factorId))
      .leftJoin(
        existing,
        and(
          eq(existing.positionId, valued.positionId),
          eq(existing.factorId, cached.factorId),
          eq(existing.calculationDate, valued.date),
        ),
      )
      .where(withoutRow);

  const listLimit = maxListedDiscrepancies + 1;
  const [betaCounts, portfolioCounts, noCachedCounts, noRowCounts, betaList, portfolioList, noCachedList, noRowList] =
    await Promise.all([
      db
        .select({
          date: position.calculationDate,
          comparisons: sql<number>`count(*)`,
          matches: sql<number>`coalesce(sum(case when ${betaBeyond} then 0 else 1 end), 0)`,
        })
        .from(position)
        .innerJoin(cached, cachedJoin)
        .where(inScope)
        .groupBy(position.calculationDate),
      db
        .select({
          date: sums.date,
          comparisons: sql<number>`count(*)`,
          matches: sql<number>`coalesce(sum(case when ${portfolioBeyond} then 0 else 1 end), 0)`,
        })
        .from(sums)
        .leftJoin(portfolioFactorExposures, portfolioJoin)
        .groupBy(sums.date),
      db
        .select({ date: position.calculationDate, missing: sql<number>`count(*)` })
        .from(position)
        .leftJoin(cached, cachedJoin)
        .where(and(inScope, isNull(cached.id)))
        .groupBy(position.calculationDate),
      db
        .select({ date: valued.date, missing: sql<number>`count(*)` })
        .from(valued)
        .innerJoin(cached, and(eq(cached.symbol, valued.symbol), eq(cached.calculationDate, valued.date)))
        .innerJoin(factorDefinitions, eq(factorDefinitions.id, cached.factorId))
        .leftJoin(
          existing,
          and(
            eq(existing.positionId, valued.positionId),
            eq(existing.factorId, cached.factorId),
            eq(existing.calculationDate, valued.date),
          ),
        )
        .where(withoutRow)
        .groupBy(valued.date),
      db
        .select({
          date: position.calculationDate,
          portfolioId: position.portfolioId,
          positionId: position.positionId,
          symbol: position.symbol,
          factorKey: factorDefinitions.key,
          oldValue: oldBeta,
          newValue: newBeta,
          isOption: position.isOption,
        })
        .from(position)
        .innerJoin(cached, cachedJoin)
        .innerJoin(factorDefinitions, eq(factorDefinitions.id, position.factorId))
        .where(and(inScope, betaBeyond))
        .orderBy(
          asc(position.calculationDate),
          asc(position.portfolioId),
          asc(position.positionId),
          asc(position.factorId),
        )
        .limit(listLimit),
      db
        .select({
          date: sums.date,
          portfolioId: sums.portfolioId,
          factorKey: factorDefinitions.key,
          oldValue: sums.oldValue,
          newValue: portfolioFactorExposures.exposureValue,
        })
        .from(sums)
        .leftJoin(portfolioFactorExposures, portfolioJoin)
        .innerJoin(factorDefinitions, eq(factorDefinitions.id, sums.factorId))
        .where(portfolioBeyond)
        .orderBy(asc(sums.date), asc(sums.portfolioId), asc(sums.factorId))
        .limit(listLimit),
      db
        .select({
          date: position.calculationDate,
          portfolioId: position.portfolioId,
          positionId: position.positionId,
          symbol: position.symbol,
          factorKey: factorDefinitions.key,
          isOption: position.isOption,
        })
        .from(position)
        .leftJoin(cached, cachedJoin)
        .innerJoin(factorDefinitions, eq(factorDefinitions.id, position.factorId))
        .where(and(inScope, isNull(cached.id)))
        .orderBy(
          asc(position.calculationDate),
          asc(position.portfolioId),
          asc(position.positionId),
          asc(position.factorId),
        )
        .limit(listLimit),
      withoutRowQuery()
        .orderBy(asc(valued.date), asc(valued.portfolioId), asc(valued.positionId), asc(factorDefinitions.id))
        .limit(listLimit),
    ]);

  const overall = emptyCounts();
  const byDate = new Map<string, DualWriteDateCounts>();
  const dateCounts = (date: string) => {
    let counts = byDate.get(date);
    if (!counts) {
      counts = { date, ...emptyCounts() };
      byDate.set(date, counts);
    }
    return counts;
  };
  for (const [kind, rows] of [
    ["position_beta", betaCounts],
    ["portfolio_exposure", portfolioCounts],
  ] as const) {
    for (const row of rows) {
      const comparisons = Number(row.comparisons);
      const matches = Number(row.matches);
      addKind(dateCounts(row.date), kind, comparisons, matches);
      addKind(overall, kind, comparisons, matches);
    }
  }
  for (const row of [...noCachedCounts, ...noRowCounts]) {
    dateCounts(row.date).missing_symbols += Number(row.missing);
    overall.missing_symbols += Number(row.missing);
  }

  const discrepancies: DualWriteDiscrepancy[] = [
    ...betaList.map((row) => ({
      date: row.date,
      kind: "position_beta" as const,
      portfolio_id: row.portfolioId,
      position_id: row.positionId,
      symbol: row.symbol,
      factor_key: row.factorKey,
      old_value: row.oldValue,
      new_value: row.newValue,
      difference: row.newValue - row.oldValue,
      is_option: row.isOption,
    })),
    ...portfolioList.map((row) => ({
      date: row.date,
      kind: "portfolio_exposure" as const,
      portfolio_id: row.portfolioId,
      position_id: null,
      symbol: null,
      factor_key: row.factorKey,
      old_value: row.oldValue,
      new_value: row.newValue,
      difference: row.newValue === null ? null : row.newValue - row.oldValue,
      is_option: null,
    })),
  ].toSorted((a, b) => compare(a.date, b.date) || compare(a.portfolio_id, b.portfolio_id) || compare(a.kind, b.kind));
  const missingSymbols: DualWriteMissingSymbol[] = [
    ...noCachedList.map((row) => ({ ...row, reason: "no_cached_beta" as const })),
    ...noRowList.map((row) => ({ ...row, reason: "no_position_row" as const })),
  ]
    .toSorted(
      (a, b) =>
        compare(a.date, b.date) ||
        compare(a.portfolioId, b.portfolioId) ||
        compare(a.positionId, b.positionId) ||
        compare(a.factorKey, b.factorKey),
    )
    .map((row) => ({
      date: row.date,
      reason: row.reason,
      portfolio_id: row.portfolioId,
      position_id: row.positionId,
      symbol: row.symbol,
      factor_key: row.factorKey,
      is_option: row.isOption,
    }));

  return {
    start_date: range.startDate,
    end_date: range.endDate,
    portfolio_id: portfolioId,
    tolerances: { ...dualWriteTolerances },
    overall,
    dates: [...byDate.values()].toSorted((a, b) => compare(a.date, b.date)),
    discrepancies: discrepancies.slice(0, maxListedDiscrepancies),
    discrepancies_truncated: overall.discrepancies > maxListedDiscrepancies,
    missing_symbols: missingSymbols.slice(0, maxListedDiscrepancies),
    missing_symbols_truncated: overall.missing_symbols > maxListedDiscrepancies,
    ...recommend(overall),
  };
}
