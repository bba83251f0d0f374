// Phase 4 of the daily batch (docs/design.md §5 and §11): the risk model of the calculation date.
//
// Every chunk of symbols: each symbol's joint loadings on the active risk factors
// (`risk_factors`), their standard errors, residual variance, R² and observations, from the
// closes of the loadings window (the symbols', the risk factors' legs' and SPY's), written to
// `symbol_risk_loadings`. A symbol without loadings is stored as a row with its reason and
// detail, never as zeros: `insufficient_data`, `degenerate`, `no_factor_data` (the engine's),
// `stale_prices` and `no_prices` (decided before the engine, exactly as universe factors decides
// them: `symbolCloseStatuses` in ./universe-factors.ts). Stored symbols are skipped
// (`already_stored`) unless the run forces them or a price revision marked them stale.
//
// The phase's chunk 0 also does the date's work, whatever its symbols:
//   - factor returns (`factor_returns`): each active risk factor's daily return (kind `risk`) and
//     each active lens factor's regressor (kind `lens`: r_input for ols and ridge, r_long −
//     r_short for spreads), on every date of the loaded range up to the date where it exists;
//   - the factor covariance of the date (`factor_covariances`, per half-life), or its row with
//     the reason `insufficient_history` and the detail when fewer than 60 days have every risk
//     factor's return: reported in the phase's telemetry, never filled.
// Both come from the risk factors' and lens inputs' closes over about 504 trading days (the
// covariance's longest history) before the date, a few symbols only.
//
// Idempotent: every write is an upsert on the natural key that touches only rows whose values
// differ (factor returns are first compared with the stored ones, so an unchanged range sends
// nothing), and a chunk's writes are one transaction. A redelivered chunk writes nothing; a
// forced rerun rewrites only the rows whose numbers changed.
import { and, eq, gte, inArray, lte, sql } from "drizzle-orm";
import { factorCovariances, factorReturns, symbolRiskLoadings } from "../../schema/index.ts";
import type { FactorReturnKind, RiskLoadingReason } from "../../schema/index.ts";
import { addDays } from "../dates.ts";
import { exactText, packedRows } from "../db/compact.ts";
import { loadActiveFactors } from "../db/factors.ts";
import { loadCloseRows } from "../db/prices.ts";
import { loadActiveRiskFactors, riskFactorSymbols } from "../db/risk-factors.ts";
import { runTransaction, type Write } from "../db/transaction.ts";
import { upsertStatements } from "../db/upsert.ts";
import type { Database } from "../db/client.ts";
import { createFactorEngineInput } from "../factors/factor-plan.ts";
import { factorInputSymbols } from "../factors/factor-specs.ts";
import { buildReturnPanelFromPrices, type RejectedPrice } from "../factors/returns.ts";
import {
  computeFactorCovariance,
  computeUniverseRiskLoadings,
  createRiskEngineInput,
  lensFactorReturnSeries,
  riskFactorReturnSeries,
  type FactorCovariance,
  type RiskFactorSpec,
  type SymbolRiskLoadings,
} from "../factors/risk-model.ts";
import { defaultRiskModelSettings, type RiskModelSettings } from "../factors/risk-settings.ts";
import { marketReferenceSymbol } from "./calendar.ts";
import { defaultBatchConfig } from "./config.ts";
import { emptyCounts, recordIssue, type ChunkOutcome, type PhaseIssue } from "./telemetry.ts";
import { loadStaleMarks, noUsableCloseDetail, symbolCloseStatuses } from "./universe-factors.ts";

export interface RiskModelChunk {
  calculationDate: string;
  symbols: readonly string[];
  /** Recompute symbols whose loadings are already stored for the date. */
  forceRerun: boolean;
  /** Also do the date's work (factor returns, covariance): the phase's chunk 0. */
  dateLevel: boolean;
  /** No loadings when the last close is more than this many trading days old; default 5. */
  stalePriceTradingDays?: number;
  /** Daily moves beyond this factor either way are not used as returns; default 5. */
  maxDailyMove?: number;
  /** Half-life of the covariance's weights, trading days; default the risk settings' (90). */
  halfLifeDays?: number;
}

/** A symbol stored without loadings, with its reason. */
export interface RiskModelMissing {
  symbol: string;
  reason: RiskLoadingReason;
  detail: string;
  /** The engine's count of usable dates; null when decided before the engine (stale_prices, no_prices). */
  observations: number | null;
}

export interface RiskModelCounts {
  symbolsTotal: number;
  /** Symbols the engine ran for (estimated, or stored with the engine's reason). */
  symbolsComputed: number;
  /** Already stored for the date and not forced. */
  symbolsSkipped: number;
  loadingsEstimated: number;
  /** Symbols stored without loadings, whatever the reason (the `missing` list). */
  loadingsMissing: number;
  rowsWritten: number;
  rowsUnchanged: number;
  /** Symbols recomputed because a price revision marked them stale. */
  recomputedStale: number;
}

/** What chunk 0 did for the date. */
export interface RiskModelDateWork {
  factorReturnsWritten: number;
  factorReturnsUnchanged: number;
  factorReturnsDeleted: number;
  /** The covariance stored for the date; null without active risk factors (nothing stored). */
  covariance: FactorCovariance | null;
  /** 1 when the covariance row was inserted or changed, 0 when it was already equal. */
  covarianceWritten: number;
}

export interface RiskModelResult {
  counts: RiskModelCounts;
  missing: RiskModelMissing[];
  /** Returns the engine did not use (e.g. `suspect_move`) of the symbols computed, for the phase's issues. */
  rejectedReturns: RejectedPrice[];
  /** Symbols not computed because no risk factor is active (nothing to regress on). */
  withoutFactors: string[];
  /** Chunk 0's date-level work; null on the other chunks. */
  dateWork: RiskModelDateWork | null;
}

/** Calendar days loaded before the loadings window: the close before the window's first return. */
const priceLookbackDays = 10;
/**
 * Calendar days loaded for the covariance beyond `maxCovarianceDays` weekdays: a year has about
 * ten holidays, and a return needs the close before it.
 */
const covarianceSlackDays = 40;

const pricesDecidedReasons: ReadonlySet<RiskLoadingReason> = new Set(["stale_prices", "no_prices"]);

/** The settings the phase estimates with: the defaults, the deployment's half-life. */
export function riskModelSettings(halfLifeDays?: number): RiskModelSettings {
  return { ...defaultRiskModelSettings, ...(halfLifeDays === undefined ? {} : { halfLifeDays }) };
}

/** Calendar days of closes before the date that hold the covariance's longest history. */
export function covarianceLookbackDays(settings: RiskModelSettings): number {
  return Math.ceil((settings.maxCovarianceDays * 7) / 5) + covarianceSlackDays;
}

/** A record keyed by risk factor key, in the factors' order (stored JSON compares as text). */
function byFactorKey(factors: readonly RiskFactorSpec[], values: Readonly<Record<string, number>>) {
  const record: Record<string, number> = {};
  for (const factor of factors) {
    const value = values[factor.key];
    if (value !== undefined) record[factor.key] = value;
  }
  return record;
}

/** What limits an estimate, for the row's detail; null when nothing does. */
function estimateNote(loadings: Extract<SymbolRiskLoadings, { status: "estimated" }>): string | null {
  switch (loadings.qualityFlag) {
    case "ok":
      return null;
    case "limited_history":
      return `${loadings.observations} of ${loadings.factorObservations} days with every factor return`;
    case "degenerate":
      return "the symbol's returns do not vary in the window: loadings about 0, R² undefined";
  }
}

type LoadingRow = typeof symbolRiskLoadings.$inferInsert;

export async function computeRiskModelChunk(db: Database, chunk: RiskModelChunk): Promise<RiskModelResult> {
  const requested = [...new Set(chunk.symbols)];
  const date = chunk.calculationDate;
  const settings = riskModelSettings(chunk.halfLifeDays);
  const staleAfter = chunk.stalePriceTradingDays ?? defaultBatchConfig.stalePriceTradingDays;
  const maxDailyMove = chunk.maxDailyMove ?? defaultBatchConfig.maxDailyMove;
  const [factors, storedRows, isStale] = await Promise.all([
    loadActiveRiskFactors(db),
    chunk.forceRerun || requested.length === 0
      ? []
      : db
          .select({ symbol: symbolRiskLoadings.symbol })
          .from(symbolRiskLoadings)
          .where(and(eq(symbolRiskLoadings.calculationDate, date), inArray(symbolRiskLoadings.symbol, requested))),
    chunk.forceRerun || requested.length === 0 ? () => false : loadStaleMarks(db, date, requested),
  ]);
  const stored = new Set(storedRows.map((row) => row.symbol));
  const toCompute = requested.filter((symbol) => !stored.has(symbol) || isStale(symbol));
  const counts: RiskModelCounts = {
    symbolsTotal: requested.length,
    symbolsComputed: 0,
    symbolsSkipped: requested.length - toCompute.length,
    loadingsEstimated: 0,
    loadingsMissing: 0,
    rowsWritten: 0,
    rowsUnchanged: 0,
    recomputedStale: toCompute.filter((symbol) => stored.has(symbol)).length,
  };
  const result: RiskModelResult = { counts, missing: [], rejectedReturns: [], withoutFactors: [], dateWork: null };
  if (factors.length === 0) {
    result.withoutFactors = toCompute;
    counts.recomputedStale = 0;
  }

  const rows: LoadingRow[] = [];
  if (toCompute.length > 0 && factors.length > 0) {
    const from = addDays(date, -(settings.windowDays + priceLookbackDays));
    const priceSymbols = [...new Set([...toCompute, marketReferenceSymbol, ...riskFactorSymbols(factors)])];
    const prices = await loadCloseRows(db, priceSymbols, from, date);
    const { panel, rejectedPrices } = buildReturnPanelFromPrices(prices, { maxDailyMove });
    const table = computeUniverseRiskLoadings(createRiskEngineInput(panel, factors, settings), date);
    const wanted = new Set(toCompute);
    result.rejectedReturns = rejectedPrices.filter(
      (rejected) => wanted.has(rejected.symbol) && rejected.reason !== "off_calendar",
    );
    const closeStatus = await symbolCloseStatuses(db, {
      calculationDate: date,
      symbols: toCompute,
      prices,
      stalePriceTradingDays: staleAfter,
      windowDays: settings.windowDays,
    });
    const missingRow = (entry: RiskModelMissing, factorObservations: number | null): LoadingRow => {
      result.missing.push(entry);
      counts.loadingsMissing++;
      return {
        symbol: entry.symbol,
        calculationDate: date,
        qualityFlag: null,
        reason: entry.reason,
        loadings: null,
        standardErrors: null,
        residualVariance: null,
        rSquared: null,
        observations: entry.observations,
        factorObservations,
        windowDays: settings.windowDays,
        detail: entry.detail,
      };
    };
    for (const symbol of toCompute) {
      const status = closeStatus.get(symbol);
      if (status === undefined || status.status !== "current") {
        const reason = status?.status ?? "no_prices";
        const detail = status?.detail ?? `no close of ${symbol} is stored`;
        rows.push(missingRow({ symbol, reason, detail, observations: null }, null));
        continue;
      }
      const loadings = table.loadingsFor(symbol);
      if (!loadings) {
        rows.push(
          missingRow(
            { symbol, reason: "no_prices", detail: noUsableCloseDetail(symbol, from, date), observations: null },
            null,
          ),
        );
        continue;
      }
      counts.symbolsComputed++;
      if (loadings.status === "missing") {
        const entry = { symbol, reason: loadings.reason, detail: loadings.detail, observations: loadings.observations };
        rows.push(missingRow(entry, loadings.factorObservations));
        continue;
      }
      counts.loadingsEstimated++;
      rows.push({
        symbol,
        calculationDate: date,
        qualityFlag: loadings.qualityFlag,
        reason: null,
        loadings: byFactorKey(factors, loadings.loadings),
        standardErrors: byFactorKey(factors, loadings.standardErrors),
        residualVariance: loadings.residualVariance,
        rSquared: loadings.rSquared,
        observations: loadings.observations,
        factorObservations: loadings.factorObservations,
        windowDays: settings.windowDays,
        detail: estimateNote(loadings),
      });
    }
  }

  const loadingUpserts = upsertStatements(symbolRiskLoadings, ["symbol", "calculationDate"], rows);
  const dateWrites = chunk.dateLevel ? await dateLevelWrites(db, date, factors, settings, maxDailyMove) : null;
  const writes: Write[] = [
    ...loadingUpserts,
    ...(dateWrites?.returnUpserts ?? []),
    ...(dateWrites?.returnDeletions ?? []),
    ...(dateWrites?.covarianceUpserts ?? []),
  ];
  const results = await runTransaction(db, writes);
  const sum = (from: number, length: number) => results.slice(from, from + length).reduce((total, n) => total + n, 0);
  counts.rowsWritten = sum(0, loadingUpserts.length);
  counts.rowsUnchanged = rows.length - counts.rowsWritten;
  if (dateWrites) {
    let at = loadingUpserts.length;
    const returnsWritten = sum(at, dateWrites.returnUpserts.length);
    at += dateWrites.returnUpserts.length;
    const returnsDeleted = sum(at, dateWrites.returnDeletions.length);
    at += dateWrites.returnDeletions.length;
    result.dateWork = {
      factorReturnsWritten: returnsWritten,
      factorReturnsUnchanged: dateWrites.returnsComputed - returnsWritten,
      factorReturnsDeleted: returnsDeleted,
      covariance: dateWrites.covariance,
      covarianceWritten: sum(at, dateWrites.covarianceUpserts.length),
    };
  }
  return result;
}

interface DateLevelWrites {
  returnUpserts: Write[];
  returnDeletions: Write[];
  /** Factor returns computed for the range (written or already equal). */
  returnsComputed: number;
  covarianceUpserts: Write[];
  covariance: FactorCovariance | null;
}

interface ReturnSeriesSet {
  kind: FactorReturnKind;
  keys: readonly string[];
  series: readonly Float64Array[];
}

/** Chunk 0's writes: the range's factor returns that differ from the stored ones, and the covariance. */
async function dateLevelWrites(
  db: Database,
  date: string,
  factors: readonly RiskFactorSpec[],
  settings: RiskModelSettings,
  maxDailyMove: number,
): Promise<DateLevelWrites> {
  const lensFactors = await loadActiveFactors(db);
  const symbols = [
    ...new Set([marketReferenceSymbol, ...riskFactorSymbols(factors), ...factorInputSymbols(lensFactors)]),
  ];
  const prices = await loadCloseRows(db, symbols, addDays(date, -covarianceLookbackDays(settings)), date);
  const { panel } = buildReturnPanelFromPrices(prices, { maxDailyMove });
  const sets: ReturnSeriesSet[] = [];
  let covariance: FactorCovariance | null = null;
  if (factors.length > 0) {
    const input = createRiskEngineInput(panel, factors, settings);
    covariance = computeFactorCovariance(input, date);
    sets.push({ kind: "risk", ...riskFactorReturnSeries(input) });
  }
  if (lensFactors.length > 0)
    sets.push({ kind: "lens", ...lensFactorReturnSeries(createFactorEngineInput(panel, lensFactors)) });
  const returns = await factorReturnChanges(db, panel.calendar, date, sets);
  const covarianceUpserts =
    covariance === null
      ? []
      : upsertStatements(
          factorCovariances,
          ["calculationDate", "halfLifeDays"],
          [
            covariance.status === "estimated"
              ? {
                  calculationDate: date,
                  halfLifeDays: covariance.halfLifeDays,
                  factorKeys: covariance.factorKeys,
                  matrix: covariance.matrix,
                  observations: covariance.observations,
                  firstDate: covariance.firstDate,
                  lastDate: covariance.lastDate,
                  reason: null,
                  detail: null,
                }
              : {
                  calculationDate: date,
                  halfLifeDays: covariance.halfLifeDays,
                  factorKeys: covariance.factorKeys,
                  matrix: null,
                  observations: covariance.observations,
                  firstDate: null,
                  lastDate: null,
                  reason: covariance.reason,
                  detail: covariance.detail,
                },
          ],
        );
  return { ...returns, covarianceUpserts, covariance };
}

/**
 * The factor returns of the calendar up to `date`, compared with the stored ones: upserts of
 * those new or different, deletions of stored ones that no longer exist (a close corrected into
 * a suspect move, say). The calendar's first day has no return here (its previous close is not
 * loaded), so its stored rows are left alone.
 */
async function factorReturnChanges(
  db: Database,
  calendar: readonly string[],
  date: string,
  sets: readonly ReturnSeriesSet[],
): Promise<Pick<DateLevelWrites, "returnUpserts" | "returnDeletions" | "returnsComputed">> {
  const first = calendar[0];
  if (first === undefined || sets.length === 0) return { returnUpserts: [], returnDeletions: [], returnsComputed: 0 };
  const storedRows = await db
    .select({
      kind: factorReturns.kind,
      key: factorReturns.factorKey,
      values: packedRows([sql`${factorReturns.date}`, exactText(factorReturns.value)]),
    })
    .from(factorReturns)
    .where(and(gte(factorReturns.date, first), lte(factorReturns.date, date)))
    .groupBy(factorReturns.kind, factorReturns.factorKey);
  const stored = new Map<string, Map<string, number>>();
  for (const row of storedRows) stored.set(`${row.kind}\u0000${row.key}`, parseStoredReturns(row.values));
  const upserts: (typeof factorReturns.$inferInsert)[] = [];
  const deletions: Write[] = [];
  let computed = 0;
  for (const set of sets) {
    set.keys.forEach((key, k) => {
      const series = set.series[k];
      if (series === undefined) return;
      const storedValues = stored.get(`${set.kind}\u0000${key}`) ?? new Map<string, number>();
      const present = new Set<string>();
      for (const [t, day] of calendar.entries()) {
        if (day > date) break;
        const value = series[t];
        if (value === undefined || Number.isNaN(value)) continue;
        present.add(day);
        computed++;
        if (storedValues.get(day) !== value) upserts.push({ kind: set.kind, factorKey: key, date: day, value });
      }
      const gone = [...storedValues.keys()].filter((day) => day > first && !present.has(day));
      if (gone.length > 0)
        deletions.push(
          db
            .delete(factorReturns)
            .where(
              and(
                eq(factorReturns.kind, set.kind),
                eq(factorReturns.factorKey, key),
                sql`${factorReturns.date} in (select value from json_each(${JSON.stringify(gone)}))`,
              ),
            )
            .returning({ date: factorReturns.date }),
        );
    });
  }
  return {
    returnUpserts: upsertStatements(factorReturns, ["kind", "factorKey", "date"], upserts),
    returnDeletions: deletions,
    returnsComputed: computed,
  };
}

/** `date,value;…` as written by `packedRows` (values exact, ./compact.ts). */
function parseStoredReturns(text: string | null): Map<string, number> {
  const values = new Map<string, number>();
  if (!text) return values;
  for (const entry of text.split(";")) {
    const comma = entry.indexOf(",");
    if (comma > 0) values.set(entry.slice(0, comma), Number(entry.slice(comma + 1)));
  }
  return values;
}

/** The chunk's telemetry: per symbol computed, skipped or failed with reasons; the date's work when chunk 0. */
export function riskModelOutcome(result: RiskModelResult, durationMs: number): ChunkOutcome {
  const counts = emptyCounts("symbols", result.counts.symbolsTotal);
  const issues: PhaseIssue[] = [];
  counts.computed = result.counts.symbolsComputed;
  if (result.counts.symbolsSkipped > 0) {
    counts.skipped = result.counts.symbolsSkipped;
    counts.skipped_reasons["already_stored"] = result.counts.symbolsSkipped;
  }
  for (const symbol of result.withoutFactors) {
    recordIssue(counts, issues, {
      item: symbol,
      kind: "skipped",
      reason: "no_risk_factors",
      detail: "no risk factor is active (risk_factors): nothing to regress on",
    });
  }
  counts.loadings_estimated = result.counts.loadingsEstimated;
  counts.loadings_missing = result.counts.loadingsMissing;
  counts.loadings_missing_reasons = {};
  for (const missing of result.missing) {
    counts.loadings_missing_reasons[missing.reason] = (counts.loadings_missing_reasons[missing.reason] ?? 0) + 1;
    const issue = { item: missing.symbol, reason: missing.reason, detail: missing.detail };
    // No usable closes: the symbol failed. The engine's reasons: computed, stored without loadings, listed.
    if (pricesDecidedReasons.has(missing.reason)) recordIssue(counts, issues, { ...issue, kind: "failed" });
    else issues.push({ ...issue, kind: "skipped" });
  }
  counts.rows_stored = result.counts.rowsWritten;
  counts.rows_unchanged = result.counts.rowsUnchanged;
  counts.recomputed_stale = result.counts.recomputedStale;
  counts.returns_rejected = result.rejectedReturns.length;
  for (const rejected of result.rejectedReturns) {
    // Listed, not counted as skipped symbols: the symbol's loadings were computed without that return.
    issues.push({
      item: rejected.symbol,
      kind: "skipped",
      reason: rejected.reason,
      detail: `${rejected.date}: ${rejected.detail}`,
    });
  }
  const work = result.dateWork;
  if (work) {
    counts.factor_returns_stored = work.factorReturnsWritten;
    counts.factor_returns_unchanged = work.factorReturnsUnchanged;
    counts.factor_returns_deleted = work.factorReturnsDeleted;
    if (work.covariance) {
      counts.covariance = work.covariance.status === "estimated" ? "estimated" : work.covariance.reason;
      counts.covariance_observations = work.covariance.observations;
      counts.covariance_stored = work.covarianceWritten;
      if (work.covariance.status === "missing") {
        issues.push({
          item: "factor_covariance",
          kind: "skipped",
          reason: work.covariance.reason,
          detail: work.covariance.detail,
        });
      }
    } else {
      counts.covariance = "no_factors";
      counts.covariance_observations = 0;
      counts.covariance_stored = 0;
      issues.push({
        item: "factor_covariance",
        kind: "skipped",
        reason: "no_factors",
        detail: "no risk factor is active (risk_factors): no covariance stored",
      });
    }
  }
  return { counts, issues, duration_ms: durationMs };
}

/** One chunk of the phase, as the orchestrator runs it. */
export async function runRiskModelChunk(db: Database, chunk: RiskModelChunk): Promise<ChunkOutcome> {
  const started = Date.now();
  const result = await computeRiskModelChunk(db, chunk);
  return riskModelOutcome(result, Date.now() - started);
}
