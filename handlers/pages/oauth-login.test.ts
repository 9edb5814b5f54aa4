// /hub/oauth_login and /hub/oauth_callback with a fake redirect provider: the signed state cookie,
// state taken once, expiry, provider errors as pages, the policy on the claims, groups stored.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { buildTestApp, testClock } from '../../test/helpers/app.ts';
import { Jar } from '../../test/helpers/login.ts';
import { fakeRedirectProvider } from '../../test/helpers/fake-redirect-provider.ts';
import { buildProvider, useProviders } from '../../src/auth/providers/index.ts';
import { schema } from '../../db/client.ts';
import type { ConfigInput } from '../../src/config/schema.ts';

async function setup(auth: Partial<NonNullable<ConfigInput['auth']>> = {}) {
  const clock = testClock();
  const t = await buildTestApp({
    clock,
    config: { auth: { providers: [{ kind: 'oidc', name: 'fake', issuer: 'https://idp.example/', client_id: 'berth' }], allowed_groups: ['staff'], ...auth } },
  });
  const idp = fakeRedirectProvider('fake');
  useProviders(t.config, [idp]);
  const jar = new Jar();
  const get = async (path: string) => jar.take(await t.app.request(path, { headers: { cookie: jar.header() } }));
  /** Starts a login; returns the state the provider was sent. */
  const start = async (next?: string) => {
    const res = await get(`/hub/oauth_login?provider=fake${next !== undefined ? `&next=${encodeURIComponent(next)}` : ''}`);
    assert.equal(res.status, 302);
    const url = new URL(res.headers.get('location')!);
    assert.equal(url.origin, 'https://idp.example');
    return { state: url.searchParams.get('state')!, redirectUri: url.searchParams.get('redirect_uri')!, res };
  };
  const user = (name: string) => t.db.query.users.findFirst({ where: eq(schema.users.name, name) });
  return { t, clock, idp, jar, get, start, user };
}

describe('redirect login', () => {
  test('the login page has one button per redirect provider, next carried, no password form', async () => {
    const { get } = await setup();
    const html = await (await get('/hub/login?next=%2Fuser%2Falice%2Flab')).text();
    assert.match(html, /href="\/hub\/oauth_login\?provider=fake&amp;next=%2Fuser%2Falice%2Flab"[^>]*>Sign in with fake</);
    assert.doesNotMatch(html, /name="password"/);
  });
  test('auto_login sends the browser straight to the only provider', async () => {
    const { get } = await setup({ auto_login: true });
    const res = await get('/hub/login?next=%2Fhub%2Fspawn');
    assert.equal(res.headers.get('location'), '/hub/oauth_login?provider=fake&next=%2Fhub%2Fspawn');
  });
  test('full flow: signed HttpOnly state cookie, saved data reaches the provider, groups stored, redirect to next', async () => {
    const { idp, start, get, jar, user, t } = await setup();
    const { state, redirectUri, res } = await start('/user/alice/lab');
    assert.equal(redirectUri, 'http://localhost/hub/oauth_callback');
    const line = res.headers.getSetCookie().find((l) => l.startsWith('berth-login-state='))!;
    assert.match(line, /^berth-login-state=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}; Max-Age=600; Path=\/hub\/; HttpOnly; SameSite=Lax$/);
    assert.ok(!line.includes(`v-${state.slice(0, 6)}`), 'the saved data never reaches the browser');
    idp.codes.set('c1', { name: 'Alice', groups: ['staff', 'physics'] });
    const done = await get(`/hub/oauth_callback?code=c1&state=${state}`);
    assert.equal(done.status, 302, await done.clone().text());
    assert.equal(done.headers.get('location'), '/user/alice/lab');
    assert.ok(jar.get('jupyterhub-hub-login'));
    assert.deepEqual(idp.seen[0]!.saved, { verifier: `v-${state.slice(0, 6)}` });
    assert.equal(idp.seen[0]!.callbackUrl, redirectUri);
    const row = await user('alice');
    assert.deepEqual(row!.groupNames, ['physics', 'staff']);
    assert.equal((await t.userAuth('alice'))!.provider, 'fake');
    const groups = await t.db.select().from(schema.groups);
    assert.deepEqual(groups.map((g) => g.name).sort(), ['physics', 'staff']);
    assert.match(done.headers.getSetCookie().find((l) => l.startsWith('berth-login-state='))!, /Max-Age=0/);
  });
  test('a replayed callback (same cookie, same state) is refused: the state is taken once', async () => {
    const { idp, start, jar, t } = await setup();
    const { state } = await start();
    idp.codes.set('c1', { name: 'alice', groups: ['staff'] });
    const cookie = `berth-login-state=${jar.get('berth-login-state')}`;
    const path = `/hub/oauth_callback?code=c1&state=${state}`;
    assert.equal((await t.app.request(path, { headers: { cookie } })).status, 302);
    const again = await t.app.request(path, { headers: { cookie } });
    assert.equal(again.status, 400);
    assert.match(await again.text(), /already used or has expired/);
    assert.equal(idp.seen.length, 1, 'the provider was asked once');
  });
  test('no cookie, a cookie of another login, or a forged signature → 400 page, no session', async () => {
    const { idp, start, jar, t } = await setup();
    const { state } = await start();
    const { state: other } = await start(); // the jar now holds the second login's cookie
    idp.codes.set('c1', { name: 'alice', groups: ['staff'] });
    const signed = jar.get('berth-login-state')!;
    const tries: [string, string][] = [
      ['', `/hub/oauth_callback?code=c1&state=${other}`],
      [`berth-login-state=${signed}`, `/hub/oauth_callback?code=c1&state=${state}`],
      [`berth-login-state=${other}.${'A'.repeat(43)}`, `/hub/oauth_callback?code=c1&state=${other}`],
      [`berth-login-state=${signed}`, `/hub/oauth_callback?code=c1`],
    ];
    for (const [cookie, path] of tries) {
      const res = await t.app.request(path, { headers: { cookie } });
      assert.equal(res.status, 400, `${cookie} ${path}`);
      const html = await res.text();
      assert.match(html, /not started in this browser/);
      assert.equal(res.headers.getSetCookie().some((l) => l.startsWith('jupyterhub-hub-login=')), false);
    }
  });
  test('a state older than ten minutes is refused', async () => {
    const { idp, start, get, clock } = await setup();
    const { state } = await start();
    idp.codes.set('c1', { name: 'alice', groups: ['staff'] });
    clock.advance(10 * 60_000 + 1);
    const res = await get(`/hub/oauth_callback?code=c1&state=${state}`);
    assert.equal(res.status, 400);
  });
  test('the provider refusing (error=access_denied) is a 403 page that shows its words escaped', async () => {
    const { start, get } = await setup();
    const { state } = await start();
    const res = await get(`/hub/oauth_callback?error=access_denied&error_description=${encodeURIComponent('<script>alert(1)</script>')}&state=${state}`);
    assert.equal(res.status, 403);
    const html = await res.text();
    assert.match(html, /access_denied/);
    assert.match(html, /&lt;script&gt;/);
    assert.doesNotMatch(html, /<script>alert/);
  });
  test('a user outside the allowed groups is refused with a page saying so, audited', async () => {
    const { idp, start, get, jar, t } = await setup();
    const { state } = await start();
    idp.codes.set('c1', { name: 'mallory', groups: ['other'] });
    const res = await get(`/hub/oauth_callback?code=c1&state=${state}`);
    assert.equal(res.status, 403);
    assert.match(await res.text(), /&quot;mallory&quot; is not allowed to use this hub/);
    assert.equal(jar.get('jupyterhub-hub-login'), undefined);
    const audit = await t.db.select().from(schema.audit);
    assert.deepEqual(audit.map((a) => [a.action, a.actor, (a.detail as { reason: string }).reason]), [['login.refused', 'mallory', 'not allowed']]);
  });
  test('a provider that breaks shows a 502 page without a stack trace', async () => {
    const { idp, start, get } = await setup();
    const { state } = await start();
    idp.codes.set('c1', new TypeError('fetch failed at internal/deps/undici'));
    const res = await get(`/hub/oauth_callback?code=c1&state=${state}`);
    assert.equal(res.status, 502);
    const html = await res.text();
    assert.match(html, /Sign in with fake: signing in failed/);
    assert.doesNotMatch(html, /undici|TypeError|at /);
  });
  test('admin_groups make admins, and leaving them demotes at the next login', async () => {
    const { idp, start, get, user } = await setup({ admin_groups: ['hub-admins'] });
    idp.codes.set('c1', { name: 'ann', groups: ['staff', 'hub-admins'] });
    await get(`/hub/oauth_callback?code=c1&state=${(await start()).state}`);
    assert.equal((await user('ann'))!.admin, true);
    idp.codes.set('c2', { name: 'ann', groups: ['staff'] });
    await get(`/hub/oauth_callback?code=c2&state=${(await start()).state}`);
    assert.equal((await user('ann'))!.admin, false);
    assert.deepEqual((await user('ann'))!.groupNames, ['staff']);
  });
  test('an unknown provider name is a 400 page', async () => {
    const { get } = await setup();
    const res = await get('/hub/oauth_login?provider=%3Cb%3Enope');
    assert.equal(res.status, 400);
    assert.match(await res.text(), /no sign-in method called &quot;&lt;b&gt;nope&quot;/);
  });
  test('an account belongs to the provider that first logged it in; once that provider is gone another may take it, without its admin flag', async () => {
    const clock = testClock();
    const t = await buildTestApp({
      clock,
      config: { auth: { allow_all: true, providers: [{ kind: 'oidc', name: 'a', issuer: 'https://a.example/', client_id: 'x' }, { kind: 'oidc', name: 'b', issuer: 'https://b.example/', client_id: 'x' }] } },
    });
    const a = fakeRedirectProvider('a');
    const b = fakeRedirectProvider('b');
    useProviders(t.config, [a, b]);
    a.codes.set('c', { name: 'alice' });
    b.codes.set('c', { name: 'Alice' });
    const via = async (p: string) => {
      const jar = new Jar();
      const start = jar.take(await t.app.request(`/hub/oauth_login?provider=${p}`));
      const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
      return t.app.request(`/hub/oauth_callback?code=c&state=${state}`, { headers: { cookie: jar.header() } });
    };
    assert.equal((await via('a')).status, 302);
    await t.db.update(schema.users).set({ admin: true }).where(eq(schema.users.name, 'alice'));
    const refused = await via('b');
    assert.equal(refused.status, 403);
    assert.match(await refused.text(), /The account &quot;alice&quot; belongs to another sign-in method \(&quot;Sign in with a&quot;\), not &quot;Sign in with b&quot;/);
    // the admin removed provider a: b may now take the account over, but not its admin flag
    useProviders(t.config, [b]);
    assert.equal((await via('b')).status, 302);
    const row = await t.db.query.users.findFirst({ where: eq(schema.users.name, 'alice') });
    assert.equal(row!.admin, false);
    assert.equal((await t.userAuth('alice'))!.provider, 'b');
  });
  test('username_prefix keeps two providers\' names apart', async () => {
    const t = await buildTestApp({
      config: { auth: { allow_all: true, providers: [{ kind: 'oidc', name: 'gh', issuer: 'https://a.example/', client_id: 'x', username_prefix: 'gh-' }] } },
    });
    const gh = fakeRedirectProvider('gh');
    useProviders(t.config, [gh]);
    gh.codes.set('c', { name: 'Alice' });
    const jar = new Jar();
    const start = jar.take(await t.app.request('/hub/oauth_login?provider=gh'));
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
    assert.equal((await t.app.request(`/hub/oauth_callback?code=c&state=${state}`, { headers: { cookie: jar.header() } })).status, 302);
    assert.ok(await t.db.query.users.findFirst({ where: eq(schema.users.name, 'gh-alice') }));
  });
  test('several providers: an account made by the API keeps no admin flag at its first login; the bootstrap admin name stays the shared password\'s', async () => {
    const t = await buildTestApp({
      config: { auth: { allow_all: true, shared_password: 'correct horse', admin_password: 'admin secret pw', providers: [{ kind: 'shared-password' }, { kind: 'oidc', name: 'a', issuer: 'https://a.example/', client_id: 'x' }] } },
    });
    const a = fakeRedirectProvider('a');
    const entry = t.config.auth.providers[0]!;
    assert.equal(entry.kind, 'shared-password');
    useProviders(t.config, [buildProvider(entry, t.config, { log: t.ctx.log, now: Date.now, fetch }), a]);
    await t.createUser('bob', { admin: true });
    a.codes.set('bob', { name: 'bob' });
    a.codes.set('admin', { name: 'Admin' });
    const via = async (code: string) => {
      const jar = new Jar();
      const start = jar.take(await t.app.request('/hub/oauth_login?provider=a'));
      const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
      return t.app.request(`/hub/oauth_callback?code=${code}&state=${state}`, { headers: { cookie: jar.header() } });
    };
    assert.equal((await via('bob')).status, 302);
    assert.equal((await t.db.query.users.findFirst({ where: eq(schema.users.name, 'bob') }))!.admin, false);
    const admin = await via('admin');
    assert.equal(admin.status, 403);
    assert.match(await admin.text(), /belongs to another sign-in method/);
    assert.equal(await t.db.query.users.findFirst({ where: eq(schema.users.name, 'admin') }), undefined);
  });
});
