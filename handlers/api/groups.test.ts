// JupyterHub's groups API: scopes, JupyterHub's answers, membership kept in users.group_names.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { buildTestApp } from '../../test/helpers/app.ts';
import { authSuite } from '../../test/helpers/auth-suite.ts';
import { schema } from '../../db/client.ts';

type T = Awaited<ReturnType<typeof buildTestApp>>;
const makeAdmin = async (t: T, owner: { id: number }) => { await t.db.update(schema.users).set({ admin: true }).where(eq(schema.users.id, owner.id)); };
const withGroup = async (t: T, owner: { id: number }) => {
  await makeAdmin(t, owner);
  await t.db.insert(schema.groups).values({ name: 'staff', createdAt: 0 }).onConflictDoNothing();
};

describe('groups API auth', () => {
  authSuite({ method: 'GET', path: () => '/hub/api/groups', ok: [200], prepare: makeAdmin, perUser: false });
  authSuite({ method: 'POST', path: () => '/hub/api/groups', body: { groups: ['new'] }, ok: [201], prepare: makeAdmin, perUser: false });
  authSuite({ method: 'GET', path: () => '/hub/api/groups/staff', ok: [200], prepare: withGroup, perUser: false });
  authSuite({ method: 'POST', path: () => '/hub/api/groups/fresh', ok: [201], prepare: makeAdmin, perUser: false });
  authSuite({ method: 'DELETE', path: () => '/hub/api/groups/staff', ok: [204], prepare: withGroup, perUser: false });
  authSuite({ method: 'POST', path: () => '/hub/api/groups/staff/users', body: { users: ['other'] }, ok: [200], prepare: withGroup, perUser: false });
  authSuite({ method: 'DELETE', path: () => '/hub/api/groups/staff/users', body: { users: ['other'] }, ok: [200], prepare: withGroup, perUser: false });
  authSuite({ method: 'PUT', path: () => '/hub/api/groups/staff/properties', body: { a: 1 }, ok: [200], prepare: withGroup, perUser: false });
});

async function app() {
  const t = await buildTestApp();
  const admin = await t.createUser('admin', { admin: true });
  const alice = await t.createUser('alice');
  await t.createUser('bob');
  const token = await t.createToken(admin.id);
  const aliceToken = await t.createToken(alice.id);
  const send = async (method: string, path: string, body?: unknown, tok = token) => {
    const res = await t.request(path, { method, token: tok, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const groupNames = async (name: string) => (await t.db.query.users.findFirst({ where: eq(schema.users.name, name) }))!.groupNames;
  return { t, send, aliceToken, groupNames };
}

describe('groups API', () => {
  test('create several, read, list (paginated), with the model JupyterHub returns', async () => {
    const { send } = await app();
    const created = await send('POST', '/hub/api/groups', { groups: ['staff', 'students'], users: ['alice'] });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body, [
      { kind: 'group', name: 'staff', roles: [], users: ['alice'], properties: {} },
      { kind: 'group', name: 'students', roles: [], users: ['alice'], properties: {} },
    ]);
    assert.deepEqual((await send('GET', '/hub/api/groups/staff')).body, { kind: 'group', name: 'staff', roles: [], users: ['alice'], properties: {} });
    const list = await send('GET', '/hub/api/groups');
    assert.deepEqual(list.body.map((g: { name: string }) => g.name), ['staff', 'students']);
  });
  test('paginated list with the media type', async () => {
    const { t, send } = await app();
    await send('POST', '/hub/api/groups', { groups: ['a', 'b', 'c'] });
    const token = await t.createToken(1);
    const res = await t.request('/hub/api/groups?limit=2', { token, headers: { accept: 'application/jupyterhub-pagination+json' } });
    const body = await res.json() as { items: { name: string }[]; _pagination: { total: number; next: { offset: number } } };
    assert.deepEqual(body.items.map((g) => g.name), ['a', 'b']);
    assert.equal(body._pagination.total, 3);
    assert.equal(body._pagination.next.offset, 2);
  });
  test('409 on an existing group, 400 for unknown users, 404 for unknown groups', async () => {
    const { send } = await app();
    await send('POST', '/hub/api/groups/staff');
    assert.deepEqual(await send('POST', '/hub/api/groups/staff'), { status: 409, body: { status: 409, message: 'Group staff already exists' } });
    assert.deepEqual(await send('POST', '/hub/api/groups', { groups: ['staff'] }), { status: 409, body: { status: 409, message: 'Group staff already exists' } });
    assert.deepEqual(await send('POST', '/hub/api/groups/staff/users', { users: ['nobody'] }), { status: 400, body: { status: 400, message: 'No such user: nobody' } });
    assert.deepEqual(await send('GET', '/hub/api/groups/none'), { status: 404, body: { status: 404, message: 'No such group: none' } });
    assert.equal((await send('POST', '/hub/api/groups', {})).status, 400);
    assert.equal((await send('POST', '/hub/api/groups/%20bad')).status, 400, 'no edge spaces');
    assert.equal((await send('POST', '/hub/api/groups/dept%2Flab')).status, 201, 'GitLab-style paths, %2F in the URL');
    assert.equal((await send('GET', '/hub/api/groups/dept%2Flab')).body.name, 'dept/lab');
    assert.equal((await send('PUT', '/hub/api/groups/staff/properties', [1, 2])).status, 400);
  });
  test('members added and removed; users.group_names and the user model follow', async () => {
    const { send, groupNames } = await app();
    await send('POST', '/hub/api/groups', { groups: ['staff', 'lab'] });
    assert.equal((await send('POST', '/hub/api/groups/staff/users', { users: ['alice', 'Bob'] })).status, 200);
    await send('POST', '/hub/api/groups/lab/users', { users: ['alice'] });
    assert.deepEqual(await groupNames('alice'), ['lab', 'staff']);
    assert.deepEqual((await send('GET', '/hub/api/users/alice')).body.groups, ['lab', 'staff']);
    const removed = await send('DELETE', '/hub/api/groups/staff/users', { users: ['alice'] });
    assert.deepEqual(removed.body.users, ['bob']);
    assert.deepEqual(await groupNames('alice'), ['lab']);
    assert.equal((await send('DELETE', '/hub/api/groups/lab')).status, 204);
    assert.deepEqual(await groupNames('alice'), []);
    assert.equal((await send('GET', '/hub/api/groups/lab')).status, 404);
  });
  test('properties replaced whole', async () => {
    const { send } = await app();
    await send('POST', '/hub/api/groups/staff');
    await send('PUT', '/hub/api/groups/staff/properties', { profile: 'gpu', n: 2 });
    const res = await send('PUT', '/hub/api/groups/staff/properties', { profile: 'cpu' });
    assert.deepEqual(res.body.properties, { profile: 'cpu' });
  });
  test('a plain user may not list, create or change groups; a !group= filter sees only that group', async () => {
    const { t, send, aliceToken } = await app();
    await send('POST', '/hub/api/groups', { groups: ['staff', 'lab'] });
    assert.equal((await send('GET', '/hub/api/groups', undefined, aliceToken)).status, 403);
    assert.equal((await send('POST', '/hub/api/groups/x', undefined, aliceToken)).status, 403);
    assert.equal((await send('POST', '/hub/api/groups/staff/users', { users: ['alice'] }, aliceToken)).status, 403);
    const svc = await t.createToken(1, ['list:groups!group=lab', 'read:groups!group=lab']);
    assert.deepEqual((await send('GET', '/hub/api/groups', undefined, svc)).body.map((g: { name: string }) => g.name), ['lab']);
    assert.equal((await send('GET', '/hub/api/groups/staff', undefined, svc)).status, 404);
    const nameOnly = await t.createToken(1, ['read:groups:name']);
    assert.deepEqual((await send('GET', '/hub/api/groups/lab', undefined, nameOnly)).body, { kind: 'group', name: 'lab' });
  });
  test('the token check reports the groups without another query', async () => {
    const { send, aliceToken } = await app();
    await send('POST', '/hub/api/groups', { groups: ['staff'], users: ['alice'] });
    assert.deepEqual((await send('GET', '/hub/api/user', undefined, aliceToken)).body.groups, ['staff']);
  });
});
