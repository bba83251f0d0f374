CREATE TABLE `symbol_beta_gaps` (
	`symbol` text NOT NULL,
	`factor_id` integer NOT NULL,
	`calculation_date` text NOT NULL,
	`reason` text NOT NULL,
	`observations` integer,
	`min_observations` integer,
	`last_close_date` text,
	`detail` text NOT NULL,
	PRIMARY KEY(`symbol`, `calculation_date`, `factor_id`),
	FOREIGN KEY (`factor_id`) REFERENCES `factor_definitions`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "symbol_beta_gaps_reason" CHECK("symbol_beta_gaps"."reason" in ('insufficient_data', 'stale_prices', 'no_prices', 'degenerate', 'no_factor_data'))
);
--> statement-breakpoint
CREATE TABLE `price_revisions` (
	`symbol` text PRIMARY KEY NOT NULL,
	`earliest_date` text NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `stale_betas` (
	`calculation_date` text NOT NULL,
	`symbol` text NOT NULL,
	`cause` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	PRIMARY KEY(`calculation_date`, `symbol`)
);
--> statement-breakpoint
ALTER TABLE `batch_runs` ADD `replace_prices` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `batch_runs` ADD `phases` text;--> statement-breakpoint
ALTER TABLE `batch_runs` ADD `stale_dates` text;