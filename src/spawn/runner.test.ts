// The spawn runner with the fake backend: request order, the concurrency limit, start_timeout,
// work queued by another process (DB poll), and a shutdown that abandons instead of stopping.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { buildTestApp } from '../../test/helpers/app.ts';
import { schema } from '../../db/client.ts';
import { FakeBackend } from '../backends/fake/index.ts';
import type { ProgressFn, ServerSpec } from '../backends/types.ts';
import { requestSpawn } from '../services/servers/request-spawn.ts';
import { waitForServer } from '../services/servers/wait.ts';
import { INTERRUPTED, reconcileServers } from '../services/servers/reconcile.ts';
import { SpawnRunner } from './runner.ts';
import { SpawnError } from '../errors.ts';

/** Counts start() calls in flight. */
class CountingBackend extends FakeBackend {
  inStart = 0;
  maxInStart = 0;
  override async start(spec: ServerSpec, progress: ProgressFn, signal?: AbortSignal) {
    this.maxInStart = Math.max(this.maxInStart, ++this.inStart);
    try { return await super.start(spec, progress, signal); } finally { this.inStart--; }
  }
}

describe('SpawnRunner', () => {
  test('runs at most concurrent_spawn_limit spawns at once, in request order, and all finish', async () => {
    const backend = new CountingBackend();
    const t = await buildTestApp({ backend, config: { hub: { concurrent_spawn_limit: 2 }, spawner: { image: 'fake:slow', environment: { FAKE_SLOW_MS: '150' } } } });
    let maxActive = 0;
    let maxSpawning = 0;
    t.ctx.events.on('server-changed', () => { maxActive = Math.max(maxActive, t.runner.active); });
    const ids: number[] = [];
    for (const name of ['u1', 'u2', 'u3', 'u4', 'u5']) {
      const user = await t.createUser(name);
      ids.push((await requestSpawn({ ctx: t.ctx, input: { user, serverName: '' } })).server.id);
    }
    const sampler = setInterval(() => {
      void t.db.select().from(schema.servers).where(eq(schema.servers.state, 'spawning')).then((r) => { maxSpawning = Math.max(maxSpawning, r.length); });
    }, 5);
    const rows = await Promise.all(ids.map((id) => waitForServer(t.ctx, id, 30_000)));
    clearInterval(sampler);
    assert.deepEqual(rows.map((r) => r.state), ['running', 'running', 'running', 'running', 'running']);
    assert.ok(backend.maxInStart <= 2, `start() ran ${backend.maxInStart} at once`);
    assert.ok(maxActive <= 2 && maxActive >= 1, `runner had ${maxActive} in flight`);
    assert.ok(maxSpawning <= 2, `${maxSpawning} rows were spawning at once`);
    assert.deepEqual(backend.calls.filter((c) => c.op === 'start').map((c) => c.user), ['u1', 'u2', 'u3', 'u4', 'u5']);
  });

  test('start_timeout: a start that takes too long fails with reason timeout', async () => {
    const t = await buildTestApp({ config: { spawner: { image: 'fake:slow', start_timeout: 0.1, environment: { FAKE_SLOW_MS: '30000' } } } });
    const user = await t.createUser('alice');
    const { server } = await requestSpawn({ ctx: t.ctx, input: { user, serverName: '' } });
    const row = await waitForServer(t.ctx, server.id, 30_000);
    assert.equal(row.state, 'failed');
    assert.deepEqual(row.failure, { reason: 'timeout', message: "Server didn't start within 0.1 seconds" });
    assert.equal(await t.db.query.tokens.findFirst({ where: eq(schema.tokens.serverId, server.id) }), undefined, 'credentials deleted');
    assert.equal(await t.db.query.oauthClients.findFirst({ where: eq(schema.oauthClients.serverId, server.id) }), undefined);
  });

  test('takes work queued by another process through its database poll', async () => {
    const t = await buildTestApp({ runner: false });
    const user = await t.createUser('alice');
    // what requestSpawn in another process leaves behind: a queued row, no in-process event here
    const [row] = await t.db.insert(schema.servers).values({ userId: user.id, name: '', state: 'queued', spawnSeq: 1, requestedAt: Date.now(), userOptions: {} }).returning();
    const runner = new SpawnRunner(t.ctx, { pollMs: 20 });
    try {
      runner.start();
      assert.equal((await waitForServer(t.ctx, row!.id, 30_000)).state, 'running');
    } finally {
      await runner.close();
    }
  });

  test('close() abandons an in-flight spawn without stopping anything; reconcile fails it at the next start', async () => {
    const t = await buildTestApp({ config: { spawner: { image: 'fake:slow', environment: { FAKE_SLOW_MS: '30000' } } } });
    const fake = t.backend as FakeBackend;
    const user = await t.createUser('alice');
    const { server } = await requestSpawn({ ctx: t.ctx, input: { user, serverName: '' } });
    while (!fake.calls.some((c) => c.op === 'start')) await new Promise((r) => setTimeout(r, 5));
    await t.runner.close();
    const row = (await t.db.query.servers.findFirst({ where: eq(schema.servers.id, server.id) }))!;
    assert.equal(row.state, 'spawning', 'left for reconcile');
    assert.equal(row.owner, t.ctx.instanceId, 'the spawn records which process ran it');
    assert.equal(fake.calls.filter((c) => c.op === 'stop').length, 0);
    assert.deepEqual(await reconcileServers(t.ctx), { adopted: 0, stopped: 0, failed: 1 });
    const after = (await t.db.query.servers.findFirst({ where: eq(schema.servers.id, server.id) }))!;
    assert.equal(after.state, 'failed');
    assert.deepEqual(after.failure, INTERRUPTED);
    assert.equal(after.owner, null, 'nobody owns a failed spawn');
    const events = await t.db.select().from(schema.serverEvents).where(eq(schema.serverEvents.serverId, server.id));
    assert.equal(events.at(-1)?.message, `Spawn failed: ${INTERRUPTED.message}`);
    assert.equal(events.at(-1)?.failed, true);
  });

  test('a server that died because it could not reach the hub: the failure says so, and readiness fails with it', async () => {
    const tail = 'Failed to connect to my Hub at http://host.docker.internal:8000/hub/api (attempt 5/5). Is it running?\nConnectionRefusedError: [Errno 111] Connection refused';
    class Unreachable extends FakeBackend {
      override async start(): Promise<never> { throw new SpawnError('exited', 'Server exited during start-up (exit code 1)', { logTail: tail }); }
    }
    const t = await buildTestApp({ backend: new Unreachable() });
    const user = await t.createUser('alice');
    const { server } = await requestSpawn({ ctx: t.ctx, input: { user, serverName: '' } });
    const row = await waitForServer(t.ctx, server.id, 5000);
    assert.equal(row.state, 'failed');
    assert.equal(row.failure?.message, 'The server could not reach the hub at http://host.docker.internal:8000/hub/api: set hub.hub_connect_url to an address containers can reach, and check that Berth listens there (Server exited during start-up (exit code 1))');
    const ready = await t.app.request('/hub/health/ready');
    assert.equal(ready.status, 503);
    assert.match(((await ready.json()) as { message: string }).message, /could not reach the hub at http:\/\/host\.docker\.internal:8000/);
  });
});
