import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { createdAt, updatedAt } from "./columns.ts";
import { portfolios } from "./portfolios.ts";

// The risk lens of docs/design.md §11: a few nearly independent factor return series, one
// joint regression per symbol on them, and their covariance. Everything is per date.

/**
 * The risk lens, seeded as data like the factor set: a factor's daily return is the long
 * symbol's return, minus the short symbol's when there is one.
 */
export const riskFactors = sqliteTable(
  "risk_factors",
  {
    id: integer("id").primaryKey(),
    key: text("key").notNull().unique(),
    name: text("name").notNull().unique(),
    longSymbol: text("long_symbol").notNull(),
    shortSymbol: text("short_symbol"),
    description: text("description").notNull(),
    displayOrder: integer("display_order").notNull(),
    isActive: integer("is_active", { mode: "boolean" }).notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [check("risk_factors_legs", sql`${t.shortSymbol} is null or ${t.shortSymbol} <> ${t.longSymbol}`)],
);

export const factorReturnKinds = ["lens", "risk"] as const;
export type FactorReturnKind = (typeof factorReturnKinds)[number];

/**
 * Daily factor returns: the regressor of each lens factor (`kind` 'lens', keyed by the
 * factor_definitions key: r_SPY for market_beta, r_VUG − r_VTV for growth_value_spread) and
 * each risk factor (`kind` 'risk'). A date on which an input has no return has no row.
 */
export const factorReturns = sqliteTable(
  "factor_returns",
  {
    kind: text("kind", { enum: factorReturnKinds }).notNull(),
    factorKey: text("factor_key").notNull(),
    date: text("date").notNull(),
    value: real("value").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.kind, t.factorKey, t.date] }),
    index("factor_returns_date_idx").on(t.date),
    check("factor_returns_kind", sql`${t.kind} in ('lens', 'risk')`),
  ],
);

export const riskLoadingFlags = ["ok", "limited_history", "degenerate"] as const;
export type RiskLoadingFlag = (typeof riskLoadingFlags)[number];
export const riskLoadingReasons = [
  "insufficient_data",
  "degenerate",
  "no_factor_data",
  "stale_prices",
  "no_prices",
] as const;
export type RiskLoadingReason = (typeof riskLoadingReasons)[number];

/**
 * One joint regression per symbol and date on the active risk factors: loadings and their
 * standard errors keyed by risk factor key, the residual variance s² (daily, squared
 * returns), R², observations; or no loadings and the reason. Missing is a row with a reason,
 * never zeros.
 */
export const symbolRiskLoadings = sqliteTable(
  "symbol_risk_loadings",
  {
    symbol: text("symbol").notNull(),
    calculationDate: text("calculation_date").notNull(),
    /** Set when estimated; null with `reason` when not. */
    qualityFlag: text("quality_flag", { enum: riskLoadingFlags }),
    reason: text("reason", { enum: riskLoadingReasons }),
    loadings: text("loadings", { mode: "json" }).$type<Record<string, number>>(),
    standardErrors: text("standard_errors", { mode: "json" }).$type<Record<string, number>>(),
    residualVariance: real("residual_variance"),
    rSquared: real("r_squared"),
    observations: integer("observations"),
    factorObservations: integer("factor_observations"),
    windowDays: integer("window_days").notNull(),
    /** Why it is missing, or what limits it ("48 of 250 days"). */
    detail: text("detail"),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.symbol, t.calculationDate] }),
    index("symbol_risk_loadings_date_idx").on(t.calculationDate),
    check(
      "symbol_risk_loadings_flag",
      sql`${t.qualityFlag} is null or ${t.qualityFlag} in ('ok', 'limited_history', 'degenerate')`,
    ),
    check(
      "symbol_risk_loadings_reason",
      sql`${t.reason} is null or ${t.reason} in (${sql.raw(riskLoadingReasons.map((r) => `'${r}'`).join(", "))})`,
    ),
    // Exactly one of an estimate (flag, loadings, standard errors, s²) and a reason.
    check(
      "symbol_risk_loadings_estimate_or_reason",
      sql`(${t.qualityFlag} is not null and ${t.reason} is null and ${t.loadings} is not null
        and ${t.standardErrors} is not null and ${t.residualVariance} is not null)
      or (${t.qualityFlag} is null and ${t.reason} is not null and ${t.loadings} is null)`,
    ),
  ],
);

export const covarianceReasons = ["insufficient_history", "no_factors"] as const;
export type CovarianceReason = (typeof covarianceReasons)[number];

/**
 * The exponentially weighted daily covariance of the risk factors on a date (docs/design.md
 * §11), per half-life. `factor_keys` orders the rows and columns of `matrix`. A date without
 * enough factor history is stored with its reason and no matrix: reported, never filled.
 */
export const factorCovariances = sqliteTable(
  "factor_covariances",
  {
    calculationDate: text("calculation_date").notNull(),
    halfLifeDays: real("half_life_days").notNull(),
    factorKeys: text("factor_keys", { mode: "json" }).notNull().$type<string[]>(),
    matrix: text("matrix", { mode: "json" }).$type<number[][]>(),
    /** Days used: trading days ≤ the date on which every risk factor has a return (at most the maximum). */
    observations: integer("observations").notNull(),
    firstDate: text("first_date"),
    lastDate: text("last_date"),
    reason: text("reason", { enum: covarianceReasons }),
    detail: text("detail"),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.calculationDate, t.halfLifeDays] }),
    check("factor_covariances_half_life", sql`${t.halfLifeDays} > 0`),
    check("factor_covariances_matrix_or_reason", sql`(${t.matrix} is null) = (${t.reason} is not null)`),
  ],
);

/**
 * The daily risk summary of a portfolio (docs/design.md §11, "Portfolio risk"), stored by the
 * batch's portfolio phase and by a live recompute, so date ranges are reads. Variances are
 * daily, in squared fractions of equity; volatilities annualized (√252); VaR one-day, dollars.
 * A number the model could not give is null with the reason in `data_quality`, never 0.
 */
export const portfolioRiskSummaries = sqliteTable(
  "portfolio_risk_summaries",
  {
    portfolioId: text("portfolio_id")
      .notNull()
      .references(() => portfolios.id, { onDelete: "cascade" }),
    date: text("date").notNull(),
    /** The benchmark symbol the active figures are against; null without one. */
    benchmarkSymbol: text("benchmark_symbol"),
    equity: real("equity"),
    totalVariance: real("total_variance"),
    factorVariance: real("factor_variance"),
    specificVariance: real("specific_variance"),
    volatility: real("volatility"),
    /** Factor variance / total variance. */
    factorShare: real("factor_share"),
    valueAtRisk95: real("value_at_risk_95"),
    valueAtRisk99: real("value_at_risk_99"),
    activeVariance: real("active_variance"),
    trackingError: real("tracking_error"),
    /**
     * Everything else of the day's risk block (exposures with standard errors, factor and
     * holding contributions, total and active), as the API serves it.
     */
    detail: text("detail", { mode: "json" }),
    /** What was left out and why (positions without loadings, a missing covariance). */
    dataQuality: text("data_quality", { mode: "json" }),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.portfolioId, t.date] }), index("portfolio_risk_summaries_date_idx").on(t.date)],
);

/**
 * A user's saved historical stress episode: the stored factor returns over (from, to] are
 * summed and applied to the day's loadings. Names are unique per owner.
 */
export const stressEpisodes = sqliteTable(
  "stress_episodes",
  {
    id: text("id").primaryKey(),
    owner: text("owner").notNull(),
    name: text("name").notNull(),
    fromDate: text("from_date").notNull(),
    toDate: text("to_date").notNull(),
    description: text("description").notNull().default(""),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("stress_episodes_owner_name").on(t.owner, t.name),
    check("stress_episodes_range", sql`${t.fromDate} < ${t.toDate}`),
  ],
);
