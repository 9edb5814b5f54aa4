// One OAuth client per running server, its secret the server token (hashed), deleted at stop; and
// one per configured service with OAuth, its secret the service's api_token (hashed), kept in step
// with config by the services sync. Deleting a client takes its codes and access tokens with it.
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
  /** The config service (services[].name) whose client this is; the services sync deletes it with the service. */
  serviceName: text('service_name'),
  createdAt: integer('created_at').notNull(),
});

export type OAuthClientRow = typeof oauthClients.$inferSelect;
