CREATE TABLE `company_profiles` (
	`symbol` text PRIMARY KEY NOT NULL,
	`company_name` text,
	`sector` text,
	`industry` text,
	`market_cap` real,
	`enterprise_value` real,
	`pe_ratio` real,
	`ps_ratio` real,
	`pb_ratio` real,
	`as_of` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `market_prices` (
	`symbol` text NOT NULL,
	`date` text NOT NULL,
	`close` real NOT NULL,
	`adj_close` real,
	`volume` integer,
	`source` text NOT NULL,
	PRIMARY KEY(`symbol`, `date`),
	CONSTRAINT "market_prices_close_positive" CHECK("market_prices"."close" > 0)
);
--> statement-breakpoint
CREATE INDEX `market_prices_date_idx` ON `market_prices` (`date`);--> statement-breakpoint
CREATE TABLE `symbol_universe` (
	`symbol` text PRIMARY KEY NOT NULL,
	`asset_type` text NOT NULL,
	`sector` text,
	`first_seen_date` text NOT NULL,
	`last_seen_date` text NOT NULL,
	`is_active` integer DEFAULT true NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	CONSTRAINT "symbol_universe_asset_type" CHECK("symbol_universe"."asset_type" in ('equity', 'etf', 'option_underlying'))
);
--> statement-breakpoint
CREATE INDEX `symbol_universe_active_idx` ON `symbol_universe` (`is_active`,`symbol`);--> statement-breakpoint
CREATE TABLE `factor_definitions` (
	`id` integer PRIMARY KEY NOT NULL,
	`key` text NOT NULL,
	`name` text NOT NULL,
	`category` text NOT NULL,
	`method` text NOT NULL,
	`input_symbol` text,
	`long_symbol` text,
	`short_symbol` text,
	`window_days` integer NOT NULL,
	`min_observations` integer NOT NULL,
	`ridge_alpha` real,
	`description` text NOT NULL,
	`display_order` integer NOT NULL,
	`is_active` integer DEFAULT true NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	CONSTRAINT "factor_definitions_category" CHECK("factor_definitions"."category" in ('market', 'rates', 'style', 'spread')),
	CONSTRAINT "factor_definitions_method" CHECK("factor_definitions"."method" in ('ols', 'ridge', 'spread')),
	CONSTRAINT "factor_definitions_inputs" CHECK(("factor_definitions"."method" = 'spread' and "factor_definitions"."long_symbol" is not null and "factor_definitions"."short_symbol" is not null and "factor_definitions"."input_symbol" is null)
        or ("factor_definitions"."method" <> 'spread' and "factor_definitions"."input_symbol" is not null and "factor_definitions"."long_symbol" is null and "factor_definitions"."short_symbol" is null)),
	CONSTRAINT "factor_definitions_ridge_alpha" CHECK(("factor_definitions"."method" = 'ridge') = ("factor_definitions"."ridge_alpha" is not null)),
	CONSTRAINT "factor_definitions_window" CHECK("factor_definitions"."window_days" > 0 and "factor_definitions"."min_observations" > 1)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `factor_definitions_key_unique` ON `factor_definitions` (`key`);--> statement-breakpoint
CREATE UNIQUE INDEX `factor_definitions_name_unique` ON `factor_definitions` (`name`);--> statement-breakpoint
CREATE TABLE `symbol_daily_metrics` (
	`symbol` text NOT NULL,
	`metrics_date` text NOT NULL,
	`current_price` real,
	`return_1d` real,
	`return_mtd` real,
	`return_ytd` real,
	`return_1m` real,
	`return_3m` real,
	`return_1y` real,
	`market_cap` real,
	`enterprise_value` real,
	`pe_ratio` real,
	`ps_ratio` real,
	`pb_ratio` real,
	`sector` text,
	`industry` text,
	`company_name` text,
	`factor_market_beta` real,
	`factor_interest_rate_beta` real,
	`factor_value` real,
	`factor_growth` real,
	`factor_momentum` real,
	`factor_quality` real,
	`factor_size` real,
	`factor_low_volatility` real,
	`factor_growth_value_spread` real,
	`factor_momentum_spread` real,
	`factor_size_spread` real,
	`factor_quality_spread` real,
	`data_quality_score` integer NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	PRIMARY KEY(`symbol`, `metrics_date`),
	CONSTRAINT "symbol_daily_metrics_quality_score" CHECK("symbol_daily_metrics"."data_quality_score" between 0 and 100)
);
--> statement-breakpoint
CREATE INDEX `symbol_daily_metrics_sector_idx` ON `symbol_daily_metrics` (`metrics_date`,`sector`);--> statement-breakpoint
CREATE INDEX `symbol_daily_metrics_market_cap_idx` ON `symbol_daily_metrics` (`metrics_date`,`market_cap`);--> statement-breakpoint
CREATE INDEX `symbol_daily_metrics_pe_ratio_idx` ON `symbol_daily_metrics` (`metrics_date`,`pe_ratio`);--> statement-breakpoint
CREATE INDEX `symbol_daily_metrics_ps_ratio_idx` ON `symbol_daily_metrics` (`metrics_date`,`ps_ratio`);--> statement-breakpoint
CREATE INDEX `symbol_daily_metrics_return_1d_idx` ON `symbol_daily_metrics` (`metrics_date`,`return_1d`);--> statement-breakpoint
CREATE INDEX `symbol_daily_metrics_return_ytd_idx` ON `symbol_daily_metrics` (`metrics_date`,`return_ytd`);--> statement-breakpoint
CREATE INDEX `symbol_daily_metrics_factor_market_beta_idx` ON `symbol_daily_metrics` (`metrics_date`,`factor_market_beta`);--> statement-breakpoint
CREATE INDEX `symbol_daily_metrics_factor_interest_rate_beta_idx` ON `symbol_daily_metrics` (`metrics_date`,`factor_interest_rate_beta`);--> statement-breakpoint
CREATE INDEX `symbol_daily_metrics_factor_value_idx` ON `symbol_daily_metrics` (`metrics_date`,`factor_value`);--> statement-breakpoint
CREATE INDEX `symbol_daily_metrics_factor_growth_idx` ON `symbol_daily_metrics` (`metrics_date`,`factor_growth`);--> statement-breakpoint
CREATE INDEX `symbol_daily_metrics_factor_momentum_idx` ON `symbol_daily_metrics` (`metrics_date`,`factor_momentum`);--> statement-breakpoint
CREATE INDEX `symbol_daily_metrics_factor_quality_idx` ON `symbol_daily_metrics` (`metrics_date`,`factor_quality`);--> statement-breakpoint
CREATE INDEX `symbol_daily_metrics_factor_size_idx` ON `symbol_daily_metrics` (`metrics_date`,`factor_size`);--> statement-breakpoint
CREATE INDEX `symbol_daily_metrics_factor_low_volatility_idx` ON `symbol_daily_metrics` (`metrics_date`,`factor_low_volatility`);--> statement-breakpoint
CREATE INDEX `symbol_daily_metrics_factor_growth_value_spread_idx` ON `symbol_daily_metrics` (`metrics_date`,`factor_growth_value_spread`);--> statement-breakpoint
CREATE INDEX `symbol_daily_metrics_factor_momentum_spread_idx` ON `symbol_daily_metrics` (`metrics_date`,`factor_momentum_spread`);--> statement-breakpoint
CREATE INDEX `symbol_daily_metrics_factor_size_spread_idx` ON `symbol_daily_metrics` (`metrics_date`,`factor_size_spread`);--> statement-breakpoint
CREATE INDEX `symbol_daily_metrics_factor_quality_spread_idx` ON `symbol_daily_metrics` (`metrics_date`,`factor_quality_spread`);--> statement-breakpoint
CREATE TABLE `symbol_factor_exposures` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`symbol` text NOT NULL,
	`factor_id` integer NOT NULL,
	`calculation_date` text NOT NULL,
	`beta_value` real NOT NULL,
	`raw_beta_value` real,
	`r_squared` real,
	`observations` integer NOT NULL,
	`quality_flag` text NOT NULL,
	`calculation_method` text NOT NULL,
	`regularization_alpha` real,
	`regression_window_days` integer NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`factor_id`) REFERENCES `factor_definitions`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "symbol_factor_exposures_quality_flag" CHECK("symbol_factor_exposures"."quality_flag" in ('ok', 'limited_history', 'capped', 'degenerate')),
	CONSTRAINT "symbol_factor_exposures_beta_capped" CHECK(abs("symbol_factor_exposures"."beta_value") <= 5)
);
--> statement-breakpoint
CREATE INDEX `symbol_factor_exposures_symbol_date_idx` ON `symbol_factor_exposures` (`symbol`,`calculation_date`);--> statement-breakpoint
CREATE INDEX `symbol_factor_exposures_method_date_idx` ON `symbol_factor_exposures` (`calculation_method`,`calculation_date`);--> statement-breakpoint
CREATE UNIQUE INDEX `symbol_factor_exposures_natural_key` ON `symbol_factor_exposures` (`symbol`,`factor_id`,`calculation_date`);--> statement-breakpoint
CREATE TABLE `portfolio_factor_exposures` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`portfolio_id` text NOT NULL,
	`factor_id` integer NOT NULL,
	`calculation_date` text NOT NULL,
	`exposure_value` real NOT NULL,
	`exposure_dollar` real NOT NULL,
	`coverage` real NOT NULL,
	`positions_used` integer NOT NULL,
	`positions_total` integer NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`portfolio_id`) REFERENCES `portfolios`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`factor_id`) REFERENCES `factor_definitions`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "portfolio_factor_exposures_coverage" CHECK("portfolio_factor_exposures"."coverage" between 0 and 1)
);
--> statement-breakpoint
CREATE INDEX `portfolio_factor_exposures_date_idx` ON `portfolio_factor_exposures` (`calculation_date`);--> statement-breakpoint
CREATE UNIQUE INDEX `portfolio_factor_exposures_natural_key` ON `portfolio_factor_exposures` (`portfolio_id`,`factor_id`,`calculation_date`);--> statement-breakpoint
CREATE TABLE `portfolio_snapshots` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`portfolio_id` text NOT NULL,
	`date` text NOT NULL,
	`equity` real NOT NULL,
	`gross` real NOT NULL,
	`net` real NOT NULL,
	`daily_pnl` real,
	`daily_return` real,
	`data_quality` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`portfolio_id`) REFERENCES `portfolios`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `portfolio_snapshots_natural_key` ON `portfolio_snapshots` (`portfolio_id`,`date`);--> statement-breakpoint
CREATE TABLE `portfolios` (
	`id` text PRIMARY KEY NOT NULL,
	`owner` text NOT NULL,
	`org` text,
	`name` text NOT NULL,
	`cash` real DEFAULT 0 NOT NULL,
	`benchmark_symbol` text DEFAULT 'SPY' NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `portfolios_org_idx` ON `portfolios` (`org`);--> statement-breakpoint
CREATE UNIQUE INDEX `portfolios_owner_name` ON `portfolios` (`owner`,`name`);--> statement-breakpoint
CREATE TABLE `position_factor_exposures` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`portfolio_id` text NOT NULL,
	`position_id` text NOT NULL,
	`symbol` text NOT NULL,
	`factor_id` integer NOT NULL,
	`calculation_date` text NOT NULL,
	`beta_value` real NOT NULL,
	`weight` real NOT NULL,
	`delta` real NOT NULL,
	`exposure_value` real NOT NULL,
	`is_option` integer NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`portfolio_id`) REFERENCES `portfolios`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`position_id`) REFERENCES `positions`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`factor_id`) REFERENCES `factor_definitions`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `position_factor_exposures_portfolio_date_idx` ON `position_factor_exposures` (`portfolio_id`,`calculation_date`);--> statement-breakpoint
CREATE UNIQUE INDEX `position_factor_exposures_natural_key` ON `position_factor_exposures` (`position_id`,`factor_id`,`calculation_date`);--> statement-breakpoint
CREATE TABLE `positions` (
	`id` text PRIMARY KEY NOT NULL,
	`portfolio_id` text NOT NULL,
	`symbol` text NOT NULL,
	`instrument` text NOT NULL,
	`quantity` real NOT NULL,
	`cost_basis` real,
	`opened_on` text NOT NULL,
	`closed_on` text,
	`underlying_symbol` text,
	`option_type` text,
	`strike` real,
	`expiry` text,
	`multiplier` real,
	`delta` real,
	`implied_vol` real,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`portfolio_id`) REFERENCES `portfolios`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "positions_instrument" CHECK("positions"."instrument" in ('stock', 'etf', 'option', 'private')),
	CONSTRAINT "positions_dates" CHECK("positions"."closed_on" is null or "positions"."closed_on" > "positions"."opened_on"),
	CONSTRAINT "positions_option_fields" CHECK(("positions"."instrument" = 'option' and "positions"."underlying_symbol" is not null and "positions"."option_type" in ('call', 'put')
            and "positions"."strike" > 0 and "positions"."expiry" is not null and "positions"."multiplier" > 0)
        or ("positions"."instrument" <> 'option' and "positions"."underlying_symbol" is null and "positions"."option_type" is null
            and "positions"."strike" is null and "positions"."expiry" is null and "positions"."delta" is null and "positions"."implied_vol" is null)),
	CONSTRAINT "positions_delta_range" CHECK("positions"."delta" is null or "positions"."delta" between -1 and 1),
	CONSTRAINT "positions_implied_vol" CHECK("positions"."implied_vol" is null or "positions"."implied_vol" > 0)
);
--> statement-breakpoint
CREATE INDEX `positions_portfolio_dates_idx` ON `positions` (`portfolio_id`,`opened_on`,`closed_on`);--> statement-breakpoint
CREATE INDEX `positions_symbol_idx` ON `positions` (`symbol`);--> statement-breakpoint
CREATE TABLE `stress_scenarios` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`shocks` text NOT NULL,
	`builtin` integer DEFAULT false NOT NULL,
	`owner` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	CONSTRAINT "stress_scenarios_builtin_owner" CHECK(("stress_scenarios"."builtin" = 1) = ("stress_scenarios"."owner" is null))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `stress_scenarios_owner_name` ON `stress_scenarios` (`owner`,`name`) WHERE "stress_scenarios"."owner" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX `stress_scenarios_builtin_name` ON `stress_scenarios` (`name`) WHERE "stress_scenarios"."builtin" = 1;--> statement-breakpoint
CREATE TABLE `batch_phase_results` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`run_id` text NOT NULL,
	`calculation_date` text NOT NULL,
	`phase` text NOT NULL,
	`success` integer NOT NULL,
	`message` text NOT NULL,
	`counts` text NOT NULL,
	`duration_ms` integer NOT NULL,
	`error_text` text,
	`started_at` text NOT NULL,
	`finished_at` text NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`run_id`) REFERENCES `batch_runs`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "batch_phase_results_duration" CHECK("batch_phase_results"."duration_ms" >= 0)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `batch_phase_results_natural_key` ON `batch_phase_results` (`run_id`,`calculation_date`,`phase`);--> statement-breakpoint
CREATE TABLE `batch_runs` (
	`id` text PRIMARY KEY NOT NULL,
	`dedupe_key` text NOT NULL,
	`trigger` text NOT NULL,
	`start_date` text NOT NULL,
	`end_date` text NOT NULL,
	`portfolio_id` text,
	`force_rerun` integer DEFAULT false NOT NULL,
	`status` text DEFAULT 'queued' NOT NULL,
	`requested_by` text,
	`counts` text,
	`error_text` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`started_at` text,
	`finished_at` text,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	CONSTRAINT "batch_runs_status" CHECK("batch_runs"."status" in ('queued', 'running', 'completed', 'partial', 'failed')),
	CONSTRAINT "batch_runs_dates" CHECK("batch_runs"."start_date" <= "batch_runs"."end_date")
);
--> statement-breakpoint
CREATE UNIQUE INDEX `batch_runs_dedupe_key_unique` ON `batch_runs` (`dedupe_key`);--> statement-breakpoint
CREATE INDEX `batch_runs_status_idx` ON `batch_runs` (`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `batch_runs_dates_idx` ON `batch_runs` (`start_date`,`end_date`);