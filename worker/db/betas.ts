// Stored symbol betas as the aggregation's beta table: what every portfolio computation (the
// batch's portfolio analytics, the drill-down, stress tests, what-if) reads instead of
// regressing anything per request.
import type { ResultSet } from "@libsql/client/web";
import { and, eq, max } from "drizzle-orm";
import type { BetaGapReason, FactorMethod, QualityFlag } from "../../schema/factors.ts";
import { batchPhaseResults, type symbolBetaGaps, type symbolFactorExposures } from "../../schema/index.ts";
import type { EstimatedBeta, FactorSpec, MissingBeta, SymbolFactorBeta } from "../factors/types.ts";
import type { Database } from "./client.ts";
import { exactTextSql, packedLines, packedNumber, packedRowsSql } from "./compact.ts";
import { readTogether } from "./read-batch.ts";

/**
 * The stored betas of `symbols` on `date` as the aggregation's beta table (factor key →
 * estimate), for the given factors only.
 */
export async function loadStoredBetaTable(
  db: Pick<Database, "$client">,
  date: string,
  symbols: readonly string[],
  factors: readonly FactorSpec[],
): Promise<Map<string, Record<string, SymbolFactorBeta>>> {
  if (symbols.length === 0 || factors.length === 0) return new Map();
  // The estimates (packed into one cell: a portfolio's hundreds of betas are one value to decode,
  // not hundreds of rows) and the batch's stored reasons for the betas it could not estimate (so
  // the aggregation's data_quality says `insufficient_data` or `stale_prices`, not a bare "no
  // betas"), in one read. Only the factors asked for (a drill-down reads one of twelve).
  const args = [date, JSON.stringify([...new Set(symbols)]), JSON.stringify(factors.map((factor) => factor.id))];
  const [betas, gaps] = await readTogether(db, [
    {
      sql: `select ${packedBetasColumn} from symbol_factor_exposures b where b.calculation_date = ?1
        and b.symbol in (select value from json_each(?2)) and b.factor_id in (select value from json_each(?3))`,
      args,
    },
    {
      sql: `select g.symbol, g.factor_id, g.calculation_date, g.reason, g.observations, g.detail
        from symbol_beta_gaps g where g.calculation_date = ?1
          and g.symbol in (select value from json_each(?2)) and g.factor_id in (select value from json_each(?3))`,
      args,
    },
  ]);
  return betaTableFrom(storedBetasFrom(betas), storedGapsFrom(gaps), factors);
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

/**
 * `storedBetasFrom`'s columns of `symbol_factor_exposures b`, packed by SQLite into one text cell
 * (worker/db/compact.ts: numbers as exact text, NULL as '', ',' between fields and ';' between
 * rows; symbols, dates, flags and methods hold neither). A portfolio's 600 betas cross Hrana as
 * one cell instead of 600 rows of 12, whose decoding was a quarter of the risk route's CPU.
 * Use as `select ${packedBetasColumn} from … symbol_factor_exposures b where …`.
 */
export const packedBetasColumn = packedRowsSql([
  "b.symbol",
  "b.factor_id",
  "b.calculation_date",
  exactTextSql("b.beta_value"),
  exactTextSql("b.raw_beta_value"),
  exactTextSql("b.r_squared"),
  "b.observations",
  "b.quality_flag",
  "b.calculation_method",
  exactTextSql("b.regularization_alpha"),
  "b.regression_window_days",
  exactTextSql("b.standard_error"),
]);

/** The stored betas of a `packedBetasColumn` statement (one row, one cell; NULL without any). */
export function storedBetasFrom(result: ResultSet | undefined): StoredBetaRow[] {
  return packedLines(result?.rows[0]?.[0]).map((field) => ({
    symbol: field[0] ?? "",
    factorId: Number(field[1]),
    calculationDate: field[2] ?? "",
    betaValue: Number(field[3]),
    rawBetaValue: packedNumber(field[4]),
    rSquared: packedNumber(field[5]),
    observations: Number(field[6]),
    qualityFlag: field[7] as QualityFlag,
    calculationMethod: field[8] as FactorMethod,
    regularizationAlpha: packedNumber(field[9]),
    regressionWindowDays: Number(field[10]),
    standardError: packedNumber(field[11]),
  }));
}

export function storedGapsFrom(result: ResultSet | undefined): StoredGapRow[] {
  return (result?.rows ?? []).map((row) => ({
    symbol: String(row[0]),
    factorId: Number(row[1]),
    calculationDate: String(row[2]),
    reason: String(row[3]) as BetaGapReason,
    observations: row[4] === null || row[4] === undefined ? null : Number(row[4]),
    detail: String(row[5]),
  }));
}
