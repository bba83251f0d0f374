// The risk model's shapes (docs/design.md §11, docs/api.md "Risk model"): the risk factors with
// the model's settings (`GET /risk/factors`), stored daily factor returns over a range
// (`GET /risk/factor-returns`), the factor covariance of a date (`GET /risk/covariance`), and
// a symbol's risk loadings (the `risk_loadings` block of `GET /data/symbols/:symbol`).
// Missing numbers are null with a reason, never 0.
import { z } from "zod";
import { covarianceReasons, factorReturnKinds, riskLoadingFlags, riskLoadingReasons } from "../../schema/index.ts";
import { formatField, isoDate, whenFieldsValid } from "./fields.ts";

// ---- GET /risk/factors ----------------------------------------------------------------------

export const riskFactorsQuerySchema = z.strictObject({ format: formatField }).meta({ id: "RiskFactorsQuery" });

export const riskFactorSchema = z
  .object({
    key: z.string().meta({ description: "Stable key: the key of loadings, returns and covariance rows." }),
    name: z.string(),
    long_symbol: z.string(),
    short_symbol: z.string().nullable().meta({ description: "The short leg of a spread; null for a single series." }),
    description: z.string(),
    display_order: z.number().int(),
  })
  .meta({ id: "RiskFactor" });

export const riskModelSettingsSchema = z
  .object({
    window_days: z.number().int().meta({ description: "Loadings regress on the returns of (D − window_days, D]." }),
    min_observations: z.number().int().meta({ description: "Fewer observations: no loadings (insufficient_data)." }),
    half_life_days: z.number().meta({ description: "EWMA half-life of the factor covariance, in trading days." }),
    max_covariance_days: z.number().int().meta({ description: "The covariance uses at most this many days." }),
    min_covariance_days: z
      .number()
      .int()
      .meta({ description: "Fewer days with every factor's return: no covariance (insufficient_history)." }),
    annualization_days: z.number().int().meta({ description: "Trading days per year: σ = sqrt(252 · V)." }),
  })
  .meta({ id: "RiskModelSettings" });

export const riskFactorsResponseSchema = z
  .object({ factors: z.array(riskFactorSchema), settings: riskModelSettingsSchema })
  .meta({ id: "RiskFactorsResponse" });
export type RiskFactorsResponse = z.output<typeof riskFactorsResponseSchema>;

// ---- GET /risk/factor-returns -----------------------------------------------------------------

/** The longest range of `GET /risk/factor-returns`, in calendar days (about eight years of trading days). */
export const maxFactorReturnRangeDays = 2000;
/** The default range: this many calendar days up to `to`. */
export const defaultFactorReturnRangeDays = 365;

export const factorReturnsQuerySchema = z
  .strictObject({
    from: isoDate("from")
      .optional()
      .meta({ description: `First date (default: ${defaultFactorReturnRangeDays} days before \`to\`).` }),
    to: isoDate("to")
      .optional()
      .meta({ description: "Last date (default: the latest date with a stored return of the kind, else today)." }),
    kind: z
      .enum(factorReturnKinds, { error: "kind must be risk or lens" })
      .optional()
      .meta({ description: "risk (default): the risk factors' returns; lens: the regressors of the 12 lens factors." }),
    format: formatField,
  })
  .superRefine((query, ctx) => {
    if (query.from && query.to && query.from > query.to)
      ctx.addIssue({ code: "custom", path: ["from"], message: `from (${query.from}) is after to (${query.to})` });
  }, whenFieldsValid)
  .meta({ id: "FactorReturnsQuery" });
export type FactorReturnsQuery = z.output<typeof factorReturnsQuerySchema>;

export const factorReturnsStatuses = ["complete", "partial", "none_stored"] as const;

export const factorReturnsResponseSchema = z
  .object({
    from: z.string(),
    to: z.string(),
    kind: z.enum(factorReturnKinds),
    /** The kind's active factor keys, in display order: the keys of `returns`. */
    factors: z.array(z.string()),
    /** The dates in [from, to] with at least one stored return of the kind, ascending. */
    dates: z.array(z.string()),
    returns: z.record(z.string(), z.array(z.number().nullable())).meta({
      description:
        "Per factor key, the daily returns aligned with `dates` (fractions: 0.01 = 1%); " +
        "null where the factor has no stored return that day (one of its symbols had no return).",
    }),
    data_quality: z
      .object({
        status: z.enum(factorReturnsStatuses).meta({
          description:
            "complete: every factor has a return on every date; partial: some cells are null (see missing); " +
            "none_stored: no return of the kind is stored in the range (nothing computed there: no zeros).",
        }),
        detail: z.string(),
        missing: z.array(
          z.object({
            factor_key: z.string(),
            /** How many of `dates` have no return for the factor. */
            dates: z.number().int(),
            reason: z.literal("no_return"),
          }),
        ),
      })
      .meta({ id: "FactorReturnsDataQuality" }),
  })
  .meta({
    id: "FactorReturns",
    description: "Columnar: one array per factor, aligned with `dates` (what a chart takes as is).",
  });
export type FactorReturnsResponse = z.output<typeof factorReturnsResponseSchema>;

// ---- GET /risk/covariance ---------------------------------------------------------------------

export const covarianceQuerySchema = z
  .strictObject({
    date: isoDate("date")
      .optional()
      .meta({ description: "The calculation date (default: the latest stored on or before today)." }),
    format: formatField,
  })
  .meta({ id: "CovarianceQuery" });

/** Why a covariance has no matrix: the batch's stored reasons, and `not_computed` when nothing is stored at all. */
export const covarianceResponseReasons = [...covarianceReasons, "not_computed"] as const;

const matrixSchema = z.array(z.array(z.number()));

export const covarianceResponseSchema = z
  .object({
    /** Null only when no covariance has been computed for any date (then `reason` is `not_computed`). */
    date: z.string().nullable(),
    half_life_days: z.number(),
    /** Orders the rows and columns of `matrix` and `correlation`. */
    factors: z.array(z.string()),
    /** Days used: the days ≤ `date` on which every risk factor has a return (at most max_covariance_days). */
    observations: z.number().int(),
    first_date: z.string().nullable(),
    last_date: z.string().nullable(),
    matrix: matrixSchema.nullable().meta({
      description:
        "The exponentially weighted daily covariance Σ (squared daily returns); null with `reason` when not computed.",
    }),
    annualized_volatility: z
      .record(z.string(), z.number())
      .nullable()
      .meta({ description: "Per factor key, sqrt(252 · Σ_kk) (a fraction: 0.15 = 15% a year)." }),
    correlation: z
      .array(z.array(z.number().nullable()))
      .nullable()
      .meta({ description: "Σ_ij / sqrt(Σ_ii Σ_jj); null in the row and column of a factor without variance." }),
    reason: z
      .enum(covarianceResponseReasons)
      .nullable()
      .meta({
        description:
          "Why `matrix` is null: insufficient_history (fewer days with every factor's return than the minimum), " +
          "no_factors (no active risk factor), not_computed (no covariance is stored for any date yet).",
      }),
    detail: z.string().nullable(),
  })
  .meta({ id: "FactorCovariance" });
export type CovarianceResponse = z.output<typeof covarianceResponseSchema>;

// ---- a symbol's risk loadings (GET /data/symbols/:symbol) --------------------------------------

export const riskLoadingsMissingReasons = [...riskLoadingReasons, "not_computed"] as const;

export const estimatedRiskLoadingsSchema = z
  .object({
    date: z.string(),
    status: z.literal("estimated"),
    quality_flag: z.enum(riskLoadingFlags),
    /** Per risk factor key, the joint OLS loading (the symbol's daily return per unit of the factor's). */
    loadings: z.record(z.string(), z.number()),
    standard_errors: z.record(z.string(), z.number()),
    /** s² = SSR / (n − K − 1): the daily variance of the specific return. */
    residual_variance: z.number(),
    /** sqrt(252 · residual_variance): the annualized specific volatility. */
    specific_volatility: z.number(),
    r_squared: z.number().nullable(),
    observations: z.number().int().nullable(),
    factor_observations: z.number().int().nullable(),
    window_days: z.number().int(),
    /** What limits the estimate (limited_history: "48 of 250 days"), when the batch said. */
    detail: z.string().nullable(),
  })
  .meta({ id: "EstimatedRiskLoadings" });

export const missingRiskLoadingsSchema = z
  .object({
    /** Null only when no date has been computed at all. */
    date: z.string().nullable(),
    status: z.literal("missing"),
    reason: z.enum(riskLoadingsMissingReasons).meta({
      description:
        "insufficient_data: fewer observations than the minimum (observations); degenerate: the factors are " +
        "collinear over the window; no_factor_data: no risk factor return in the window; stale_prices: the last " +
        "close is too old; no_prices: no close in the window; not_computed: no loadings are stored for the date.",
    }),
    detail: z.string(),
    observations: z.number().int().nullable(),
  })
  .meta({ id: "MissingRiskLoadings" });

export const riskLoadingsSchema = z
  .discriminatedUnion("status", [estimatedRiskLoadingsSchema, missingRiskLoadingsSchema])
  .meta({ id: "RiskLoadings" });
export type RiskLoadings = z.output<typeof riskLoadingsSchema>;
