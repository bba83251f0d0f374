// Shapes of the analytics routes: exposures over a date range (portfolio, benchmark, active,
// coverage, data_quality), the drill-down of one factor and date, stress tests and scenarios,
// and what-if portfolios. `data_quality` is worker/factors/data-quality.ts's `DataQuality`;
// its schema here is checked against that type at compile time (see the end of the file).
import { z } from "zod";
import { instruments } from "../../schema/index.ts";
import { positionExclusionReasons, symbolMissingReasons, type DataQuality } from "../factors/data-quality.ts";
import { controlCharacterMessage } from "../http/control-characters.ts";
import { boundedNumber, idField, isoDate, maxAmount, plainText, symbolField, whenFieldsValid } from "./fields.ts";
import { positionFieldSchemas, positionIssues } from "./portfolios.ts";

const n = z.number().nullable();

export const dataQualitySchema = z
  .object({
    total_symbols: z.number().int(),
    symbols_with_ridge: z.number().int(),
    symbols_with_spread: z.number().int(),
    symbols_missing: z.array(
      z.object({
        symbol: z.string(),
        reason: z.enum(symbolMissingReasons),
        factors: z.array(z.string()).optional(),
        position_ids: z.array(z.string()),
        detail: z.string().optional(),
      }),
    ),
    positions_total: z.number().int(),
    positions_private: z.number().int(),
    date: z.string(),
    positions_valued: z.number().int(),
    positions_excluded: z.array(
      z.object({
        position_id: z.string(),
        symbol: z.string(),
        reason: z.enum(positionExclusionReasons),
        detail: z.string(),
      }),
    ),
    options_without_premium: z.number().int(),
    equity: z.number(),
    gross: z.number(),
    net: z.number(),
    weights_available: z.boolean(),
  })
  .meta({ id: "DataQuality" });

// ---- exposures ----------------------------------------------------------------------------

export const maxExposureRangeDays = 731;

export const exposuresQuerySchema = z
  .strictObject({
    from: isoDate("from").optional().meta({ description: "First date (default: 180 days before `to`)." }),
    to: isoDate("to").optional().meta({ description: "Last date (default: the latest with exposures)." }),
    factors: z
      .string()
      .regex(/^[a-z0-9_]+(,[a-z0-9_]+)*$/, { error: "factors must be a comma-separated list of factor keys" })
      .optional()
      .meta({ description: "Factor keys, comma-separated (default: every active factor)." }),
    benchmark: z
      .union([z.literal("none"), symbolField])
      .optional()
      .meta({ description: "Benchmark symbol (default: the portfolio's), or none." }),
    format: z.enum(["json", "csv"], { error: "format must be json or csv" }).optional(),
  })
  .superRefine((query, ctx) => {
    if (query.from && query.to && query.from > query.to)
      ctx.addIssue({ code: "custom", path: ["from"], message: `from (${query.from}) is after to (${query.to})` });
  }, whenFieldsValid)
  .meta({ id: "ExposuresQuery" });

const series = z.array(n);

export const exposureFactorSeriesSchema = z
  .object({
    key: z.string(),
    name: z.string(),
    /**
     * Per date (aligned with `dates`): Σ weight × delta × beta; null when no position had a beta (never 0 for
     * missing).
     */
    portfolio: series,
    exposure_dollar: series,
    /**
     * Share of gross exposure that had a beta, 0–1 (by value: unpriced and expired positions are outside gross, so
     * see coverage_count too).
     */
    coverage: series,
    /**
     * Coverage by count: positions with a beta for the factor / public positions held (priced or not, expired
     * included), 0–1.
     */
    coverage_count: series,
    /** The counts behind coverage_count. */
    positions_used: series,
    positions_total: series,
    /**
     * The holdings' R² for the factor, weighted by |market value × delta|, 0–1; null when no holding's beta has an
     * R².
     */
    r_squared: series,
    /** The benchmark symbol's beta; null without a benchmark or a stored beta. */
    benchmark: series,
    benchmark_r_squared: series,
    /** portfolio − benchmark; null when either is missing. */
    active: series,
  })
  .meta({ id: "ExposureFactorSeries" });

export const exposuresResponseSchema = z
  .object({
    portfolio_id: z.string(),
    from: z.string(),
    to: z.string(),
    benchmark: z.string().nullable(),
    /** The dates the batch computed for the portfolio in the range, ascending; every series aligns with it. */
    dates: z.array(z.string()),
    equity: series,
    factors: z.array(exposureFactorSeriesSchema),
    /** The data_quality of the last date (null before the first computed date). */
    data_quality: dataQualitySchema.nullable(),
  })
  .meta({
    id: "Exposures",
    description: "Columnar: one array per measure, aligned with `dates` (what a chart takes as is).",
  });
export type ExposuresResponse = z.output<typeof exposuresResponseSchema>;

// ---- drill-down ---------------------------------------------------------------------------

export const drillDownQuerySchema = z
  .strictObject({
    factor: z.string({ error: "factor is required" }).regex(/^[a-z0-9_]+$/, { error: "factor must be a factor key" }),
    date: isoDate("date").optional().meta({ description: "Default: the latest metrics date." }),
    format: z.enum(["json", "csv"], { error: "format must be json or csv" }).optional(),
  })
  .meta({ id: "DrillDownQuery" });

export const drillDownResponseSchema = z
  .object({
    portfolio_id: z.string(),
    date: z.string(),
    factor_key: z.string(),
    equity: z.number(),
    gross: z.number(),
    weights_available: z.boolean(),
    rows: z.array(
      z.object({
        symbol: z.string(),
        beta_symbol: z.string(),
        instrument: z.enum(instruments),
        position_ids: z.array(z.string()),
        market_value: z.number(),
        weight: n,
        delta: z.number(),
        beta: z.number(),
        quality_flag: z.string(),
        contribution: n,
        contribution_dollar: z.number(),
      }),
    ),
    missing: z.array(
      z.object({
        symbol: z.string(),
        beta_symbol: z.string(),
        instrument: z.enum(instruments),
        position_ids: z.array(z.string()),
        reason: z.string(),
        detail: z.string(),
        market_value: n,
        weight: n,
      }),
    ),
    totals: z.object({ weight: n, contribution: n, contribution_dollar: n }),
    /** The portfolio's exposure for the factor: totals.contribution equals it. */
    exposure: n,
    exposure_dollar: n,
    coverage: n,
  })
  .meta({ id: "DrillDown" });
export type DrillDownResponse = z.output<typeof drillDownResponseSchema>;

// ---- stress -------------------------------------------------------------------------------

/** A factor key as a record key: never one of Object.prototype's names (`__proto__`, `constructor`). */
const shockKey = z
  .string()
  .regex(/^[a-z0-9_]+$/, { error: "shock keys must be factor keys" })
  .refine((key) => !(key in Object.prototype), { error: (issue) => `${String(issue.input)} is not a factor key` });

const shocksSchema = z
  .record(
    shockKey,
    z
      .number()
      .finite()
      .min(-1, { error: "a shock must be ≥ -1 (-100%)" })
      .max(10, { error: "a shock must be ≤ 10 (+1000%)" }),
  )
  .refine((shocks) => Object.keys(shocks).length > 0, { message: "give at least one shock" })
  .meta({ description: "Factor key → shock in the factor's return units (-0.10 = the factor falls 10%)." });

export const stressScenarioSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    shocks: z.record(z.string(), z.number()),
    builtin: z.boolean(),
    owner: z.string().nullable(),
  })
  .meta({ id: "StressScenario" });

export const stressScenarioListSchema = z
  .object({ scenarios: z.array(stressScenarioSchema) })
  .meta({ id: "StressScenarioList" });

export const stressScenarioCreateSchema = z
  .strictObject({
    name: plainText("name", { max: 100 }),
    description: z
      .string({ error: "description must be a string" })
      .max(1000, { error: "description must be at most 1000 characters" })
      .superRefine((value, ctx) => {
        const message = controlCharacterMessage(value, "text", "description");
        if (message !== null) ctx.addIssue({ code: "custom", message });
      })
      .optional(),
    shocks: shocksSchema,
  })
  .meta({ id: "StressScenarioCreate" });

export const scenarioParamsSchema = z.strictObject({ id: idField("id") });

export const stressRequestSchema = z
  .strictObject({
    scenario_id: idField("scenario_id").optional().meta({ description: "A built-in or saved scenario." }),
    shocks: shocksSchema.optional().meta({ description: "Shocks set by hand (instead of scenario_id)." }),
    date: isoDate("date").optional().meta({ description: "Default: the latest metrics date." }),
  })
  .superRefine((body, ctx) => {
    if ((body.scenario_id === undefined) === (body.shocks === undefined))
      ctx.addIssue({ code: "custom", path: [], message: "give exactly one of scenario_id and shocks" });
  }, whenFieldsValid)
  .meta({ id: "StressRequest" });

export const stressResponseSchema = z
  .object({
    portfolio_id: z.string().nullable(),
    date: z.string(),
    scenario: z.object({ id: z.string().nullable(), name: z.string(), shocks: z.record(z.string(), z.number()) }),
    equity: z.number(),
    impacts: z.array(z.object({ factor_key: z.string(), shock: z.number(), exposure_dollar: n, impact: n })),
    missing: z.array(z.string()),
    total: n,
    total_return: n,
    complete: z.boolean(),
  })
  .meta({ id: "StressResult" });
export type StressResponse = z.output<typeof stressResponseSchema>;

// ---- what-if ------------------------------------------------------------------------------

const hypotheticalFields = { ...positionFieldSchemas, opened_on: positionFieldSchemas.opened_on.optional() };

export const hypotheticalHoldingSchema = z
  .strictObject(hypotheticalFields)
  .superRefine((holding, ctx) => {
    for (const issue of positionIssues(holding))
      ctx.addIssue({ code: "custom", path: [issue.path], message: issue.message });
  })
  .meta({ id: "HypotheticalHolding" });

export const maxWhatIfHoldings = 2_000;

export const whatIfRequestSchema = z
  .strictObject({
    portfolio_id: idField("portfolio_id")
      .optional()
      .meta({ description: "Compare with this portfolio (and start from its cash unless cash is given)." }),
    holdings: z
      .array(hypotheticalHoldingSchema)
      .max(maxWhatIfHoldings, { error: `at most ${maxWhatIfHoldings} holdings` }),
    cash: boundedNumber("cash", { max: maxAmount }).optional(),
    date: isoDate("date").optional().meta({ description: "Default: the latest metrics date." }),
  })
  .meta({ id: "WhatIfRequest" });

const aggregationSummary = z.object({
  equity: z.number(),
  gross: z.number(),
  net: z.number(),
  exposures: z.array(
    z.object({
      factor_key: z.string(),
      exposure: n,
      exposure_dollar: n,
      coverage: n,
      positions_used: z.number().int(),
      positions_total: z.number().int(),
    }),
  ),
  data_quality: dataQualitySchema,
});

const changeSchema = z.object({ original: n, what_if: n, change: n });

export const whatIfResponseSchema = z
  .object({
    date: z.string(),
    what_if: aggregationSummary,
    original: aggregationSummary.nullable(),
    comparison: z
      .object({
        equity: changeSchema,
        gross: changeSchema,
        net: changeSchema,
        factors: z.array(
          z.object({
            factor_key: z.string(),
            exposure: changeSchema,
            exposure_dollar: changeSchema,
            coverage: changeSchema,
          }),
        ),
      })
      .nullable(),
  })
  .meta({ id: "WhatIfResult" });
export type WhatIfResponse = z.output<typeof whatIfResponseSchema>;

// The schema and the shared type must describe the same object: a key renamed on either side
// fails to compile here.
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const dataQualityMatches: Exact<z.output<typeof dataQualitySchema>, DataQuality> = true;
void dataQualityMatches;
