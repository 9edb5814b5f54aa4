// The worker role in process, several "processes" (contexts) on one database file: one acts at a
// time, a clean exit hands over at once, a spawn requested elsewhere wakes it, and a new holder
// adopts or fails what its predecessor left in flight.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { eq } from 'drizzle-orm';
import { buildTestApp } from '../../test/helpers/app.ts';
import { until } from '../../test/helpers/until.ts';
import { schema } from '../../db/client.ts';
import { FakeBackend } from '../backends/fake/index.ts';
import { buildServerSpec } from '../spawn/spec.ts';
import { requestSpawn } from '../services/servers/request-spawn.ts';
import { waitForServer } from '../services/servers/wait.ts';
import { INTERRUPTED } from '../services/servers/reconcile.ts';
import { currentLease, WORKER_LEASE } from '../state/lease.ts';
import { findServerRow } from '../state/server.ts';
import { startWorker, type WorkerRole } from './index.ts';

const FAST = { worker: { lease_seconds: 1, expire_every: 1 } };
const workers: WorkerRole[] = [];
after(() => Promise.all(workers.map((w) => w.close())));
async function worker(t: Awaited<ReturnType<typeof buildTestApp>>) {
  const w = await startWorker(t.ctx);
  workers.push(w);
  return w;
}
const jobRows = (t: Awaited<ReturnType<typeof buildTestApp>>) =>
  t.db.select().from(schema.audit).where(eq(schema.audit.action, 'worker.job')).orderBy(schema.audit.id);

describe('worker role', { timeout: 30_000 }, () => {
  test('two workers on one database: exactly one acts per run; a clean exit hands over at once', async () => {
    const a = await buildTestApp({ runner: false, config: FAST });
    const b = await buildTestApp({ runner: false, config: FAST, dbFile: a.dbFile });
    const wa = await worker(a);
    await until('a to hold the lease', () => wa.acting);
    const wb = await worker(b);
    await until('three job runs', async () => (await jobRows(a)).length >= 3, 8000);
    assert.equal(wb.acting, false);
    const early = await jobRows(a);
    assert.deepEqual(new Set(early.map((r) => r.actor)), new Set([`worker:${a.ctx.instanceId}`]), 'only the holder acted');
    const runs = early.map((r) => (r.detail as { scheduled: string }).scheduled);
    assert.equal(new Set(runs).size, runs.length, 'one row per run');

    await wa.close(); // gives the lease up
    await until('b to take over', () => wb.acting, 2000);
    await until('b to run a job', async () => (await jobRows(b)).some((r) => r.actor === `worker:${b.ctx.instanceId}`), 4000);
    const all = await jobRows(b);
    const byRun = new Map<string, string[]>();
    for (const r of all) byRun.set((r.detail as { scheduled: string }).scheduled, [...(byRun.get((r.detail as { scheduled: string }).scheduled) ?? []), r.actor]);
    for (const [run, actors] of byRun) assert.equal(actors.length, 1, `run ${run} acted by ${actors.join(', ')}`);
    const leases = await a.db.select().from(schema.audit).where(eq(schema.audit.action, 'worker.lease')).orderBy(schema.audit.id);
    assert.deepEqual(leases.map((r) => r.actor), [`worker:${a.ctx.instanceId}`, `worker:${b.ctx.instanceId}`]);
    assert.equal((await currentLease(a.db, WORKER_LEASE))?.holder, b.ctx.instanceId);
  });

  test('a spawn requested in another process wakes the worker through its wake URL and runs there', async () => {
    const w = await buildTestApp({ runner: false, config: FAST });
    const api = await buildTestApp({ runner: false, config: FAST, dbFile: w.dbFile });
    const role = await worker(w);
    await until('the lease', () => role.acting);
    assert.match((await currentLease(w.db, WORKER_LEASE))!.wakeUrl!, /^http:\/\/127\.0\.0\.1:\d+$/);
    const user = await api.createUser('alice');
    const woken = once(w.ctx.events, 'spawn-requested');
    const { server } = await requestSpawn({ ctx: api.ctx, input: { user, serverName: '' } });
    await woken; // the api process's own events never reach the worker's: only the wake-up does
    const row = await waitForServer(api.ctx, server.id, 5000);
    assert.equal(row.state, 'running');
    assert.equal(row.owner, null, 'a ready server has no spawn owner');
    assert.equal((w.backend as FakeBackend).calls.filter((c) => c.op === 'start').length, 1, 'started by the worker');
    assert.equal((api.backend as FakeBackend).calls.length, 0, 'not by the api');
  });

  test('taking the lease adopts the running server of a dead worker\'s spawn and fails the one it never started', async () => {
    const fake = new FakeBackend(); // one engine, shared by both "processes"
    const t = await buildTestApp({ runner: false, config: FAST, backend: fake });
    const alice = await t.createUser('alice');
    const bob = await t.createUser('bob');
    const spec = buildServerSpec({ config: t.ctx.config, hubUrl: t.ctx.hubUrl, bindIp: '127.0.0.1', user: 'bob', server: '', token: 'x'.repeat(32) });
    const started = await fake.start(spec, () => {});
    const dead = 'gone-host:1:2:dead00';
    const [a] = await t.db.insert(schema.servers).values({ userId: alice.id, name: '', state: 'spawning', spawnSeq: 1, owner: dead, requestedAt: Date.now() }).returning();
    const [b] = await t.db.insert(schema.servers).values({ userId: bob.id, name: '', state: 'spawning', spawnSeq: 1, owner: dead, requestedAt: Date.now(), backendRef: started.ref, url: started.url }).returning();
    await t.db.insert(schema.leases).values({ name: WORKER_LEASE, holder: dead, expiresAt: Date.now() - 1 });
    const role = await worker(t);
    await until('the lease', () => role.acting);
    const failed = await until('alice failed', async () => { const r = await findServerRow(t.db, a!.id); return r?.state === 'failed' ? r : undefined; });
    assert.deepEqual(failed.failure, INTERRUPTED);
    const ready = await waitForServer(t.ctx, b!.id, 5000);
    assert.equal(ready.state, 'running', 'adopted and ready-checked by the new holder');
    assert.equal(fake.servers.size, 1, 'its server kept, nothing else started');
  });
});
