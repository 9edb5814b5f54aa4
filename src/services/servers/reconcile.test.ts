// Start-up reconciliation against the fake backend: adopt what runs, mark what vanished stopped,
// fail interrupted spawns, finish interrupted stops, resume a ready check, stop orphans (design §9).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { eq } from 'drizzle-orm';
import { buildTestApp, testClock } from '../../../test/helpers/app.ts';
import { schema } from '../../../db/client.ts';
import { FakeBackend } from '../../backends/fake/index.ts';
import { findToken } from '../../auth/identity.ts';
import { routesVersion } from '../../state/routes.ts';
import { buildServerSpec } from '../../spawn/spec.ts';
import { requestSpawn } from './request-spawn.ts';
import { waitForServer } from './wait.ts';
import { INTERRUPTED, reconcileServers, spawnStuckAfterMs, STOP_OVERDUE_MS, stuckFailure } from './reconcile.ts';
import { requestStop } from './request-stop.ts';
import { newInstanceId } from '../../instance.ts';
import type { Backend } from '../../backends/types.ts';

const pidNs = () => { try { return /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? ''; } catch { return ''; } };
type T = Awaited<ReturnType<typeof buildTestApp>>;
const fake = (t: T) => t.backend as FakeBackend;
const row = (t: T, id: number) => t.db.query.servers.findFirst({ where: eq(schema.servers.id, id) }).then((r) => r!);
const audits = (t: T, action: string) => t.db.select().from(schema.audit).where(eq(schema.audit.action, action));

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

  test('a running server found gone or exited is marked stopped with the reason in an audit row', async () => {
    const { t, id } = await runningServer();
    await fake(t).crash((await row(t, id)).backendRef!);
    await reconcileServers(t.ctx, { periodic: true });
    assert.equal((await row(t, id)).state, 'stopped');
    const [lost] = await audits(t, 'server.lost');
    assert.equal(lost?.target, 'alice/');
    assert.deepEqual(lost?.detail, { why: 'container exited (code 1)' });

    const again = await runningServer('bob');
    await fake(again.t).stop((await row(again.t, again.id)).backendRef!);
    await reconcileServers(again.t.ctx, { periodic: true });
    assert.deepEqual((await audits(again.t, 'server.lost')).map((a) => a.detail), [{ why: 'container gone' }]);
  });

  test('after an engine restart (every server exited) one periodic pass makes rows and backend agree', async () => {
    const t = await buildTestApp();
    const ids: number[] = [];
    for (const name of ['u1', 'u2', 'u3']) {
      const { server } = await requestSpawn({ ctx: t.ctx, input: { user: await t.createUser(name), serverName: '' } });
      assert.equal((await waitForServer(t.ctx, server.id, 10_000)).state, 'running');
      ids.push(server.id);
    }
    for (const s of [...fake(t).servers.values()]) await fake(t).crash({ id: s.id });
    assert.deepEqual(await reconcileServers(t.ctx, { periodic: true }), { adopted: 0, stopped: 3, failed: 0 });
    for (const id of ids) assert.equal((await row(t, id)).state, 'stopped');
    assert.equal(fake(t).servers.size, 0, 'nothing left in the backend');
    assert.equal((await audits(t, 'server.lost')).length, 3);
  });

  test('a spawn of this live worker stuck past start_timeout + http_timeout + margin is failed and its server removed', async () => {
    const clock = testClock();
    const t = await buildTestApp({ runner: false, clock, config: { spawner: { image: 'fake', start_timeout: 10, http_timeout: 5 } } });
    const user = await t.createUser('alice');
    const spec = buildServerSpec({ config: t.ctx.config, hubUrl: t.ctx.hubUrl, bindIp: '127.0.0.1', user: 'alice', server: '', token: 'x'.repeat(32) });
    const started = await fake(t).start(spec, () => {});
    const [r] = await t.db.insert(schema.servers).values({
      userId: user.id, name: '', state: 'spawning', spawnSeq: 1, owner: t.ctx.instanceId, stateSince: clock.now(), backendRef: started.ref, url: started.url,
    }).returning();
    clock.advance(spawnStuckAfterMs(t.ctx)); // not past it yet
    assert.deepEqual(await reconcileServers(t.ctx, { periodic: true }), { adopted: 0, stopped: 0, failed: 0 });
    assert.equal((await row(t, r!.id)).state, 'spawning');
    clock.advance(1);
    assert.deepEqual(await reconcileServers(t.ctx, { periodic: true }), { adopted: 0, stopped: 0, failed: 1 });
    const after = await row(t, r!.id);
    assert.equal(after.state, 'failed');
    assert.deepEqual(after.failure, stuckFailure(t.ctx));
    assert.match(after.failure!.message, /not ready within 195 seconds/);
    assert.equal(fake(t).servers.size, 0, 'its server removed');
  });

  test('a periodic pass leaves servers no row owns to prune; the pass at taking the lease removes them at once', async () => {
    const { t } = await runningServer();
    const spec = buildServerSpec({ config: t.ctx.config, hubUrl: t.ctx.hubUrl, bindIp: '127.0.0.1', user: 'mallory', server: '', token: 'x'.repeat(32) });
    await fake(t).start(spec, () => {});
    assert.deepEqual(await reconcileServers(t.ctx, { periodic: true }), { adopted: 1, stopped: 0, failed: 0 });
    assert.equal(fake(t).servers.size, 2);
    assert.deepEqual(await reconcileServers(t.ctx), { adopted: 1, stopped: 1, failed: 0 });
    assert.equal(fake(t).servers.size, 1);
    const [orphan] = await audits(t, 'reconcile.orphan');
    assert.equal(orphan?.target, 'mallory/');
  });

  test('a running server whose row says stopped is removed, never adopted back', async () => {
    const { t, id } = await runningServer();
    const ref = (await row(t, id)).backendRef!;
    await t.db.update(schema.servers).set({ state: 'stopped', backendRef: null, url: null }).where(eq(schema.servers.id, id));
    assert.deepEqual(await reconcileServers(t.ctx), { adopted: 0, stopped: 1, failed: 0 });
    assert.deepEqual(await fake(t).poll(ref), { status: 'missing' });
    assert.equal((await row(t, id)).state, 'stopped');
  });

  test('a stop of this process whose backend call failed stays stopping, and is retried once overdue', async () => {
    const clock = testClock();
    const { t, id, user } = await runningServer();
    t.ctx.clock = clock;
    const stop = fake(t).stop.bind(fake(t));
    fake(t).stop = async () => { throw new Error('engine said no'); };
    await requestStop({ ctx: { ...t.ctx, config: { ...t.ctx.config, hub: { ...t.ctx.config.hub, slow_stop_timeout: 0.2 } } }, input: { user, serverName: '' } });
    assert.equal((await row(t, id)).state, 'stopping');
    assert.equal((await row(t, id)).owner, t.ctx.instanceId);
    fake(t).stop = stop;
    assert.deepEqual(await reconcileServers(t.ctx, { periodic: true }), { adopted: 0, stopped: 0, failed: 0 });
    assert.equal((await row(t, id)).state, 'stopping', 'left to this process while not overdue');
    clock.advance(STOP_OVERDUE_MS + 1);
    assert.deepEqual(await reconcileServers(t.ctx, { periodic: true }), { adopted: 0, stopped: 1, failed: 0 });
    assert.equal((await row(t, id)).state, 'stopped');
    assert.equal(fake(t).servers.size, 0);
  });

  test('taking the lease removes the hub-reach probes a gone process left, asking the backend with instanceIsGone', async () => {
    const t = await buildTestApp({ runner: false });
    t.ctx.instanceId = newInstanceId(); // a real one: host and PID namespace, so a dead PID is judged gone
    const asked: { creator: string; gone: boolean }[] = [];
    const backend: Backend = t.backend;
    backend.removeStaleProbes = async (isGone) => {
      for (const creator of [t.ctx.instanceId, `${hostname()}:${pidNs()}:${2 ** 22 + 7}:abcdef`]) asked.push({ creator, gone: isGone(creator) });
      return 1;
    };
    await reconcileServers(t.ctx, { periodic: true });
    assert.equal(asked.length, 0, 'not a periodic pass (prune does it)');
    await reconcileServers(t.ctx);
    assert.deepEqual(asked.map((a) => a.gone), [false, pidNs() !== '']);
  });
});
