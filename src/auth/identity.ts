// Who is calling: resolves an API token (Authorization header) or a hub login cookie to an
// identity with its effective scopes. The token path runs on every single-user request, so it
// is one indexed query plus an in-memory scope computation.
import { and, eq, gte, isNull, or } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import { schema } from '../../db/client.ts';
import { sha256, tokenFromHeader, tokenPrefix, verifyToken } from './tokens.ts';
import { tokenScopes, type Owner, type ScopeSet } from './scopes.ts';
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

/** The server a token's `!server` filters resolve to ("alice/" for alice's default server). */
async function clientServerOf(ctx: AppContext, token: TokenRow, user: UserRow | undefined): Promise<string | undefined> {
  if (!user || (token.serverId == null && token.oauthClientId == null)) return undefined;
  const serverId = token.serverId ?? (await ctx.db.query.oauthClients.findFirst({ where: eq(schema.oauthClients.id, token.oauthClientId!) }))?.serverId;
  if (serverId == null) return undefined;
  const server = await ctx.db.query.servers.findFirst({ where: eq(schema.servers.id, serverId), columns: { name: true } });
  return server ? `${user.name}/${server.name}` : undefined;
}

/** Finds the live token row for a clear-text token, or undefined. */
export async function findToken(ctx: AppContext, token: string): Promise<TokenRow | undefined> {
  if (token.length < 8) return undefined;
  const now = ctx.clock.now();
  const rows = await ctx.db
    .select()
    .from(schema.tokens)
    .where(and(eq(schema.tokens.prefix, tokenPrefix(token)), or(isNull(schema.tokens.expiresAt), gte(schema.tokens.expiresAt, now))));
  return rows.find((r) => verifyToken(token, r.hashed));
}

export async function identityFromToken(ctx: AppContext, token: string): Promise<Identity | undefined> {
  const row = await findToken(ctx, token);
  if (!row) return undefined;
  if (row.userId != null) {
    const user = await ctx.db.query.users.findFirst({ where: eq(schema.users.id, row.userId) });
    if (!user || user.blocked) return undefined;
    const owner: Owner = { kind: 'user', name: user.name, admin: user.admin };
    const scopes = tokenScopes(row.scopes, owner, await clientServerOf(ctx, row, user));
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
  const session = await ctx.db.query.sessions.findFirst({ where: eq(schema.sessions.cookieHash, sha256(cookieValue)) });
  if (!session || session.expiresAt < ctx.clock.now()) return undefined;
  const user = await ctx.db.query.users.findFirst({ where: eq(schema.users.id, session.userId) });
  if (!user || user.blocked) return undefined;
  const owner: Owner = { kind: 'user', name: user.name, admin: user.admin };
  return { kind: 'user', name: user.name, admin: user.admin, user, session, scopes: tokenScopes(['inherit'], owner) };
}

/** Token from the Authorization header only (the hub API never reads ?token=, spec B.2). */
export const headerToken = (authorization: string | undefined) => tokenFromHeader(authorization);
