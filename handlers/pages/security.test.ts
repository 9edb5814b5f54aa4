// Site-wide login safety: hostile `next=` values never leave the site (login form, redirect login,
// already-logged-in), every form POST needs its XSRF token, security headers on hub pages, and
// password-like logins rate-limited per user and per address.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, testClock } from '../../test/helpers/app.ts';
import { form, Jar, loggedIn, loginAs, serverWithClient } from '../../test/helpers/login.ts';
import { fakeRedirectProvider } from '../../test/helpers/fake-redirect-provider.ts';
import { useProviders } from '../../src/auth/providers/index.ts';
import { safeNext } from './session.ts';

const ORIGIN = 'http://hub.example';
/** Hostile next values seen in open-redirect advisories (JupyterHub's among them) and their variations. */
const HOSTILE = [
  '//evil.com', '///evil.com', '////evil.com', '/\\evil.com', '\\/evil.com', '\\\\evil.com', '/\\/evil.com',
  'https://evil.com', 'http://evil.com/user/alice/', 'HTTPS://evil.com', 'http:evil.com', 'https:/evil.com', 'https:evil.com',
  'javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
  '/\t/evil.com', '/\n/evil.com', '/\r/evil.com', '\t//evil.com', ' //evil.com', '\x00//evil.com', '/\x00/evil.com',
  '//evil.com@hub.example', '//hub.example@evil.com', '//%65vil.com', '//evil.com/%2e%2e', '///\\evil.com', 'http://hub.example.evil.com/',
  '/ /evil.com', 'evil.com', '.evil.com', '/\u3000/evil.com', '//\u3002evil.com',
];
const onSite = (location: string | null) => {
  assert.ok(location, 'a redirect');
  const u = new URL(location!, `${ORIGIN}/hub/login`);
  return u.origin === ORIGIN;
};

describe('hostile next values stay on the site', () => {
  test(`safeNext refuses all ${HOSTILE.length} and keeps real paths`, () => {
    assert.ok(HOSTILE.length >= 25);
    for (const v of HOSTILE) {
      const kept = safeNext(v);
      if (kept !== undefined) assert.ok(onSite(kept), JSON.stringify(v));
    }
    for (const ok of ['/user/alice/lab', '/hub/spawn?x=1', '/user/a%40b/tree/%2F']) assert.equal(safeNext(ok), ok);
  });
  for (const v of HOSTILE) {
    test(`POST /hub/login next=${JSON.stringify(v)} lands on the site`, async () => {
      const t = await buildTestApp();
      const { res } = await loginAs(t, 'alice', 'correct horse', { next: v });
      assert.equal(res.status, 302);
      assert.ok(onSite(res.headers.get('location')), res.headers.get('location')!);
    });
  }
  test('redirect login: every hostile next lands on the site after the callback', async () => {
    const t = await buildTestApp({ config: { auth: { providers: [{ kind: 'oidc', name: 'fake', issuer: 'https://idp.example/', client_id: 'x' }], allow_all: true } } });
    const idp = fakeRedirectProvider('fake');
    useProviders(t.config, [idp]);
    idp.codes.set('c', { name: 'alice' });
    for (const v of HOSTILE) {
      const jar = new Jar();
      const start = jar.take(await t.app.request(`/hub/oauth_login?provider=fake&next=${encodeURIComponent(v)}`));
      const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
      const done = await t.app.request(`/hub/oauth_callback?code=c&state=${state}`, { headers: { cookie: jar.header() } });
      assert.equal(done.status, 302, JSON.stringify(v));
      assert.ok(onSite(done.headers.get('location')), `${JSON.stringify(v)} → ${done.headers.get('location')}`);
    }
  });
  test('already logged in: GET /hub/login?next=<hostile> stays on the site', async () => {
    const t = await buildTestApp();
    const { jar } = await loggedIn(t, 'alice');
    for (const v of HOSTILE) {
      const res = await t.app.request(`/hub/login?next=${encodeURIComponent(v)}`, { headers: { cookie: jar.header() } });
      assert.ok(onSite(res.headers.get('location')), JSON.stringify(v));
    }
  });
});

describe('every form POST needs a valid XSRF token', () => {
  const bad = (xsrf?: string): Record<string, string> => (xsrf === undefined ? {} : { _xsrf: xsrf });
  test('POST /hub/login without, with a wrong, and with another browser\'s _xsrf → 403, no session', async () => {
    const t = await buildTestApp();
    const page = await t.app.request('/hub/login');
    const mine = /name="_xsrf" value="([^"]+)"/.exec(await page.text())![1]!;
    const otherPage = await t.app.request('/hub/login');
    const theirs = /name="_xsrf" value="([^"]+)"/.exec(await otherPage.text())![1]!;
    for (const [cookieXsrf, sent] of [[mine, undefined], [mine, 'x'.repeat(32)], [mine, theirs], [undefined, mine]] as const) {
      const f = form({ ...bad(sent), username: 'alice', password: 'correct horse' });
      const res = await t.app.request('/hub/login', { method: 'POST', body: f.body, headers: { ...f.headers, ...(cookieXsrf ? { cookie: `_xsrf=${cookieXsrf}` } : {}) } });
      assert.equal(res.status, 403);
      assert.equal(res.headers.getSetCookie().some((l) => l.startsWith('jupyterhub-hub-login=')), false);
    }
  });
  test('POST /hub/logout, /hub/spawn and the OAuth consent form without the session token → 403', async () => {
    const t = await buildTestApp();
    const { jar } = await loggedIn(t, 'alice');
    const { clientId, redirectUri } = await serverWithClient(t, 'alice');
    const posts = ['/hub/logout', '/hub/spawn', '/hub/spawn/alice', `/hub/api/oauth2/authorize?client_id=${clientId}&redirect_uri=${encodeURIComponent(redirectUri)}&response_type=code&state=s`];
    for (const path of posts) {
      for (const fields of [{}, { _xsrf: 'wrong-token-wrong-token-wrong-tok' }] as Record<string, string>[]) {
        const f = form(fields);
        const res = await t.app.request(path, { method: 'POST', body: f.body, headers: { ...f.headers, cookie: jar.header() } });
        assert.equal(res.status, 403, `${path} ${JSON.stringify(fields)}`);
      }
    }
    // and the session still works: nothing above logged alice out
    assert.equal((await t.app.request('/hub/home', { headers: { cookie: jar.header() } })).status, 200);
  });
  test('cookie-authenticated API writes without X-XSRFToken are not authenticated', async () => {
    const t = await buildTestApp();
    const { jar } = await loggedIn(t, 'alice');
    const res = await t.app.request('/hub/api/users/alice/server', { method: 'POST', headers: { cookie: jar.header() } });
    assert.equal(res.status, 403);
  });
});

describe('security headers', () => {
  test('hub pages carry CSP with frame-ancestors, a referrer policy and nosniff; API answers too', async () => {
    const t = await buildTestApp();
    const page = await t.app.request('/hub/login');
    assert.match(page.headers.get('content-security-policy')!, /frame-ancestors 'self'/);
    assert.match(page.headers.get('content-security-policy')!, /object-src 'none'/);
    assert.equal(page.headers.get('referrer-policy'), 'same-origin');
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    const api = await t.app.request('/hub/api/');
    assert.equal(api.headers.get('x-content-type-options'), 'nosniff');
    assert.match(api.headers.get('content-security-policy')!, /frame-ancestors 'none'/);
    const missing = await t.app.request('/hub/nope');
    assert.match(missing.headers.get('content-security-policy') ?? '', /frame-ancestors/);
  });
});

describe('login attempts are rate-limited', () => {
  const attempt = async (t: Awaited<ReturnType<typeof buildTestApp>>, username: string, password: string, address: string) => {
    const jar = new Jar();
    const page = jar.take(await t.app.request('/hub/login'));
    const xsrf = /name="_xsrf" value="([^"]+)"/.exec(await page.text())![1]!;
    const f = form({ _xsrf: xsrf, username, password });
    return t.app.request('/hub/login', { method: 'POST', body: f.body, headers: { ...f.headers, cookie: jar.header(), 'x-forwarded-for': address } });
  };
  test('per user: after 3 failures even the right password waits, with a clear message and Retry-After; the window passes', async () => {
    const clock = testClock();
    const t = await buildTestApp({ clock, config: { auth: { shared_password: 'correct horse', allow_all: true, login_attempts: { per_user: 3, per_address: 100, window_seconds: 60 } } } });
    for (let i = 0; i < 3; i++) assert.equal((await attempt(t, 'alice', 'wrong', `10.0.0.${i}`)).status, 403);
    const limited = await attempt(t, 'Alice', 'correct horse', '10.0.1.1');
    assert.equal(limited.status, 429);
    assert.match(await limited.text(), /Too many failed sign-in attempts\. Wait 60 seconds and try again/);
    assert.equal(limited.headers.get('retry-after'), '60');
    assert.equal((await attempt(t, 'bob', 'correct horse', '10.0.1.1')).status, 302, 'another user is not held up');
    clock.advance(61_000);
    assert.equal((await attempt(t, 'alice', 'correct horse', '10.0.1.1')).status, 302);
  });
  test('per address: many names from one address are held up', async () => {
    const t = await buildTestApp({ config: { auth: { shared_password: 'correct horse', allow_all: true, login_attempts: { per_user: 100, per_address: 4, window_seconds: 300 } } } });
    for (let i = 0; i < 4; i++) await attempt(t, `user${i}`, 'wrong', '192.0.2.7');
    assert.equal((await attempt(t, 'carol', 'correct horse', '192.0.2.7')).status, 429);
    assert.equal((await attempt(t, 'carol', 'correct horse', '192.0.2.8')).status, 302);
  });
});
