// /hub/api/users/:name/tokens[/:token_id] (spec B.8, F).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { buildTestApp, testClock } from '../../test/helpers/app.ts';
import { authSuite } from '../../test/helpers/auth-suite.ts';
import { insertServer } from '../../test/helpers/server-rows.ts';
import { schema } from '../../db/client.ts';
import { serverTokenScopes } from '../../src/auth/scopes.ts';

describe('tokens auth', () => {
  authSuite({ method: 'GET', path: (o) => `/hub/api/users/${o}/tokens`, ok: [200] });
  authSuite({ method: 'POST', path: (o) => `/hub/api/users/${o}/tokens`, body: { note: 'x' }, ok: [201] });
  const firstId = async (t: Awaited<ReturnType<typeof buildTestApp>>, o: { id: number }) => { await t.createToken(o.id, ['read:users!user']); };
  authSuite({ method: 'GET', path: (o) => `/hub/api/users/${o}/tokens/a1`, ok: [200], prepare: firstId });
  authSuite({ method: 'DELETE', path: (o) => `/hub/api/users/${o}/tokens/a1`, ok: [204], prepare: firstId });
});

async function setup() {
  const clock = testClock();
  const t = await buildTestApp({ clock });
  const alice = await t.createUser('alice');
  const token = await t.createToken(alice.id);
  const call = (method: string, path: string, body?: unknown, tok = token) =>
    t.request(path, { method, token: tok, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { t, clock, alice, token, call };
}
async function json(res: Response, status: number) {
  const text = await res.text();
  assert.equal(res.status, status, text);
  return text ? JSON.parse(text) : undefined;
}

describe('user tokens', () => {
  test('create → 201 model + 32-hex token that works; listed; read by id; revoked → 403 at /user', async () => {
    const { t, clock, call } = await setup();
    const made = await json(await call('POST', '/hub/api/users/alice/tokens', { note: 'laptop', expires_in: 3600, scopes: ['read:users!user', 'read:servers!user=alice'] }), 201);
    assert.match(made.token, /^[0-9a-f]{32}$/);
    assert.match(made.id, /^a\d+$/);
    assert.deepEqual({ ...made, token: undefined, id: undefined }, {
      token: undefined, id: undefined, user: 'alice', kind: 'api_token', roles: [],
      scopes: ['read:servers!user=alice', 'read:users!user=alice', 'read:users:activity!user=alice', 'read:users:groups!user=alice', 'read:users:name!user=alice'],
      created: '2026-11-22T01:00:00Z', last_activity: null, expires_at: '2026-11-22T02:00:00Z', note: 'laptop', session_id: null, oauth_client: 'JupyterHub',
    });
    const me = await json(await t.request('/hub/api/user', { token: made.token }), 200);
    assert.equal(me.name, 'alice');
    assert.equal(me.token_id, made.id);

    clock.advance(1000);
    const list = await json(await call('GET', '/hub/api/users/alice/tokens'), 200);
    assert.deepEqual(Object.keys(list), ['api_tokens']);
    assert.ok(list.api_tokens.some((x: { id: string }) => x.id === made.id));
    assert.ok(list.api_tokens.every((x: Record<string, unknown>) => !('token' in x)), 'never shown again');
    assert.equal((await json(await call('GET', `/hub/api/users/alice/tokens/${made.id}`), 200)).note, 'laptop');

    const del = await call('DELETE', `/hub/api/users/alice/tokens/${made.id}`);
    assert.equal(del.status, 204);
    assert.equal(await del.text(), '');
    assert.deepEqual(await json(await t.request('/hub/api/user', { token: made.token }), 403), { status: 403, message: 'Forbidden' });
    assert.deepEqual(await json(await call('GET', `/hub/api/users/alice/tokens/${made.id}`), 404), { status: 404, message: `No such token ${made.id} for user alice` });
  });

  test('defaults: scopes inherit, note "Requested via api", no expiry; an admin creating for alice is named in the note', async () => {
    const { t, call } = await setup();
    const made = await json(await call('POST', '/hub/api/users/alice/tokens'), 201);
    assert.equal(made.note, 'Requested via api');
    assert.equal(made.expires_at, null);
    assert.ok(made.scopes.includes('tokens!user=alice'));
    const row = await t.db.query.tokens.findFirst({ where: eq(schema.tokens.id, Number(made.id.slice(1))) });
    assert.deepEqual(row!.scopes, ['inherit']);
    const admin = await t.createUser('root', { admin: true });
    const byAdmin = await json(await call('POST', '/hub/api/users/alice/tokens', {}, await t.createToken(admin.id)), 201);
    assert.equal(byAdmin.note, 'Requested via api by user root');
  });

  test('400: scopes and roles together, unknown scope, a scope alice does not hold, bad expires_in, unknown field', async () => {
    const { call } = await setup();
    const cases: [unknown, string | RegExp][] = [
      [{ scopes: ['read:users'], roles: ['user'] }, 'Can only assign one of scopes or roles when creating tokens.'],
      [{ scopes: ['read:everything'] }, "Scope 'read:everything' for token does not exist"],
      [{ scopes: ['admin:users'] }, /^Not assigning requested scopes .*admin:users.* not held by User alice$/],
      [{ scopes: ['read:users!user=bob'] }, /not held by User alice$/],
      [{ roles: ['wizard'] }, 'No such role: wizard'],
      [{ expires_in: -5 }, 'expires_in must be a positive integer or null, not -5'],
      [{ expires_in: 1.5 }, /expires_in/],
      [{ expires_in: 'soon' }, /expires_in/],
      [{ bogus: true }, /bogus/],
    ];
    for (const [body, message] of cases) {
      const res = await json(await call('POST', '/hub/api/users/alice/tokens', body), 400);
      assert.equal(res.status, 400);
      if (typeof message === 'string') assert.equal(res.message, message);
      else assert.match(res.message, message);
    }
  });

  test('roles map to scopes (the deprecated form)', async () => {
    const { call } = await setup();
    const made = await json(await call('POST', '/hub/api/users/alice/tokens', { roles: ['server'] }), 201);
    assert.deepEqual(made.scopes, ['read:users:activity!user=alice', 'read:users:groups!user=alice', 'read:users:name!user=alice', 'users:activity!user=alice']);
  });

  test("another user's tokens: 404 to read (filtered scope), 403 to create", async () => {
    const { t, call } = await setup();
    await t.createUser('bob');
    assert.equal((await json(await call('GET', '/hub/api/users/bob/tokens'), 404)).status, 404);
    assert.deepEqual(await json(await call('POST', '/hub/api/users/bob/tokens', {}), 403), { status: 403, message: 'User bob not found or no permissions to generate tokens' });
    assert.equal((await json(await call('POST', '/hub/api/users/nobody/tokens', {}), 403)).status, 403);
  });

  test("expired tokens are invisible: not listed, not readable, and purged; bad ids are 404", async () => {
    const { t, clock, alice, call } = await setup();
    await t.createToken(alice.id, ['inherit'], { expiresAt: clock.now() - 1, note: 'old' });
    const list = await json(await call('GET', '/hub/api/users/alice/tokens'), 200);
    assert.deepEqual(list.api_tokens.map((x: { note: string }) => x.note), [null]);
    assert.equal((await t.db.select().from(schema.tokens)).length, 1);
    for (const id of ['a2', 'a999', '2', 'abc', 'a1x']) assert.equal((await call('GET', `/hub/api/users/alice/tokens/${id}`)).status, 404);
  });

  test('server and OAuth tokens are listed; deleting an OAuth token deletes all from that client', async () => {
    const { t, alice, call } = await setup();
    const server = await insertServer(t.db, alice.id, 'running');
    await t.createToken(alice.id, serverTokenScopes('alice', ''), { kind: 'server', serverId: server.id, note: 'Server at /user/alice/' });
    await t.db.insert(schema.oauthClients).values({ id: 'jupyterhub-user-alice', secretHash: 'x', redirectUri: '/user/alice/oauth_callback', description: 'Server at /user/alice/', allowedScopes: [], serverId: server.id, createdAt: 0 });
    const oauthScopes = ['access:servers!server=alice/', 'read:users:groups!user', 'read:users:name!user'];
    for (const sessionId of ['s1', 's2']) await t.createToken(alice.id, oauthScopes, { kind: 'oauth', oauthClientId: 'jupyterhub-user-alice', sessionId });
    const list = (await json(await call('GET', '/hub/api/users/alice/tokens'), 200)).api_tokens as Record<string, unknown>[];
    const serverToken = list.find((x) => x.note === 'Server at /user/alice/')!;
    assert.deepEqual(serverToken.scopes, ['access:servers!server=alice/', 'read:users:activity!user=alice', 'read:users:groups!user=alice', 'read:users:name!user=alice', 'users:activity!user=alice']);
    const oauth = list.filter((x) => x.oauth_client === 'Server at /user/alice/');
    assert.deepEqual(oauth.map((x) => x.session_id).sort(), ['s1', 's2']);
    assert.deepEqual(oauth[0]!.scopes, ['access:servers!server=alice/', 'read:users:groups!user=alice', 'read:users:name!user=alice']);

    assert.equal((await call('DELETE', `/hub/api/users/alice/tokens/${oauth[0]!.id}`)).status, 204);
    const after = (await json(await call('GET', '/hub/api/users/alice/tokens'), 200)).api_tokens as Record<string, unknown>[];
    assert.equal(after.filter((x) => x.oauth_client === 'Server at /user/alice/').length, 0);
    assert.equal(after.length, 2, 'the api token and the server token remain');
  });
});
