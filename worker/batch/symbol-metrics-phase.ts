// Phases 2 and 5 of the daily batch for one chunk of symbols.
//
// Phase 2, symbol returns and metrics: the dashboard row (`symbol_daily_metrics`) of every
// symbol of the chunk that has a close on the date — price, trailing returns, profile fields
// and the quality score (worker/factors/symbol-metrics.ts). A symbol without a close on the
// date gets no row (it is not trading that day) and is reported.
//
// Phase 5, denormalize: the date's betas (phase 3) into the row's `factor_<key>` columns, so
// the table sorts on an index, and the quality score recomputed with them. The betas shown
// are the ones calculated for that date: a factor missing on the date is null, never an
// older beta.
//
// Both write only rows whose values differ, in one transaction per chunk.
import { and, eq, getTableColumns, inArray, lt, max } from "drizzle-orm";
import { companyProfiles, marketPrices, symbolDailyMetrics, symbolFactorExposures } from "../../schema/index.ts";
import { addDays } from "../dates.ts";
import { loadActiveFactors } from "../db/factors.ts";
import { loadClosesBySymbol } from "../db/prices.ts";
import { runWrites } from "../db/transaction.ts";
import { upsertStatements } from "../db/upsert.ts";
import type { Database } from "../db/client.ts";
import {
  computeSymbolMetrics,
  dataQualityScore,
  maxBaseAgeDays,
  type SymbolMetrics,
} from "../factors/symbol-metrics.ts";
import type { FactorSpec } from "../factors/types.ts";

export interface SymbolChunk {
  calculationDate: string;
  symbols: readonly string[];
}

export interface SymbolMetricsCounts {
  symbolsTotal: number;
  rowsWritten: number;
  rowsUnchanged: number;
  /** Symbols without a close on the date: no row. */
  symbolsWithoutClose: number;
}

export interface DenormalizeCounts {
  rowsTotal: number;
  rowsUpdated: number;
  /** Factors whose key has no `factor_<key>` column (a factor added as data, not yet as a column). */
  factorsWithoutColumn: string[];
}

type MetricsRow = typeof symbolDailyMetrics.$inferInsert;

const metricsColumns = getTableColumns(symbolDailyMetrics);
/** Factor key → the drizzle property of its `factor_<key>` column, for the columns that exist. */
const factorColumnProperty = new Map(
  Object.entries(metricsColumns)
    .filter(([, column]) => column.name.startsWith("factor_"))
    .map(([property, column]) => [column.name.slice("factor_".length), property as keyof MetricsRow]),
);

async function betasOnDate(db: Database, chunk: SymbolChunk): Promise<Map<string, Map<number, number>>> {
  const rows = await db
    .select({
      symbol: symbolFactorExposures.symbol,
      factorId: symbolFactorExposures.factorId,
      beta: symbolFactorExposures.betaValue,
    })
    .from(symbolFactorExposures)
    .where(
      and(
        eq(symbolFactorExposures.calculationDate, chunk.calculationDate),
        inArray(symbolFactorExposures.symbol, [...chunk.symbols]),
      ),
    );
  const bySymbol = new Map<string, Map<number, number>>();
  for (const row of rows) {
    const betas = bySymbol.get(row.symbol) ?? new Map<number, number>();
    betas.set(row.factorId, row.beta);
    bySymbol.set(row.symbol, betas);
  }
  return bySymbol;
}

function factorColumns(factors: readonly FactorSpec[], betas: Map<number, number> | undefined): Partial<MetricsRow> {
  const columns: Partial<MetricsRow> = {};
  for (const factor of factors) {
    const property = factorColumnProperty.get(factor.key);
    if (property) (columns as Record<string, number | null>)[property] = betas?.get(factor.id) ?? null;
  }
  return columns;
}

function ownFields(
  row: Pick<
    SymbolMetrics,
    | "currentPrice"
    | "return1d"
    | "returnMtd"
    | "returnYtd"
    | "return1m"
    | "return3m"
    | "return1y"
    | "companyName"
    | "sector"
    | "industry"
    | "marketCap"
    | "enterpriseValue"
    | "peRatio"
    | "psRatio"
    | "pbRatio"
  >,
): unknown[] {
  return [
    row.currentPrice,
    row.return1d,
    row.returnMtd,
    row.returnYtd,
    row.return1m,
    row.return3m,
    row.return1y,
    row.companyName,
    row.sector,
    row.industry,
    row.marketCap,
    row.enterpriseValue,
    row.peRatio,
    row.psRatio,
    row.pbRatio,
  ];
}

/** All rows in one transaction, touching only rows whose values differ; returns the rows written. */
async function upsertMetrics(db: Database, rows: MetricsRow[]): Promise<number> {
  return (await runWrites(db, upsertStatements(symbolDailyMetrics, ["symbol", "metricsDate"], rows))).written;
}

export async function computeSymbolMetricsChunk(
  db: Database,
  chunk: SymbolChunk,
): Promise<{ counts: SymbolMetricsCounts; withoutClose: string[] }> {
  const symbols = [...new Set(chunk.symbols)];
  const date = chunk.calculationDate;
  // The 1-year base can be up to `maxBaseAgeDays` before the date one year earlier.
  const from = addDays(date, -(366 + maxBaseAgeDays + 1));
  const [factors, closesBySymbol, profiles, previous, betas] = await Promise.all([
    loadActiveFactors(db),
    loadClosesBySymbol(db, symbols, from, date),
    db.select().from(companyProfiles).where(inArray(companyProfiles.symbol, symbols)),
    // The market calendar's previous trading day (SPY's previous close).
    db
      .select({ date: max(marketPrices.date) })
      .from(marketPrices)
      .where(and(eq(marketPrices.symbol, "SPY"), lt(marketPrices.date, date))),
    betasOnDate(db, { calculationDate: date, symbols }),
  ]);
  const profileBySymbol = new Map(profiles.map((profile) => [profile.symbol, profile]));
  const factorKeys = factors.map((factor) => factor.key);

  const rows: MetricsRow[] = [];
  const withoutClose: string[] = [];
  for (const symbol of symbols) {
    const symbolCloses = closesBySymbol.get(symbol) ?? [];
    if (symbolCloses.at(-1)?.date !== date) {
      withoutClose.push(symbol);
      continue;
    }
    const profile = profileBySymbol.get(symbol) ?? null;
    const symbolBetas = betas.get(symbol);
    const metrics = computeSymbolMetrics({
      symbol,
      metricsDate: date,
      closes: symbolCloses,
      previousTradingDate: previous[0]?.date ?? null,
      profile,
      betas: {},
      factorKeys,
    });
    const factorValues = factorColumns(factors, symbolBetas);
    const { factorBetas: _unused, dataQualityScore: _recomputed, ...own } = metrics;
    rows.push({
      ...own,
      ...factorValues,
      dataQualityScore: dataQualityScore(
        ownFields(metrics),
        factors.map((factor) => symbolBetas?.get(factor.id) ?? null),
      ),
    });
  }
  const counts: SymbolMetricsCounts = {
    symbolsTotal: symbols.length,
    rowsWritten: 0,
    rowsUnchanged: 0,
    symbolsWithoutClose: withoutClose.length,
  };
  counts.rowsWritten = await upsertMetrics(db, rows);
  counts.rowsUnchanged = rows.length - counts.rowsWritten;
  return { counts, withoutClose };
}

export async function denormalizeFactorColumns(db: Database, chunk: SymbolChunk): Promise<DenormalizeCounts> {
  const symbols = [...new Set(chunk.symbols)];
  const [factors, stored, betas] = await Promise.all([
    loadActiveFactors(db),
    db
      .select()
      .from(symbolDailyMetrics)
      .where(
        and(eq(symbolDailyMetrics.metricsDate, chunk.calculationDate), inArray(symbolDailyMetrics.symbol, symbols)),
      ),
    betasOnDate(db, { calculationDate: chunk.calculationDate, symbols }),
  ]);
  const rows = stored.map((row) => {
    const symbolBetas = betas.get(row.symbol);
    const { updatedAt: _updatedAt, ...values } = row;
    return {
      ...values,
      ...factorColumns(factors, symbolBetas),
      dataQualityScore: dataQualityScore(
        ownFields(row),
        factors.map((factor) => symbolBetas?.get(factor.id) ?? null),
      ),
    };
  });
  return {
    rowsTotal: rows.length,
    rowsUpdated: await upsertMetrics(db, rows),
    factorsWithoutColumn: factors.filter((factor) => !factorColumnProperty.has(factor.key)).map((factor) => factor.key),
  };
}
