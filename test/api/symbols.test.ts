// The symbol table, one symbol's page and the factor list, over the batch's real output.
import { and, eq, inArray, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  factorDefinitions,
  symbolDailyMetrics,
  symbolFactorExposures,
  symbolRiskLoadings,
} from "../../schema/index.ts";
import type { FactorsResponse } from "../../worker/api/factors.ts";
import {
  factorSortColumns,
  type SectorsResponse,
  symbolRowSchema,
  symbolSortColumns,
  tableFactorColumns,
  symbolsResponseSchema,
  type SymbolDetailResponse,
  type SymbolRow,
  type SymbolsResponse,
  symbolDetailResponseSchema,
} from "../../worker/api/symbols.ts";
import { symbolsQueries } from "../../worker/routes/symbols.ts";
import { call, db, ensureBatchOutput, errorOf, json, latestDate } from "./support.ts";

beforeAll(ensureBatchOutput);

async function page(query: string): Promise<SymbolsResponse> {
  return json<SymbolsResponse>(await call(`/data/symbols?${query}`));
}

/** Every row of the latest date (the demo universe is larger than one page). */
async function allRows(): Promise<SymbolRow[]> {
  const first = await page("limit=500");
  const second = await page("limit=500&offset=500");
  return [...first.symbols, ...second.symbols];
}

function expectedOrder(rows: readonly SymbolRow[], column: string, order: "asc" | "desc"): string[] {
  const value = (row: SymbolRow) => (row as Record<string, string | number | null>)[column] ?? null;
  return [...rows]
    .sort((a, b) => {
      const x = value(a);
      const y = value(b);
      if (x === null || y === null) return x === y ? (a.symbol < b.symbol ? -1 : 1) : x === null ? 1 : -1;
      // Ties by symbol in the sort's direction (the index order, read forwards or backwards).
      if (x !== y) return (x < y ? -1 : 1) * (order === "asc" ? 1 : -1);
      return (a.symbol < b.symbol ? -1 : 1) * (order === "asc" ? 1 : -1);
    })
    .map((row) => row.symbol);
}

describe("GET /data/symbols", () => {
  it("declares exactly the table's factor columns", () => {
    expect([...factorSortColumns].sort()).toEqual([...tableFactorColumns].sort());
  });

  it("serves the latest metrics date with every column, 100 rows by default, and the total", async () => {
    const body = await page("");
    expect(body.metrics_date).toBe(latestDate);
    expect(body.symbols).toHaveLength(100);
    expect(body.total_count).toBeGreaterThan(500);
    // The rows are JSON built by SQLite: they must be exactly what the schema (and OpenAPI) says.
    expect(symbolsResponseSchema.safeParse(body).success).toBe(true);
    for (const row of body.symbols) expect(Object.keys(row).sort()).toEqual(Object.keys(symbolRowSchema.shape).sort());
    const row = body.symbols[0]!;
    expect(typeof row.market_cap === "number" || row.market_cap === null).toBe(true);
  });

  it(
    "sorts on every whitelisted column " + "in both directions, nulls last (by symbol), ties by symbol, across pages",
    async () => {
      const rows = await allRows();
      // Numbers cross exactly: the same as the table holds.
      const stored = await db.select().from(symbolDailyMetrics).where(eq(symbolDailyMetrics.metricsDate, latestDate));
      const byRow = new Map(stored.map((row) => [row.symbol, row]));
      for (const row of rows)
        expect([row.return_1d, row.factor_market_beta, row.current_price]).toEqual([
          byRow.get(row.symbol)!.return1d,
          byRow.get(row.symbol)!.factorMarketBeta,
          byRow.get(row.symbol)!.currentPrice,
        ]);
      expect(rows.some((row) => row.pe_ratio === null)).toBe(true); // ETFs have no P/E: the nulls are real
      for (const column of symbolSortColumns) {
        for (const order of ["asc", "desc"] as const) {
          const first = await page(`sort_by=${column}&sort_order=${order}&limit=500`);
          const second = await page(`sort_by=${column}&sort_order=${order}&limit=500&offset=500`);
          expect(
            [...first.symbols, ...second.symbols].map((row) => row.symbol),
            `${column} ${order}`,
          ).toEqual(expectedOrder(rows, column, order));
        }
      }
    },
  );

  it("filters by sector, minimum market cap and maximum P/E, and counts what matches", async () => {
    const rows = await allRows();
    const sector = rows.find((row) => row.sector !== null)!.sector!;
    const bySector = await page(`sector=${encodeURIComponent(sector)}&limit=500`);
    expect(bySector.symbols.length).toBeGreaterThan(0);
    expect(bySector.symbols.every((row) => row.sector === sector)).toBe(true);
    expect(bySector.total_count).toBe(rows.filter((row) => row.sector === sector).length);

    const caps = rows
      .map((row) => row.market_cap)
      .filter((cap): cap is number => cap !== null)
      .sort((a, b) => a - b);
    const median = caps[Math.floor(caps.length / 2)]!;
    const big = await page(`min_market_cap=${median}&limit=500`);
    expect(big.total_count).toBe(rows.filter((row) => row.market_cap !== null && row.market_cap >= median).length);
    expect(big.symbols.every((row) => row.market_cap !== null && row.market_cap >= median)).toBe(true);

    const cheap = await page(`max_pe_ratio=20&min_market_cap=${median}&sector=${encodeURIComponent(sector)}&limit=500`);
    expect(cheap.total_count).toBe(
      rows.filter(
        (row) =>
          row.sector === sector &&
          row.market_cap !== null &&
          row.market_cap >= median &&
          row.pe_ratio !== null &&
          row.pe_ratio <= 20,
      ).length,
    );
  });

  it(
    "searches with q: " + "symbols starting with it or company names containing it, case-insensitive, % and _ literal",
    async () => {
      const rows = await allRows();
      const target = rows.find((row) => row.company_name !== null && row.symbol.length >= 3)!;
      const prefix = target.symbol.slice(0, 3).toLowerCase();
      const word = target.company_name!.split(" ")[0]!.toUpperCase();
      const matches = (q: string) =>
        rows
          .filter(
            (row) =>
              row.symbol.toLowerCase().startsWith(q.toLowerCase()) ||
              (row.company_name ?? "").toLowerCase().includes(q.toLowerCase()),
          )
          .map((row) => row.symbol)
          .sort();
      for (const q of [prefix, word]) {
        const found = await page(`q=${encodeURIComponent(q)}&limit=500`);
        expect(found.symbols.map((row) => row.symbol).sort()).toEqual(matches(q));
        expect(found.total_count).toBe(matches(q).length);
        expect(found.symbols.map((row) => row.symbol)).toContain(target.symbol);
      }
      // LIKE's wildcards are plain characters in q.
      expect((await page("q=%25")).total_count).toBe(0);
      expect((await page("q=_")).total_count).toBe(0);
      const empty = await errorOf(await call("/data/symbols?q=%20"), 400);
      expect(empty.details).toEqual([{ path: "q", message: "q must not be empty" }]);
    },
  );

  it(
    "pages to the edges: offset past the end is empty with the total, " + "limit 500 is allowed and 501 is not",
    async () => {
      const past = await page("offset=100000");
      expect(past.symbols).toEqual([]);
      expect(past.total_count).toBeGreaterThan(500);
      expect((await page("limit=500")).symbols).toHaveLength(500);
      const error = await errorOf(await call("/data/symbols?limit=501"), 400);
      expect(error.code).toBe("VALIDATION_ERROR");
      expect(error.details).toEqual([{ path: "limit", message: "limit must be a whole number from 1 to 500" }]);
    },
  );

  it("rejects unknown sort columns, bad numbers and unknown parameters with the field and the reason", async () => {
    const sort = await errorOf(await call("/data/symbols?sort_by=password"), 400);
    expect((sort.details as { path: string }[])[0]!.path).toBe("sort_by");
    const number = await errorOf(await call("/data/symbols?min_market_cap=lots&offset=-1"), 400);
    expect((number.details as { path: string }[]).map((detail) => detail.path).sort()).toEqual([
      "min_market_cap",
      "offset",
    ]);
    const unknown = await errorOf(await call("/data/symbols?sortBy=symbol"), 400);
    expect(unknown.details).toEqual([{ path: "sortBy", message: 'unknown field "sortBy"' }]);
  });

  it("exports the page as CSV with Accept: text/csv or ?format=csv, missing values as empty fields", async () => {
    for (const response of [
      await call("/data/symbols?limit=5&sort_by=pe_ratio&sort_order=desc", { headers: { accept: "text/csv" } }),
      await call("/data/symbols?limit=5&format=csv"),
    ]) {
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/^text\/csv/);
      const lines = (await response.text()).trim().split("\r\n");
      expect(lines).toHaveLength(6);
      expect(lines[0]!.split(",").slice(0, 2)).toEqual(["symbol", "current_price"]);
    }
    const nullsLast = await call("/data/symbols?limit=500&offset=450&sort_by=pe_ratio&format=csv");
    const last = (await nullsLast.text()).trim().split("\r\n").at(-1)!;
    expect(last).toMatch(/,,/); // a null P/E is an empty field, never 0
  });
});

describe("the symbol table's queries", () => {
  it("search an index of the metrics date for the page and the count, for every sort column and filter", async () => {
    const filters = { sector: "Energy", min_market_cap: 1e9, max_pe_ratio: 30 };
    for (const sort_by of symbolSortColumns) {
      for (const query of [{ sort_by }, { sort_by, sort_order: "desc" as const, ...filters }]) {
        const queries = symbolsQueries(db, latestDate, query);
        const statements = [
          queries.counts.toSQL(),
          queries.withValue(100, 0).toSQL(),
          queries.withoutValue(100, 0).toSQL(),
        ];
        for (const [index, statement] of statements.entries()) {
          const plan = await db.$client.execute({
            sql: `explain query plan ${statement.sql}`,
            args: statement.params as never[],
          });
          const details = plan.rows.map((row) => String(row["detail"]));
          const where = `${sort_by} #${index}: ${details.join(" | ")}`;
          expect(
            details.some((detail) =>
              /^SEARCH symbol_daily_metrics USING (COVERING )?INDEX symbol_daily_metrics_\w+ \(metrics_date=/.test(
                detail,
              ),
            ),
            where,
          ).toBe(true);
          expect(
            details.some((detail) => detail.startsWith("SCAN symbol_daily_metrics")),
            where,
          ).toBe(false);
          // The page's rows come in the sort column's index order (at most ties are sorted);
          // only the 100 rows of the page are sorted again when their JSON is built.
          if (index === 1 && sort_by !== "symbol" && !("sector" in query)) {
            expect(
              details.some((detail) => detail.includes(`INDEX symbol_daily_metrics_${sort_by}_idx (metrics_date=?`)),
              where,
            ).toBe(true);
            expect(
              details.filter((detail) => detail === "USE TEMP B-TREE FOR ORDER BY").length,
              where,
            ).toBeLessThanOrEqual(1);
          }
        }
      }
    }
  });
});

describe("GET /data/sectors", () => {
  it("lists the date's sectors by name with their symbol counts, equal to the sector filter's totals", async () => {
    const rows = await allRows();
    const sectors = await json<SectorsResponse>(await call("/data/sectors"));
    expect(sectors.metrics_date).toBe((await page("limit=1")).metrics_date);
    const expected = new Map<string, number>();
    for (const row of rows) if (row.sector !== null) expected.set(row.sector, (expected.get(row.sector) ?? 0) + 1);
    expect(sectors.sectors).toEqual(
      [...expected.keys()].sort().map((sector) => ({ sector, count: expected.get(sector) })),
    );
    expect(sectors.without_sector).toBe(rows.filter((row) => row.sector === null).length);
    const first = sectors.sectors[0]!;
    expect((await page(`sector=${encodeURIComponent(first.sector)}&limit=1`)).total_count).toBe(first.count);
  });

  it("answers an empty list for a date without metrics and refuses a malformed date", async () => {
    const none = await json<SectorsResponse>(await call("/data/sectors?date=2001-01-02"));
    expect(none).toEqual({ metrics_date: "2001-01-02", sectors: [], without_sector: 0 });
    const error = await errorOf(await call("/data/sectors?date=yesterday"), 400);
    expect((error.details as { path: string }[])[0]!.path).toBe("date");
  });
});

describe("GET /data/symbols/:symbol", () => {
  it("serves the profile, latest metrics, every factor's beta with its statistics, and the history", async () => {
    const body = await json<SymbolDetailResponse>(await call("/data/symbols/spy"));
    expect(body.symbol).toBe("SPY");
    expect(body.betas_date).toBe(latestDate);
    expect(body.metrics?.metrics_date).toBe(latestDate);
    const market = body.betas.find((beta) => beta.factor_key === "market_beta")!;
    expect(market.beta).toBeCloseTo(1, 10); // SPY on itself
    expect(market).toMatchObject({ method: "ols", window_days: 365, quality_flag: "ok" });
    expect(market.r_squared).toBeCloseTo(1, 10);
    expect(market.observations).toBeGreaterThan(200);
    expect(body.betas.length + body.missing_betas.length).toBe(12);
    const history = body.history.series.find((series) => series.factor_key === "market_beta")!;
    expect(history.points.map((point) => point.date)).toEqual(["2026-06-26", "2026-06-29", "2026-06-30"]);
    // Every series is the stored rows of its factor in the range, in date order, numbers exactly as
    // stored (they cross packed as text) and a null R² as null.
    const stored = await db
      .select({
        key: factorDefinitions.key,
        date: symbolFactorExposures.calculationDate,
        beta: symbolFactorExposures.betaValue,
        r_squared: symbolFactorExposures.rSquared,
      })
      .from(symbolFactorExposures)
      .innerJoin(factorDefinitions, eq(factorDefinitions.id, symbolFactorExposures.factorId))
      .where(eq(symbolFactorExposures.symbol, "SPY"))
      .orderBy(symbolFactorExposures.calculationDate);
    expect(stored.length).toBeGreaterThan(12);
    for (const series of body.history.series) {
      const expected = stored
        .filter((row) => row.key === series.factor_key && row.date >= body.history.from && row.date <= body.history.to)
        .map(({ date, beta, r_squared }) => ({ date, beta, r_squared }));
      expect(series.points).toEqual(expected);
    }
  });

  it("serves a history point's missing R² as null and a beta's digits exactly", async () => {
    const date = latestDate;
    const [row] = await db
      .select()
      .from(symbolFactorExposures)
      .where(and(eq(symbolFactorExposures.symbol, "TLT"), eq(symbolFactorExposures.calculationDate, date)))
      .limit(1);
    expect(row).toBeDefined();
    const saved = { betaValue: row!.betaValue, rSquared: row!.rSquared };
    const where = and(
      eq(symbolFactorExposures.symbol, "TLT"),
      eq(symbolFactorExposures.calculationDate, date),
      eq(symbolFactorExposures.factorId, row!.factorId),
    );
    // 17 significant digits, and a value whose shortest form is long: both must come back as the same double.
    const beta = 0.1 + 0.2;
    await db.update(symbolFactorExposures).set({ betaValue: beta, rSquared: null }).where(where);
    try {
      const body = await json<SymbolDetailResponse>(await call("/data/symbols/TLT"));
      const factorKey = (await db.select().from(factorDefinitions).where(eq(factorDefinitions.id, row!.factorId)))[0]!
        .key;
      const point = body.history.series
        .find((series) => series.factor_key === factorKey)!
        .points.find((p) => p.date === date)!;
      expect(point).toEqual({ date, beta, r_squared: null });
    } finally {
      await db.update(symbolFactorExposures).set(saved).where(where);
    }
  });

  it("answers 404 for a symbol outside the universe and 400 for a malformed one", async () => {
    expect((await errorOf(await call("/data/symbols/NOPE123"), 404)).code).toBe("NOT_FOUND");
    expect((await errorOf(await call("/data/symbols/%24%24"), 400)).code).toBe("VALIDATION_ERROR");
  });
});

describe("GET /data/symbols/:symbol: standard errors and risk loadings", () => {
  // These tests rewrite SPY's and TLT's stored numbers of the latest date; other files (the
  // portfolio risk and what-if tests) read the same database, so the batch's rows come back after.
  const touched = ["SPY", "TLT"];
  let savedLoadings: (typeof symbolRiskLoadings.$inferSelect)[] = [];
  let savedExposures: (typeof symbolFactorExposures.$inferSelect)[] = [];
  beforeAll(async () => {
    await ensureBatchOutput();
    savedLoadings = await db
      .select()
      .from(symbolRiskLoadings)
      .where(and(inArray(symbolRiskLoadings.symbol, touched), eq(symbolRiskLoadings.calculationDate, latestDate)));
    savedExposures = await db
      .select()
      .from(symbolFactorExposures)
      .where(and(eq(symbolFactorExposures.symbol, "SPY"), eq(symbolFactorExposures.calculationDate, latestDate)));
  });
  afterAll(async () => {
    await db
      .delete(symbolRiskLoadings)
      .where(and(inArray(symbolRiskLoadings.symbol, touched), eq(symbolRiskLoadings.calculationDate, latestDate)));
    if (savedLoadings.length > 0) await db.insert(symbolRiskLoadings).values(savedLoadings);
    for (const row of savedExposures)
      await db
        .update(symbolFactorExposures)
        .set({ standardError: row.standardError })
        .where(eq(symbolFactorExposures.id, row.id));
  });

  /** Stores (or replaces) a symbol's risk loadings row for a date. */
  async function storeLoadings(row: typeof symbolRiskLoadings.$inferInsert): Promise<void> {
    const { symbol: _symbol, calculationDate: _date, ...rest } = row;
    await db
      .insert(symbolRiskLoadings)
      .values(row)
      .onConflictDoUpdate({
        target: [symbolRiskLoadings.symbol, symbolRiskLoadings.calculationDate],
        set: {
          qualityFlag: null,
          reason: null,
          loadings: null,
          standardErrors: null,
          residualVariance: null,
          rSquared: null,
          observations: null,
          factorObservations: null,
          detail: null,
          ...rest,
        },
      });
  }

  it("serves each beta's standard error, or null with not_computed for a row stored before the column", async () => {
    const before = await json<SymbolDetailResponse>(await call("/data/symbols/SPY"));
    const [first, second] = before.betas;
    const idOf = async (key: string) =>
      (await db.select().from(factorDefinitions).where(eq(factorDefinitions.key, key)).get())!.id;
    const rowOf = async (key: string) =>
      and(
        eq(symbolFactorExposures.symbol, "SPY"),
        eq(symbolFactorExposures.calculationDate, latestDate),
        eq(symbolFactorExposures.factorId, await idOf(key)),
      );
    await db
      .update(symbolFactorExposures)
      .set({ standardError: 0.0123 })
      .where(await rowOf(first!.factor_key));
    await db
      .update(symbolFactorExposures)
      .set({ standardError: null })
      .where(await rowOf(second!.factor_key));
    const body = await json<SymbolDetailResponse>(await call("/data/symbols/SPY"));
    expect(symbolDetailResponseSchema.safeParse(body).success).toBe(true);
    expect(body.betas.find((beta) => beta.factor_key === first!.factor_key)).toMatchObject({
      standard_error: 0.0123,
      standard_error_reason: null,
    });
    expect(body.betas.find((beta) => beta.factor_key === second!.factor_key)).toMatchObject({
      standard_error: null,
      standard_error_reason: "not_computed",
    });
    for (const beta of body.betas)
      expect(beta.standard_error === null ? beta.standard_error_reason : "a number").not.toBeNull();
  });

  it("serves the date's estimated loadings in the risk factors' order, with the specific volatility", async () => {
    await storeLoadings({
      symbol: "SPY",
      calculationDate: latestDate,
      qualityFlag: "limited_history",
      // Stored in another order than the factors' display order.
      loadings: { size: 0.01, market: 1.002, rates: -0.03 },
      standardErrors: { rates: 0.004, market: 0.0011, size: 0.002 },
      residualVariance: 4e-6,
      rSquared: 0.998,
      observations: 120,
      factorObservations: 250,
      windowDays: 365,
      detail: "120 of 250 days",
    });
    const body = await json<SymbolDetailResponse>(await call("/data/symbols/spy"));
    expect(symbolDetailResponseSchema.safeParse(body).success).toBe(true);
    expect(body.risk_loadings).toEqual({
      date: latestDate,
      status: "estimated",
      quality_flag: "limited_history",
      loadings: { market: 1.002, rates: -0.03, size: 0.01 },
      standard_errors: { market: 0.0011, rates: 0.004, size: 0.002 },
      residual_variance: 4e-6,
      specific_volatility: Math.sqrt(252 * 4e-6),
      r_squared: 0.998,
      observations: 120,
      factor_observations: 250,
      window_days: 365,
      detail: "120 of 250 days",
    });
    expect(Object.keys(body.risk_loadings.status === "estimated" ? body.risk_loadings.loadings : {})).toEqual([
      "market",
      "rates",
      "size",
    ]);
    expect(body.risk_loadings.status === "estimated" && body.risk_loadings.specific_volatility).toBeCloseTo(
      0.0317490157,
      9,
    );
  });

  it("serves a stored reason as missing with its detail and observations, never zeros", async () => {
    await storeLoadings({
      symbol: "TLT",
      calculationDate: latestDate,
      reason: "insufficient_data",
      observations: 48,
      windowDays: 365,
      detail: "48 observations in the window, fewer than 60",
    });
    const body = await json<SymbolDetailResponse>(await call("/data/symbols/TLT"));
    expect(symbolDetailResponseSchema.safeParse(body).success).toBe(true);
    expect(body.betas_date).toBe(latestDate);
    expect(body.risk_loadings).toEqual({
      date: latestDate,
      status: "missing",
      reason: "insufficient_data",
      detail: "48 observations in the window, fewer than 60",
      observations: 48,
    });
  });

  it("answers not_computed for a date without stored loadings", async () => {
    const count = await db
      .select({ n: sql<number>`count(*)` })
      .from(symbolRiskLoadings)
      .where(and(eq(symbolRiskLoadings.symbol, "SPY"), eq(symbolRiskLoadings.calculationDate, "2026-06-25")))
      .get();
    expect(count?.n).toBe(0);
    const body = await json<SymbolDetailResponse>(await call("/data/symbols/SPY?date=2026-06-25"));
    expect(symbolDetailResponseSchema.safeParse(body).success).toBe(true);
    expect(body.risk_loadings).toMatchObject({
      date: "2026-06-25",
      status: "missing",
      reason: "not_computed",
      observations: null,
    });
    expect(body.risk_loadings.status === "missing" && body.risk_loadings.detail).toMatch(
      /no risk loadings are stored for SPY on 2026-06-25/,
    );
  });
});

describe("GET /factors", () => {
  it("lists the twelve default factors in display order", async () => {
    const body = await json<FactorsResponse>(await call("/factors"));
    expect(body.factors.map((factor) => factor.key)).toEqual([
      "market_beta",
      "interest_rate_beta",
      "value",
      "growth",
      "momentum",
      "quality",
      "size",
      "low_volatility",
      "growth_value_spread",
      "momentum_spread",
      "size_spread",
      "quality_spread",
    ]);
    expect(body.factors.find((factor) => factor.key === "value")).toMatchObject({
      method: "ridge",
      input_symbol: "VTV",
      ridge_alpha: 1,
      window_days: 365,
    });
  });
});
