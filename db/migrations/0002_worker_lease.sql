CREATE TABLE `health_checks` (
	`name` text PRIMARY KEY NOT NULL,
	`ok` integer,
	`message` text NOT NULL,
	`checked_at` integer NOT NULL,
	`checked_by` text NOT NULL
);
--> statement-breakpoint
ALTER TABLE `servers` ADD `owner` text;--> statement-breakpoint
ALTER TABLE `servers` ADD `state_since` integer;--> statement-breakpoint
ALTER TABLE `leases` ADD `acquired_at` integer;--> statement-breakpoint
ALTER TABLE `leases` ADD `wake_url` text;