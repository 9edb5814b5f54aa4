// The prune job against the fake backend with a test clock: which servers go and when (orphan grace by
// creation time, stopped age, deleted users, never an owned one), and the home volumes of deleted
// users in each mode ('keep', 'report' = the dry run, 'remove' after the grace, never an existing
// user's). Each removal leaves an audit row; the report is in the job's result (GET /hub/api/worker).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { buildTestApp, testClock, type TestClock } from '../../../test/helpers/app.ts';
import { schema } from '../../../db/client.ts';
import { FakeBackend, fakeVolumeName } from '../../backends/fake/index.ts';
import type { ConfigInput } from '../../config/schema.ts';
import type { Backend, ListedServer } from '../../backends/types.ts';
import { BackendRegistry } from '../../backends/registry.ts';
import { buildServerSpec } from '../../spawn/spec.ts';
import { jobSpecs, runJob } from './index.ts';
import { pruneOnce, pruneReason } from './prune.ts';

const GRACE = 300;
const STOPPED_AGE = 3600;
const VOLUME_GRACE = 86400;

async function setup(prune: NonNullable<ConfigInput['worker']>['prune'] = {}) {
  const clock = testClock();
  const backend = new FakeBackend({ now: clock.now });
  const t = await buildTestApp({ runner: false, clock, backend, config: { worker: { prune: { orphan_grace: GRACE, stopped_age: STOPPED_AGE, volume_grace: VOLUME_GRACE, ...prune } } } });
  const start = (user: string, server = '') =>
    backend.start(buildServerSpec({ config: t.ctx.config, hubUrl: t.ctx.hubUrl, bindIp: '127.0.0.1', user, server, token: 'x'.repeat(32) }), () => {});
  /** A row for a server the fake runs, in `state`. */
  const row = async (userId: number, ref: Record<string, unknown>, state: 'running' | 'spawning' | 'stopped' = 'running') =>
    t.db.insert(schema.servers).values({ userId, name: '', state, spawnSeq: 1, backendRef: ref, stateSince: clock.now() });
  const names = async () => (await backend.list()).map((l) => `${l.user}/${l.serverName}`).sort();
  const audits = (action: string) => t.db.select().from(schema.audit).where(eq(schema.audit.action, action));
  return { t, clock, backend, start, row, names, audits };
}

const seconds = (clock: TestClock, s: number) => clock.advance(s * 1000);

describe('pruneReason', () => {
  const rules = { now: 10_000_000, orphanGraceMs: 300_000, stoppedAgeMs: 3_600_000 };
  const l = (o: Partial<ListedServer>): ListedServer => ({ user: 'u', serverName: '', ref: {}, running: true, ...o });
  test('an owned server is never pruned, however old or stopped', () => {
    assert.equal(pruneReason(l({ createdAt: 0, running: false, finishedAt: 0 }), true, true, rules), undefined);
    assert.equal(pruneReason(l({ createdAt: 0 }), true, false, rules), undefined);
  });
  test('an unowned running or never-started server goes once orphan_grace old (by creation time)', () => {
    assert.equal(pruneReason(l({ createdAt: rules.now - 299_999 }), false, true, rules), undefined);
    assert.equal(pruneReason(l({ createdAt: rules.now - 300_000 }), false, true, rules), 'orphan');
    assert.equal(pruneReason(l({ running: false, createdAt: rules.now - 300_000 }), false, true, rules), 'orphan');
  });
  test('an unowned server that ran and stopped goes stopped_age after it stopped, not before', () => {
    assert.equal(pruneReason(l({ running: false, createdAt: 0, finishedAt: rules.now - 3_599_999 }), false, true, rules), undefined);
    assert.equal(pruneReason(l({ running: false, createdAt: 0, finishedAt: rules.now - 3_600_000 }), false, true, rules), 'stopped');
  });
  test('a deleted user\'s server goes after orphan_grace, stopped or not', () => {
    assert.equal(pruneReason(l({ running: false, createdAt: rules.now - 300_000, finishedAt: rules.now }), false, false, rules), 'deleted-user');
    assert.equal(pruneReason(l({ createdAt: rules.now - 1 }), false, false, rules), undefined);
  });
  test('a server whose creation time is unknown is kept: its grace cannot be measured', () => {
    assert.equal(pruneReason(l({}), false, true, rules), undefined);
    assert.equal(pruneReason(l({}), false, false, rules), undefined);
  });
});

describe('prune job: servers', () => {
  test('a server no row owns is removed only once orphan_grace old, with a log line and an audit row; owned ones stay', async () => {
    const { t, clock, start, row, names, audits } = await setup();
    const alice = await t.createUser('alice');
    await t.createUser('mallory');
    await row(alice.id, (await start('alice')).ref);
    await start('mallory'); // no row: an orphan
    await pruneOnce(t.ctx);
    assert.deepEqual(await names(), ['alice/', 'mallory/']);
    seconds(clock, GRACE - 1);
    assert.deepEqual(await pruneOnce(t.ctx).then((r) => r.containers), { removed: [], waiting: 1 });
    seconds(clock, 1);
    const result = await pruneOnce(t.ctx);
    assert.deepEqual(result.containers, { removed: [{ name: 'mallory/', user: 'mallory', server: '', why: 'orphan' }], waiting: 0 });
    assert.deepEqual(await names(), ['alice/']);
    const [a] = await audits('prune.container');
    assert.equal(a?.target, 'mallory/');
    assert.equal(a?.detail?.why, 'orphan');
    seconds(clock, 10 * STOPPED_AGE);
    await pruneOnce(t.ctx);
    assert.deepEqual(await names(), ['alice/'], 'an owned server is never pruned');
  });

  test('an in-flight spawn\'s server is never hit: its row is active (spawning) before the server exists', async () => {
    const { t, clock, start, row, names } = await setup();
    const bob = await t.createUser('bob');
    await row(bob.id, {}, 'spawning');
    await start('bob');
    seconds(clock, GRACE * 10);
    await pruneOnce(t.ctx);
    assert.deepEqual(await names(), ['bob/']);
  });

  test('a server whose row says stopped is pruned like any orphan', async () => {
    const { t, clock, start, row, names } = await setup();
    const carol = await t.createUser('carol');
    await row(carol.id, (await start('carol')).ref, 'stopped');
    seconds(clock, GRACE);
    await pruneOnce(t.ctx);
    assert.deepEqual(await names(), []);
  });

  test('a stopped server no row owns stays stopped_age after it stopped (its logs readable), then goes', async () => {
    const { t, clock, backend, start, names } = await setup();
    await t.createUser('dave');
    const { ref } = await start('dave');
    seconds(clock, GRACE);
    await backend.crash(ref); // stopped now, created GRACE ago
    await pruneOnce(t.ctx);
    assert.deepEqual(await names(), ['dave/'], 'orphan_grace does not apply to a stopped one');
    seconds(clock, STOPPED_AGE - 1);
    await pruneOnce(t.ctx);
    assert.deepEqual(await names(), ['dave/']);
    seconds(clock, 1);
    const r = await pruneOnce(t.ctx);
    assert.deepEqual(r.containers, { removed: [{ name: 'dave/', user: 'dave', server: '', why: 'stopped' }], waiting: 0 });
  });

  test('a deleted user\'s servers go after orphan_grace, stopped ones too', async () => {
    const { t, clock, backend, start, names, audits } = await setup();
    await start('gone', 'lab');
    const { ref } = await start('gone');
    await backend.crash(ref);
    seconds(clock, GRACE - 1);
    await pruneOnce(t.ctx);
    assert.equal((await names()).length, 2);
    seconds(clock, 1);
    await pruneOnce(t.ctx);
    assert.deepEqual(await names(), []);
    assert.deepEqual((await audits('prune.container')).map((a) => a.detail?.why), ['deleted-user', 'deleted-user']);
  });
});

describe('prune job: home volumes of deleted users', () => {
  /** alice exists; bob's user row is gone (deleted), his volume left. */
  async function withVolumes(mode: 'keep' | 'report' | 'remove') {
    const s = await setup({ deleted_user_volumes: mode });
    await s.t.createUser('alice');
    for (const u of ['alice', 'bob']) await s.backend.stop((await s.start(u)).ref);
    const volumes = async () => [...s.backend.volumes.keys()].sort();
    return { ...s, volumes };
  }

  test("'keep' (the default) reports nothing and touches nothing, ever", async () => {
    const { t, clock, volumes } = await withVolumes('keep');
    assert.deepEqual((await pruneOnce(t.ctx)).volumes, { mode: 'keep' });
    seconds(clock, VOLUME_GRACE * 10);
    await pruneOnce(t.ctx);
    assert.deepEqual(await volumes(), [fakeVolumeName('alice'), fakeVolumeName('bob')]);
    assert.deepEqual(await t.db.select().from(schema.workerMarks), []);
  });

  test("'report' lists the deleted user's volume with when it was first reported, and never removes it", async () => {
    const { t, clock, volumes } = await withVolumes('report');
    const first = new Date(clock.now()).toISOString();
    assert.deepEqual((await pruneOnce(t.ctx)).volumes, { mode: 'report', reported: [{ name: fakeVolumeName('bob'), user: 'bob', firstReportedAt: first }], removed: [] });
    seconds(clock, VOLUME_GRACE * 10);
    assert.deepEqual((await pruneOnce(t.ctx)).volumes, { mode: 'report', reported: [{ name: fakeVolumeName('bob'), user: 'bob', firstReportedAt: first }], removed: [] });
    assert.deepEqual(await volumes(), [fakeVolumeName('alice'), fakeVolumeName('bob')]);
  });

  test("'remove' reports first, removes after volume_grace counted from that report (audit prune.volume); an existing user's volume never", async () => {
    const { t, clock, backend, volumes, audits } = await withVolumes('remove');
    const first = clock.now();
    const report = (await pruneOnce(t.ctx)).volumes as { reported: { name: string; removableAt: string }[]; removed: string[] };
    assert.deepEqual(report.reported.map((r) => [r.name, r.removableAt]), [[fakeVolumeName('bob'), new Date(first + VOLUME_GRACE * 1000).toISOString()]]);
    assert.deepEqual(report.removed, []);
    seconds(clock, VOLUME_GRACE - 1);
    await pruneOnce(t.ctx);
    assert.deepEqual(await volumes(), [fakeVolumeName('alice'), fakeVolumeName('bob')]);
    seconds(clock, 1);
    assert.deepEqual(((await pruneOnce(t.ctx)).volumes as { removed: string[] }).removed, [fakeVolumeName('bob')]);
    assert.deepEqual(await volumes(), [fakeVolumeName('alice')]);
    const [a] = await audits('prune.volume');
    assert.equal(a?.target, fakeVolumeName('bob'));
    assert.deepEqual(a?.detail, { user: 'bob', firstReportedAt: new Date(first).toISOString() });
    seconds(clock, VOLUME_GRACE * 10);
    await pruneOnce(t.ctx);
    assert.deepEqual(await volumes(), [fakeVolumeName('alice')], 'an existing user\'s volume is never removed');
    assert.deepEqual(backend.calls.filter((c) => c.op === 'removeVolume').map((c) => c.user), ['bob']);
    assert.deepEqual(await t.db.select().from(schema.workerMarks), [], 'no mark left for a removed volume');
  });

  test("a volume never reported is not removed in 'remove' mode in the same run, however old it is", async () => {
    const { t, clock, volumes } = await withVolumes('remove');
    seconds(clock, VOLUME_GRACE * 10); // the volume is old, but prune has not reported it yet
    await pruneOnce(t.ctx);
    assert.deepEqual(await volumes(), [fakeVolumeName('alice'), fakeVolumeName('bob')]);
  });

  test('a user created again with the name keeps the volume, and the wait starts afresh if deleted again', async () => {
    const { t, clock, volumes } = await withVolumes('remove');
    await pruneOnce(t.ctx); // bob's volume reported
    seconds(clock, VOLUME_GRACE - 10);
    const bob = await t.createUser('bob');
    await pruneOnce(t.ctx);
    assert.deepEqual(await t.db.select().from(schema.workerMarks), [], 'the mark is dropped while bob exists');
    await t.db.delete(schema.users).where(eq(schema.users.id, bob.id));
    seconds(clock, 10);
    await pruneOnce(t.ctx); // reported anew
    seconds(clock, VOLUME_GRACE - 1);
    await pruneOnce(t.ctx);
    assert.deepEqual(await volumes(), [fakeVolumeName('alice'), fakeVolumeName('bob')]);
  });

  test('after a change to a kind without volumes (system-user), the volumes of the kind in use before are still pruned by it', async () => {
    const { t, clock, backend, volumes } = await withVolumes('remove');
    // The backend now configured keeps no volumes; the earlier kind is in the registry (a row of its own asked for it).
    const homeless = new Proxy(new FakeBackend(), {
      get: (target, key) => (key === 'listVolumes' || key === 'removeVolume' ? undefined : key === 'kind' ? 'system-user' : Reflect.get(target, key)),
    }) as unknown as Backend;
    const ctx = t.ctx as { backends: BackendRegistry };
    ctx.backends = new BackendRegistry(homeless, () => backend, { port: 8000 });
    assert.deepEqual((await pruneOnce(t.ctx)).volumes, { mode: 'remove' }, 'nothing keeps volumes: nothing to report');
    await ctx.backends.for('docker');
    assert.deepEqual(((await pruneOnce(t.ctx)).volumes as { reported: { name: string }[] }).reported.map((r) => r.name), [fakeVolumeName('bob')]);
    seconds(clock, VOLUME_GRACE);
    assert.deepEqual(((await pruneOnce(t.ctx)).volumes as { removed: string[] }).removed, [fakeVolumeName('bob')]);
    assert.deepEqual(await volumes(), [fakeVolumeName('alice')]);
  });

  test('the report is the job\'s result in GET /hub/api/worker', async () => {
    const { t } = await withVolumes('report');
    const spec = jobSpecs(t.ctx, { acting: () => true }).find((s) => s.name === 'prune')!;
    assert.equal(spec.everySeconds, t.ctx.config.worker.prune.every);
    await runJob(t.ctx, spec);
    const admin = await t.createUser('root', { admin: true });
    const res = await t.request('/hub/api/worker', { token: await t.createToken(admin.id) });
    assert.equal(res.status, 200);
    const body = await res.json() as { jobs: { name: string; last_run: { outcome: string; result: { volumes: { reported: { name: string }[] } } } }[] };
    const prune = body.jobs.find((j) => j.name === 'prune')!;
    assert.equal(prune.last_run.outcome, 'ok');
    assert.deepEqual(prune.last_run.result.volumes.reported.map((r) => r.name), [fakeVolumeName('bob')]);
  });
});
