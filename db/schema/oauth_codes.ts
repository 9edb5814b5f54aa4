// Short-lived authorization codes (300 s), stored hashed and deleted on first use.
import { sqliteTable, integer, text } from 'drizzle-orm/sqlite-core';
import { users } from './users.ts';
import { oauthClients } from './oauth_clients.ts';

export const oauthCodes = sqliteTable('oauth_codes', {
  /** SHA-256 hex of the code. */
  codeHash: text('code_hash').primaryKey(),
  clientId: text('client_id').notNull().references(() => oauthClients.id, { onDelete: 'cascade' }),
  userId: integer('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  sessionId: text('session_id'),
  scopes: text('scopes', { mode: 'json' }).$type<string[]>().notNull(),
  redirectUri: text('redirect_uri').notNull(),
  codeChallenge: text('code_challenge'),
  expiresAt: integer('expires_at').notNull(),
});

export type OAuthCodeRow = typeof oauthCodes.$inferSelect;
