CREATE TABLE `batch_chunks` (
	`run_id` text NOT NULL,
	`calculation_date` text NOT NULL,
	`phase` text NOT NULL,
	`chunk_index` integer NOT NULL,
	`symbols` text NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`counts` text,
	`error_text` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	PRIMARY KEY(`run_id`, `calculation_date`, `phase`, `chunk_index`),
	FOREIGN KEY (`run_id`) REFERENCES `batch_runs`(`id`) ON UPDATE no action ON DELETE cascade,
	CONSTRAINT "batch_chunks_status" CHECK("batch_chunks"."status" in ('pending', 'done', 'failed'))
);
--> statement-breakpoint
CREATE INDEX `batch_chunks_status_idx` ON `batch_chunks` (`run_id`,`calculation_date`,`phase`,`status`);