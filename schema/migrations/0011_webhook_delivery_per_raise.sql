DROP INDEX `webhook_deliveries_webhook_alert`;--> statement-breakpoint
ALTER TABLE `webhook_deliveries` ADD `alert_created_at` text DEFAULT '' NOT NULL;--> statement-breakpoint
-- Existing deliveries: the alert's created_at their body carries (written when they were scheduled).
UPDATE `webhook_deliveries` SET `alert_created_at` = coalesce(iif(json_valid(`body`), json_extract(`body`, '$.alert.created_at'), NULL), '');--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_deliveries_webhook_alert_raise` ON `webhook_deliveries` (`webhook_id`,`alert_id`,`alert_created_at`);