// Reconciliation (design §3 "the worker is the reconciler", §9): compares server rows with what the
// backend runs, so that after a Berth crash or an engine restart they agree again within one pass.
// The rules, row by row (rows this process is driving right now are left to it, see mayAct):
//   running,  server runs            → adopted (never stopped by a restart)
//   running,  server exited / gone   → removed from the backend, marked stopped; the reason ("container
//                                      exited (code N)" / "container gone") in the log and an audit row
//   spawning, its worker gone        → adopted when its server runs and has an address, else failed
//   spawning, stuck past start_timeout + http_timeout + margin (even this live worker's own, e.g. a
//                                      hung engine call) → failed with that reason, its server removed
//   stopping, stop cut short / failed → finished (retried every pass; another live process's own stop
//                                      only once overdue)
// And the servers no active row owns: the pass when a worker takes the lease removes them at once (no
// spawn of any process is in flight then, and a row is active before its container exists); the
// periodic pass leaves them — running or not — to the prune job, which removes them after
// worker.prune.orphan_grace (src/worker/jobs/prune.ts). Adoption happens only where a row expects a
// server (spawning): a server whose row says stopped or failed is never brought back.
import { eq, inArray } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { instanceIsGone } from '../../instance.ts';
import { schema } from '../../../db/client.ts';
import type { ServerRow } from '../../../db/schema/index.ts';
import type { Backend, PollResult } from '../../backends/types.ts';
import { bumpRoutes } from '../../state/routes.ts';
import { BACKED, casServer, stoppedFields, transition } from '../../state/server.ts';
import { failSpawn, resumeSpawn } from '../../spawn/settle.ts';
import { recordAudit } from '../audit/record.ts';
import { finishStop } from './finish-stop.ts';
import { listWithOwners, removeStaleProbes, removeUnowned } from './orphans.ts';

export const INTERRUPTED = { reason: 'interrupted', message: 'Spawn interrupted: the Berth worker running it stopped; start the server again' };

/** A stop still under way after this long is taken over even when the process doing it may live. */
export const STOP_OVERDUE_MS = 2 * 60_000;
/** Beyond start_timeout + http_timeout, what the runner's own timeouts and the engine calls' limits may add. */
export const SPAWN_STUCK_MARGIN_MS = 3 * 60_000;

/** A spawn in 'spawning' longer than this is stuck, whoever owns it. */
export function spawnStuckAfterMs(ctx: AppContext): number {
  return (ctx.config.spawner.start_timeout + ctx.config.spawner.http_timeout) * 1000 + SPAWN_STUCK_MARGIN_MS;
}

export const stuckFailure = (ctx: AppContext) => ({
  reason: 'timeout',
  message: `Spawn stuck: not ready within ${Math.round(spawnStuckAfterMs(ctx) / 1000)} seconds (spawner.start_timeout + http_timeout and a margin); start the server again`,
});

export interface ReconcileOptions {
  /**
   * A pass of the worker that holds the lease already: rows this process owns are in flight here and
   * left alone until stuck or overdue, and servers no row owns are left to prune. Without it (the
   * pass when a worker takes the lease, its runner fresh) neither is.
   */
  periodic?: boolean;
  /** Who carries on the ready check of an adopted spawn (the worker's runner); default: in the background here. */
  resume?: (row: ServerRow, user: string) => void;
}

export async function reconcileServers(ctx: AppContext, opts: ReconcileOptions = {}): Promise<{ adopted: number; stopped: number; failed: number }> {
  const s = schema.servers;
  const u = schema.users;
  const counts = { adopted: 0, stopped: 0, failed: 0 };
  const periodic = opts.periodic === true;
  let adoptedRunning = false;
  const rows = await ctx.db.select({ row: s, user: u.name }).from(s).innerJoin(u, eq(u.id, s.userId))
    .where(inArray(s.state, [...BACKED]));
  for (const { row, user } of rows) {
    if (!mayAct(ctx, row, periodic)) continue;
    try {
      const backend = await ctx.backends.for(row.backend); // the kind that started it, whatever config.backend says now
      const polled: PollResult = row.backendRef ? await backend.poll(row.backendRef) : { status: 'missing' };
      const status = polled.status;
      if (row.state === 'running') {
        if (status === 'running') { counts.adopted++; adoptedRunning = true; continue; }
        if (await markLost(ctx, backend, row, user, polled)) counts.stopped++;
      } else if (row.state === 'spawning' && row.owner === ctx.instanceId && periodic) {
        // This worker's own spawn, past every timeout it has: its runner is stuck (a hung call). Should
        // that call return later, what it made has no active row any more: prune removes it.
        await failSpawn(ctx, row, row.backendRef ?? undefined, stuckFailure(ctx));
        ctx.log.warn('failed a stuck spawn', { user, server: row.name, since: row.stateSince });
        counts.failed++;
      } else if (row.state === 'spawning') {
        // Its worker is gone (this one holds the lease and does not run it): adopt or fail it.
        const adopted = status === 'running' && row.url
          ? await casServer(ctx.db, row.id, ['spawning'], { owner: ctx.instanceId }, row.spawnSeq)
          : undefined;
        if (adopted) {
          counts.adopted++;
          ctx.log.info('adopted a spawn whose worker stopped', { user, server: row.name, previousOwner: row.owner });
          if (opts.resume) opts.resume(adopted, user);
          else void resumeSpawn(ctx, adopted, user);
        } else {
          if (status === 'exited') await backend.stop(row.backendRef!);
          await failSpawn(ctx, row, undefined, INTERRUPTED);
          counts.failed++;
        }
      } else {
        // a stop cut short: finish it (a spawn cancelled before it was ever ready stays "cancelled")
        if (await finishStop(ctx, row, { cancelled: row.readyAt == null })) counts.stopped++;
      }
    } catch (err) {
      ctx.log.error('could not reconcile server', { user, server: row.name, error: String(err) });
    }
  }
  if (adoptedRunning && !periodic) {
    await bumpRoutes(ctx.db); // proxies reload the table once for everything adopted
    ctx.events.emit('routes-changed');
  }
  if (!periodic) {
    counts.stopped += await removeOrphansAtOnce(ctx);
    await removeStaleProbes(ctx);
  }
  return counts;
}

/**
 * A running row whose server exited or vanished (a crash, a `docker rm`, an engine restart): what is
 * left is removed, the row marked stopped with its credentials revoked, and the reason kept in the
 * log and an audit row (the row's `failure` is for spawns: a stopped server has none).
 */
async function markLost(ctx: AppContext, backend: Backend, row: ServerRow, user: string, polled: PollResult): Promise<boolean> {
  const why = polled.status === 'exited'
    ? `container exited${polled.exitCode !== undefined ? ` (code ${polled.exitCode})` : ''}`
    : 'container gone';
  if (polled.status === 'exited') await backend.stop(row.backendRef!);
  const done = await transition(ctx, { serverId: row.id, from: ['running'], spawnSeq: row.spawnSeq, set: stoppedFields(ctx.clock.now()), revoke: true });
  if (!done) return false;
  ctx.log.warn('server found not running; marked stopped', { user, server: row.name, why });
  await recordAudit(ctx, { actor: `worker:${ctx.instanceId}`, action: 'server.lost', target: `${user}/${row.name}`, detail: { why } });
  return true;
}

/**
 * Whether this pass may act on a row another actor may be working on right now. The pass when a
 * worker takes the lease acts on its own rows too (its runner is fresh: nothing of them is in flight
 * here); a periodic pass leaves this process's own spawns to its runner until they are stuck, and
 * its own stops (a cull, a schedule) until overdue — a stop whose backend call failed stays
 * 'stopping' and is retried from then on, every pass.
 */
function mayAct(ctx: AppContext, row: ServerRow, periodic: boolean): boolean {
  const age = ctx.clock.now() - (row.stateSince ?? 0);
  // (every transition sets stateSince; a spawn without one, written by hand, is never judged stuck)
  const overdue = row.state === 'stopping' ? age > STOP_OVERDUE_MS : row.state === 'spawning' && row.stateSince != null && age > spawnStuckAfterMs(ctx);
  if (row.owner === ctx.instanceId) return !periodic || overdue;
  if (row.state !== 'stopping' || !row.owner) return true; // spawns are only ever run by the lease holder: this one
  // A stop under way in another process (an api): once that process is gone, or the stop is overdue.
  return instanceIsGone(row.owner, ctx.instanceId) || overdue;
}

/** At lease takeover: every server no active row owns is removed at once (see the header). */
async function removeOrphansAtOnce(ctx: AppContext): Promise<number> {
  const { listed, isOwned } = await listWithOwners(ctx);
  let removed = 0;
  for (const l of listed) {
    if (!isOwned(l) && (await removeUnowned(ctx, l, { action: 'reconcile.orphan', why: 'no active row owns it' }))) removed++;
  }
  return removed;
}
