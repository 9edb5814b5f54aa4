// The job runner's bookkeeping (worker_jobs, audit), pre-pull and scheduled spawns, with the fake
// backend and a fixed clock; the status API reads what they leave.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { buildTestApp, testClock } from '../../../test/helpers/app.ts';
import { until } from '../../../test/helpers/until.ts';
import { schema } from '../../../db/client.ts';
import { configSchema } from '../../config/schema.ts';
import { FakeBackend } from '../../backends/fake/index.ts';
import { findUserServer } from '../../state/server.ts';
import { startWorker, type WorkerRole } from '../index.ts';
import { jobSpecs, runJob, PREPULL } from './index.ts';
import { prepull } from './prepull.ts';
import { runSchedule } from './schedules.ts';

const jobRow = (t: Awaited<ReturnType<typeof buildTestApp>>, name: string) =>
  t.db.query.workerJobs.findFirst({ where: eq(schema.workerJobs.name, name) });

describe('runJob', () => {
  test('each run updates the job row (runs, failures, outcome, result, who) and leaves an audit row', async () => {
    const clock = testClock();
    const t = await buildTestApp({ clock, runner: false });
    let n = 0;
    const spec = { name: 'count', everySeconds: 1, run: async () => { clock.advance(250); if (++n === 2) throw new Error('second run breaks'); return { n }; } };
    assert.deepEqual(await runJob(t.ctx, spec), { n: 1 });
    let row = await jobRow(t, 'count');
    assert.equal(row?.runs, 1);
    assert.equal(row?.failures, 0);
    assert.equal(row?.lastOutcome, 'ok');
    assert.deepEqual(row?.lastResult, { n: 1 });
    assert.equal(row?.ranBy, t.ctx.instanceId);
    assert.equal(row!.lastFinishedAt! - row!.lastStartedAt!, 250);

    assert.deepEqual(await runJob(t.ctx, spec), { error: 'Error: second run breaks' });
    row = await jobRow(t, 'count');
    assert.equal(row?.runs, 2);
    assert.equal(row?.failures, 1);
    assert.equal(row?.lastOutcome, 'error');

    await runJob(t.ctx, { name: 'partial', run: async () => ({ done: 3, errors: [{ what: 'one failed' }] }) });
    assert.equal((await jobRow(t, 'partial'))?.lastOutcome, 'error', 'a non-empty errors list marks the run');
    const audits = await t.db.select().from(schema.audit).where(eq(schema.audit.action, 'worker.job'));
    assert.deepEqual(audits.map((a) => a.target), ['count', 'count', 'partial']);
    assert.equal(audits[0]!.actor, `worker:${t.ctx.instanceId}`);
  });
});

describe('pre-pull', () => {
  test('spawner.image and prepull.images, each once; a refused image is an error of the run, the others go on', async () => {
    const t = await buildTestApp({ runner: false, config: { spawner: { image: 'fake' }, worker: { prepull: { images: ['fake:unpullable', 'fake:other', 'fake'] } } } });
    const backend = t.backend as FakeBackend;
    const first = await prepull(t.ctx);
    assert.deepEqual(first.pulled, ['fake', 'fake:other']);
    assert.equal(first.errors.length, 1);
    assert.equal(first.errors[0]!.image, 'fake:unpullable');
    assert.match(first.errors[0]!.error, /could not be pulled: fake registry refuses it/);
    const second = await prepull(t.ctx);
    assert.deepEqual(second.present, ['fake', 'fake:other']);
    assert.equal(backend.calls.filter((c) => c.op === 'pull').length, 6);

    const spec = jobSpecs(t.ctx, { acting: () => true }).find((s) => s.name === PREPULL)!;
    assert.equal(spec.everySeconds, 6 * 3600);
    await runJob(t.ctx, spec);
    const row = await jobRow(t, PREPULL);
    assert.equal(row?.lastOutcome, 'error');
    assert.deepEqual((row?.lastResult as { errors: { image: string }[] }).errors.map((e) => e.image), ['fake:unpullable']);
  });

  test('a backend that cannot pull: every image skipped with the reason; prepull.enabled false: no job', async () => {
    const backend = new FakeBackend();
    Object.defineProperty(backend, 'pullImage', { value: undefined });
    const t = await buildTestApp({ runner: false, backend });
    const r = await prepull(t.ctx);
    assert.deepEqual(r.skipped, ['fake']);
    assert.match(String(r.reason), /fake backend does not pull images/);
    const off = await buildTestApp({ runner: false, config: { worker: { prepull: { enabled: false } } } });
    assert.equal(jobSpecs(off.ctx, { acting: () => true }).some((s) => s.name === PREPULL), false);
  });

  test('a config reload that adds an image pulls it at once in the worker holding the lease', async () => {
    const t = await buildTestApp({ runner: false, config: { worker: { lease_seconds: 1 } } });
    const backend = t.backend as FakeBackend;
    const w: WorkerRole = await startWorker(t.ctx);
    after(() => w.close());
    await until('the first pre-pull', () => backend.pulled.has('fake'), 5000);
    t.ctx.config = configSchema.parse({ ...t.config, worker: { ...t.config.worker, prepull: { ...t.config.worker.prepull, images: ['fake:new'] } } });
    w.reloaded();
    await until('the new image pulled', () => backend.pulled.has('fake:new'), 2000);
  });
});

describe('scheduled spawns', () => {
  const schedule = { name: 'monday-class', start: '45 8 * * 1', stop: '30 10 * * 1', users: ['ann', 'bob', 'nobody'], server: '' };

  test('config: each schedule is a start job and a stop job with its cron; a bad expression fails at load', async () => {
    const t = await buildTestApp({ runner: false, config: { worker: { schedules: [schedule, { name: 'friday', start: '0 9 * * 5', users: ['ann'], timezone: 'Europe/Berlin' }] } } });
    const crons = jobSpecs(t.ctx, { acting: () => true }).filter((s) => s.cron).map((s) => [s.name, s.cron!.pattern, s.cron!.timezone ?? null]);
    assert.deepEqual(crons, [
      ['schedule:monday-class:start', '45 8 * * 1', null],
      ['schedule:monday-class:stop', '30 10 * * 1', null],
      ['schedule:friday:start', '0 9 * * 5', 'Europe/Berlin'],
    ]);
    const bad = configSchema.safeParse({ worker: { schedules: [{ ...schedule, start: '61 8 * * 1' }] } });
    assert.equal(bad.success, false);
    assert.match(bad.error!.issues[0]!.message, /a cron expression like/);
    assert.deepEqual(bad.error!.issues[0]!.path, ['worker', 'schedules', 0, 'start']);
  });

  test('start queues the listed users (through the API verb), reports unknown ones, and stop stops them', async () => {
    const t = await buildTestApp({ config: { worker: { schedules: [schedule] } } });
    const ann = await t.createUser('ann');
    const bob = await t.createUser('bob');
    const started = await runSchedule(t.ctx, schedule, 'start');
    assert.deepEqual(started.queued, ['ann', 'bob']);
    assert.deepEqual(started.errors, [{ user: 'nobody', error: 'no such user' }]);
    await until('both running', async () => (await findUserServer(t.db, ann.id, ''))?.state === 'running' && (await findUserServer(t.db, bob.id, ''))?.state === 'running');
    const again = await runSchedule(t.ctx, schedule, 'start');
    assert.deepEqual(again['already running'], ['ann', 'bob'], 'a second run is harmless');
    const audits = await t.db.select().from(schema.audit).where(eq(schema.audit.action, 'server.schedule-start'));
    assert.deepEqual(audits.map((a) => a.target), ['ann', 'bob']);

    const stopped = await runSchedule(t.ctx, schedule, 'stop');
    assert.deepEqual([...(stopped.stopped as string[] ?? []), ...(stopped.stopping as string[] ?? [])].sort(), ['ann', 'bob'], 'stops begun, not waited for');
    await until('both stopped', async () => (await findUserServer(t.db, ann.id, ''))?.state === 'stopped' && (await findUserServer(t.db, bob.id, ''))?.state === 'stopped');
    assert.deepEqual((await runSchedule(t.ctx, schedule, 'stop'))['not running'], ['ann', 'bob']);
  });

  test('croner fires a schedule in the worker holding the lease (every second here)', async () => {
    const t = await buildTestApp({ runner: false, config: { worker: { lease_seconds: 1, schedules: [{ name: 'now', start: '* * * * * *', users: ['ann'] }] } } });
    const ann = await t.createUser('ann');
    const w = await startWorker(t.ctx);
    after(() => w.close());
    await until('ann running, started by the schedule', async () => (await findUserServer(t.db, ann.id, ''))?.state === 'running', 8000, 50);
    const audit = await t.db.query.audit.findFirst({ where: eq(schema.audit.action, 'server.schedule-start') });
    assert.equal(audit?.target, 'ann');
    assert.equal(audit?.actor, `worker:${t.ctx.instanceId}`);
  });

  test('GET /hub/api/worker lists the schedules with their last run', async () => {
    const t = await buildTestApp({ runner: false, config: { worker: { schedules: [schedule] } } });
    const admin = await t.createUser('boss', { admin: true });
    const token = await t.createToken(admin.id);
    await t.createUser('ann');
    const spec = jobSpecs(t.ctx, { acting: () => true }).find((s) => s.name === 'schedule:monday-class:start')!;
    await runJob(t.ctx, spec);
    const res = await t.request('/hub/api/worker', { token });
    assert.equal(res.status, 200);
    const body = await res.json() as { jobs: { name: string; cron?: string; runs: number; last_run: { outcome: string; result: Record<string, unknown> } | null }[] };
    const job = body.jobs.find((j) => j.name === 'schedule:monday-class:start')!;
    assert.equal(job.cron, '45 8 * * 1');
    assert.equal(job.runs, 1);
    assert.equal(job.last_run?.outcome, 'error', 'bob and nobody are unknown');
    assert.deepEqual(job.last_run?.result.queued, ['ann']);
    assert.equal(body.jobs.find((j) => j.name === 'schedule:monday-class:stop')?.last_run, null);
  });
});
