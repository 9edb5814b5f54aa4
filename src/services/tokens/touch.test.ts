// noteTokenUse: token and user last_activity, throttled to once per 30 s per token (spec B.5).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { buildTestApp, testClock } from '../../../test/helpers/app.ts';
import { insertServer } from '../../../test/helpers/server-rows.ts';
import { schema } from '../../../db/client.ts';
import { identityFromToken } from '../../auth/identity.ts';
import { serverTokenScopes } from '../../auth/scopes.ts';
import { syncServices } from '../services/sync.ts';
import { noteTokenUse } from './touch.ts';

async function setup() {
  const clock = testClock();
  const t = await buildTestApp({ clock, config: { services: [{ name: 'svc', api_token: 'svc-token-1234', scopes: ['list:users'] }] } });
  const alice = await t.createUser('alice');
  const rows = async () => ({
    user: (await t.db.query.users.findFirst({ where: eq(schema.users.id, alice.id) }))!.lastActivityUs,
    tokens: (await t.db.select().from(schema.tokens)).map((r) => r.lastActivity),
  });
  return { t, clock, alice, rows };
}

describe('noteTokenUse', () => {
  test('records token and user activity, then at most once per 30 s', async () => {
    const { t, clock, alice, rows } = await setup();
    const token = await t.createToken(alice.id);
    const start = clock.now();
    await noteTokenUse(t.ctx, (await identityFromToken(t.ctx, token))!);
    assert.deepEqual(await rows(), { user: start * 1000, tokens: [start] });

    clock.advance(29_999);
    assert.equal(noteTokenUse(t.ctx, (await identityFromToken(t.ctx, token))!), undefined, 'not due: no write at all');
    assert.deepEqual(await rows(), { user: start * 1000, tokens: [start] });

    clock.advance(1);
    await noteTokenUse(t.ctx, (await identityFromToken(t.ctx, token))!);
    assert.deepEqual(await rows(), { user: (start + 30_000) * 1000, tokens: [start + 30_000] });
  });

  test("a server token's use is not the user's activity", async () => {
    const { t, clock, alice, rows } = await setup();
    const server = await insertServer(t.db, alice.id, 'running');
    const token = await t.createToken(alice.id, serverTokenScopes('alice', ''), { kind: 'server', serverId: server.id });
    await noteTokenUse(t.ctx, (await identityFromToken(t.ctx, token))!);
    assert.deepEqual(await rows(), { user: null, tokens: [clock.now()] });
  });

  test('a service token records only the token', async () => {
    const { t, clock, rows } = await setup();
    await syncServices(t.ctx);
    await noteTokenUse(t.ctx, (await identityFromToken(t.ctx, 'svc-token-1234'))!);
    assert.deepEqual(await rows(), { user: null, tokens: [clock.now()] });
  });

  test('a cookie identity (no token) writes nothing', async () => {
    const { t, alice } = await setup();
    assert.equal(noteTokenUse(t.ctx, { kind: 'user', name: 'alice', admin: false, user: alice, scopes: new Map() }), undefined);
  });
});

test('uses that fall due together are written in one batch, each token once', async () => {
  const { t, clock, alice, rows } = await setup();
  const a = await t.createToken(alice.id);
  const b = await t.createToken(alice.id);
  const ida = (await identityFromToken(t.ctx, a))!;
  const idb = (await identityFromToken(t.ctx, b))!;
  const first = noteTokenUse(t.ctx, ida);
  clock.advance(5);
  assert.equal(noteTokenUse(t.ctx, ida), first, 'the same batch; the first use is the one kept');
  assert.equal(noteTokenUse(t.ctx, idb), first);
  assert.deepEqual((await rows()).tokens, [null, null], 'nothing written before the batch is flushed');
  await first;
  assert.deepEqual(await rows(), { user: clock.now() * 1000, tokens: [clock.now() - 5, clock.now()] }, "the user's activity is the later use");
});
