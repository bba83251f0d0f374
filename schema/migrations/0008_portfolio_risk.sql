CREATE TABLE `portfolio_risk_summaries` (
	`portfolio_id` text NOT NULL,
	`date` text NOT NULL,
	`benchmark_symbol` text,
	`equity` real,
	`total_variance` real,
	`factor_variance` real,
	`specific_variance` real,
	`volatility` real,
	`factor_share` real,
	`value_at_risk_95` real,
	`value_at_risk_99` real,
	`active_variance` real,
	`tracking_error` real,
	`detail` text,
	`data_quality` text,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	PRIMARY KEY(`portfolio_id`, `date`),
	FOREIGN KEY (`portfolio_id`) REFERENCES `portfolios`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `portfolio_risk_summaries_date_idx` ON `portfolio_risk_summaries` (`date`);--> statement-breakpoint
CREATE TABLE `stress_episodes` (
	`id` text PRIMARY KEY NOT NULL,
	`owner` text NOT NULL,
	`name` text NOT NULL,
	`from_date` text NOT NULL,
	`to_date` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	CONSTRAINT "stress_episodes_range" CHECK("stress_episodes"."from_date" < "stress_episodes"."to_date")
);
--> statement-breakpoint
CREATE UNIQUE INDEX `stress_episodes_owner_name` ON `stress_episodes` (`owner`,`name`);