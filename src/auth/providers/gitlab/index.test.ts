// The GitLab provider against the fake GitLab (test/helpers/fake-gitlab.ts), without the app:
// subgroup matching, PKCE, scopes, refresh through the (rotated) refresh token.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from '../../../config/schema.ts';
import { silentLogger } from '../../../log.ts';
import { LoginError, type RedirectProvider } from '../types.ts';
import { gitlabProvider, inGroup } from './index.ts';
import { startFakeGitLab } from '../../../../test/helpers/fake-gitlab.ts';
import { hasOwnAllowRule } from '../../../../test/helpers/own-rule.ts';

const CALLBACK = 'http://127.0.0.1:8000/hub/oauth_callback';

function build(entry: Record<string, unknown>, now = () => Date.now()) {
  const config = configSchema.parse({ auth: { providers: [{ kind: 'gitlab', client_id: 'cid', client_secret: 'csecret', ...entry }] } });
  const e = config.auth.providers[0]!;
  if (e.kind !== 'gitlab') throw new Error('not gitlab');
  return gitlabProvider(e, config, { log: silentLogger, now, fetch: (...a) => fetch(...a) }) as RedirectProvider;
}

async function authorize(p: RedirectProvider, state = 'st') {
  const begun = await p.begin({ callbackUrl: CALLBACK, state });
  const res = await fetch(begun.url, { redirect: 'manual' });
  assert.equal(res.status, 302, await res.text());
  return { params: new URL(res.headers.get('location')!).searchParams, saved: begun.saved ?? {}, state, url: new URL(begun.url) };
}

async function fake() {
  const gl = await startFakeGitLab({
    clientId: 'cid', clientSecret: 'csecret', redirectUri: CALLBACK,
    users: [{ id: 5, username: 'Quinn' }],
    groups: [{ id: 1, full_path: 'org' }, { id: 2, full_path: 'org/a' }, { id: 3, full_path: 'org/a/b', members: { Quinn: 30 } }, { id: 4, full_path: 'organic', members: {} }],
  });
  after(() => gl.close());
  gl.signIn('Quinn');
  return gl;
}

test('inGroup: the group itself and its subgroups, not a group whose name merely starts the same', () => {
  assert.ok(inGroup('org/a/b', 'org'));
  assert.ok(inGroup('org/a/b', 'org/a'));
  assert.ok(inGroup('Org/A', 'org/a/'));
  assert.ok(!inGroup('organic', 'org'));
  assert.ok(!inGroup('org', 'org/a'));
});

test('an own allow rule follows allowed_groups and allowed_project_ids', () => {
  assert.equal(hasOwnAllowRule({ kind: 'gitlab', client_id: 'cid', client_secret: 'csecret', allow_all: true }), false);
  assert.equal(hasOwnAllowRule({ kind: 'gitlab', client_id: 'cid', client_secret: 'csecret', allowed_groups: ['g'] }), true);
  assert.equal(hasOwnAllowRule({ kind: 'gitlab', client_id: 'cid', client_secret: 'csecret', allowed_project_ids: [3] }), true);
  assert.equal(build({ allow_all: true }).label, 'Sign in with GitLab');
});

test('config: plain http outside loopback is refused unless allow_insecure_http', () => {
  assert.throws(() => build({ base_url: 'http://gitlab.example.org', allow_all: true }), /plain http outside loopback/);
  assert.equal(build({ base_url: 'http://gitlab.example.org', allow_all: true, allow_insecure_http: true }).kind, 'gitlab');
});

test('claims: username, subgroup membership allows the parent, auth state with both tokens', async () => {
  const gl = await fake();
  const p = build({ base_url: gl.url, allowed_groups: ['org/a'] });
  const { params, saved, state, url } = await authorize(p);
  assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
  const claims = await p.complete({ callbackUrl: CALLBACK, state, params, saved });
  assert.equal(claims.name, 'Quinn');
  assert.deepEqual(claims.groups, ['org/a/b']);
  assert.equal(claims.allowed, true);
  assert.equal((claims.authState?.gitlab_user as { id: number }).id, 5);
  assert.ok(typeof claims.authState?.refresh_token === 'string');

  const other = build({ base_url: gl.url, allowed_groups: ['org/a/b/c', 'organ'] });
  const o = await authorize(other);
  assert.equal((await other.complete({ callbackUrl: CALLBACK, ...o })).allowed, false);
});

test('a wrong PKCE verifier and a replayed code are refused by GitLab', async () => {
  const gl = await fake();
  const p = build({ base_url: gl.url, allowed_groups: ['org'] });
  const a = await authorize(p);
  await assert.rejects(p.complete({ callbackUrl: CALLBACK, state: a.state, params: a.params, saved: { code_verifier: 'y'.repeat(43) } }), (e) => e instanceof LoginError && e.kind === 'refused' && /invalid_grant/.test(e.message));
  const b = await authorize(p);
  await p.complete({ callbackUrl: CALLBACK, ...b });
  await assert.rejects(p.complete({ callbackUrl: CALLBACK, ...b }), (e) => e instanceof LoginError && e.kind === 'refused');
});

test('scope without read_api: with allowed_groups the login fails (the reason only in the log detail); without, groups are left alone', async () => {
  const gl = await fake();
  const p = build({ base_url: gl.url, allowed_groups: ['org'], scope: ['read_user'] });
  const a = await authorize(p);
  await assert.rejects(p.complete({ callbackUrl: CALLBACK, ...a }), (e) => e instanceof LoginError && e.kind === 'failed' && /403/.test(e.detail ?? ''));
  // no group rule: the login goes on, and the user's groups are left as they are
  const open = build({ base_url: gl.url, allow_all: true, scope: ['read_user'] });
  const claims = await open.complete({ callbackUrl: CALLBACK, ...(await authorize(open)) });
  assert.equal(claims.name, 'Quinn');
  assert.equal(claims.groups, undefined);
  assert.equal(claims.allowed, undefined);
});

test('refresh: an expired access token is renewed with the refresh token (rotated, so the old one is spent)', async () => {
  const gl = await fake();
  let now = Date.now();
  const p = build({ base_url: gl.url, allowed_groups: ['org'] }, () => now);
  const a = await authorize(p);
  const claims = await p.complete({ callbackUrl: CALLBACK, ...a });
  const state = claims.authState!;

  // still valid: the same tokens read identity again
  const same = await p.refresh!(state);
  assert.equal(same?.authState?.access_token, state.access_token);

  // GitLab revoked the access token early (401): renewed through the refresh token
  gl.expireAccessTokens();
  const renewed = await p.refresh!(state);
  assert.equal(renewed?.name, 'Quinn');
  assert.notEqual(renewed?.authState?.access_token, state.access_token);
  assert.notEqual(renewed?.authState?.refresh_token, state.refresh_token);

  // two hours later: renewed before any API call, from the newest refresh token
  now += 3 * 3600_000;
  const later = await p.refresh!(renewed!.authState!);
  assert.notEqual(later?.authState?.access_token, renewed?.authState?.access_token);
  assert.ok((later?.authState?.expires_at as number) > now);

  // the first refresh token was spent at the first renewal: sign in again
  assert.equal(await p.refresh!(state), undefined);
});
