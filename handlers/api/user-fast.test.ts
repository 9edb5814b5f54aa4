// The token check's fast path answers exactly what the app answers — same status, headers and body —
// and never something the database no longer says: a revoked token, a blocked user, an expired token,
// a started server, a reloaded configuration are seen at the next request. What it cannot answer goes
// to the app. A real Node server on loopback, as in `berth serve`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type RequestListener } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { eq } from 'drizzle-orm';
import { buildTestApp, testClock } from '../../test/helpers/app.ts';
import { schema } from '../../db/client.ts';
import { configSchema } from '../../src/config/schema.ts';
import { flushTokenUses } from '../../src/services/tokens/touch.ts';
import { withFastTokenCheck } from './user-fast.ts';

async function serve(listener: RequestListener) {
  const server = createServer(listener);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { origin, close: () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }) };
}


async function setup(config?: NonNullable<Parameters<typeof buildTestApp>[0]>['config']) {
  const clock = testClock();
  const t = await buildTestApp({ runner: false, clock, ...(config ? { config } : {}) });
  const settle = () => flushTokenUses(t.db); // the batched record of a token's use
  let appCalls = 0;
  const app = getRequestListener(t.app.fetch) as RequestListener;
  const counted: RequestListener = (req, res) => { appCalls++; return app(req, res); };
  const fast = await serve(withFastTokenCheck(t.ctx, counted));
  const plain = await serve(app);
  const get = async (origin: string, token: string | undefined, path = '/hub/api/user', headers: Record<string, string> = {}) => {
    const res = await fetch(`${origin}${path}`, { headers: { ...(token ? { authorization: `token ${token}` } : {}), ...headers } });
    const h = Object.fromEntries([...res.headers].filter(([k]) => !['date', 'connection', 'keep-alive'].includes(k)));
    return { status: res.status, headers: h, body: await res.text() };
  };
  const both = async (token: string | undefined, path?: string, headers?: Record<string, string>) => {
    // the first use of a token records it (fire-and-forget) after its answer was built: one use first,
    // then both read the same rows
    await get(plain.origin, token, path, headers);
    await settle();
    const b = await get(plain.origin, token, path, headers);
    const before = appCalls;
    const a = await get(fast.origin, token, path, headers);
    await settle();
    assert.deepEqual(a, b, 'the fast path answers what the app answers');
    return { ...a, viaApp: appCalls > before };
  };
  const close = async () => { await fast.close(); await plain.close(); };
  return { t, clock, both, close, settle, fastGet: (token: string, path?: string) => get(fast.origin, token, path), appCalls: () => appCalls };
}

test('a token check is answered from memory, byte for byte what the app answers', async () => {
  const { t, both, close } = await setup();
  const alice = await t.createUser('alice');
  const oauth = await t.createToken(alice.id, ['access:servers!server=alice/', 'read:users:groups!user', 'read:users:name!user']);
  const full = await t.createToken(alice.id);
  const first = await both(oauth);
  assert.equal(first.status, 200);
  assert.equal(JSON.parse(first.body).name, 'alice');
  assert.equal(first.headers['content-type'], 'application/json');
  assert.ok(first.headers['x-jupyterhub-version']);
  const again = await both(oauth);
  assert.equal(again.viaApp, false);
  assert.equal((await both(full)).viaApp, false, 'a token that may read servers: its answer lists them');
  await close();
});

test('a service token is answered too; unknown tokens, cookies, other paths and methods go to the app', async () => {
  const { t, both, close } = await setup({ services: [{ name: 'culler', api_token: 'svc-token-1234', admin: true }] });
  const { syncServices } = await import('../../src/services/services/sync.ts');
  await syncServices(t.ctx);
  const svc = await both('svc-token-1234');
  assert.equal(svc.status, 200);
  assert.equal(JSON.parse(svc.body).kind, 'service');
  assert.equal((await both('svc-token-1234')).viaApp, false);
  const unknown = await both('no-such-token-at-all');
  assert.equal(unknown.status, 403);
  assert.equal(unknown.viaApp, true);
  assert.equal((await both(undefined)).viaApp, true);
  assert.equal((await both('svc-token-1234', '/hub/api/user?x=1')).viaApp, true);
  assert.equal((await both('svc-token-1234', '/hub/api/users')).viaApp, true);
  await close();
});

test('what the database says now wins: revoked, blocked, expired, a server started', async () => {
  const { t, clock, both, close } = await setup();
  const alice = await t.createUser('alice');
  const bob = await t.createUser('bob');
  const revoked = await t.createToken(alice.id);
  const blocked = await t.createToken(bob.id);
  const expiring = await t.createToken(alice.id, ['inherit'], { expiresAt: clock.now() + 60_000 });
  const full = await t.createToken(alice.id);
  for (const tok of [revoked, blocked, expiring, full]) assert.equal((await both(tok)).status, 200);

  await t.db.delete(schema.tokens).where(eq(schema.tokens.hashed, (await t.db.select().from(schema.tokens)).find((r) => r.id === 1)!.hashed));
  assert.equal((await both(revoked)).status, 403);
  await t.db.update(schema.users).set({ blocked: true }).where(eq(schema.users.id, bob.id));
  assert.equal((await both(blocked)).status, 403);
  clock.advance(61_000);
  assert.equal((await both(expiring)).status, 403, 'expired while nothing was written');

  assert.deepEqual(JSON.parse((await both(full)).body).servers, {});
  await t.db.insert(schema.servers).values({ userId: alice.id, name: '', state: 'running', url: 'http://127.0.0.1:9' });
  assert.deepEqual(Object.keys(JSON.parse((await both(full)).body).servers), ['']);
  await close();
});

test('a reloaded configuration is answered under at once (version header)', async () => {
  const { t, both, close } = await setup();
  const alice = await t.createUser('alice');
  const tok = await t.createToken(alice.id);
  await both(tok);
  t.ctx.config = configSchema.parse({ ...t.config, hub: { ...t.config.hub, api_version: '5.9.9' } });
  const after = await both(tok);
  assert.equal(after.headers['x-jupyterhub-version'], '5.9.9');
  await close();
});

test('under a base URL the path is the base URL\'s', async () => {
  const { t, both, fastGet, appCalls, close } = await setup({ hub: { base_url: '/jh/' } });
  const alice = await t.createUser('alice');
  const tok = await t.createToken(alice.id);
  assert.equal((await both(tok, '/jh/hub/api/user')).viaApp, false);
  const calls = appCalls();
  assert.equal((await fastGet(tok, '/hub/api/user')).status, 404, 'outside the base URL: the app answers');
  assert.equal(appCalls(), calls + 1);
  await close();
});

test('a token used through the fast path counts as used (last_activity, throttled)', async () => {
  const { t, fastGet, appCalls, settle, close } = await setup();
  const alice = await t.createUser('alice');
  const tok = await t.createToken(alice.id);
  assert.equal((await fastGet(tok)).status, 200);
  assert.equal(appCalls(), 0, 'answered by the fast path alone');
  await settle();
  const [row] = await t.db.select().from(schema.tokens);
  assert.ok(row!.lastActivity != null);
  assert.ok((await t.db.select().from(schema.users))[0]!.lastActivityUs != null, "a user's own token counts as the user's activity");
  await close();
});
