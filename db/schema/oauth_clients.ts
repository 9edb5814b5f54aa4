// One OAuth client per running server; its secret is the server token (hashed). Deleted at stop,
// taking its codes and access tokens with it.
import { sqliteTable, integer, text } from 'drizzle-orm/sqlite-core';
import { servers } from './servers.ts';

export const oauthClients = sqliteTable('oauth_clients', {
  /** JupyterHub's client id, e.g. jupyterhub-user-alice. */
  id: text('id').primaryKey(),
  secretHash: text('secret_hash').notNull(),
  redirectUri: text('redirect_uri').notNull(),
  description: text('description').notNull(),
  allowedScopes: text('allowed_scopes', { mode: 'json' }).$type<string[]>().notNull(),
  serverId: integer('server_id').references(() => servers.id, { onDelete: 'cascade' }),
  createdAt: integer('created_at').notNull(),
});

export type OAuthClientRow = typeof oauthClients.$inferSelect;
