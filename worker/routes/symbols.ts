// The symbol API: the universe table (`GET /data/symbols`) and one symbol's page
// (`GET /data/symbols/:symbol`). Shapes: worker/api/symbols.ts.
//
// The table reads one metrics date (default the latest): one query for the page and one for
// the count, both filtered on the (metrics_date, column) indexes. Nulls sort last in both
// directions (`column is null` first in the ORDER BY), then by symbol, so pages are stable.
import {
  and,
  asc,
  count,
  desc,
  eq,
  getTableColumns,
  gte,
  isNotNull,
  isNull,
  lte,
  max,
  or,
  sql,
  type SQL,
} from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { Hono, type TypedResponse } from "hono";
import {
  batchPhaseResults,
  companyProfiles,
  factorDefinitions,
  marketPrices,
  symbolBetaGaps,
  symbolDailyMetrics,
  symbolFactorExposures,
  symbolUniverse,
} from "../../schema/index.ts";
import { tenantOf } from "../quotas.ts";
import { routes } from "../api/contract.ts";
import {
  maxHistoryDays,
  sectorsQuerySchema,
  symbolDetailQuerySchema,
  symbolParamsSchema,
  symbolsQuerySchema,
  type SectorsResponse,
  type SymbolDetailResponse,
  type SymbolRow,
  type SymbolsQuery,
  type SymbolsResponse,
} from "../api/symbols.ts";
import { guard, type ApiEnv } from "../auth/guard.ts";
import { addDays } from "../dates.ts";
import { getDatabase, type Database } from "../db/client.ts";
import { csvResponse, wantsCsv } from "../http/csv-export.ts";
import { ApiError } from "../http/errors.ts";
import { validate } from "../http/validate.ts";
import { validationError } from "../http/validation.ts";
import { latestBetaDate } from "../db/betas.ts";
import { latestMetricsDate } from "../portfolios/aggregation-input.ts";

const metricsColumns = getTableColumns(symbolDailyMetrics);
/** API name (the SQL column name) → drizzle column. */
const columnByName = new Map<string, SQLiteColumn>(
  Object.values(metricsColumns).map((column) => [column.name, column]),
);

type MetricsRecord = typeof symbolDailyMetrics.$inferSelect;

function symbolRowOf(row: MetricsRecord): SymbolRow {
  const record = row as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [property, column] of Object.entries(metricsColumns)) {
    if (property === "metricsDate" || property === "updatedAt") continue;
    out[column.name] = record[property] ?? null;
  }
  return out as SymbolRow;
}

/** The columns of a symbol row (every column but the date and the timestamp), in table order. */
const rowColumns = Object.values(metricsColumns).filter(
  (column) => column.name !== "metrics_date" && column.name !== "updated_at",
);

/**
 * A row as JSON text, built by SQLite: the page crosses Hrana as 100 text cells rather than
 * 3,300 values the Worker would decode, map and re-encode (that was most of the route's CPU).
 * Reals are written with printf('%!.17g'), which round-trips a double exactly; the response
 * is checked against its schema by the API tests.
 */
const rowJson = sql<string>`(${sql.join(
  rowColumns.map((column, index) => {
    const key = sql.raw(`'${index === 0 ? "{" : ","}"${column.name}":'`);
    const value =
      column.columnType === "SQLiteText"
        ? sql`json_quote(${column})`
        : column.columnType === "SQLiteInteger"
          ? sql`ifnull(${column}, 'null')`
          : sql`(case when ${column} is null then 'null' else printf('%!.17g', ${column}) end)`;
    return sql`${key} || ${value}`;
  }),
  sql` || `,
)} || '}')`;

/**
 * The queries of `GET /data/symbols`, all searching a (metrics_date, …) index. Nulls last
 * without sorting the whole date: the rows with a value come first, read in the sort column's
 * index order (ties by symbol in the same direction), then the rows without one by symbol;
 * a page takes from one or both. `counts` gives the total and how many have a value.
 */
export function symbolsQueries(db: Database, metricsDate: string, query: SymbolsQuery) {
  const filters: SQL[] = [eq(symbolDailyMetrics.metricsDate, metricsDate)];
  if (query.sector !== undefined) filters.push(eq(symbolDailyMetrics.sector, query.sector));
  if (query.q !== undefined) {
    // LIKE is case-insensitive for ASCII in SQLite; the search text's own % and _ are escaped.
    const text = query.q.replace(/[\\%_]/g, (char) => `\\${char}`);
    filters.push(
      or(
        sql`${symbolDailyMetrics.symbol} like ${`${text}%`} escape '\\'`,
        sql`${symbolDailyMetrics.companyName} like ${`%${text}%`} escape '\\'`,
      )!,
    );
  }
  if (query.min_market_cap !== undefined) filters.push(gte(symbolDailyMetrics.marketCap, query.min_market_cap));
  if (query.max_pe_ratio !== undefined) filters.push(lte(symbolDailyMetrics.peRatio, query.max_pe_ratio));
  const sortColumn = columnByName.get(query.sort_by ?? "symbol")!;
  const direction = query.sort_order === "desc" ? desc : asc;
  return {
    counts: db
      .select({ total: sql<number>`count(*)`, withValue: sql<number>`count(${sortColumn})` })
      .from(symbolDailyMetrics)
      .where(and(...filters)),
    // The page's rowids first, then their JSON: SQLite would otherwise build the JSON of every
    // row an OFFSET skips (a deep page cost 37 ms of the server's CPU).
    withValue: (limit: number, offset: number) => {
      const page = db
        .select({ rowid: sql`rowid` })
        .from(symbolDailyMetrics)
        .where(and(...filters, isNotNull(sortColumn)))
        .orderBy(direction(sortColumn), direction(symbolDailyMetrics.symbol))
        .limit(limit)
        .offset(offset);
      return db
        .select({ json: rowJson })
        .from(symbolDailyMetrics)
        .where(sql`rowid in ${page}`)
        .orderBy(direction(sortColumn), direction(symbolDailyMetrics.symbol));
    },
    withoutValue: (limit: number, offset: number) => {
      const page = db
        .select({ rowid: sql`rowid` })
        .from(symbolDailyMetrics)
        .where(and(...filters, isNull(sortColumn)))
        .orderBy(asc(symbolDailyMetrics.symbol))
        .limit(limit)
        .offset(offset);
      return db
        .select({ json: rowJson })
        .from(symbolDailyMetrics)
        .where(sql`rowid in ${page}`)
        .orderBy(asc(symbolDailyMetrics.symbol));
    },
  };
}

/** One page of rows (as JSON texts) and the total. */
async function symbolsPage(
  db: Database,
  metricsDate: string,
  query: SymbolsQuery,
): Promise<{ rows: string[]; total: number }> {
  const limit = query.limit ?? 100;
  const offset = query.offset ?? 0;
  const queries = symbolsQueries(db, metricsDate, query);
  const counts = (await queries.counts.get()) ?? { total: 0, withValue: 0 };
  const fromValues = Math.max(0, Math.min(limit, counts.withValue - offset));
  const fromNulls = limit - fromValues;
  const [first, second] = await Promise.all([
    fromValues > 0 ? queries.withValue(fromValues, offset) : Promise.resolve([]),
    fromNulls > 0 && counts.total > counts.withValue
      ? queries.withoutValue(fromNulls, Math.max(0, offset - counts.withValue))
      : Promise.resolve([]),
  ]);
  return { rows: [...first, ...second].map((row) => row.json), total: counts.total };
}

const csvColumns = [...Object.values(metricsColumns)]
  .map((column) => column.name)
  .filter((name) => name !== "metrics_date" && name !== "updated_at");

/** `GET /data/sectors`: the values the symbol table's sector filter takes, with counts. */
export const sectorRoutes = new Hono<ApiEnv>().get(
  "/",
  guard(routes.listSectors),
  validate("query", sectorsQuerySchema),
  async (c) => {
    const query = c.req.valid("query");
    const db = getDatabase(c.env);
    const metricsDate = query.date ?? (await latestMetricsDate(db));
    const rows =
      metricsDate === null
        ? []
        : await db
            .select({ sector: symbolDailyMetrics.sector, count: count() })
            .from(symbolDailyMetrics)
            .where(eq(symbolDailyMetrics.metricsDate, metricsDate))
            .groupBy(symbolDailyMetrics.sector)
            .orderBy(asc(symbolDailyMetrics.sector));
    const body: SectorsResponse = {
      metrics_date: metricsDate,
      sectors: rows.flatMap((row) => (row.sector === null ? [] : [{ sector: row.sector, count: row.count }])),
      without_sector: rows.find((row) => row.sector === null)?.count ?? 0,
    };
    return c.json(body, 200);
  },
);

export const symbolRoutes = new Hono<ApiEnv>()
  .get("/", guard(routes.listSymbols), validate("query", symbolsQuerySchema), async (c) => {
    const query = c.req.valid("query");
    const db = getDatabase(c.env);
    const metricsDate = query.date ?? (await latestMetricsDate(db));
    const page = metricsDate === null ? { rows: [], total: 0 } : await symbolsPage(db, metricsDate, query);
    if (wantsCsv(c, query.format)) {
      const rows = page.rows.map((text) => JSON.parse(text) as Record<string, string | number | null>);
      return csvResponse(
        c,
        `symbols-${metricsDate ?? "none"}.csv`,
        csvColumns,
        rows.map((row) => csvColumns.map((name) => row[name])),
      );
    }
    // The rows are JSON already: the body is assembled around them, typed as the schema says.
    const body = `{"symbols":[${page.rows.join(",")}],"total_count":${page.total},"metrics_date":${JSON.stringify(metricsDate)}}`;
    return c.body(body, 200, { "Content-Type": "application/json" }) as unknown as TypedResponse<
      SymbolsResponse,
      200,
      "json"
    >;
  })
  .get(
    "/:symbol",
    guard(routes.getSymbol),
    validate("param", symbolParamsSchema),
    validate("query", symbolDetailQuerySchema),
    async (c) => {
      const { symbol } = c.req.valid("param");
      const query = c.req.valid("query");
      const db = getDatabase(c.env);
      const [universe, profile, factors] = await Promise.all([
        db.select().from(symbolUniverse).where(eq(symbolUniverse.symbol, symbol)).get(),
        db.select().from(companyProfiles).where(eq(companyProfiles.symbol, symbol)).get(),
        db
          .select()
          .from(factorDefinitions)
          .where(eq(factorDefinitions.isActive, true))
          .orderBy(factorDefinitions.displayOrder),
      ]);
      // A ticker a tenant brought in (through a position) and that has no prices yet is that
      // tenant's to see: to anyone else it is as unknown as one never added, so the universe does
      // not tell who holds what (issue 15). Prices make it market data, shown to everyone.
      const visible =
        universe !== undefined &&
        (universe.addedBy === null ||
          universe.addedBy === tenantOf(c.get("caller")) ||
          (await db
            .select({ symbol: marketPrices.symbol })
            .from(marketPrices)
            .where(eq(marketPrices.symbol, symbol))
            .limit(1)
            .get()) !== undefined);
      if (!universe || !visible) throw new ApiError(404, "NOT_FOUND", `symbol ${symbol} is not in the universe`);

      // Default: the latest date the batch computed for this symbol (a beta or a stored reason),
      // else the latest date it computed at all (the symbol is then `not_computed` on it).
      const betasDate = query.date ?? (await latestSymbolDate(db, symbol)) ?? (await latestBetaDate(db));
      const to = query.to ?? betasDate ?? query.date ?? new Date().toISOString().slice(0, 10);
      const from = query.from ?? addDays(to, -365);
      if (addDays(from, maxHistoryDays) < to)
        throw validationError(`the history range is longer than ${maxHistoryDays} days`, [
          { path: "from", message: `from must be within ${maxHistoryDays} days of to` },
        ]);

      const metricsFilter = [
        eq(symbolDailyMetrics.symbol, symbol),
        ...(query.date ? [lte(symbolDailyMetrics.metricsDate, query.date)] : []),
      ];
      const [metrics, betaRows, historyRows, gapRows, dateComputed] = await Promise.all([
        db
          .select()
          .from(symbolDailyMetrics)
          .where(and(...metricsFilter))
          .orderBy(desc(symbolDailyMetrics.metricsDate))
          .limit(1)
          .get(),
        betasDate === null
          ? Promise.resolve([])
          : db
              .select()
              .from(symbolFactorExposures)
              .where(
                and(eq(symbolFactorExposures.symbol, symbol), eq(symbolFactorExposures.calculationDate, betasDate)),
              ),
        db
          .select({
            factorId: symbolFactorExposures.factorId,
            date: symbolFactorExposures.calculationDate,
            beta: symbolFactorExposures.betaValue,
            rSquared: symbolFactorExposures.rSquared,
          })
          .from(symbolFactorExposures)
          .where(
            and(
              eq(symbolFactorExposures.symbol, symbol),
              gte(symbolFactorExposures.calculationDate, from),
              lte(symbolFactorExposures.calculationDate, to),
            ),
          )
          .orderBy(asc(symbolFactorExposures.calculationDate)),
        betasDate === null
          ? Promise.resolve([])
          : db
              .select()
              .from(symbolBetaGaps)
              .where(and(eq(symbolBetaGaps.symbol, symbol), eq(symbolBetaGaps.calculationDate, betasDate))),
        betasDate === null ? Promise.resolve(false) : isComputedDate(db, betasDate),
      ]);
      const gapByFactor = new Map(gapRows.map((row) => [row.factorId, row]));
      const betaByFactor = new Map(betaRows.map((row) => [row.factorId, row]));
      const response: SymbolDetailResponse = {
        symbol,
        asset_type: universe.assetType,
        is_active: universe.isActive,
        profile: profile
          ? {
              company_name: profile.companyName,
              sector: profile.sector,
              industry: profile.industry,
              market_cap: profile.marketCap,
              enterprise_value: profile.enterpriseValue,
              pe_ratio: profile.peRatio,
              ps_ratio: profile.psRatio,
              pb_ratio: profile.pbRatio,
              as_of: profile.asOf,
            }
          : null,
        metrics: metrics ? { ...symbolRowOf(metrics), metrics_date: metrics.metricsDate } : null,
        betas_date: betasDate,
        betas: factors.flatMap((factor) => {
          const row = betaByFactor.get(factor.id);
          if (!row) return [];
          return [
            {
              factor_key: factor.key,
              factor_name: factor.name,
              beta: row.betaValue,
              raw_beta: row.rawBetaValue,
              r_squared: row.rSquared,
              observations: row.observations,
              quality_flag: row.qualityFlag,
              method: row.calculationMethod,
              window_days: row.regressionWindowDays,
              regularization_alpha: row.regularizationAlpha,
            },
          ];
        }),
        missing_betas: factors
          .filter((factor) => !betaByFactor.has(factor.id))
          .map((factor) => {
            const gap = gapByFactor.get(factor.id);
            const common = { factor_key: factor.key, factor_name: factor.name };
            if (gap) {
              return {
                ...common,
                reason: gap.reason,
                detail: gap.detail,
                observations: gap.observations,
                min_observations: gap.minObservations,
                last_close_date: gap.lastCloseDate,
              };
            }
            const detail =
              betasDate === null
                ? "no batch run has computed any date yet"
                : dateComputed
                  ? `${symbol} was not part of the batch run that computed ${betasDate} (added to the universe since?); the next run computes it`
                  : `no batch run has computed ${betasDate}`;
            return {
              ...common,
              reason: "not_computed" as const,
              detail,
              observations: null,
              min_observations: null,
              last_close_date: null,
            };
          }),
        history: {
          from,
          to,
          series: factors.map((factor) => ({
            factor_key: factor.key,
            points: historyRows
              .filter((row) => row.factorId === factor.id)
              .map((row) => ({ date: row.date, beta: row.beta, r_squared: row.rSquared })),
          })),
        },
      };
      return c.json(response, 200);
    },
  );

/** The latest date with a stored beta or a stored reason for the symbol. */
async function latestSymbolDate(db: Database, symbol: string): Promise<string | null> {
  const [beta, gap] = await Promise.all([
    db
      .select({ date: max(symbolFactorExposures.calculationDate) })
      .from(symbolFactorExposures)
      .where(eq(symbolFactorExposures.symbol, symbol))
      .get(),
    db
      .select({ date: max(symbolBetaGaps.calculationDate) })
      .from(symbolBetaGaps)
      .where(eq(symbolBetaGaps.symbol, symbol))
      .get(),
  ]);
  const dates = [beta?.date, gap?.date].filter((date): date is string => typeof date === "string").sort();
  return dates.at(-1) ?? null;
}

async function isComputedDate(db: Database, date: string): Promise<boolean> {
  const row = await db
    .select({ n: count() })
    .from(batchPhaseResults)
    .where(and(eq(batchPhaseResults.phase, "universe_factors"), eq(batchPhaseResults.calculationDate, date)))
    .get();
  return (row?.n ?? 0) > 0;
}
