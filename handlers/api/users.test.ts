// GET /hub/api/users[/:name]: listing, pagination, state filters, scope post-filters, the culler's
// exact request sequence (spec D, E.4, E.5, H36–40).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { buildTestApp, testClock } from '../../test/helpers/app.ts';
import { authSuite } from '../../test/helpers/auth-suite.ts';
import { insertServer } from '../../test/helpers/server-rows.ts';
import { schema } from '../../db/client.ts';
import { syncServices } from '../../src/services/services/sync.ts';

type T = Awaited<ReturnType<typeof buildTestApp>>;
const PAGINATED = { accept: 'application/jupyterhub-pagination+json' };
const makeAdmin = async (t: T, owner: { id: number }) => { await t.db.update(schema.users).set({ admin: true }).where(eq(schema.users.id, owner.id)); };

describe('users listing auth', () => {
  authSuite({ method: 'GET', path: () => '/hub/api/users', ok: [200], prepare: makeAdmin, perUser: false });
  authSuite({ method: 'GET', path: (o) => `/hub/api/users/${o}`, ok: [200] });
});

async function adminApp(opts: Parameters<typeof buildTestApp>[0] = {}) {
  const t = await buildTestApp({ clock: testClock(), ...opts });
  const admin = await t.createUser('admin', { admin: true });
  return { t, token: await t.createToken(admin.id) };
}
async function json(res: Response, status = 200) {
  const text = await res.text();
  assert.equal(res.status, status, text);
  return JSON.parse(text);
}

describe('GET /hub/api/users pagination', () => {
  test('limit=1 pages carry an absolute next.url from the request Host, ending with next: null', async () => {
    const { t, token } = await adminApp();
    for (const n of ['b', 'c']) await t.createUser(n);
    let url: string | null = 'http://hub.example:8123/hub/api/users?limit=1';
    const names: string[] = [];
    const nexts: unknown[] = [];
    while (url) {
      const body = await json(await t.request(url, { token, headers: { ...PAGINATED, host: 'hub.example:8123' } }));
      assert.equal(body._pagination.total, 3);
      assert.equal(body._pagination.limit, 1);
      names.push(...body.items.map((u: { name: string }) => u.name));
      nexts.push(body._pagination.next);
      url = body._pagination.next?.url ?? null;
    }
    assert.deepEqual(names, ['admin', 'b', 'c']);
    assert.deepEqual(nexts, [
      { offset: 1, limit: 1, url: 'http://hub.example:8123/hub/api/users?limit=1&offset=1' },
      { offset: 2, limit: 1, url: 'http://hub.example:8123/hub/api/users?limit=1&offset=2' },
      null,
    ]);
  });

  test('next.url keeps the rest of the query and replaces offset/limit', async () => {
    const { t, token } = await adminApp();
    for (const n of ['b', 'c']) await t.createUser(n);
    const body = await json(await t.request('/hub/api/users?offset=0&state=inactive&limit=1&include_stopped_servers', { token, headers: PAGINATED }));
    assert.equal(body._pagination.next.url, 'http://localhost/hub/api/users?offset=1&state=inactive&limit=1&include_stopped_servers=');
  });

  test('defaults: 50 with the pagination media type, 200 (a plain list) without; max 200', async () => {
    const { t, token } = await adminApp();
    await t.db.insert(schema.users).values(Array.from({ length: 229 }, (_, i) => ({ name: `u${String(i).padStart(3, '0')}`, createdAt: 0 })));
    const paged = await json(await t.request('/hub/api/users', { token, headers: PAGINATED }));
    assert.equal(paged.items.length, 50);
    assert.deepEqual(paged._pagination, { offset: 0, limit: 50, total: 230, next: { offset: 50, limit: 50, url: 'http://localhost/hub/api/users?offset=50&limit=50' } });
    const plain = await json(await t.request('/hub/api/users', { token }));
    assert.ok(Array.isArray(plain));
    assert.equal(plain.length, 200);
    const big = await json(await t.request('/hub/api/users?limit=1000', { token, headers: PAGINATED }));
    assert.equal(big._pagination.limit, 200);
    assert.equal(big.items.length, 200);
  });

  test('negative values are made absolute, 0 becomes 1, non-integers are 400', async () => {
    const { t, token } = await adminApp();
    for (const n of ['b', 'c', 'd']) await t.createUser(n);
    const neg = await json(await t.request('/hub/api/users?limit=-2&offset=-1', { token, headers: PAGINATED }));
    assert.deepEqual([neg._pagination.offset, neg._pagination.limit], [1, 2]);
    assert.deepEqual(neg.items.map((u: { name: string }) => u.name), ['b', 'c']);
    const zero = await json(await t.request('/hub/api/users?limit=0', { token, headers: PAGINATED }));
    assert.equal(zero._pagination.limit, 1);
    assert.equal(zero.items.length, 1);
    for (const q of ['limit=1.5', 'limit=abc', 'offset=x', 'limit=']) {
      const res = await t.request(`/hub/api/users?${q}`, { token, headers: PAGINATED });
      assert.deepEqual(await json(res, 400), { status: 400, message: 'Invalid argument type, offset and limit must be integers' });
    }
  });

  test('an offset past the end gives no items and next: null', async () => {
    const { t, token } = await adminApp();
    const body = await json(await t.request('/hub/api/users?offset=10', { token, headers: PAGINATED }));
    assert.deepEqual(body, { items: [], _pagination: { offset: 10, limit: 50, total: 1, next: null } });
  });
});

describe('GET /hub/api/users state filters and server models', () => {
  async function population() {
    const { t, token } = await adminApp();
    const ids: Record<string, number> = {};
    for (const n of ['running', 'queued', 'spawning', 'stopping', 'stopped', 'failed', 'none', 'named']) ids[n] = (await t.createUser(n)).id;
    for (const s of ['running', 'queued', 'spawning', 'stopping', 'stopped', 'failed'] as const) await insertServer(t.db, ids[s]!, s);
    await insertServer(t.db, ids.named!, 'stopped');
    await insertServer(t.db, ids.named!, 'running', { name: 'srv1', userOptions: { profile: 'x' } });
    return { t, token, ids };
  }
  const namesOf = (list: { name: string }[]) => list.map((u) => u.name).sort();

  test('ready: users with a running server; pending-only users excluded; total counted exactly', async () => {
    const { t, token } = await population();
    const body = await json(await t.request('/hub/api/users?state=ready', { token, headers: PAGINATED }));
    assert.deepEqual(namesOf(body.items), ['named', 'running']);
    assert.equal(body._pagination.total, 2);
  });

  test('active: any pending or running server; inactive: none', async () => {
    const { t, token } = await population();
    assert.deepEqual(namesOf(await json(await t.request('/hub/api/users?state=active', { token }))), ['named', 'queued', 'running', 'spawning', 'stopping']);
    assert.deepEqual(namesOf(await json(await t.request('/hub/api/users?state=inactive', { token }))), ['admin', 'failed', 'none', 'stopped']);
  });

  test('an unknown state is 400', async () => {
    const { t, token } = await population();
    assert.deepEqual(await json(await t.request('/hub/api/users?state=bogus', { token }), 400), { status: 400, message: "Unrecognized state filter: 'bogus'" });
  });

  test('user and server models: pending/ready/stopped mapping, url always present, timestamps end in Z', async () => {
    const { t, token, ids } = await population();
    const byName = Object.fromEntries((await json(await t.request('/hub/api/users', { token }))).map((u: { name: string }) => [u.name, u]));
    assert.equal(byName.running.server, '/user/running/');
    assert.equal(byName.running.pending, null);
    assert.deepEqual(byName.running.servers[''], {
      name: '', full_name: 'running/', last_activity: null, started: '2026-11-22T01:00:00Z', pending: null, ready: true, stopped: false,
      url: '/user/running/', user_options: {}, progress_url: '/hub/api/users/running/server/progress', full_url: null, full_progress_url: null,
      state: { fake: `${ids.running}/` },
    });
    assert.equal(byName.queued.server, null);
    assert.equal(byName.queued.pending, 'spawn');
    assert.deepEqual([byName.queued.servers[''].pending, byName.queued.servers[''].ready, byName.queued.servers[''].stopped], ['spawn', false, false]);
    assert.equal(byName.stopping.pending, 'stop');
    assert.deepEqual(byName.stopped.servers, {}, 'stopped servers are left out by default');
    assert.deepEqual(byName.failed.servers, {});
    assert.equal(byName.named.server, null, 'server is the default server only');
    assert.deepEqual(Object.keys(byName.named.servers), ['srv1']);
    assert.equal(byName.named.servers.srv1.url, '/user/named/srv1/');
    assert.equal(byName.named.servers.srv1.progress_url, '/hub/api/users/named/servers/srv1/progress');
    assert.deepEqual(byName.named.servers.srv1.user_options, { profile: 'x' });
    assert.match(byName.admin.created, /Z$/);
  });

  test('include_stopped_servers lists stopped servers with stopped: true and started: null', async () => {
    const { t, token } = await population();
    const named = await json(await t.request('/hub/api/users/named?include_stopped_servers=1', { token }));
    assert.deepEqual(Object.keys(named.servers).sort(), ['', 'srv1']);
    assert.deepEqual([named.servers[''].stopped, named.servers[''].ready, named.servers[''].started], [true, false, null]);
    const off = await json(await t.request('/hub/api/users/named?include_stopped_servers=false', { token }));
    assert.deepEqual(Object.keys(off.servers), ['srv1']);
  });

  test('state (the backend ref) only with admin:server_state', async () => {
    const { t } = await population();
    const running = await t.db.query.users.findFirst({ where: eq(schema.users.name, 'running') });
    const own = await json(await t.request('/hub/api/users/running', { token: await t.createToken(running!.id) }));
    assert.equal(own.servers[''].ready, true);
    assert.ok(!('state' in own.servers['']));
    const admin = await t.db.query.users.findFirst({ where: eq(schema.users.name, 'admin') });
    const adm = await json(await t.request('/hub/api/users/running', { token: await t.createToken(admin!.id) }));
    assert.deepEqual(adm.servers[''].state, { fake: `${running!.id}/` });
  });
});

describe('GET /hub/api/users sort and name_filter', () => {
  test('sort by name or last_activity, "-" for descending; name_filter is a case-insensitive substring', async () => {
    // A service token: its use is not user activity, so last_activity stays as set here.
    const t = await buildTestApp({ config: { services: [{ name: 'lister', api_token: 'lister-token-123', scopes: ['list:users'] }] } });
    await syncServices(t.ctx);
    const token = 'lister-token-123';
    for (const [n, at] of [['admin', 2], ['Carla', 3], ['bert', null], ['anna_x', 1]] as const) {
      const u = await t.createUser(n);
      if (at !== null) await t.db.update(schema.users).set({ lastActivityUs: at }).where(eq(schema.users.id, u.id));
    }
    const order = async (q: string) => (await json(await t.request(`/hub/api/users?${q}`, { token }))).map((u: { name: string }) => u.name);
    assert.deepEqual(await order('sort=name'), ['Carla', 'admin', 'anna_x', 'bert']);
    assert.deepEqual(await order('sort=-id'), ['anna_x', 'bert', 'Carla', 'admin']);
    assert.deepEqual(await order('sort=id'), ['admin', 'Carla', 'bert', 'anna_x']);
    assert.deepEqual(await order('sort=last_activity'), ['bert', 'anna_x', 'admin', 'Carla'], 'nulls first ascending');
    assert.deepEqual(await order('sort=-last_activity'), ['Carla', 'admin', 'anna_x', 'bert'], 'nulls last descending');
    assert.deepEqual(await order('name_filter=AR'), ['Carla']);
    assert.deepEqual(await order('name_filter=_'), ['anna_x'], 'LIKE wildcards are literal');
    assert.deepEqual(await json(await t.request('/hub/api/users?sort=created', { token }), 400), { status: 400, message: "sort must be 'id', 'name', or 'last_activity', not 'created'" });
  });
});

describe('GET /hub/api/users/:name', () => {
  test('quoted (%40) and unquoted names resolve to the same user', async () => {
    const { t, token } = await adminApp();
    await t.createUser('a@b.c');
    for (const p of ['/hub/api/users/a%40b.c', '/hub/api/users/a@b.c']) assert.equal((await json(await t.request(p, { token }))).name, 'a@b.c');
  });

  test('unknown user is 404 JSON', async () => {
    const { t, token } = await adminApp();
    assert.deepEqual(await json(await t.request('/hub/api/users/nobody', { token }), 404), { status: 404, message: 'No such user: nobody' });
  });

  test('keys follow the caller’s scopes: read:users:name alone shows kind, name, admin', async () => {
    const t = await buildTestApp();
    const alice = await t.createUser('alice');
    const body = await json(await t.request('/hub/api/users/alice', { token: await t.createToken(alice.id, ['read:users:name!user']) }));
    assert.deepEqual(body, { kind: 'user', name: 'alice', admin: false, groups: [] });
  });
});

describe('service tokens from config', () => {
  const services = [
    { name: 'lister', api_token: 'lister-token-123', scopes: ['list:users', 'read:servers'] },
    { name: 'narrow', api_token: 'narrow-token-123', scopes: ['list:users!user=b'] },
  ];

  test('a service with list:users and read:servers lists users (with servers) but cannot create them', async () => {
    const t = await buildTestApp({ config: { services } });
    await syncServices(t.ctx);
    const b = await t.createUser('b');
    await insertServer(t.db, b.id, 'running');
    const list = await json(await t.request('/hub/api/users', { token: 'lister-token-123' }));
    assert.equal(list[0].servers[''].ready, true);
    assert.deepEqual(list, [{ kind: 'user', name: 'b', admin: false, servers: list[0].servers }]);
    const res = await t.request('/hub/api/users', { method: 'POST', token: 'lister-token-123', body: JSON.stringify({ usernames: ['x'] }) });
    assert.equal((await json(res, 403)).status, 403);
  });

  test('a filtered list:users narrows the listing to its users', async () => {
    const t = await buildTestApp({ config: { services } });
    await syncServices(t.ctx);
    for (const n of ['a', 'b', 'c']) await t.createUser(n);
    const body = await json(await t.request('/hub/api/users', { token: 'narrow-token-123', headers: PAGINATED }));
    assert.deepEqual(body.items, [{ kind: 'user', name: 'b', admin: false }]);
    assert.equal(body._pagination.total, 1);
  });
});

describe("the idle culler's request sequence (spec D.1)", () => {
  test('version, paginated state=ready with limit=1 followed verbatim, DELETE the server, then the user', async () => {
    const clock = testClock();
    const t = await buildTestApp({ clock, config: { services: [{ name: 'culler', api_token: 'culler-token-123', scopes: ['list:users', 'read:users:activity', 'read:servers', 'delete:servers', 'admin:users'] }] } });
    await syncServices(t.ctx);
    const admin = await t.createUser('admin', { admin: true });
    const alice = await t.createUser('alice@x');
    const bob = await t.createUser('bob');
    assert.equal((await t.request('/hub/api/users/alice%40x/server', { method: 'POST', token: await t.createToken(admin.id) })).status, 201);
    await t.db.update(schema.servers).set({ lastActivityUs: (clock.now() - 3600_000) * 1000 }).where(eq(schema.servers.userId, alice.id));
    await insertServer(t.db, bob.id, 'queued'); // pending: not listed as ready, so not culled
    const auth = { token: 'culler-token-123', headers: { ...PAGINATED, host: '127.0.0.1:18081' } };

    const root = await json(await t.request('http://127.0.0.1:18081/hub/api/', auth));
    assert.match(root.version, /^\d+\.\d+\.\d+$/);

    const seen: Record<string, unknown>[] = [];
    let url: string | null = 'http://127.0.0.1:18081/hub/api/users?state=ready&limit=1';
    const visited: string[] = [];
    while (url) {
      visited.push(url);
      const page = await json(await t.request(url, auth));
      seen.push(...page.items);
      url = page._pagination.next?.url ?? null;
    }
    assert.deepEqual(visited, ['http://127.0.0.1:18081/hub/api/users?state=ready&limit=1']);
    assert.deepEqual(seen.map((u) => u.name), ['alice@x']);
    const server = (seen[0]!.servers as Record<string, Record<string, unknown>>)['']!;
    assert.deepEqual([server.name, server.pending, server.ready, server.url], ['', null, true, '/user/alice@x/']);
    assert.equal(server.last_activity, '2026-11-22T00:00:00Z');
    assert.match(server.started as string, /Z$/);

    // Cull: DELETE the server with the quoted name, then (--cull-users) the user, unquoted.
    const stop = await t.request('http://127.0.0.1:18081/hub/api/users/alice%40x/server', { method: 'DELETE', token: 'culler-token-123' });
    assert.equal(stop.status, 204);
    const inactive = await json(await t.request('http://127.0.0.1:18081/hub/api/users?state=inactive', auth));
    assert.deepEqual(inactive.items.map((u: { name: string }) => u.name), ['admin', 'alice@x']);
    const del = await t.request('/hub/api/users/alice@x', { method: 'DELETE', token: 'culler-token-123' });
    assert.equal(del.status, 204);
    assert.equal((await t.request('/hub/api/users/alice%40x', { token: 'culler-token-123' })).status, 404);
  });

  test('with two ready users, limit=1 pages are followed until next is null', async () => {
    const t = await buildTestApp({ config: { services: [{ name: 'culler', api_token: 'culler-token-123', scopes: ['list:users', 'read:servers'] }] } });
    await syncServices(t.ctx);
    for (const n of ['a', 'b', 'c']) await insertServer(t.db, (await t.createUser(n)).id, n === 'b' ? 'stopped' : 'running');
    const auth = { token: 'culler-token-123', headers: { ...PAGINATED, host: '127.0.0.1:18081' } };
    const visited: string[] = [];
    const names: string[] = [];
    let url: string | null = 'http://127.0.0.1:18081/hub/api/users?state=ready&limit=1';
    while (url) {
      visited.push(url);
      const page = await json(await t.request(url, auth));
      assert.equal(page._pagination.total, 2);
      names.push(...page.items.map((u: { name: string }) => u.name));
      url = page._pagination.next?.url ?? null;
    }
    assert.deepEqual(names, ['a', 'c']);
    assert.deepEqual(visited, [
      'http://127.0.0.1:18081/hub/api/users?state=ready&limit=1',
      'http://127.0.0.1:18081/hub/api/users?state=ready&limit=1&offset=1',
    ]);
  });
});
