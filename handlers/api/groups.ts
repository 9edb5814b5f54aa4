// JupyterHub's groups API: /groups (list, create several), /groups/:name (read, create, delete),
// /groups/:name/users (add, remove) and /groups/:name/properties, with JupyterHub's scopes and
// answers (409 on an existing group, 400 "No such user", 404 "No such group").
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../env.ts';
import { actorOf, jsonBody, requireScope } from '../lib.ts';
import { forbidden, invalid, notFound } from '../../src/errors.ts';
import { groupModel } from '../../src/models/group.ts';
import { findGroup, listGroups, memberNames } from '../../src/services/groups/read.ts';
import { createGroups } from '../../src/services/groups/create.ts';
import { deleteGroup } from '../../src/services/groups/delete.ts';
import { changeGroupUsers } from '../../src/services/groups/change-users.ts';
import { setGroupProperties } from '../../src/services/groups/set-properties.ts';
import { pageBody, pageOf } from './pagination.ts';

export const groupsApi = new Hono<AppEnv>();
type C = Context<AppEnv>;

const names = z.array(z.string());
const createManyBody = z.object({ groups: names.min(1, 'Must specify at least one group to create'), users: names.default([]), roles: z.array(z.string()).optional() }).strict();
const createOneBody = z.object({ users: names.default([]), roles: z.array(z.string()).optional() }).strict();
const usersBody = z.object({ users: names }).strict();
const propertiesBody = z.record(z.string(), z.unknown());

async function groupOr404(c: C, name: string) {
  const g = await findGroup(c.get('ctx'), name);
  if (!g) throw notFound(`No such group: ${name}`);
  return g;
}

async function modelOf(c: C, name: string) {
  const id = c.get('identity')!;
  const g = await groupOr404(c, name);
  return groupModel(g, (await memberNames(c.get('ctx'), [g.id])).get(g.id) ?? [], id.scopes);
}

groupsApi.get('/groups', async (c) => {
  const id = requireScope(c, 'list:groups');
  const g = id.scopes.get('list:groups')!;
  // the only filter that narrows list:groups is !group=; any other would widen to nothing
  if (!g.all && (g.user.size || g.server.size || g.service.size) && !g.group.size) throw forbidden('list:groups can only be filtered by group');
  const page = pageOf(c);
  const { groups, total } = await listGroups(c.get('ctx'), { names: g.all ? undefined : [...g.group], offset: page.offset, limit: page.limit });
  const members = await memberNames(c.get('ctx'), groups.map((x) => x.id));
  const items = groups.map((x) => groupModel(x, members.get(x.id) ?? [], id.scopes));
  return c.json(pageBody(c, page, items, total));
});

groupsApi.post('/groups', async (c) => {
  const id = requireScope(c, 'admin:groups');
  const body = await jsonBody(c, createManyBody, { optional: true });
  if (!body) throw invalid('Must specify at least one group to create');
  if (body.roles?.length) throw invalid('Group roles are not supported yet');
  const rows = await createGroups({ ctx: c.get('ctx'), input: { names: body.groups, users: body.users, actor: actorOf(id) } });
  const members = await memberNames(c.get('ctx'), rows.map((r) => r.id));
  return c.json(rows.map((r) => groupModel(r, members.get(r.id) ?? [], id.scopes)), 201);
});

groupsApi.get('/groups/:name', async (c) => {
  const name = c.req.param('name');
  requireScope(c, ['read:groups', 'read:groups:name', 'read:roles:groups'], { group: name });
  return c.json(await modelOf(c, name));
});

groupsApi.post('/groups/:name', async (c) => {
  const name = c.req.param('name');
  const id = requireScope(c, 'admin:groups', { group: name });
  const body = (await jsonBody(c, createOneBody, { optional: true })) ?? { users: [] };
  if (body.roles?.length) throw invalid('Group roles are not supported yet');
  await createGroups({ ctx: c.get('ctx'), input: { names: [name], users: body.users, actor: actorOf(id) } });
  return c.json(await modelOf(c, name), 201);
});

groupsApi.delete('/groups/:name', async (c) => {
  const name = c.req.param('name');
  const id = requireScope(c, 'delete:groups', { group: name });
  await deleteGroup({ ctx: c.get('ctx'), input: { group: await groupOr404(c, name), actor: actorOf(id) } });
  return c.body(null, 204);
});

for (const [method, op] of [['post', 'add'], ['delete', 'remove']] as const) {
  groupsApi[method]('/groups/:name/users', async (c) => {
    const name = c.req.param('name');
    const id = requireScope(c, 'groups', { group: name });
    const group = await groupOr404(c, name);
    const body = await jsonBody(c, usersBody);
    await changeGroupUsers({ ctx: c.get('ctx'), input: { group, users: body!.users, op, actor: actorOf(id) } });
    return c.json(await modelOf(c, name));
  });
}

groupsApi.put('/groups/:name/properties', async (c) => {
  const name = c.req.param('name');
  const id = requireScope(c, 'groups', { group: name });
  const group = await groupOr404(c, name);
  const properties = await jsonBody(c, propertiesBody);
  await setGroupProperties({ ctx: c.get('ctx'), input: { group, properties: properties!, actor: actorOf(id) } });
  return c.json(await modelOf(c, name));
});
