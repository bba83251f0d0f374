ALTER TABLE `portfolio_factor_exposures` ADD `standard_error` real;--> statement-breakpoint
ALTER TABLE `portfolio_factor_exposures` ADD `standard_error_reason` text;--> statement-breakpoint
ALTER TABLE `portfolio_snapshots` ADD `symbol_weights` text;