// Auth state end to end: encrypted at login, shown only with admin:auth_state, refreshed through the
// provider before a spawn when old, and passed to the server as the environment the config maps.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { buildTestApp, testClock } from '../../test/helpers/app.ts';
import { Jar } from '../../test/helpers/login.ts';
import { fakeRedirectProvider } from '../../test/helpers/fake-redirect-provider.ts';
import { useProviders } from '../../src/auth/providers/index.ts';
import { FakeBackend } from '../../src/backends/fake/index.ts';
import { schema } from '../../db/client.ts';
import { until } from '../../test/helpers/until.ts';

const KEY = 'c'.repeat(64);

async function setup() {
  const clock = testClock();
  const backend = new FakeBackend();
  const t = await buildTestApp({
    clock, backend,
    config: {
      auth: {
        providers: [{ kind: 'oidc', name: 'fake', issuer: 'https://idp.example/', client_id: 'x' }], allow_all: true, admin_users: ['root'],
        auth_state: { keys: [KEY], environment: { UPSTREAM_TOKEN: 'access_token', UPSTREAM_LOGIN: 'user.login' }, refresh_age: 300 },
      },
    },
  });
  const idp = fakeRedirectProvider('fake');
  let refreshes = 0;
  idp.refresh = async (state) => { refreshes++; return { name: 'alice', authState: { ...state, access_token: `fresh-${refreshes}` } }; };
  useProviders(t.config, [idp]);
  const login = async (name: string, authState: Record<string, unknown>) => {
    idp.codes.set(`code-${name}`, { name, authState });
    const jar = new Jar();
    const start = jar.take(await t.app.request('/hub/oauth_login?provider=fake'));
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
    jar.take(await t.app.request(`/hub/oauth_callback?code=code-${name}&state=${state}`, { headers: { cookie: jar.header() } }));
    return jar;
  };
  return { t, clock, backend, login, refreshes: () => refreshes };
}

describe('auth state', () => {
  test('stored encrypted; only admin:auth_state sees it, decrypted', async () => {
    const { t, login } = await setup();
    await login('alice', { access_token: 'tok-1', user: { login: 'Alice' } });
    const row = await t.db.query.users.findFirst({ where: eq(schema.users.name, 'alice') });
    const auth = await t.userAuth('alice');
    assert.ok(auth!.authState && !auth!.authState.includes('tok-1'));
    const admin = await t.createUser('root', { admin: true });
    const alice = row!;
    const adminToken = await t.createToken(admin.id);
    const readUsers = await t.createToken(admin.id, ['list:users', 'read:users']);
    const own = await t.createToken(alice.id);
    const get = async (token: string) => (await (await t.request('/hub/api/users/alice', { token })).json()) as Record<string, unknown>;
    assert.deepEqual((await get(adminToken)).auth_state, { access_token: 'tok-1', user: { login: 'Alice' } });
    assert.equal('auth_state' in (await get(readUsers)), false);
    assert.equal('auth_state' in (await get(own)), false, 'not even the user themself: JupyterHub gives it only with admin:auth_state');
    const list = (await (await t.request('/hub/api/users', { token: readUsers })).json()) as Record<string, unknown>[];
    assert.ok(list.every((u) => !('auth_state' in u)));
  });
  test('at spawn: mapped into the environment, refreshed first when older than refresh_age, kept out of the config hash', async () => {
    const { t, clock, backend, login, refreshes } = await setup();
    await login('alice', { access_token: 'tok-1', user: { login: 'Alice' } });
    const alice = (await t.db.query.users.findFirst({ where: eq(schema.users.name, 'alice') }))!;
    const before = (await t.userAuth('alice'))!;
    const token = await t.createToken(alice.id);
    assert.equal((await t.request('/hub/api/users/alice/server', { method: 'POST', token })).status < 300, true);
    await until('the first server', () => [...backend.servers.values()].length === 1);
    const first = [...backend.servers.values()][0]!.spec;
    assert.equal(first.env.UPSTREAM_TOKEN, 'tok-1');
    assert.equal(first.env.UPSTREAM_LOGIN, 'Alice');
    assert.equal(refreshes(), 0, 'fresh auth state is not refreshed');
    await t.request('/hub/api/users/alice/server', { method: 'DELETE', token });
    await until('stopped', async () => (await t.db.query.servers.findFirst({ where: eq(schema.servers.userId, alice.id) }))?.state === 'stopped');
    clock.advance(301_000);
    await t.request('/hub/api/users/alice/server', { method: 'POST', token });
    await until('the second server', () => [...backend.servers.values()].some((s) => s.spec.env.UPSTREAM_TOKEN === 'fresh-1'));
    const second = [...backend.servers.values()].find((s) => s.spec.env.UPSTREAM_TOKEN === 'fresh-1')!.spec;
    assert.equal(refreshes(), 1);
    assert.equal(second.configHash, first.configHash, 'a new token alone does not make the container stale');
    const stored = (await t.userAuth('alice'))!;
    assert.ok(stored.authStateAt! > before.authStateAt!, 'the refreshed state was stored');
  });
});
