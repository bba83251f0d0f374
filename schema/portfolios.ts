import { sql } from "drizzle-orm";
import { check, index, integer, real, sqliteTable, text, unique, uniqueIndex } from "drizzle-orm/sqlite-core";
import { createdAt, updatedAt } from "./columns.ts";
import { factorDefinitions } from "./factors.ts";

export const instruments = ["stock", "etf", "option", "private"] as const;
export const optionTypes = ["call", "put"] as const;
export type Instrument = (typeof instruments)[number];
export type OptionType = (typeof optionTypes)[number];
/**
 * Why a stored portfolio exposure has no standard error: equity ≤ 0 (no weights, no exposure), or
 * a symbol used whose beta has no standard error (stored before standard errors existed).
 */
export const exposureStandardErrorReasons = ["weights_unavailable", "standard_error_not_computed"] as const;
export type ExposureStandardErrorReason = (typeof exposureStandardErrorReasons)[number];

/** A portfolio belongs to its owner (JWT `sub`) and, when the token has one, an org. */
export const portfolios = sqliteTable(
  "portfolios",
  {
    id: text("id").primaryKey(),
    owner: text("owner").notNull(),
    org: text("org"),
    name: text("name").notNull(),
    cash: real("cash").notNull().default(0),
    benchmarkSymbol: text("benchmark_symbol").notNull().default("SPY"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [unique("portfolios_owner_name").on(t.owner, t.name), index("portfolios_org_idx").on(t.org)],
);

/**
 * Effective-dated holdings: a position counts on date D when opened_on <= D and
 * (closed_on is null or D < closed_on). Quantity is signed (negative = short); options
 * quantity is in contracts and their betas come from the underlying.
 */
export const positions = sqliteTable(
  "positions",
  {
    id: text("id").primaryKey(),
    portfolioId: text("portfolio_id")
      .notNull()
      .references(() => portfolios.id, { onDelete: "cascade" }),
    symbol: text("symbol").notNull(),
    instrument: text("instrument", { enum: instruments }).notNull(),
    quantity: real("quantity").notNull(),
    costBasis: real("cost_basis"),
    openedOn: text("opened_on").notNull(),
    closedOn: text("closed_on"),
    underlyingSymbol: text("underlying_symbol"),
    optionType: text("option_type", { enum: optionTypes }),
    strike: real("strike"),
    expiry: text("expiry"),
    multiplier: real("multiplier"),
    /** Given delta; when absent and implied_vol is given, delta comes from Black-Scholes. */
    delta: real("delta"),
    impliedVol: real("implied_vol"),
    /** Option price per share (per unit of the underlying), for equity; null when unknown. */
    premium: real("premium"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("positions_portfolio_dates_idx").on(t.portfolioId, t.openedOn, t.closedOn),
    index("positions_symbol_idx").on(t.symbol),
    check("positions_instrument", sql`${t.instrument} in ('stock', 'etf', 'option', 'private')`),
    check("positions_dates", sql`${t.closedOn} is null or ${t.closedOn} > ${t.openedOn}`),
    check(
      "positions_option_fields",
      sql`(${t.instrument} = 'option' and ${t.underlyingSymbol} is not null and ${t.optionType} in ('call', 'put')
            and ${t.strike} > 0 and ${t.expiry} is not null and ${t.multiplier} > 0)
        or (${t.instrument} <> 'option' and ${t.underlyingSymbol} is null and ${t.optionType} is null
            and ${t.strike} is null and ${t.expiry} is null and ${t.delta} is null and ${t.impliedVol} is null
            and ${t.premium} is null)`,
    ),
    check("positions_delta_range", sql`${t.delta} is null or ${t.delta} between -1 and 1`),
    check("positions_implied_vol", sql`${t.impliedVol} is null or ${t.impliedVol} > 0`),
    check("positions_premium", sql`${t.premium} is null or ${t.premium} >= 0`),
  ],
);

/** Aggregated exposure of a portfolio to a factor on a date (from cached symbol betas). */
export const portfolioFactorExposures = sqliteTable(
  "portfolio_factor_exposures",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    portfolioId: text("portfolio_id")
      .notNull()
      .references(() => portfolios.id, { onDelete: "cascade" }),
    factorId: integer("factor_id")
      .notNull()
      .references(() => factorDefinitions.id),
    calculationDate: text("calculation_date").notNull(),
    /** Σ w·δ·β; null when equity ≤ 0 (weights undefined; the snapshot's data_quality says so). */
    exposureValue: real("exposure_value"),
    exposureDollar: real("exposure_dollar").notNull(),
    /** Share of gross exposure that had a beta for this factor, 0–1; null when gross is 0. */
    coverage: real("coverage"),
    /** The holdings' R² for the factor weighted by |mv·δ|, 0–1; null when no holding's beta has one. */
    rSquared: real("r_squared"),
    /**
     * sqrt(Σ_s (X_s·se_s)²), X_s = Σ w·δ per beta symbol (docs/design.md §11); null with
     * `standardErrorReason`, or with neither for a row stored before the column existed.
     */
    standardError: real("standard_error"),
    standardErrorReason: text("standard_error_reason", { enum: exposureStandardErrorReasons }),
    positionsUsed: integer("positions_used").notNull(),
    positionsTotal: integer("positions_total").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    unique("portfolio_factor_exposures_natural_key").on(t.portfolioId, t.factorId, t.calculationDate),
    index("portfolio_factor_exposures_date_idx").on(t.calculationDate),
    check("portfolio_factor_exposures_coverage", sql`${t.coverage} between 0 and 1`),
  ],
);

/** The per-position path, written only with dual-write on, to validate the aggregate path. */
export const positionFactorExposures = sqliteTable(
  "position_factor_exposures",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    portfolioId: text("portfolio_id")
      .notNull()
      .references(() => portfolios.id, { onDelete: "cascade" }),
    positionId: text("position_id")
      .notNull()
      .references(() => positions.id, { onDelete: "cascade" }),
    symbol: text("symbol").notNull(),
    factorId: integer("factor_id")
      .notNull()
      .references(() => factorDefinitions.id),
    calculationDate: text("calculation_date").notNull(),
    betaValue: real("beta_value").notNull(),
    weight: real("weight").notNull(),
    delta: real("delta").notNull(),
    exposureValue: real("exposure_value").notNull(),
    isOption: integer("is_option", { mode: "boolean" }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    unique("position_factor_exposures_natural_key").on(t.positionId, t.factorId, t.calculationDate),
    index("position_factor_exposures_portfolio_date_idx").on(t.portfolioId, t.calculationDate),
  ],
);

/** Daily P&L snapshot per portfolio, from the symbol returns of the date. */
export const portfolioSnapshots = sqliteTable(
  "portfolio_snapshots",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    portfolioId: text("portfolio_id")
      .notNull()
      .references(() => portfolios.id, { onDelete: "cascade" }),
    date: text("date").notNull(),
    equity: real("equity").notNull(),
    gross: real("gross").notNull(),
    net: real("net").notNull(),
    dailyPnl: real("daily_pnl"),
    dailyReturn: real("daily_return"),
    /** The data_quality contract of the aggregation, as JSON. */
    dataQuality: text("data_quality", { mode: "json" }),
    /**
     * X_s = Σ w·δ per beta symbol of the valued positions, as a JSON object by symbol: the
     * exposures route reads the benchmark's X_B from it for the active standard error. Null when
     * equity ≤ 0 (no weights) and for a snapshot stored before the column existed.
     */
    symbolWeights: text("symbol_weights", { mode: "json" }).$type<Record<string, number>>(),
    createdAt: createdAt(),
  },
  (t) => [unique("portfolio_snapshots_natural_key").on(t.portfolioId, t.date)],
);

/** Shocks are factor key → shock in the factor's return units (-0.10 = the factor falls 10%). */
export const stressScenarios = sqliteTable(
  "stress_scenarios",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    description: text("description").notNull().default(""),
    shocks: text("shocks", { mode: "json" }).notNull().$type<Record<string, number>>(),
    builtin: integer("builtin", { mode: "boolean" }).notNull().default(false),
    /** Null for built-in scenarios. */
    owner: text("owner"),
    createdAt: createdAt(),
  },
  (t) => [
    // Names are unique per owner, and among built-ins (NULL owners never collide in a plain index).
    uniqueIndex("stress_scenarios_owner_name").on(t.owner, t.name).where(sql`${t.owner} is not null`),
    uniqueIndex("stress_scenarios_builtin_name").on(t.name).where(sql`${t.builtin} = 1`),
    check("stress_scenarios_builtin_owner", sql`(${t.builtin} = 1) = (${t.owner} is null)`),
  ],
);

/**
 * A stress scenario's result for a portfolio on a date (batch phase 4, built-in scenarios).
 * `impacts` is the per-factor list of `StressResult` (worker/factors/stress.ts); totals are
 * null when no shocked factor had an exposure, never 0.
 */
export const portfolioStressResults = sqliteTable(
  "portfolio_stress_results",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    portfolioId: text("portfolio_id")
      .notNull()
      .references(() => portfolios.id, { onDelete: "cascade" }),
    scenarioId: text("scenario_id")
      .notNull()
      .references(() => stressScenarios.id, { onDelete: "cascade" }),
    calculationDate: text("calculation_date").notNull(),
    totalImpact: real("total_impact"),
    totalReturn: real("total_return"),
    complete: integer("complete", { mode: "boolean" }).notNull(),
    impacts: text("impacts", { mode: "json" }).notNull(),
    /** Shocked factor keys without an exposure. */
    missing: text("missing", { mode: "json" }).notNull().$type<string[]>(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique("portfolio_stress_results_natural_key").on(t.portfolioId, t.scenarioId, t.calculationDate),
    index("portfolio_stress_results_date_idx").on(t.calculationDate),
  ],
);
