CREATE TABLE `webhook_deliveries` (
	`signature` text PRIMARY KEY NOT NULL,
	`received_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `worker_jobs` (
	`name` text PRIMARY KEY NOT NULL,
	`ran_by` text,
	`last_started_at` integer,
	`last_finished_at` integer,
	`last_outcome` text,
	`last_result` text,
	`runs` integer DEFAULT 0 NOT NULL,
	`failures` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE `worker_marks` (
	`key` text PRIMARY KEY NOT NULL,
	`first_seen_at` integer NOT NULL,
	`detail` text
);
