// Requests for a server that is not running (spec B.7, checklist H44) and /hub/user-redirect (B.6).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { buildTestApp } from '../../test/helpers/app.ts';
import { loggedIn, serverWithClient } from '../../test/helpers/login.ts';
import { schema } from '../../db/client.ts';
import type { ServerState } from '../../db/schema/index.ts';

async function setup(state?: ServerState) {
  const t = await buildTestApp();
  const alice = await loggedIn(t, 'alice');
  if (state) await serverWithClient(t, 'alice', '', state);
  const get = (path: string, headers: Record<string, string> = {}) => t.app.request(path, { headers: { cookie: alice.jar.header(), ...headers } });
  return { t, alice, get };
}

describe('outside the hub prefix', () => {
  test('/user/alice/x → 302 /hub/user/alice/x (query kept)', async () => {
    const t = await buildTestApp();
    for (const [from, to] of [['/user/alice/x', '/hub/user/alice/x'], ['/user/alice/tree?x=1', '/hub/user/alice/tree?x=1'], ['/user/a%40b/lab', '/hub/user/a%40b/lab']]) {
      const res = await t.app.request(from!);
      assert.equal(res.status, 302, from);
      assert.equal(res.headers.get('location'), to);
    }
  });
  test('a POST keeps its method (307) and then gets the JSON 424', async () => {
    const t = await buildTestApp();
    const res = await t.app.request('/user/alice/api/contents', { method: 'POST' });
    assert.equal(res.status, 307);
    assert.equal(res.headers.get('location'), '/hub/user/alice/api/contents');
  });
  test('H44: stopped server → /user/alice/tree → /hub/user/alice/tree → 424 page', async () => {
    const { get } = await setup();
    const first = await get('/user/alice/tree');
    assert.equal(first.status, 302);
    const res = await get(first.headers.get('location')!);
    assert.equal(res.status, 424);
    const html = await res.text();
    assert.match(html, /not running/);
    assert.match(html, /href="\/hub\/spawn\/alice\?next=%2Fhub%2Fuser%2Falice%2Ftree"/);
  });
  test('an unknown path inside /hub/ stays a 404', async () => {
    const t = await buildTestApp();
    assert.equal((await t.app.request('/hub/nowhere')).status, 404);
    const api = await t.app.request('/hub/api/nowhere');
    assert.deepEqual([api.status, await api.json()], [404, { status: 404, message: 'Not Found' }]);
  });
});

describe('/hub/user/<name>/<path>', () => {
  test('not logged in → login with next', async () => {
    const t = await buildTestApp();
    const res = await t.app.request('/hub/user/alice/tree?x=1');
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), `/hub/login?next=${encodeURIComponent('/hub/user/alice/tree?x=1')}`);
  });
  test('another user without access → 404', async () => {
    const { t } = await setup('stopped');
    const bob = await loggedIn(t, 'bob');
    const res = await t.app.request('/hub/user/alice/tree', { headers: { cookie: bob.jar.header() } });
    assert.equal(res.status, 404);
    assert.match(await res.text(), /No access to resources or resources not found/);
  });
  test('an admin may see the not-running page of alice', async () => {
    const { t } = await setup('stopped');
    const admin = await loggedIn(t, 'admin', 'admin secret pw');
    const res = await t.app.request('/hub/user/alice/tree', { headers: { cookie: admin.jar.header() } });
    assert.equal(res.status, 424);
  });
  test('ready → 302 back to /user/alice/... with redirects=1, then 2; 500 at 4', async () => {
    const { get } = await setup('running');
    const first = await get('/hub/user/alice/tree?x=1');
    assert.equal(first.status, 302);
    assert.equal(first.headers.get('location'), '/user/alice/tree?x=1&redirects=1');
    const second = await get('/hub/user/alice/tree?x=1&redirects=1');
    assert.equal(second.headers.get('location'), '/user/alice/tree?x=1&redirects=2');
    const loop = await get('/hub/user/alice/tree?redirects=4');
    assert.equal(loop.status, 500);
    assert.match(await loop.text(), /Redirect loop detected\./);
  });
  test('JSON request for a stopped server → 424 JSON naming the path and the absolute spawn URL', async () => {
    const { get } = await setup('stopped');
    const res = await get('/hub/user/alice/tree', { accept: 'application/json' });
    assert.equal(res.status, 424);
    assert.deepEqual(await res.json(), {
      status: 424,
      message: 'JupyterHub server no longer running at /user/alice/tree. Restart the server at http://localhost/hub/spawn/alice',
    });
  });
  test('an api path → 424 JSON even when HTML is accepted', async () => {
    const { get } = await setup();
    const res = await get('/hub/user/alice/api/contents?content=1', { accept: 'text/html,*/*' });
    assert.equal(res.status, 424);
    assert.match(((await res.json()) as { message: string }).message, /no longer running at \/user\/alice\/api\/contents\. Restart the server at http:\/\/localhost\/hub\/spawn\/alice$/);
  });
  test('the absolute spawn URL follows X-Forwarded-Proto/Host', async () => {
    const { get } = await setup();
    const res = await get('/hub/user/alice/api/kernels', { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'hub.example.org' });
    assert.match(((await res.json()) as { message: string }).message, /Restart the server at https:\/\/hub\.example\.org\/hub\/spawn\/alice$/);
  });
  for (const method of ['POST', 'PATCH', 'DELETE']) {
    test(`${method} → JSON 424, logged in or not`, async () => {
      const t = await buildTestApp();
      const res = await t.app.request('/hub/user/alice/api/contents/x.ipynb', { method });
      assert.equal(res.status, 424);
      assert.deepEqual(await res.json(), { status: 424, message: 'JupyterHub server no longer running at /user/alice/api/contents/x.ipynb. Restart the server at http://localhost/hub/spawn/alice' });
    });
  }
  test('token authentication works for API clients (JupyterLab after a stop)', async () => {
    const { t } = await setup('stopped');
    const alice = (await t.db.query.users.findFirst({ where: eq(schema.users.name, 'alice') }))!;
    const token = await t.createToken(alice.id);
    const res = await t.request('/hub/user/alice/api/sessions', { token });
    assert.equal(res.status, 424);
    assert.match(((await res.json()) as { message: string }).message, /no longer running/);
  });
  for (const state of ['queued', 'spawning', 'stopping', 'failed'] as const) {
    test(`${state} → 303 to spawn-pending with next`, async () => {
      const { get } = await setup(state);
      const res = await get('/hub/user/alice/lab?a=b');
      assert.equal(res.status, 303);
      assert.equal(res.headers.get('location'), `/hub/spawn-pending/alice?next=${encodeURIComponent('/hub/user/alice/lab?a=b')}`);
    });
  }
});

describe('/hub/user-redirect/<path>', () => {
  test('→ /hub/spawn/<me>?next=/user/<me>/<path>', async () => {
    const { get } = await setup();
    const res = await get('/hub/user-redirect/lab/tree/x.ipynb?a=1');
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), `/hub/spawn/alice?next=${encodeURIComponent('/user/alice/lab/tree/x.ipynb?a=1')}`);
  });
  test('not logged in → login with next', async () => {
    const t = await buildTestApp();
    const res = await t.app.request('/hub/user-redirect/lab');
    assert.equal(res.headers.get('location'), `/hub/login?next=${encodeURIComponent('/hub/user-redirect/lab')}`);
  });
});

describe('/hub/health', () => {
  test('200', async () => {
    const t = await buildTestApp();
    const res = await t.app.request('/hub/health');
    assert.deepEqual([res.status, await res.text()], [200, 'ok']);
  });
});
