// The oidc provider against a tiny local fake of a provider's endpoints: plain OAuth2 (authorize,
// token, userdata), discovery cached per instance and retried after a failure, the http rule, and
// the config checks. The real-provider flows (ID tokens, PKCE at the provider) are in
// test/integration/oidc.test.ts.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { oidcProvider } from './index.ts';
import { oidcConfig } from './config.ts';
import { configSchema } from '../../../config/schema.ts';
import { silentLogger } from '../../../log.ts';
import { LoginError, type ProviderDeps, type RedirectProvider } from '../types.ts';
import { hasOwnAllowRule } from '../../../../test/helpers/own-rule.ts';

interface Seen { method: string; path: string; headers: IncomingMessage['headers']; body: string }

/** The fake: what it was asked, and what it answers (changed by tests). */
const fake = {
  seen: [] as Seen[],
  token: { status: 200, body: { access_token: 'at-1', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt-1', scope: 'read:user' } as Record<string, unknown> },
  user: { status: 200, body: { login: 'Dave', id: 42, groups: ['lab', 'hpc'] } as unknown },
  discovery: {} as Record<string, unknown>,
};
let server: Server;
let origin = '';

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const path = new URL(req.url!, origin).pathname;
      fake.seen.push({ method: req.method!, path, headers: req.headers, body });
      const json = (status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      if (path === '/.well-known/openid-configuration') return json(200, fake.discovery);
      if (path === '/token' && req.method === 'POST') return json(fake.token.status, fake.token.body);
      if (path === '/user') return req.headers.authorization === 'Bearer at-1' ? json(fake.user.status, fake.user.body) : json(401, { error: 'invalid_token' });
      json(404, {});
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  fake.discovery = { issuer: origin, authorization_endpoint: `${origin}/authorize`, token_endpoint: `${origin}/token`, userinfo_endpoint: `${origin}/userinfo`, response_types_supported: ['code'] };
});
after(() => new Promise<void>((r) => server.close(() => r())));

const NOW = Date.UTC(2026, 10, 22, 1, 0, 0);
const config = configSchema.parse({ backend: 'fake', auth: { allow_all: true } });
const CALLBACK = 'https://hub.example.org/hub/oauth_callback';

function build(entry: Record<string, unknown>, fetchImpl: typeof fetch = (...a) => fetch(...a)) {
  const calls: string[] = [];
  const deps: ProviderDeps = { log: silentLogger, now: () => NOW, fetch: (url, init) => { calls.push(String(url)); return fetchImpl(url, init); } };
  const provider = oidcProvider(oidcConfig.parse({ kind: 'oidc', client_id: 'berth-client', client_secret: 'berth-secret', ...entry }), config, deps) as RedirectProvider;
  return { provider, calls };
}

const plainEntry = () => ({ authorize_url: `${origin}/authorize`, token_url: `${origin}/token`, userdata_url: `${origin}/user`, username_claim: 'login', scope: ['read:user'] });

/** begin, then the callback the provider would send back with `code`. */
async function roundTrip(provider: RedirectProvider, extraParams: Record<string, string> = {}) {
  const begun = await provider.begin({ callbackUrl: CALLBACK, state: 'state-123' });
  const params = new URLSearchParams({ code: 'the-code', state: 'state-123', ...extraParams });
  return { begun, claims: await provider.complete({ callbackUrl: CALLBACK, state: 'state-123', params, saved: begun.saved ?? {} }) };
}

describe('plain OAuth2 (authorize_url, token_url, userdata_url)', () => {
  test('begin: the authorize URL with state, PKCE S256, scope and extra params; no nonce; the verifier kept server-side', async () => {
    const { provider } = build({ ...plainEntry(), extra_authorize_params: { access_type: 'offline', prompt: 'consent' } });
    const { url, saved } = await provider.begin({ callbackUrl: CALLBACK, state: 'state-123' });
    const u = new URL(url);
    assert.equal(`${u.origin}${u.pathname}`, `${origin}/authorize`);
    const q = Object.fromEntries(u.searchParams);
    assert.equal(q.client_id, 'berth-client');
    assert.equal(q.response_type, 'code');
    assert.equal(q.redirect_uri, CALLBACK);
    assert.equal(q.state, 'state-123');
    assert.equal(q.scope, 'read:user');
    assert.equal(q.code_challenge_method, 'S256');
    assert.equal(q.access_type, 'offline');
    assert.equal(q.prompt, 'consent');
    assert.equal(q.nonce, undefined, 'no ID token in plain OAuth2');
    assert.equal(typeof saved?.code_verifier, 'string');
    assert.ok(!url.includes(String(saved!.code_verifier)), 'the verifier never reaches the browser');
  });

  test('complete: code + verifier exchanged (client credentials in the form body by default), identity and groups from the userdata answer', async () => {
    fake.seen = [];
    const { provider } = build({ ...plainEntry(), groups_claim: 'groups' });
    const { begun, claims } = await roundTrip(provider, { iss: 'https://someone-else.example' });
    const token = fake.seen.find((s) => s.path === '/token')!;
    const form = new URLSearchParams(token.body);
    assert.equal(form.get('grant_type'), 'authorization_code');
    assert.equal(form.get('code'), 'the-code');
    assert.equal(form.get('redirect_uri'), CALLBACK);
    assert.equal(form.get('code_verifier'), begun.saved!.code_verifier);
    assert.equal(form.get('client_id'), 'berth-client');
    assert.equal(form.get('client_secret'), 'berth-secret');
    assert.equal(token.headers.authorization, undefined);
    assert.equal(claims.name, 'Dave');
    assert.deepEqual(claims.groups, ['lab', 'hpc']);
    assert.deepEqual(claims.authState, {
      access_token: 'at-1', refresh_token: 'rt-1', id_token: undefined, expires_at: NOW / 1000 + 3600, scope: 'read:user', token_type: 'bearer',
      claims: undefined, userinfo: { login: 'Dave', id: 42, groups: ['lab', 'hpc'] },
    });
  });

  test('basic_auth: true sends the client credentials as HTTP Basic', async () => {
    fake.seen = [];
    const { provider } = build({ ...plainEntry(), basic_auth: true });
    await roundTrip(provider);
    const token = fake.seen.find((s) => s.path === '/token')!;
    // RFC 6749 §2.3.1: each part form-urlencoded, then base64
    const [scheme, b64] = String(token.headers.authorization).split(' ');
    assert.equal(scheme, 'Basic');
    assert.deepEqual(Buffer.from(b64!, 'base64').toString().split(':').map(decodeURIComponent), ['berth-client', 'berth-secret']);
    assert.equal(new URLSearchParams(token.body).get('client_secret'), null);
  });

  test('no client_secret: a public client, PKCE only', async () => {
    fake.seen = [];
    const { provider } = build({ ...plainEntry(), client_secret: undefined });
    await roundTrip(provider);
    const token = fake.seen.find((s) => s.path === '/token')!;
    assert.equal(new URLSearchParams(token.body).get('client_secret'), null);
    assert.equal(token.headers.authorization, undefined);
    assert.equal(new URLSearchParams(token.body).get('client_id'), 'berth-client');
  });

  test('the token endpoint refusing the code: a failure with its error code, the description only in the log', async () => {
    fake.token = { status: 400, body: { error: 'invalid_grant', error_description: '<b>code expired</b>' } };
    try {
      const { provider } = build(plainEntry());
      await assert.rejects(roundTrip(provider), (err: unknown) => {
        assert.ok(err instanceof LoginError && err.kind === 'failed');
        assert.match(err.message, /did not accept the sign-in \(invalid_grant\)/);
        assert.doesNotMatch(err.message, /code expired/);
        assert.match(err.detail!, /code expired/);
        return true;
      });
    } finally {
      fake.token = { status: 200, body: { access_token: 'at-1', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt-1', scope: 'read:user' } };
    }
  });

  test('userdata failing or unusable: a failure', async () => {
    const { provider } = build(plainEntry());
    for (const user of [{ status: 500, body: { error: 'boom' } }, { status: 200, body: ['not', 'an', 'object'] }, { status: 200, body: { id: 42 } }]) {
      fake.user = user;
      await assert.rejects(roundTrip(provider), (err: unknown) => err instanceof LoginError && err.kind === 'failed', JSON.stringify(user));
    }
    fake.user = { status: 200, body: { login: 'Dave', id: 42, groups: ['lab', 'hpc'] } };
  });

  test('a callback whose saved state lost its verifier is refused as invalid', async () => {
    const { provider } = build(plainEntry());
    await assert.rejects(provider.complete({ callbackUrl: CALLBACK, state: 's', params: new URLSearchParams({ code: 'c', state: 's' }), saved: {} }), (err: unknown) => err instanceof LoginError && err.kind === 'invalid');
  });

  test('refresh: the refresh-token grant gives fresh claims and keeps the refresh token when none is rotated in', async () => {
    fake.seen = [];
    const { provider } = build(plainEntry());
    const { claims } = await roundTrip(provider);
    fake.token = { status: 200, body: { access_token: 'at-1', token_type: 'Bearer', expires_in: 60 } };
    try {
      const fresh = await provider.refresh!(claims.authState!);
      const form = new URLSearchParams(fake.seen.filter((s) => s.path === '/token').at(-1)!.body);
      assert.equal(form.get('grant_type'), 'refresh_token');
      assert.equal(form.get('refresh_token'), 'rt-1');
      assert.equal(fresh?.name, 'Dave');
      assert.equal(fresh?.authState?.refresh_token, 'rt-1');
      assert.equal(fresh?.authState?.expires_at, NOW / 1000 + 60);
      assert.equal(await provider.refresh!({ access_token: 'at-1' }), undefined, 'no refresh token: cannot');
    } finally {
      fake.token = { status: 200, body: { access_token: 'at-1', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt-1', scope: 'read:user' } };
    }
  });
});

describe('discovery', () => {
  test('fetched once per provider instance', async () => {
    const { provider, calls } = build({ issuer: origin });
    await provider.begin({ callbackUrl: CALLBACK, state: 'a' });
    const { url, saved } = await provider.begin({ callbackUrl: CALLBACK, state: 'b' });
    assert.equal(calls.filter((c) => c.includes('/.well-known/openid-configuration')).length, 1);
    assert.ok(url.startsWith(`${origin}/authorize?`));
    assert.equal(new URL(url).searchParams.get('nonce'), saved?.nonce, 'OIDC: a nonce, kept in saved');
    assert.equal(new URL(url).searchParams.get('scope'), 'openid profile email');
  });

  test('a failed discovery is not cached: the next login tries again', async () => {
    let fail = true;
    const { provider, calls } = build({ issuer: origin }, (url, init) => (fail ? Promise.reject(new TypeError('fetch failed')) : fetch(url, init)));
    await assert.rejects(provider.begin({ callbackUrl: CALLBACK, state: 'a' }), (err: unknown) => err instanceof LoginError && err.kind === 'failed' && /could not be reached/.test(err.message));
    fail = false;
    await provider.begin({ callbackUrl: CALLBACK, state: 'b' });
    await provider.begin({ callbackUrl: CALLBACK, state: 'c' });
    assert.equal(calls.length, 2, 'one failed, one kept');
  });

  test('a discovery document naming another issuer is refused', async () => {
    const saved = fake.discovery;
    fake.discovery = { ...saved, issuer: 'https://elsewhere.example' };
    try {
      const { provider } = build({ issuer: origin });
      await assert.rejects(provider.begin({ callbackUrl: CALLBACK, state: 'a' }), (err: unknown) => err instanceof LoginError && /did not match/.test(err.message));
    } finally {
      fake.discovery = saved;
    }
  });

  test('a loopback issuer advertising plain-http endpoints elsewhere is refused, unless allow_insecure_http', async () => {
    const saved = fake.discovery;
    fake.discovery = { ...saved, token_endpoint: 'http://idp.example.org/token' };
    try {
      await assert.rejects(build({ issuer: origin }).provider.begin({ callbackUrl: CALLBACK, state: 'a' }), (err: unknown) => err instanceof LoginError && /plain http/.test(err.message) && /token_endpoint/.test(err.detail ?? ''));
      await build({ issuer: origin, allow_insecure_http: true }).provider.begin({ callbackUrl: CALLBACK, state: 'a' });
    } finally {
      fake.discovery = saved;
    }
  });
});

describe('the entry', () => {
  test('label "Sign in with <name>" by default; no allow rule of its own', () => {
    const { provider } = build(plainEntry());
    assert.equal(provider.name, 'oidc');
    assert.equal(provider.label, 'Sign in with oidc');
    assert.equal(hasOwnAllowRule({ kind: 'oidc', issuer: 'https://idp.example/', client_id: 'x' }), false);
    const named = build({ ...plainEntry(), name: 'keycloak' }).provider;
    assert.equal(named.label, 'Sign in with keycloak');
    assert.equal(build({ ...plainEntry(), label: 'University login' }).provider.label, 'University login');
  });

  test('config: plain http only to loopback unless allow_insecure_http', () => {
    const parse = (e: Record<string, unknown>) => oidcConfig.safeParse({ kind: 'oidc', client_id: 'c', ...e });
    assert.ok(parse({ issuer: 'https://idp.example.org' }).success);
    for (const host of ['127.0.0.1:8080', 'localhost:5556', '[::1]:9000']) assert.ok(parse({ issuer: `http://${host}` }).success, host);
    const bad = parse({ issuer: 'http://idp.example.org' });
    assert.ok(!bad.success);
    assert.match(bad.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n'), /issuer: .*plain http.*allow_insecure_http/);
    assert.ok(parse({ issuer: 'http://idp.example.org', allow_insecure_http: true }).success);
    assert.ok(!parse({ authorize_url: 'https://a.example/auth', token_url: 'http://a.example/token', userdata_url: 'https://a.example/user' }).success);
  });

  test('config: issuer, or all three plain-OAuth2 URLs — not a mix', () => {
    const parse = (e: Record<string, unknown>) => oidcConfig.safeParse({ kind: 'oidc', client_id: 'c', ...e });
    assert.ok(!parse({}).success);
    assert.ok(!parse({ authorize_url: 'https://a.example/auth', token_url: 'https://a.example/token' }).success);
    assert.ok(!parse({ issuer: 'https://a.example', token_url: 'https://a.example/token' }).success);
    assert.ok(parse({ authorize_url: 'https://a.example/auth', token_url: 'https://a.example/token', userdata_url: 'https://a.example/user' }).success);
  });
});
