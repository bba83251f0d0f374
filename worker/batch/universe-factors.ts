// Phase 3 of the daily batch for one chunk of symbols: betas of every active factor on the
// calculation date, computed once per symbol from the closes stored in libSQL and written
// to `symbol_factor_exposures`. Idempotent: writes are upserts on the natural key that touch
// only rows whose values differ, and all of a chunk's writes are one transaction.
import { and, eq, inArray } from "drizzle-orm";
import { symbolFactorExposures } from "../../schema/index.ts";
import { addDays } from "../dates.ts";
import { loadActiveFactors } from "../db/factors.ts";
import { loadCloseRows } from "../db/prices.ts";
import { runWrites } from "../db/transaction.ts";
import { upsertStatements } from "../db/upsert.ts";
import type { Database } from "../db/client.ts";
import { buildFactorEngineInput, computeUniverseBetas } from "../factors/engine.ts";
import type { FactorSpec, MissingBetaReason } from "../factors/types.ts";

export interface UniverseFactorsChunk {
  calculationDate: string;
  symbols: readonly string[];
  /** Recompute symbols that already have betas stored for the date. */
  forceRerun: boolean;
}

/** Why a symbol of the chunk has no beta for a factor (or none at all). */
export type UniverseFactorsMissingReason = MissingBetaReason | "no_prices";

export interface UniverseFactorsMissing {
  symbol: string;
  /** Null when the reason concerns the symbol as a whole. */
  factorKey: string | null;
  reason: UniverseFactorsMissingReason;
  detail: string;
}

export interface UniverseFactorsCounts {
  symbolsTotal: number;
  symbolsComputed: number;
  /** Already stored for the date and not forced. */
  symbolsSkipped: number;
  betasEstimated: number;
  betasMissing: number;
  rowsWritten: number;
  rowsUnchanged: number;
  rowsDeleted: number;
}

export interface UniverseFactorsResult {
  counts: UniverseFactorsCounts;
  missing: UniverseFactorsMissing[];
}

/** Calendar days loaded before the window: the close before the window's first return. */
const priceLookbackDays = 10;

/** Every symbol a factor regresses on, plus the market reference that defines the calendar. */
function factorInputSymbols(factors: readonly FactorSpec[]): string[] {
  const symbols = new Set<string>(["SPY"]);
  for (const factor of factors) {
    for (const symbol of [factor.inputSymbol, factor.longSymbol, factor.shortSymbol]) if (symbol) symbols.add(symbol);
  }
  return [...symbols];
}

export async function computeUniverseFactorsChunk(db: Database, chunk: UniverseFactorsChunk): Promise<UniverseFactorsResult> {
  const requested = [...new Set(chunk.symbols)];
  const factors = await loadActiveFactors(db);
  const stored = chunk.forceRerun
    ? new Set<string>()
    : new Set(
        (
          await db
            .selectDistinct({ symbol: symbolFactorExposures.symbol })
            .from(symbolFactorExposures)
            .where(and(eq(symbolFactorExposures.calculationDate, chunk.calculationDate), inArray(symbolFactorExposures.symbol, requested)))
        ).map((row) => row.symbol),
      );
  const toCompute = requested.filter((symbol) => !stored.has(symbol));
  const counts: UniverseFactorsCounts = {
    symbolsTotal: requested.length,
    symbolsComputed: 0,
    symbolsSkipped: requested.length - toCompute.length,
    betasEstimated: 0,
    betasMissing: 0,
    rowsWritten: 0,
    rowsUnchanged: 0,
    rowsDeleted: 0,
  };
  const missing: UniverseFactorsMissing[] = [];
  if (toCompute.length === 0 || factors.length === 0) return { counts, missing };

  const windowDays = Math.max(...factors.map((factor) => factor.windowDays));
  const from = addDays(chunk.calculationDate, -(windowDays + priceLookbackDays));
  const priceSymbols = [...new Set([...toCompute, ...factorInputSymbols(factors)])];
  const prices = await loadCloseRows(db, priceSymbols, from, chunk.calculationDate);
  const { input } = buildFactorEngineInput(prices, factors);
  const universe = computeUniverseBetas(input, chunk.calculationDate);

  const rows: (typeof symbolFactorExposures.$inferInsert)[] = [];
  const staleFactorIds = new Map<string, number[]>();
  for (const symbol of toCompute) {
    const symbolBetas = universe.symbolBetasFor(symbol);
    if (!symbolBetas) {
      missing.push({ symbol, factorKey: null, reason: "no_prices", detail: `no closes between ${from} and ${chunk.calculationDate}` });
      continue;
    }
    counts.symbolsComputed++;
    for (const factor of factors) {
      const beta = symbolBetas.betas[factor.key];
      if (!beta || beta.status === "missing") {
        counts.betasMissing++;
        staleFactorIds.set(symbol, [...(staleFactorIds.get(symbol) ?? []), factor.id]);
        missing.push({
          symbol,
          factorKey: factor.key,
          reason: beta?.reason ?? "no_factor_data",
          detail: beta?.detail ?? "the engine returned no result for this factor",
        });
        continue;
      }
      counts.betasEstimated++;
      rows.push({
        symbol,
        factorId: factor.id,
        calculationDate: chunk.calculationDate,
        betaValue: beta.beta,
        rawBetaValue: beta.rawBeta === beta.beta ? null : beta.rawBeta,
        rSquared: beta.rSquared,
        observations: beta.observations,
        qualityFlag: beta.qualityFlag,
        calculationMethod: beta.method,
        regularizationAlpha: beta.regularizationAlpha,
        regressionWindowDays: beta.windowDays,
      });
    }
  }

  const upserts = upsertStatements(symbolFactorExposures, ["symbol", "factorId", "calculationDate"], rows);
  // A beta now missing (e.g. a rerun after a price correction) must not survive as a stale row.
  const deletions = [...staleFactorIds].map(([symbol, factorIds]) =>
    db
      .delete(symbolFactorExposures)
      .where(
        and(
          eq(symbolFactorExposures.symbol, symbol),
          inArray(symbolFactorExposures.factorId, factorIds),
          eq(symbolFactorExposures.calculationDate, chunk.calculationDate),
        ),
      )
      .returning({ id: symbolFactorExposures.id }),
  );
  const { written, deleted } = await runWrites(db, upserts, deletions);
  counts.rowsWritten = written;
  counts.rowsUnchanged = rows.length - written;
  counts.rowsDeleted = deleted;
  return { counts, missing };
}
