// JupyterHub's user model (spec E.4), keys limited to what the caller's scopes allow on that user.
// Servers for a whole page of users are loaded in one query (loadServers), never one per user.
import { and, inArray } from 'drizzle-orm';
import type { Db } from '../../db/client.ts';
import { schema } from '../../db/client.ts';
import type { ServerRow, UserRow } from '../../db/schema/index.ts';
import { grants, type ScopeSet } from '../auth/scopes.ts';
import { isoZ, isoZMicros } from '../clock.ts';
import { userPrefix } from '../names.ts';
import { serverModel, type ServerModel } from './server.ts';
import { ACTIVE, isActive, isReady, pendingOf } from '../state/server.ts';

/** Which scope exposes which keys (JupyterHub's user_model access map). */
const ACCESS: readonly [string, readonly string[]][] = [
  ['read:users', ['kind', 'name', 'admin', 'roles', 'groups', 'server', 'pending', 'created', 'last_activity']],
  ['read:users:name', ['kind', 'name', 'admin']],
  ['read:users:groups', ['kind', 'name', 'groups']],
  ['read:users:activity', ['kind', 'name', 'last_activity']],
  ['read:servers', ['kind', 'name', 'servers']],
  ['read:roles:users', ['kind', 'name', 'roles', 'admin']],
  ['admin:auth_state', ['kind', 'name', 'auth_state']],
];

export interface UserModelOptions {
  scopes: ScopeSet;
  baseUrl: string;
  /** ?include_stopped_servers: list stopped servers in `servers` too. */
  includeStopped?: boolean;
  /** The decrypted auth state by user id, loaded only when the caller holds admin:auth_state (authStatesFor). */
  authStates?: Map<number, Record<string, unknown>> | undefined;
}

/** The model keys `scopes` allow on user `name`. */
export function allowedUserKeys(scopes: ScopeSet, name: string): Set<string> {
  const keys = new Set<string>();
  for (const [scope, fields] of ACCESS) if (grants(scopes, scope, { user: name })) for (const f of fields) keys.add(f);
  return keys;
}

/** Does building this user's model need their server rows? (Lets the token check skip the query.) */
export function needsServers(scopes: ScopeSet, name: string, keys = allowedUserKeys(scopes, name)): boolean {
  if (keys.has('server') || keys.has('pending') || keys.has('servers')) return true;
  const g = scopes.get('read:servers');
  if (!g) return false;
  for (const s of g.server) if (s.startsWith(`${name}/`)) return true;
  return false;
}

/** Server rows of these users, by user id: active ones only unless `includeStopped`. One query. */
export async function loadServers(db: Db, userIds: number[], includeStopped = false): Promise<Map<number, ServerRow[]>> {
  const out = new Map<number, ServerRow[]>();
  if (userIds.length === 0) return out;
  const s = schema.servers;
  const where = includeStopped ? inArray(s.userId, userIds) : and(inArray(s.userId, userIds), inArray(s.state, [...ACTIVE]));
  const rows = await db.select().from(s).where(where).orderBy(s.userId, s.name);
  for (const r of rows) {
    const list = out.get(r.userId);
    if (list) list.push(r);
    else out.set(r.userId, [r]);
  }
  return out;
}

/** JupyterHub's default roles: admins hold `admin`, everyone else `user`. */
export const rolesOf = (user: Pick<UserRow, 'admin'>) => (user.admin ? ['admin'] : ['user']);

/**
 * The user model as the holder of `scopes` may see it; `{}` when they may see nothing.
 * `servers` are this user's rows (any order; stopped ones are shown only with includeStopped).
 */
export function userModel(user: UserRow, servers: readonly ServerRow[], opts: UserModelOptions, keys = allowedUserKeys(opts.scopes, user.name)): Record<string, unknown> {
  if (keys.size === 0) return {};
  const def = servers.find((s) => s.name === '');
  const full: Record<string, unknown> = {
    kind: 'user',
    name: user.name,
    admin: user.admin,
    roles: rolesOf(user),
    groups: user.groupNames ?? [],
    server: def && isReady(def.state) ? userPrefix(opts.baseUrl, user.name) : null,
    pending: def ? pendingOf(def.state) : null,
    created: isoZ(user.createdAt),
    last_activity: isoZMicros(user.lastActivityUs),
    auth_state: keys.has('auth_state') ? opts.authStates?.get(user.id) ?? null : null,
  };
  const model: Record<string, unknown> = {};
  for (const k of Object.keys(full)) if (keys.has(k)) model[k] = full[k];

  const map: Record<string, ServerModel> = {};
  for (const row of servers) {
    if (!opts.includeStopped && !isActive(row.state)) continue;
    if (!grants(opts.scopes, 'read:servers', { server: `${user.name}/${row.name}` })) continue;
    map[row.name] = serverModel(row, user.name, opts);
  }
  // Absent without server-read access; an empty map with it (spec E.4).
  if (keys.has('servers') || Object.keys(map).length > 0) model.servers = map;
  return model;
}
