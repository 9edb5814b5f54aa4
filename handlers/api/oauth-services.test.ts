// The hub's OAuth provider for configured services (JupyterHub 5: apihandlers/auth.py
// OAuthAuthorizeHandler with client.service, scopes.access_scopes / get_scopes_for): who may
// authorize (access:services!service=<name>), consent and oauth_no_confirm, the code exchange with
// the api_token as client secret, and what the resulting token carries at /hub/api/user.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { buildTestApp } from '../../test/helpers/app.ts';
import { form, loggedIn } from '../../test/helpers/login.ts';
import { schema } from '../../db/client.ts';
import { configSchema, type ConfigInput } from '../../src/config/schema.ts';
import { syncServices } from '../../src/services/services/sync.ts';

type T = Awaited<ReturnType<typeof buildTestApp>>;
type ServiceInput = NonNullable<ConfigInput['services']>[number];
const TOKEN = 'whoami-api-token-1';
const CLIENT = 'service-whoami';
const REDIRECT = '/services/whoami/oauth_callback';
const authorizeUrl = (extra = '') => `/hub/api/oauth2/authorize?client_id=${CLIENT}&redirect_uri=${encodeURIComponent(REDIRECT)}&response_type=code&state=s1${extra}`;

async function setup(svc: Partial<ServiceInput> = {}, extra: ServiceInput[] = []) {
  const t = await buildTestApp({ config: { services: [{ name: 'whoami', api_token: TOKEN, url: 'http://127.0.0.1:10101', ...svc }, ...extra] } });
  await syncServices(t.ctx);
  return t;
}

const get = (t: T, cookie: string, url = authorizeUrl()) => t.app.request(url, { headers: { cookie } });
const codeOf = (res: Response) => new URL(res.headers.get('location')!, 'http://x').searchParams.get('code');

/** What HubOAuth sends to the token endpoint: client id and api_token in the body. */
async function exchange(t: T, code: string, secret = TOKEN) {
  const f = form({ client_id: CLIENT, client_secret: secret, grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
  return t.app.request('/hub/api/oauth2/token', { method: 'POST', ...f });
}

/** Consent (if asked) and exchange: the access token the service would hold for this browser. */
async function tokenFor(t: T, login: Awaited<ReturnType<typeof loggedIn>>): Promise<string> {
  let res = await get(t, login.jar.header());
  if (res.status === 200) {
    const f = form({ _xsrf: login.session.xsrf });
    res = await t.app.request(authorizeUrl(), { method: 'POST', body: f.body, headers: { ...f.headers, cookie: login.jar.header() } });
  }
  assert.equal(res.status, 302, await res.clone().text());
  const ex = await exchange(t, codeOf(res)!);
  assert.equal(ex.status, 200);
  return ((await ex.json()) as { access_token: string }).access_token;
}

const whoSees = async (t: T, token: string) => {
  const res = await t.request('/hub/api/user', { token });
  return { status: res.status, body: res.status === 200 ? ((await res.json()) as { name: string; scopes: string[] }) : undefined };
};

describe('OAuth for services: who may authorize', () => {
  test('a plain user is refused with a 403 page naming the service: the user role does not hold access:services', async () => {
    const t = await setup();
    const bob = await loggedIn(t, 'bob');
    const res = await get(t, bob.jar.header());
    assert.equal(res.status, 403);
    assert.match(res.headers.get('content-type')!, /text\/html/);
    assert.match(await res.text(), /You do not have permission to access JupyterHub service whoami/);
    assert.equal((await t.db.select().from(schema.oauthCodes)).length, 0);
  });

  test('access_users admits the user listed (as normalised), nobody else', async () => {
    const t = await setup({ access_users: ['Alice'] });
    assert.equal((await get(t, (await loggedIn(t, 'alice')).jar.header())).status, 200, 'consent page');
    assert.equal((await get(t, (await loggedIn(t, 'bob')).jar.header())).status, 403);
  });

  test('access_groups admits members of the group', async () => {
    const t = await setup({ access_groups: ['staff'] });
    const alice = await loggedIn(t, 'alice');
    const bob = await loggedIn(t, 'bob');
    assert.equal((await get(t, alice.jar.header())).status, 403, 'not a member yet');
    const [g] = await t.db.insert(schema.groups).values({ name: 'staff', createdAt: 1 }).returning();
    const aliceRow = (await t.db.query.users.findFirst({ where: eq(schema.users.name, 'alice') }))!;
    await t.db.insert(schema.userGroups).values({ userId: aliceRow.id, groupId: g!.id });
    assert.equal((await get(t, alice.jar.header())).status, 200);
    assert.equal((await get(t, bob.jar.header())).status, 403);
  });

  test('access_all_users admits every user; admins are admitted without any rule', async () => {
    const t = await setup({ access_all_users: true });
    assert.equal((await get(t, (await loggedIn(t, 'bob')).jar.header())).status, 200);
    const t2 = await setup();
    assert.equal((await get(t2, (await loggedIn(t2, 'admin', 'admin secret pw')).jar.header())).status, 200);
  });

  test("one service's rule says nothing about another service", async () => {
    const t = await setup({ access_users: ['alice'] }, [{ name: 'other', api_token: 'other-token-1', url: 'http://127.0.0.1:10102' }]);
    const alice = await loggedIn(t, 'alice');
    const res = await get(t, alice.jar.header(), `/hub/api/oauth2/authorize?client_id=service-other&redirect_uri=${encodeURIComponent('/services/other/oauth_callback')}&response_type=code`);
    assert.equal(res.status, 403);
    assert.match(await res.text(), /JupyterHub service other/);
  });

  test('not logged in: sent to the login page first', async () => {
    const t = await setup({ access_all_users: true });
    const res = await t.app.request(authorizeUrl());
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), `/hub/login?next=${encodeURIComponent(authorizeUrl())}`);
  });

  test('a service removed from config (before the sync ran) is no client any more', async () => {
    const t = await setup({ access_all_users: true });
    t.ctx.config = configSchema.parse({ ...t.ctx.config, services: [] });
    const res = await get(t, (await loggedIn(t, 'alice')).jar.header());
    assert.equal(res.status, 400);
    assert.match(await res.text(), /Invalid client_id/);
  });

  test('a redirect_uri other than the registered one is refused without redirecting', async () => {
    const t = await setup({ access_all_users: true });
    const res = await get(t, (await loggedIn(t, 'alice')).jar.header(), `/hub/api/oauth2/authorize?client_id=${CLIENT}&redirect_uri=${encodeURIComponent('https://evil.example/cb')}&response_type=code`);
    assert.equal(res.status, 400);
    assert.match(await res.text(), /Mismatching redirect URI/);
  });
});

describe('OAuth for services: consent, code and token', () => {
  test('the consent page names the service; after Authorize the code carries identify + access scopes', async () => {
    const t = await setup({ access_users: ['alice'] });
    const alice = await loggedIn(t, 'alice');
    const page = await get(t, alice.jar.header());
    const html = await page.text();
    assert.match(html, /JupyterHub service whoami/);
    assert.match(html, /\/services\/whoami\//);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    const f = form({ _xsrf: alice.session.xsrf });
    const ok = await t.app.request(authorizeUrl(), { method: 'POST', body: f.body, headers: { ...f.headers, cookie: alice.jar.header() } });
    assert.equal(ok.status, 302);
    assert.match(ok.headers.get('location')!, /^\/services\/whoami\/oauth_callback\?code=[A-Za-z0-9]{30}&state=s1$/);
    const [code] = await t.db.select().from(schema.oauthCodes);
    assert.deepEqual(code!.scopes, ['access:services!service=whoami', 'read:users:groups!user', 'read:users:name!user']);
    // the next authorize needs no consent once a token covers it
    await exchange(t, codeOf(ok)!);
    assert.equal((await get(t, alice.jar.header())).status, 302);
  });

  test('oauth_no_confirm: straight to the redirect URI with a code', async () => {
    const t = await setup({ access_users: ['alice'], oauth_no_confirm: true });
    const res = await get(t, (await loggedIn(t, 'alice')).jar.header());
    assert.equal(res.status, 302);
    assert.ok(codeOf(res));
  });

  test('oauth_client_allowed_scopes are the default scopes; those the user lacks are dropped, unknown requests refused', async () => {
    const t = await setup({ access_all_users: true, oauth_no_confirm: true, oauth_client_allowed_scopes: ['read:users!user', 'admin:users'] });
    const alice = await loggedIn(t, 'alice');
    const res = await get(t, alice.jar.header());
    await exchange(t, codeOf(res)!);
    const [tok] = await t.db.select().from(schema.tokens).where(eq(schema.tokens.kind, 'oauth'));
    assert.deepEqual(tok!.scopes, ['access:services!service=whoami', 'read:users!user', 'read:users:groups!user', 'read:users:name!user']);
    const bad = await get(t, alice.jar.header(), authorizeUrl('&scope=tokens'));
    assert.equal(bad.status, 302);
    assert.equal(new URL(bad.headers.get('location')!, 'http://x').searchParams.get('error'), 'invalid_scope');
  });

  test('the token endpoint takes the api_token as client secret and nothing else', async () => {
    const t = await setup({ access_all_users: true, oauth_no_confirm: true });
    const alice = await loggedIn(t, 'alice');
    const wrong = await exchange(t, codeOf(await get(t, alice.jar.header()))!, 'not-the-token');
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as { error: string }).error, 'invalid_client');
    const ok = await exchange(t, codeOf(await get(t, alice.jar.header()))!);
    assert.equal(ok.status, 200);
    const body = (await ok.json()) as { token_type: string; scope: string };
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.scope, 'access:services!service=whoami read:users:groups!user read:users:name!user');
  });
});

describe("OAuth for services: the token at /hub/api/user (what the service's HubAuth checks)", () => {
  test('carries access:services!service=<name> while the rule admits the user; loses it when a reload takes it away', async () => {
    const t = await setup({ access_users: ['alice'], oauth_no_confirm: true });
    const token = await tokenFor(t, await loggedIn(t, 'alice'));
    const me = await whoSees(t, token);
    assert.equal(me.body!.name, 'alice');
    assert.deepEqual(me.body!.scopes, ['access:services!service=whoami', 'read:users:groups!user=alice', 'read:users:name!user=alice']);
    t.ctx.config = configSchema.parse({ ...t.ctx.config, services: [{ ...t.ctx.config.services[0]!, access_users: [] }] });
    const after = await whoSees(t, token);
    assert.equal(after.status, 200, 'the token still identifies alice');
    assert.deepEqual(after.body!.scopes, ['read:users:groups!user=alice', 'read:users:name!user=alice']);
  });

  test("an admin's token carries it too (the admin role), without widening to other services", async () => {
    const t = await setup({ oauth_no_confirm: true });
    const token = await tokenFor(t, await loggedIn(t, 'admin', 'admin secret pw'));
    assert.deepEqual((await whoSees(t, token)).body!.scopes, ['access:services!service=whoami', 'read:users:groups!user=admin', 'read:users:name!user=admin']);
  });

  test('a removed service: the sync deletes its client and the tokens stop working', async () => {
    const t = await setup({ access_all_users: true, oauth_no_confirm: true });
    const token = await tokenFor(t, await loggedIn(t, 'alice'));
    t.ctx.config = configSchema.parse({ ...t.ctx.config, services: [] });
    await syncServices(t.ctx);
    assert.equal((await whoSees(t, token)).status, 403);
  });
});
