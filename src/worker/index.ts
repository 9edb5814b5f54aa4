// The worker role (design §3): everything that must happen once, not once per process — the spawn
// runner, reconciliation, the hub-reach proof from a container and the cron jobs — runs only while
// this process holds the worker lease. Taking the lease starts with a reconcile, which adopts or
// fails the spawns of the worker that held it before; losing it stops the runner at once.
import type { AppContext } from '../context.ts';
import { SpawnRunner } from '../spawn/runner.ts';
import { reconcileServers } from '../services/servers/reconcile.ts';
import { recordAudit } from '../services/audit/record.ts';
import { recordCheck } from '../services/health/record-check.ts';
import type { ClaimResult } from '../state/lease.ts';
import { PREPULL, scheduleJobs } from './jobs/index.ts';
import { prepullImages } from './jobs/prepull.ts';
import { LeaseKeeper } from './lease-keeper.ts';
import { listenForWakeUps } from './wake-listener.ts';
import { hubUrlForServers } from '../backends/hub-probe.ts';

export interface WorkerRole {
  /** Holding the lease right now. */
  readonly acting: boolean;
  /** Re-run what depends on the config (the reach proof) after a reload. */
  reloaded(): void;
  close(): Promise<void>;
}

export async function startWorker(ctx: AppContext): Promise<WorkerRole> {
  const wake = await listenForWakeUps(ctx);
  let runner: SpawnRunner | undefined;
  /** Set once the reconcile that follows taking the lease is done: the jobs wait for it. */
  let settled = false;
  // Lease changes are handled one after another, off the keeper's renewal path.
  let session: Promise<void> = Promise.resolve();
  const then = (step: () => Promise<void>) => {
    session = session.then(step).catch((err: unknown) => ctx.log.error('worker: lease change handling failed', { error: String(err) }));
  };

  const begin = async (result: ClaimResult) => {
    const from = result.takenFrom;
    ctx.log.info('worker: holding the lease; this process runs spawns and jobs', { instance: ctx.instanceId, ...(from ? { takenFrom: from.holder, lapsed: from.lapsed } : {}) });
    await recordAudit(ctx, { actor: `worker:${ctx.instanceId}`, action: 'worker.lease', target: 'acquired', detail: from ? { from: from.holder, lapsed: from.lapsed } : {} });
    const next = new SpawnRunner(ctx);
    runner = next;
    const counts = await reconcileServers(ctx, { resume: (row, user) => next.resume(row, user) });
    ctx.log.info('reconciled servers', counts);
    if (!keeper.acting) return; // lost while reconciling: end() closes it
    next.start();
    settled = true;
    void proveReach(ctx);
  };
  const end = async (reason: string) => {
    ctx.log.warn('worker: lease lost; this process stops running spawns and jobs', { reason });
    settled = false;
    // In-flight spawns are left as they are: the new holder's reconcile adopts or fails them.
    await runner?.close();
    runner = undefined;
  };

  const keeper = new LeaseKeeper(ctx, { acquired: (r) => then(() => begin(r)), lost: (why) => then(() => end(why)) }, () => wake.url);
  const jobs = scheduleJobs(ctx, {
    acting: () => settled && keeper.acting,
    resume: (row, user) => runner?.resume(row, user),
  });
  keeper.start();
  let pulledFor = prepullImages(ctx).join('\n');

  return {
    get acting() { return keeper.acting; },
    reloaded: () => {
      jobs.reschedule();
      const images = prepullImages(ctx).join('\n');
      if (images !== pulledFor) {
        pulledFor = images;
        void jobs.runNow(PREPULL); // a new image is pulled now, not at the next interval
      }
      if (keeper.acting) void proveReach(ctx);
    },
    async close() {
      jobs.stop();
      await keeper.stop();
      await session;
      // Flights are abandoned before the lease is given up, so the next holder never races them.
      await runner?.close();
      await keeper.release();
      await wake.close();
    },
  };
}

/** Starts a throwaway container to prove the servers can reach the hub (when the backend can). */
async function proveReach(ctx: AppContext): Promise<void> {
  if (!ctx.backend.probeHubReach) return;
  try {
    const hubUrl = hubUrlForServers(ctx.hubUrl, ctx.config.hub.base_url);
    const outcome = await ctx.backend.probeHubReach(hubUrl, { creator: ctx.instanceId });
    await recordCheck(ctx, 'hub-from-container', outcome);
    if (outcome.ok === false) ctx.log.error('containers cannot reach the hub', { hubUrl, message: outcome.message });
    else ctx.log.info(outcome.message, { hubUrl });
  } catch (err) {
    ctx.log.warn('could not check the hub from a container', { error: String(err) });
  }
}
