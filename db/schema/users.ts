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
  /**
   * The user's group names, sorted: a copy of user_groups kept by every membership change, so the
   * token check (which reports groups) needs no second query.
   */
  groupNames: text('group_names', { mode: 'json' }).$type<string[]>().notNull().default([]),
});

export type UserRow = typeof users.$inferSelect;

/**
 * What the last login said about a user beyond name and groups: its provider, the encrypted auth
 * state and the POSIX identity. Apart from `users` because the token check reads a user row on
 * every request and needs none of this (auth state can be kilobytes of tokens).
 */
export const userAuth = sqliteTable('user_auth', {
  userId: integer('user_id').primaryKey().references(() => users.id, { onDelete: 'cascade' }),
  /** The login provider's name. */
  provider: text('provider'),
  /** Provider tokens and attributes, encrypted (src/auth/auth-state.ts). */
  authState: text('auth_state'),
  /** When auth_state was last written by a login or a refresh (ms). */
  authStateAt: integer('auth_state_at'),
  /** POSIX identity from the provider (LDAP uidNumber/gidNumber/homeDirectory), for the system-user backend. */
  posixUid: integer('posix_uid'),
  posixGid: integer('posix_gid'),
  homeDir: text('home_dir'),
});

export type UserAuthRow = typeof userAuth.$inferSelect;
