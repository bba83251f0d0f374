-- Hand-trimmed from drizzle-kit's output: it dropped and recreated every index of the database
-- around the two ALTER COLUMNs. libSQL's ALTER COLUMN keeps indexes, CHECKs and foreign keys
-- (checked against the libsql package), so only the new table and the two changes remain.
CREATE TABLE `portfolio_stress_results` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`portfolio_id` text NOT NULL,
	`scenario_id` text NOT NULL,
	`calculation_date` text NOT NULL,
	`total_impact` real,
	`total_return` real,
	`complete` integer NOT NULL,
	`impacts` text NOT NULL,
	`missing` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`portfolio_id`) REFERENCES `portfolios`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`scenario_id`) REFERENCES `stress_scenarios`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `portfolio_stress_results_date_idx` ON `portfolio_stress_results` (`calculation_date`);
--> statement-breakpoint
CREATE UNIQUE INDEX `portfolio_stress_results_natural_key` ON `portfolio_stress_results` (`portfolio_id`,`scenario_id`,`calculation_date`);
--> statement-breakpoint
ALTER TABLE `portfolio_factor_exposures` ALTER COLUMN "exposure_value" TO "exposure_value" real;
--> statement-breakpoint
ALTER TABLE `portfolio_factor_exposures` ALTER COLUMN "coverage" TO "coverage" real;
--> statement-breakpoint
ALTER TABLE `batch_runs` ADD `dates` text DEFAULT '[]' NOT NULL;
