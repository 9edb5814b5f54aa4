// The shared OAuth2 code-flow helpers (../oauth2-code.ts): which URLs may be used, Link parsing,
// pages followed only on the forge's origin, and stored tokens read back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { apiGetAll, ForgeHttpError, insecureUrlProblem, nextLink, storedTokens } from './oauth2-code.ts';
import { silentLogger } from '../../log.ts';

const deps = { log: silentLogger, now: () => 1_000_000, fetch: (...a: Parameters<typeof fetch>) => fetch(...a) };

test('insecureUrlProblem: https always; http only on loopback or with allow_insecure_http', () => {
  assert.equal(insecureUrlProblem('https://github.com', false), undefined);
  assert.equal(insecureUrlProblem('http://127.0.0.1:9999', false), undefined);
  assert.equal(insecureUrlProblem('http://localhost:3000/gitlab', false), undefined);
  assert.equal(insecureUrlProblem('http://[::1]:80', false), undefined);
  assert.match(insecureUrlProblem('http://github.example.org', false)!, /plain http outside loopback/);
  assert.match(insecureUrlProblem('http://127.0.0.1.example.org', false)!, /plain http/);
  assert.equal(insecureUrlProblem('http://github.example.org', true), undefined);
  assert.match(insecureUrlProblem('ftp://github.example.org', true)!, /only https/);
  assert.equal(insecureUrlProblem(undefined, false), undefined);
});

test('nextLink: the rel="next" URL of a Link header, whatever the order and spacing', () => {
  const gh = '<https://api.github.com/user/orgs?per_page=2&page=3>; rel="next", <https://api.github.com/user/orgs?per_page=2&page=5>; rel="last"';
  assert.equal(nextLink(gh), 'https://api.github.com/user/orgs?per_page=2&page=3');
  assert.equal(nextLink('<https://x/a?page=1>; rel="prev", <https://x/a?page=3>;rel=next'), 'https://x/a?page=3');
  assert.equal(nextLink('<https://x/a?page=1>; rel="first", <https://x/a?page=9>; rel="last"'), undefined);
  assert.equal(nextLink('<https://x/a?page=2>; rel="prev next"'), 'https://x/a?page=2');
  assert.equal(nextLink(null), undefined);
});

test('apiGetAll: follows pages on the same origin, refuses a next page elsewhere (the token would go with it)', async () => {
  let hits = 0;
  let sawToken: string | undefined;
  const server = createServer((req, res) => {
    hits++;
    sawToken = req.headers.authorization;
    const page = Number(new URL(req.url!, 'http://x').searchParams.get('page') ?? 1);
    const next = req.url!.startsWith('/away') ? 'https://evil.example/steal?page=2' : page < 3 ? `http://127.0.0.1:${(server.address() as AddressInfo).port}/list?page=${page + 1}` : '';
    res.writeHead(200, { 'content-type': 'application/json', ...(next ? { link: `<${next}>; rel="next"` } : {}) });
    res.end(JSON.stringify([page]));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    assert.deepEqual(await apiGetAll(`${base}/list`, { deps, token: 'tok' }), [1, 2, 3]);
    assert.equal(sawToken, 'Bearer tok');
    hits = 0;
    await assert.rejects(apiGetAll(`${base}/away`, { deps, token: 'tok' }), (e) => e instanceof ForgeHttpError && /another origin/.test(e.message));
    assert.equal(hits, 1);
  } finally {
    server.close();
  }
});

test('apiGetAll: GitLab\'s X-Next-Page is followed when there is no Link', async () => {
  const server = createServer((req, res) => {
    const page = Number(new URL(req.url!, 'http://x').searchParams.get('page') ?? 1);
    res.writeHead(200, { 'content-type': 'application/json', 'x-next-page': page < 2 ? String(page + 1) : '' });
    res.end(JSON.stringify([`p${page}`]));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    assert.deepEqual(await apiGetAll(`http://127.0.0.1:${(server.address() as AddressInfo).port}/groups?per_page=1`, { deps, token: 't' }), ['p1', 'p2']);
  } finally {
    server.close();
  }
});

test('storedTokens: reads back what the providers store; nothing usable without an access token', () => {
  assert.deepEqual(storedTokens({ access_token: 'a', token_type: 'bearer', scope: ['read:org'], github_user: {} }), { access_token: 'a', token_type: 'bearer', scope: ['read:org'] });
  assert.deepEqual(storedTokens({ access_token: 'a', refresh_token: 'r', expires_at: 5, scope: 'read_user read_api' }), { access_token: 'a', token_type: 'bearer', scope: ['read_user', 'read_api'], refresh_token: 'r', expires_at: 5 });
  assert.equal(storedTokens({ refresh_token: 'r' }), undefined);
  assert.equal(storedTokens({ access_token: 42 }), undefined);
});
