// The risk model's reads (docs/design.md §11; shapes in worker/api/risk.ts): the risk factors
// with the model's settings, stored daily factor returns over a range, and the factor
// covariance of a date. They read what the batch stored — nothing is estimated per request —
// each as one batch of statements with its data version (worker/db/read-batch.ts), and all
// three are conditional reads (ETag, 304: worker/http/etag.ts). A number that is not stored is
// null with a reason, never 0.
import type { ResultSet, Row } from "@libsql/client/web";
import { Hono } from "hono";
import { routes } from "../api/contract.ts";
import {
  type CovarianceResponse,
  covarianceQuerySchema,
  defaultFactorReturnRangeDays,
  type FactorReturnsResponse,
  factorReturnsQuerySchema,
  maxFactorReturnRangeDays,
  type RiskFactorsResponse,
  riskFactorsQuerySchema,
} from "../api/risk.ts";
import { type ApiEnv, guard } from "../auth/guard.ts";
import { batchConfig } from "../batch/config.ts";
import { addDays } from "../dates.ts";
import { getDatabase } from "../db/client.ts";
import { batchVersion, versionOf } from "../db/data-version.ts";
import { alignFactorReturns, packedFactorReturnsColumn } from "../db/factor-return-reads.ts";
import { firstRow, type ReadStatement, readTogether } from "../db/read-batch.ts";
import { defaultRiskModelSettings, type RiskModelSettings, tradingDaysPerYear } from "../factors/risk-settings.ts";
import { csvResponse, wantsCsv } from "../http/csv-export.ts";
import { ApiError } from "../http/errors.ts";
import { entityTag, notModifiedIfCurrent, representationOf, withValidators } from "../http/etag.ts";
import { validate } from "../http/validate.ts";
import { validationError } from "../http/validation.ts";

/**
 * The model's settings for this deployment: the defaults, with the covariance half-life the batch
 * stores with (`RISK_COVARIANCE_HALF_LIFE_DAYS`, read by the batch's own configuration, so the
 * routes ask for exactly the half-life the batch writes).
 */
export function riskModelSettings(env: object): RiskModelSettings {
  return { ...defaultRiskModelSettings, halfLifeDays: batchConfig(env).riskHalfLifeDays };
}

/**
 * The risk routes' data version: the batch's part (which writes every risk table in its runs),
 * plus what changes outside a run's ledger — the risk factor definitions, the newest factor
 * return row and the covariance rows' last update (all small: an index's end, a few thousand
 * rows at most).
 */
export function riskVersion(): ReadStatement {
  const batch = batchVersion();
  return {
    sql: `select b.*, r.* from (${batch.sql}) b, (select
  (select count(*) from risk_factors) as risk_factors,
  (select max(updated_at) from risk_factors) as risk_factors_updated,
  (select max(rowid) from factor_returns) as factor_returns_newest,
  (select count(*) from factor_covariances) as covariances,
  (select max(updated_at) from factor_covariances) as covariances_updated) r`,
    args: batch.args,
  };
}

const activeRiskFactorsStatement: ReadStatement = {
  sql: `select key, name, long_symbol, short_symbol, description, display_order
from risk_factors where is_active = 1 order by display_order, id`,
  args: [],
};

const activeLensFactorsStatement: ReadStatement = {
  sql: "select key from factor_definitions where is_active = 1 order by display_order, id",
  args: [],
};

const today = () => new Date().toISOString().slice(0, 10);

/**
 * The range of `GET /risk/factor-returns` as SQL, from ?1 from, ?2 to, ?3 kind, ?4 today:
 * `to` defaults to the latest date with a return of the kind on or before today (else today),
 * `from` to `defaultFactorReturnRangeDays` before `to`.
 */
const rangeCte = `with t as (
  select coalesce(?2, (select max(date) from factor_returns where kind = ?3 and date <= ?4), ?4) as t
), range as (select coalesce(?1, date(t.t, '-${defaultFactorReturnRangeDays} days')) as f, t.t as t from t)`;

function factorReturnStatements(from: string | undefined, to: string | undefined, kind: string): ReadStatement[] {
  const args = [from ?? null, to ?? null, kind, today()];
  return [
    { sql: `${rangeCte} select f, t from range`, args },
    // Nothing is read for a range over the cap: the route answers 400 from the bounds.
    // Packed into one text cell (worker/db/factor-return-reads.ts).
    {
      sql: `${rangeCte} select ${packedFactorReturnsColumn} from factor_returns fr, range
where fr.kind = ?3 and fr.date >= range.f and fr.date <= range.t
  and julianday(range.t) - julianday(range.f) <= ${maxFactorReturnRangeDays}`,
      args,
    },
  ];
}

function keysOf(result: ResultSet | undefined): string[] {
  return (result?.rows ?? []).map((row) => String(row[0]));
}

function covarianceStatement(date: string | undefined, halfLifeDays: number): ReadStatement {
  return {
    sql: `select calculation_date, half_life_days, factor_keys, matrix, observations, first_date, last_date,
  reason, detail
from factor_covariances
where half_life_days = ?2 and calculation_date = coalesce(?1,
  (select max(calculation_date) from factor_covariances where half_life_days = ?2 and calculation_date <= ?3))`,
    args: [date ?? null, halfLifeDays, today()],
  };
}

/** A stored JSON column, parsed; a value that is not what the batch writes is a server error, logged. */
function parseStored<T>(value: unknown, what: string, check: (parsed: unknown) => parsed is T): T {
  const parsed: unknown = typeof value === "string" ? JSON.parse(value) : value;
  if (!check(parsed)) throw new Error(`the stored ${what} is malformed`);
  return parsed;
}

const isKeyList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((key) => typeof key === "string");

function isSquareMatrix(size: number) {
  return (value: unknown): value is number[][] =>
    Array.isArray(value) &&
    value.length === size &&
    value.every(
      (row) =>
        Array.isArray(row) &&
        row.length === size &&
        row.every((cell) => typeof cell === "number" && Number.isFinite(cell)),
    );
}

/** Correlations from a covariance: null in the row and column of a factor without variance; within [−1, 1]. */
export function correlationOf(matrix: readonly (readonly number[])[]): (number | null)[][] {
  const scale = matrix.map((row, index) => Math.sqrt(Math.max(0, row[index] ?? 0)));
  return matrix.map((row, i) =>
    row.map((cell, j) => {
      const si = scale[i] ?? 0;
      const sj = scale[j] ?? 0;
      if (!(si > 0 && sj > 0)) return null;
      if (i === j) return 1;
      return Math.min(1, Math.max(-1, cell / (si * sj)));
    }),
  );
}

function covarianceFrom(row: Row, halfLifeDays: number): CovarianceResponse {
  const factors = parseStored(row[2], "covariance factor keys", isKeyList);
  const matrix =
    row[3] === null || row[3] === undefined
      ? null
      : parseStored(row[3], "covariance matrix", isSquareMatrix(factors.length));
  const date = String(row[0]);
  const reason = (row[7] ?? null) as CovarianceResponse["reason"];
  return {
    date,
    half_life_days: Number(row[1] ?? halfLifeDays),
    factors,
    observations: Number(row[4] ?? 0),
    first_date: (row[5] ?? null) as string | null,
    last_date: (row[6] ?? null) as string | null,
    matrix,
    annualized_volatility:
      matrix === null
        ? null
        : Object.fromEntries(
            factors.map((key, index) => [
              key,
              Math.sqrt(tradingDaysPerYear * Math.max(0, matrix[index]?.[index] ?? 0)),
            ]),
          ),
    correlation: matrix === null ? null : correlationOf(matrix),
    reason: matrix === null ? (reason ?? "insufficient_history") : null,
    detail:
      (row[8] ?? null) === null
        ? matrix === null
          ? `no covariance for ${date}: ${reason ?? "not enough factor history"}`
          : null
        : String(row[8]),
  };
}

export const riskRoutes = new Hono<ApiEnv>()
  .get("/factors", guard(routes.listRiskFactors), validate("query", riskFactorsQuerySchema), async (c) => {
    const query = c.req.valid("query");
    const db = getDatabase(c.env);
    const csv = wantsCsv(c, query.format);
    const settings = riskModelSettings(c.env);
    const representation = [
      ...representationOf(c, "listRiskFactors", c.get("caller"), csv ? "csv" : "json"),
      settings.halfLifeDays,
    ];
    const unchanged = await notModifiedIfCurrent(c, db, representation, riskVersion());
    if (unchanged) return unchanged;
    const [versionResult, factorsResult] = await readTogether(db, [riskVersion(), activeRiskFactorsStatement]);
    const etag = await entityTag(representation, versionOf(firstRow(versionResult)) ?? []);
    const factors = (factorsResult?.rows ?? []).map((row) => ({
      key: String(row[0]),
      name: String(row[1]),
      long_symbol: String(row[2]),
      short_symbol: (row[3] ?? null) as string | null,
      description: String(row[4]),
      display_order: Number(row[5]),
    }));
    if (csv) {
      const header = ["key", "name", "long_symbol", "short_symbol", "description", "display_order"] as const;
      return withValidators(
        csvResponse(
          c,
          "risk-factors.csv",
          header,
          factors.map((factor) => header.map((column) => factor[column])),
        ),
        etag,
      );
    }
    const body: RiskFactorsResponse = {
      factors,
      settings: {
        window_days: settings.windowDays,
        min_observations: settings.minObservations,
        half_life_days: settings.halfLifeDays,
        max_covariance_days: settings.maxCovarianceDays,
        min_covariance_days: settings.minCovarianceDays,
        annualization_days: tradingDaysPerYear,
      },
    };
    return withValidators(c.json(body, 200), etag);
  })
  .get("/factor-returns", guard(routes.getFactorReturns), validate("query", factorReturnsQuerySchema), async (c) => {
    const query = c.req.valid("query");
    const kind = query.kind ?? "risk";
    const db = getDatabase(c.env);
    const csv = wantsCsv(c, query.format);
    // `to` defaults from today's date: the date is part of the tag.
    const representation = [...representationOf(c, "getFactorReturns", c.get("caller"), csv ? "csv" : "json"), today()];
    const unchanged = await notModifiedIfCurrent(c, db, representation, riskVersion());
    if (unchanged) return unchanged;
    const [versionResult, factorsResult, rangeResult, returnsResult] = await readTogether(db, [
      riskVersion(),
      kind === "risk" ? activeRiskFactorsStatement : activeLensFactorsStatement,
      ...factorReturnStatements(query.from, query.to, kind),
    ]);
    const etag = await entityTag(representation, versionOf(firstRow(versionResult)) ?? []);
    const range = firstRow(rangeResult);
    const from = String(range?.[0] ?? "");
    const to = String(range?.[1] ?? "");
    if (from > to)
      throw validationError(`from (${from}) is after to (${to})`, [
        {
          path: "from",
          message: `from (${from}) is after to (${to}: the default, the latest stored ${kind} return or today)`,
        },
      ]);
    if (addDays(from, maxFactorReturnRangeDays) < to)
      throw validationError(`the range is longer than ${maxFactorReturnRangeDays} days`, [
        { path: "from", message: `from must be within ${maxFactorReturnRangeDays} days of to` },
      ]);
    const factors = keysOf(factorsResult);
    // Returns of factors no longer active are not part of the answer.
    const { dates, columns: cells } = alignFactorReturns(firstRow(returnsResult)?.[0], factors);
    const missing = factors.flatMap((key, index) => {
      const count = (cells[index] ?? []).filter((value) => value === null).length;
      return count === 0 ? [] : [{ factor_key: key, dates: count, reason: "no_return" as const }];
    });
    const body: FactorReturnsResponse = {
      from,
      to,
      kind,
      factors,
      dates,
      returns: Object.fromEntries(factors.map((key, index) => [key, cells[index] ?? []])),
      data_quality:
        dates.length === 0
          ? {
              status: "none_stored",
              detail: `no ${kind} factor return is stored from ${from} to ${to}: no date computed there`,
              missing: [],
            }
          : missing.length === 0
            ? {
                status: "complete",
                detail: `every factor has a return on each of the ${dates.length} dates`,
                missing,
              }
            : {
                status: "partial",
                detail:
                  "null cells: the factor has no return that day (one of its symbols had no return); " +
                  "the other factors' returns are stored",
                missing,
              },
    };
    if (csv) {
      // Wide: one row per date, one column per factor (display order); a missing return is an empty field.
      return withValidators(
        csvResponse(
          c,
          `factor-returns-${kind}-${from}-${to}.csv`,
          ["date", ...factors],
          dates.map((date, row) => [date, ...cells.map((series) => series[row] ?? null)]),
        ),
        etag,
      );
    }
    return withValidators(c.json(body, 200), etag);
  })
  .get("/covariance", guard(routes.getCovariance), validate("query", covarianceQuerySchema), async (c) => {
    const query = c.req.valid("query");
    const db = getDatabase(c.env);
    const csv = wantsCsv(c, query.format);
    const { halfLifeDays } = riskModelSettings(c.env);
    // The default date is the latest on or before today, and the half-life is the deployment's: both in the tag.
    const representation = [
      ...representationOf(c, "getCovariance", c.get("caller"), csv ? "csv" : "json"),
      today(),
      halfLifeDays,
    ];
    const unchanged = await notModifiedIfCurrent(c, db, representation, riskVersion());
    if (unchanged) return unchanged;
    const [versionResult, covarianceResult] = await readTogether(db, [
      riskVersion(),
      covarianceStatement(query.date, halfLifeDays),
    ]);
    const etag = await entityTag(representation, versionOf(firstRow(versionResult)) ?? []);
    const row = firstRow(covarianceResult);
    if (row === undefined && query.date !== undefined)
      throw new ApiError(
        404,
        "NO_DATA",
        `no factor covariance was computed for ${query.date} (half-life ${halfLifeDays} days): ` +
          "not a trading day, or the batch's risk phase has not run for it",
        { date: query.date, half_life_days: halfLifeDays, reason: "not_computed" },
      );
    const body: CovarianceResponse =
      row === undefined
        ? {
            date: null,
            half_life_days: halfLifeDays,
            factors: [],
            observations: 0,
            first_date: null,
            last_date: null,
            matrix: null,
            annualized_volatility: null,
            correlation: null,
            reason: "not_computed",
            detail: `no factor covariance (half-life ${halfLifeDays} days) has been computed on or before ${today()}`,
          }
        : covarianceFrom(row, halfLifeDays);
    if (csv) {
      // The matrix: a header row and a first column of factor keys; a date without a matrix is the header alone.
      const matrix = body.matrix ?? [];
      return withValidators(
        csvResponse(
          c,
          `covariance-${body.date ?? "none"}.csv`,
          ["factor", ...body.factors],
          matrix.map((values, index) => [body.factors[index], ...values]),
        ),
        etag,
      );
    }
    return withValidators(c.json(body, 200), etag);
  });
