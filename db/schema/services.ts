// API clients declared in config (`services:`), such as an idle culler or an LMS bridge.
// Synced from config at start-up and reload; their tokens live in `tokens` with kind 'service'.
import { sqliteTable, integer, text } from 'drizzle-orm/sqlite-core';

export const services = sqliteTable('services', {
  name: text('name').primaryKey(),
  admin: integer('admin', { mode: 'boolean' }).notNull().default(false),
  scopes: text('scopes', { mode: 'json' }).$type<string[]>().notNull(),
  createdAt: integer('created_at').notNull(),
});

export type ServiceRow = typeof services.$inferSelect;
