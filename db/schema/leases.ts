// Leadership leases (one acting worker at a time) and small shared counters such as the route
// table version the proxy watches.
import { sqliteTable, integer, text } from 'drizzle-orm/sqlite-core';

export const leases = sqliteTable('leases', {
  name: text('name').primaryKey(),
  holder: text('holder').notNull(),
  expiresAt: integer('expires_at').notNull(),
});

export const counters = sqliteTable('counters', {
  name: text('name').primaryKey(),
  value: integer('value').notNull().default(0),
});
