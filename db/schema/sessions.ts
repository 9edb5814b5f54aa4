// Hub login sessions. The login cookie carries a secret stored only as a hash; `sessionId` is the
// public jupyterhub-session-id that single-user servers read and OAuth tokens are tagged with.
import { sqliteTable, integer, text } from 'drizzle-orm/sqlite-core';
import { users } from './users.ts';

export const sessions = sqliteTable('sessions', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  cookieHash: text('cookie_hash').notNull().unique(),
  sessionId: text('session_id').notNull(),
  userId: integer('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  /** Per-session XSRF secret for the hub's forms and cookie-authenticated API calls. */
  xsrf: text('xsrf').notNull(),
  createdAt: integer('created_at').notNull(),
  expiresAt: integer('expires_at').notNull(),
});

export type SessionRow = typeof sessions.$inferSelect;
