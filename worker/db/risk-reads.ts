// The stored risk model of a date, as the portfolio risk engine takes it (docs/design.md §11,
// "Portfolio risk"): the symbols' joint loadings (`symbol_risk_loadings`), the factor covariance
// of the deployment's half-life (`factor_covariances`) and the active risk factor keys in display
// order — what the batch's risk_model phase stored; nothing is estimated here.
//
// One batch of reads (worker/db/read-batch.ts): `riskInputStatements` gives the statements, so a
// route can send them with its own (a data version, other reads) in one request, and
// `riskInputsFrom` turns their results into `StoredRiskInputs`; `loadRiskInputs` does both.
// The symbols travel as one JSON argument (`json_each`), so any number of them is one statement.
//
// `riskModelInput` turns them into the part of `computePortfolioRisk`'s input
// (worker/factors/portfolio-risk.ts) the model gives: factor keys, covariance, loadings.
//
// Missing is never zero: a symbol without a stored row is absent from `loadings` (and listed in
// `notComputed`), one stored without loadings keeps its reason and detail, and a date without a
// usable covariance says why (`insufficient_history`, `no_factors` as stored, or `not_computed`
// when the batch stored no row for the date and half-life).
import type { ResultSet, Row } from "@libsql/client/web";
import type { CovarianceReason, RiskLoadingFlag } from "../../schema/index.ts";
import type { SymbolRiskLoadings } from "../factors/risk-model.ts";
import type { Database } from "./client.ts";
import { type ReadStatement, readTogether } from "./read-batch.ts";

/** The covariance of a date: the matrix in `factorKeys` order, or why there is none. */
export type StoredCovariance =
  | {
      status: "stored";
      /** Orders the rows and columns of `matrix`: the risk factors the batch estimated the date with. */
      factorKeys: string[];
      /** Daily covariance of the risk factors' returns, K × K. */
      matrix: number[][];
      observations: number;
    }
  | {
      status: "missing";
      /** The stored row's keys; the active keys when nothing is stored. */
      factorKeys: string[];
      reason: CovarianceReason | "not_computed";
      detail: string;
    };

/** A symbol stored without loadings for a reason decided from its closes, before the engine. */
export interface PriceDecidedGap {
  reason: "stale_prices" | "no_prices";
  detail: string;
}

export interface StoredRiskInputs {
  date: string;
  halfLifeDays: number;
  /** The active risk factors' keys in display order (`risk_factors`). */
  activeFactorKeys: string[];
  covariance: StoredCovariance;
  /**
   * By symbol, as the engine takes them: every requested symbol stored with loadings, or without
   * them for one of the engine's reasons (insufficient_data, degenerate, no_factor_data).
   */
  loadings: Map<string, SymbolRiskLoadings>;
  /**
   * Symbols stored without loadings because of their closes (stale_prices, no_prices): not in
   * `loadings` (the engine's reasons do not include them, so it reports them `not_computed`);
   * `riskBlockOf` (worker/batch/portfolio-analytics-phase.ts) puts the stored reason back.
   */
  priceDecided: Map<string, PriceDecidedGap>;
  /** Requested symbols without any stored row on the date (the batch has not computed them). */
  notComputed: string[];
}

/** The part of `computePortfolioRisk`'s input the stored model gives (spread it into the input). */
export interface RiskModelInput {
  /** The covariance's keys (the model the batch estimated the date with); the active keys without any. */
  factorKeys: readonly string[];
  covariance: number[][] | null;
  covarianceDetail: string | null;
  loadings: ReadonlyMap<string, SymbolRiskLoadings>;
}

/**
 * The engine's model input of `stored`: the covariance's keys (the order the batch stored Σ in;
 * the active keys in display order when it stored none) and matrix, or null with its detail.
 */
export function riskModelInput(stored: StoredRiskInputs): RiskModelInput {
  const { covariance } = stored;
  return {
    factorKeys: covariance.factorKeys.length > 0 ? covariance.factorKeys : stored.activeFactorKeys,
    covariance: covariance.status === "stored" ? covariance.matrix : null,
    covarianceDetail: covariance.status === "stored" ? null : covariance.detail,
    loadings: stored.loadings,
  };
}

const activeKeysSql = "select key from risk_factors where is_active = 1 order by display_order, id";
const covarianceSql = `select factor_keys, matrix, observations, reason, detail
from factor_covariances where calculation_date = ?1 and half_life_days = ?2`;
const loadingsSql = `select symbol, quality_flag, reason, loadings, standard_errors, residual_variance, r_squared,
  observations, factor_observations, window_days, detail
from symbol_risk_loadings
where calculation_date = ?1 and symbol in (select value from json_each(?2))`;

/**
 * The reads of `riskInputsFrom`, in its order: active keys, the covariance of (`date`,
 * `halfLifeDays`), the loadings of `symbols` on `date`. Send them together (readTogether), alone
 * or after a route's own statements.
 */
export function riskInputStatements(
  date: string,
  symbols: readonly string[],
  halfLifeDays: number,
): [ReadStatement, ReadStatement, ReadStatement] {
  return [
    { sql: activeKeysSql, args: [] },
    { sql: covarianceSql, args: [date, halfLifeDays] },
    { sql: loadingsSql, args: [date, JSON.stringify([...new Set(symbols)])] },
  ];
}

/** The results of `riskInputStatements` (three, in order) as the stored inputs. */
export function riskInputsFrom(
  date: string,
  symbols: readonly string[],
  halfLifeDays: number,
  results: readonly (ResultSet | undefined)[],
): StoredRiskInputs {
  const [keysResult, covarianceResult, loadingsResult] = results;
  const activeFactorKeys = (keysResult?.rows ?? []).map((row) => String(row[0]));
  const loadings = new Map<string, SymbolRiskLoadings>();
  const priceDecided = new Map<string, PriceDecidedGap>();
  const stored = new Set<string>();
  for (const row of loadingsResult?.rows ?? []) {
    const symbol = String(row[0]);
    stored.add(symbol);
    const reason = row[2];
    if (reason === "stale_prices" || reason === "no_prices")
      priceDecided.set(symbol, {
        reason,
        detail: row[10] === null || row[10] === undefined ? reason : String(row[10]),
      });
    else loadings.set(symbol, loadingsOf(row, date));
  }
  return {
    date,
    halfLifeDays,
    activeFactorKeys,
    covariance: covarianceOf(covarianceResult?.rows[0], date, halfLifeDays, activeFactorKeys),
    loadings,
    priceDecided,
    notComputed: [...new Set(symbols)].filter((symbol) => !stored.has(symbol)),
  };
}

/** The stored risk model of `date` for `symbols` and the half-life, in one request. */
export async function loadRiskInputs(
  db: Pick<Database, "$client">,
  date: string,
  symbols: readonly string[],
  halfLifeDays: number,
): Promise<StoredRiskInputs> {
  const results = await readTogether(db, riskInputStatements(date, symbols, halfLifeDays));
  return riskInputsFrom(date, symbols, halfLifeDays, results);
}

type EngineMissingReason = Extract<SymbolRiskLoadings, { status: "missing" }>["reason"];
const engineReasons: ReadonlySet<string> = new Set<EngineMissingReason>([
  "insufficient_data",
  "degenerate",
  "no_factor_data",
]);

function parsed(value: unknown): unknown {
  return typeof value === "string" ? JSON.parse(value) : value;
}

const isFiniteNumber = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);

function numberRecord(value: unknown, what: string): Record<string, number> {
  const record = parsed(value);
  if (record === null || typeof record !== "object" || Array.isArray(record))
    throw new Error(`the stored ${what} is malformed`);
  const out: Record<string, number> = {};
  for (const [key, entry] of Object.entries(record)) {
    if (!isFiniteNumber(entry)) throw new Error(`the stored ${what} has a non-number for ${key}`);
    out[key] = entry;
  }
  return out;
}

const optionalNumber = (value: unknown): number | null =>
  value === null || value === undefined ? null : Number(value);

function loadingsOf(row: Row, date: string): SymbolRiskLoadings {
  const common = {
    symbol: String(row[0]),
    calculationDate: date,
    windowDays: Number(row[9]),
    observations: Number(row[7] ?? 0),
    factorObservations: Number(row[8] ?? 0),
  };
  const flag = row[1];
  if (flag !== null && flag !== undefined && row[3] !== null && row[5] !== null) {
    return {
      ...common,
      status: "estimated",
      qualityFlag: String(flag) as RiskLoadingFlag,
      loadings: numberRecord(row[3], `loadings of ${common.symbol}`),
      standardErrors: row[4] === null ? {} : numberRecord(row[4], `standard errors of ${common.symbol}`),
      residualVariance: Number(row[5]),
      rSquared: optionalNumber(row[6]),
    };
  }
  const stored = String(row[2] ?? "insufficient_data");
  const reason: EngineMissingReason = engineReasons.has(stored) ? (stored as EngineMissingReason) : "insufficient_data";
  return {
    ...common,
    status: "missing",
    reason,
    detail: row[10] === null || row[10] === undefined ? reason : String(row[10]),
  };
}

function covarianceOf(
  row: Row | undefined,
  date: string,
  halfLifeDays: number,
  activeFactorKeys: string[],
): StoredCovariance {
  if (row === undefined)
    return {
      status: "missing",
      factorKeys: activeFactorKeys,
      reason: "not_computed",
      detail:
        `no factor covariance is stored for ${date} (half-life ${halfLifeDays} days): ` +
        "the batch's risk model has not run for it",
    };
  const keys = parsed(row[0]);
  if (!Array.isArray(keys) || !keys.every((key) => typeof key === "string"))
    throw new Error(`the stored covariance factor keys of ${date} are malformed`);
  const factorKeys = keys as string[];
  if (row[1] === null || row[1] === undefined) {
    const reason = (row[3] ?? "insufficient_history") as CovarianceReason;
    return {
      status: "missing",
      factorKeys,
      reason,
      detail: row[4] === null || row[4] === undefined ? `no factor covariance for ${date}: ${reason}` : String(row[4]),
    };
  }
  const matrix = parsed(row[1]);
  const size = factorKeys.length;
  if (
    !Array.isArray(matrix) ||
    matrix.length !== size ||
    !matrix.every((line) => Array.isArray(line) && line.length === size && line.every(isFiniteNumber))
  )
    throw new Error(`the stored covariance matrix of ${date} is malformed`);
  return { status: "stored", factorKeys, matrix: matrix as number[][], observations: Number(row[2] ?? 0) };
}
