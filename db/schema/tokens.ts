// API tokens of every kind. Never clear text: a 4-character lookup prefix plus a salted hash (spec F).
import { sqliteTable, integer, text, index } from 'drizzle-orm/sqlite-core';
import { users } from './users.ts';
import { servers } from './servers.ts';
import { oauthClients } from './oauth_clients.ts';

export const TOKEN_KINDS = ['api', 'server', 'oauth', 'service'] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

export const tokens = sqliteTable(
  'tokens',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    kind: text('kind').$type<TokenKind>().notNull(),
    prefix: text('prefix').notNull(),
    hashed: text('hashed').notNull().unique(),
    userId: integer('user_id').references(() => users.id, { onDelete: 'cascade' }),
    serviceName: text('service_name'),
    /** Server tokens die with their server's spawn (deleted at stop). */
    serverId: integer('server_id').references(() => servers.id, { onDelete: 'cascade' }),
    /** OAuth tokens die with their client (deleted at stop). */
    oauthClientId: text('oauth_client_id').references(() => oauthClients.id, { onDelete: 'cascade' }),
    /** The hub login session (jupyterhub-session-id) the token was issued under; logout revokes them. */
    sessionId: text('session_id'),
    /** Raw scopes, as stored by JupyterHub (filters like `!user` resolved at use). */
    scopes: text('scopes', { mode: 'json' }).$type<string[]>().notNull(),
    note: text('note'),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at'),
    lastActivity: integer('last_activity'),
  },
  (t) => [index('tokens_prefix').on(t.prefix), index('tokens_session').on(t.sessionId)],
);

export type TokenRow = typeof tokens.$inferSelect;
