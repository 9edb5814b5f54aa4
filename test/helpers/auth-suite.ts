// The shared security suite every authenticated route runs (unkey's common-tests): no token, bad
// token, `token` and `bearer` prefixes, a ?token= URL parameter (ignored by the hub API), and
// another user's resource. Call it inside a describe() of the route's test file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp } from './app.ts';

type TestApp = Awaited<ReturnType<typeof buildTestApp>>;

export interface AuthSuiteRoute {
  method: string;
  /** Path for the resource owned by `owner` (a user named "owner" is created for you). */
  path: (owner: string) => string;
  body?: unknown;
  /** Statuses that mean "authorised" for the owner's own token (e.g. [200], [201, 202]). */
  ok: number[];
  /** Raw scopes of the owner's token (default inherit). */
  scopes?: string[];
  /** Runs after users exist and before each request (e.g. start a server). */
  prepare?: (t: TestApp, owner: { id: number; name: string }) => Promise<void>;
  /** Set false for routes that are not per-user (no "another user's resource" case). */
  perUser?: boolean;
}

export function authSuite(route: AuthSuiteRoute) {
  const setup = async () => {
    const t = await buildTestApp();
    const owner = await t.createUser('owner');
    const other = await t.createUser('other');
    await route.prepare?.(t, owner);
    const ownerToken = await t.createToken(owner.id, route.scopes);
    const otherToken = await t.createToken(other.id);
    return { t, ownerToken, otherToken };
  };
  const send = (t: TestApp, authorization?: string, query = '') =>
    t.app.request(route.path('owner') + query, {
      method: route.method,
      headers: { ...(authorization ? { authorization } : {}), ...(route.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: route.body !== undefined ? JSON.stringify(route.body) : undefined,
    });
  const expectDenied = async (res: Response, statuses = [403]) => {
    assert.ok(statuses.includes(res.status), `expected ${statuses.join('/')}, got ${res.status}`);
    const body = (await res.json()) as { status: number; message: string };
    assert.equal(body.status, res.status);
    assert.equal(typeof body.message, 'string');
  };

  test(`${route.method} ${route.path('owner')}: no token → 403 JSON`, async () => {
    const { t } = await setup();
    await expectDenied(await send(t));
  });
  test(`${route.method} ${route.path('owner')}: bad token → 403 JSON`, async () => {
    const { t } = await setup();
    await expectDenied(await send(t, 'token 0123456789abcdef0123456789abcdef'));
  });
  test(`${route.method} ${route.path('owner')}: malformed Authorization header → 403 JSON`, async () => {
    const { t, ownerToken } = await setup();
    await expectDenied(await send(t, `Basic ${ownerToken}`));
  });
  test(`${route.method} ${route.path('owner')}: ?token= is ignored → 403`, async () => {
    const { t, ownerToken } = await setup();
    await expectDenied(await send(t, undefined, `${route.path('owner').includes('?') ? '&' : '?'}token=${ownerToken}`));
  });
  test(`${route.method} ${route.path('owner')}: "token" prefix accepted`, async () => {
    const { t, ownerToken } = await setup();
    const res = await send(t, `token ${ownerToken}`);
    assert.ok(route.ok.includes(res.status), `expected ${route.ok.join('/')}, got ${res.status}: ${await res.text()}`);
  });
  test(`${route.method} ${route.path('owner')}: "Bearer" prefix accepted`, async () => {
    const { t, ownerToken } = await setup();
    const res = await send(t, `Bearer ${ownerToken}`);
    assert.ok(route.ok.includes(res.status), `expected ${route.ok.join('/')}, got ${res.status}: ${await res.text()}`);
  });
  if (route.perUser !== false) {
    test(`${route.method} ${route.path('owner')}: another user's token → 403/404, never success`, async () => {
      const { t, otherToken } = await setup();
      await expectDenied(await send(t, `token ${otherToken}`), [403, 404]);
    });
  }
}
