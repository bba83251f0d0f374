// Shapes of a portfolio's risk on the risk lens (docs/design.md §11 "Portfolio risk", "P&L
// attribution", "Historical replay"; docs/api.md "Portfolio risk, attribution and stress"):
// - `GET /portfolios/:id/risk?date` — one date's full risk block (exposures with standard
//   errors, total and active variance with their factor and holding contributions, VaR), and
//   `?from&to` — the stored daily series (volatility, tracking error, factor share, VaR, equity);
// - `GET /portfolios/:id/attribution?from&to` — realized P&L split into factor and specific parts;
// - `GET, POST /stress/episodes`, `DELETE /stress/episodes/:id` — saved and built-in historical
//   episodes (the predictive and historical stress requests and answers are in ./analytics.ts,
//   beside the lens stress they extend).
// A number the model cannot give is null with a reason, never 0 or NaN.
import { z } from "zod";
import { riskLoadingReasons } from "../../schema/index.ts";
import { descriptionField, formatField, idField, isoDate, plainText, symbolField, whenFieldsValid } from "./fields.ts";

const n = z.number().nullable();

/** Why a block of risk numbers is null (worker/factors/portfolio-risk.ts `RiskUnavailableReason`). */
export const riskUnavailableReasons = [
  "weights_unavailable",
  "no_covariance",
  "no_positions_covered",
  "no_benchmark",
  "benchmark_without_loadings",
  "not_requested",
] as const;

export const riskUnavailableSchema = z
  .object({
    reason: z.enum(riskUnavailableReasons).meta({
      description:
        "weights_unavailable: equity ≤ 0; no_covariance: no factor covariance stored for the date (detail says " +
        "why); no_positions_covered: public positions are held but none has loadings and a value; no_benchmark: " +
        "benchmark=none; benchmark_without_loadings: the benchmark symbol has no estimated loadings on the date; " +
        "not_requested: not computed for this answer.",
    }),
    detail: z.string(),
  })
  .meta({ id: "RiskUnavailable" });

/** Why a beta symbol's positions are in no risk number. */
export const symbolLeftOutReasons = [...riskLoadingReasons, "not_computed", "loadings_incomplete"] as const;
/** Why a held position is in no risk number (the aggregation's statuses). */
export const positionLeftOutReasons = ["private", "no_price", "no_delta", "invalid_delta", "expired"] as const;

export const symbolLeftOutSchema = z
  .object({
    symbol: z.string(),
    position_ids: z.array(z.string()),
    reason: z.enum(symbolLeftOutReasons).meta({
      description:
        "The symbol's stored loadings reason (insufficient_data, degenerate, no_factor_data, stale_prices, " +
        "no_prices), not_computed (no loadings stored for the date) or loadings_incomplete (a risk factor missing).",
    }),
    detail: z.string().nullable(),
  })
  .meta({ id: "RiskSymbolLeftOut" });

export const positionLeftOutSchema = z
  .object({
    position_id: z.string(),
    symbol: z.string(),
    beta_symbol: z.string(),
    reason: z.enum(positionLeftOutReasons),
    detail: z.string().nullable(),
  })
  .meta({ id: "RiskPositionLeftOut" });

// ---- GET /portfolios/:id/risk ---------------------------------------------------------------

/** The longest range of the risk series and the attribution, in calendar days (as the exposures'). */
export const maxRiskRangeDays = 731;
/** The default range: this many calendar days up to `to`. */
export const defaultRiskRangeDays = 180;

export const portfolioRiskQuerySchema = z
  .strictObject({
    date: isoDate("date")
      .optional()
      .meta({ description: "One date's full risk block (default, without from/to: the latest metrics date)." }),
    from: isoDate("from")
      .optional()
      .meta({ description: `A series from this date (default: ${defaultRiskRangeDays} days before \`to\`).` }),
    to: isoDate("to")
      .optional()
      .meta({ description: "A series up to this date (default: the portfolio's latest stored risk summary)." }),
    benchmark: z
      .union([z.literal("none"), symbolField])
      .optional()
      .meta({ description: "One date: the benchmark symbol (default: the portfolio's), or none." }),
    format: formatField,
  })
  .superRefine((query, ctx) => {
    const range = query.from !== undefined || query.to !== undefined;
    if (query.date !== undefined && range)
      ctx.addIssue({
        code: "custom",
        path: ["date"],
        message: "give either date (one date's risk) or from/to (the stored series), not both",
      });
    if (query.benchmark !== undefined && range)
      ctx.addIssue({
        code: "custom",
        path: ["benchmark"],
        message:
          "benchmark applies to one date (?date): a series serves what the batch stored against the portfolio's " +
          "own benchmark",
      });
    if (query.from && query.to && query.from > query.to)
      ctx.addIssue({ code: "custom", path: ["from"], message: `from (${query.from}) is after to (${query.to})` });
  }, whenFieldsValid)
  .meta({ id: "PortfolioRiskQuery" });
export type PortfolioRiskQuery = z.output<typeof portfolioRiskQuerySchema>;

export const riskExposureSchema = z
  .object({
    factor_key: z.string(),
    /** b_pk = Σ_s X_s b_s,k (active: Σ_s X'_s b_s,k). */
    exposure: z.number(),
    /** sqrt(Σ_s (X_s se_s,k)²): estimation errors taken as independent across symbols (see `note`). */
    standard_error: z.number(),
    /** exposure ≠ 0 and |exposure| ≥ 2 standard errors. */
    distinguishable: z.boolean(),
  })
  .meta({ id: "RiskExposure" });

export const activeRiskExposureSchema = riskExposureSchema
  .extend({
    /** The portfolio's own exposure b_pk. */
    portfolio: z.number(),
    /** The benchmark's loading b_Bk. */
    benchmark: z.number(),
  })
  .meta({ id: "ActiveRiskExposure" });

export const factorRiskContributionSchema = z
  .object({
    factor_key: z.string(),
    exposure: z.number(),
    /** c_k = b_k (Σ b)_k; the factors' contributions sum to factor_variance. */
    contribution: z.number(),
    /** c_k / variance; null when the variance is 0. */
    share: n,
  })
  .meta({ id: "FactorRiskContribution" });

export const holdingRiskContributionSchema = z
  .object({
    symbol: z.string(),
    /** The positions summed into the symbol (empty for the benchmark's row when it is not held). */
    position_ids: z.array(z.string()),
    /** X_s = Σ weight × delta of the symbol's positions (X'_s in the active block: the benchmark at −1). */
    weight: z.number(),
    /** X_s b_sᵀ Σ b */
    factor_part: z.number(),
    /** X_s² s²_s */
    specific_part: z.number(),
    /** h_s = factor_part + specific_part (Euler): the holdings' contributions sum to the variance exactly. */
    contribution: z.number(),
    /** h_s / variance; null when the variance is 0. */
    share: n,
    /**
     * (b_sᵀ Σ b + X_s s²_s) / sqrt(variance): the volatility added per unit of weight; null when
     * the variance is 0.
     */
    marginal: n,
  })
  .meta({ id: "HoldingRiskContribution" });

const decompositionFields = {
  /** V, daily, in squared fractions of equity: factor_variance + specific_variance. */
  variance: z.number(),
  factor_variance: z.number(),
  specific_variance: z.number(),
  /** factor_variance / variance; null when the variance is 0. */
  factor_share: n,
  /** In the risk factors' order. */
  factors: z.array(factorRiskContributionSchema),
  /** By |contribution|, largest first. */
  holdings: z.array(holdingRiskContributionSchema),
  /** zero_variance: nothing to share out (shares and marginals null). */
  shares_unavailable: z.literal("zero_variance").nullable(),
};

export const totalRiskSchema = z
  .object({
    ...decompositionFields,
    /** sqrt(252 V), a fraction of equity a year. */
    volatility: z.number(),
    volatility_dollar: z.number(),
    /** One-day parametric value at risk, z × sqrt(V) × equity: a loss in dollars (positive). */
    value_at_risk_95: z.number(),
    value_at_risk_99: z.number(),
  })
  .meta({ id: "TotalRisk" });

export const activeRiskSchema = z
  .object({
    ...decompositionFields,
    benchmark: z.string(),
    /** sqrt(252 V_a), a fraction of equity a year. */
    tracking_error: z.number(),
    tracking_error_dollar: z.number(),
  })
  .meta({ id: "ActiveRisk" });

export const lensExposureUncertaintySchema = z
  .object({
    factor_key: z.string(),
    /** Σ_s X_s β_s,f over the symbols with a beta; null when none has one. */
    exposure: n,
    /** sqrt(Σ_s (X_s se_s,f)²); null with `reason`. */
    standard_error: n,
    reason: z.enum(["no_beta", "standard_error_not_computed"]).nullable(),
    detail: z.string().nullable(),
    distinguishable: z.boolean().nullable(),
    symbols_used: z.number().int(),
  })
  .meta({ id: "LensExposureUncertainty" });

export const portfolioRiskDataQualitySchema = z
  .object({
    date: z.string(),
    equity: z.number(),
    weights_available: z.boolean(),
    covariance_available: z.boolean(),
    /** Why there is no covariance (the stored reason's detail); null when there is one. */
    covariance_detail: z.string().nullable(),
    positions_held: z.number().int(),
    positions_used: z.number().int(),
    symbols_used: z.number().int(),
    /** Σ |market value| of the positions used / of the valued positions; null when nothing is valued. */
    coverage: n,
    symbols_left_out: z.array(symbolLeftOutSchema),
    positions_left_out: z.array(positionLeftOutSchema),
  })
  .meta({ id: "PortfolioRiskDataQuality" });

export const portfolioRiskSchema = z
  .object({
    mode: z.literal("date"),
    portfolio_id: z.string(),
    date: z.string(),
    /** The benchmark of the active block; null with benchmark=none. */
    benchmark: z.string().nullable(),
    equity: z.number(),
    /** The risk factors, in the covariance's order: the order of every per-factor list. */
    factors: z.array(z.string()),
    /** The used beta symbols' summed weights: X_s (null when equity ≤ 0) and dollars D_s = Σ mv × delta. */
    symbols: z.array(
      z.object({
        symbol: z.string(),
        position_ids: z.array(z.string()),
        weight: n,
        dollar_exposure: z.number(),
      }),
    ),
    exposures: z.array(riskExposureSchema).nullable(),
    exposures_unavailable: riskUnavailableSchema.nullable(),
    total: totalRiskSchema.nullable(),
    total_unavailable: riskUnavailableSchema.nullable(),
    active_exposures: z.array(activeRiskExposureSchema).nullable(),
    active_exposures_unavailable: riskUnavailableSchema.nullable(),
    active: activeRiskSchema.nullable(),
    active_unavailable: riskUnavailableSchema.nullable(),
    /** The lens factors' exposures with standard errors (the same aggregation as GET …/exposures). */
    lens_exposures: z.array(lensExposureUncertaintySchema).nullable(),
    lens_exposures_unavailable: riskUnavailableSchema.nullable(),
    data_quality: portfolioRiskDataQualitySchema,
    /** How to read the standard errors. */
    note: z.string(),
  })
  .meta({
    id: "PortfolioRisk",
    description:
      "One date's risk: computed from the positions held on the date, their closes, the stored loadings and the " +
      "stored factor covariance of the date (nothing is estimated per request).",
  });
export type PortfolioRiskResponse = z.output<typeof portfolioRiskSchema>;

/** Why a date of the series has no (or only some) numbers. */
export const riskSeriesMissingReasons = ["not_computed", ...riskUnavailableReasons] as const;

const riskSeries = z.array(n);

export const portfolioRiskSeriesSchema = z
  .object({
    mode: z.literal("series"),
    portfolio_id: z.string(),
    from: z.string(),
    to: z.string(),
    /** The dates in [from, to] the batch computed for the portfolio (a snapshot or a risk summary), ascending. */
    dates: z.array(z.string()),
    /** The benchmark each date's tracking error is against (as stored); null without one or without a row. */
    benchmark: z.array(z.string().nullable()),
    equity: riskSeries,
    volatility: riskSeries,
    tracking_error: riskSeries,
    factor_share: riskSeries,
    value_at_risk_95: riskSeries,
    value_at_risk_99: riskSeries,
    /** Dates with a null in one of the series, and why. */
    missing: z.array(
      z.object({
        date: z.string(),
        /** The series the reason is about: `all` for a date without a stored summary. */
        series: z.enum(["all", "volatility", "tracking_error"]),
        reason: z.enum(riskSeriesMissingReasons),
        detail: z.string(),
      }),
    ),
  })
  .meta({
    id: "PortfolioRiskSeries",
    description: "Columnar: one array per measure, aligned with `dates`, read from the stored daily risk summaries.",
  });
export type PortfolioRiskSeriesResponse = z.output<typeof portfolioRiskSeriesSchema>;

export const portfolioRiskResponseSchema = z
  .discriminatedUnion("mode", [portfolioRiskSchema, portfolioRiskSeriesSchema])
  .meta({ id: "PortfolioRiskAnswer" });

// ---- GET /portfolios/:id/attribution ---------------------------------------------------------

export const attributionQuerySchema = z
  .strictObject({
    from: isoDate("from")
      .optional()
      .meta({ description: `First day (default: ${defaultRiskRangeDays} days before \`to\`).` }),
    to: isoDate("to").optional().meta({ description: "Last day (default: the portfolio's latest snapshot)." }),
    format: formatField,
  })
  .superRefine((query, ctx) => {
    if (query.from && query.to && query.from > query.to)
      ctx.addIssue({ code: "custom", path: ["from"], message: `from (${query.from}) is after to (${query.to})` });
  }, whenFieldsValid)
  .meta({ id: "AttributionQuery" });

/** Why a day is not attributed (worker/factors/portfolio-risk.ts `AttributionMissingReason`, and the reads'). */
export const attributionMissingReasons = [
  "pnl_missing",
  "equity_previous_missing",
  "equity_previous_not_positive",
  "exposures_missing",
  "factor_returns_missing",
] as const;

const byFactor = z.record(z.string(), z.number());

export const attributionTotalsSchema = z
  .object({
    /** Days attributed in the sum. */
    days: z.number().int(),
    pnl: z.number(),
    factor_pnl: byFactor,
    factor_pnl_total: z.number(),
    /** pnl − factor_pnl_total: the parts add up to the P&L. */
    specific_pnl: z.number(),
    /** Σ pnl_t / equity_{t−1}. */
    total_return: z.number(),
    factor_return: byFactor,
    factor_return_total: z.number(),
    specific_return: z.number(),
  })
  .meta({ id: "AttributionTotals" });

export const attributionDaySchema = z
  .object({
    date: z.string(),
    /** t − 1: the trading day before (the market calendar's); null when there is none stored. */
    previous_date: z.string().nullable(),
    status: z.enum(["attributed", "missing"]),
    reason: z.enum(attributionMissingReasons).nullable(),
    detail: z.string().nullable(),
    /** The day's P&L snapshot (dollars). */
    pnl: n,
    equity_previous: n,
    /** equity_{t−1} × b_p,k(t−1) × f_k,t, by risk factor; null on a missing day. */
    factor_pnl: byFactor.nullable(),
    factor_pnl_total: n,
    /** pnl − factor_pnl_total. */
    specific_pnl: n,
    /** pnl / equity_{t−1}. */
    total_return: n,
    factor_return: byFactor.nullable(),
    factor_return_total: n,
    specific_return: n,
    /** Sums over the attributed days up to and including this one. */
    cumulative: attributionTotalsSchema,
  })
  .meta({ id: "AttributionDay" });

export const attributionResponseSchema = z
  .object({
    portfolio_id: z.string(),
    from: z.string(),
    to: z.string(),
    /** The risk factors, in display order: the keys of every by-factor record. */
    factors: z.array(z.string()),
    /** One per day in [from, to] with a stored snapshot, ascending. */
    days: z.array(attributionDaySchema),
    /** Over the range (the last day's cumulative). */
    total: attributionTotalsSchema,
    days_attributed: z.number().int(),
    days_missing: z.number().int(),
  })
  .meta({
    id: "Attribution",
    description:
      "Realized P&L attribution: factor P&L_k,t = equity_{t−1} × b_p,k(t−1) × f_k,t " +
      "from the stored risk summary of t−1 and the stored factor returns of t; specific = P&L_t − Σ_k factor P&L.",
  });
export type AttributionResponse = z.output<typeof attributionResponseSchema>;

// ---- stress episodes -------------------------------------------------------------------------

/** The stored-day length of a built-in episode (the worst stretch of a factor). */
export const builtinEpisodeDays = 20;
/** Built-in episodes' ids: this prefix and the risk factor key. */
export const builtinEpisodePrefix = "builtin-worst-20d-";

export const stressEpisodeSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    /** The episode is (from, to]: the factor returns of the days after `from` up to `to` are summed. */
    from: z.string(),
    to: z.string(),
    builtin: z.boolean(),
    owner: z.string().nullable(),
    /** Days of (from, to] with a stored risk factor return. */
    days: z.number().int(),
    first_date: z.string().nullable(),
    last_date: z.string().nullable(),
    /** Per risk factor with a return in the episode, Σ f_k,t: the shocks a replay applies. */
    shocks: z.record(z.string(), z.number()),
    /** Built-ins: the factor whose worst stretch the episode is, and its summed return. */
    basis: z.object({ factor_key: z.string(), days: z.number().int(), sum: z.number() }).nullable(),
  })
  .meta({ id: "StressEpisode" });
export type StressEpisodeResponse = z.output<typeof stressEpisodeSchema>;

export const stressEpisodeListSchema = z
  .object({ episodes: z.array(stressEpisodeSchema) })
  .meta({ id: "StressEpisodeList" });

export const stressEpisodeCreateSchema = z
  .strictObject({
    name: plainText("name", { max: 100 }),
    description: descriptionField.optional(),
    from: isoDate("from").meta({ description: "The day before the episode's first day: the episode is (from, to]." }),
    to: isoDate("to").meta({ description: "The episode's last day." }),
  })
  .superRefine((body, ctx) => {
    if (!(body.from < body.to))
      ctx.addIssue({
        code: "custom",
        path: ["from"],
        message: `from (${body.from}) must be before to (${body.to}): the episode is (from, to]`,
      });
  }, whenFieldsValid)
  .meta({ id: "StressEpisodeCreate" });

export const episodeParamsSchema = z.strictObject({ id: idField("id") });
