// POST/PATCH/DELETE /hub/api/users[/:name]: creating, editing and deleting users (spec E.6).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { buildTestApp, testClock } from '../../test/helpers/app.ts';
import { authSuite } from '../../test/helpers/auth-suite.ts';
import { insertServer } from '../../test/helpers/server-rows.ts';
import { schema } from '../../db/client.ts';
import { syncServices } from '../../src/services/services/sync.ts';

type T = Awaited<ReturnType<typeof buildTestApp>>;
const makeAdmin = async (t: T, owner: { id: number }) => { await t.db.update(schema.users).set({ admin: true }).where(eq(schema.users.id, owner.id)); };

describe('users admin auth', () => {
  authSuite({ method: 'POST', path: () => '/hub/api/users', body: { usernames: ['newbie'] }, ok: [201], prepare: makeAdmin, perUser: false });
  authSuite({ method: 'POST', path: () => '/hub/api/users/newbie', ok: [201], prepare: makeAdmin, perUser: false });
  authSuite({ method: 'PATCH', path: (o) => `/hub/api/users/${o}`, body: { admin: true }, ok: [200], prepare: makeAdmin });
  authSuite({ method: 'DELETE', path: () => '/hub/api/users/victim', ok: [204], prepare: async (t, o) => { await makeAdmin(t, o); await t.createUser('victim'); } });
});

async function adminApp() {
  const t = await buildTestApp({ clock: testClock(), config: { services: [{ name: 'ops', api_token: 'ops-token-1234', scopes: ['admin:users'] }] } });
  await syncServices(t.ctx);
  const admin = await t.createUser('admin', { admin: true });
  const token = await t.createToken(admin.id);
  const send = (method: string, path: string, body?: unknown, tok = token) =>
    t.request(path, { method, token: tok, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
  return { t, token, send };
}
async function json(res: Response, status: number) {
  const text = await res.text();
  assert.equal(res.status, status, text);
  return text ? JSON.parse(text) : undefined;
}
const names = (list: { name: string }[]) => list.map((u) => u.name);

describe('POST /hub/api/users', () => {
  test('creates the new names (201, models in request order) and skips existing ones', async () => {
    const { send } = await adminApp();
    const first = await json(await send('POST', '/hub/api/users', { usernames: ['zed', 'amy'] }), 201);
    assert.deepEqual(names(first), ['zed', 'amy']);
    assert.deepEqual(first[0], { kind: 'user', name: 'zed', admin: false, roles: ['user'], groups: [], server: null, pending: null, created: '2026-11-22T01:00:00Z', last_activity: null, auth_state: null, servers: {} });
    assert.deepEqual(names(await json(await send('POST', '/hub/api/users', { usernames: ['zed', 'bo'], admin: true }), 201)), ['bo']);
    const bo = await json(await send('GET', '/hub/api/users/bo'), 200);
    assert.deepEqual([bo.admin, bo.roles], [true, ['admin']]);
  });

  test('409 when every name exists; 400 for no names, invalid names, unknown fields, bad JSON', async () => {
    const { send } = await adminApp();
    assert.deepEqual(await json(await send('POST', '/hub/api/users', { usernames: ['admin'] }), 409), { status: 409, message: 'All 1 users already exist' });
    assert.deepEqual(await json(await send('POST', '/hub/api/users', {}), 400), { status: 400, message: 'Must specify at least one user to create' });
    assert.deepEqual(await json(await send('POST', '/hub/api/users', { usernames: [] }), 400), { status: 400, message: 'Must specify at least one user to create' });
    assert.deepEqual(await json(await send('POST', '/hub/api/users', { usernames: ['ok', 'a b'] }), 400), { status: 400, message: 'Invalid username: a b' });
    assert.equal((await json(await send('POST', '/hub/api/users', { usernames: ['x'], groups: [] }), 400)).status, 400);
    assert.equal((await json(await send('POST', '/hub/api/users', '{"usernames": ['), 400)).status, 400);
    assert.equal((await json(await send('GET', '/hub/api/users/ok'), 404)).status, 404, 'a refused request writes nothing');
  });

  test('only admins grant admin: a service with admin:users gets 403 for admin: true', async () => {
    const { send } = await adminApp();
    assert.equal((await json(await send('POST', '/hub/api/users', { usernames: ['x'], admin: true }, 'ops-token-1234'), 403)).message, 'Only admins can grant admin permissions');
    assert.deepEqual(names(await json(await send('POST', '/hub/api/users', { usernames: ['x'] }, 'ops-token-1234'), 201)), ['x']);
  });
});

describe('POST /hub/api/users/:name', () => {
  test('201 with the model, then 409; body optional; invalid names 400', async () => {
    const { send } = await adminApp();
    const made = await json(await send('POST', '/hub/api/users/carol%40lab'), 201);
    assert.equal(made.name, 'carol@lab');
    assert.deepEqual(await json(await send('POST', '/hub/api/users/carol@lab', { admin: true }), 409), { status: 409, message: 'User carol@lab already exists' });
    assert.equal((await json(await send('POST', '/hub/api/users/dave', { admin: true }), 201)).admin, true);
    assert.deepEqual(await json(await send('POST', '/hub/api/users/a%20b'), 400), { status: 400, message: 'Invalid username: a b' });
    assert.equal((await json(await send('POST', '/hub/api/users/erin', { bogus: 1 }), 400)).status, 400);
  });
});

describe('user names are normalised like logins (JupyterHub normalize_username)', () => {
  test('POST creates "Alice" as "alice", the user who logs in as "Alice"; a rename is lower-cased too', async () => {
    const { t, send } = await adminApp();
    assert.deepEqual(names(await json(await send('POST', '/hub/api/users', { usernames: ['Alice', 'alice'] }), 201)), ['alice']);
    assert.equal((await json(await send('POST', '/hub/api/users/Bob'), 201)).name, 'bob');
    assert.deepEqual(await json(await send('POST', '/hub/api/users/BOB'), 409), { status: 409, message: 'User bob already exists' });
    assert.equal((await json(await send('PATCH', '/hub/api/users/bob', { name: 'Robert' }), 200)).name, 'robert');
    const login = await t.app.request('/hub/login', { method: 'POST', body: new URLSearchParams({ username: 'Alice', password: 'correct horse', _xsrf: 'x'.repeat(32) }), headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `_xsrf=${'x'.repeat(32)}` } });
    assert.equal(login.status, 302, await login.text());
    const rows = await t.db.select({ name: schema.users.name }).from(schema.users);
    assert.equal(rows.filter((r) => r.name.toLowerCase() === 'alice').length, 1, 'logging in as "Alice" found the user the API created');
  });
});

describe('PATCH /hub/api/users/:name', () => {
  test('renames and sets admin; 200 with the new model', async () => {
    const { t, send } = await adminApp();
    await t.createUser('old');
    const body = await json(await send('PATCH', '/hub/api/users/old', { name: 'new', admin: true }), 200);
    assert.deepEqual([body.name, body.admin], ['new', true]);
    assert.equal((await send('GET', '/hub/api/users/old')).status, 404);
  });

  test('400 for a taken name, an invalid name, unknown fields, an empty body; 404 for no such user', async () => {
    const { t, send } = await adminApp();
    await t.createUser('u1');
    assert.deepEqual(await json(await send('PATCH', '/hub/api/users/u1', { name: 'admin' }), 400), { status: 400, message: 'User admin already exists, username must be unique' });
    assert.equal((await json(await send('PATCH', '/hub/api/users/u1', { name: 'a/b' }), 400)).message, 'Invalid username: a/b');
    assert.equal((await json(await send('PATCH', '/hub/api/users/u1', { admin: 'yes' }), 400)).status, 400);
    assert.equal((await json(await send('PATCH', '/hub/api/users/u1', { roles: [] }), 400)).status, 400);
    assert.equal((await json(await send('PATCH', '/hub/api/users/u1'), 400)).status, 400);
    assert.equal((await json(await send('PATCH', '/hub/api/users/nobody', { admin: true }), 404)).status, 404);
  });

  test('a rename is refused while a server is active', async () => {
    const { t, send } = await adminApp();
    const u = await t.createUser('busy');
    await insertServer(t.db, u.id, 'running');
    assert.equal((await json(await send('PATCH', '/hub/api/users/busy', { name: 'idle' }), 400)).status, 400);
    assert.equal((await json(await send('PATCH', '/hub/api/users/busy', { admin: true }), 200)).admin, true);
  });

  test('non-admin holders of admin:users cannot touch admins or grant admin', async () => {
    const { t, send } = await adminApp();
    await t.createUser('plain');
    assert.equal((await json(await send('PATCH', '/hub/api/users/admin', { name: 'boss' }, 'ops-token-1234'), 403)).message, 'Only admins can modify other admins');
    assert.equal((await json(await send('PATCH', '/hub/api/users/plain', { admin: true }, 'ops-token-1234'), 403)).message, 'Only admins can grant admin permissions');
    assert.equal((await json(await send('PATCH', '/hub/api/users/plain', { name: 'plainer' }, 'ops-token-1234'), 200)).name, 'plainer');
  });
});

describe('DELETE /hub/api/users/:name', () => {
  test('204, then the user, its servers and tokens are gone', async () => {
    const { t, send } = await adminApp();
    const u = await t.createUser('gone');
    await insertServer(t.db, u.id, 'stopped');
    const token = await t.createToken(u.id);
    assert.equal((await send('DELETE', '/hub/api/users/gone')).status, 204);
    assert.equal((await send('GET', '/hub/api/users/gone')).status, 404);
    assert.equal((await t.request('/hub/api/user', { token })).status, 403);
    assert.equal((await t.db.select().from(schema.servers)).length, 0);
    const audit = await t.db.select().from(schema.audit).where(eq(schema.audit.action, 'user.delete'));
    assert.deepEqual(audit.map((a) => [a.actor, a.target]), [['user:admin', 'gone']]);
  });

  test('a running server is stopped first (backend server gone), then the user is deleted', async () => {
    const { t, token, send } = await adminApp();
    await t.createUser('spinner');
    assert.equal((await t.request('/hub/api/users/spinner/server', { method: 'POST', token })).status, 201);
    assert.equal((await t.backend.list()).filter((s) => s.running).length, 1);
    assert.equal((await send('DELETE', '/hub/api/users/spinner')).status, 204);
    assert.equal((await t.backend.list()).filter((s) => s.running).length, 0);
    assert.equal((await send('GET', '/hub/api/users/spinner')).status, 404);
    assert.equal((await t.db.select().from(schema.servers)).length, 0);
  });

  test('a queued spawn is cancelled, then the user is deleted', async () => {
    const { t, send } = await adminApp();
    const u = await t.createUser('waiting');
    await insertServer(t.db, u.id, 'queued');
    assert.equal((await send('DELETE', '/hub/api/users/waiting')).status, 204);
    assert.equal((await send('GET', '/hub/api/users/waiting')).status, 404);
  });

  test('400 while a server is stopping; 400 for yourself; 404 for nobody', async () => {
    const { t, send } = await adminApp();
    const u = await t.createUser('halting');
    await insertServer(t.db, u.id, 'stopping');
    assert.deepEqual(await json(await send('DELETE', '/hub/api/users/halting'), 400), { status: 400, message: "halting's server is in the process of stopping, please wait." });
    assert.deepEqual(await json(await send('DELETE', '/hub/api/users/admin'), 400), { status: 400, message: 'Cannot delete yourself!' });
    assert.equal((await json(await send('DELETE', '/hub/api/users/nobody'), 404)).status, 404);
  });
});
