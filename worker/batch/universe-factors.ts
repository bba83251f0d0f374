// Phase 3 of the daily batch for one chunk of symbols: betas of every active factor on the
// calculation date (each with its standard error), computed once per symbol from the closes
// stored in libSQL and written to `symbol_factor_exposures`. Idempotent: writes are upserts on
// the natural key that touch only rows whose values differ, and all of a chunk's writes are one
// transaction.
//
// Every beta it cannot estimate is stored in `symbol_beta_gaps` with its reason and figures
// (docs/design.md §4.5): `insufficient_data` (observations and the minimum), `degenerate`,
// `no_factor_data`, `stale_prices` (the last close, when it is more than
// `stalePriceTradingDays` trading days before the date: no betas at all for the date),
// `no_prices` (no close in the window: not listed yet, or long gone). A symbol the chunk
// recomputes has its old gaps and betas of the date replaced, so nothing stale survives.
//
// Stored betas are skipped (`already_stored`) unless the run forces them or a price revision
// marked them stale (`stale_betas`, see ./revisions.ts): those are recomputed and counted in
// `recomputed_stale`.
//
// Which symbols a chunk can compute at all (`no_prices`, `stale_prices`) and which stale marks
// force a recompute are decided here for every symbol phase (`symbolCloseStatuses`,
// `loadStaleMarks`; the risk model phase, ./risk-model-phase.ts, decides alike).
import { and, eq, inArray, lte, max, or, sql } from "drizzle-orm";
import { marketPrices, staleBetas, symbolBetaGaps, symbolFactorExposures } from "../../schema/index.ts";
import type { BetaGapReason } from "../../schema/index.ts";
import { addDays } from "../dates.ts";
import { loadActiveFactors } from "../db/factors.ts";
import { loadCloseRows } from "../db/prices.ts";
import { runTransaction } from "../db/transaction.ts";
import { upsertStatements } from "../db/upsert.ts";
import type { Database } from "../db/client.ts";
import { buildFactorEngineInput, computeUniverseBetas } from "../factors/engine.ts";
import type { RejectedPrice } from "../factors/engine.ts";
import type { MissingBetaReason } from "../factors/types.ts";
import { chunk as chunked } from "../chunk.ts";
import { factorInputSymbols } from "../factors/factor-specs.ts";
import { marketReferenceSymbol } from "./calendar.ts";
import { defaultBatchConfig } from "./config.ts";

export interface UniverseFactorsChunk {
  calculationDate: string;
  symbols: readonly string[];
  /** Recompute symbols that already have betas stored for the date. */
  forceRerun: boolean;
  /** No betas when the last close is more than this many trading days old; default 5. */
  stalePriceTradingDays?: number;
  /** Daily moves beyond this factor either way are not used as returns; default 5. */
  maxDailyMove?: number;
}

/** Why a symbol of the chunk has no beta for a factor (or none at all). */
export type UniverseFactorsMissingReason = MissingBetaReason | "no_prices" | "stale_prices";

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
  /** Symbols recomputed because a price revision marked their stored betas stale. */
  recomputedStale: number;
}

export interface UniverseFactorsResult {
  counts: UniverseFactorsCounts;
  missing: UniverseFactorsMissing[];
  /** Returns the engine did not use (e.g. `suspect_move`), for the phase's issues. */
  rejectedReturns: RejectedPrice[];
}

/** Calendar days loaded before the window: the close before the window's first return. */
const priceLookbackDays = 10;

export async function computeUniverseFactorsChunk(
  db: Database,
  chunk: UniverseFactorsChunk,
): Promise<UniverseFactorsResult> {
  const requested = [...new Set(chunk.symbols)];
  const date = chunk.calculationDate;
  const staleAfter = chunk.stalePriceTradingDays ?? defaultBatchConfig.stalePriceTradingDays;
  const factors = await loadActiveFactors(db);
  // Stored betas, stored reasons (a symbol without any beta is computed too) and stale marks, read together.
  const [storedRows, gapRows, isStale] = chunk.forceRerun
    ? [[], [], () => false]
    : await Promise.all([
        db
          .selectDistinct({ symbol: symbolFactorExposures.symbol })
          .from(symbolFactorExposures)
          .where(
            and(eq(symbolFactorExposures.calculationDate, date), inArray(symbolFactorExposures.symbol, requested)),
          ),
        db
          .selectDistinct({ symbol: symbolBetaGaps.symbol })
          .from(symbolBetaGaps)
          .where(and(eq(symbolBetaGaps.calculationDate, date), inArray(symbolBetaGaps.symbol, requested))),
        loadStaleMarks(db, date, requested),
      ]);
  const stored = new Set([...storedRows, ...gapRows].map((row) => row.symbol));
  const toCompute = requested.filter((symbol) => !stored.has(symbol) || isStale(symbol));
  const counts: UniverseFactorsCounts = {
    symbolsTotal: requested.length,
    symbolsComputed: 0,
    symbolsSkipped: requested.length - toCompute.length,
    betasEstimated: 0,
    betasMissing: 0,
    rowsWritten: 0,
    rowsUnchanged: 0,
    rowsDeleted: 0,
    recomputedStale: toCompute.filter((symbol) => stored.has(symbol)).length,
  };
  const missing: UniverseFactorsMissing[] = [];
  if (toCompute.length === 0 || factors.length === 0) return { counts, missing, rejectedReturns: [] };

  const windowDays = Math.max(...factors.map((factor) => factor.windowDays));
  const from = addDays(date, -(windowDays + priceLookbackDays));
  const priceSymbols = [...new Set([...toCompute, marketReferenceSymbol, ...factorInputSymbols(factors)])];
  const prices = await loadCloseRows(db, priceSymbols, from, date);
  const { input, rejectedPrices } = buildFactorEngineInput(prices, factors, {
    maxDailyMove: chunk.maxDailyMove ?? defaultBatchConfig.maxDailyMove,
  });
  const universe = computeUniverseBetas(input, date);
  // Each symbol's unused returns are reported by the chunk that computes it (a factor input's
  // affect every symbol, but are listed once); off-calendar closes are not news.
  const wanted = new Set(toCompute);
  const rejectedReturns = rejectedPrices.filter(
    (rejected) => wanted.has(rejected.symbol) && rejected.reason !== "off_calendar",
  );

  const closeStatus = await symbolCloseStatuses(db, {
    calculationDate: date,
    symbols: toCompute,
    prices,
    stalePriceTradingDays: staleAfter,
    windowDays,
  });

  const rows: (typeof symbolFactorExposures.$inferInsert)[] = [];
  const gaps: (typeof symbolBetaGaps.$inferInsert)[] = [];
  const gapOfEveryFactor = (symbol: string, reason: BetaGapReason, detail: string, lastCloseDate: string | null) => {
    missing.push({ symbol, factorKey: null, reason, detail });
    for (const factor of factors) {
      gaps.push({
        symbol,
        factorId: factor.id,
        calculationDate: date,
        reason,
        observations: null,
        minObservations: null,
        lastCloseDate,
        detail,
      });
    }
  };
  for (const symbol of toCompute) {
    const status = closeStatus.get(symbol) ?? noCloseStatus(symbol);
    if (status.status !== "current") {
      gapOfEveryFactor(symbol, status.status, status.detail, status.lastClose);
      continue;
    }
    const last = status.lastClose;
    const symbolBetas = universe.symbolBetasFor(symbol);
    if (!symbolBetas) {
      gapOfEveryFactor(symbol, "no_prices", noUsableCloseDetail(symbol, from, date), last);
      continue;
    }
    counts.symbolsComputed++;
    for (const factor of factors) {
      const beta = symbolBetas.betas[factor.key];
      if (!beta || beta.status === "missing") {
        counts.betasMissing++;
        const reason = beta?.reason ?? "no_factor_data";
        const detail = beta?.detail ?? "the engine returned no result for this factor";
        missing.push({ symbol, factorKey: factor.key, reason, detail });
        gaps.push({
          symbol,
          factorId: factor.id,
          calculationDate: date,
          reason,
          observations: beta?.observations ?? null,
          minObservations: reason === "insufficient_data" ? factor.minObservations : null,
          lastCloseDate: null,
          detail,
        });
        continue;
      }
      counts.betasEstimated++;
      rows.push({
        symbol,
        factorId: factor.id,
        calculationDate: date,
        betaValue: beta.beta,
        rawBetaValue: beta.rawBeta === beta.beta ? null : beta.rawBeta,
        standardError: beta.standardError,
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
  const estimatedKeys = new Set(rows.map((row) => `${row.symbol}\u0000${row.factorId}`));
  // A beta now missing (a rerun after a price correction, a symbol gone stale) must not survive as a stale row.
  const missingBySymbol = new Map<string, number[]>();
  for (const gap of gaps) {
    if (estimatedKeys.has(`${gap.symbol}\u0000${gap.factorId}`)) continue;
    missingBySymbol.set(gap.symbol, [...(missingBySymbol.get(gap.symbol) ?? []), gap.factorId]);
  }
  const deletions = [...missingBySymbol].map(([symbol, factorIds]) =>
    db
      .delete(symbolFactorExposures)
      .where(
        and(
          eq(symbolFactorExposures.symbol, symbol),
          inArray(symbolFactorExposures.factorId, factorIds),
          eq(symbolFactorExposures.calculationDate, date),
        ),
      )
      .returning({ id: symbolFactorExposures.id }),
  );
  // The recomputed symbols' gaps of the date are replaced whole.
  const gapWrites = [
    db
      .delete(symbolBetaGaps)
      .where(and(eq(symbolBetaGaps.calculationDate, date), inArray(symbolBetaGaps.symbol, toCompute))),
    ...chunked(gaps, 500).map((part) => db.insert(symbolBetaGaps).values(part)),
  ];
  const results = await runTransaction(db, [...upserts, ...deletions, ...gapWrites]);
  const written = results.slice(0, upserts.length).reduce((sum, n) => sum + n, 0);
  counts.rowsWritten = written;
  counts.rowsUnchanged = rows.length - written;
  counts.rowsDeleted = results.slice(upserts.length, upserts.length + deletions.length).reduce((sum, n) => sum + n, 0);
  return { counts, missing, rejectedReturns };
}

/**
 * The stale marks (`stale_betas`, ./revisions.ts) of the date among `symbols`: a symbol phase
 * recomputes a marked symbol as if forced. `*` marks every symbol.
 */
export async function loadStaleMarks(
  db: Database,
  date: string,
  symbols: readonly string[],
): Promise<(symbol: string) => boolean> {
  const rows = await db
    .select({ symbol: staleBetas.symbol })
    .from(staleBetas)
    .where(
      and(
        eq(staleBetas.calculationDate, date),
        or(eq(staleBetas.symbol, "*"), inArray(staleBetas.symbol, [...symbols])),
      ),
    );
  const marked = new Set(rows.map((row) => row.symbol));
  return (symbol) => marked.has("*") || marked.has(symbol);
}

/**
 * Whether a symbol's closes allow computing it on the date, as every symbol phase decides it
 * (docs/design.md §4.5): `current` with its last close; `no_prices` (no close on or before the
 * date: not listed yet — the detail names the first close — or none stored); `stale_prices`
 * (the last close more than the allowed trading days before the date: halted or delisted).
 */
export type SymbolCloseStatus =
  | { status: "current"; lastClose: string }
  | { status: "no_prices"; lastClose: null; detail: string }
  | { status: "stale_prices"; lastClose: string; detail: string };

export interface SymbolCloseStatusInput {
  calculationDate: string;
  symbols: readonly string[];
  /** The closes the phase loaded for its window, the market reference's among them (its dates are the trading days). */
  prices: readonly { symbol: string; date: string }[];
  /** A symbol whose last close is more than this many trading days before the date is stale. */
  stalePriceTradingDays: number;
  /** Calendar days of the window the closes were loaded for (named in a detail). */
  windowDays: number;
}

/** The close status of each of `symbols` (./universe-factors.ts and ./risk-model-phase.ts decide alike). */
export async function symbolCloseStatuses(
  db: Database,
  input: SymbolCloseStatusInput,
): Promise<Map<string, SymbolCloseStatus>> {
  const { calculationDate: date, prices, stalePriceTradingDays: staleAfter, windowDays } = input;
  // Staleness: trading days (the market reference's closes) after each symbol's last close, up to the date.
  const calendar = prices
    .filter((row) => row.symbol === marketReferenceSymbol && row.date <= date)
    .map((row) => row.date);
  const lastCloseInWindow = new Map<string, string>();
  for (const row of prices)
    if (row.date <= date && (lastCloseInWindow.get(row.symbol) ?? "") < row.date)
      lastCloseInWindow.set(row.symbol, row.date);
  const tradingDaysAfter = (last: string) => calendar.filter((day) => day > last).length;
  // Symbols without a close in the loaded range: their last close before it, or none at all.
  const withoutCloses = input.symbols.filter((symbol) => !lastCloseInWindow.has(symbol));
  const earlierClose = new Map<string, string>();
  if (withoutCloses.length > 0) {
    const rows = await db
      .select({ symbol: marketPrices.symbol, last: max(marketPrices.date) })
      .from(marketPrices)
      .where(and(inArray(marketPrices.symbol, withoutCloses), lte(marketPrices.date, date)))
      .groupBy(marketPrices.symbol);
    for (const row of rows) if (row.last !== null) earlierClose.set(row.symbol, row.last);
  }
  const firstCloseAfter = new Map<string, string>();
  const neverListed = withoutCloses.filter((symbol) => !earlierClose.has(symbol));
  if (neverListed.length > 0) {
    const rows = await db
      .select({ symbol: marketPrices.symbol, first: sql<string>`min(${marketPrices.date})` })
      .from(marketPrices)
      .where(inArray(marketPrices.symbol, neverListed))
      .groupBy(marketPrices.symbol);
    for (const row of rows) firstCloseAfter.set(row.symbol, row.first);
  }
  const statuses = new Map<string, SymbolCloseStatus>();
  for (const symbol of input.symbols) {
    const last = lastCloseInWindow.get(symbol) ?? earlierClose.get(symbol) ?? null;
    if (last === null) {
      const first = firstCloseAfter.get(symbol);
      statuses.set(symbol, {
        status: "no_prices",
        lastClose: null,
        detail: first
          ? `no close of ${symbol} on or before ${date}: its first close is on ${first}`
          : `no close of ${symbol} is stored`,
      });
      continue;
    }
    // A symbol whose last close is before the loaded range is stale by far more than any bound.
    const staleDays = lastCloseInWindow.has(symbol) ? tradingDaysAfter(last) : Number.POSITIVE_INFINITY;
    if (staleDays > staleAfter) {
      const behind = Number.isFinite(staleDays) ? `${staleDays} trading days` : `more than ${windowDays} calendar days`;
      statuses.set(symbol, {
        status: "stale_prices",
        lastClose: last,
        detail:
          `${symbol}'s last close is on ${last}, ${behind} before ${date} ` +
          `(the limit is ${staleAfter}): halted or delisted`,
      });
      continue;
    }
    statuses.set(symbol, { status: "current", lastClose: last });
  }
  return statuses;
}

/** A symbol the status was not asked for (never happens: every symbol of the chunk is). */
function noCloseStatus(symbol: string): SymbolCloseStatus {
  return { status: "no_prices", lastClose: null, detail: `no close of ${symbol} is stored` };
}

/** The detail of a symbol with a recent close that the engine still has no returns for. */
export function noUsableCloseDetail(symbol: string, from: string, date: string): string {
  return `no usable close of ${symbol} between ${from} and ${date}`;
}
