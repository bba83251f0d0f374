// Shapes of the analytics routes: exposures over a date range (portfolio, benchmark, active,
// coverage, data_quality), the drill-down of one factor and date, stress tests (lens scenarios
// and shocks; predictive and historical on the risk lens, worker/routes/portfolio-risk.ts) and
// scenarios, and what-if portfolios. `data_quality` is worker/factors/data-quality.ts's
// `DataQuality`; its schema here is checked against that type at compile time (see the end of
// the file).
import { z } from "zod";
import { instruments, optionTypes } from "../../schema/index.ts";
import { positionExclusionReasons, symbolMissingReasons, type DataQuality } from "../factors/data-quality.ts";
import {
  boundedNumber,
  descriptionField,
  idField,
  isoDate,
  maxAmount,
  plainText,
  symbolField,
  whenFieldsValid,
} from "./fields.ts";
import { hedgeBlockSchema, hedgeOptionsSchema } from "./hedge.ts";
import { positionFieldSchemas, positionIssues } from "./portfolios.ts";
import { portfolioRiskSchema, positionLeftOutSchema, symbolLeftOutSchema } from "./portfolio-risk.ts";

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

/**
 * Why an exposure's standard error is null: `no_exposure` (the exposure itself is missing),
 * `weights_unavailable` (equity ≤ 0), `standard_error_not_computed` (a symbol's beta, or the
 * benchmark's, has no stored standard error: computed before standard errors existed),
 * `not_computed` (the date was stored before portfolio standard errors were: a batch rerun of the
 * date computes them).
 */
export const exposureStandardErrorReasons = [
  "no_exposure",
  "weights_unavailable",
  "standard_error_not_computed",
  "not_computed",
] as const;

const standardErrorNote =
  "Estimation errors are taken as independent across symbols (every symbol is regressed on the same factor " +
  "returns, so they are not quite): indicative.";
const reasonSeries = (of: string) =>
  z.array(z.enum(exposureStandardErrorReasons).nullable()).meta({
    description:
      `Per date: why ${of} is null (no_exposure, weights_unavailable, standard_error_not_computed, ` +
      "not_computed); null where it is given.",
  });
const distinguishableSeries = (of: string) =>
  z.array(z.boolean().nullable()).meta({
    description:
      `Per date: ${of} ≠ 0 and |${of}| ≥ 2 × its standard error; false is "not distinguishable from zero". ` +
      "Null where the standard error is.",
  });

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
    standard_error: series.meta({
      description:
        "Per date: the portfolio exposure's standard error sqrt(Σ_s (X_s·se_s)²), X_s = Σ weight × delta per " +
        `beta symbol (a stock and the options on it are one symbol). ${standardErrorNote}`,
    }),
    standard_error_reason: reasonSeries("standard_error"),
    distinguishable: distinguishableSeries("portfolio"),
    benchmark_standard_error: series.meta({
      description: "Per date: the standard error of the benchmark symbol's beta.",
    }),
    benchmark_standard_error_reason: reasonSeries("benchmark_standard_error"),
    benchmark_distinguishable: distinguishableSeries("benchmark"),
    active_standard_error: series.meta({
      description:
        "Per date: the active exposure's standard error, the benchmark B a holding of weight −1 merged with " +
        "the portfolio's own weight X_B in it: sqrt(se_p² + se_B²·(1 − 2·X_B)), exact for any benchmark. " +
        standardErrorNote,
    }),
    active_standard_error_reason: reasonSeries("active_standard_error"),
    active_distinguishable: distinguishableSeries("active"),
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
    cash: z.number().meta({ description: "The portfolio's cash: part of equity, with no factor loading." }),
    options_notional: z.number().meta({
      description:
        "Σ signed notional of the valued options (rows and missing): their weights count it, while equity " +
        "counts their premium, so Σ weights + cash / equity = 1 + (options_notional − options_premium) / equity.",
    }),
    options_premium: z.number().meta({ description: "Σ premium value of those options (0 without a premium)." }),
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
        name: z.string().nullable().meta({ description: "Company name of `beta_symbol` (an option's underlying)." }),
        premium_value: n.meta({
          description:
            "Options: contracts × multiplier × premium, what counts in equity (the weight is at notional); " +
            "null for stocks and options without a premium.",
        }),
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
        name: z.string().nullable(),
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
    description: descriptionField.optional(),
    shocks: shocksSchema,
  })
  .meta({ id: "StressScenarioCreate" });

export const scenarioParamsSchema = z.strictObject({ id: idField("id") });

/** A risk factor key as a record key (GET /risk/factors): never one of Object.prototype's names. */
const riskShockKey = z
  .string()
  .regex(/^[a-z0-9_]+$/, { error: "shock keys must be risk factor keys" })
  .refine((key) => !(key in Object.prototype), {
    error: (issue) => `${String(issue.input)} is not a risk factor key`,
  });

const riskShocksSchema = z
  .record(
    riskShockKey,
    z
      .number()
      .finite()
      .min(-1, { error: "a shock must be ≥ -1 (-100%)" })
      .max(10, { error: "a shock must be ≤ 10 (+1000%)" }),
  )
  .refine((shocks) => Object.keys(shocks).length > 0, { message: "give at least one shock" })
  .meta({
    description:
      "Risk factor key (GET /risk/factors) → move in the factor's return units (-0.10 = the factor falls 10%).",
  });

const propagateField = z
  .boolean({ error: "propagate must be true or false" })
  .optional()
  .meta({
    description:
      "Also move the factors without a shock by their conditional mean Σ_US Σ_SS⁻¹ s_S (default true); the " +
      "unpropagated impacts are always given beside.",
  });

export const predictiveStressSchema = z
  .strictObject({ shocks: riskShocksSchema, propagate: propagateField })
  .meta({ id: "PredictiveStress" });

export const historicalStressSchema = z
  .strictObject({
    from: isoDate("from").optional().meta({ description: "The day before the episode's first day: (from, to]." }),
    to: isoDate("to").optional().meta({ description: "The episode's last day." }),
    episode_id: idField("episode_id")
      .optional()
      .meta({ description: "A saved or built-in episode (GET /stress/episodes), instead of from and to." }),
    propagate: propagateField,
  })
  .superRefine((body, ctx) => {
    const range = body.from !== undefined || body.to !== undefined;
    if (range === (body.episode_id !== undefined)) {
      ctx.addIssue({ code: "custom", path: [], message: "give either from and to, or episode_id" });
      return;
    }
    if (!range) return;
    if (body.from === undefined) ctx.addIssue({ code: "custom", path: ["from"], message: "from is required with to" });
    else if (body.to === undefined) ctx.addIssue({ code: "custom", path: ["to"], message: "to is required with from" });
    else if (!(body.from < body.to))
      ctx.addIssue({
        code: "custom",
        path: ["from"],
        message: `from (${body.from}) must be before to (${body.to}): the episode is (from, to]`,
      });
  }, whenFieldsValid)
  .meta({ id: "HistoricalStress" });

export const stressRequestSchema = z
  .strictObject({
    scenario_id: idField("scenario_id").optional().meta({ description: "A built-in or saved scenario." }),
    shocks: shocksSchema.optional().meta({ description: "Shocks set by hand (instead of scenario_id)." }),
    predictive: predictiveStressSchema
      .optional()
      .meta({ description: "Shocks to risk factors, propagated to the others through the factor covariance." }),
    historical: historicalStressSchema
      .optional()
      .meta({ description: "Replay the summed stored risk factor returns of an episode on the date's loadings." }),
    date: isoDate("date").optional().meta({ description: "Default: the latest metrics date." }),
  })
  .superRefine((body, ctx) => {
    const given = [body.scenario_id, body.shocks, body.predictive, body.historical].filter(
      (value) => value !== undefined,
    );
    if (given.length !== 1)
      ctx.addIssue({
        code: "custom",
        path: [],
        message: "give exactly one of scenario_id, shocks, predictive and historical",
      });
  }, whenFieldsValid)
  .meta({ id: "StressRequest" });
export type StressRequest = z.output<typeof stressRequestSchema>;

const stressImpactSchema = z.object({ factor_key: z.string(), shock: z.number(), exposure_dollar: n, impact: n });
const stressScenarioRef = z.object({
  id: z.string().nullable(),
  name: z.string(),
  shocks: z.record(z.string(), z.number()),
});

export const stressResponseSchema = z
  .object({
    kind: z.literal("lens"),
    portfolio_id: z.string().nullable(),
    date: z.string(),
    scenario: stressScenarioRef,
    equity: z.number(),
    impacts: z.array(stressImpactSchema),
    missing: z.array(z.string()),
    total: n,
    total_return: n,
    complete: z.boolean(),
  })
  .meta({ id: "StressResult" });
export type StressResponse = z.output<typeof stressResponseSchema>;

export const riskStressSideSchema = z
  .object({
    /** f by risk factor key: the shocks, and 0 (unpropagated) or the conditional mean (propagated) elsewhere. */
    moves: z.record(z.string(), z.number()),
    factors: z.array(
      z.object({
        factor_key: z.string(),
        move: z.number(),
        shocked: z.boolean(),
        /** b_pk; null when equity ≤ 0. */
        exposure: n,
        /** Σ_s D_s b_s,k (= equity × b_pk). */
        exposure_dollar: z.number(),
        /** exposure_dollar × move. */
        impact: z.number(),
      }),
    ),
    /** By beta symbol (options at their delta), largest |impact| first; they sum to `total`. */
    holdings: z.array(
      z.object({
        symbol: z.string(),
        position_ids: z.array(z.string()),
        weight: n,
        dollar_exposure: z.number(),
        /** r_s = b_sᵀ f. */
        underlying_move: z.number(),
        impact: z.number(),
      }),
    ),
    /** Each option: its delta approximation (in its symbol's impact) beside its Black–Scholes repricing. */
    options: z.array(
      z.object({
        position_id: z.string(),
        symbol: z.string(),
        underlying_symbol: z.string(),
        option_type: z.enum(optionTypes),
        contracts: z.number(),
        multiplier: z.number(),
        spot: z.number(),
        underlying_move: z.number(),
        delta: z.number(),
        delta_approximation: z.number(),
        /** contracts × multiplier × (BS(S(1 + r)) − BS(S)); null with `repriced_reason`. */
        repriced: n,
        repriced_reason: z.enum(["no_implied_volatility", "underlying_price_not_positive"]).nullable(),
      }),
    ),
    /** Σ factor impacts (= Σ holding impacts): linear, options at delta. */
    total: z.number(),
    total_return: n,
    /** `total` with each repriced option's delta approximation replaced by its repricing. */
    total_repriced: z.number(),
    total_repriced_return: n,
    /** Options kept at their delta approximation in total_repriced (no implied volatility). */
    options_delta_only: z.array(z.string()),
  })
  .meta({ id: "RiskStressSide" });

export const riskStressResponseSchema = z
  .object({
    kind: z.enum(["predictive", "historical"]),
    portfolio_id: z.string(),
    date: z.string(),
    /** The given (predictive) or replayed (historical) shocks; `id` the episode's. */
    scenario: stressScenarioRef,
    equity: z.number(),
    /** The headline side per risk factor: `shock` is the factor's move f_k. */
    impacts: z.array(stressImpactSchema),
    /** Historical: risk factors without a stored return in the episode (moved 0 unpropagated). */
    missing: z.array(z.string()),
    total: n,
    total_return: n,
    /** No risk factor is missing. */
    complete: z.boolean(),
    /** Which side `impacts` and `total` are: propagated when it was computed, else unpropagated. */
    headline: z.enum(["propagated", "unpropagated"]),
    /** The risk factors, in the covariance's order. */
    factors: z.array(z.string()),
    propagate: z.boolean(),
    unpropagated: riskStressSideSchema,
    propagated: riskStressSideSchema.nullable(),
    propagated_unavailable: z
      .object({
        reason: z.enum(["not_requested", "no_covariance", "singular_shocked_covariance"]),
        detail: z.string(),
      })
      .nullable(),
    episode: z
      .object({
        id: z.string().nullable(),
        name: z.string(),
        from: z.string(),
        to: z.string(),
        builtin: z.boolean(),
        /** Days of (from, to] with a stored return. */
        days: z.number().int(),
        first_date: z.string().nullable(),
        last_date: z.string().nullable(),
        factors: z.array(
          z.object({
            factor_key: z.string(),
            /** Σ f_k,t over the episode; null when the factor has no stored return in it. */
            shock: n,
            days_used: z.number().int(),
            missing_dates: z.array(z.string()),
          }),
        ),
      })
      .nullable(),
    symbols_left_out: z.array(symbolLeftOutSchema),
    positions_left_out: z.array(positionLeftOutSchema),
  })
  .meta({ id: "RiskStressResult" });
export type RiskStressResponse = z.output<typeof riskStressResponseSchema>;

export const stressAnswerSchema = z
  .discriminatedUnion("kind", [stressResponseSchema, riskStressResponseSchema])
  .meta({ id: "StressAnswer" });

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
    benchmark: z
      .union([z.literal("none"), symbolField])
      .optional()
      .meta({
        description:
          "The benchmark of both risk blocks' active part (tracking error): default the compared portfolio's, " +
          "else SPY; none leaves it out.",
      }),
    hedge: hedgeOptionsSchema.optional().meta({
      description:
        "Also suggest a hedge of the hypothetical holdings (as POST /portfolios/:id/hedge, against `benchmark`): " +
        "the answer's `hedge`; a hedge that cannot be computed is a 422 naming hedge.<field>.",
    }),
  })
  .meta({ id: "WhatIfRequest" });

/**
 * The risk of hypothetical (or the compared portfolio's) holdings on the date: the one-date answer of
 * `GET /portfolios/:id/risk` without its request fields, computed from the stored risk model of the date.
 */
export const whatIfRiskSchema = portfolioRiskSchema.omit({ mode: true, portfolio_id: true }).meta({ id: "WhatIfRisk" });

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
  risk: whatIfRiskSchema,
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
        /** The risk summaries side by side (null where a side has no number, with the reason in its risk block). */
        risk: z.object({
          volatility: changeSchema,
          tracking_error: changeSchema,
          factor_share: changeSchema,
          value_at_risk_95: changeSchema,
          value_at_risk_99: changeSchema,
        }),
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
    /** The suggested hedge of the hypothetical holdings; null when `hedge` was not asked for. */
    hedge: hedgeBlockSchema.nullable(),
  })
  .meta({ id: "WhatIfResult" });
export type WhatIfResponse = z.output<typeof whatIfResponseSchema>;

// The schema and the shared type must describe the same object: a key renamed on either side
// fails to compile here.
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const dataQualityMatches: Exact<z.output<typeof dataQualitySchema>, DataQuality> = true;
void dataQualityMatches;
