import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, real, sqliteTable, text, unique } from "drizzle-orm/sqlite-core";
import { createdAt, updatedAt } from "./columns.ts";

export const factorCategories = ["market", "rates", "style", "spread"] as const;
export const factorMethods = ["ols", "ridge", "spread"] as const;
export const qualityFlags = ["ok", "limited_history", "insufficient_data", "capped", "degenerate"] as const;
export type FactorCategory = (typeof factorCategories)[number];
export type FactorMethod = (typeof factorMethods)[number];
export type QualityFlag = (typeof qualityFlags)[number];

/**
 * The factor set is data: a new factor is a new row. `key` names the factor in the API and
 * in the denormalized `symbol_daily_metrics.factor_<key>` column. OLS and ridge factors
 * regress on `input_symbol`'s returns; spreads on `long_symbol` minus `short_symbol`.
 */
export const factorDefinitions = sqliteTable(
  "factor_definitions",
  {
    id: integer("id").primaryKey(),
    key: text("key").notNull().unique(),
    name: text("name").notNull().unique(),
    category: text("category", { enum: factorCategories }).notNull(),
    method: text("method", { enum: factorMethods }).notNull(),
    inputSymbol: text("input_symbol"),
    longSymbol: text("long_symbol"),
    shortSymbol: text("short_symbol"),
    windowDays: integer("window_days").notNull(),
    minObservations: integer("min_observations").notNull(),
    /** Ridge penalty α (ridge factors only; one joint regression shares it). */
    ridgeAlpha: real("ridge_alpha"),
    description: text("description").notNull(),
    displayOrder: integer("display_order").notNull(),
    isActive: integer("is_active", { mode: "boolean" }).notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => {
    // The two halves of the inputs check, named to keep its lines short (the SQL text is unchanged).
    const spreadLegs = sql`${t.method} = 'spread' and ${t.longSymbol} is not null and ${t.shortSymbol} is not null`;
    const singleInput = sql`${t.method} <> 'spread' and ${t.inputSymbol} is not null and ${t.longSymbol} is null`;
    return [
      check("factor_definitions_category", sql`${t.category} in ('market', 'rates', 'style', 'spread')`),
      check("factor_definitions_method", sql`${t.method} in ('ols', 'ridge', 'spread')`),
      check(
        "factor_definitions_inputs",
        sql`(${spreadLegs} and ${t.inputSymbol} is null)
        or (${singleInput} and ${t.shortSymbol} is null)`,
      ),
      check("factor_definitions_ridge_alpha", sql`(${t.method} = 'ridge') = (${t.ridgeAlpha} is not null)`),
      check("factor_definitions_window", sql`${t.windowDays} > 0 and ${t.minObservations} > 1`),
    ];
  },
);

/**
 * One beta per symbol, factor and calculation date. A symbol below the minimum observations
 * gets no row (it is reported as missing with its reason); `capped` rows keep the raw beta.
 */
export const symbolFactorExposures = sqliteTable(
  "symbol_factor_exposures",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    symbol: text("symbol").notNull(),
    factorId: integer("factor_id")
      .notNull()
      .references(() => factorDefinitions.id),
    calculationDate: text("calculation_date").notNull(),
    betaValue: real("beta_value").notNull(),
    rawBetaValue: real("raw_beta_value"),
    /**
     * Standard error of the raw beta (docs/design.md §11): OLS and spreads sqrt(s²/Sxx) with
     * s² = SSR/(n − 2); ridge from s²·A⁻¹ZᵀZA⁻¹. Null only on rows stored before it existed.
     */
    standardError: real("standard_error"),
    rSquared: real("r_squared"),
    observations: integer("observations").notNull(),
    qualityFlag: text("quality_flag", { enum: qualityFlags }).notNull(),
    calculationMethod: text("calculation_method", { enum: factorMethods }).notNull(),
    regularizationAlpha: real("regularization_alpha"),
    regressionWindowDays: integer("regression_window_days").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    unique("symbol_factor_exposures_natural_key").on(t.symbol, t.factorId, t.calculationDate),
    index("symbol_factor_exposures_symbol_date_idx").on(t.symbol, t.calculationDate),
    index("symbol_factor_exposures_method_date_idx").on(t.calculationMethod, t.calculationDate),
    check(
      "symbol_factor_exposures_quality_flag",
      sql`${t.qualityFlag} in ('ok', 'limited_history', 'capped', 'degenerate')`,
    ),
    check("symbol_factor_exposures_beta_capped", sql`abs(${t.betaValue}) <= 5`),
  ],
);

export const betaGapReasons = [
  "insufficient_data",
  "stale_prices",
  "no_prices",
  "degenerate",
  "no_factor_data",
] as const;
export type BetaGapReason = (typeof betaGapReasons)[number];

/**
 * Why a symbol has no beta for a factor on a date the batch computed: every missing beta is
 * stored with its reason and figures, so the API serves it as such and never as a bare null
 * (docs/design.md §4.5). A date the batch never computed for the symbol has no row here
 * either: the API answers `not_computed`.
 */
export const symbolBetaGaps = sqliteTable(
  "symbol_beta_gaps",
  {
    symbol: text("symbol").notNull(),
    factorId: integer("factor_id")
      .notNull()
      .references(() => factorDefinitions.id),
    calculationDate: text("calculation_date").notNull(),
    reason: text("reason", { enum: betaGapReasons }).notNull(),
    /** insufficient_data: observations in the window, and the factor's minimum. */
    observations: integer("observations"),
    minObservations: integer("min_observations"),
    /** stale_prices: the symbol's last close on or before the date. */
    lastCloseDate: text("last_close_date"),
    detail: text("detail").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.symbol, t.calculationDate, t.factorId] }),
    check(
      "symbol_beta_gaps_reason",
      sql`${t.reason} in ('insufficient_data', 'stale_prices', 'no_prices', 'degenerate', 'no_factor_data')`,
    ),
  ],
);

/**
 * The symbol dashboard row per symbol and date: returns, fundamentals and the latest beta of
 * each factor, denormalized so the table sorts on an index. One `factor_<key>` column per
 * default factor (see schema/seed/default-factors.ts; a unit test keeps the two in step).
 */
export const symbolDailyMetrics = sqliteTable(
  "symbol_daily_metrics",
  {
    symbol: text("symbol").notNull(),
    metricsDate: text("metrics_date").notNull(),
    currentPrice: real("current_price"),
    return1d: real("return_1d"),
    returnMtd: real("return_mtd"),
    returnYtd: real("return_ytd"),
    return1m: real("return_1m"),
    return3m: real("return_3m"),
    return1y: real("return_1y"),
    marketCap: real("market_cap"),
    enterpriseValue: real("enterprise_value"),
    peRatio: real("pe_ratio"),
    psRatio: real("ps_ratio"),
    pbRatio: real("pb_ratio"),
    sector: text("sector"),
    industry: text("industry"),
    companyName: text("company_name"),
    factorMarketBeta: real("factor_market_beta"),
    factorInterestRateBeta: real("factor_interest_rate_beta"),
    factorValue: real("factor_value"),
    factorGrowth: real("factor_growth"),
    factorMomentum: real("factor_momentum"),
    factorQuality: real("factor_quality"),
    factorSize: real("factor_size"),
    factorLowVolatility: real("factor_low_volatility"),
    factorGrowthValueSpread: real("factor_growth_value_spread"),
    factorMomentumSpread: real("factor_momentum_spread"),
    factorSizeSpread: real("factor_size_spread"),
    factorQualitySpread: real("factor_quality_spread"),
    /** Share of the fields above that are present, 0–100. */
    dataQualityScore: integer("data_quality_score").notNull(),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.symbol, t.metricsDate] }),
    check("symbol_daily_metrics_quality_score", sql`${t.dataQualityScore} between 0 and 100`),
    // The dashboard always filters on one metrics_date, then sorts by a column.
    index("symbol_daily_metrics_sector_idx").on(t.metricsDate, t.sector),
    index("symbol_daily_metrics_market_cap_idx").on(t.metricsDate, t.marketCap),
    index("symbol_daily_metrics_pe_ratio_idx").on(t.metricsDate, t.peRatio),
    index("symbol_daily_metrics_ps_ratio_idx").on(t.metricsDate, t.psRatio),
    index("symbol_daily_metrics_return_1d_idx").on(t.metricsDate, t.return1d),
    index("symbol_daily_metrics_return_ytd_idx").on(t.metricsDate, t.returnYtd),
    index("symbol_daily_metrics_factor_market_beta_idx").on(t.metricsDate, t.factorMarketBeta),
    index("symbol_daily_metrics_factor_interest_rate_beta_idx").on(t.metricsDate, t.factorInterestRateBeta),
    index("symbol_daily_metrics_factor_value_idx").on(t.metricsDate, t.factorValue),
    index("symbol_daily_metrics_factor_growth_idx").on(t.metricsDate, t.factorGrowth),
    index("symbol_daily_metrics_factor_momentum_idx").on(t.metricsDate, t.factorMomentum),
    index("symbol_daily_metrics_factor_quality_idx").on(t.metricsDate, t.factorQuality),
    index("symbol_daily_metrics_factor_size_idx").on(t.metricsDate, t.factorSize),
    index("symbol_daily_metrics_factor_low_volatility_idx").on(t.metricsDate, t.factorLowVolatility),
    index("symbol_daily_metrics_factor_growth_value_spread_idx").on(t.metricsDate, t.factorGrowthValueSpread),
    index("symbol_daily_metrics_factor_momentum_spread_idx").on(t.metricsDate, t.factorMomentumSpread),
    index("symbol_daily_metrics_factor_size_spread_idx").on(t.metricsDate, t.factorSizeSpread),
    index("symbol_daily_metrics_factor_quality_spread_idx").on(t.metricsDate, t.factorQualitySpread),
  ],
);
