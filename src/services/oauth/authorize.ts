// The OAuth authorize step (spec B.3 step 2, C.5): validates the request in JupyterHub's order,
// decides whether the user must confirm, and issues a 30-character code valid for 300 s. Clients are
// single-user servers (access:servers!server=…) and configured services (access:services!service=…).
import { and, eq, gte, isNull, or } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import type { OAuthClientRow, UserRow } from '../../../db/schema/index.ts';
import { newOAuthToken, sha256 } from '../../auth/tokens.ts';
import { expandScopes, formatScopes, grants, intersectScopes, type Owner, type ScopeSet } from '../../auth/scopes.ts';
import { forbidden, invalid } from '../../errors.ts';
import { serverPrefix } from '../../names.ts';
import { configuredService, mayAccessService, serviceAccessScope, serviceOAuth, servicePrefix } from '../services/spec.ts';

export const CODE_TTL_MS = 300_000;
/** The identify scopes every OAuth token may carry (`!user` = its owner). */
export const IDENTIFY_SCOPES = ['read:users:name!user', 'read:users:groups!user'];

export interface AuthorizeParams {
  client_id?: string | undefined;
  redirect_uri?: string | undefined;
  response_type?: string | undefined;
  state?: string | undefined;
  scope?: string | undefined;
  code_challenge?: string | undefined;
  code_challenge_method?: string | undefined;
}

export interface AuthorizeInput {
  user: UserRow;
  /** The logged-in user's effective scopes. */
  scopes: ScopeSet;
  /** The hub session id the code (then the token) is tagged with; logout revokes by it. */
  sessionId: string;
  params: AuthorizeParams;
  /** The user submitted the consent form. */
  confirmed: boolean;
}

export type AuthorizeResult =
  | { kind: 'redirect'; location: string }
  | { kind: 'consent'; client: OAuthClientRow; scopes: string[]; serverUrl: string };

/** `uri?k=v&…` keeping `state` byte-for-byte (encodeURIComponent round-trips exactly). */
function withParams(uri: string, params: Record<string, string | undefined>): string {
  const q = Object.entries(params).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${encodeURIComponent(v!)}`);
  return q.length ? `${uri}${uri.includes('?') ? '&' : '?'}${q.join('&')}` : uri;
}

type Target =
  | { kind: 'server'; clientServer: string; accessScope: string; url: string; noConfirm(user: UserRow): boolean }
  | { kind: 'service'; service: string; clientServer?: undefined; accessScope: string; url: string; noConfirm(user: UserRow): boolean };

/** The server or service an OAuth client stands for; undefined when it no longer exists. */
async function clientTarget(ctx: AppContext, client: OAuthClientRow): Promise<Target | undefined> {
  const base = ctx.config.hub.base_url;
  if (client.serviceName != null) {
    const name = client.serviceName;
    const svc = configuredService(ctx, name);
    const oauth = svc && serviceOAuth(svc, base);
    // a service removed from config (or its OAuth) whose client the sync has not deleted yet
    if (!oauth || oauth.clientId !== client.id) return undefined;
    return { kind: 'service', service: name, accessScope: serviceAccessScope(name), url: servicePrefix(base, name), noConfirm: () => oauth.noConfirm };
  }
  const server = client.serverId == null ? undefined : await ctx.db.query.servers.findFirst({ where: eq(schema.servers.id, client.serverId) });
  const serverOwner = server && (await ctx.db.query.users.findFirst({ where: eq(schema.users.id, server.userId) }));
  if (!server || !serverOwner) return undefined;
  const clientServer = `${serverOwner.name}/${server.name}`;
  return {
    kind: 'server', clientServer, accessScope: `access:servers!server=${clientServer}`, url: serverPrefix(base, serverOwner.name, server.name),
    noConfirm: (user) => server.userId === user.id,
  };
}

/** Is every grant of the raw scope `s` already held by the user? (no widening through OAuth) */
function userHolds(s: string, owner: Owner, clientServer: string | undefined, have: ScopeSet): boolean {
  const want = expandScopes([s], owner, clientServer);
  if (want.size === 0) return false;
  return formatScopes(intersectScopes(want, have)).join(' ') === formatScopes(want).join(' ');
}

export async function authorize({ ctx, input }: { ctx: AppContext; input: AuthorizeInput }): Promise<AuthorizeResult> {
  const { params, user } = input;
  const now = ctx.clock.now();
  // 1. a known client with a secret
  const client = params.client_id ? await ctx.db.query.oauthClients.findFirst({ where: eq(schema.oauthClients.id, params.client_id) }) : undefined;
  if (!client || !client.secretHash) throw invalid('Invalid client_id');
  // 2. the registered redirect URI, compared as a plain string (spec I.4); never redirect before this
  const redirectUri = params.redirect_uri ?? client.redirectUri;
  if (redirectUri !== client.redirectUri) throw invalid('Mismatching redirect URI');
  const fail = (error: string, description: string): AuthorizeResult => ({
    kind: 'redirect',
    location: withParams(redirectUri, { error, error_description: description, state: params.state }),
  });
  // 3. response_type
  if (!params.response_type) return fail('invalid_request', 'Missing response_type parameter.');
  if (params.response_type !== 'code') return fail('unsupported_response_type', 'Only response_type=code is supported.');
  // what the client is for: a running server, or a configured service
  const target = await clientTarget(ctx, client);
  if (!target) throw invalid('Invalid client_id');
  const { clientServer, accessScope } = target;
  // 4. scopes (spec C.5): none requested → the client's defaults
  const allowed = client.allowedScopes;
  const required = [...IDENTIFY_SCOPES, accessScope];
  const requested = params.scope?.trim() ? params.scope.trim().split(/\s+/).filter((s) => s !== 'identify') : undefined;
  if (requested && requested.some((s) => !allowed.includes(s) && !required.includes(s))) return fail('invalid_scope', 'Requested scopes are not allowed for this client.');
  // identify and the access scope always come along (C.5: requested ∪ required), else a client asking
  // for `identify` alone would get a token its own server refuses
  const wanted = requested ? [...requested, ...required] : allowed.includes('inherit') ? allowed : [...allowed, ...required];
  const owner: Owner = { kind: 'user', name: user.name, admin: user.admin };
  // scopes the user lacks are dropped, not refused (JupyterHub warns and carries on)
  const scopes = [...new Set(wanted)].filter((s) => s === 'inherit' || required.includes(s) || userHolds(s, owner, clientServer, input.scopes)).sort();
  // 5. the user must hold the client's access scope (JupyterHub: `You do not have permission to access <client description>`)
  const mayAccess = target.kind === 'server'
    ? grants(input.scopes, 'access:servers', { server: target.clientServer })
    : grants(input.scopes, 'access:services', { service: target.service }) || (await mayAccessService(ctx, user, target.service));
  if (!mayAccess) throw forbidden(`You do not have permission to access ${client.description}`);
  // PKCE (JupyterHub 6 single-user servers send S256); optional, verified at exchange when present
  if (params.code_challenge && params.code_challenge_method !== 'S256') return fail('invalid_request', 'Only code_challenge_method=S256 is supported.');
  // consent: not for one's own servers, nor a service with oauth_no_confirm, nor when earlier tokens
  // from this client already cover it
  if (!input.confirmed && !target.noConfirm(user)) {
    const held = await ctx.db
      .select({ scopes: schema.tokens.scopes })
      .from(schema.tokens)
      .where(and(eq(schema.tokens.userId, user.id), eq(schema.tokens.oauthClientId, client.id), or(isNull(schema.tokens.expiresAt), gte(schema.tokens.expiresAt, now))));
    const have = new Set(held.flatMap((t) => t.scopes));
    if (!scopes.every((s) => have.has(s))) return { kind: 'consent', client, scopes, serverUrl: target.url };
  }
  const code = newOAuthToken(30);
  await ctx.db.insert(schema.oauthCodes).values({
    codeHash: sha256(code), clientId: client.id, userId: user.id, sessionId: input.sessionId, scopes,
    redirectUri, codeChallenge: params.code_challenge ?? null, expiresAt: now + CODE_TTL_MS,
  });
  return { kind: 'redirect', location: withParams(redirectUri, { code, state: params.state }) };
}
