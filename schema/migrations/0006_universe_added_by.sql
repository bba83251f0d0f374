ALTER TABLE `symbol_universe` ADD `added_by` text;--> statement-breakpoint
CREATE INDEX `symbol_universe_added_by_idx` ON `symbol_universe` (`added_by`,`first_seen_date`);