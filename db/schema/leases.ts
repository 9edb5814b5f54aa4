// Leadership leases (one acting worker at a time) and small shared counters such as the route
// table version the proxy watches.
import { sqliteTable, integer, text } from 'drizzle-orm/sqlite-core';

export const leases = sqliteTable('leases', {
  name: text('name').primaryKey(),
  /** The holding process's instance id (host:pid:random). */
  holder: text('holder').notNull(),
  expiresAt: integer('expires_at').notNull(),
  /** When the current holder took it (renewals keep it). */
  acquiredAt: integer('acquired_at'),
  /** Where the holder listens for wake-ups (a spawn requested in another process), e.g. http://127.0.0.1:41234. */
  wakeUrl: text('wake_url'),
});

export type LeaseRow = typeof leases.$inferSelect;

export const counters = sqliteTable('counters', {
  name: text('name').primaryKey(),
  value: integer('value').notNull().default(0),
});
