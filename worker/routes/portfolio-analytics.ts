// A portfolio's numbers: exposures over a date range (stored by the batch, with a benchmark
// and the active difference), the drill-down of one factor and date, and stress tests. The
// drill-down and stress tests aggregate on demand from the stored symbol betas
// (worker/portfolios/aggregation-input.ts), so they work for any date the batch computed.
//
// Decisions:
// - `benchmark` defaults to the portfolio's own benchmark symbol; `benchmark=none` leaves it
//   out. Benchmark values are the symbol's stored betas; active = portfolio − benchmark.
// - The range defaults to the 180 days up to the portfolio's latest computed date, and is
//   capped at `maxExposureRangeDays`; a factor not held (no beta for any position) is null,
//   never 0.
import { and, asc, eq, gte, inArray, lte, max, or, sql, type SQLWrapper } from "drizzle-orm";
import { Hono } from "hono";
import {
  portfolioFactorExposures,
  portfolioSnapshots,
  stressScenarios,
  symbolFactorExposures,
} from "../../schema/index.ts";
import {
  drillDownQuerySchema,
  exposuresQuerySchema,
  maxExposureRangeDays,
  stressRequestSchema,
  type DrillDownResponse,
  type ExposuresResponse,
  type StressResponse,
} from "../api/analytics.ts";
import { routes } from "../api/contract.ts";
import { portfolioParamsSchema } from "../api/portfolios.ts";
import { guard, type ApiEnv } from "../auth/guard.ts";
import { readablePortfolio } from "../auth/ownership.ts";
import { addDays } from "../dates.ts";
import { getDatabase } from "../db/client.ts";
import { exactText, numberOrNull, packedRows, unpackRows } from "../db/compact.ts";
import { loadActiveFactors } from "../db/factors.ts";
import type { DataQuality } from "../factors/data-quality.ts";
import { aggregatePortfolio } from "../factors/portfolio.ts";
import { factorDrillDown } from "../factors/portfolio-drill-down.ts";
import { runStressTest, stressScenarioIssues } from "../factors/stress.ts";
import { csvResponse, wantsCsv } from "../http/csv-export.ts";
import { ApiError } from "../http/errors.ts";
import { noQuery, validate } from "../http/validate.ts";
import { validationError } from "../http/validation.ts";
import {
  aggregationInputFor,
  analyticsDate,
  computeWithinRange,
  portfolioHoldings,
} from "../portfolios/aggregation-input.ts";

export const analyticsRoutes = new Hono<ApiEnv>()
  .get(
    "/:id/exposures",
    guard(routes.getExposures),
    validate("param", portfolioParamsSchema),
    validate("query", exposuresQuerySchema),
    async (c) => {
      const { id } = c.req.valid("param");
      const query = c.req.valid("query");
      const db = getDatabase(c.env);
      const [portfolio, factors] = await Promise.all([
        readablePortfolio(db, c.get("caller"), id),
        loadActiveFactors(db),
      ]);
      const wanted = query.factors ? query.factors.split(",") : factors.map((factor) => factor.key);
      const unknown = wanted.filter((key) => !factors.some((factor) => factor.key === key));
      if (unknown.length > 0)
        throw validationError(`unknown factor(s): ${unknown.join(", ")}`, [
          { path: "factors", message: `unknown factor key(s) ${unknown.join(", ")}; see GET /factors` },
        ]);
      const chosen = factors.filter((factor) => wanted.includes(factor.key));
      const benchmark = query.benchmark === "none" ? null : (query.benchmark ?? portfolio.benchmarkSymbol);

      const latest =
        query.to ??
        (
          await db
            .select({ date: max(portfolioSnapshots.date) })
            .from(portfolioSnapshots)
            .where(eq(portfolioSnapshots.portfolioId, id))
            .get()
        )?.date ??
        null;
      const to = latest ?? new Date().toISOString().slice(0, 10);
      const from = query.from ?? addDays(to, -180);
      if (addDays(from, maxExposureRangeDays) < to)
        throw validationError(`the range is longer than ${maxExposureRangeDays} days`, [
          { path: "from", message: `from must be within ${maxExposureRangeDays} days of to` },
        ]);

      const factorIds = chosen.map((factor) => factor.id);
      const inRange = (column: SQLWrapper) => and(gte(column, from), lte(column, to));
      const [snapshots, lastSnapshot, exposureRows, benchmarkRows] = await Promise.all([
        db
          .select({ date: portfolioSnapshots.date, equity: portfolioSnapshots.equity })
          .from(portfolioSnapshots)
          .where(and(eq(portfolioSnapshots.portfolioId, id), inRange(portfolioSnapshots.date)))
          .orderBy(asc(portfolioSnapshots.date)),
        // The data_quality of the range's last date, read with the dates rather than after them.
        db
          .select({ dataQuality: portfolioSnapshots.dataQuality })
          .from(portfolioSnapshots)
          .where(
            and(
              eq(portfolioSnapshots.portfolioId, id),
              eq(
                portfolioSnapshots.date,
                sql`(select max(date) from ${portfolioSnapshots} where portfolio_id = ${id} and date >= ${from} and date <= ${to})`,
              ),
            ),
          )
          .get(),
        factorIds.length === 0
          ? Promise.resolve([])
          : db
              .select({
                factorId: portfolioFactorExposures.factorId,
                rows: packedRows([
                  sql`${portfolioFactorExposures.calculationDate}`,
                  exactText(portfolioFactorExposures.exposureValue),
                  exactText(portfolioFactorExposures.exposureDollar),
                  exactText(portfolioFactorExposures.coverage),
                  exactText(portfolioFactorExposures.rSquared),
                  exactText(portfolioFactorExposures.positionsUsed),
                  exactText(portfolioFactorExposures.positionsTotal),
                ]),
              })
              .from(portfolioFactorExposures)
              .where(
                and(
                  eq(portfolioFactorExposures.portfolioId, id),
                  inArray(portfolioFactorExposures.factorId, factorIds),
                  inRange(portfolioFactorExposures.calculationDate),
                ),
              )
              .groupBy(portfolioFactorExposures.factorId),
        benchmark === null || factorIds.length === 0
          ? Promise.resolve([])
          : db
              .select({
                factorId: symbolFactorExposures.factorId,
                rows: packedRows([
                  sql`${symbolFactorExposures.calculationDate}`,
                  exactText(symbolFactorExposures.betaValue),
                  exactText(symbolFactorExposures.rSquared),
                ]),
              })
              .from(symbolFactorExposures)
              .where(
                and(
                  eq(symbolFactorExposures.symbol, benchmark),
                  inArray(symbolFactorExposures.factorId, factorIds),
                  inRange(symbolFactorExposures.calculationDate),
                ),
              )
              .groupBy(symbolFactorExposures.factorId),
      ]);
      const dates = snapshots.map((snapshot) => snapshot.date);
      const dateIndex = new Map(dates.map((date, index) => [date, index]));
      const empty = () => dates.map((): number | null => null);
      const exposureText = new Map(exposureRows.map((row) => [row.factorId, row.rows]));
      const benchmarkText = new Map(benchmarkRows.map((row) => [row.factorId, row.rows]));
      const response: ExposuresResponse = {
        portfolio_id: id,
        from,
        to,
        benchmark,
        dates,
        equity: snapshots.map((snapshot) => snapshot.equity),
        factors: chosen.map((factor) => {
          const series = {
            portfolio: empty(),
            exposure_dollar: empty(),
            coverage: empty(),
            coverage_count: empty(),
            positions_used: empty(),
            positions_total: empty(),
            r_squared: empty(),
            benchmark: empty(),
            benchmark_r_squared: empty(),
            active: empty(),
          };
          for (const [date, exposure, dollars, coverage, rSquared, used, total] of unpackRows(
            exposureText.get(factor.id) ?? null,
          )) {
            const index = dateIndex.get(date!);
            if (index === undefined) continue;
            series.portfolio[index] = numberOrNull(exposure);
            series.exposure_dollar[index] = numberOrNull(dollars);
            series.coverage[index] = numberOrNull(coverage);
            series.r_squared[index] = numberOrNull(rSquared);
            const usedCount = numberOrNull(used);
            const totalCount = numberOrNull(total);
            series.positions_used[index] = usedCount;
            series.positions_total[index] = totalCount;
            series.coverage_count[index] =
              usedCount !== null && totalCount !== null && totalCount > 0 ? usedCount / totalCount : null;
          }
          for (const [date, beta, rSquared] of unpackRows(benchmarkText.get(factor.id) ?? null)) {
            const index = dateIndex.get(date!);
            if (index === undefined) continue;
            series.benchmark[index] = numberOrNull(beta);
            series.benchmark_r_squared[index] = numberOrNull(rSquared);
          }
          series.active = series.portfolio.map((value, index) => {
            const bench = series.benchmark[index] ?? null;
            return value !== null && bench !== null ? value - bench : null;
          });
          return { key: factor.key, name: factor.name, ...series };
        }),
        data_quality: (lastSnapshot?.dataQuality as DataQuality | null | undefined) ?? null,
      };
      if (wantsCsv(c, query.format)) {
        const header = [
          "date",
          "factor_key",
          "portfolio",
          "exposure_dollar",
          "coverage",
          "r_squared",
          "benchmark",
          "active",
        ];
        const rows = dates.flatMap((date, index) =>
          response.factors.map((factor) => [
            date,
            factor.key,
            factor.portfolio[index],
            factor.exposure_dollar[index],
            factor.coverage[index],
            factor.r_squared[index],
            factor.benchmark[index],
            factor.active[index],
          ]),
        );
        return csvResponse(c, `exposures-${id}-${from}-${to}.csv`, header, rows);
      }
      return c.json(response, 200);
    },
  )
  .get(
    "/:id/exposures/stocks",
    guard(routes.getDrillDown),
    validate("param", portfolioParamsSchema),
    validate("query", drillDownQuerySchema),
    async (c) => {
      const { id } = c.req.valid("param");
      const query = c.req.valid("query");
      const db = getDatabase(c.env);
      // Read together, but a portfolio the caller may not read answers 404 before anything else.
      const reads = Promise.all([analyticsDate(db, query.date), portfolioHoldings(db, id), loadActiveFactors(db)]);
      reads.catch(() => undefined);
      const portfolio = await readablePortfolio(db, c.get("caller"), id);
      const [date, holdings, factors] = await reads;
      if (!factors.some((factor) => factor.key === query.factor)) {
        throw validationError(`unknown factor ${query.factor}`, [
          { path: "factor", message: `unknown factor key ${query.factor}; see GET /factors` },
        ]);
      }
      // Only the asked factor's betas are read: the aggregation of one factor is the same sum.
      const input = await aggregationInputFor(db, date, holdings, portfolio.cash, [query.factor]);
      const drill = computeWithinRange([{ input }], () => factorDrillDown(input, query.factor));
      const response: DrillDownResponse = {
        portfolio_id: id,
        date,
        factor_key: drill.factorKey,
        equity: drill.equity,
        gross: drill.gross,
        weights_available: drill.weightsAvailable,
        rows: drill.rows.map((row) => ({
          symbol: row.symbol,
          beta_symbol: row.betaSymbol,
          instrument: row.instrument,
          position_ids: row.positionIds,
          market_value: row.marketValue,
          weight: row.weight,
          delta: row.delta,
          beta: row.beta,
          quality_flag: row.qualityFlag,
          contribution: row.contribution,
          contribution_dollar: row.contributionDollar,
        })),
        missing: drill.missing.map((row) => ({
          symbol: row.symbol,
          beta_symbol: row.betaSymbol,
          instrument: row.instrument,
          position_ids: row.positionIds,
          reason: row.reason,
          detail: row.detail,
          market_value: row.marketValue,
          weight: row.weight,
        })),
        totals: {
          weight: drill.totals.weight,
          contribution: drill.totals.contribution,
          contribution_dollar: drill.totals.contributionDollar,
        },
        exposure: drill.exposure.exposure,
        exposure_dollar: drill.exposure.exposureDollar,
        coverage: drill.exposure.coverage,
      };
      if (wantsCsv(c, query.format)) {
        const header = [
          "symbol",
          "beta_symbol",
          "instrument",
          "market_value",
          "weight",
          "delta",
          "beta",
          "contribution",
          "contribution_dollar",
          "quality_flag",
        ];
        return csvResponse(
          c,
          `drill-down-${id}-${query.factor}-${date}.csv`,
          header,
          response.rows.map((row) => [
            row.symbol,
            row.beta_symbol,
            row.instrument,
            row.market_value,
            row.weight,
            row.delta,
            row.beta,
            row.contribution,
            row.contribution_dollar,
            row.quality_flag,
          ]),
        );
      }
      return c.json(response, 200);
    },
  )
  .post(
    "/:id/stress",
    guard(routes.runStress),
    noQuery(),
    validate("param", portfolioParamsSchema),
    validate("json", stressRequestSchema),
    async (c) => {
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      const caller = c.get("caller");
      const db = getDatabase(c.env);
      const portfolio = await readablePortfolio(db, caller, id);
      const date = await analyticsDate(db, body.date);
      let scenario: { id: string | null; name: string; description: string; shocks: Record<string, number> };
      if (body.scenario_id !== undefined) {
        const row = await db
          .select()
          .from(stressScenarios)
          .where(
            and(
              eq(stressScenarios.id, body.scenario_id),
              or(eq(stressScenarios.builtin, true), eq(stressScenarios.owner, caller.sub)),
            ),
          )
          .get();
        if (!row) throw new ApiError(404, "NOT_FOUND", `stress scenario ${body.scenario_id} does not exist`);
        scenario = { id: row.id, name: row.name, description: row.description, shocks: row.shocks };
      } else {
        scenario = { id: null, name: "Custom shocks", description: "", shocks: body.shocks! };
      }
      const input = await aggregationInputFor(db, date, await portfolioHoldings(db, id), portfolio.cash);
      const issues = stressScenarioIssues(scenario.shocks, input.factors);
      if (issues.length > 0)
        throw validationError(
          `invalid shocks: ${issues.map((issue) => issue.message).join("; ")}`,
          issues.map((issue) => ({
            path: issue.factorKey === null ? "shocks" : `shocks.${issue.factorKey}`,
            message: issue.message,
          })),
        );
      const stressed = { ...scenario, id: scenario.id ?? "custom" };
      const { aggregation, result } = computeWithinRange([{ input }], () => {
        const aggregated = aggregatePortfolio(input);
        return { aggregation: aggregated, result: runStressTest(aggregated, stressed) };
      });
      const response: StressResponse = {
        portfolio_id: id,
        date,
        scenario: { id: scenario.id, name: scenario.name, shocks: scenario.shocks },
        equity: aggregation.equity,
        impacts: result.impacts.map((impact) => ({
          factor_key: impact.factorKey,
          shock: impact.shock,
          exposure_dollar: impact.exposureDollar,
          impact: impact.impact,
        })),
        missing: result.missing,
        total: result.total,
        total_return: result.totalReturn,
        complete: result.complete,
      };
      return c.json(response, 200);
    },
  );
