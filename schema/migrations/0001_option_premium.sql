PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_positions` (
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
	`premium` real,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`portfolio_id`) REFERENCES `portfolios`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "positions_instrument" CHECK("__new_positions"."instrument" in ('stock', 'etf', 'option', 'private')),
	CONSTRAINT "positions_dates" CHECK("__new_positions"."closed_on" is null or "__new_positions"."closed_on" > "__new_positions"."opened_on"),
	CONSTRAINT "positions_option_fields" CHECK(("__new_positions"."instrument" = 'option' and "__new_positions"."underlying_symbol" is not null and "__new_positions"."option_type" in ('call', 'put')
            and "__new_positions"."strike" > 0 and "__new_positions"."expiry" is not null and "__new_positions"."multiplier" > 0)
        or ("__new_positions"."instrument" <> 'option' and "__new_positions"."underlying_symbol" is null and "__new_positions"."option_type" is null
            and "__new_positions"."strike" is null and "__new_positions"."expiry" is null and "__new_positions"."delta" is null and "__new_positions"."implied_vol" is null
            and "__new_positions"."premium" is null)),
	CONSTRAINT "positions_delta_range" CHECK("__new_positions"."delta" is null or "__new_positions"."delta" between -1 and 1),
	CONSTRAINT "positions_implied_vol" CHECK("__new_positions"."implied_vol" is null or "__new_positions"."implied_vol" > 0),
	CONSTRAINT "positions_premium" CHECK("__new_positions"."premium" is null or "__new_positions"."premium" >= 0)
);
--> statement-breakpoint
INSERT INTO `__new_positions`("id", "portfolio_id", "symbol", "instrument", "quantity", "cost_basis", "opened_on", "closed_on", "underlying_symbol", "option_type", "strike", "expiry", "multiplier", "delta", "implied_vol", "premium", "created_at", "updated_at") -- premium is new: existing positions have none (drizzle-kit generated a copy of a column that did not exist yet).
SELECT "id", "portfolio_id", "symbol", "instrument", "quantity", "cost_basis", "opened_on", "closed_on", "underlying_symbol", "option_type", "strike", "expiry", "multiplier", "delta", "implied_vol", NULL, "created_at", "updated_at" FROM `positions`;--> statement-breakpoint
DROP TABLE `positions`;--> statement-breakpoint
ALTER TABLE `__new_positions` RENAME TO `positions`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `positions_portfolio_dates_idx` ON `positions` (`portfolio_id`,`opened_on`,`closed_on`);--> statement-breakpoint
CREATE INDEX `positions_symbol_idx` ON `positions` (`symbol`);