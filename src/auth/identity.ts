// Who is calling: resolves an API token (Authorization header) or a hub login cookie to an
// identity with its effective scopes. The token path runs on every single-user request, so it
// is one indexed query plus an in-memory scope computation.
import { and, eq, gte, isNull, or, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/sqlite-core';
import type { AppContext } from '../context.ts';
import { schema, type Db } from '../../db/client.ts';
import { sha256, tokenPrefix, verifyToken } from './tokens.ts';
import { tokenScopes, type Owner, type ScopeSet } from './scopes.ts';
import { TokenCache } from './token-cache.ts';
import { perDb } from '../../db/per-db.ts';
import { serviceClientTokenScopes } from '../services/oauth/service-scopes.ts';
import type { TokenRow, UserRow, SessionRow } from '../../db/schema/index.ts';

export interface Identity {
  kind: 'user' | 'service';
  name: string;
  admin: boolean;
  /** Present for users. */
  user?: UserRow;
  /** The API token used, when authenticated by token. */
  token?: TokenRow;
  /** The hub login session, when authenticated by cookie. */
  session?: SessionRow;
  scopes: ScopeSet;
}

export const LOGIN_COOKIE = 'jupyterhub-hub-login';
export const SESSION_COOKIE = 'jupyterhub-session-id';

/** Finds the live token row for a clear-text token, or undefined. */
export async function findToken(ctx: AppContext, token: string): Promise<TokenRow | undefined> {
  return (await lookupToken(ctx, token))?.token;
}

// The token check runs for every new browser session on every single-user server, so the token,
// its owner and the server its `!server` filters resolve to come back in ONE query, prepared once
// per database (drizzle would otherwise rebuild the SQL on every call). A server token's server is
// its owner's; an OAuth client's server may belong to someone else (an admin visiting alice's
// server), so that server's owner is read too.
const tokenServer = alias(schema.servers, 'token_server');
const clientServer = alias(schema.servers, 'client_server');
const clientOwner = alias(schema.users, 'client_owner');

function prepareLookup(db: Db) {
  const t = schema.tokens;
  return db
    .select({ token: t, user: schema.users, tokenServer: tokenServer.name, clientServer: clientServer.name, clientOwner: clientOwner.name, clientService: schema.oauthClients.serviceName })
    .from(t)
    .leftJoin(schema.users, eq(schema.users.id, t.userId))
    .leftJoin(tokenServer, eq(tokenServer.id, t.serverId))
    .leftJoin(schema.oauthClients, eq(schema.oauthClients.id, t.oauthClientId))
    .leftJoin(clientServer, eq(clientServer.id, schema.oauthClients.serverId))
    .leftJoin(clientOwner, eq(clientOwner.id, clientServer.userId))
    .where(and(eq(t.prefix, sql.placeholder('prefix')), or(isNull(t.expiresAt), gte(t.expiresAt, sql.placeholder('now')))))
    .prepare();
}

type Lookup = Awaited<ReturnType<ReturnType<typeof prepareLookup>['execute']>>[number];
const lookupQuery = perDb(prepareLookup);
const lookupCache = perDb((db) => new TokenCache<Lookup>(db));

async function lookupToken(ctx: AppContext, token: string) {
  if (token.length < 8) return undefined;
  const query = lookupQuery(ctx.db);
  const cache = lookupCache(ctx.db);
  const now = ctx.clock.now();
  return cache.get(token, now, async () => {
    const rows = await query.execute({ prefix: tokenPrefix(token), now });
    return rows.find((r) => verifyToken(token, r.token.hashed));
  });
}

/** `owner/name` of the server a token's `!server` filters mean (spec C.5): its own, else its client's. */
function resolvedServer(userName: string, r: { tokenServer: string | null; clientServer: string | null; clientOwner: string | null }) {
  if (r.tokenServer != null) return `${userName}/${r.tokenServer}`;
  if (r.clientServer != null && r.clientOwner != null) return `${r.clientOwner}/${r.clientServer}`;
  return undefined;
}

export async function identityFromToken(ctx: AppContext, token: string): Promise<Identity | undefined> {
  const found = await lookupToken(ctx, token);
  if (!found) return undefined;
  const row = found.token;
  if (row.userId != null) {
    const user = found.user;
    if (!user || user.blocked) return undefined;
    const owner: Owner = { kind: 'user', name: user.name, admin: user.admin };
    // a token from a service's OAuth carries that service's access scope while its owner may access it
    const scopes = found.clientService != null
      ? await serviceClientTokenScopes(ctx, row.scopes, owner, user, found.clientService)
      : tokenScopes(row.scopes, owner, resolvedServer(user.name, found));
    return { kind: 'user', name: user.name, admin: user.admin, user, token: row, scopes };
  }
  if (row.serviceName != null) {
    const svc = ctx.config.services.find((s) => s.name === row.serviceName);
    if (!svc) return undefined; // removed from config: its token no longer works
    const owner: Owner = { kind: 'service', name: svc.name, admin: svc.admin, scopes: svc.scopes };
    return { kind: 'service', name: svc.name, admin: svc.admin, token: row, scopes: tokenScopes(row.scopes, owner) };
  }
  return undefined;
}

/** Hub login cookie → session + user (cookie value is a random secret; the DB holds its SHA-256). */
export async function identityFromCookie(ctx: AppContext, cookieValue: string | undefined): Promise<Identity | undefined> {
  if (!cookieValue || cookieValue.length > 200) return undefined;
  // Session and user in one query: this runs for every browser request to the hub.
  const [found] = await ctx.db.select({ session: schema.sessions, user: schema.users }).from(schema.sessions)
    .innerJoin(schema.users, eq(schema.users.id, schema.sessions.userId))
    .where(eq(schema.sessions.cookieHash, sha256(cookieValue)));
  if (!found || found.session.expiresAt < ctx.clock.now() || found.user.blocked) return undefined;
  const { session, user } = found;
  const owner: Owner = { kind: 'user', name: user.name, admin: user.admin };
  return { kind: 'user', name: user.name, admin: user.admin, user, session, scopes: tokenScopes(['inherit'], owner) };
}
