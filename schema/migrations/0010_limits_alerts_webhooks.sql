CREATE TABLE `alerts` (
	`id` text PRIMARY KEY NOT NULL,
	`limit_id` text NOT NULL,
	`portfolio_id` text NOT NULL,
	`date` text NOT NULL,
	`state` text NOT NULL,
	`metric` text NOT NULL,
	`factor_key` text,
	`value` real,
	`min_value` real,
	`max_value` real,
	`cause` text NOT NULL,
	`acknowledged_at` text,
	`acknowledged_by` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`limit_id`) REFERENCES `portfolio_limits`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`portfolio_id`) REFERENCES `portfolios`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `alerts_limit_date_state` ON `alerts` (`limit_id`,`date`,`state`);--> statement-breakpoint
CREATE INDEX `alerts_portfolio_created_idx` ON `alerts` (`portfolio_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `portfolio_limits` (
	`id` text PRIMARY KEY NOT NULL,
	`portfolio_id` text NOT NULL,
	`metric` text NOT NULL,
	`factor_key` text,
	`min_value` real,
	`max_value` real,
	`description` text DEFAULT '' NOT NULL,
	`created_by` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`portfolio_id`) REFERENCES `portfolios`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "portfolio_limits_bounds" CHECK("portfolio_limits"."min_value" is not null or "portfolio_limits"."max_value" is not null),
	CONSTRAINT "portfolio_limits_order" CHECK("portfolio_limits"."min_value" is null or "portfolio_limits"."max_value" is null or "portfolio_limits"."min_value" <= "portfolio_limits"."max_value"),
	CONSTRAINT "portfolio_limits_factor" CHECK(("portfolio_limits"."factor_key" is not null) = ("portfolio_limits"."metric" in ('exposure', 'active_exposure', 'risk_exposure',
        'active_risk_exposure', 'factor_share')))
);
--> statement-breakpoint
CREATE INDEX `portfolio_limits_portfolio_idx` ON `portfolio_limits` (`portfolio_id`);--> statement-breakpoint
CREATE TABLE `webhook_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`webhook_id` text NOT NULL,
	`alert_id` text NOT NULL,
	`event` text NOT NULL,
	`body` text NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_status_code` integer,
	`last_error` text,
	`next_attempt_at` text,
	`delivered_at` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`webhook_id`) REFERENCES `webhooks`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`alert_id`) REFERENCES `alerts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_deliveries_webhook_alert` ON `webhook_deliveries` (`webhook_id`,`alert_id`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_webhook_created_idx` ON `webhook_deliveries` (`webhook_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `webhooks` (
	`id` text PRIMARY KEY NOT NULL,
	`org` text NOT NULL,
	`url` text NOT NULL,
	`secret` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`active` integer DEFAULT true NOT NULL,
	`created_by` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `webhooks_org_idx` ON `webhooks` (`org`);