// The GitHub provider against the fake GitHub (test/helpers/fake-github.ts), without the app:
// URLs and scopes it derives, its allow rule, a replayed code, refresh with the stored token.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from '../../../config/schema.ts';
import { silentLogger } from '../../../log.ts';
import { LoginError, type RedirectProvider } from '../types.ts';
import { githubApiUrl, githubProvider, githubScope, parseOrgRule } from './index.ts';
import { startFakeGitHub } from '../../../../test/helpers/fake-github.ts';
import { hasOwnAllowRule } from '../../../../test/helpers/own-rule.ts';

const CALLBACK = 'http://127.0.0.1:8000/hub/oauth_callback';
const deps = { log: silentLogger, now: () => Date.now(), fetch: (...a: Parameters<typeof fetch>) => fetch(...a) };

function build(entry: Record<string, unknown>, auth: Record<string, unknown> = {}) {
  const config = configSchema.parse({ auth: { providers: [{ kind: 'github', client_id: 'cid', client_secret: 'csecret', ...entry }], ...auth } });
  const e = config.auth.providers[0]!;
  if (e.kind !== 'github') throw new Error('not github');
  return githubProvider(e, config, deps) as RedirectProvider;
}

/** begin → the fake's authorize page → the callback's query. */
async function authorize(p: RedirectProvider, state = 'st-1') {
  const begun = await p.begin({ callbackUrl: CALLBACK, state });
  const res = await fetch(begun.url, { redirect: 'manual' });
  return { params: new URL(res.headers.get('location')!).searchParams, saved: begun.saved ?? {}, state };
}

test('API URL: api.github.com for github.com, /api/v3 for GitHub Enterprise, api_url when set', () => {
  assert.equal(githubApiUrl({ base_url: 'https://github.com' }), 'https://api.github.com');
  assert.equal(githubApiUrl({ base_url: 'https://github.com/' }), 'https://api.github.com');
  assert.equal(githubApiUrl({ base_url: 'https://ghe.example.org' }), 'https://ghe.example.org/api/v3');
  assert.equal(githubApiUrl({ base_url: 'https://ghe.example.org', api_url: 'https://api.ghe.example.org/' }), 'https://api.ghe.example.org');
});

test('scope: read:org added when organisations or the hub\'s groups decide, not twice, not otherwise', () => {
  const none = { allowed_groups: [], admin_groups: [] };
  assert.deepEqual(githubScope({ scope: [], allowed_organizations: ['a'] }, none), ['read:org']);
  assert.deepEqual(githubScope({ scope: ['user:email'], allowed_organizations: [] }, none), ['user:email']);
  assert.deepEqual(githubScope({ scope: [], allowed_organizations: [] }, { allowed_groups: [], admin_groups: ['admins'] }), ['read:org']);
  assert.deepEqual(githubScope({ scope: ['read:org'], allowed_organizations: ['a'] }, none), ['read:org']);
  assert.deepEqual(githubScope({ scope: ['user'], allowed_organizations: ['a'] }, none), ['user'], 'user includes read:org');
});

test('rules: "org" and "org:team", compared without case', () => {
  assert.deepEqual(parseOrgRule('JupyterHub'), { org: 'jupyterhub' });
  assert.deepEqual(parseOrgRule('jupyterhub:MyBinder-Operators'), { org: 'jupyterhub', team: 'mybinder-operators' });
});

test('an own allow rule follows allowed_organizations; the label and name defaults', () => {
  const open = build({ allow_all: true });
  assert.equal(hasOwnAllowRule({ kind: 'github', client_id: 'cid', client_secret: 'csecret', allow_all: true }), false);
  assert.equal(open.name, 'github');
  assert.equal(open.label, 'Sign in with GitHub');
  assert.equal(build({ allowed_organizations: ['x'], name: 'ghe', label: 'Company GitHub' }).label, 'Company GitHub');
  assert.equal(hasOwnAllowRule({ kind: 'github', client_id: 'cid', client_secret: 'csecret', allowed_organizations: ['x'] }), true);
});

test('a provider built around a plain-http URL (past the config check) refuses to start a login', async () => {
  const entry = { kind: 'github' as const, client_id: 'c', client_secret: 's', base_url: 'http://github.example.org', allowed_organizations: [], teams_as_groups: true, scope: [], allow_insecure_http: false, allow_all: true, username_prefix: '', group_prefix: '' };
  const p = githubProvider(entry, configSchema.parse({}), deps) as RedirectProvider;
  await assert.rejects(p.begin({ callbackUrl: CALLBACK, state: 's' }), (e) => e instanceof LoginError && e.kind === 'failed' && /misconfigured/.test(e.message) && /plain http/.test(e.detail ?? ''));
});

describe('against the fake GitHub', () => {
  const users = [{ login: 'Zed', id: 9, orgs: ['o1', 'o2', 'o3', 'o4', 'o5'], teams: ['o5:t'] }];

  test('claims: login as given, groups from every page, allowed from the team rule, auth state with the token', async () => {
    const gh = await startFakeGitHub({ clientId: 'cid', clientSecret: 'csecret', redirectUri: CALLBACK, users });
    after(() => gh.close());
    gh.signIn('Zed');
    const p = build({ base_url: gh.url, allowed_organizations: ['o5:t'] });
    const { params, saved, state } = await authorize(p);
    assert.ok(typeof saved.code_verifier === 'string', 'the PKCE verifier stays server-side');
    const claims = await p.complete({ callbackUrl: CALLBACK, state, params, saved });
    assert.equal(claims.name, 'Zed');
    assert.deepEqual(claims.groups, ['o1', 'o2', 'o3', 'o4', 'o5', 'o5:t']);
    assert.equal(claims.allowed, true);
    assert.equal(claims.authState?.access_token, gh.issuedTokens()[0]);
    assert.equal(claims.authState?.token_type, 'bearer');
    assert.ok(gh.requests.includes('GET /user/orgs?per_page=2&page=3'));

    // the code was spent: the same callback again is refused by GitHub
    await assert.rejects(p.complete({ callbackUrl: CALLBACK, state, params, saved }), (e) => e instanceof LoginError && e.kind === 'refused' && /bad_verification_code/.test(e.message));
    // a verifier that is not the one the challenge was made from
    const other = await authorize(p, 'st-2');
    await assert.rejects(p.complete({ callbackUrl: CALLBACK, state: other.state, params: other.params, saved: { code_verifier: 'x'.repeat(43) } }), (e) => e instanceof LoginError && e.kind === 'refused');
    // a state that is not this login's
    const third = await authorize(p, 'st-3');
    await assert.rejects(p.complete({ callbackUrl: CALLBACK, state: 'st-other', params: third.params, saved: third.saved }), LoginError);

    // refresh re-reads identity with the stored token; a revoked token means "sign in again"
    const fresh = await p.refresh!(claims.authState!);
    assert.equal(fresh?.name, 'Zed');
    assert.deepEqual(fresh?.groups, claims.groups);
    gh.revokeAll();
    assert.equal(await p.refresh!(claims.authState!), undefined);
    assert.equal(await p.refresh!({}), undefined);
  });

  test('no rule: allowed is not set; without read:org GitHub is not asked about orgs and groups are left alone', async () => {
    const gh = await startFakeGitHub({ clientId: 'cid', clientSecret: 'csecret', redirectUri: CALLBACK, users });
    after(() => gh.close());
    gh.signIn('Zed');
    const p = build({ base_url: gh.url, allow_all: true });
    const { params, saved, state } = await authorize(p);
    const claims = await p.complete({ callbackUrl: CALLBACK, state, params, saved });
    assert.equal(claims.allowed, undefined);
    assert.equal(claims.groups, undefined);
    assert.ok(!gh.requests.some((r) => r.startsWith('GET /user/orgs')));
  });

  test('GitHub unreachable: failed, with the reason only in detail', async () => {
    const gh = await startFakeGitHub({ clientId: 'cid', clientSecret: 'csecret', redirectUri: CALLBACK, users });
    gh.signIn('Zed');
    const p = build({ base_url: gh.url, allowed_organizations: ['o1'] });
    const { params, saved, state } = await authorize(p);
    await gh.close();
    await assert.rejects(p.complete({ callbackUrl: CALLBACK, state, params, saved }), (e) => e instanceof LoginError && e.kind === 'failed' && !!e.detail && !e.message.includes('ECONNREFUSED'));
  });
});
