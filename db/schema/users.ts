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
  /** When auth_state was last written by a login or refresh (ms). */
  authStateAt: integer('auth_state_at'),
  /** POSIX identity from the provider (LDAP uidNumber/gidNumber/homeDirectory), for the system-user backend. */
  posixUid: integer('posix_uid'),
  posixGid: integer('posix_gid'),
  homeDir: text('home_dir'),
  /**
   * The user's group names, sorted: a copy of user_groups kept by every membership change, so the
   * token check (which reports groups) needs no second query.
   */
  groupNames: text('group_names', { mode: 'json' }).$type<string[]>().notNull().default([]),
  /** The login provider of the last login (its name). */
  provider: text('provider'),
});

export type UserRow = typeof users.$inferSelect;
