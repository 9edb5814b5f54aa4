// jupyterhub-idle-culler 2.0.0's request sequence (spec D.1, checklist 37-40), replayed in-process by
// a port of its cull_idle() loop (test/helpers/idle-culler.ts) with a service token holding exactly
// the culler's scopes. The same port runs against `berth serve` in test/integration/idle-culler.test.ts.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { and, eq } from 'drizzle-orm';
import { buildTestApp, testClock } from '../../test/helpers/app.ts';
import { schema } from '../../db/client.ts';
import { syncServices } from '../../src/services/services/sync.ts';
import { atLeast130, cullIdle, pyQuote, type CullerOptions } from '../../test/helpers/idle-culler.ts';

const CULLER_TOKEN = 'idle-culler-service-token';
const CULLER_SCOPES = ['list:users', 'read:users:activity', 'read:servers', 'delete:servers', 'admin:users'];
// What the culler's requests name as its hub: the API URL it was given (the Host it sends).
const URL_BASE = 'http://hub.internal:8081/hub/api';
const MINUTE_US = 60_000_000;

type T = Awaited<ReturnType<typeof buildTestApp>>;

// The culler run without --cull-users (e.g. zero-to-jupyterhub's default) needs no admin:users.
const MINIMAL_TOKEN = 'idle-culler-minimal-token';
const MINIMAL_SCOPES = ['list:users', 'read:users:activity', 'read:servers', 'delete:servers'];

async function setup() {
  const clock = testClock();
  const services = [{ name: 'idle-culler', api_token: CULLER_TOKEN, scopes: CULLER_SCOPES }, { name: 'minimal-culler', api_token: MINIMAL_TOKEN, scopes: MINIMAL_SCOPES }];
  const t = await buildTestApp({ clock, config: { hub: { allow_named_servers: true }, services } });
  await syncServices(t.ctx);
  const admin = await t.createUser('admin', { admin: true });
  const adminToken = await t.createToken(admin.id);
  return { t, clock, adminToken };
}

async function userRow(t: T, name: string) {
  return t.db.query.users.findFirst({ where: eq(schema.users.name, name) });
}

async function serverRow(t: T, name: string, server = '') {
  const u = await userRow(t, name);
  return u && t.db.query.servers.findFirst({ where: and(eq(schema.servers.userId, u.id), eq(schema.servers.name, server)) });
}

/** Sets when the user and (optionally) one of their servers were last active, `minutesAgo` before now. */
async function activeAgo(t: T, nowMs: number, name: string, minutesAgo: number, server?: string) {
  const at = nowMs * 1000 - minutesAgo * MINUTE_US;
  const u = (await userRow(t, name))!;
  await t.db.update(schema.users).set({ lastActivityUs: at }).where(eq(schema.users.id, u.id));
  if (server !== undefined) {
    await t.db.update(schema.servers).set({ lastActivityUs: at }).where(and(eq(schema.servers.userId, u.id), eq(schema.servers.name, server)));
  }
}

const culler = (t: T, nowMs: number, o: Partial<CullerOptions> = {}): CullerOptions => ({
  url: URL_BASE, apiToken: CULLER_TOKEN, inactiveLimit: 600, apiPageSize: 1, now: () => new Date(nowMs),
  fetch: async (url, init) => t.app.request(url, init), ...o,
});

describe('jupyterhub-idle-culler 2.0 against Berth', () => {
  test('a --cull-users cycle: stale servers stopped, fresh kept, pending skipped, idle users deleted, admin spared', async () => {
    const { t, clock, adminToken } = await setup();
    const now = clock.now();
    for (const name of ['a@b.c', 'fresh', 'carol', 'dave', 'idle-old', 'idle-new']) await t.createUser(name);
    const spawn = async (path: string) => assert.equal((await t.request(`/hub/api/users/${path}`, { method: 'POST', token: adminToken })).status, 201, path);
    await spawn('admin/server');
    await spawn('a%40b.c/server');
    await spawn('fresh/server');
    await spawn('carol/server');
    await spawn('dave/servers/ml');
    // carol's second server waits in the queue (no runner takes it): pending "spawn".
    await t.runner.close();
    await t.db.insert(schema.servers).values({ userId: (await userRow(t, 'carol'))!.id, name: 'big', state: 'queued', backend: 'fake', spawnSeq: 1, requestedAt: now, userOptions: {} });

    await activeAgo(t, now, 'admin', 120, '');
    await activeAgo(t, now, 'a@b.c', 120, '');
    await activeAgo(t, now, 'fresh', 1, '');
    await activeAgo(t, now, 'carol', 120, '');
    await activeAgo(t, now, 'dave', 120, 'ml');
    await activeAgo(t, now, 'idle-old', 120);
    await activeAgo(t, now, 'idle-new', 1);

    const run = await cullIdle(culler(t, now, { cullUsers: true, cullAdminUsers: false, removeNamedServers: true }));
    assert.deepEqual(run.errors, []);
    const sent = run.requests.map((r) => `${r.method} ${r.url.replace('http://hub.internal:8081', '')} ${r.status}${r.body ? ` ${r.body}` : ''}`);
    assert.deepEqual(sent, [
      'GET /hub/api/ 200',
      // inactive users (no active server), one a page, following next.url verbatim
      'GET /hub/api/users?state=inactive&limit=1 200',
      'GET /hub/api/users?state=inactive&limit=1&offset=1 200',
      // users with a ready server
      'GET /hub/api/users?limit=1&state=ready 200',
      'GET /hub/api/users?limit=1&state=ready&offset=1 200',
      'GET /hub/api/users?limit=1&state=ready&offset=2 200',
      'GET /hub/api/users?limit=1&state=ready&offset=3 200',
      'GET /hub/api/users?limit=1&state=ready&offset=4 200',
      // then each user in turn
      'DELETE /hub/api/users/idle-old 204',
      'DELETE /hub/api/users/admin/server 204',
      'DELETE /hub/api/users/a%40b.c/server 204',
      'DELETE /hub/api/users/a@b.c 204',
      'DELETE /hub/api/users/carol/server 204',
      'DELETE /hub/api/users/dave/servers/ml 204 {"remove": true}',
      'DELETE /hub/api/users/dave 204',
    ]);
    for (const r of run.requests.filter((q) => q.method === 'GET' && q.url.includes('/users?'))) assert.equal(r.accept, 'application/jupyterhub-pagination+json');
    assert.deepEqual(run.warnings, ['Not culling server carol/big with pending spawn']);

    assert.equal((await serverRow(t, 'fresh'))?.state, 'running', 'recent activity: kept');
    assert.equal((await serverRow(t, 'admin'))?.state, 'stopped', 'the admin\'s server is culled…');
    assert.ok(await userRow(t, 'admin'), '…but the admin is spared (--cull-admin-users=false)');
    assert.equal((await serverRow(t, 'carol'))?.state, 'stopped');
    assert.equal((await serverRow(t, 'carol', 'big'))?.state, 'queued', 'the pending spawn is left alone, so carol stays');
    for (const gone of ['a@b.c', 'dave', 'idle-old']) assert.equal(await userRow(t, gone), undefined, `${gone} deleted`);
    for (const kept of ['fresh', 'carol', 'idle-new']) assert.ok(await userRow(t, kept), `${kept} kept`);
  });

  test('with --cull-admin-users (the default) an idle admin with no server is deleted too; without --cull-users no user is', async () => {
    const { t, clock } = await setup();
    const now = clock.now();
    await activeAgo(t, now, 'admin', 120);
    const plain = await cullIdle(culler(t, now));
    assert.deepEqual(plain.requests.map((r) => `${r.method} ${r.url.replace('http://hub.internal:8081', '')}`), ['GET /hub/api/', 'GET /hub/api/users?limit=1&state=ready']);
    assert.ok(await userRow(t, 'admin'));
    const users = await cullIdle(culler(t, now, { cullUsers: true, apiPageSize: 0 }));
    assert.deepEqual(users.errors, []);
    assert.deepEqual(users.requests.map((r) => `${r.method} ${r.url.replace('http://hub.internal:8081', '')} ${r.status}`), [
      'GET /hub/api/ 200', 'GET /hub/api/users?state=inactive 200', 'GET /hub/api/users?state=ready 200', 'DELETE /hub/api/users/admin 204',
    ]);
    assert.equal(await userRow(t, 'admin'), undefined);
  });

  test('with only the scopes for culling servers, a stale server is stopped and a fresh one kept', async () => {
    const { t, clock, adminToken } = await setup();
    const now = clock.now();
    await t.createUser('zed');
    for (const name of ['admin', 'zed']) assert.equal((await t.request(`/hub/api/users/${name}/server`, { method: 'POST', token: adminToken })).status, 201);
    await activeAgo(t, now, 'zed', 30, '');
    await activeAgo(t, now, 'admin', 5, '');
    const run = await cullIdle(culler(t, now, { apiToken: MINIMAL_TOKEN, apiPageSize: 0 }));
    assert.deepEqual(run.errors, []);
    assert.deepEqual(run.requests.map((r) => `${r.method} ${r.url.replace('http://hub.internal:8081', '')} ${r.status}`), [
      'GET /hub/api/ 200', 'GET /hub/api/users?state=ready 200', 'DELETE /hub/api/users/zed/server 204',
    ]);
    assert.equal((await serverRow(t, 'zed'))?.state, 'stopped');
    assert.equal((await serverRow(t, 'admin'))?.state, 'running');
  });

  test('next.url is absolute and built from the request\'s own Host', async () => {
    const { t } = await setup();
    await t.createUser('bob');
    const res = await t.app.request('/hub/api/users?state=inactive&limit=1', { headers: { host: 'culler-sees-this:8081', authorization: `token ${CULLER_TOKEN}`, accept: 'application/jupyterhub-pagination+json' } });
    const page = (await res.json()) as { items: { name: string }[]; _pagination: { next: { url: string } | null } };
    assert.deepEqual(page.items.map((u) => u.name), ['admin']);
    assert.equal(page._pagination.next?.url, 'http://culler-sees-this:8081/hub/api/users?state=inactive&limit=1&offset=1');
  });

  test('the port parses versions as packaging does, and quotes as urllib does', () => {
    assert.equal(atLeast130('5.3.0'), true);
    assert.equal(atLeast130('1.3.0rc1'), false);
    assert.equal(atLeast130('1.2.9'), false);
    assert.throws(() => atLeast130('5.3.0-berth'), /InvalidVersion/);
    assert.equal(pyQuote('a@b.c'), 'a%40b.c');
    assert.equal(pyQuote('é x/y~'), '%C3%A9%20x/y~');
  });
});
