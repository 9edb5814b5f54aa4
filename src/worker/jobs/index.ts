// The worker's cron jobs (croner). Every process that runs the worker role schedules them, but a run
// acts only while its process holds the worker lease, so exactly one process acts per run. Each run
// that acts leaves an audit row naming the process (how "exactly one" is checked) and updates the
// job's row in worker_jobs, which GET /hub/api/worker reports. croner's `protect` keeps a job from
// overlapping itself; the jobs read time from ctx.clock, so tests drive them with a fixed clock.
import { Cron } from 'croner';
import { sql } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import type { Config } from '../../config/schema.ts';
import { schema } from '../../../db/client.ts';
import { recordAudit } from '../../services/audit/record.ts';
import { reconcileServers, type ReconcileOptions } from '../../services/servers/reconcile.ts';
import { purgeExpired } from './expire.ts';
import { prepull } from './prepull.ts';
import { scheduleJobSpecs } from './schedules.ts';
import { cullIdle } from './cull.ts';
import { pruneOnce } from './prune.ts';

/** What a run did; `errors` (a non-empty list, or a count above 0) marks it as partly failed. */
export type JobResult = Record<string, unknown>;

export interface JobSpec {
  name: string;
  /** Either an interval in seconds (runs line up across processes: every second, at least this far apart)… */
  everySeconds?: number;
  /** …or a cron expression (scheduled spawns). */
  cron?: { pattern: string; timezone?: string | undefined };
  run(): Promise<JobResult>;
}

export const PREPULL = 'prepull';

export interface JobHooks extends ReconcileOptions {
  /** Asked at each run: only the lease holder acts. */
  acting(): boolean;
}

/** What the worker runs for this config; called again after every reload. */
export function jobSpecs(ctx: AppContext, hooks: JobHooks): JobSpec[] {
  const w = ctx.config.worker;
  return [
    { name: 'expire', everySeconds: w.expire_every, run: () => purgeExpired(ctx) },
    // Rows and containers agree again within one interval after a crash or an engine restart.
    { name: 'reconcile', everySeconds: w.reconcile_every, run: async () => ({ ...(await reconcileServers(ctx, { periodic: true, resume: hooks.resume })) }) },
    { name: 'prune', everySeconds: w.prune.every, run: () => pruneOnce(ctx) },
    ...(w.cull.enabled ? [{ name: 'cull', everySeconds: cullEvery(ctx.config), run: () => cullIdle(ctx) }] : []),
    ...(w.prepull.enabled ? [{ name: PREPULL, everySeconds: w.prepull.every, run: () => prepull(ctx) }] : []),
    ...scheduleJobSpecs(ctx),
  ];
}

/** The culler's --cull-every: 0 means timeout / 2. */
export function cullEvery(config: Config): number {
  return config.worker.cull.every > 0 ? config.worker.cull.every : config.worker.cull.timeout / 2;
}

/** Runs one job now, as the scheduler does: the run's row in worker_jobs, an audit row, a log line on failure. */
export async function runJob(ctx: AppContext, spec: JobSpec, scheduled = new Date(ctx.clock.now()).toISOString()): Promise<JobResult> {
  const started = ctx.clock.now();
  const j = schema.workerJobs;
  const actor = `worker:${ctx.instanceId}`;
  const record = async (outcome: 'ok' | 'error', result: JobResult) => {
    const finished = ctx.clock.now();
    await ctx.db.insert(j).values({ name: spec.name, ranBy: ctx.instanceId, lastStartedAt: started, lastFinishedAt: finished, lastOutcome: outcome, lastResult: result, runs: 1, failures: outcome === 'error' ? 1 : 0 })
      .onConflictDoUpdate({
        target: j.name,
        set: { ranBy: ctx.instanceId, lastStartedAt: started, lastFinishedAt: finished, lastOutcome: outcome, lastResult: result, runs: sql`${j.runs} + 1`, failures: outcome === 'error' ? sql`${j.failures} + 1` : j.failures },
      });
    await recordAudit(ctx, { actor, action: 'worker.job', target: spec.name, detail: { scheduled, ...result } });
  };
  try {
    const result = await spec.run();
    // A run that did part of its work (an image that would not pull) says so in `errors`.
    await record(partlyFailed(result.errors) ? 'error' : 'ok', result);
    return result;
  } catch (err) {
    ctx.log.warn('worker: job failed', { job: spec.name, error: String(err) });
    const result = { error: String(err) };
    await record('error', result).catch(() => {});
    return result;
  }
}

const partlyFailed = (errors: unknown) => (Array.isArray(errors) ? errors.length > 0 : typeof errors === 'number' && errors > 0);

export interface ScheduledJobs {
  /** Schedules anew from the current config (after a reload): changed intervals and schedules apply. */
  reschedule(): void;
  /** Runs the named job now, off its schedule, when this process acts (the pre-pull after a config change). */
  runNow(name: string): Promise<JobResult | undefined>;
  stop(): void;
}

/** Schedules every job. */
export function scheduleJobs(ctx: AppContext, hooks: JobHooks): ScheduledJobs {
  let crons: Cron[] = [];
  let specs: JobSpec[] = [];
  const schedule = () => (specs = jobSpecs(ctx, hooks)).map((spec) => {
    const act = async (self: Cron) => {
      if (!hooks.acting()) return;
      await runJob(ctx, spec, (self.currentRun() ?? new Date()).toISOString());
    };
    if (spec.cron) return new Cron(spec.cron.pattern, { protect: true, unref: true, ...(spec.cron.timezone ? { timezone: spec.cron.timezone } : {}) }, act);
    // Every second, at least `everySeconds` apart: croner's own clock, so runs line up across processes.
    return new Cron('* * * * * *', { interval: spec.everySeconds ?? 60, protect: true, unref: true }, act);
  });
  crons = schedule();
  return {
    reschedule() {
      crons.forEach((c) => c.stop());
      crons = schedule();
    },
    async runNow(name) {
      const spec = specs.find((s) => s.name === name);
      return spec && hooks.acting() ? runJob(ctx, spec) : undefined;
    },
    stop: () => crons.forEach((c) => c.stop()),
  };
}
