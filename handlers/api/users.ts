// /hub/api/users: list (plain or paginated, state filters), get, create, rename/admin, delete
// (spec D.1, E.4, E.6). Path names arrive percent-decoded, so `a%40b` and `a@b` are the same user.
import { authStatesFor } from '../../src/services/users/auth-states.ts';
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../env.ts';
import { forbidden, invalid } from '../../src/errors.ts';
import { actorOf, findUser, jsonBody, requireScope } from '../lib.ts';
import { pageBody, pageOf } from './pagination.ts';
import { loadServers, needsServers, userModel } from '../../src/models/user.ts';
import { listUsers, type UserSort, type UserStateFilter } from '../../src/services/users/list.ts';
import { createUsers } from '../../src/services/users/create.ts';
import { updateUser } from '../../src/services/users/update.ts';
import { deleteUser } from '../../src/services/users/delete.ts';
import type { Identity } from '../../src/auth/identity.ts';
import type { UserRow } from '../../db/schema/index.ts';

export const usersApi = new Hono<AppEnv>();

const READ_USER = ['read:users', 'read:users:name', 'read:servers', 'read:users:groups', 'read:users:activity', 'read:roles:users'];
const createManyBody = z.object({ usernames: z.array(z.string()).optional(), admin: z.boolean().optional() }).strict();
const createOneBody = z.object({ admin: z.boolean().optional() }).strict();
const patchBody = z.object({ name: z.string().optional(), admin: z.boolean().optional() }).strict();

type C = Context<AppEnv>;
const includeStopped = (c: C) => !['0', 'false'].includes((c.req.query('include_stopped_servers') ?? '0').toLowerCase());

/** The model of one user as the caller may see it (one servers query, only when needed). */
async function modelFor(c: C, id: Identity, user: UserRow) {
  const ctx = c.get('ctx');
  const stopped = includeStopped(c);
  const servers = needsServers(id.scopes, user.name) ? (await loadServers(ctx.db, [user.id], stopped)).get(user.id) ?? [] : [];
  const authStates = await authStatesFor(ctx, id.scopes, [user]);
  return userModel(user, servers, { scopes: id.scopes, baseUrl: ctx.config.hub.base_url, includeStopped: stopped, authStates });
}

usersApi.get('/users', async (c) => {
  const id = requireScope(c, 'list:users');
  const ctx = c.get('ctx');
  // A filtered list:users narrows the listing to those users (groups: Berth has none yet).
  const g = id.scopes.get('list:users')!;
  if (!g.all && (g.server.size || g.service.size)) throw forbidden('Forbidden');
  const names = g.all ? undefined : [...g.user];
  const state = c.req.query('state') || undefined;
  if (state !== undefined && !['active', 'ready', 'inactive'].includes(state)) throw invalid(`Unrecognized state filter: '${state}'`);
  const sortParam = c.req.query('sort') ?? 'id';
  const sort = sortParam.replace(/^-/, '');
  if (!['id', 'name', 'last_activity'].includes(sort)) throw invalid(`sort must be 'id', 'name', or 'last_activity', not '${sortParam}'`);
  const page = pageOf(c);
  const { users, total } = await listUsers({
    ctx,
    input: { state: state as UserStateFilter | undefined, names, nameFilter: c.req.query('name_filter') || undefined, sort: sort as UserSort, descending: sortParam.startsWith('-'), offset: page.offset, limit: page.limit },
  });
  const stopped = includeStopped(c);
  const servers = await loadServers(ctx.db, users.map((u) => u.id), stopped);
  const authStates = await authStatesFor(ctx, id.scopes, users);
  const opts = { scopes: id.scopes, baseUrl: ctx.config.hub.base_url, includeStopped: stopped, authStates };
  const items = users.map((u) => userModel(u, servers.get(u.id) ?? [], opts)).filter((m) => Object.keys(m).length > 0);
  return c.json(pageBody(c, page, items, total));
});

usersApi.post('/users', async (c) => {
  const id = requireScope(c, 'admin:users');
  if (!id.scopes.get('admin:users')!.all) throw forbidden('Creating users requires admin:users on all users');
  const body = await jsonBody(c, createManyBody, { optional: true });
  if (!body?.usernames?.length) throw invalid('Must specify at least one user to create');
  if (body.admin && !id.admin) throw forbidden('Only admins can grant admin permissions');
  const rows = await createUsers({ ctx: c.get('ctx'), input: { names: body.usernames, admin: body.admin, actor: actorOf(id) } });
  const baseUrl = c.get('ctx').config.hub.base_url;
  return c.json(rows.map((u) => userModel(u, [], { scopes: id.scopes, baseUrl })), 201);
});

usersApi.get('/users/:name', async (c) => {
  const name = c.req.param('name');
  const id = requireScope(c, READ_USER, { user: name });
  return c.json(await modelFor(c, id, await findUser(c, name)));
});

usersApi.post('/users/:name', async (c) => {
  const name = c.req.param('name');
  const id = requireScope(c, 'admin:users', { user: name });
  const body = await jsonBody(c, createOneBody, { optional: true });
  if (body?.admin && !id.admin) throw forbidden('Only admins can grant admin permissions');
  const [row] = await createUsers({ ctx: c.get('ctx'), input: { names: [name], admin: body?.admin, single: true, actor: actorOf(id) } });
  return c.json(userModel(row!, [], { scopes: id.scopes, baseUrl: c.get('ctx').config.hub.base_url }), 201);
});

usersApi.patch('/users/:name', async (c) => {
  const name = c.req.param('name');
  const id = requireScope(c, 'admin:users', { user: name });
  const user = await findUser(c, name);
  const body = (await jsonBody(c, patchBody))!;
  const row = await updateUser({ ctx: c.get('ctx'), input: { user, name: body.name, admin: body.admin, callerAdmin: id.admin, actor: actorOf(id) } });
  return c.json(await modelFor(c, id, row));
});

usersApi.delete('/users/:name', async (c) => {
  const name = c.req.param('name');
  const id = requireScope(c, 'delete:users', { user: name });
  const user = await findUser(c, name);
  await deleteUser({ ctx: c.get('ctx'), input: { user, callerName: id.kind === 'user' ? id.name : undefined, actor: actorOf(id) } });
  return c.body(null, 204);
});
