// OpenID Connect login against a real provider (npm oidc-provider on 127.0.0.1, PKCE required):
// a browser-like client with cookie jars goes from Berth's login page through the provider's own
// login and consent pages back to /hub/oauth_callback, and lands logged in with the groups claim in
// Berth's groups. The attacks are real too: the token response between Berth and the provider is
// rewritten on the wire (deps.fetch) — a wrong PKCE verifier, a tampered ID token, a genuine ID
// token for another client, one for another nonce, an expired one — and each must be refused.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { buildTestApp } from '../helpers/app.ts';
import { Jar } from '../helpers/login.ts';
import { signIn, startOidcProvider, type OidcPeer } from '../helpers/oidc-provider.ts';
import { schema } from '../../db/client.ts';
import { LOGIN_COOKIE } from '../../src/auth/identity.ts';
import { authStateCrypt } from '../../src/auth/auth-state.ts';
import { providersOf } from '../../src/auth/providers/index.ts';
import type { Logger } from '../../src/log.ts';
import type { ConfigInput } from '../../src/config/schema.ts';

const CALLBACK = 'http://localhost/hub/oauth_callback'; // what in-process requests (Host: localhost) work out
const OTHER_CALLBACK = 'http://127.0.0.1:9/elsewhere/callback';
const SECRET = randomBytes(16).toString('hex');
const OTHER_SECRET = randomBytes(16).toString('hex');
const AUTH_STATE_KEY = randomBytes(32).toString('hex');

const accounts = {
  alice: { preferred_username: 'Alice', email: 'alice@example.org', email_verified: true, groups: ['physics', 'staff'] },
  bob: { preferred_username: 'bob', email: 'bob@example.org', email_verified: true, groups: 'chemistry' },
  carol: { preferred_username: 'carol', email: 'carol@example.org', email_verified: false, groups: ['physics'] },
};
const clients = [
  { client_id: 'berth', client_secret: SECRET, redirect_uris: [CALLBACK], grant_types: ['authorization_code', 'refresh_token'] },
  { client_id: 'other-app', client_secret: OTHER_SECRET, redirect_uris: [OTHER_CALLBACK] },
];

type Wire = {
  /** Rewrites a request to the provider before it is sent. */
  request?: (url: string, init: RequestInit) => RequestInit;
  /** Rewrites the provider's answer before Berth reads it. */
  response?: (url: string, res: Response) => Promise<Response>;
};

interface Logged { level: string; msg: string; fields: Record<string, unknown> | undefined }

/** A Berth app whose provider entry is `oidc` with `extra`, its requests to the provider on a rewritable wire. */
async function berth(peer: OidcPeer, extra: Record<string, unknown> = {}, auth: Record<string, unknown> = {}) {
  const logged: Logged[] = [];
  const wire: Wire = {};
  const log: Logger = Object.fromEntries((['debug', 'info', 'warn', 'error'] as const).map((level) => [level, (msg: string, fields?: Record<string, unknown>) => logged.push({ level, msg, fields })])) as unknown as Logger;
  const config = {
    auth: {
      providers: [{ kind: 'oidc', issuer: peer.issuer, client_id: 'berth', client_secret: SECRET, groups_claim: 'groups', ...extra }],
      allowed_groups: ['physics'],
      auth_state: { keys: [AUTH_STATE_KEY] },
      ...auth,
    },
  } as ConfigInput;
  const t = await buildTestApp({ config });
  t.ctx.log = log;
  // read by providersOf when it first builds the providers (the first request)
  Object.assign(t.ctx, {
    fetch: async (url: string | URL | Request, init: RequestInit = {}) => {
      const u = String(url);
      const res = await fetch(u, wire.request ? wire.request(u, init) : init);
      return wire.response ? wire.response(u, res) : res;
    },
  });
  return { t, wire, logged };
}
type App = Awaited<ReturnType<typeof berth>>;

/** From Berth's login page to the redirect to the provider. */
async function startLogin(app: App, next = '/hub/home') {
  const jar = new Jar();
  const page = await app.t.app.request('/hub/login', { headers: { cookie: jar.header() } });
  const html = await page.text();
  const button = /<a class="button login-provider" data-provider="oidc" href="([^"]+)">([^<]+)<\/a>/.exec(html);
  assert.ok(button, `the login page shows the provider's button:\n${html}`);
  assert.equal(button[2], 'Sign in with oidc');
  const href = button[1]!.replace(/&amp;/g, '&');
  const res = jar.take(await app.t.app.request(`${href}&next=${encodeURIComponent(next)}`, { headers: { cookie: jar.header() } }));
  assert.equal(res.status, 302, await res.clone().text());
  const authorize = new URL(res.headers.get('location')!);
  return { jar, authorize };
}

/** The whole flow for `login` at the provider; returns Berth's answer to the callback. */
async function logIn(app: App, login: string, next?: string) {
  const { jar, authorize } = await startLogin(app, next);
  const back = new URL(await signIn(authorize.href, login));
  assert.equal(`${back.origin}${back.pathname}`, CALLBACK, 'the provider sends the browser back to the callback');
  const stateCookie = jar.header();
  const res = jar.take(await app.t.app.request(back.pathname + back.search, { headers: { cookie: stateCookie } }));
  return { res, jar, authorize, back, stateCookie };
}

const pageText = async (res: Response) => (await res.text()).replace(/<[^>]+>/g, ' ').replace(/&quot;/g, '"').replace(/&#39;/g, "'");

async function userGroups(app: App, name: string) {
  const user = await app.t.db.query.users.findFirst({ where: eq(schema.users.name, name) });
  if (!user) return undefined;
  const rows = await app.t.db.select({ name: schema.groups.name }).from(schema.userGroups)
    .innerJoin(schema.groups, eq(schema.groups.id, schema.userGroups.groupId)).where(eq(schema.userGroups.userId, user.id));
  return rows.map((r) => r.name).sort();
}

const b64json = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;

/** A genuine ID token from the provider for `clientId`, obtained as that client would (PKCE and all). */
async function idTokenFor(peer: OidcPeer, login: string, clientId: string, secret: string, redirectUri: string, nonce: string) {
  const verifier = randomBytes(32).toString('base64url');
  const authorize = new URL(`${peer.issuer}/auth`);
  for (const [k, v] of Object.entries({
    client_id: clientId, response_type: 'code', scope: 'openid profile email', redirect_uri: redirectUri, nonce, state: 'x',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
  })) authorize.searchParams.set(k, v);
  const back = new URL(await signIn(authorize.href, login));
  const res = await fetch(`${peer.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: back.searchParams.get('code')!, redirect_uri: redirectUri, code_verifier: verifier }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { id_token: string }).id_token;
}

/** Berth's token exchange answered with `idToken` in place of the provider's own. */
function swapIdToken(app: App, peer: OidcPeer, idToken: (original: string) => string | Promise<string>) {
  app.wire.response = async (url, res) => {
    if (url !== `${peer.issuer}/token`) return res;
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(typeof body.id_token, 'string', 'the provider issued an ID token');
    return new Response(JSON.stringify({ ...body, id_token: await idToken(body.id_token as string) }), { status: res.status, headers: { 'content-type': 'application/json' } });
  };
}

const loginFailures = (app: App) => app.logged.filter((l) => l.msg === 'login failed').map((l) => String(l.fields?.detail ?? ''));

describe('OpenID Connect login against a real oidc-provider', { timeout: 120_000 }, () => {
  let peer: OidcPeer;
  before(async () => { peer = await startOidcProvider({ clients, accounts }); });
  after(async () => { await peer?.close(); });

  test('a browser goes through the provider\'s login and consent pages and comes back logged in, with the groups claim in Berth\'s groups', async () => {
    const app = await berth(peer);
    const { res, jar, authorize } = await logIn(app, 'alice', '/hub/spawn');
    const q = authorize.searchParams;
    assert.equal(`${authorize.origin}${authorize.pathname}`, `${peer.issuer}/auth`, 'the discovered authorization endpoint');
    assert.equal(q.get('client_id'), 'berth');
    assert.equal(q.get('redirect_uri'), CALLBACK);
    assert.equal(q.get('scope'), 'openid profile email');
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.match(q.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.match(q.get('nonce') ?? '', /^[A-Za-z0-9_-]{20,}$/);
    assert.ok(q.get('state'), 'Berth\'s state');
    assert.equal(res.status, 302, await res.clone().text());
    assert.equal(res.headers.get('location'), '/hub/spawn', 'redirected to next');
    assert.ok(jar.get(LOGIN_COOKIE), 'the session cookie is set');
    const home = await app.t.app.request('/hub/home', { headers: { cookie: jar.header() } });
    assert.equal(home.status, 200);
    assert.match(await home.text(), /alice/);
    // preferred_username "Alice" is normalised to alice by the policy; the groups claim is Berth's groups
    assert.deepEqual(await userGroups(app, 'alice'), ['physics', 'staff']);
    // the tokens and claims, kept encrypted as auth state
    const state = authStateCrypt(app.t.config).decrypt((await app.t.userAuth('alice'))!.authState)!;
    assert.ok(state, 'auth state stored');
    assert.equal(typeof state.access_token, 'string');
    assert.equal(typeof state.id_token, 'string');
    assert.equal(state.token_type, 'bearer');
    assert.equal((state.claims as Record<string, unknown>).preferred_username, 'Alice');
    assert.equal((state.claims as Record<string, unknown>).nonce, q.get('nonce'), 'the ID token carries the nonce Berth sent');
    assert.deepEqual((state.userinfo as Record<string, unknown>).groups, ['physics', 'staff'], 'userinfo fetched for the same subject');
    assert.ok(typeof state.expires_at === 'number' && state.expires_at > Date.now() / 1000);
  });

  test('a user outside the allowed groups is refused with a 403 page saying so (a string groups claim is one group)', async () => {
    const app = await berth(peer);
    const { res, jar } = await logIn(app, 'bob');
    assert.equal(res.status, 403);
    assert.match(await pageText(res), /"bob" is not allowed to use this hub/);
    assert.equal(jar.get(LOGIN_COOKIE), undefined, 'no session');
    assert.equal(await userGroups(app, 'bob'), undefined, 'no user row');
    // admitting the group lets the same person in, with the one group
    const open = await berth(peer, {}, { allowed_groups: ['chemistry'] });
    assert.equal((await logIn(open, 'bob')).res.status, 302);
    assert.deepEqual(await userGroups(open, 'bob'), ['chemistry']);
  });

  test('a replayed callback is refused with a 400 page: the state is taken once', async () => {
    const app = await berth(peer);
    const { res, back, stateCookie } = await logIn(app, 'alice');
    assert.equal(res.status, 302);
    // the same callback URL, with the state cookie the browser had: the server-side state is gone
    const again = await app.t.app.request(back.pathname + back.search, { headers: { cookie: stateCookie } });
    assert.equal(again.status, 400);
    assert.match(await pageText(again), /already used or has expired/);
    // and without the cookie (deleted by the first callback): not this browser's sign-in
    const noCookie = await app.t.app.request(back.pathname + back.search);
    assert.equal(noCookie.status, 400);
  });

  test('PKCE is verified by the provider: the code with a wrong verifier gets no tokens', async () => {
    const app = await berth(peer);
    let sent: string | undefined;
    app.wire.request = (url, init) => {
      if (url !== `${peer.issuer}/token`) return init;
      const body = new URLSearchParams(String(init.body));
      sent = body.get('code_verifier') ?? undefined;
      body.set('code_verifier', randomBytes(32).toString('base64url'));
      return { ...init, body };
    };
    const { res, jar, authorize } = await logIn(app, 'alice');
    assert.ok(sent, 'Berth sent its code_verifier');
    assert.equal(createHash('sha256').update(sent).digest('base64url'), authorize.searchParams.get('code_challenge'), 'the verifier Berth saved matches the challenge it sent');
    assert.equal(res.status, 502);
    assert.match(await pageText(res), /did not accept the sign-in \(invalid_grant\)/);
    assert.equal(jar.get(LOGIN_COOKIE), undefined);
    assert.match(loginFailures(app).join('\n'), /PKCE|code_verifier|invalid_grant/i);
  });

  test('a tampered ID token (claims changed, signature kept) is refused: its signature is checked against the JWKS', async () => {
    const app = await berth(peer, {}, { admin_groups: ['physics'] });
    swapIdToken(app, peer, (token) => {
      const [h, p, s] = token.split('.');
      const claims = b64json(p!);
      return [h, Buffer.from(JSON.stringify({ ...claims, preferred_username: 'root' })).toString('base64url'), s].join('.');
    });
    const { res, jar } = await logIn(app, 'alice');
    assert.equal(res.status, 403);
    assert.match(await pageText(res), /answer could not be verified/);
    assert.equal(jar.get(LOGIN_COOKIE), undefined);
    assert.equal(await app.t.db.query.users.findFirst({ where: eq(schema.users.name, 'root') }), undefined);
    assert.match(loginFailures(app).join('\n'), /signature verification failed/);
  });

  test('a genuine ID token issued to another client is refused (audience)', async () => {
    const app = await berth(peer);
    let nonce = '';
    swapIdToken(app, peer, () => idTokenFor(peer, 'alice', 'other-app', OTHER_SECRET, OTHER_CALLBACK, nonce));
    const { jar, authorize } = await startLogin(app);
    nonce = authorize.searchParams.get('nonce')!; // the other client's token even carries Berth's nonce
    const back = new URL(await signIn(authorize.href, 'alice'));
    const res = jar.take(await app.t.app.request(back.pathname + back.search, { headers: { cookie: jar.header() } }));
    assert.equal(res.status, 403);
    assert.match(await pageText(res), /answer could not be verified/);
    assert.equal(jar.get(LOGIN_COOKIE), undefined);
    assert.match(loginFailures(app).join('\n'), /claim=aud/);
  });

  test('a genuine ID token for this client but another login (nonce) is refused', async () => {
    const app = await berth(peer);
    swapIdToken(app, peer, () => idTokenFor(peer, 'alice', 'berth', SECRET, CALLBACK, 'a-nonce-from-another-login'));
    const { res, jar } = await logIn(app, 'alice');
    assert.equal(res.status, 403);
    assert.equal(jar.get(LOGIN_COOKIE), undefined);
    assert.match(loginFailures(app).join('\n'), /claim=nonce/);
  });

  test('an expired ID token (the provider issues it already past its exp) is refused', async () => {
    const app = await berth(peer);
    peer.knobs.idTokenTtlSeconds = -3600;
    try {
      const { res, jar } = await logIn(app, 'alice');
      assert.equal(res.status, 403);
      assert.match(await pageText(res), /token has expired/);
      assert.equal(jar.get(LOGIN_COOKIE), undefined);
      assert.match(loginFailures(app).join('\n'), /claim=exp/);
    } finally {
      peer.knobs.idTokenTtlSeconds = 3600;
    }
  });

  test('username_claim email requires email_verified: an unverified address is refused, a verified one logs in', async () => {
    const app = await berth(peer, { username_claim: 'email' });
    const refused = await logIn(app, 'carol');
    assert.equal(refused.res.status, 403);
    assert.match(await pageText(refused.res), /e-mail address is not verified/);
    const ok = await logIn(app, 'alice');
    assert.equal(ok.res.status, 302);
    assert.deepEqual(await userGroups(app, 'alice@example.org'), ['physics', 'staff']);
  });

  test('refresh: offline_access (with extra_authorize_params prompt=consent) gives a refresh token, and refresh() returns fresh claims', async () => {
    const app = await berth(peer, { scope: ['openid', 'profile', 'email', 'offline_access'], extra_authorize_params: { prompt: 'consent' } });
    const { res, authorize } = await logIn(app, 'alice');
    assert.equal(authorize.searchParams.get('prompt'), 'consent');
    assert.equal(res.status, 302);
    const state = authStateCrypt(app.t.config).decrypt((await app.t.userAuth('alice'))!.authState)!;
    assert.equal(typeof state.refresh_token, 'string');
    const provider = providersOf(app.t.ctx).get('oidc')!;
    const fresh = await provider.refresh!(state);
    assert.ok(fresh);
    assert.equal(fresh.name, 'Alice');
    assert.deepEqual(fresh.groups, ['physics', 'staff']);
    assert.notEqual(fresh.authState!.access_token, state.access_token, 'a new access token');
    assert.equal(typeof fresh.authState!.refresh_token, 'string');
    // without a refresh token there is nothing to do
    assert.equal(await provider.refresh!({ ...state, refresh_token: undefined }), undefined);
    // a refresh token the provider does not know is refused
    await assert.rejects(provider.refresh!({ ...state, refresh_token: 'not-a-refresh-token' }), (err: Error) => err.name === 'LoginError' && /did not accept/.test(err.message));
  });

  test('claims only in userinfo (a provider keeping the ID token minimal) still name the user and groups', async () => {
    const minimal = await startOidcProvider({ clients, accounts, conformIdTokenClaims: true });
    try {
      const app = await berth(minimal);
      const { res } = await logIn(app, 'alice');
      assert.equal(res.status, 302);
      assert.deepEqual(await userGroups(app, 'alice'), ['physics', 'staff']);
      const state = authStateCrypt(app.t.config).decrypt((await app.t.userAuth('alice'))!.authState)!;
      assert.equal((state.claims as Record<string, unknown>).preferred_username, undefined, 'not in the ID token');
    } finally {
      await minimal.close();
    }
  });

  test('a provider that cannot be reached: a 502 page at /hub/oauth_login, and discovery is tried again later', async () => {
    const app = await berth(peer);
    let down = true;
    app.wire.request = (url, init) => {
      if (down && url.includes('/.well-known/')) throw new TypeError('fetch failed (connection refused)');
      return init;
    };
    const first = await app.t.app.request('/hub/oauth_login?provider=oidc');
    assert.equal(first.status, 502);
    assert.match(await pageText(first), /could not be reached/);
    down = false;
    const second = await app.t.app.request('/hub/oauth_login?provider=oidc');
    assert.equal(second.status, 302, 'the failure was not cached');
    assert.ok(second.headers.get('location')!.startsWith(`${peer.issuer}/auth?`));
  });
});
