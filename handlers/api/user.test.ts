// GET /hub/api/user: the token check (spec B.2, C.6, H12–14, H29).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, testClock } from '../../test/helpers/app.ts';
import { authSuite } from '../../test/helpers/auth-suite.ts';
import { schema } from '../../db/client.ts';
import { serverTokenScopes } from '../../src/auth/scopes.ts';
import { sha256 } from '../../src/auth/tokens.ts';
import { LOGIN_COOKIE } from '../../src/auth/identity.ts';

describe('GET /hub/api/user auth', () => {
  authSuite({ method: 'GET', path: () => '/hub/api/user', ok: [200], perUser: false });
});

async function withServer(t: Awaited<ReturnType<typeof buildTestApp>>, userId: number, name = '', state: 'running' | 'queued' = 'running') {
  const [row] = await t.db.insert(schema.servers).values({ userId, name, state, backend: 'fake', backendRef: { id: 'x' }, startedAt: t.ctx.clock.now(), requestedAt: t.ctx.clock.now() }).returning();
  return row!;
}

describe('GET /hub/api/user', () => {
  test('missing, invalid and expired tokens get 403 {"status":403,"message":"Forbidden"}', async () => {
    const clock = testClock();
    const t = await buildTestApp({ clock });
    const alice = await t.createUser('alice');
    const expired = await t.createToken(alice.id, ['inherit'], { expiresAt: clock.now() - 1 });
    for (const token of [undefined, 'not-a-real-token-at-all', expired]) {
      const res = await t.request('/hub/api/user', token ? { token } : {});
      assert.equal(res.status, 403);
      assert.deepEqual(await res.json(), { status: 403, message: 'Forbidden' });
    }
  });

  test('a browser OAuth token sees the identify model with resolved filters, session and token id', async () => {
    const t = await buildTestApp();
    const alice = await t.createUser('alice');
    const server = await withServer(t, alice.id);
    await t.db.insert(schema.oauthClients).values({ id: 'jupyterhub-user-alice', secretHash: 'x', redirectUri: '/user/alice/oauth_callback', description: 'Server at /user/alice/', allowedScopes: [], serverId: server.id, createdAt: 0 });
    const token = await t.createToken(alice.id, ['access:servers!server=alice/', 'read:users:groups!user', 'read:users:name!user'], { kind: 'oauth', oauthClientId: 'jupyterhub-user-alice', sessionId: 'a57253f00a384d7e886b2ac136757e3b' });
    const res = await t.request('/hub/api/user', { headers: { authorization: `bearer ${token}` } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    const id = body.token_id as string;
    assert.match(id, /^a\d+$/);
    assert.deepEqual(body, {
      kind: 'user', name: 'alice', admin: false, groups: [],
      session_id: 'a57253f00a384d7e886b2ac136757e3b',
      scopes: ['access:servers!server=alice/', 'read:users:groups!user=alice', 'read:users:name!user=alice'],
      token_id: id,
    });
  });

  test("an admin's OAuth token from alice's server resolves !server to alice's server, not the admin's", async () => {
    const t = await buildTestApp();
    const alice = await t.createUser('alice');
    const root = await t.createUser('root', { admin: true });
    const server = await withServer(t, alice.id);
    await t.db.insert(schema.oauthClients).values({ id: 'jupyterhub-user-alice', secretHash: 'x', redirectUri: '/user/alice/oauth_callback', description: 'Server at /user/alice/', allowedScopes: [], serverId: server.id, createdAt: 0 });
    const token = await t.createToken(root.id, ['access:servers!server', 'read:users:name!user'], { kind: 'oauth', oauthClientId: 'jupyterhub-user-alice', sessionId: 's' });
    const body = (await (await t.request('/hub/api/user', { token })).json()) as Record<string, unknown>;
    assert.equal(body.name, 'root');
    assert.deepEqual(body.scopes, ['access:servers!server=alice/', 'read:users:groups!user=root', 'read:users:name!user=root']);
    const listed = (await (await t.request('/hub/api/users/root/tokens', { token: await t.createToken(root.id) })).json()) as { api_tokens: { session_id: string; scopes: string[] }[] };
    assert.deepEqual(listed.api_tokens.find((x) => x.session_id === 's')!.scopes, body.scopes);
  });

  test("the server's own token: 5.x scopes (H29) and last_activity, no servers", async () => {
    const t = await buildTestApp();
    const alice = await t.createUser('alice');
    await t.db.update(schema.users).set({ lastActivityUs: Date.UTC(2026, 10, 22, 1, 49, 35, 984) * 1000 + 700 });
    const server = await withServer(t, alice.id);
    const token = await t.createToken(alice.id, serverTokenScopes('alice', ''), { kind: 'server', serverId: server.id, note: 'Server at /user/alice/' });
    const res = await t.request('/hub/api/user', { token });
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.deepEqual(body.scopes, [
      'access:servers!server=alice/', 'read:users:activity!user=alice', 'read:users:groups!user=alice', 'read:users:name!user=alice', 'users:activity!user=alice',
    ]);
    assert.deepEqual(Object.keys(body).sort(), ['admin', 'groups', 'kind', 'last_activity', 'name', 'scopes', 'session_id', 'token_id']);
    assert.equal(body.last_activity, '2026-11-22T01:49:35.984700Z');
    assert.equal(body.session_id, null);
  });

  test('an inherit token sees the full model with its servers; timestamps end in Z', async () => {
    const t = await buildTestApp({ clock: testClock() });
    const alice = await t.createUser('alice');
    await withServer(t, alice.id);
    await withServer(t, alice.id, 'srv1', 'queued');
    const res = await t.request('/hub/api/user', { token: await t.createToken(alice.id) });
    const body = (await res.json()) as Record<string, any>;
    assert.equal(body.server, '/user/alice/');
    assert.equal(body.pending, null);
    assert.deepEqual(body.roles, ['user']);
    assert.equal(body.created, '2026-11-22T01:00:00Z');
    assert.deepEqual(Object.keys(body.servers).sort(), ['', 'srv1']);
    assert.equal(body.servers.srv1.pending, 'spawn');
    assert.equal(body.servers[''].ready, true);
    assert.ok(body.scopes.includes('access:servers!user=alice'));
    assert.ok(!('auth_state' in body), 'auth_state needs admin:auth_state');
  });

  test('a revoked token gets 403 at once', async () => {
    const t = await buildTestApp();
    const alice = await t.createUser('alice');
    const token = await t.createToken(alice.id);
    assert.equal((await t.request('/hub/api/user', { token })).status, 200);
    await t.db.delete(schema.tokens);
    const res = await t.request('/hub/api/user', { token });
    assert.equal(res.status, 403);
    assert.deepEqual(await res.json(), { status: 403, message: 'Forbidden' });
  });

  test('a blocked user’s token gets 403', async () => {
    const t = await buildTestApp();
    const alice = await t.createUser('alice');
    const token = await t.createToken(alice.id);
    await t.db.update(schema.users).set({ blocked: true });
    assert.equal((await t.request('/hub/api/user', { token })).status, 403);
  });

  test('the hub login cookie identifies its user until the session expires or the user is blocked', async () => {
    const clock = testClock();
    const t = await buildTestApp({ clock });
    const alice = await t.createUser('alice');
    await t.db.insert(schema.sessions).values({ cookieHash: sha256('cookie-secret'), sessionId: 'sid', userId: alice.id, xsrf: 'x', createdAt: clock.now(), expiresAt: clock.now() + 1000 });
    const me = () => t.request('/hub/api/user', { headers: { cookie: `${LOGIN_COOKIE}=cookie-secret` } });
    const ok = await me();
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { name: string }).name, 'alice');
    await t.db.update(schema.users).set({ blocked: true });
    assert.deepEqual(await (await me()).json(), { status: 403, message: 'Forbidden' });
    await t.db.update(schema.users).set({ blocked: false });
    assert.equal((await me()).status, 200);
    clock.advance(1001);
    assert.deepEqual(await (await me()).json(), { status: 403, message: 'Forbidden' });
  });

  test('a service token gets the service model', async () => {
    const t = await buildTestApp({ config: { services: [{ name: 'culler', api_token: 'culler-secret-token', scopes: ['list:users', 'read:servers'] }] } });
    const { syncServices } = await import('../../src/services/services/sync.ts');
    await syncServices(t.ctx);
    const res = await t.request('/hub/api/user', { token: 'culler-secret-token' });
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.match(body.token_id as string, /^a\d+$/);
    assert.deepEqual(body, {
      kind: 'service', name: 'culler', admin: false, roles: [], session_id: null, token_id: body.token_id,
      scopes: ['list:users', 'read:servers', 'read:users:name'],
    });
  });
});
