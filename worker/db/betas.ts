// Stored symbol betas as the aggregation's beta table: what every portfolio computation (the
// batch's portfolio analytics, the drill-down, stress tests, what-if) reads instead of
// regressing anything per request.
import { and, eq, inArray, max } from "drizzle-orm";
import { batchPhaseResults, symbolBetaGaps, symbolFactorExposures } from "../../schema/index.ts";
import type { EstimatedBeta, FactorSpec, MissingBeta, SymbolFactorBeta } from "../factors/types.ts";
import type { Database } from "./client.ts";

/**
 * The stored betas of `symbols` on `date` as the aggregation's beta table (factor key →
 * estimate), for the given factors only.
 */
export async function loadStoredBetaTable(
  db: Database,
  date: string,
  symbols: readonly string[],
  factors: readonly FactorSpec[],
): Promise<Map<string, Record<string, SymbolFactorBeta>>> {
  if (symbols.length === 0 || factors.length === 0) return new Map();
  const factorIds = factors.map((factor) => factor.id);
  // The estimates and the batch's stored reasons for the betas it could not estimate (so the
  // aggregation's data_quality says `insufficient_data` or `stale_prices`, not a bare "no
  // betas"), read together.
  const [rows, gaps] = await Promise.all([
    db
      .select({
        symbol: symbolFactorExposures.symbol,
        factorId: symbolFactorExposures.factorId,
        calculationDate: symbolFactorExposures.calculationDate,
        betaValue: symbolFactorExposures.betaValue,
        rawBetaValue: symbolFactorExposures.rawBetaValue,
        rSquared: symbolFactorExposures.rSquared,
        observations: symbolFactorExposures.observations,
        qualityFlag: symbolFactorExposures.qualityFlag,
        calculationMethod: symbolFactorExposures.calculationMethod,
        regularizationAlpha: symbolFactorExposures.regularizationAlpha,
        regressionWindowDays: symbolFactorExposures.regressionWindowDays,
        standardError: symbolFactorExposures.standardError,
      })
      .from(symbolFactorExposures)
      .where(
        and(
          eq(symbolFactorExposures.calculationDate, date),
          inArray(symbolFactorExposures.symbol, [...symbols]),
          // Only the factors asked for (a drill-down reads one of twelve).
          inArray(symbolFactorExposures.factorId, factorIds),
        ),
      ),
    db
      .select()
      .from(symbolBetaGaps)
      .where(
        and(
          eq(symbolBetaGaps.calculationDate, date),
          inArray(symbolBetaGaps.symbol, [...symbols]),
          inArray(symbolBetaGaps.factorId, factorIds),
        ),
      ),
  ]);
  return betaTableFrom(rows, gaps, factors);
}

/** A stored beta, as the table holds it. */
export type StoredBetaRow = Pick<
  typeof symbolFactorExposures.$inferSelect,
  | "symbol"
  | "factorId"
  | "calculationDate"
  | "betaValue"
  | "rawBetaValue"
  | "standardError"
  | "rSquared"
  | "observations"
  | "qualityFlag"
  | "calculationMethod"
  | "regularizationAlpha"
  | "regressionWindowDays"
>;

/** A stored reason for a missing beta. */
export type StoredGapRow = Pick<
  typeof symbolBetaGaps.$inferSelect,
  "symbol" | "factorId" | "calculationDate" | "reason" | "observations" | "detail"
>;

/**
 * The aggregation's beta table from stored betas and gaps (factor key → estimate or reason),
 * for the given factors only: rows of other factors are left out.
 */
export function betaTableFrom(
  rows: readonly StoredBetaRow[],
  gaps: readonly StoredGapRow[],
  factors: readonly FactorSpec[],
): Map<string, Record<string, SymbolFactorBeta>> {
  const table = new Map<string, Record<string, SymbolFactorBeta>>();
  const factorsById = new Map(factors.map((factor) => [factor.id, factor]));
  for (const row of rows) {
    const factor = factorsById.get(row.factorId);
    // Rows of inactive factors are not part of the aggregation; `insufficient_data` rows
    // cannot exist (the table's CHECK refuses them) but would not be estimates.
    if (!factor || row.qualityFlag === "insufficient_data") continue;
    const estimate: EstimatedBeta = {
      factorId: factor.id,
      factorKey: factor.key,
      method: row.calculationMethod,
      calculationDate: row.calculationDate,
      windowDays: row.regressionWindowDays,
      observations: row.observations,
      // Not stored (see the header); unused by the aggregation.
      factorObservations: row.observations,
      status: "estimated",
      beta: row.betaValue,
      rawBeta: row.rawBetaValue ?? row.betaValue,
      rSquared: row.rSquared,
      standardError: row.standardError,
      qualityFlag: row.qualityFlag,
      regularizationAlpha: row.regularizationAlpha,
    };
    const betas = table.get(row.symbol) ?? {};
    betas[factor.key] = estimate;
    table.set(row.symbol, betas);
  }
  for (const gap of gaps) {
    const factor = factorsById.get(gap.factorId);
    if (!factor) continue;
    const betas = table.get(gap.symbol) ?? {};
    if (betas[factor.key]) continue;
    const missing: MissingBeta = {
      factorId: factor.id,
      factorKey: factor.key,
      method: factor.method,
      calculationDate: gap.calculationDate,
      windowDays: factor.windowDays,
      observations: gap.observations,
      // Not stored (only the estimator's own count of the factor's dates has it); unused by the aggregation.
      factorObservations: null,
      status: "missing",
      reason: gap.reason,
      detail: gap.detail,
    };
    betas[factor.key] = missing;
    table.set(gap.symbol, betas);
  }
  return table;
}

/**
 * The latest date whose symbol betas are written: a universe factors phase succeeded on it.
 * Phase 2 writes a date's metrics before phase 3 writes its betas, so the latest metrics date
 * can be one without betas (live recomputes on it would push every exposure null).
 */
export async function latestBetaDate(db: Database): Promise<string | null> {
  const row = await db
    .select({ date: max(batchPhaseResults.calculationDate) })
    .from(batchPhaseResults)
    .where(and(eq(batchPhaseResults.phase, "universe_factors"), eq(batchPhaseResults.success, true)))
    .get();
  return row?.date ?? null;
}
