// A user's own data from a clean start (issue 13): an empty migrated database, wrangler.toml's
// configuration (provider `stored`), a CSV of closes imported with the same code as
// `npm run import:prices`, the batch run through the admin API, and every number read back
// through the API. The expected betas come from scikit-learn and statsmodels
// (scripts/own-data-fixtures.py), over data with market holidays, a late listing (LATE), a halt
// (HALT), a delisting (GONE) and scattered missing days (GAPS).
import { env, exports } from "cloudflare:workers";
import { and, asc, count, eq, ne, sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import {
  batchRuns,
  marketPrices,
  portfolioFactorExposures,
  priceRevisions,
  staleBetas,
  symbolFactorExposures,
} from "../../schema/index.ts";
import type { BatchRunDetail } from "../../worker/batch/run-history.ts";
import { getDatabase } from "../../worker/db/client.ts";
import { loadCloseRows } from "../../worker/db/prices.ts";
import { loadActiveFactors } from "../../worker/db/factors.ts";
import { buildFactorEngineInput, computeUniverseBetas } from "../../worker/factors/engine.ts";
import { writePrices } from "../../worker/market-data/import-writer.ts";
import { validatePriceCsv } from "../../worker/market-data/price-import.ts";
import type { ExposuresResponse } from "../../worker/api/analytics.ts";
import type { SymbolDetailResponse } from "../../worker/api/symbols.ts";
import { allPermissions, tokenFor } from "../support/tokens.ts";
import rawFixture from "./fixtures/own-data.json" with { type: "json" };

interface ExpectedRow {
  date: string;
  symbol: string;
  /** factor key → [beta as stored, observations] */
  betas: Record<string, [number, number]>;
  missing: Record<
    string,
    { reason: string; observations?: number; min_observations?: number; last_close_date?: string }
  >;
}

interface OwnDataFixture {
  symbols: string[];
  computed_dates: string[];
  csv: string;
  expected: ExpectedRow[];
}

const fixture = rawFixture as unknown as OwnDataFixture;
const db = getDatabase(env);
const dates = fixture.computed_dates;
const lastDate = dates.at(-1)!;
const owner = "own-data-analyst";

async function call(
  path: string,
  init: { method?: string; body?: unknown; contentType?: string } = {},
): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${await tokenFor(owner, allPermissions)}` };
  let body: string | undefined;
  if (init.body !== undefined) {
    body = typeof init.body === "string" ? init.body : JSON.stringify(init.body);
    headers["content-type"] = init.contentType ?? "application/json";
  }
  return exports.default.fetch(`http://localhost/api/v1${path}`, {
    method: init.method ?? "GET",
    headers,
    ...(body === undefined ? {} : { body }),
  });
}

async function json<T>(response: Response, status = 200): Promise<T> {
  const text = await response.text();
  expect(response.status, text.slice(0, 800)).toBe(status);
  return JSON.parse(text) as T;
}

async function waitForRun(runId: string): Promise<BatchRunDetail> {
  const deadline = Date.now() + 170_000;
  for (;;) {
    const run = await db.select({ status: batchRuns.status }).from(batchRuns).where(eq(batchRuns.id, runId)).get();
    if (run && run.status !== "queued" && run.status !== "running")
      return json<BatchRunDetail>(await call(`/admin/batch/runs/${runId}?include_issues=true`));
    if (Date.now() > deadline) throw new Error(`batch run ${runId} did not finish (${run?.status})`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function runBatch(
  path: "/admin/batch/run" | "/admin/batch/backfill",
  body: Record<string, unknown>,
): Promise<BatchRunDetail> {
  const response = await call(path, { method: "POST", body });
  const started = await json<{ run_id: string }>(response, 202);
  return waitForRun(started.run_id);
}

async function importCsv(text: string): Promise<void> {
  // What `npm run import:prices` does: validate the file whole, then write it in one transaction.
  const validated = validatePriceCsv(text);
  if (!validated.ok) throw new Error(`fixture CSV refused: ${JSON.stringify(validated.errors.slice(0, 3))}`);
  await writePrices(db, validated.rows, { source: "csv" });
}

beforeAll(async () => {
  const prices = await db.select({ n: count() }).from(marketPrices).get();
  expect(prices?.n, "the clean start's database holds no prices").toBe(0);
  await importCsv(fixture.csv);
  const run = await runBatch("/admin/batch/backfill", { from: dates[0], to: lastDate });
  expect(run.run.status, run.run.error_text ?? "").toBe("completed");
});

describe("a user's own prices from a clean start (provider stored)", () => {
  it(
    "computes every beta equal to scikit-learn / statsmodels to 1e-9, " +
      "and serves every missing one with its reason and figures",
    async () => {
      let compared = 0;
      let reasons = 0;
      for (const row of fixture.expected) {
        const detail = await json<SymbolDetailResponse>(
          await call(`/data/symbols/${row.symbol.toLowerCase()}?date=${row.date}&from=${row.date}&to=${row.date}`),
        );
        expect(detail.betas_date).toBe(row.date);
        const served = new Map(detail.betas.map((beta) => [beta.factor_key, beta]));
        const missing = new Map(detail.missing_betas.map((gap) => [gap.factor_key, gap]));
        expect(served.size + missing.size).toBe(12);
        for (const [factorKey, [beta, observations]] of Object.entries(row.betas)) {
          const got = served.get(factorKey);
          expect(got, `${row.symbol} ${factorKey} on ${row.date}`).toBeDefined();
          expect(
            Math.abs(got!.beta - beta),
            `${row.symbol} ${factorKey} on ${row.date}: ${got!.beta} vs ${beta}`,
          ).toBeLessThan(1e-9);
          expect(got!.observations).toBe(observations);
          compared++;
        }
        for (const [factorKey, reason] of Object.entries(row.missing)) {
          const got = missing.get(factorKey);
          expect(got, `${row.symbol} ${factorKey} on ${row.date} should be missing`).toBeDefined();
          expect(got).toMatchObject({
            reason: reason.reason,
            observations: reason.observations ?? null,
            min_observations: reason.min_observations ?? null,
            last_close_date: reason.last_close_date ?? null,
          });
          expect(got!.detail.length).toBeGreaterThan(10);
          reasons++;
        }
      }
      // The data set exercises the estimates and both reasons.
      expect(compared).toBeGreaterThan(8_000);
      expect(reasons).toBeGreaterThan(400);
      expect(fixture.expected.some((row) => Object.values(row.missing).some((m) => m.reason === "stale_prices"))).toBe(
        true,
      );
      expect(
        fixture.expected.some((row) => Object.values(row.missing).some((m) => m.reason === "insufficient_data")),
      ).toBe(true);
    },
  );

  it("stores no synthetic close, and the delisted symbol keeps no ok betas once stale", async () => {
    const synthetic = await db.select({ n: count() }).from(marketPrices).where(ne(marketPrices.source, "csv")).get();
    expect(synthetic?.n).toBe(0);
    const goneBetas = await db
      .select({ n: count() })
      .from(symbolFactorExposures)
      .where(and(eq(symbolFactorExposures.symbol, "GONE"), eq(symbolFactorExposures.calculationDate, lastDate)))
      .get();
    expect(goneBetas?.n).toBe(0);
  });

  it("answers not_computed for a date no batch computed, and no_prices for a symbol without closes", async () => {
    const before = await json<SymbolDetailResponse>(await call(`/data/symbols/STK4?date=2026-01-05`));
    expect(before.missing_betas).toHaveLength(12);
    expect(before.missing_betas[0]).toMatchObject({
      reason: "not_computed",
      detail: expect.stringContaining("no batch run has computed 2026-01-05"),
    });
    expect(before.betas).toEqual([]);
  });
});

describe("a new portfolio of the user's own positions", () => {
  // Opened 40 trading days before the last computed date.
  const openedOn = dates[dates.length - 40]!;
  let portfolioId = "";

  it("accepts positions the numbers cannot use, and says per line which and why", async () => {
    const created = await json<{ id: string }>(
      await call("/portfolios", { method: "POST", body: { name: "Own book", cash: 10_000, benchmark_symbol: "spy" } }),
      201,
    );
    portfolioId = created.id;
    const csv = [
      "symbol,instrument,quantity,opened_on,underlying_symbol,option_type,strike,expiry,delta",
      `stk4,stock,100,${openedOn},,,,,`,
      `STK5,stock,-50,${openedOn},,,,,`,
      `NOPX,stock,10,${openedOn},,,,,`,
      `SPY 260515C,option,2,${openedOn},SPY,call,100,2026-05-15,0.5`,
      `VTV,etf,20,${openedOn},,,,,`,
    ].join("\n");
    const answer = await json<{
      imported: number;
      warnings: { line?: number; symbol: string; reason: string; detail: string }[];
    }>(
      await call(`/portfolios/${portfolioId}/positions/import`, { method: "POST", body: csv, contentType: "text/csv" }),
    );
    expect(answer.imported).toBe(5);
    expect(answer.warnings).toEqual([
      expect.objectContaining({ line: 4, symbol: "NOPX", reason: "no_prices" }),
      expect.objectContaining({ line: 5, symbol: "SPY 260515C", reason: "expired" }),
    ]);
  });

  it(
    "has its history computed from stored betas, one date per computed date since the positions opened, " +
      "with no batch run asked for",
    async () => {
      const deadline = Date.now() + 120_000;
      let exposures: ExposuresResponse | undefined;
      for (;;) {
        const historyRun = await db
          .select({ id: batchRuns.id, status: batchRuns.status })
          .from(batchRuns)
          .where(eq(batchRuns.trigger, "portfolio"))
          .get();
        if (historyRun && historyRun.status !== "queued" && historyRun.status !== "running") {
          const detail = await waitForRun(historyRun.id);
          expect(detail.run.status, detail.run.error_text ?? "").toBe("completed");
          expect(detail.run.phase_plan).toEqual(["portfolio_analytics", "publish"]);
          exposures = await json<ExposuresResponse>(
            await call(`/portfolios/${portfolioId}/exposures?from=${dates[0]}&to=${lastDate}`),
          );
          break;
        }
        if (Date.now() > deadline) throw new Error("no portfolio history run finished");
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(exposures.dates).toEqual(dates.slice(dates.length - 40));
      expect(exposures.dates).toHaveLength(40);
      const market = exposures.factors.find((factor) => factor.key === "market_beta")!;
      expect(market.portfolio.every((value) => value !== null && Number.isFinite(value))).toBe(true);
      // Coverage by count says what coverage by value cannot: NOPX and the expired option are left out.
      expect(market.positions_total.at(-1)).toBe(5);
      expect(market.positions_used.at(-1)).toBe(3);
      expect(market.coverage_count.at(-1)).toBeCloseTo(3 / 5, 12);
      const quality = exposures.data_quality;
      expect(quality?.positions_excluded.map((p) => [p.symbol, p.reason])).toEqual(
        expect.arrayContaining([
          ["NOPX", "no_price"],
          ["SPY 260515C", "expired"],
        ]),
      );
    },
  );

  it("serves NOPX as no_prices once a run computed it", async () => {
    const run = await runBatch("/admin/batch/run", { date: lastDate });
    expect(run.run.status, run.run.error_text ?? "").toBe("completed");
    const nopx = await json<SymbolDetailResponse>(await call(`/data/symbols/NOPX?date=${lastDate}`));
    expect(nopx.missing_betas).toHaveLength(12);
    expect(nopx.missing_betas[0]).toMatchObject({ reason: "no_prices", detail: "no close of NOPX is stored" });
  });

  it(
    "flows a corrected close through: the next run recomputes " + "the dates whose windows hold it, without force",
    async () => {
      const correctedDate = dates[dates.length - 10]!;
      const stored = await db
        .select()
        .from(marketPrices)
        .where(and(eq(marketPrices.symbol, "STK5"), eq(marketPrices.date, correctedDate)))
        .get();
      expect(stored).toBeDefined();
      const betasBefore = await db
        .select({ date: symbolFactorExposures.calculationDate, beta: symbolFactorExposures.betaValue })
        .from(symbolFactorExposures)
        .where(and(eq(symbolFactorExposures.symbol, "STK5"), eq(symbolFactorExposures.factorId, 1)))
        .orderBy(asc(symbolFactorExposures.calculationDate));
      const exposureBefore = await db
        .select({ value: portfolioFactorExposures.exposureValue })
        .from(portfolioFactorExposures)
        .where(
          and(
            eq(portfolioFactorExposures.portfolioId, portfolioId),
            eq(portfolioFactorExposures.factorId, 1),
            eq(portfolioFactorExposures.calculationDate, correctedDate),
          ),
        )
        .get();

      await importCsv(`date,symbol,close\n${correctedDate},STK5,${(stored!.close * 1.03).toFixed(4)}\n`);
      const revision = await db.select().from(priceRevisions).where(eq(priceRevisions.symbol, "STK5")).get();
      expect(revision?.earliestDate).toBe(correctedDate);

      const run = await runBatch("/admin/batch/run", { date: lastDate });
      expect(run.run.status, run.run.error_text ?? "").toBe("completed");
      const staleDates = dates.filter((date) => date >= correctedDate);
      expect(run.run.stale_dates).toEqual(staleDates.map((date) => ({ date, symbols: ["STK5"] })));
      expect(run.run.dates).toEqual(staleDates);
      const universe = run.phases.filter((phase) => phase.name === "universe_factors");
      expect(universe.map((phase) => phase.counts.recomputed_stale)).toEqual(staleDates.map(() => 1));
      expect(await db.select({ n: count() }).from(staleBetas).get()).toEqual({ n: 0 });
      expect(await db.select({ n: count() }).from(priceRevisions).get()).toEqual({ n: 0 });

      // The recomputed betas are the engine's on the corrected closes; the dates before are untouched.
      const factors = await loadActiveFactors(db);
      const betasAfter = await db
        .select({ date: symbolFactorExposures.calculationDate, beta: symbolFactorExposures.betaValue })
        .from(symbolFactorExposures)
        .where(and(eq(symbolFactorExposures.symbol, "STK5"), eq(symbolFactorExposures.factorId, 1)))
        .orderBy(asc(symbolFactorExposures.calculationDate));
      for (const after of betasAfter) {
        const before = betasBefore.find((row) => row.date === after.date)!;
        if (after.date < correctedDate) {
          expect(after.beta).toBe(before.beta);
          continue;
        }
        expect(after.beta).not.toBe(before.beta);
        const closes = await loadCloseRows(db, [...fixture.symbols], "2025-01-01", after.date);
        const engine = computeUniverseBetas(
          buildFactorEngineInput(closes, factors, { maxDailyMove: 5 }).input,
          after.date,
        );
        const expected = engine.symbolBetasFor("STK5")!.betas["market_beta"]!;
        expect(expected.status).toBe("estimated");
        if (expected.status === "estimated") expect(Math.abs(after.beta - expected.beta)).toBeLessThan(1e-12);
      }
      const exposureAfter = await db
        .select({ value: portfolioFactorExposures.exposureValue })
        .from(portfolioFactorExposures)
        .where(
          and(
            eq(portfolioFactorExposures.portfolioId, portfolioId),
            eq(portfolioFactorExposures.factorId, 1),
            eq(portfolioFactorExposures.calculationDate, correctedDate),
          ),
        )
        .get();
      expect(exposureAfter?.value).not.toBe(exposureBefore?.value);
    },
  );

  it("marks every symbol stale when a factor input is corrected", async () => {
    const correctedDate = dates[dates.length - 3]!;
    const spy = await db
      .select()
      .from(marketPrices)
      .where(and(eq(marketPrices.symbol, "SPY"), eq(marketPrices.date, correctedDate)))
      .get();
    await importCsv(`date,symbol,close\n${correctedDate},SPY,${(spy!.close * 0.99).toFixed(4)}\n`);
    const run = await runBatch("/admin/batch/run", { date: lastDate });
    expect(run.run.status, run.run.error_text ?? "").toBe("completed");
    expect(run.run.stale_dates.map((stale) => stale.symbols)).toEqual(
      dates.filter((date) => date >= correctedDate).map(() => ["*"]),
    );
    const universe = run.phases.filter((phase) => phase.name === "universe_factors" && phase.date === correctedDate);
    // Every symbol of the universe with betas or a stored reason on the date was recomputed.
    expect(universe[0]?.counts.recomputed_stale).toBeGreaterThanOrEqual(fixture.symbols.length);
    const counted = await db
      .select({ n: sql<number>`count(distinct ${symbolFactorExposures.symbol})` })
      .from(symbolFactorExposures)
      .where(eq(symbolFactorExposures.calculationDate, correctedDate))
      .get();
    expect(counted?.n).toBeGreaterThan(10);
  });
});
