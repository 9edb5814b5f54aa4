// POST/DELETE /hub/api/users/:name/server[s/:server] with the fake backend (spec E.1, E.2, H33, H34).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { and, eq } from 'drizzle-orm';
import { buildTestApp } from '../../test/helpers/app.ts';
import { authSuite } from '../../test/helpers/auth-suite.ts';
import { schema } from '../../db/client.ts';
import type { FakeBackend } from '../../src/backends/fake/index.ts';
import { findToken } from '../../src/auth/identity.ts';
import { waitForServer } from '../../src/services/servers/wait.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { until } from '../../test/helpers/until.ts';

type T = Awaited<ReturnType<typeof buildTestApp>>;
const fake = (t: T) => t.backend as FakeBackend;

const named = { hub: { allow_named_servers: true } } satisfies ConfigInput;
const enableNamed = async (t: T) => { t.ctx.config = { ...t.ctx.config, hub: { ...t.ctx.config.hub, allow_named_servers: true } }; };

async function setup(config: ConfigInput = {}) {
  const t = await buildTestApp({ config });
  const alice = await t.createUser('alice');
  const token = await t.createToken(alice.id);
  return { t, alice, token };
}

const serverRow = (t: T, userId: number, name = '') =>
  t.db.query.servers.findFirst({ where: and(eq(schema.servers.userId, userId), eq(schema.servers.name, name)) });

async function expectError(res: Response, status: number, message: string | RegExp) {
  assert.equal(res.status, status);
  const body = (await res.json()) as { status: number; message: string };
  assert.equal(body.status, status);
  if (typeof message === 'string') assert.equal(body.message, message);
  else assert.match(body.message, message);
}

async function expectEmpty(res: Response, status: number) {
  assert.equal(res.status, status);
  assert.equal(await res.text(), '');
  if (status !== 204) assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
}

describe('POST /users/:name/server', () => {
  test('201 with an empty text/plain body when ready within slow_spawn_timeout; the row is running', async () => {
    const { t, alice, token } = await setup();
    await expectEmpty(await t.request('/hub/api/users/alice/server', { method: 'POST', token }), 201);
    const row = await serverRow(t, alice.id);
    assert.equal(row?.state, 'running');
    assert.match(row!.url!, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(row!.image, 'fake');
    assert.ok(row!.readyAt && row!.startedAt && row!.configHash);
  });

  test('202 when slower than slow_spawn_timeout; a second POST while pending → 202; it then becomes ready', async () => {
    const { t, alice, token } = await setup({ hub: { slow_spawn_timeout: 0.05 }, spawner: { image: 'fake:slow', environment: { FAKE_SLOW_MS: '1500' } } });
    await expectEmpty(await t.request('/hub/api/users/alice/server', { method: 'POST', token }), 202);
    await expectEmpty(await t.request('/hub/api/users/alice/server', { method: 'POST', token }), 202);
    const row = await waitForServer(t.ctx, (await serverRow(t, alice.id))!.id, 20_000);
    assert.equal(row.state, 'running');
    assert.equal(row.spawnSeq, 1, 'the second POST was a no-op');
    assert.equal(fake(t).calls.filter((c) => c.op === 'start').length, 1);
  });

  test('400 "<name> is already running" while running', async () => {
    const { t, token } = await setup();
    assert.equal((await t.request('/hub/api/users/alice/server', { method: 'POST', token })).status, 201);
    await expectError(await t.request('/hub/api/users/alice/server', { method: 'POST', token }), 400, 'alice is already running');
  });

  test('a running server that died unnoticed is spawned again instead of refused', async () => {
    const { t, alice, token } = await setup();
    assert.equal((await t.request('/hub/api/users/alice/server', { method: 'POST', token })).status, 201);
    const before = (await serverRow(t, alice.id))!;
    await fake(t).crash(before.backendRef!);
    await expectEmpty(await t.request('/hub/api/users/alice/server', { method: 'POST', token }), 201);
    const after = (await serverRow(t, alice.id))!;
    assert.equal(after.state, 'running');
    assert.equal(after.spawnSeq, 2);
  });

  test('400 "<name> is pending stop" while stopping', async () => {
    const { t, alice, token } = await setup();
    await t.createUser('bob');
    await t.db.insert(schema.servers).values({ userId: alice.id, name: '', state: 'stopping' });
    await expectError(await t.request('/hub/api/users/alice/server', { method: 'POST', token }), 400, 'alice is pending stop');
  });

  test('500 with the failure message when the spawn fails inside the wait window', async () => {
    const { t, alice, token } = await setup({ spawner: { image: 'fake:fail' } });
    await expectError(await t.request('/hub/api/users/alice/server', { method: 'POST', token }), 500, 'Server exited during start-up (exit code 3)');
    const row = (await serverRow(t, alice.id))!;
    assert.equal(row.state, 'failed');
    assert.deepEqual(row.failure, { reason: 'exited', message: 'Server exited during start-up (exit code 3)', logTail: 'fake: failing on purpose\n' });
    // a failed server may be started again
    t.ctx.config = { ...t.ctx.config, spawner: { ...t.ctx.config.spawner, image: 'fake' } };
    await expectEmpty(await t.request('/hub/api/users/alice/server', { method: 'POST', token }), 201);
  });

  test('404 for an unknown user (admin caller)', async () => {
    const { t } = await setup();
    const admin = await t.createUser('root', { admin: true });
    const token = await t.createToken(admin.id);
    await expectError(await t.request('/hub/api/users/nobody/server', { method: 'POST', token }), 404, /nobody/);
  });

  test('400 for a body that is not a JSON object', async () => {
    const { t, token } = await setup();
    const res = await t.request('/hub/api/users/alice/server', { method: 'POST', token, body: '[1,2]', headers: { 'content-type': 'application/json' } });
    await expectError(res, 400, /Invalid request body/);
    const bad = await t.request('/hub/api/users/alice/server', { method: 'POST', token, body: '{nope', headers: { 'content-type': 'application/json' } });
    await expectError(bad, 400, 'Request body must be JSON');
  });

  test('user_options: a JSON body is stored; an empty body reuses it; {} stores empty options', async () => {
    const { t, alice, token } = await setup();
    const post = (body?: string) => t.request('/hub/api/users/alice/server', { method: 'POST', token, ...(body !== undefined ? { body, headers: { 'content-type': 'application/json' } } : {}) });
    const del = () => t.request('/hub/api/users/alice/server', { method: 'DELETE', token });
    assert.equal((await post(JSON.stringify({ profile: 'gpu', cpus: 2 }))).status, 201);
    assert.deepEqual((await serverRow(t, alice.id))!.userOptions, { profile: 'gpu', cpus: 2 });
    assert.equal((await del()).status, 204);
    assert.equal((await post()).status, 201);
    assert.deepEqual((await serverRow(t, alice.id))!.userOptions, { profile: 'gpu', cpus: 2 });
    assert.equal((await del()).status, 204);
    assert.equal((await post('{}')).status, 201);
    assert.deepEqual((await serverRow(t, alice.id))!.userOptions, {});
  });

  test('the server token and OAuth client exist while running, as spec F says', async () => {
    const { t, alice, token } = await setup();
    assert.equal((await t.request('/hub/api/users/alice/server', { method: 'POST', token })).status, 201);
    const row = (await serverRow(t, alice.id))!;
    const tok = await t.db.query.tokens.findFirst({ where: and(eq(schema.tokens.serverId, row.id), eq(schema.tokens.kind, 'server')) });
    assert.ok(tok);
    assert.deepEqual(tok.scopes, ['access:servers!server=alice/', 'users:activity!user=alice']);
    assert.equal(tok.note, 'Server at /user/alice/');
    assert.match(tok.hashed, /^sha512:1:[0-9a-f]{16}:[0-9a-f]{128}$/);
    const client = await t.db.query.oauthClients.findFirst({ where: eq(schema.oauthClients.id, 'jupyterhub-user-alice') });
    assert.ok(client);
    assert.equal(client.serverId, row.id);
    assert.equal(client.redirectUri, '/user/alice/oauth_callback');
    assert.equal(client.description, 'Server at /user/alice/');
    assert.deepEqual(client.allowedScopes, ['access:servers!server=alice/']);
    assert.match(client.secretHash, /^sha512:16384:/);
    // the clear token went only into the server's environment, and it resolves there
    const spawned = [...fake(t).servers.values()][0]!;
    const found = await findToken(t.ctx, spawned.spec.env.JUPYTERHUB_API_TOKEN!);
    assert.equal(found?.id, tok.id);
  });
});

describe('named servers', () => {
  test('named servers are on by default, at most 5 per user besides the default one (JupyterHub\'s message)', async () => {
    const { t, token } = await setup();
    for (let i = 1; i <= 5; i++) assert.equal((await t.request(`/hub/api/users/alice/servers/s${i}`, { method: 'POST', token })).status, 201);
    await expectError(await t.request('/hub/api/users/alice/servers/s6', { method: 'POST', token }), 400, 'User alice already has the maximum of 5 named servers.  One must be deleted before a new server can be created');
    // deleting one (remove: true) makes room
    assert.equal((await t.request('/hub/api/users/alice/servers/s1', { method: 'DELETE', token, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ remove: true }) })).status < 300, true);
    await until('s1 removed', async () => !(await serverRow(t, (await t.db.query.users.findFirst())!.id, 's1')));
    assert.equal((await t.request('/hub/api/users/alice/servers/s6', { method: 'POST', token })).status, 201);
  });

  test('400 "Named servers are not enabled." for POST and DELETE when disabled', async () => {
    const { t, token } = await setup({ hub: { allow_named_servers: false } });
    await expectError(await t.request('/hub/api/users/alice/servers/srv1', { method: 'POST', token }), 400, 'Named servers are not enabled.');
    await expectError(await t.request('/hub/api/users/alice/servers/srv1', { method: 'DELETE', token }), 400, 'Named servers are not enabled.');
  });

  test('201 for a named server; "<name>:<server> is already running"; client id and prefix are per server', async () => {
    const { t, alice, token } = await setup(named);
    await expectEmpty(await t.request('/hub/api/users/alice/servers/srv1', { method: 'POST', token }), 201);
    await expectError(await t.request('/hub/api/users/alice/servers/srv1', { method: 'POST', token }), 400, 'alice:srv1 is already running');
    const row = (await serverRow(t, alice.id, 'srv1'))!;
    assert.equal(row.state, 'running');
    const client = await t.db.query.oauthClients.findFirst({ where: eq(schema.oauthClients.serverId, row.id) });
    assert.equal(client?.id, 'jupyterhub-user-alice-srv1');
    assert.equal(client?.redirectUri, '/user/alice/srv1/oauth_callback');
  });

  test('named_server_limit_per_user: 400 once the limit is reached', async () => {
    const { t, token } = await setup({ hub: { allow_named_servers: true, named_server_limit_per_user: 1 } });
    assert.equal((await t.request('/hub/api/users/alice/servers/one', { method: 'POST', token })).status, 201);
    await expectError(await t.request('/hub/api/users/alice/servers/two', { method: 'POST', token }), 400, /already has the maximum of 1 named servers/);
    // the default server does not count
    assert.equal((await t.request('/hub/api/users/alice/server', { method: 'POST', token })).status, 201);
  });

  test('a server name with a slash or whitespace → 400', async () => {
    const { t, token } = await setup(named);
    await expectError(await t.request('/hub/api/users/alice/servers/a%2Fb', { method: 'POST', token }), 400, /Invalid server_name/);
    await expectError(await t.request('/hub/api/users/alice/servers/a%20b', { method: 'POST', token }), 400, /Invalid server_name/);
  });

  test('DELETE unknown named server → 404; remove:true deletes the row after the stop', async () => {
    const { t, alice, token } = await setup(named);
    await expectError(await t.request('/hub/api/users/alice/servers/nope', { method: 'DELETE', token }), 404, /nope/);
    assert.equal((await t.request('/hub/api/users/alice/servers/srv1', { method: 'POST', token })).status, 201);
    const res = await t.request('/hub/api/users/alice/servers/srv1', { method: 'DELETE', token, body: JSON.stringify({ remove: true }), headers: { 'content-type': 'application/json' } });
    await expectEmpty(res, 204);
    assert.equal(await serverRow(t, alice.id, 'srv1'), undefined);
    // a stopped named server can be removed too
    assert.equal((await t.request('/hub/api/users/alice/servers/srv2', { method: 'POST', token })).status, 201);
    assert.equal((await t.request('/hub/api/users/alice/servers/srv2', { method: 'DELETE', token })).status, 204);
    assert.equal((await serverRow(t, alice.id, 'srv2'))?.state, 'stopped');
    const again = await t.request('/hub/api/users/alice/servers/srv2', { method: 'DELETE', token, body: '{"remove": true}', headers: { 'content-type': 'application/json' } });
    await expectEmpty(again, 204);
    assert.equal(await serverRow(t, alice.id, 'srv2'), undefined);
  });
});

describe('DELETE /users/:name/server', () => {
  test('204 when stopped in time: row stopped, started cleared, route version bumped, backend stopped', async () => {
    const { t, alice, token } = await setup();
    assert.equal((await t.request('/hub/api/users/alice/server', { method: 'POST', token })).status, 201);
    const { routesVersion } = await import('../../src/state/routes.ts');
    const v = await routesVersion(t.db);
    await expectEmpty(await t.request('/hub/api/users/alice/server', { method: 'DELETE', token }), 204);
    const row = (await serverRow(t, alice.id))!;
    assert.equal(row.state, 'stopped');
    assert.equal(row.startedAt, null);
    assert.ok(row.stoppedAt);
    assert.ok((await routesVersion(t.db)) > v);
    assert.equal(fake(t).servers.size, 0);
  });

  test('after a stop the server token no longer resolves and the OAuth client is gone', async () => {
    const { t, alice, token } = await setup();
    assert.equal((await t.request('/hub/api/users/alice/server', { method: 'POST', token })).status, 201);
    const spawned = [...fake(t).servers.values()][0]!;
    const serverToken = spawned.spec.env.JUPYTERHUB_API_TOKEN!;
    assert.ok(await findToken(t.ctx, serverToken));
    assert.equal((await t.request('/hub/api/users/alice/server', { method: 'DELETE', token })).status, 204);
    assert.equal(await findToken(t.ctx, serverToken), undefined);
    const res = await t.request('/hub/api/user', { token: serverToken });
    assert.equal(res.status, 403);
    const row = (await serverRow(t, alice.id))!;
    assert.equal(await t.db.query.oauthClients.findFirst({ where: eq(schema.oauthClients.serverId, row.id) }), undefined);
    assert.equal(await t.db.query.oauthClients.findFirst({ where: eq(schema.oauthClients.id, 'jupyterhub-user-alice') }), undefined);
  });

  test('204 when not running, even with no server row (idempotent)', async () => {
    const { t, token } = await setup();
    await expectEmpty(await t.request('/hub/api/users/alice/server', { method: 'DELETE', token }), 204);
    await expectEmpty(await t.request('/hub/api/users/alice/server', { method: 'DELETE', token }), 204);
  });

  test('remove on the default server → 400', async () => {
    const { t, token } = await setup();
    const res = await t.request('/hub/api/users/alice/server', { method: 'DELETE', token, body: '{"remove": true}', headers: { 'content-type': 'application/json' } });
    await expectError(res, 400, 'Cannot delete the default server');
  });

  test('202 while already stopping', async () => {
    const { t, alice, token } = await setup({ hub: { slow_stop_timeout: 0.05 } });
    await t.db.insert(schema.servers).values({ userId: alice.id, name: '', state: 'stopping' });
    await expectEmpty(await t.request('/hub/api/users/alice/server', { method: 'DELETE', token }), 202);
  });

  test('a stop during a slow spawn cancels it (JupyterHub 5): 204, stopped, credentials gone, nothing left running', async () => {
    const { t, alice, token } = await setup({ hub: { slow_spawn_timeout: 0.05 }, spawner: { image: 'fake:slow', environment: { FAKE_SLOW_MS: '30000' } } });
    await expectEmpty(await t.request('/hub/api/users/alice/server', { method: 'POST', token }), 202);
    const id = (await serverRow(t, alice.id))!.id;
    // wait until the runner is inside backend.start()
    while (!fake(t).calls.some((c) => c.op === 'start')) await new Promise((r) => setTimeout(r, 10));
    await expectEmpty(await t.request('/hub/api/users/alice/server', { method: 'DELETE', token }), 204);
    const row = (await t.db.query.servers.findFirst({ where: eq(schema.servers.id, id) }))!;
    assert.equal(row.state, 'stopped');
    assert.deepEqual(row.failure, { reason: 'cancelled', message: 'Spawn cancelled' });
    assert.equal(fake(t).servers.size, 0);
    assert.equal(await t.db.query.tokens.findFirst({ where: eq(schema.tokens.serverId, id) }), undefined);
    assert.equal(await t.db.query.oauthClients.findFirst({ where: eq(schema.oauthClients.serverId, id) }), undefined);
    const events = await t.db.select().from(schema.serverEvents).where(eq(schema.serverEvents.serverId, id));
    assert.deepEqual(events.at(-1) && { progress: events.at(-1)!.progress, failed: events.at(-1)!.failed, message: events.at(-1)!.message }, { progress: 100, failed: true, message: 'Spawn cancelled' });
  });
});

describe('auth', () => {
  authSuite({ method: 'POST', path: (o) => `/hub/api/users/${o}/server`, ok: [201, 202] });
  authSuite({ method: 'POST', path: (o) => `/hub/api/users/${o}/servers/srv1`, ok: [201, 202], prepare: enableNamed });
  authSuite({ method: 'DELETE', path: (o) => `/hub/api/users/${o}/server`, ok: [204] });
  authSuite({ method: 'DELETE', path: (o) => `/hub/api/users/${o}/servers/srv1`, ok: [204], prepare: async (t, owner) => {
    await enableNamed(t);
    await t.db.insert(schema.servers).values({ userId: owner.id, name: 'srv1', state: 'stopped' });
  } });

  test('a token without the servers scope → 403 for POST; read:servers alone cannot DELETE', async () => {
    const { t, alice } = await setup();
    const readOnly = await t.createToken(alice.id, ['read:servers!user']);
    await expectError(await t.request('/hub/api/users/alice/server', { method: 'POST', token: readOnly }), 403, /requires any of \[servers\]/);
    await expectError(await t.request('/hub/api/users/alice/server', { method: 'DELETE', token: readOnly }), 403, /delete:servers/);
    const deleter = await t.createToken(alice.id, ['delete:servers!user']);
    assert.equal((await t.request('/hub/api/users/alice/server', { method: 'DELETE', token: deleter })).status, 204);
  });

  test("another user's server with a servers!server= filter for the exact server is allowed", async () => {
    const { t } = await setup();
    const bob = await t.createUser('bob', { admin: true });
    const scoped = await t.createToken(bob.id, ['servers!server=alice/']);
    assert.equal((await t.request('/hub/api/users/alice/server', { method: 'POST', token: scoped })).status, 201);
  });
});
