// /hub/login and /hub/logout: credentials, cookies (spec B.4), safe next=, XSRF, token revocation.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { buildTestApp } from '../../test/helpers/app.ts';
import { form, loggedIn, loginAs, serverWithClient } from '../../test/helpers/login.ts';
import { schema } from '../../db/client.ts';

const cookieLine = (res: Response, name: string) => res.headers.getSetCookie().find((l) => l.startsWith(`${name}=`));

describe('GET /hub/login', () => {
  test('renders the form with username, password, _xsrf bound to a cookie, and next kept', async () => {
    const t = await buildTestApp();
    const res = await t.app.request('/hub/login?next=%2Fuser%2Falice%2Flab');
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /name="username"/);
    assert.match(html, /name="password"/);
    const xsrf = /name="_xsrf" value="([^"]+)"/.exec(html)![1]!;
    assert.match(cookieLine(res, '_xsrf')!, new RegExp(`^_xsrf=${xsrf}; Path=/hub/; HttpOnly; SameSite=Lax$`));
    assert.match(html, /name="next" value="\/user\/alice\/lab"/);
  });
  test('an unsafe next is not carried into the form', async () => {
    const t = await buildTestApp();
    const html = await (await t.app.request('/hub/login?next=%2F%2Fevil.com')).text();
    assert.match(html, /name="next" value=""/);
    assert.doesNotMatch(html, /evil\.com/);
  });
  test('already logged in → straight to next or home', async () => {
    const t = await buildTestApp();
    const { jar } = await loggedIn(t, 'alice');
    const res = await t.app.request('/hub/login?next=%2Fhub%2Fspawn', { headers: { cookie: jar.header() } });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/hub/spawn');
  });
});

describe('POST /hub/login', () => {
  test('success sets both cookies exactly as JupyterHub and redirects to /hub/home', async () => {
    const t = await buildTestApp();
    const { res } = await loginAs(t, 'alice', 'correct horse');
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/hub/home');
    assert.match(cookieLine(res, 'jupyterhub-hub-login')!, /^jupyterhub-hub-login=[0-9a-f]{64}; Max-Age=1209600; Path=\/hub\/; HttpOnly; SameSite=Lax$/);
    assert.match(cookieLine(res, 'jupyterhub-session-id')!, /^jupyterhub-session-id=[0-9a-f]{32}; Path=\/; HttpOnly; SameSite=Lax$/);
    const user = await t.db.query.users.findFirst({ where: eq(schema.users.name, 'alice') });
    assert.equal(user?.admin, false);
    const audit = await t.db.select().from(schema.audit);
    assert.deepEqual(audit.map((a) => [a.action, a.actor]), [['login', 'alice']]);
  });
  test('Secure is added only behind https (X-Forwarded-Proto)', async () => {
    const t = await buildTestApp();
    const page = await t.app.request('/hub/login');
    const xsrf = /name="_xsrf" value="([^"]+)"/.exec(await page.text())![1]!;
    const f = form({ _xsrf: xsrf, username: 'alice', password: 'correct horse' });
    const res = await t.app.request('/hub/login', { method: 'POST', body: f.body, headers: { ...f.headers, cookie: `_xsrf=${xsrf}`, 'x-forwarded-proto': 'https' } });
    assert.equal(res.status, 302);
    assert.match(cookieLine(res, 'jupyterhub-hub-login')!, /; Secure/);
    assert.match(cookieLine(res, 'jupyterhub-session-id')!, /; Secure/);
  });
  test('the cookie logs in: /hub/home answers 200 with the user name', async () => {
    const t = await buildTestApp();
    const { jar } = await loggedIn(t, 'alice');
    const res = await t.app.request('/hub/home', { headers: { cookie: jar.header() } });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /alice/);
  });
  test('an admin logs in with the admin password and is made admin', async () => {
    const t = await buildTestApp();
    const { res } = await loginAs(t, 'admin', 'admin secret pw');
    assert.equal(res.status, 302);
    const user = await t.db.query.users.findFirst({ where: eq(schema.users.name, 'admin') });
    assert.equal(user?.admin, true);
  });
  test('wrong password → the form again, 403, "Invalid username or password", no login cookie', async () => {
    const t = await buildTestApp();
    const { res } = await loginAs(t, 'alice', 'wrong password');
    assert.equal(res.status, 403);
    assert.match(await res.text(), /Invalid username or password/);
    assert.equal(cookieLine(res, 'jupyterhub-hub-login'), undefined);
    assert.equal((await t.db.select().from(schema.sessions)).length, 0);
  });
  test('blocked user (config) → 403', async () => {
    const t = await buildTestApp({ config: { auth: { shared_password: 'correct horse', allow_all: true, blocked_users: ['eve'] } } });
    const { res } = await loginAs(t, 'eve', 'correct horse');
    assert.equal(res.status, 403);
    assert.match(await res.text(), /Invalid username or password/);
  });
  test('blocked user (database flag) → 403, no session', async () => {
    const t = await buildTestApp();
    const eve = await t.createUser('eve');
    await t.db.update(schema.users).set({ blocked: true }).where(eq(schema.users.id, eve.id));
    const { res } = await loginAs(t, 'eve', 'correct horse');
    assert.equal(res.status, 403);
    assert.equal((await t.db.select().from(schema.sessions)).length, 0);
  });
  test('unknown user when allow_all is off → 403; a listed one gets in', async () => {
    const t = await buildTestApp({ config: { auth: { shared_password: 'correct horse', allowed_users: ['bob'] } } });
    assert.equal((await loginAs(t, 'carol', 'correct horse')).res.status, 403);
    assert.equal((await loginAs(t, 'bob', 'correct horse')).res.status, 302);
  });
  test('missing or wrong XSRF → 403 and no session', async () => {
    const t = await buildTestApp();
    const f = form({ username: 'alice', password: 'correct horse' });
    const missing = await t.app.request('/hub/login', { method: 'POST', ...f });
    assert.equal(missing.status, 403);
    assert.match(await missing.text(), /_xsrf/);
    const g = form({ _xsrf: 'A'.repeat(32), username: 'alice', password: 'correct horse' });
    const wrong = await t.app.request('/hub/login', { method: 'POST', body: g.body, headers: { ...g.headers, cookie: `_xsrf=${'B'.repeat(32)}` } });
    assert.equal(wrong.status, 403);
    assert.equal((await t.db.select().from(schema.sessions)).length, 0);
  });
  for (const evil of ['//evil.com', 'https://evil.com', '/\\evil.com', 'javascript:alert(1)', '/\t/evil.com', 'evil.com', '\\\\evil.com']) {
    test(`next=${JSON.stringify(evil)} never leaves the site → /hub/home`, async () => {
      const t = await buildTestApp();
      const { res } = await loginAs(t, 'alice', 'correct horse', { next: evil });
      assert.equal(res.status, 302);
      assert.equal(res.headers.get('location'), '/hub/home');
    });
  }
  test('a same-site next is honoured, query included', async () => {
    const t = await buildTestApp();
    const next = '/hub/api/oauth2/authorize?client_id=jupyterhub-user-alice&state=x';
    const { res } = await loginAs(t, 'alice', 'correct horse', { next });
    assert.equal(res.headers.get('location'), next);
  });
});

describe('/hub/logout', () => {
  test('deletes the session and its tokens (not other sessions\'), clears cookies, redirects to login', async () => {
    const t = await buildTestApp();
    const { jar, session } = await loggedIn(t, 'alice');
    const other = await loggedIn(t, 'alice');
    const user = (await t.db.query.users.findFirst({ where: eq(schema.users.name, 'alice') }))!;
    const mine = await t.createToken(user.id, ['inherit'], { kind: 'oauth', sessionId: session.sessionId });
    const theirs = await t.createToken(user.id, ['inherit'], { kind: 'oauth', sessionId: other.session.sessionId });
    assert.equal((await t.request('/hub/api/user', { token: mine })).status, 200);
    const res = jar.take(await t.app.request('/hub/logout', { headers: { cookie: jar.header() } }));
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/hub/login');
    assert.match(cookieLine(res, 'jupyterhub-hub-login')!, /Max-Age=0; Path=\/hub\//);
    assert.match(cookieLine(res, 'jupyterhub-session-id')!, /Max-Age=0; Path=\//);
    assert.equal(jar.size, 0);
    const gone = await t.request('/hub/api/user', { token: mine });
    assert.equal(gone.status, 403);
    assert.deepEqual(await gone.json(), { status: 403, message: 'Forbidden' });
    assert.equal((await t.request('/hub/api/user', { token: theirs })).status, 200);
    const audit = await t.db.select().from(schema.audit);
    assert.ok(audit.some((a) => a.action === 'logout' && a.actor === 'alice'));
  });
  test('the old login cookie no longer works after logout', async () => {
    const t = await buildTestApp();
    const { jar } = await loggedIn(t, 'alice');
    const saved = jar.header();
    await t.app.request('/hub/logout', { headers: { cookie: saved } });
    const res = await t.app.request('/hub/home', { headers: { cookie: saved } });
    assert.equal(res.status, 302);
    assert.match(res.headers.get('location')!, /^\/hub\/login\?next=/);
  });
  test('a session-tagged OAuth token from the real flow is revoked (H25)', async () => {
    const t = await buildTestApp();
    const { jar } = await loggedIn(t, 'alice');
    const { clientId, redirectUri, serverToken } = await serverWithClient(t, 'alice');
    const auth = await t.app.request(`/hub/api/oauth2/authorize?client_id=${clientId}&redirect_uri=${encodeURIComponent(redirectUri)}&response_type=code&state=s1`, { headers: { cookie: jar.header() } });
    const code = new URL(auth.headers.get('location')!, 'http://x').searchParams.get('code')!;
    const f = form({ client_id: clientId, client_secret: serverToken, grant_type: 'authorization_code', code, redirect_uri: redirectUri });
    const tok = await t.app.request('/hub/api/oauth2/token', { method: 'POST', ...f });
    const { access_token } = (await tok.json()) as { access_token: string };
    assert.equal((await t.request('/hub/api/user', { token: access_token })).status, 200);
    await t.app.request('/hub/logout', { headers: { cookie: jar.header() } });
    assert.equal((await t.request('/hub/api/user', { token: access_token })).status, 403);
    assert.equal((await t.request('/hub/api/user', { token: serverToken })).status, 200, 'the server token is not the session\'s');
  });
  test('a code issued before logout cannot be redeemed after it', async () => {
    const t = await buildTestApp();
    const { jar } = await loggedIn(t, 'alice');
    const { clientId, redirectUri, serverToken } = await serverWithClient(t, 'alice');
    const auth = await t.app.request(`/hub/api/oauth2/authorize?client_id=${clientId}&redirect_uri=${encodeURIComponent(redirectUri)}&response_type=code&state=s1`, { headers: { cookie: jar.header() } });
    const code = new URL(auth.headers.get('location')!, 'http://x').searchParams.get('code')!;
    assert.match(code, /^[A-Za-z0-9]{30}$/);
    await t.app.request('/hub/logout', { headers: { cookie: jar.header() } });
    const f = form({ client_id: clientId, client_secret: serverToken, grant_type: 'authorization_code', code, redirect_uri: redirectUri });
    const tok = await t.app.request('/hub/api/oauth2/token', { method: 'POST', ...f });
    assert.equal(tok.status, 400);
    assert.deepEqual(await tok.json(), { error: 'invalid_grant' });
    assert.equal((await t.db.select().from(schema.tokens).where(eq(schema.tokens.kind, 'oauth'))).length, 0);
  });
  test('POST /hub/logout needs the session XSRF token', async () => {
    const t = await buildTestApp();
    const { jar, session } = await loggedIn(t, 'alice');
    const bad = await t.app.request('/hub/logout', { method: 'POST', body: form({}).body, headers: { ...form({}).headers, cookie: jar.header() } });
    assert.equal(bad.status, 403);
    assert.equal((await t.db.select().from(schema.sessions)).length, 1);
    const f = form({ _xsrf: session.xsrf });
    const ok = await t.app.request('/hub/logout', { method: 'POST', body: f.body, headers: { ...f.headers, cookie: jar.header() } });
    assert.equal(ok.status, 302);
    assert.equal((await t.db.select().from(schema.sessions)).length, 0);
  });
  test('not logged in → just clears cookies and redirects; tokens of that session id survive', async () => {
    const t = await buildTestApp();
    const alice = await t.createUser('alice');
    const token = await t.createToken(alice.id, ['inherit'], { sessionId: 'feedfacefeedfacefeedfacefeedface' });
    const res = await t.app.request('/hub/logout', { headers: { cookie: 'jupyterhub-session-id=feedfacefeedfacefeedfacefeedface' } });
    assert.equal(res.status, 302);
    assert.equal((await t.request('/hub/api/user', { token })).status, 200);
  });
  test('shutdown_on_logout stops the user\'s running server', async () => {
    const t = await buildTestApp({ config: { hub: { shutdown_on_logout: true } } });
    const { jar } = await loggedIn(t, 'alice');
    const { server } = await serverWithClient(t, 'alice');
    await t.app.request('/hub/logout', { headers: { cookie: jar.header() } });
    const row = await t.db.query.servers.findFirst({ where: eq(schema.servers.id, server.id) });
    assert.ok(row && ['stopping', 'stopped'].includes(row.state), `state ${row?.state}`);
  });
  test('without shutdown_on_logout the server keeps running', async () => {
    const t = await buildTestApp();
    const { jar } = await loggedIn(t, 'alice');
    const { server } = await serverWithClient(t, 'alice');
    await t.app.request('/hub/logout', { headers: { cookie: jar.header() } });
    const row = await t.db.query.servers.findFirst({ where: eq(schema.servers.id, server.id) });
    assert.equal(row?.state, 'running');
  });
});

describe('under a base URL', () => {
  test('cookie paths follow hub.base_url; next and redirects carry the prefix', async () => {
    const t = await buildTestApp({ config: { hub: { base_url: '/jh/' } } });
    const page = await t.app.request('/jh/hub/login');
    assert.equal(page.status, 200);
    const xsrf = /name="_xsrf" value="([^"]+)"/.exec(await page.text())![1]!;
    const f = form({ _xsrf: xsrf, username: 'alice', password: 'correct horse' });
    const res = await t.app.request('/jh/hub/login', { method: 'POST', body: f.body, headers: { ...f.headers, cookie: `_xsrf=${xsrf}` } });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/jh/hub/home');
    assert.match(cookieLine(res, 'jupyterhub-hub-login')!, /; Path=\/jh\/hub\/;/);
    assert.match(cookieLine(res, 'jupyterhub-session-id')!, /; Path=\/jh\/;/);
    const out = await t.app.request('/jh/user/alice/tree?x=1');
    assert.deepEqual([out.status, out.headers.get('location')], [302, '/jh/hub/user/alice/tree?x=1']);
    const home = await t.app.request('/jh/hub/home');
    assert.equal(home.headers.get('location'), `/jh/hub/login?next=${encodeURIComponent('/jh/hub/home')}`);
  });
});
