// GET /hub/api/user — the token check every single-user server makes for each new browser session
// (spec B.2). Hot path: identity is already resolved by the middleware; the only query here is the
// user's servers, and only when the token may read them. A token's check is usually answered before
// this app, from memory, by user-fast.ts, which builds its answers with tokenCheckAnswer below.
import { Hono } from 'hono';
import type { AppEnv } from '../env.ts';
import type { AppContext } from '../../src/context.ts';
import type { Identity } from '../../src/auth/identity.ts';
import { ServiceError } from '../../src/errors.ts';
import { formatScopes } from '../../src/auth/scopes.ts';
import { allowedUserKeys, loadServers, needsServers, userModel } from '../../src/models/user.ts';

export const userApi = new Hono<AppEnv>();

userApi.get('/user', async (c) => {
  const id = c.get('identity');
  // Missing, invalid or expired: 403 with JupyterHub's body; a single-user server treats it as "no user".
  if (!id) throw new ServiceError('Unauthenticated', 'Forbidden');
  return c.json(await tokenCheckAnswer(c.get('ctx'), id));
});

/** The model `GET /hub/api/user` answers for this caller. */
export async function tokenCheckAnswer(ctx: AppContext, id: Identity): Promise<Record<string, unknown>> {
  const token = id.token;
  const extra = {
    session_id: token?.sessionId ?? null,
    scopes: formatScopes(id.scopes),
    token_id: token ? `a${token.id}` : null,
  };
  if (id.kind === 'service') return { kind: 'service', name: id.name, admin: id.admin, roles: [], ...extra };
  const user = id.user!;
  // Every token may identify its owner here: read:users:name and read:users:groups are implied.
  const keys = allowedUserKeys(id.scopes, user.name);
  for (const k of ['kind', 'name', 'admin', 'groups']) keys.add(k);
  const servers = needsServers(id.scopes, user.name, keys) ? (await loadServers(ctx.db, [user.id])).get(user.id) ?? [] : [];
  const model = userModel(user, servers, { scopes: id.scopes, baseUrl: ctx.config.hub.base_url }, keys);
  return { ...model, ...extra };
}
