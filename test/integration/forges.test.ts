// GitHub and GitLab sign-in through the whole app: /hub/oauth_login → the fake forge's authorize
// page → /hub/oauth_callback → a session, with the forge's orgs/teams/groups stored as the user's
// groups and the provider's own allow rules (organisations, teams, groups, projects) deciding.
// The fakes (test/helpers/fake-github.ts, fake-gitlab.ts) page every list two items at a time.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { buildTestApp } from '../helpers/app.ts';
import { Jar } from '../helpers/login.ts';
import { startFakeGitHub, type FakeGitHub, type FakeGitHubUser } from '../helpers/fake-github.ts';
import { startFakeGitLab, type FakeGitLab, type FakeGitLabGroup } from '../helpers/fake-gitlab.ts';
import { schema } from '../../db/client.ts';
import { createLogger } from '../../src/log.ts';
import { authStateCrypt } from '../../src/auth/auth-state.ts';
import type { ConfigInput } from '../../src/config/schema.ts';

type TestApp = Awaited<ReturnType<typeof buildTestApp>>;
type Provider = NonNullable<NonNullable<ConfigInput['auth']>['providers']>[number];

/** The callback URL the app works out for an in-process request (http://localhost, base_url /). */
const CALLBACK = 'http://localhost/hub/oauth_callback';
const KEY = 'a'.repeat(64);
const client = { client_id: 'berth-client', client_secret: 'berth-secret-0123' };
const registered = { clientId: client.client_id, clientSecret: client.client_secret, redirectUri: CALLBACK };

async function app(provider: Provider, auth: Partial<NonNullable<ConfigInput['auth']>> = {}) {
  const t = await buildTestApp({ config: { auth: { providers: [provider], auth_state: { keys: [KEY] }, ...auth } } });
  const lines: string[] = [];
  t.ctx.log = createLogger('debug', (l) => lines.push(l)); // read when the providers are first built
  return { ...t, lines };
}

/** The browser's round trip: Berth → the forge's authorize page → back to Berth's callback. */
async function signIn(t: TestApp, provider: string, opts: { beforeCallback?: () => void } = {}) {
  const jar = new Jar();
  const start = jar.take(await t.app.request(`/hub/oauth_login?provider=${provider}&next=/hub/token`));
  assert.equal(start.status, 302, await start.clone().text());
  const authorize = new URL(start.headers.get('location')!);
  const atForge = await fetch(authorize, { redirect: 'manual' });
  assert.equal(atForge.status, 302, `the forge's authorize page answered ${atForge.status}: ${await atForge.text()}`);
  const back = new URL(atForge.headers.get('location')!);
  assert.equal(`${back.origin}${back.pathname}`, CALLBACK);
  opts.beforeCallback?.();
  const res = jar.take(await t.app.request(back.pathname + back.search, { headers: { cookie: jar.header() } }));
  return { res, jar, authorize, back, body: res.status === 302 ? '' : await res.text() };
}

async function groupsOf(t: TestApp, name: string) {
  const user = await t.db.query.users.findFirst({ where: eq(schema.users.name, name) });
  if (!user) return undefined;
  const rows = await t.db.select({ name: schema.groups.name }).from(schema.userGroups).innerJoin(schema.groups, eq(schema.groups.id, schema.userGroups.groupId)).where(eq(schema.userGroups.userId, user.id));
  return rows.map((r) => r.name).sort();
}

async function authStateOf(t: TestApp, name: string) {
  return authStateCrypt(t.config).decrypt((await t.userAuth(name))?.authState);
}

/** The page and the log say nothing secret and show no stack. */
function assertNoLeak(text: string, lines: string[], secrets: string[]) {
  for (const s of [...secrets, client.client_secret]) {
    assert.ok(!text.includes(s), 'a secret is on the page');
    assert.ok(!lines.some((l) => l.includes(s)), 'a secret is in the log');
  }
  assert.doesNotMatch(text, /\n\s+at |Error:|TypeError|node_modules/);
}

describe('GitHub', () => {
  let gh: FakeGitHub;
  const users: FakeGitHubUser[] = [
    // org-b is on page 2 of /user/orgs (two a page); acme:devs on page 2 of /user/teams
    { login: 'Alice', id: 1, orgs: ['a1', 'a2', 'org-b'], teams: ['a1:ops', 'a1:qa', 'acme:devs'], email: null, emails: [{ email: 'alice@example.org', primary: true, verified: true }] },
    { login: 'bob', id: 2, orgs: ['acme'], teams: ['acme:ops'] },
    { login: 'carol', id: 3, orgs: ['elsewhere'] },
  ];
  let people: FakeGitHubUser[]; // this test's copy: a test may change someone's memberships
  const setup = async () => { people = structuredClone(users); gh = await startFakeGitHub({ ...registered, users: people }); after(() => gh.close()); };
  const github = (extra: Record<string, unknown> = {}): Provider => ({ kind: 'github', base_url: gh.url, ...client, ...extra }) as Provider;

  test('an org member found on page 2 signs in; orgs and teams become groups; GitHub Enterprise API under /api/v3', async () => {
    await setup();
    const t = await app(github({ allowed_organizations: ['org-b'], scope: ['user:email'] }));
    gh.signIn('Alice');
    const { res, jar, authorize } = await signIn(t, 'github');
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/hub/token');
    assert.ok(jar.get('jupyterhub-hub-login'));
    // what Berth asked GitHub for
    assert.equal(authorize.origin + authorize.pathname, `${gh.url}/login/oauth/authorize`);
    assert.equal(authorize.searchParams.get('client_id'), client.client_id);
    assert.equal(authorize.searchParams.get('redirect_uri'), CALLBACK);
    assert.deepEqual(authorize.searchParams.get('scope')!.split(' ').sort(), ['read:org', 'user:email']);
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(authorize.searchParams.get('state'));
    // pages followed, under GitHub Enterprise's /api/v3 (no api_url set)
    assert.ok(gh.requests.includes('GET /user/orgs?per_page=2&page=2'), gh.requests.join('\n'));
    assert.ok(gh.requests.includes('GET /user/teams?per_page=2&page=2'));
    assert.deepEqual(await groupsOf(t, 'alice'), ['a1', 'a1:ops', 'a1:qa', 'a2', 'acme:devs', 'org-b']);
    const state = await authStateOf(t, 'alice');
    assert.equal((state?.github_user as { login: string }).login, 'Alice');
    assert.equal((state?.github_user as { email: string }).email, 'alice@example.org', 'the private address from /user/emails');
    assert.equal(state?.access_token, gh.issuedTokens()[0]);
    assert.deepEqual([...(state?.scope as string[])].sort(), ['read:org', 'user:email'], 'the scopes GitHub granted');
    assert.equal((state?.teams as unknown[]).length, 3);
    assertNoLeak(await (await t.app.request('/hub/token', { headers: { cookie: jar.header() } })).text(), t.lines, gh.issuedTokens());
    // she leaves a2 and a1's ops team: the next sign-in takes those groups away
    people[0]!.orgs = ['a1', 'org-b'];
    people[0]!.teams = ['a1:qa'];
    assert.equal((await signIn(t, 'github')).res.status, 302);
    assert.deepEqual(await groupsOf(t, 'alice'), ['a1', 'a1:qa', 'org-b']);
  });

  test('team rules: a member of org:team (page 2 of teams) signs in; an org member outside the team is refused', async () => {
    await setup();
    const t = await app(github({ api_url: gh.url, allowed_organizations: ['acme:devs', 'ACME:qa'] }));
    gh.signIn('Alice');
    assert.equal((await signIn(t, 'github')).res.status, 302);
    assert.ok(gh.requests.includes('GET /user/teams?per_page=2&page=2'), 'api.github.com style: API at the root');
    gh.signIn('bob');
    const bob = await signIn(t, 'github');
    assert.equal(bob.res.status, 403);
    assert.match(bob.body, /not allowed to use this hub/);
    assert.equal(bob.jar.get('jupyterhub-hub-login'), undefined);
    assert.equal(await groupsOf(t, 'bob'), undefined, 'no user row for a refused login');
    const refused = await t.db.select().from(schema.audit).where(eq(schema.audit.action, 'login.refused'));
    assert.equal(refused.length, 1);
    assert.equal(refused[0]!.target, 'bob');
  });

  test('a user in none of the allowed organisations is refused with the 403 page', async () => {
    await setup();
    const t = await app(github({ allowed_organizations: ['org-b', 'acme'] }));
    gh.signIn('carol');
    const { res, body } = await signIn(t, 'github');
    assert.equal(res.status, 403);
    assert.match(body, /Not allowed to sign in/);
    assertNoLeak(body, t.lines, gh.issuedTokens());
  });

  test("no allowed_organizations: the hub's allowed_groups decide, read:org is asked for, allowed is left to the policy", async () => {
    await setup();
    const t = await app(github(), { allowed_groups: ['acme'] });
    gh.signIn('bob');
    const bob = await signIn(t, 'github');
    assert.equal(bob.authorize.searchParams.get('scope'), 'read:org');
    assert.equal(bob.res.status, 302);
    assert.deepEqual(await groupsOf(t, 'bob'), ['acme', 'acme:ops']);
    gh.signIn('carol');
    assert.equal((await signIn(t, 'github')).res.status, 403);
  });

  test('the person cancels at GitHub: 403 page saying what GitHub answered', async () => {
    await setup();
    const t = await app(github({ allowed_organizations: ['org-b'] }));
    gh.signIn('Alice');
    gh.denyNext();
    const { res, body } = await signIn(t, 'github');
    assert.equal(res.status, 403);
    assert.match(body, /access_denied/);
    assert.ok(!gh.requests.includes('POST /login/oauth/access_token'), 'no exchange after a refusal');
  });

  test('token endpoint errors: an expired code is a 403, a wrong secret, a 500 or garbage a 502 — never a stack or a token', async () => {
    await setup();
    const t = await app(github({ allowed_organizations: ['org-b'] }));
    gh.signIn('Alice');
    const expired = await signIn(t, 'github', { beforeCallback: () => gh.expireCodes() });
    assert.equal(expired.res.status, 403);
    assert.match(expired.body, /refused \(bad_verification_code\)/);
    assertNoLeak(expired.body, t.lines, gh.issuedTokens());

    for (const mode of ['down', 'garbage'] as const) {
      gh.tokenEndpoint(mode);
      const r = await signIn(t, 'github');
      assert.equal(r.res.status, 502, mode);
      assert.match(r.body, /could not be reached or gave an answer Berth cannot use/);
      assertNoLeak(r.body, t.lines, gh.issuedTokens());
    }
    gh.tokenEndpoint('ok');
    assert.ok(t.lines.some((l) => l.includes('"level":"error"') && l.includes('code exchange')), 'the detail went to the log');

    const wrong = await app(github({ client_secret: 'not-the-secret', allowed_organizations: ['org-b'] }));
    const r = await signIn(wrong, 'github');
    assert.equal(r.res.status, 502);
    assert.match(r.body, /OAuth application was refused/);
    assert.ok(wrong.lines.some((l) => l.includes('incorrect_client_credentials')));
    assertNoLeak(r.body, wrong.lines, ['not-the-secret']);
  });

  test('a plain-http GitHub outside loopback is refused at config time', async () => {
    await assert.rejects(buildTestApp({ config: { auth: { providers: [{ kind: 'github', base_url: 'http://github.example.org', ...client, allow_all: true }] } } }), /plain http outside loopback/);
    await buildTestApp({ config: { auth: { providers: [{ kind: 'github', base_url: 'http://github.example.org', allow_insecure_http: true, ...client, allow_all: true }] } } });
  });
});

describe('GitLab', () => {
  let gl: FakeGitLab;
  const groups: FakeGitLabGroup[] = [
    { id: 1, full_path: 'big', members: { gina: 30 } },
    { id: 2, full_path: 'big/sub' },
    { id: 3, full_path: 'big/sub/team', members: { dana: 10 } },
    { id: 4, full_path: 'g1', members: { dana: 20 } },
    { id: 5, full_path: 'g2', members: { dana: 20 } },
    { id: 6, full_path: 'g3', members: { dana: 50 } },
    { id: 7, full_path: 'public-grp', visibility: 'public', members: { gina: 10 } },
    { id: 8, full_path: 'devs', members: { frank: 30, Erin: 20 } },
  ];
  const projects = [{ id: 42, namespace: 'devs' }, { id: 43, members: { Erin: 20 } }];
  const users = [{ id: 11, username: 'dana' }, { id: 12, username: 'Erin' }, { id: 13, username: 'frank' }, { id: 14, username: 'gina' }, { id: 15, username: 'root', is_admin: true }];
  const setup = async () => { gl = await startFakeGitLab({ ...registered, users, groups, projects }); after(() => gl.close()); };
  const gitlab = (extra: Record<string, unknown> = {}): Provider => ({ kind: 'gitlab', base_url: gl.url, ...client, ...extra }) as Provider;

  test('a member of a deep subgroup signs in for the parent; every group on every page is stored', async () => {
    await setup();
    const t = await app(gitlab({ allowed_groups: ['big'] }));
    gl.signIn('dana');
    const { res, authorize } = await signIn(t, 'gitlab');
    assert.equal(res.status, 302);
    assert.equal(authorize.origin + authorize.pathname, `${gl.url}/oauth/authorize`);
    assert.equal(authorize.searchParams.get('response_type'), 'code');
    assert.equal(authorize.searchParams.get('scope'), 'read_user read_api');
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(gl.requests.some((r) => r.startsWith('GET /api/v4/groups?min_access_level=10&per_page=2&page=2')), gl.requests.join('\n'));
    assert.deepEqual(await groupsOf(t, 'dana'), ['big/sub/team', 'g1', 'g2', 'g3']);
    const state = await authStateOf(t, 'dana');
    assert.equal((state?.gitlab_user as { username: string }).username, 'dana');
    assert.ok(typeof state?.refresh_token === 'string' && typeof state?.expires_at === 'number');
  });

  test('allowed_groups: a parent-group member counts for a subgroup; an admin who only sees a public group does not', async () => {
    await setup();
    const t = await app(gitlab({ allowed_groups: ['big/sub'] }));
    gl.signIn('gina'); // member of "big": inherited into big/sub
    assert.equal((await signIn(t, 'gitlab')).res.status, 302);
    assert.deepEqual(await groupsOf(t, 'gina'), ['big', 'big/sub', 'big/sub/team', 'public-grp']);
    const pub = await app(gitlab({ allowed_groups: ['public-grp'] }));
    gl.signIn('root'); // sees every group, belongs to none
    const r = await signIn(pub, 'gitlab');
    assert.equal(r.res.status, 403);
  });

  test('allowed_project_ids: Developer (30, inherited from the group) signs in; Reporter (20) is refused', async () => {
    await setup();
    const t = await app(gitlab({ allowed_project_ids: [43, 42] }));
    gl.signIn('frank');
    assert.equal((await signIn(t, 'gitlab')).res.status, 302);
    assert.ok(gl.requests.includes('GET /api/v4/projects/42/members/all/13'));
    gl.signIn('Erin');
    const erin = await signIn(t, 'gitlab');
    assert.equal(erin.res.status, 403);
    assert.match(erin.body, /not allowed to use this hub/);
    gl.signIn('dana'); // in no project at all (404)
    assert.equal((await signIn(t, 'gitlab')).res.status, 403);
  });

  test('token endpoint errors: a wrong secret is a 502, a cancel a 403 — no stack, no token', async () => {
    await setup();
    const wrong = await app(gitlab({ client_secret: 'not-the-secret', allowed_groups: ['big'] }));
    gl.signIn('dana');
    const r = await signIn(wrong, 'gitlab');
    assert.equal(r.res.status, 502);
    assert.match(r.body, /OAuth application was refused/);
    assert.ok(wrong.lines.some((l) => l.includes('invalid_client')));
    assertNoLeak(r.body, wrong.lines, ['not-the-secret', ...gl.issuedTokens()]);
    gl.denyNext();
    const t = await app(gitlab({ allowed_groups: ['big'] }));
    const denied = await signIn(t, 'gitlab');
    assert.equal(denied.res.status, 403);
    assertNoLeak(denied.body, t.lines, gl.issuedTokens());
  });
});
