// A portfolio's numbers: exposures over a date range (stored by the batch, with a benchmark
// and the active difference), the drill-down of one factor and date, and stress tests. The
// drill-down and stress tests aggregate on demand from the stored symbol betas
// (worker/portfolios/aggregation-input.ts), so they work for any date the batch computed. A
// stress test on the risk lens (`predictive` shocks, a `historical` episode) is answered by
// worker/routes/portfolio-risk.ts `riskStressAnswer`.
//
// Decisions:
// - `benchmark` defaults to the portfolio's own benchmark symbol; `benchmark=none` leaves it
//   out. Benchmark values are the symbol's stored betas; active = portfolio − benchmark.
// - Standard errors (docs/design.md §11): the portfolio's is stored by the batch beside its
//   exposure, the benchmark's is its beta's; the active one is exact from those two and the
//   portfolio's own weight X_B in the benchmark stored with the day's snapshot (the benchmark a
//   holding of weight −1: sqrt(se_p² + se_B²(1 − 2X_B))), for any benchmark asked. Each is null
//   with a reason where a piece is missing, never approximated.
// - The range defaults to the 180 days up to the portfolio's latest computed date, and is
//   capped at `maxExposureRangeDays`; a factor not held (no beta for any position) is null,
//   never 0.
// - The exposures and the drill-down read everything in one batch with their data version
//   (worker/db/portfolio-reads.ts) and are conditional reads (ETag, 304: worker/http/etag.ts);
//   the exposures' series are JSON built by SQLite.
import { and, eq, or } from "drizzle-orm";
import { Hono, type TypedResponse } from "hono";
import { stressScenarios } from "../../schema/index.ts";
import {
  type DrillDownResponse,
  drillDownQuerySchema,
  type ExposuresResponse,
  exposuresQuerySchema,
  maxExposureRangeDays,
  type StressResponse,
  stressRequestSchema,
} from "../api/analytics.ts";
import { routes } from "../api/contract.ts";
import { portfolioParamsSchema } from "../api/portfolios.ts";
import { type ApiEnv, guard } from "../auth/guard.ts";
import { portfolioNotFound, readablePortfolio } from "../auth/ownership.ts";
import { addDays } from "../dates.ts";
import { betaTableFrom, storedBetasFrom, storedGapsFrom } from "../db/betas.ts";
import { getDatabase } from "../db/client.ts";
import { drillDownVersion, exposuresVersion, versionOf } from "../db/data-version.ts";
import { activeFactorsFrom } from "../db/factors.ts";
import {
  closesFrom,
  companyNamesFrom,
  drillDownStatements,
  exposureFactorJson,
  exposuresStatements,
  holdingsFrom,
} from "../db/portfolio-reads.ts";
import { firstRow, readTogether } from "../db/read-batch.ts";
import { type AggregationInput, aggregatePortfolio } from "../factors/portfolio.ts";
import { factorDrillDown } from "../factors/portfolio-drill-down.ts";
import { runStressTest, stressScenarioIssues } from "../factors/stress.ts";
import { csvResponse, wantsCsv } from "../http/csv-export.ts";
import { ApiError } from "../http/errors.ts";
import { entityTag, notModifiedIfCurrent, representationOf, withValidators } from "../http/etag.ts";
import { noQuery, validate } from "../http/validate.ts";
import { validationError } from "../http/validation.ts";
import { required } from "../required.ts";
import { riskStressAnswer } from "./portfolio-risk.ts";
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
      const caller = c.get("caller");
      const db = getDatabase(c.env);
      const csv = wantsCsv(c, query.format);
      const today = new Date().toISOString().slice(0, 10);
      // `to` defaults to today when the portfolio has no snapshot: the date is part of the tag.
      const representation = [...representationOf(c, "getExposures", caller, csv ? "csv" : "json"), today];
      const unchanged = await notModifiedIfCurrent(c, db, representation, exposuresVersion(caller, id), {
        requires: "portfolio",
      });
      if (unchanged) return unchanged;
      const [versionResult, factorsResult, rangeResult, datesResult, seriesResult] = await readTogether(
        db,
        exposuresStatements(caller, {
          portfolioId: id,
          from: query.from,
          to: query.to,
          factorKeys: query.factors?.split(","),
          benchmark: query.benchmark === "none" ? null : query.benchmark,
          today,
        }),
      );
      const versionRow = firstRow(versionResult);
      const version = versionOf(versionRow, { requires: "portfolio" });
      if (version === null || versionRow === undefined) throw portfolioNotFound(id);
      const etag = await entityTag(representation, version);
      const factors = activeFactorsFrom(factorsResult);
      const wanted = query.factors ? query.factors.split(",") : factors.map((factor) => factor.key);
      const unknown = wanted.filter((key) => !factors.some((factor) => factor.key === key));
      if (unknown.length > 0)
        throw validationError(`unknown factor(s): ${unknown.join(", ")}`, [
          { path: "factors", message: `unknown factor key(s) ${unknown.join(", ")}; see GET /factors` },
        ]);
      const benchmark = query.benchmark === "none" ? null : (query.benchmark ?? String(versionRow["benchmark_symbol"]));
      const range = firstRow(rangeResult);
      const from = String(range?.[0] ?? "");
      const to = String(range?.[1] ?? "");
      if (addDays(from, maxExposureRangeDays) < to)
        throw validationError(`the range is longer than ${maxExposureRangeDays} days`, [
          { path: "from", message: `from must be within ${maxExposureRangeDays} days of to` },
        ]);
      // The dates, equity and every factor's series are JSON built by SQLite (worker/db/portfolio-reads.ts);
      // the body is assembled around them, typed as the schema says.
      const datesRow = firstRow(datesResult);
      const benchmarkWeights = JSON.parse(String(datesRow?.[3] ?? "[]")) as (number | null)[];
      const factorSeries = (seriesResult?.rows ?? []).map((row) => exposureFactorJson(row, benchmarkWeights));
      const body =
        `{"portfolio_id":${JSON.stringify(id)},"from":${JSON.stringify(from)},"to":${JSON.stringify(to)}` +
        `,"benchmark":${JSON.stringify(benchmark)},"dates":${String(datesRow?.[0] ?? "[]")}` +
        `,"equity":${String(datesRow?.[1] ?? "[]")},"factors":[${factorSeries.join(",")}]` +
        `,"data_quality":${typeof datesRow?.[2] === "string" ? datesRow[2] : "null"}}`;
      if (csv) {
        const response = JSON.parse(body) as ExposuresResponse;
        const header = [
          "date",
          "factor_key",
          "portfolio",
          "exposure_dollar",
          "coverage",
          "r_squared",
          "benchmark",
          "active",
          "standard_error",
          "standard_error_reason",
          "distinguishable",
          "benchmark_standard_error",
          "benchmark_standard_error_reason",
          "benchmark_distinguishable",
          "active_standard_error",
          "active_standard_error_reason",
          "active_distinguishable",
        ];
        const rows = response.dates.flatMap((date, index) =>
          response.factors.map((factor) => [
            date,
            factor.key,
            factor.portfolio[index],
            factor.exposure_dollar[index],
            factor.coverage[index],
            factor.r_squared[index],
            factor.benchmark[index],
            factor.active[index],
            factor.standard_error[index],
            factor.standard_error_reason[index],
            factor.distinguishable[index],
            factor.benchmark_standard_error[index],
            factor.benchmark_standard_error_reason[index],
            factor.benchmark_distinguishable[index],
            factor.active_standard_error[index],
            factor.active_standard_error_reason[index],
            factor.active_distinguishable[index],
          ]),
        );
        return withValidators(csvResponse(c, `exposures-${id}-${from}-${to}.csv`, header, rows), etag);
      }
      return withValidators(
        c.body(body, 200, { "Content-Type": "application/json" }),
        etag,
      ) as unknown as TypedResponse<ExposuresResponse, 200, "json">;
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
      const caller = c.get("caller");
      const db = getDatabase(c.env);
      const csv = wantsCsv(c, query.format);
      const representation = representationOf(c, "getDrillDown", caller, csv ? "csv" : "json");
      const unchanged = await notModifiedIfCurrent(c, db, representation, drillDownVersion(caller, id), {
        requires: "portfolio",
      });
      if (unchanged) return unchanged;
      const [versionResult, dateResult, positionsResult, factorsResult, closesResult, betasResult, gapsResult] =
        await readTogether(
          db,
          drillDownStatements(caller, { portfolioId: id, date: query.date, factorKey: query.factor }),
        );
      // A portfolio the caller may not read answers 404 before anything else.
      const versionRow = firstRow(versionResult);
      const version = versionOf(versionRow, { requires: "portfolio" });
      if (version === null || versionRow === undefined) throw portfolioNotFound(id);
      const etag = await entityTag(representation, version);
      const dateRow = firstRow(dateResult);
      const date = (dateRow?.[0] ?? null) as string | null;
      // The same answers as analyticsDate (worker/portfolios/aggregation-input.ts).
      if (date === null) throw new ApiError(404, "NO_DATA", "no symbol metrics exist yet: run the batch first");
      if (Number(dateRow?.[1] ?? 0) === 0)
        throw new ApiError(
          404,
          "NO_DATA",
          `no symbol metrics for ${date}: not a trading day, or its batch has not run`,
        );
      const factors = activeFactorsFrom(factorsResult);
      if (!factors.some((factor) => factor.key === query.factor)) {
        throw validationError(`unknown factor ${query.factor}`, [
          { path: "factor", message: `unknown factor key ${query.factor}; see GET /factors` },
        ]);
      }
      // Only the asked factor's betas are read: the aggregation of one factor is the same sum.
      const asked = factors.filter((factor) => factor.key === query.factor);
      const input: AggregationInput = {
        date,
        holdings: holdingsFrom(positionsResult),
        cash: Number(versionRow["cash"]),
        closes: closesFrom(closesResult),
        betas: betaTableFrom(storedBetasFrom(betasResult), storedGapsFrom(gapsResult), asked),
        factors: asked,
      };
      const drill = computeWithinRange([{ input }], () => factorDrillDown(input, query.factor));
      const names = companyNamesFrom(closesResult);
      const response: DrillDownResponse = {
        portfolio_id: id,
        date,
        factor_key: drill.factorKey,
        cash: drill.cash,
        options_notional: drill.optionsNotional,
        options_premium: drill.optionsPremium,
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
          name: names.get(row.betaSymbol) ?? null,
          premium_value: row.premiumValue,
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
          name: names.get(row.betaSymbol) ?? null,
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
      if (csv) {
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
        const download = csvResponse(
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
        return withValidators(download, etag);
      }
      return withValidators(c.json(response, 200), etag);
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
      // Risk factor shocks and historical episodes: worker/routes/portfolio-risk.ts.
      if (body.predictive !== undefined || body.historical !== undefined)
        return c.json(await riskStressAnswer(c.env, db, caller, id, body), 200);
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
        // The schema requires shocks when no scenario_id is given.
        scenario = { id: null, name: "Custom shocks", description: "", shocks: required(body.shocks, "the shocks") };
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
        kind: "lens",
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
