// GET /hub/api/worker: admins only; each configured job with its schedule and its last run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, testClock } from '../../test/helpers/app.ts';
import { jobSpecs, runJob } from '../../src/worker/jobs/index.ts';

interface Job { name: string; every?: number; runs: number; failures: number; last_run: null | { by: string; outcome: string; started: string; result: Record<string, unknown> } }

test('GET /hub/api/worker: 403 without admin:servers; lists the cull job and its last run', async () => {
  const clock = testClock();
  const t = await buildTestApp({ clock, runner: false, config: { worker: { cull: { enabled: true, timeout: 600, every: 30 } } } });
  const alice = await t.createUser('alice');
  const root = await t.createUser('root', { admin: true });
  const denied = await t.request('/hub/api/worker', { token: await t.createToken(alice.id) });
  assert.equal(denied.status, 403);

  const admin = await t.createToken(root.id);
  const before = (await (await t.request('/hub/api/worker', { token: admin })).json()) as { jobs: Job[] };
  const cull = () => before.jobs.find((j) => j.name === 'cull');
  assert.deepEqual(cull(), { name: 'cull', every: 30, runs: 0, failures: 0, last_run: null });

  await runJob(t.ctx, jobSpecs(t.ctx, { acting: () => true }).find((s) => s.name === 'cull')!);
  const res = await t.request('/hub/api/worker', { token: admin });
  assert.equal(res.status, 200);
  const after = ((await res.json()) as { jobs: Job[] }).jobs.find((j) => j.name === 'cull')!;
  assert.equal(after.runs, 1);
  assert.equal(after.failures, 0);
  assert.equal(after.last_run!.by, t.ctx.instanceId);
  assert.equal(after.last_run!.outcome, 'ok');
  assert.equal(Date.parse(after.last_run!.started), clock.now());
  assert.equal(after.last_run!.result.culled_servers, 0);
  assert.equal(after.last_run!.result.culled_users, 0);
});
