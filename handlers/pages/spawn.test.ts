// /hub/spawn, /hub/spawn-pending and /hub/home: starting a server from the browser and following it.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { buildTestApp } from '../../test/helpers/app.ts';
import { form, loggedIn, serverWithClient } from '../../test/helpers/login.ts';
import { schema } from '../../db/client.ts';
import type { ServerState } from '../../db/schema/index.ts';

async function setup(state?: ServerState) {
  // no runner: these tests check what the pages request, not the spawn itself (src/spawn tests that)
  const t = await buildTestApp({ runner: false });
  const alice = await loggedIn(t, 'alice');
  const srv = state ? await serverWithClient(t, 'alice', '', state) : undefined;
  const get = (path: string) => t.app.request(path, { headers: { cookie: alice.jar.header() } });
  const post = (path: string, fields: Record<string, string>) => {
    const f = form(fields);
    return t.app.request(path, { method: 'POST', body: f.body, headers: { ...f.headers, cookie: alice.jar.header() } });
  };
  const row = async () => t.db.query.servers.findFirst({ where: eq(schema.servers.userId, alice.session.userId) });
  return { t, alice, srv, get, post, row };
}

describe('/hub/spawn', () => {
  test('not logged in → login with next', async () => {
    const t = await buildTestApp();
    const res = await t.app.request('/hub/spawn');
    assert.equal(res.headers.get('location'), `/hub/login?next=${encodeURIComponent('/hub/spawn')}`);
  });
  test('GET requests the spawn and goes to spawn-pending (next kept)', async () => {
    const { get, row } = await setup();
    const res = await get('/hub/spawn?next=%2Fuser%2Falice%2Flab');
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), `/hub/spawn-pending/alice?next=${encodeURIComponent('/user/alice/lab')}`);
    assert.equal((await row())!.state, 'queued');
  });
  test('an unsafe next is dropped', async () => {
    const { get } = await setup();
    const res = await get('/hub/spawn/alice?next=%2F%2Fevil.com');
    assert.equal(res.headers.get('location'), '/hub/spawn-pending/alice');
  });
  test('POST needs the session XSRF token', async () => {
    const { post, alice, row } = await setup();
    assert.equal((await post('/hub/spawn/alice', {})).status, 403);
    assert.equal(await row(), undefined);
    const ok = await post('/hub/spawn/alice', { _xsrf: alice.session.xsrf });
    assert.equal(ok.status, 302);
    assert.equal(ok.headers.get('location'), '/hub/spawn-pending/alice');
  });
  test('already running → straight to the server (or next)', async () => {
    const { get } = await setup('running');
    assert.equal((await get('/hub/spawn')).headers.get('location'), '/user/alice/');
    assert.equal((await get('/hub/spawn/alice?next=%2Fuser%2Falice%2Flab')).headers.get('location'), '/user/alice/lab');
  });
  test('already pending → spawn-pending, nothing new requested', async () => {
    const { get, row } = await setup('spawning');
    const res = await get('/hub/spawn/alice');
    assert.equal(res.headers.get('location'), '/hub/spawn-pending/alice');
    assert.equal((await row())!.state, 'spawning');
  });
  test('another user cannot spawn alice\'s server; an admin can', async () => {
    const { t } = await setup();
    await t.createUser('carol');
    const bob = await loggedIn(t, 'bob');
    const denied = await t.app.request('/hub/spawn/carol', { headers: { cookie: bob.jar.header() } });
    // bob holds `servers` only on his own: the filter excludes carol's, so 404 (spec B.9), and nothing starts
    assert.equal(denied.status, 404);
    assert.match(await denied.text(), /No access to resources or resources not found/);
    assert.equal((await t.db.select().from(schema.servers)).length, 0);
    const admin = await loggedIn(t, 'admin', 'admin secret pw');
    const ok = await t.app.request('/hub/spawn/carol', { headers: { cookie: admin.jar.header() } });
    assert.equal(ok.status, 302);
    assert.equal(ok.headers.get('location'), '/hub/spawn-pending/carol');
  });
});

describe('/hub/spawn-pending', () => {
  test('pending → progress page wired to the progress SSE stream', async () => {
    const { get } = await setup('queued');
    const res = await get('/hub/spawn-pending/alice?next=%2Fuser%2Falice%2Flab');
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /EventSource/);
    assert.match(html, /"progressUrl":"\/hub\/api\/users\/alice\/server\/progress"/);
    assert.match(html, /"next":"\/user\/alice\/lab"/);
  });
  test('failed → the message, the log tail and a Try again form', async () => {
    const { t, get, srv, alice } = await setup('failed');
    await t.db.update(schema.servers).set({ failure: { reason: 'exited', message: 'Server exited during start-up (exit code 3)', logTail: 'Traceback <boom>\n' } }).where(eq(schema.servers.id, srv!.server.id));
    const res = await get('/hub/spawn-pending/alice');
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /Server exited during start-up \(exit code 3\)/);
    assert.match(html, /Traceback &lt;boom&gt;/);
    assert.match(html, /<form method="post" action="\/hub\/spawn\/alice">/);
    assert.match(html, new RegExp(`name="_xsrf" value="${alice.session.xsrf}"`));
    assert.match(html, /Try again/);
  });
  test('running → redirect to the server; stopped → a link to /hub/spawn', async () => {
    const running = await setup('running');
    assert.equal((await running.get('/hub/spawn-pending/alice')).headers.get('location'), '/user/alice/');
    const stopped = await setup();
    const res = await stopped.get('/hub/spawn-pending/alice');
    assert.equal(res.status, 200);
    assert.match(await res.text(), /href="\/hub\/spawn\/alice"/);
  });
  test('another user → 404', async () => {
    const { t } = await setup('queued');
    const bob = await loggedIn(t, 'bob');
    assert.equal((await t.app.request('/hub/spawn-pending/alice', { headers: { cookie: bob.jar.header() } })).status, 404);
  });
});

describe('/hub/home', () => {
  test('not logged in → login', async () => {
    const t = await buildTestApp();
    assert.equal((await t.app.request('/hub/home')).headers.get('location'), `/hub/login?next=${encodeURIComponent('/hub/home')}`);
  });
  test('stopped: a Start form posting to /hub/spawn with the XSRF token; a Logout form', async () => {
    const { get, alice } = await setup();
    const html = await (await get('/hub/home')).text();
    assert.match(html, /not running/);
    assert.match(html, /<form method="post" action="\/hub\/spawn\/alice">/);
    assert.match(html, new RegExp(`name="_xsrf" value="${alice.session.xsrf}"`));
    assert.match(html, /action="\/hub\/logout"/);
  });
  test('running: a link to the server and a Stop button calling the REST API with X-XSRFToken', async () => {
    const { get, alice } = await setup('running');
    const html = await (await get('/hub/home')).text();
    assert.match(html, /href="\/user\/alice\/"/);
    assert.match(html, /id="stop"/);
    assert.match(html, /X-XSRFToken/);
    assert.match(html, new RegExp(`"api":"/hub/api/users/alice/server","xsrf":"${alice.session.xsrf}"`));
  });
  test('/ and /hub/ land on home when logged in, login otherwise', async () => {
    const { t, get } = await setup();
    assert.equal((await t.app.request('/')).headers.get('location'), '/hub/');
    assert.equal((await t.app.request('/hub/')).headers.get('location'), '/hub/login');
    assert.equal((await get('/hub/')).headers.get('location'), '/hub/home');
  });
});
