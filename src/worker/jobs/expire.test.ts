// The expire job: what is past its expiry goes, what is not stays; progress events go only for
// earlier spawns and only once older than worker.events_max_age (the latest spawn's always stay).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, testClock } from '../../../test/helpers/app.ts';
import { schema } from '../../../db/client.ts';
import { jobSpecs, runJob } from './index.ts';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

test('deletes expired tokens, OAuth codes, sessions, webhook signatures and old events of earlier spawns; keeps the rest', async () => {
  const clock = testClock();
  const now = clock.now();
  const t = await buildTestApp({ clock, runner: false, config: { worker: { events_max_age: 7 * 86400 } } });
  const db = t.db;
  const alice = await t.createUser('alice');

  await t.createToken(alice.id, ['inherit'], { expiresAt: now - 1, note: 'expired' });
  await t.createToken(alice.id, ['inherit'], { expiresAt: now + HOUR, note: 'valid' });
  await t.createToken(alice.id, ['inherit'], { note: 'never expires' });

  await db.insert(schema.oauthClients).values({ id: 'jupyterhub-user-alice', secretHash: 'x', redirectUri: 'http://x/cb', description: 'alice', allowedScopes: [], createdAt: now });
  const code = (codeHash: string, expiresAt: number) => ({ codeHash, clientId: 'jupyterhub-user-alice', userId: alice.id, scopes: [], redirectUri: 'http://x/cb', expiresAt });
  await db.insert(schema.oauthCodes).values([code('old-code', now - 1), code('new-code', now + 60_000)]);

  const session = (cookieHash: string, expiresAt: number) => ({ cookieHash, sessionId: cookieHash, userId: alice.id, xsrf: 'x', createdAt: now - DAY, expiresAt });
  await db.insert(schema.sessions).values([session('old-session', now - 1), session('live-session', now + DAY)]);

  await db.insert(schema.webhookDeliveries).values([
    { signature: 'stale-signature', receivedAt: now - HOUR, expiresAt: now - 1 },
    { signature: 'fresh-signature', receivedAt: now, expiresAt: now + 300_000 },
  ]);

  // The server is on its third spawn: spawn 1 and 2's old events go, spawn 2's recent one and all of spawn 3's stay.
  const [server] = await db.insert(schema.servers).values({ userId: alice.id, name: '', state: 'stopped', backend: 'fake', spawnSeq: 3, userOptions: {} }).returning();
  const event = (spawnSeq: number, age: number, message: string) => ({ serverId: server!.id, spawnSeq, progress: 50, message, createdAt: now - age });
  await db.insert(schema.serverEvents).values([
    event(1, 30 * DAY, 'spawn 1, a month ago'),
    event(2, 8 * DAY, 'spawn 2, 8 days ago'),
    event(2, 6 * DAY, 'spawn 2, 6 days ago'),
    event(3, 30 * DAY, 'spawn 3 (latest), a month ago'),
    event(3, HOUR, 'spawn 3 (latest), an hour ago'),
  ]);

  const spec = jobSpecs(t.ctx, { acting: () => true }).find((j) => j.name === 'expire')!;
  const result = await runJob(t.ctx, spec);
  assert.deepEqual(result, { tokens: 1, codes: 1, sessions: 1, signatures: 1, events: 2 });

  assert.deepEqual((await db.select().from(schema.tokens)).map((r) => r.note).sort(), ['never expires', 'valid']);
  assert.deepEqual((await db.select().from(schema.oauthCodes)).map((r) => r.codeHash), ['new-code']);
  assert.deepEqual((await db.select().from(schema.sessions)).map((r) => r.cookieHash), ['live-session']);
  assert.deepEqual((await db.select().from(schema.webhookDeliveries)).map((r) => r.signature), ['fresh-signature']);
  assert.deepEqual((await db.select().from(schema.serverEvents)).map((r) => r.message), ['spawn 2, 6 days ago', 'spawn 3 (latest), a month ago', 'spawn 3 (latest), an hour ago']);

  // The run is recorded for GET /hub/api/worker; a second run finds nothing left to delete.
  const [row] = await db.select().from(schema.workerJobs);
  assert.equal(row?.lastOutcome, 'ok');
  assert.deepEqual(await runJob(t.ctx, spec), { tokens: 0, codes: 0, sessions: 0, signatures: 0, events: 0 });
});
