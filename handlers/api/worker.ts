// GET /hub/api/worker (admins: admin:servers) — which process holds the worker lease, and each job's
// schedule and last run (from worker_jobs, so any api process answers, wherever the worker runs).
import { Hono } from 'hono';
import type { AppEnv } from '../env.ts';
import { requireScope } from '../lib.ts';
import { schema } from '../../db/client.ts';
import { isoZ } from '../../src/clock.ts';
import { currentLease, WORKER_LEASE } from '../../src/state/lease.ts';
import { jobSpecs } from '../../src/worker/jobs/index.ts';

export const workerApi = new Hono<AppEnv>({ strict: false });

workerApi.get('/worker', async (c) => {
  requireScope(c, 'admin:servers');
  const ctx = c.get('ctx');
  const lease = await currentLease(ctx.db, WORKER_LEASE);
  const rows = new Map((await ctx.db.select().from(schema.workerJobs)).map((r) => [r.name, r]));
  const now = ctx.clock.now();
  const jobs = jobSpecs(ctx, { acting: () => false }).map((spec) => {
    const r = rows.get(spec.name);
    rows.delete(spec.name);
    return {
      name: spec.name,
      ...(spec.cron ? { cron: spec.cron.pattern, timezone: spec.cron.timezone ?? null } : { every: spec.everySeconds }),
      ...lastRun(r),
    };
  });
  return c.json({
    lease: lease && lease.expiresAt > now
      ? { holder: lease.holder, acquired: isoZ(lease.acquiredAt), expires: isoZ(lease.expiresAt) }
      : null,
    jobs,
    // Jobs that ran once and are no longer configured (a removed schedule), so their last word is not lost.
    retired: [...rows.values()].map((r) => ({ name: r.name, ...lastRun(r) })),
  });
});

function lastRun(r: typeof schema.workerJobs.$inferSelect | undefined) {
  return {
    runs: r?.runs ?? 0,
    failures: r?.failures ?? 0,
    last_run: r ? { by: r.ranBy, started: isoZ(r.lastStartedAt), finished: isoZ(r.lastFinishedAt), outcome: r.lastOutcome, result: r.lastResult } : null,
  };
}
