CREATE TABLE `user_auth` (
	`user_id` integer PRIMARY KEY NOT NULL,
	`provider` text,
	`auth_state` text,
	`auth_state_at` integer,
	`posix_uid` integer,
	`posix_gid` integer,
	`home_dir` text,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `groups` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`properties` text DEFAULT '{}' NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `groups_name_unique` ON `groups` (`name`);--> statement-breakpoint
CREATE TABLE `user_groups` (
	`user_id` integer NOT NULL,
	`group_id` integer NOT NULL,
	PRIMARY KEY(`user_id`, `group_id`),
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`group_id`) REFERENCES `groups`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `user_groups_group` ON `user_groups` (`group_id`);--> statement-breakpoint
CREATE TABLE `hub_secrets` (
	`name` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `login_states` (
	`id` text PRIMARY KEY NOT NULL,
	`provider` text NOT NULL,
	`saved` text NOT NULL,
	`next` text,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `users` ADD `group_names` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `users` DROP COLUMN `auth_state`;--> statement-breakpoint
ALTER TABLE `oauth_clients` ADD `service_name` text;--> statement-breakpoint
-- Users who logged in before there were providers did so with the shared password: their accounts belong to it.
INSERT INTO `user_auth` (`user_id`, `provider`) SELECT DISTINCT `users`.`id`, 'shared-password' FROM `users` JOIN `audit` ON `audit`.`action` = 'login' AND `audit`.`target` = `users`.`name`;
