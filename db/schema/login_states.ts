// Redirect logins in flight: one row per /hub/oauth_login, taken (deleted) by the callback, so a
// state is honoured once. The browser holds only the state in a signed HttpOnly cookie; what the
// callback needs (PKCE verifier, nonce) stays here.
import { sqliteTable, integer, text } from 'drizzle-orm/sqlite-core';

export const loginStates = sqliteTable('login_states', {
  /** sha256 of the state value. */
  id: text('id').primaryKey(),
  provider: text('provider').notNull(),
  /** The provider's saved data (JSON). */
  saved: text('saved', { mode: 'json' }).$type<Record<string, unknown>>().notNull(),
  /** The validated on-site `next`, or null. */
  next: text('next'),
  createdAt: integer('created_at').notNull(),
  expiresAt: integer('expires_at').notNull(),
});

/** Random secrets the hub makes once and every process shares (the state cookie's signing key). */
export const hubSecrets = sqliteTable('hub_secrets', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
  createdAt: integer('created_at').notNull(),
});
