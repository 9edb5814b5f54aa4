// The OAuth provider single-user servers use (spec B.3, checklist H16–H22, H24–H27).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { buildTestApp, testClock } from '../../test/helpers/app.ts';
import { form, loggedIn, loginAs, serverWithClient } from '../../test/helpers/login.ts';
import { schema } from '../../db/client.ts';
import { sha256 } from '../../src/auth/tokens.ts';
import { requestStop } from '../../src/services/servers/request-stop.ts';

type T = Awaited<ReturnType<typeof buildTestApp>>;
const OWNER_SCOPES = ['access:servers!server=alice/', 'read:users:groups!user', 'read:users:name!user'];
// a JupyterHub 3.x state: base64url JSON, no padding — must come back byte-for-byte
const STATE = 'eyJ1dWlkIjogIjdkNjRhIiwgIm5leHRfdXJsIjogIi91c2VyL2FsaWNlL3RyZWU_cmVkaXJlY3RzPTEifQ';

const authorizeUrl = (clientId: string, redirectUri: string, extra = '') =>
  `/hub/api/oauth2/authorize?client_id=${encodeURIComponent(clientId)}&redirect_uri=${encodeURIComponent(redirectUri)}&response_type=code&state=${STATE}${extra}`;

/** alice logged in, alice's default server with its client. */
async function setup(opts: Parameters<typeof buildTestApp>[0] = {}) {
  const t = await buildTestApp(opts);
  const login = await loggedIn(t, 'alice');
  const srv = await serverWithClient(t, 'alice');
  return { t, ...login, ...srv };
}

async function getCode(t: T, cookie: string, clientId: string, redirectUri: string, extra = '') {
  const res = await t.app.request(authorizeUrl(clientId, redirectUri, extra), { headers: { cookie } });
  assert.equal(res.status, 302, await res.clone().text());
  return new URL(res.headers.get('location')!, 'http://x').searchParams.get('code')!;
}

/** Exactly what a single-user server sends (spec B.3 step 4), Authorization header included. */
const exchange = (t: T, fields: Record<string, string>, serverToken?: string) => {
  const f = form(fields);
  return t.app.request('/hub/api/oauth2/token', { method: 'POST', body: f.body, headers: { ...f.headers, ...(serverToken ? { authorization: `token ${serverToken}` } : {}) } });
};

describe('GET /hub/api/oauth2/authorize', () => {
  test('H16: not logged in → /hub/login?next=<encoded authorize URI>, and login returns there', async () => {
    const { t, clientId, redirectUri } = await setup();
    const url = authorizeUrl(clientId, redirectUri);
    const res = await t.app.request(url);
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), `/hub/login?next=${encodeURIComponent(url)}`);
    const back = await loginAs(t, 'alice', 'correct horse', { next: url });
    assert.equal(back.res.headers.get('location'), url);
  });
  test('an API token is not a browser login: still sent to log in', async () => {
    const { t, clientId, redirectUri, user } = await setup();
    const token = await t.createToken(user.id);
    const res = await t.request(authorizeUrl(clientId, redirectUri), { token });
    assert.equal(res.status, 302);
    assert.match(res.headers.get('location')!, /^\/hub\/login\?next=/);
  });
  test('H17: the owner gets a code at once, state byte-for-byte, code stored hashed for 300 s', async () => {
    const clock = testClock();
    const { t, jar, session, clientId, redirectUri } = await setup({ clock });
    const res = await t.app.request(authorizeUrl(clientId, redirectUri), { headers: { cookie: jar.header() } });
    assert.equal(res.status, 302);
    const location = res.headers.get('location')!;
    const m = /^\/user\/alice\/oauth_callback\?code=([A-Za-z0-9]{30})&state=(.*)$/.exec(location);
    assert.ok(m, location);
    assert.equal(m[2], STATE);
    const rows = await t.db.select().from(schema.oauthCodes);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.codeHash, sha256(m[1]!));
    assert.equal(rows[0]!.clientId, clientId);
    assert.equal(rows[0]!.sessionId, session.sessionId);
    assert.equal(rows[0]!.redirectUri, redirectUri);
    assert.deepEqual(rows[0]!.scopes, OWNER_SCOPES);
    assert.equal(rows[0]!.expiresAt, clock.now() + 300_000);
  });
  test('a state with reserved characters round-trips exactly', async () => {
    const { t, jar, clientId, redirectUri } = await setup();
    const state = 'a+b/c=d&e f~';
    const res = await t.app.request(`/hub/api/oauth2/authorize?client_id=${clientId}&redirect_uri=${encodeURIComponent(redirectUri)}&response_type=code&state=${encodeURIComponent(state)}`, { headers: { cookie: jar.header() } });
    assert.equal(new URL(res.headers.get('location')!, 'http://x').searchParams.get('state'), state);
  });
  test('sets jupyterhub-session-id when the browser lacks it, and tags the code with it', async () => {
    const { t, jar, session, clientId, redirectUri } = await setup();
    jar.delete('jupyterhub-session-id');
    const res = await t.app.request(authorizeUrl(clientId, redirectUri), { headers: { cookie: jar.header() } });
    assert.equal(res.status, 302);
    const set = res.headers.getSetCookie().find((l) => l.startsWith('jupyterhub-session-id='));
    assert.equal(set, `jupyterhub-session-id=${session.sessionId}; Path=/; HttpOnly; SameSite=Lax`);
  });
  test('H18: another non-admin user → 403 with JupyterHub\'s message, no code', async () => {
    const { t, clientId, redirectUri } = await setup();
    const bob = await loggedIn(t, 'bob');
    const res = await t.app.request(authorizeUrl(clientId, redirectUri), { headers: { cookie: bob.jar.header() } });
    assert.equal(res.status, 403);
    assert.match(await res.text(), /You do not have permission to access Server at \/user\/alice\//);
    assert.equal((await t.db.select().from(schema.oauthCodes)).length, 0);
  });
  test('H18: an admin gets the consent page; its POST (with _xsrf) returns a code', async () => {
    const { t, clientId, redirectUri, serverToken } = await setup();
    const admin = await loggedIn(t, 'admin', 'admin secret pw');
    const url = authorizeUrl(clientId, redirectUri);
    const page = await t.app.request(url, { headers: { cookie: admin.jar.header() } });
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /Authorize access/);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    assert.equal(page.headers.get('content-security-policy'), "frame-ancestors 'none'");
    assert.match(html, new RegExp(`name="_xsrf" value="${admin.session.xsrf}"`));
    assert.equal((await t.db.select().from(schema.oauthCodes)).length, 0, 'no code before consent');
    const noXsrf = await t.app.request(url, { method: 'POST', ...form({}), headers: { ...form({}).headers, cookie: admin.jar.header() } });
    assert.equal(noXsrf.status, 403);
    const f = form({ _xsrf: admin.session.xsrf });
    const ok = await t.app.request(url, { method: 'POST', body: f.body, headers: { ...f.headers, cookie: admin.jar.header() } });
    assert.equal(ok.status, 302);
    const code = new URL(ok.headers.get('location')!, 'http://x').searchParams.get('code')!;
    assert.match(code, /^[A-Za-z0-9]{30}$/);
    // H27: the admin's token lets the single-user server admit them (explicit server filter)
    const tok = await exchange(t, { client_id: clientId, client_secret: serverToken, grant_type: 'authorization_code', code, redirect_uri: redirectUri });
    const { access_token } = (await tok.json()) as { access_token: string };
    const me = (await (await t.request('/hub/api/user', { token: access_token })).json()) as { name: string; scopes: string[] };
    assert.equal(me.name, 'admin');
    assert.ok(me.scopes.includes('access:servers!server=alice/'), me.scopes.join(' '));
    // consent is remembered through the token: the next authorize goes straight through
    const again = await t.app.request(url, { headers: { cookie: admin.jar.header() } });
    assert.equal(again.status, 302);
  });
  test('H19: unknown client_id → 400, no redirect', async () => {
    const { t, jar, redirectUri } = await setup();
    const res = await t.app.request(authorizeUrl('jupyterhub-user-nobody', redirectUri), { headers: { cookie: jar.header() } });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null);
  });
  for (const bad of ['/user/alice/oauth_callback/', 'http://evil.com/user/alice/oauth_callback', '/user/bob/oauth_callback', '/user/alice/oauth_callback?x=1', '/user/Alice/oauth_callback']) {
    test(`H19: redirect_uri ${bad} (not the registered one) → 400, no redirect`, async () => {
      const { t, jar, clientId } = await setup();
      const res = await t.app.request(authorizeUrl(clientId, bad), { headers: { cookie: jar.header() } });
      assert.equal(res.status, 400);
      assert.equal(res.headers.get('location'), null);
      assert.equal((await t.db.select().from(schema.oauthCodes)).length, 0);
    });
  }
  test('response_type other than code → error redirect with state', async () => {
    const { t, jar, clientId, redirectUri } = await setup();
    const url = `/hub/api/oauth2/authorize?client_id=${clientId}&redirect_uri=${encodeURIComponent(redirectUri)}&response_type=token&state=${STATE}`;
    const res = await t.app.request(url, { headers: { cookie: jar.header() } });
    assert.equal(res.status, 302);
    const loc = new URL(res.headers.get('location')!, 'http://x');
    assert.equal(loc.pathname, redirectUri);
    assert.equal(loc.searchParams.get('error'), 'unsupported_response_type');
    assert.equal(loc.searchParams.get('state'), STATE);
    assert.equal(loc.searchParams.get('code'), null);
  });
  test('a scope outside the client\'s allowed ones → invalid_scope redirect', async () => {
    const { t, jar, clientId, redirectUri } = await setup();
    const res = await t.app.request(authorizeUrl(clientId, redirectUri, '&scope=admin%3Ausers'), { headers: { cookie: jar.header() } });
    assert.equal(new URL(res.headers.get('location')!, 'http://x').searchParams.get('error'), 'invalid_scope');
  });
  test('an explicit scope=identify still carries the identify and access scopes (C.5: requested ∪ required)', async () => {
    const { t, jar, clientId, redirectUri } = await setup();
    await getCode(t, jar.header(), clientId, redirectUri, '&scope=identify');
    const [row] = await t.db.select().from(schema.oauthCodes);
    assert.deepEqual(row!.scopes, OWNER_SCOPES);
  });
  test('configured allowed scopes the user lacks are dropped, held ones kept (C.5)', async () => {
    const { t, jar, clientId, redirectUri } = await setup({ config: { spawner: { image: 'fake', oauth_client_allowed_scopes: ['read:users!user', 'admin:users'] } } });
    await getCode(t, jar.header(), clientId, redirectUri);
    const [row] = await t.db.select().from(schema.oauthCodes);
    assert.deepEqual(row!.scopes, ['access:servers!server=alice/', 'read:users!user', 'read:users:groups!user', 'read:users:name!user']);
  });
});

describe('POST /hub/api/oauth2/token', () => {
  test('H20: the single-user server\'s exact request (with Authorization: token) → 200 token reply; /api/user gives the B.2 shape', async () => {
    const { t, jar, session, clientId, redirectUri, serverToken } = await setup();
    const code = await getCode(t, jar.header(), clientId, redirectUri);
    const res = await exchange(t, { client_id: clientId, client_secret: serverToken, grant_type: 'authorization_code', code, redirect_uri: redirectUri }, serverToken);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('pragma'), 'no-cache');
    assert.match(res.headers.get('content-type')!, /^application\/json/);
    const body = (await res.json()) as Record<string, unknown>;
    assert.match(String(body.access_token), /^[A-Za-z0-9]{30}$/);
    assert.deepEqual({ ...body, access_token: 'x' }, { access_token: 'x', expires_in: 1209600, token_type: 'Bearer', scope: OWNER_SCOPES.join(' ') });
    const row = (await t.db.select().from(schema.tokens).where(eq(schema.tokens.kind, 'oauth')))[0]!;
    assert.deepEqual([row.oauthClientId, row.sessionId, row.note, row.scopes], [clientId, session.sessionId, 'OAuth token', OWNER_SCOPES]);
    const me = await t.request('/hub/api/user', { token: String(body.access_token) });
    assert.equal(me.status, 200);
    assert.deepEqual(await me.json(), {
      kind: 'user', name: 'alice', admin: false, groups: [], session_id: session.sessionId,
      scopes: ['access:servers!server=alice/', 'read:users:groups!user=alice', 'read:users:name!user=alice'],
      token_id: `a${row.id}`,
    });
  });
  test('HTTP Basic client authentication is accepted', async () => {
    const { t, jar, clientId, redirectUri, serverToken } = await setup();
    const code = await getCode(t, jar.header(), clientId, redirectUri);
    const f = form({ grant_type: 'authorization_code', code, redirect_uri: redirectUri });
    const basic = Buffer.from(`${encodeURIComponent(clientId)}:${serverToken}`).toString('base64');
    const res = await t.app.request('/hub/api/oauth2/token', { method: 'POST', body: f.body, headers: { ...f.headers, authorization: `Basic ${basic}` } });
    assert.equal(res.status, 200);
  });
  test('H21: a code works once; the second use → 400 invalid_grant', async () => {
    const { t, jar, clientId, redirectUri, serverToken } = await setup();
    const code = await getCode(t, jar.header(), clientId, redirectUri);
    const fields = { client_id: clientId, client_secret: serverToken, grant_type: 'authorization_code', code, redirect_uri: redirectUri };
    assert.equal((await exchange(t, fields, serverToken)).status, 200);
    const again = await exchange(t, fields, serverToken);
    assert.equal(again.status, 400);
    assert.deepEqual(await again.json(), { error: 'invalid_grant' });
  });
  test('H21: a code older than 300 s → 400 invalid_grant', async () => {
    const clock = testClock();
    const { t, jar, clientId, redirectUri, serverToken } = await setup({ clock });
    const code = await getCode(t, jar.header(), clientId, redirectUri);
    clock.advance(301_000);
    const res = await exchange(t, { client_id: clientId, client_secret: serverToken, grant_type: 'authorization_code', code, redirect_uri: redirectUri });
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { error: 'invalid_grant' });
  });
  test('H22: a wrong client_secret → 401 invalid_client (even with a valid Authorization: token)', async () => {
    const { t, jar, clientId, redirectUri, serverToken } = await setup();
    const code = await getCode(t, jar.header(), clientId, redirectUri);
    const res = await exchange(t, { client_id: clientId, client_secret: 'f'.repeat(32), grant_type: 'authorization_code', code, redirect_uri: redirectUri }, serverToken);
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { error: 'invalid_client' });
    // and the code was not spent by the failed attempt
    const ok = await exchange(t, { client_id: clientId, client_secret: serverToken, grant_type: 'authorization_code', code, redirect_uri: redirectUri });
    assert.equal(ok.status, 200);
  });
  test('no client credentials in the body, only Authorization: token → 401 invalid_client', async () => {
    const { t, jar, clientId, redirectUri, serverToken } = await setup();
    const code = await getCode(t, jar.header(), clientId, redirectUri);
    const res = await exchange(t, { grant_type: 'authorization_code', code, redirect_uri: redirectUri }, serverToken);
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { error: 'invalid_client' });
  });
  test('another client\'s code → invalid_grant; bad grant_type, missing code, wrong redirect_uri → OAuth errors', async () => {
    const { t, jar, clientId, redirectUri, serverToken } = await setup();
    const bob = await serverWithClient(t, 'bob');
    const code = await getCode(t, jar.header(), clientId, redirectUri);
    const stolen = await exchange(t, { client_id: bob.clientId, client_secret: bob.serverToken, grant_type: 'authorization_code', code, redirect_uri: bob.redirectUri });
    assert.deepEqual([stolen.status, await stolen.json()], [400, { error: 'invalid_grant' }]);
    const grant = await exchange(t, { client_id: clientId, client_secret: serverToken, grant_type: 'refresh_token', code });
    assert.deepEqual([grant.status, await grant.json()], [400, { error: 'unsupported_grant_type' }]);
    const noCode = await exchange(t, { client_id: clientId, client_secret: serverToken, grant_type: 'authorization_code' });
    assert.equal(noCode.status, 400);
    assert.equal(((await noCode.json()) as { error: string }).error, 'invalid_request');
    const wrongUri = await exchange(t, { client_id: clientId, client_secret: serverToken, grant_type: 'authorization_code', code, redirect_uri: '/user/alice/other' });
    assert.equal(wrongUri.status, 400);
    assert.equal(((await wrongUri.json()) as { error: string }).error, 'invalid_request');
  });
  test('H24: PKCE S256 — the right verifier works, a wrong one fails', async () => {
    const { t, jar, clientId, redirectUri, serverToken } = await setup();
    const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
    const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'; // RFC 7636 appendix B
    const pkce = `&code_challenge=${challenge}&code_challenge_method=S256`;
    const base = { client_id: clientId, client_secret: serverToken, grant_type: 'authorization_code', redirect_uri: redirectUri };
    const wrong = await exchange(t, { ...base, code: await getCode(t, jar.header(), clientId, redirectUri, pkce), code_verifier: verifier + 'x' });
    assert.equal(wrong.status, 400);
    assert.equal(((await wrong.json()) as { error: string }).error, 'invalid_grant');
    const right = await exchange(t, { ...base, code: await getCode(t, jar.header(), clientId, redirectUri, pkce), code_verifier: verifier });
    assert.equal(right.status, 200);
  });
  test('H26: stopping the server deletes its client and tokens: server and OAuth tokens → 403', async () => {
    const { t, jar, clientId, redirectUri, serverToken, user } = await setup();
    const code = await getCode(t, jar.header(), clientId, redirectUri);
    const { access_token } = (await (await exchange(t, { client_id: clientId, client_secret: serverToken, grant_type: 'authorization_code', code, redirect_uri: redirectUri })).json()) as { access_token: string };
    assert.equal((await t.request('/hub/api/user', { token: serverToken })).status, 200);
    await requestStop({ ctx: t.ctx, input: { user, serverName: '' } });
    assert.equal((await t.request('/hub/api/user', { token: serverToken })).status, 403);
    assert.equal((await t.request('/hub/api/user', { token: access_token })).status, 403);
    assert.equal((await t.db.select().from(schema.oauthClients)).length, 0);
  });
});
