// The worker's cron jobs (croner). Every process that runs the worker role schedules them, but a run
// acts only while its process holds the worker lease, so exactly one process acts per run; each run
// that acts leaves an audit row naming the process, which is how that is checked.
import { Cron } from 'croner';
import { lt, and, isNotNull } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import { schema } from '../../db/client.ts';
import { recordAudit } from '../services/audit/record.ts';
import { reconcileServers, type ReconcileOptions } from '../services/servers/reconcile.ts';

/** Deletes expired tokens, OAuth codes and login sessions (expired rows are already invisible to lookups). */
export async function purgeExpired(ctx: AppContext): Promise<Record<string, number>> {
  const now = ctx.clock.now();
  const tokens = await ctx.db.delete(schema.tokens).where(and(isNotNull(schema.tokens.expiresAt), lt(schema.tokens.expiresAt, now))).returning({ id: schema.tokens.id });
  const codes = await ctx.db.delete(schema.oauthCodes).where(lt(schema.oauthCodes.expiresAt, now)).returning({ id: schema.oauthCodes.codeHash });
  const sessions = await ctx.db.delete(schema.sessions).where(lt(schema.sessions.expiresAt, now)).returning({ id: schema.sessions.id });
  return { tokens: tokens.length, codes: codes.length, sessions: sessions.length };
}

interface JobSpec {
  name: string;
  everySeconds: number;
  run(): Promise<Record<string, unknown>>;
}

export interface JobHooks extends ReconcileOptions {
  /** Asked at each run: only the lease holder acts. */
  acting(): boolean;
}

const jobSpecs = (ctx: AppContext, hooks: JobHooks): JobSpec[] => [
  { name: 'expire', everySeconds: ctx.config.worker.expire_every, run: () => purgeExpired(ctx) },
  // After a crash of a process that was stopping a server, or containers that died behind Berth's back.
  { name: 'reconcile', everySeconds: ctx.config.worker.reconcile_every, run: async () => ({ ...(await reconcileServers(ctx, { periodic: true, resume: hooks.resume })) }) },
];

/** Schedules every job. Returns the function that stops them. */
export function scheduleJobs(ctx: AppContext, hooks: JobHooks): () => void {
  const { acting } = hooks;
  const jobs = jobSpecs(ctx, hooks).map((spec) =>
    // Every second, at least `everySeconds` apart: croner's own clock, so runs line up across processes.
    new Cron('* * * * * *', { interval: spec.everySeconds, protect: true, unref: true }, async (self: Cron) => {
      if (!acting()) return;
      const scheduled = (self.currentRun() ?? new Date()).toISOString();
      try {
        const result = await spec.run();
        await recordAudit(ctx, { actor: `worker:${ctx.instanceId}`, action: 'worker.job', target: spec.name, detail: { scheduled, ...result } });
      } catch (err) {
        ctx.log.warn('worker: job failed', { job: spec.name, error: String(err) });
        await recordAudit(ctx, { actor: `worker:${ctx.instanceId}`, action: 'worker.job', target: spec.name, detail: { scheduled, error: String(err) } }).catch(() => {});
      }
    }),
  );
  return () => jobs.forEach((j) => j.stop());
}
