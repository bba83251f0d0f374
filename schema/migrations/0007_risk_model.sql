CREATE TABLE `factor_covariances` (
	`calculation_date` text NOT NULL,
	`half_life_days` real NOT NULL,
	`factor_keys` text NOT NULL,
	`matrix` text,
	`observations` integer NOT NULL,
	`first_date` text,
	`last_date` text,
	`reason` text,
	`detail` text,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	PRIMARY KEY(`calculation_date`, `half_life_days`),
	CONSTRAINT "factor_covariances_half_life" CHECK("factor_covariances"."half_life_days" > 0),
	CONSTRAINT "factor_covariances_matrix_or_reason" CHECK(("factor_covariances"."matrix" is null) = ("factor_covariances"."reason" is not null))
);
--> statement-breakpoint
CREATE TABLE `factor_returns` (
	`kind` text NOT NULL,
	`factor_key` text NOT NULL,
	`date` text NOT NULL,
	`value` real NOT NULL,
	PRIMARY KEY(`kind`, `factor_key`, `date`),
	CONSTRAINT "factor_returns_kind" CHECK("factor_returns"."kind" in ('lens', 'risk'))
);
--> statement-breakpoint
CREATE INDEX `factor_returns_date_idx` ON `factor_returns` (`date`);--> statement-breakpoint
CREATE TABLE `risk_factors` (
	`id` integer PRIMARY KEY NOT NULL,
	`key` text NOT NULL,
	`name` text NOT NULL,
	`long_symbol` text NOT NULL,
	`short_symbol` text,
	`description` text NOT NULL,
	`display_order` integer NOT NULL,
	`is_active` integer DEFAULT true NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	CONSTRAINT "risk_factors_legs" CHECK("risk_factors"."short_symbol" is null or "risk_factors"."short_symbol" <> "risk_factors"."long_symbol")
);
--> statement-breakpoint
CREATE UNIQUE INDEX `risk_factors_key_unique` ON `risk_factors` (`key`);--> statement-breakpoint
CREATE UNIQUE INDEX `risk_factors_name_unique` ON `risk_factors` (`name`);--> statement-breakpoint
CREATE TABLE `symbol_risk_loadings` (
	`symbol` text NOT NULL,
	`calculation_date` text NOT NULL,
	`quality_flag` text,
	`reason` text,
	`loadings` text,
	`standard_errors` text,
	`residual_variance` real,
	`r_squared` real,
	`observations` integer,
	`factor_observations` integer,
	`window_days` integer NOT NULL,
	`detail` text,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	PRIMARY KEY(`symbol`, `calculation_date`),
	CONSTRAINT "symbol_risk_loadings_flag" CHECK("symbol_risk_loadings"."quality_flag" is null or "symbol_risk_loadings"."quality_flag" in ('ok', 'limited_history', 'degenerate')),
	CONSTRAINT "symbol_risk_loadings_reason" CHECK("symbol_risk_loadings"."reason" is null or "symbol_risk_loadings"."reason" in ('insufficient_data', 'degenerate', 'no_factor_data', 'stale_prices', 'no_prices')),
	CONSTRAINT "symbol_risk_loadings_estimate_or_reason" CHECK(("symbol_risk_loadings"."quality_flag" is not null and "symbol_risk_loadings"."reason" is null and "symbol_risk_loadings"."loadings" is not null
        and "symbol_risk_loadings"."standard_errors" is not null and "symbol_risk_loadings"."residual_variance" is not null)
      or ("symbol_risk_loadings"."quality_flag" is null and "symbol_risk_loadings"."reason" is not null and "symbol_risk_loadings"."loadings" is null))
);
--> statement-breakpoint
CREATE INDEX `symbol_risk_loadings_date_idx` ON `symbol_risk_loadings` (`calculation_date`);--> statement-breakpoint
ALTER TABLE `symbol_factor_exposures` ADD `standard_error` real;