// Start-up reconciliation against the fake backend: adopt what runs, mark what vanished stopped,
// fail interrupted spawns, finish interrupted stops, resume a ready check, stop orphans (design §9).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { buildTestApp, testClock } from '../../../test/helpers/app.ts';
import { schema } from '../../../db/client.ts';
import { FakeBackend } from '../../backends/fake/index.ts';
import { findToken } from '../../auth/identity.ts';
import { routesVersion } from '../../state/routes.ts';
import { buildServerSpec } from '../../spawn/spec.ts';
import { requestSpawn } from './request-spawn.ts';
import { waitForServer } from './wait.ts';
import { INTERRUPTED, reconcileServers, STOP_OVERDUE_MS } from './reconcile.ts';

type T = Awaited<ReturnType<typeof buildTestApp>>;
const fake = (t: T) => t.backend as FakeBackend;
const row = (t: T, id: number) => t.db.query.servers.findFirst({ where: eq(schema.servers.id, id) }).then((r) => r!);

/** A running server started through the runner; the runner is then closed, as at a Berth shutdown. */
async function runningServer(name = 'alice') {
  const t = await buildTestApp();
  const user = await t.createUser(name);
  const { server } = await requestSpawn({ ctx: t.ctx, input: { user, serverName: '' } });
  assert.equal((await waitForServer(t.ctx, server.id, 10_000)).state, 'running');
  const token = [...fake(t).servers.values()][0]!.spec.env.JUPYTERHUB_API_TOKEN!;
  await t.runner.close();
  return { t, user, id: server.id, token };
}

describe('reconcileServers', () => {
  test('a running server that still runs is adopted: kept running, route version bumped, nothing stopped', async () => {
    const { t, id, token } = await runningServer();
    const v = await routesVersion(t.db);
    assert.deepEqual(await reconcileServers(t.ctx), { adopted: 1, stopped: 0, failed: 0 });
    assert.equal((await row(t, id)).state, 'running');
    assert.ok((await routesVersion(t.db)) > v);
    assert.equal(fake(t).calls.filter((c) => c.op === 'stop').length, 0);
    assert.ok(await findToken(t.ctx, token), 'its token still works');
  });

  test('a running server whose container vanished is marked stopped and its credentials deleted', async () => {
    const { t, id, token } = await runningServer();
    await fake(t).stop((await row(t, id)).backendRef!); // removed behind Berth's back (poll → missing)
    assert.deepEqual(await reconcileServers(t.ctx), { adopted: 0, stopped: 1, failed: 0 });
    const r = await row(t, id);
    assert.equal(r.state, 'stopped');
    assert.equal(r.startedAt, null);
    assert.equal(await findToken(t.ctx, token), undefined);
    assert.equal(await t.db.query.oauthClients.findFirst({ where: eq(schema.oauthClients.serverId, id) }), undefined);
  });

  test('a running server that exited is removed from the backend and marked stopped', async () => {
    const { t, id } = await runningServer();
    await fake(t).crash((await row(t, id)).backendRef!);
    assert.deepEqual(await reconcileServers(t.ctx), { adopted: 0, stopped: 1, failed: 0 });
    assert.equal((await row(t, id)).state, 'stopped');
    assert.equal(fake(t).servers.size, 0);
  });

  test('a spawn whose worker stopped before start() returned fails as interrupted', async () => {
    const t = await buildTestApp({ runner: false });
    const user = await t.createUser('alice');
    const [r] = await t.db.insert(schema.servers).values({ userId: user.id, name: '', state: 'spawning', spawnSeq: 3 }).returning();
    assert.deepEqual(await reconcileServers(t.ctx), { adopted: 0, stopped: 0, failed: 1 });
    const after = await row(t, r!.id);
    assert.equal(after.state, 'failed');
    assert.deepEqual(after.failure, INTERRUPTED);
  });

  test('a spawn interrupted during its ready check is checked again in the background and becomes running', async () => {
    const { t, id } = await runningServer();
    await t.db.update(schema.servers).set({ state: 'spawning', readyAt: null }).where(eq(schema.servers.id, id));
    assert.deepEqual(await reconcileServers(t.ctx), { adopted: 1, stopped: 0, failed: 0 });
    const r = await waitForServer(t.ctx, id, 10_000);
    assert.equal(r.state, 'running');
    assert.ok(r.readyAt);
    const events = await t.db.select().from(schema.serverEvents).where(eq(schema.serverEvents.serverId, id));
    assert.equal(events.at(-1)?.message, 'Server ready at /user/alice/');
    assert.equal(events.at(-1)?.ready, true);
  });

  test('a stop cut short is finished', async () => {
    const { t, id, token } = await runningServer();
    await t.db.update(schema.servers).set({ state: 'stopping' }).where(eq(schema.servers.id, id));
    assert.deepEqual(await reconcileServers(t.ctx), { adopted: 0, stopped: 1, failed: 0 });
    const r = await row(t, id);
    assert.equal(r.state, 'stopped');
    assert.equal(r.failure, null, 'a stop of a ready server is no cancelled spawn');
    assert.equal(fake(t).servers.size, 0);
    assert.equal(await findToken(t.ctx, token), undefined);
  });

  test('queued rows stay queued for the runner', async () => {
    const t = await buildTestApp({ runner: false });
    const user = await t.createUser('alice');
    const { server } = await requestSpawn({ ctx: t.ctx, input: { user, serverName: '' } });
    assert.deepEqual(await reconcileServers(t.ctx), { adopted: 0, stopped: 0, failed: 0 });
    assert.equal((await row(t, server.id)).state, 'queued');
  });

  test('servers no active row owns are stopped; owned ones are kept', async () => {
    const { t, id } = await runningServer();
    const spec = buildServerSpec({ config: t.ctx.config, hubUrl: t.ctx.hubUrl, bindIp: '127.0.0.1', user: 'mallory', server: '', token: 'x'.repeat(32) });
    await fake(t).start(spec, () => {});
    const stale = buildServerSpec({ config: t.ctx.config, hubUrl: t.ctx.hubUrl, bindIp: '127.0.0.1', user: 'alice', server: 'old', token: 'y'.repeat(32) });
    await fake(t).start(stale, () => {});
    assert.equal(fake(t).servers.size, 3);
    assert.deepEqual(await reconcileServers(t.ctx), { adopted: 1, stopped: 2, failed: 0 });
    const left = await fake(t).list();
    assert.deepEqual(left.map((l) => `${l.user}/${l.serverName}`), ['alice/']);
    assert.equal((await row(t, id)).state, 'running');
  });

  test('a periodic pass leaves this process\'s own spawn alone; the pass at taking the lease does not', async () => {
    const t = await buildTestApp({ runner: false });
    const user = await t.createUser('alice');
    const [r] = await t.db.insert(schema.servers).values({ userId: user.id, name: '', state: 'spawning', spawnSeq: 1, owner: t.ctx.instanceId }).returning();
    assert.deepEqual(await reconcileServers(t.ctx, { periodic: true }), { adopted: 0, stopped: 0, failed: 0 });
    assert.equal((await row(t, r!.id)).state, 'spawning');
    assert.deepEqual(await reconcileServers(t.ctx), { adopted: 0, stopped: 0, failed: 1 });
  });

  test('a stop under way in another live process is left to it until overdue; a dead one\'s is finished', async () => {
    const clock = testClock();
    const { t, id } = await runningServer();
    t.ctx.clock = clock;
    const live = 'another-host:1:2:abcdef';
    await t.db.update(schema.servers).set({ state: 'stopping', owner: live, stateSince: clock.now() }).where(eq(schema.servers.id, id));
    assert.deepEqual(await reconcileServers(t.ctx, { periodic: true }), { adopted: 0, stopped: 0, failed: 0 });
    assert.equal((await row(t, id)).state, 'stopping');
    clock.advance(STOP_OVERDUE_MS + 1);
    assert.deepEqual(await reconcileServers(t.ctx, { periodic: true }), { adopted: 0, stopped: 1, failed: 0 });
    const r = await row(t, id);
    assert.equal(r.state, 'stopped');
    assert.equal(r.owner, null);
  });
});
