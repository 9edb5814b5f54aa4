ALTER TABLE `users` RENAME COLUMN "last_activity" TO "last_activity_us";--> statement-breakpoint
UPDATE `users` SET `last_activity_us` = `last_activity_us` * 1000;--> statement-breakpoint
ALTER TABLE `servers` RENAME COLUMN "last_activity" TO "last_activity_us";--> statement-breakpoint
UPDATE `servers` SET `last_activity_us` = `last_activity_us` * 1000;
