// The symbol API's shapes: `GET /data/symbols` (the universe table) and
// `GET /data/symbols/:symbol` (one symbol's profile, metrics and betas with their history).
import { getTableColumns } from "drizzle-orm";
import { z } from "zod";
import { betaGapReasons, factorMethods, qualityFlags, symbolDailyMetrics } from "../../schema/index.ts";
import { formatField, isoDate, plainText, queryInteger, queryNumber, symbolField, whenFieldsValid } from "./fields.ts";
import { riskLoadingsSchema } from "./risk.ts";

const nullableFactor = z.number().nullable();

/**
 * The denormalized `factor_*` columns, written out so their names are in the type (a test
 * keeps this list equal to the table's columns).
 */
const factorColumnShape = {
  factor_market_beta: nullableFactor,
  factor_interest_rate_beta: nullableFactor,
  factor_value: nullableFactor,
  factor_growth: nullableFactor,
  factor_momentum: nullableFactor,
  factor_quality: nullableFactor,
  factor_size: nullableFactor,
  factor_low_volatility: nullableFactor,
  factor_growth_value_spread: nullableFactor,
  factor_momentum_spread: nullableFactor,
  factor_size_spread: nullableFactor,
  factor_quality_spread: nullableFactor,
};

/** Every denormalized `factor_*` column of the table, by its API name. */
export const factorSortColumns = Object.keys(factorColumnShape) as (keyof typeof factorColumnShape)[];

/** The table's own factor columns (what `factorSortColumns` must equal). */
export const tableFactorColumns = Object.values(getTableColumns(symbolDailyMetrics))
  .map((column) => column.name)
  .filter((name) => name.startsWith("factor_"));

/** The sort whitelist (docs/design.md §8): each has an index on (metrics_date, column). */
export const symbolSortColumns = [
  "symbol",
  "sector",
  "market_cap",
  "pe_ratio",
  "ps_ratio",
  "return_1d",
  "return_ytd",
  ...factorSortColumns,
] as [string, ...string[]];

export const maxSymbolsLimit = 500;
export const maxSymbolsOffset = 1_000_000;

export const symbolsQuerySchema = z
  .strictObject({
    sort_by: z
      .enum(symbolSortColumns, { error: `sort_by must be one of ${symbolSortColumns.join(", ")}` })
      .optional()
      .meta({ description: "Column to sort on (nulls always last)." }),
    sort_order: z.enum(["asc", "desc"], { error: "sort_order must be asc or desc" }).optional(),
    sector: plainText("sector", { max: 100 }).optional(),
    q: plainText("q", { max: 40 }).optional().meta({
      description: "Search (autocomplete): symbols starting with q, or company names containing it; case-insensitive.",
    }),
    min_market_cap: queryNumber("min_market_cap").optional(),
    max_pe_ratio: queryNumber("max_pe_ratio").optional(),
    limit: queryInteger("limit", 1, maxSymbolsLimit)
      .optional()
      .meta({ description: `Rows per page, at most ${maxSymbolsLimit} (default 100).` }),
    offset: queryInteger("offset", 0, maxSymbolsOffset).optional(),
    date: isoDate("date").optional().meta({ description: "Metrics date; default the latest." }),
    format: formatField,
  })
  .meta({ id: "SymbolsQuery" });
export type SymbolsQuery = z.output<typeof symbolsQuerySchema>;

const nullableNumber = z.number().nullable();

export const symbolRowSchema = z
  .object({
    symbol: z.string(),
    company_name: z.string().nullable(),
    sector: z.string().nullable(),
    industry: z.string().nullable(),
    current_price: nullableNumber,
    return_1d: nullableNumber,
    return_mtd: nullableNumber,
    return_ytd: nullableNumber,
    return_1m: nullableNumber,
    return_3m: nullableNumber,
    return_1y: nullableNumber,
    market_cap: nullableNumber,
    enterprise_value: nullableNumber,
    pe_ratio: nullableNumber,
    ps_ratio: nullableNumber,
    pb_ratio: nullableNumber,
    ...factorColumnShape,
    data_quality_score: z.number().int(),
  })
  .meta({ id: "SymbolRow" });
export type SymbolRow = z.output<typeof symbolRowSchema>;

export const symbolsResponseSchema = z
  .object({
    symbols: z.array(symbolRowSchema),
    total_count: z.number().int(),
    /** Null when no metrics exist yet (before the first batch). */
    metrics_date: z.string().nullable(),
  })
  .meta({ id: "SymbolsResponse" });
export type SymbolsResponse = z.output<typeof symbolsResponseSchema>;

export const sectorsQuerySchema = z
  .strictObject({ date: isoDate("date").optional().meta({ description: "Metrics date; default the latest." }) })
  .meta({ id: "SectorsQuery" });

export const sectorsResponseSchema = z
  .object({
    /** Null when no metrics exist yet (before the first batch). */
    metrics_date: z.string().nullable(),
    /** The sectors of the date's symbols (the `sector` filter's values), by name, with how many symbols each has. */
    sectors: z.array(z.object({ sector: z.string(), count: z.number().int() })),
    /** Symbols of the date without a sector. */
    without_sector: z.number().int(),
  })
  .meta({ id: "SectorsResponse" });
export type SectorsResponse = z.output<typeof sectorsResponseSchema>;

export const symbolParamsSchema = z.strictObject({ symbol: symbolField });

export const maxHistoryDays = 3 * 366;

export const symbolDetailQuerySchema = z
  .strictObject({
    date: isoDate("date").optional().meta({ description: "Betas of this date (default: the latest with betas)." }),
    from: isoDate("from").optional().meta({ description: "History start (default: one year before `date`)." }),
    to: isoDate("to").optional().meta({ description: "History end (default: `date`)." }),
  })
  .superRefine((query, ctx) => {
    if (query.from && query.to && query.from > query.to)
      ctx.addIssue({ code: "custom", path: ["from"], message: `from (${query.from}) is after to (${query.to})` });
  }, whenFieldsValid)
  .meta({ id: "SymbolDetailQuery" });

export const symbolBetaSchema = z
  .object({
    factor_key: z.string(),
    factor_name: z.string(),
    beta: z.number(),
    raw_beta: z.number().nullable().meta({ description: "The uncapped estimate when |beta| was capped at 5." }),
    standard_error: z
      .number()
      .nullable()
      .meta({
        description:
          "Standard error of the (raw) estimate: OLS and spreads sqrt(s² / Σ(x − x̄)²), " +
          "ridge from s² A⁻¹ZᵀZA⁻¹ (docs/design.md §11); " +
          "null with standard_error_reason when it is not stored.",
      }),
    standard_error_reason: z
      .enum(["too_few_observations", "not_computed"])
      .nullable()
      .meta({
        description:
          "too_few_observations: no residual degrees of freedom (observations ≤ slopes + 1); " +
          "not_computed: the beta was stored before standard errors were (recompute the date to fill it).",
      }),
    r_squared: z.number().nullable(),
    observations: z.number().int(),
    quality_flag: z.enum(qualityFlags),
    method: z.enum(factorMethods),
    window_days: z.number().int(),
    regularization_alpha: z.number().nullable(),
  })
  .meta({ id: "SymbolBeta" });

export const missingBetaReasons = [...betaGapReasons, "not_computed"] as const;

export const missingBetaSchema = z
  .object({
    factor_key: z.string(),
    factor_name: z.string(),
    reason: z.enum(missingBetaReasons).meta({
      description:
        "insufficient_data: fewer observations than the factor's minimum; " +
        "stale_prices: the last close is too old (last_close_date); " +
        "no_prices: no close in the window (not listed yet, or gone); degenerate: a regressor without variance; " +
        "no_factor_data: the factor's inputs have no returns; " +
        "not_computed: no batch run has computed this symbol on this date.",
    }),
    detail: z.string(),
    /** insufficient_data: observations in the window, and the factor's minimum. */
    observations: z.number().int().nullable(),
    min_observations: z.number().int().nullable(),
    /** stale_prices: the symbol's last close on or before the date. */
    last_close_date: z.string().nullable(),
  })
  .meta({ id: "MissingBeta" });

export const symbolDetailResponseSchema = z
  .object({
    symbol: z.string(),
    asset_type: z.string(),
    is_active: z.boolean(),
    profile: z
      .object({
        company_name: z.string().nullable(),
        sector: z.string().nullable(),
        industry: z.string().nullable(),
        market_cap: nullableNumber,
        enterprise_value: nullableNumber,
        pe_ratio: nullableNumber,
        ps_ratio: nullableNumber,
        pb_ratio: nullableNumber,
        as_of: z.string().nullable(),
      })
      .nullable(),
    metrics: symbolRowSchema.extend({ metrics_date: z.string() }).nullable(),
    betas_date: z.string().nullable(),
    betas: z.array(symbolBetaSchema),
    /** Active factors without a stored beta on `betas_date`, each with its reason and figures: never reported as 0. */
    missing_betas: z.array(missingBetaSchema),
    /** The symbol's loadings on the risk factors on `betas_date` (docs/design.md §11), or why there are none. */
    risk_loadings: riskLoadingsSchema,
    history: z.object({
      from: z.string(),
      to: z.string(),
      series: z.array(
        z.object({
          factor_key: z.string(),
          points: z.array(z.object({ date: z.string(), beta: z.number(), r_squared: z.number().nullable() })),
        }),
      ),
    }),
  })
  .meta({ id: "SymbolDetail" });
export type SymbolDetailResponse = z.output<typeof symbolDetailResponseSchema>;
