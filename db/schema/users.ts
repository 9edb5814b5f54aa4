// Hub users: one row per login name. Timestamps are integer milliseconds since the epoch, UTC,
// except last_activity_us: microseconds, the precision clients report and JupyterHub returns.
import { sqliteTable, integer, text } from 'drizzle-orm/sqlite-core';

export const users = sqliteTable('users', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull().unique(),
  admin: integer('admin', { mode: 'boolean' }).notNull().default(false),
  blocked: integer('blocked', { mode: 'boolean' }).notNull().default(false),
  createdAt: integer('created_at').notNull(),
  lastActivityUs: integer('last_activity_us'),
  /** Provider data (e.g. OAuth tokens); encrypted by the login provider before it lands here. */
  authState: text('auth_state'),
});

export type UserRow = typeof users.$inferSelect;
