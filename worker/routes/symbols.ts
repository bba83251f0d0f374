// The symbol API: the universe table (`GET /data/symbols`) and one symbol's page
// (`GET /data/symbols/:symbol`). Shapes: worker/api/symbols.ts.
//
// The table reads one metrics date (default the latest): the count and the page's two parts
// (rows with a value, then rows without), all filtered on the (metrics_date, column) indexes,
// sent as one batch with the data version (worker/db/read-batch.ts). Nulls sort last in both
// directions, then by symbol, so pages are stable. The table, the sectors and a symbol's page
// are conditional reads (ETag, 304: worker/http/etag.ts).
import type { InValue } from "@libsql/client/web";
import {
  and,
  asc,
  count,
  desc,
  eq,
  fillPlaceholders,
  getTableColumns,
  gte,
  isNotNull,
  isNull,
  lte,
  max,
  type SQL,
  type SQLWrapper,
  sql,
} from "drizzle-orm";
import { QueryBuilder, type SQLiteColumn } from "drizzle-orm/sqlite-core";
import { Hono, type TypedResponse } from "hono";
import {
  batchPhaseResults,
  companyProfiles,
  factorDefinitions,
  marketPrices,
  riskFactors,
  symbolBetaGaps,
  symbolDailyMetrics,
  symbolFactorExposures,
  symbolRiskLoadings,
  symbolUniverse,
} from "../../schema/index.ts";
import { routes } from "../api/contract.ts";
import type { RiskLoadings } from "../api/risk.ts";
import {
  maxHistoryDays,
  type SectorsResponse,
  type SymbolDetailResponse,
  type SymbolRow,
  type SymbolsQuery,
  type SymbolsResponse,
  sectorsQuerySchema,
  symbolDetailQuerySchema,
  symbolParamsSchema,
  symbolsQuerySchema,
} from "../api/symbols.ts";
import { type ApiEnv, guard } from "../auth/guard.ts";
import { addDays } from "../dates.ts";
import { latestBetaDate } from "../db/betas.ts";
import { getDatabase } from "../db/client.ts";
import { exactText, packedLines, packedNumber, packedRows } from "../db/compact.ts";
import { batchVersion, readVersion, symbolVersion, versionOf } from "../db/data-version.ts";
import { firstRow, type ReadStatement, readTogether, toStatement } from "../db/read-batch.ts";
import { tradingDaysPerYear } from "../factors/risk-settings.ts";
import { csvResponse, wantsCsv } from "../http/csv-export.ts";
import { ApiError } from "../http/errors.ts";
import {
  entityTag,
  ifNoneMatchMatches,
  notModified,
  notModifiedIfCurrent,
  representationOf,
  withValidators,
} from "../http/etag.ts";
import { validate } from "../http/validate.ts";
import { validationError } from "../http/validation.ts";
import { tenantOf } from "../quotas.ts";
import { required } from "../required.ts";

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

/** The latest metrics date, as SQL: the default of `date`. */
const latestMetricsDateSql = sql<
  string | null
>`(select max(${symbolDailyMetrics.metricsDate}) from ${symbolDailyMetrics})`;

/** The filters of a page: values, or placeholders when the statement text is built once for its shape. */
interface SymbolsFilter {
  sort_by?: string | undefined;
  sort_order?: "asc" | "desc" | undefined;
  sector?: SQLWrapper | string | undefined;
  /** The search text as given, or its two LIKE patterns (prefix of the symbol, part of the name). */
  q?: string | { prefix: SQLWrapper; contains: SQLWrapper } | undefined;
  min_market_cap?: SQLWrapper | number | undefined;
  max_pe_ratio?: SQLWrapper | number | undefined;
}

/** LIKE is case-insensitive for ASCII in SQLite; the search text's own % and _ are escaped. */
function likePatterns(q: string): { prefix: string; contains: string } {
  const text = q.replace(/[\\%_]/g, (char) => `\\${char}`);
  return { prefix: `${text}%`, contains: `%${text}%` };
}

const queryBuilder = new QueryBuilder();

/**
 * The queries of `GET /data/symbols`, all searching a (metrics_date, …) index. Nulls last
 * without sorting the whole date: the rows with a value come first, read in the sort column's
 * index order (ties by symbol in the same direction), then the rows without one by symbol;
 * a page takes from one or both. `counts` gives the total and how many have a value.
 * `metricsDate`, `limit` and `offset` may be SQL (the route's one batch computes them there).
 * The queries are built without a connection (drizzle's standalone builder): the first
 * argument, once the database, is ignored (the query-plan test still passes it).
 */
export function symbolsQueries(_db: unknown, metricsDate: string | SQL, query: SymbolsFilter) {
  const filters: SQL[] = [eq(symbolDailyMetrics.metricsDate, metricsDate)];
  if (query.sector !== undefined) filters.push(eq(symbolDailyMetrics.sector, query.sector));
  if (query.q !== undefined) {
    const { prefix, contains } = typeof query.q === "string" ? likePatterns(query.q) : query.q;
    filters.push(
      sql`(${symbolDailyMetrics.symbol} like ${prefix} escape '\\'
        or ${symbolDailyMetrics.companyName} like ${contains} escape '\\')`,
    );
  }
  if (query.min_market_cap !== undefined) filters.push(gte(symbolDailyMetrics.marketCap, query.min_market_cap));
  if (query.max_pe_ratio !== undefined) filters.push(lte(symbolDailyMetrics.peRatio, query.max_pe_ratio));
  const sortColumn = required(columnByName.get(query.sort_by ?? "symbol"), `sort column ${query.sort_by}`);
  const direction = query.sort_order === "desc" ? desc : asc;
  // drizzle types limit and offset as numbers or placeholders; SQL renders the same way.
  const bound = (value: number | SQL) => value as number;
  return {
    counts: queryBuilder
      .select({
        total: sql<number>`count(*)`,
        withValue: sql<number>`count(${sortColumn})`,
        metricsDate: sql<string | null>`${metricsDate}`,
      })
      .from(symbolDailyMetrics)
      .where(and(...filters)),
    // The page's rowids first, then their JSON: SQLite would otherwise build the JSON of every
    // row an OFFSET skips (a deep page cost 37 ms of the server's CPU).
    withValue: (limit: number | SQL, offset: number | SQL) => {
      const page = queryBuilder
        .select({ rowid: sql`rowid` })
        .from(symbolDailyMetrics)
        .where(and(...filters, isNotNull(sortColumn)))
        .orderBy(direction(sortColumn), direction(symbolDailyMetrics.symbol))
        .limit(bound(limit))
        .offset(bound(offset));
      return queryBuilder
        .select({ json: rowJson })
        .from(symbolDailyMetrics)
        .where(sql`rowid in ${page}`)
        .orderBy(direction(sortColumn), direction(symbolDailyMetrics.symbol));
    },
    withoutValue: (limit: number | SQL, offset: number | SQL) => {
      const page = queryBuilder
        .select({ rowid: sql`rowid` })
        .from(symbolDailyMetrics)
        .where(and(...filters, isNull(sortColumn)))
        .orderBy(asc(symbolDailyMetrics.symbol))
        .limit(bound(limit))
        .offset(bound(offset));
      return queryBuilder
        .select({ json: rowJson })
        .from(symbolDailyMetrics)
        .where(sql`rowid in ${page}`)
        .orderBy(asc(symbolDailyMetrics.symbol));
    },
    /** How many rows of the filters have a value in the sort column (for the null part's bounds). */
    withValueCount: sql<number>`(select count(${sortColumn}) from ${symbolDailyMetrics} where ${and(...filters)})`,
  };
}

/** The statements of a page, by shape: the text is built once per isolate, the values bound per request. */
const pageStatements = new Map<string, { sql: string; params: unknown[] }[]>();

/**
 * `GET /data/symbols` as one batch: the counts (with the metrics date), the rows with a value
 * from `offset`, and the rows without one that complete the page — the null part's offset and
 * length computed in SQL from the count of rows with a value, so that no statement waits for
 * another's answer.
 */
function symbolsPageStatements(query: SymbolsQuery): ReadStatement[] {
  const shape = [
    query.sort_by ?? "symbol",
    query.sort_order ?? "asc",
    query.date !== undefined,
    query.sector !== undefined,
    query.q !== undefined,
    query.min_market_cap !== undefined,
    query.max_pe_ratio !== undefined,
  ].join("|");
  let built = pageStatements.get(shape);
  if (built === undefined) {
    const queries = symbolsQueries(
      null,
      query.date !== undefined ? sql`${sql.placeholder("date")}` : latestMetricsDateSql,
      {
        sort_by: query.sort_by,
        sort_order: query.sort_order,
        sector: query.sector !== undefined ? sql.placeholder("sector") : undefined,
        q:
          query.q !== undefined
            ? { prefix: sql.placeholder("prefix"), contains: sql.placeholder("contains") }
            : undefined,
        min_market_cap: query.min_market_cap !== undefined ? sql.placeholder("minMarketCap") : undefined,
        max_pe_ratio: query.max_pe_ratio !== undefined ? sql.placeholder("maxPeRatio") : undefined,
      },
    );
    const limit = sql.placeholder("limit");
    const offset = sql.placeholder("offset");
    // Rows without a value: from `offset − withValue` (when past them), as many as the part with
    // a value left free on the page.
    const nullsOffset = sql`max(0, ${offset} - ${queries.withValueCount})`;
    const nullsLimit = sql`(${limit} - max(0, min(${limit}, ${queries.withValueCount} - ${offset})))`;
    built = [
      queries.counts.toSQL(),
      queries.withValue(sql`${limit}`, sql`${offset}`).toSQL(),
      queries.withoutValue(nullsLimit, nullsOffset).toSQL(),
    ];
    pageStatements.set(shape, built);
  }
  const values: Record<string, unknown> = {
    date: query.date,
    sector: query.sector,
    ...(query.q !== undefined ? likePatterns(query.q) : {}),
    minMarketCap: query.min_market_cap,
    maxPeRatio: query.max_pe_ratio,
    limit: query.limit ?? 100,
    offset: query.offset ?? 0,
  };
  return built.map((statement) => ({
    sql: statement.sql,
    args: fillPlaceholders(statement.params, values) as InValue[],
  }));
}

const csvColumns = [...Object.values(metricsColumns)]
  .map((column) => column.name)
  .filter((name) => name !== "metrics_date" && name !== "updated_at");

/** The sectors of a metrics date (default the latest) with counts, as one statement. */
const sectorsStatement = (date: string | undefined): ReadStatement =>
  toStatement(
    sql`select ${symbolDailyMetrics.sector}, count(${symbolDailyMetrics.symbol}), d.metrics_date
      from (select ${date === undefined ? latestMetricsDateSql : date} as metrics_date) d
      left join ${symbolDailyMetrics} on ${symbolDailyMetrics.metricsDate} = d.metrics_date
      group by ${symbolDailyMetrics.sector} order by ${symbolDailyMetrics.sector}`,
  );

/** `GET /data/sectors`: the values the symbol table's sector filter takes, with counts. */
export const sectorRoutes = new Hono<ApiEnv>().get(
  "/",
  guard(routes.listSectors),
  validate("query", sectorsQuerySchema),
  async (c) => {
    const query = c.req.valid("query");
    const db = getDatabase(c.env);
    const representation = representationOf(c, "listSectors", c.get("caller"), "json");
    const unchanged = await notModifiedIfCurrent(c, db, representation, batchVersion());
    if (unchanged) return unchanged;
    const [versionResult, sectorsResult] = await readTogether(db, [batchVersion(), sectorsStatement(query.date)]);
    const etag = await entityTag(representation, versionOf(firstRow(versionResult)) ?? []);
    // One row per sector of the date (NULL for the rows without one); a date without metrics
    // gives a single row with a NULL sector and a count of 0 (the left join).
    const rows = (sectorsResult?.rows ?? []).map((row) => ({
      sector: row[0] as string | null,
      count: Number(row[1]),
      date: row[2] as string | null,
    }));
    const metricsDate = query.date ?? rows[0]?.date ?? null;
    const counted = rows.filter((row) => row.count > 0);
    const body: SectorsResponse = {
      metrics_date: metricsDate,
      sectors: counted.flatMap((row) => (row.sector === null ? [] : [{ sector: row.sector, count: row.count }])),
      without_sector: counted.find((row) => row.sector === null)?.count ?? 0,
    };
    return withValidators(c.json(body, 200), etag);
  },
);

export const symbolRoutes = new Hono<ApiEnv>()
  .get("/", guard(routes.listSymbols), validate("query", symbolsQuerySchema), async (c) => {
    const query = c.req.valid("query");
    const db = getDatabase(c.env);
    const csv = wantsCsv(c, query.format);
    const representation = representationOf(c, "listSymbols", c.get("caller"), csv ? "csv" : "json");
    const unchanged = await notModifiedIfCurrent(c, db, representation, batchVersion());
    if (unchanged) return unchanged;
    const [versionResult, countsResult, withValue, withoutValue] = await readTogether(db, [
      batchVersion(),
      ...symbolsPageStatements(query),
    ]);
    const etag = await entityTag(representation, versionOf(firstRow(versionResult)) ?? []);
    const counts = firstRow(countsResult);
    const metricsDate = query.date ?? ((counts?.[2] ?? null) as string | null);
    const total = Number(counts?.[0] ?? 0);
    const rows = [...(withValue?.rows ?? []), ...(withoutValue?.rows ?? [])].map((row) => String(row[0]));
    if (csv) {
      const records = rows.map((text) => JSON.parse(text) as Record<string, string | number | null>);
      return withValidators(
        csvResponse(
          c,
          `symbols-${metricsDate ?? "none"}.csv`,
          csvColumns,
          records.map((row) => csvColumns.map((name) => row[name])),
        ),
        etag,
      );
    }
    // The rows are JSON already: the body is assembled around them, typed as the schema says.
    const body = `{"symbols":[${rows.join(",")}],"total_count":${total},"metrics_date":${JSON.stringify(metricsDate)}}`;
    return withValidators(c.body(body, 200, { "Content-Type": "application/json" }), etag) as unknown as TypedResponse<
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
      // The version first, the data after: an answer is never older than the version it is
      // tagged with. `to` defaults to today when nothing is computed, hence the date.
      const representation = [
        ...representationOf(c, "getSymbol", c.get("caller"), "json"),
        new Date().toISOString().slice(0, 10),
      ];
      const version = await readVersion(db, symbolVersion(symbol));
      const etag = version === null ? null : await entityTag(representation, version);
      if (etag !== null && ifNoneMatchMatches(c.req.header("if-none-match"), etag)) return notModified(c, etag);
      // One request for what the defaults depend on (a libSQL batch: one HTTP request, one read
      // transaction), one more for the rest: each request costs the Worker about a millisecond of
      // CPU (worker/db/read-batch.ts), and the page used to send a dozen.
      const [universeRows, profileRows, factors, [latestBeta], [latestGap]] = await db.batch([
        db.select().from(symbolUniverse).where(eq(symbolUniverse.symbol, symbol)),
        db.select().from(companyProfiles).where(eq(companyProfiles.symbol, symbol)),
        db
          .select()
          .from(factorDefinitions)
          .where(eq(factorDefinitions.isActive, true))
          .orderBy(factorDefinitions.displayOrder),
        db
          .select({ date: max(symbolFactorExposures.calculationDate) })
          .from(symbolFactorExposures)
          .where(eq(symbolFactorExposures.symbol, symbol)),
        db
          .select({ date: max(symbolBetaGaps.calculationDate) })
          .from(symbolBetaGaps)
          .where(eq(symbolBetaGaps.symbol, symbol)),
      ]);
      const universe = universeRows[0];
      const profile = profileRows[0];
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
      const betasDate =
        query.date ?? laterDate(latestBeta?.date ?? null, latestGap?.date ?? null) ?? (await latestBetaDate(db));
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
      // Without a betas date the statements that need one match nothing (no stored row has the
      // date ''): no betas, no gaps, not computed, no loadings.
      const onDate = betasDate ?? "";
      const [metricsRows, betaRows, historyRows, gapRows, [computed], loadingsRows, riskFactorRows] = await db.batch([
        db
          .select()
          .from(symbolDailyMetrics)
          .where(and(...metricsFilter))
          .orderBy(desc(symbolDailyMetrics.metricsDate))
          .limit(1),
        db
          .select()
          .from(symbolFactorExposures)
          .where(and(eq(symbolFactorExposures.symbol, symbol), eq(symbolFactorExposures.calculationDate, onDate))),
        // Each factor's history as one text cell (date,beta,r²;…, in date order; worker/db/compact.ts):
        // a year of 12 factors crosses as 12 cells, not 3,000 rows of 4 (their decoding was about
        // a third of the route's CPU).
        db
          .select({
            factorId: symbolFactorExposures.factorId,
            points: packedRows(
              [
                sql`${symbolFactorExposures.calculationDate}`,
                exactText(symbolFactorExposures.betaValue),
                exactText(symbolFactorExposures.rSquared),
              ],
              symbolFactorExposures.calculationDate,
            ),
          })
          .from(symbolFactorExposures)
          .where(
            and(
              eq(symbolFactorExposures.symbol, symbol),
              gte(symbolFactorExposures.calculationDate, from),
              lte(symbolFactorExposures.calculationDate, to),
            ),
          )
          .groupBy(symbolFactorExposures.factorId),
        db
          .select()
          .from(symbolBetaGaps)
          .where(and(eq(symbolBetaGaps.symbol, symbol), eq(symbolBetaGaps.calculationDate, onDate))),
        db
          .select({ n: count() })
          .from(batchPhaseResults)
          .where(and(eq(batchPhaseResults.phase, "universe_factors"), eq(batchPhaseResults.calculationDate, onDate))),
        db
          .select()
          .from(symbolRiskLoadings)
          .where(and(eq(symbolRiskLoadings.symbol, symbol), eq(symbolRiskLoadings.calculationDate, onDate))),
        db
          .select({ key: riskFactors.key })
          .from(riskFactors)
          .where(eq(riskFactors.isActive, true))
          .orderBy(asc(riskFactors.displayOrder), asc(riskFactors.id)),
      ]);
      const metrics = metricsRows[0];
      const loadingsRow = loadingsRows[0];
      const dateComputed = betasDate !== null && (computed?.n ?? 0) > 0;
      const historyByFactor = new Map(historyRows.map((row) => [row.factorId, unpackHistory(row.points)]));
      const gapByFactor = new Map(gapRows.map((row) => [row.factorId, row]));
      const betaByFactor = new Map(betaRows.map((row) => [row.factorId, row]));
      const ridgeSlopes = betaRows.filter((row) => row.calculationMethod === "ridge").length;
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
              // Null when no residual degrees of freedom are left, or on betas stored before the
              // column existed: said which, never a made-up number.
              ...(row.standardError !== null && Number.isFinite(row.standardError)
                ? { standard_error: row.standardError, standard_error_reason: null }
                : {
                    standard_error: null,
                    standard_error_reason:
                      row.observations <= (row.calculationMethod === "ridge" ? ridgeSlopes : 1) + 1
                        ? ("too_few_observations" as const)
                        : ("not_computed" as const),
                  }),
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
            const detail = !universe.isActive
              ? `${symbol} is inactive in the universe (delisted or retired): the batch no longer computes it`
              : betasDate === null
                ? "no batch run has computed any date yet"
                : dateComputed
                  ? `${symbol} was not part of the batch run that computed ${betasDate} ` +
                    "(added to the universe since?); the next run computes it"
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
        risk_loadings: riskLoadingsOf(
          symbol,
          betasDate,
          loadingsRow,
          riskFactorRows.map((row) => row.key),
        ),
        history: {
          from,
          to,
          series: factors.map((factor) => ({
            factor_key: factor.key,
            points: historyByFactor.get(factor.id) ?? [],
          })),
        },
      };
      return etag === null ? c.json(response, 200) : withValidators(c.json(response, 200), etag);
    },
  );

/** Numbers of a stored JSON map, in the risk factors' display order (keys not among them after, as stored). */
function orderedNumbers(values: Record<string, unknown> | null, order: readonly string[]): Record<string, number> {
  const entries = Object.entries(values ?? {}).filter(
    (entry): entry is [string, number] => typeof entry[1] === "number" && Number.isFinite(entry[1]),
  );
  const rank = (key: string) => {
    const index = order.indexOf(key);
    return index === -1 ? order.length : index;
  };
  return Object.fromEntries(entries.sort(([a], [b]) => rank(a) - rank(b)));
}

const riskReasonDetails: Record<string, string> = {
  insufficient_data: "fewer observations in the window than the risk model's minimum",
  degenerate: "the risk factors are collinear over the window",
  no_factor_data: "no risk factor has a return in the window",
  stale_prices: "the last close is too old",
  no_prices: "no close in the window",
};

/**
 * A symbol's risk loadings on `date` (the page's betas date): the stored estimate, the stored
 * reason there is none, or `not_computed` when the batch stored nothing for the symbol on it.
 */
export function riskLoadingsOf(
  symbol: string,
  date: string | null,
  row: typeof symbolRiskLoadings.$inferSelect | undefined,
  factorOrder: readonly string[],
): RiskLoadings {
  if (date === null)
    return {
      date: null,
      status: "missing",
      reason: "not_computed",
      detail: "no batch run has computed any date yet",
      observations: null,
    };
  if (row === undefined)
    return {
      date,
      status: "missing",
      reason: "not_computed",
      detail: `no risk loadings are stored for ${symbol} on ${date}: the batch's risk phase has not computed them`,
      observations: null,
    };
  if (row.qualityFlag !== null && row.loadings !== null && row.residualVariance !== null) {
    const residualVariance = row.residualVariance;
    return {
      date,
      status: "estimated",
      quality_flag: row.qualityFlag,
      loadings: orderedNumbers(row.loadings, factorOrder),
      standard_errors: orderedNumbers(row.standardErrors, factorOrder),
      residual_variance: residualVariance,
      specific_volatility: Math.sqrt(tradingDaysPerYear * Math.max(0, residualVariance)),
      r_squared: row.rSquared,
      observations: row.observations,
      factor_observations: row.factorObservations,
      window_days: row.windowDays,
      detail: row.detail,
    };
  }
  const reason = row.reason ?? "insufficient_data";
  return {
    date,
    status: "missing",
    reason,
    detail: row.detail ?? riskReasonDetails[reason] ?? reason,
    observations: row.observations,
  };
}

/** The later of two ISO dates (either may be null). */
function laterDate(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  return b === null || a >= b ? a : b;
}

/** A factor's packed history (`date,beta,r²;…`, numbers as exact text, '' for null) as points. */
function unpackHistory(packed: string | null): { date: string; beta: number; r_squared: number | null }[] {
  return packedLines(packed).map(([date = "", beta, rSquared]) => ({
    date,
    beta: Number(beta),
    r_squared: packedNumber(rSquared),
  }));
}
