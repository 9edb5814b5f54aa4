// Reconciliation (design §3 "the worker is the reconciler", §9): compares server rows with what the
// backend runs. Running servers are adopted (never stopped by a restart), dead ones marked stopped,
// spawns whose worker died are adopted when their server already runs and failed otherwise,
// half-finished stops finished, and containers no active row owns stopped (their volumes stay).
// Runs under the worker lease when a worker takes it, before its runner starts.
import { eq, inArray } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { instanceIsGone } from '../../instance.ts';
import { schema } from '../../../db/client.ts';
import type { ServerRow } from '../../../db/schema/index.ts';
import { bumpRoutes } from '../../state/routes.ts';
import { ACTIVE, BACKED, casServer, stoppedFields, transition } from '../../state/server.ts';
import { failSpawn, resumeSpawn } from '../../spawn/settle.ts';
import { finishStop } from './finish-stop.ts';

export const INTERRUPTED = { reason: 'interrupted', message: 'Spawn interrupted: the Berth worker running it stopped; start the server again' };

/** A stop still under way after this long is taken over even when the process doing it may live. */
export const STOP_OVERDUE_MS = 2 * 60_000;

export interface ReconcileOptions {
  /**
   * A pass of the worker that holds the lease already: rows this process owns are in flight here and
   * left alone. Without it (the pass when a worker takes the lease, its runner fresh) they are not.
   */
  periodic?: boolean;
  /** Who carries on the ready check of an adopted spawn (the worker's runner); default: in the background here. */
  resume?: (row: ServerRow, user: string) => void;
}

export async function reconcileServers(ctx: AppContext, opts: ReconcileOptions = {}): Promise<{ adopted: number; stopped: number; failed: number }> {
  const s = schema.servers;
  const u = schema.users;
  const counts = { adopted: 0, stopped: 0, failed: 0 };
  let adoptedRunning = false;
  const rows = await ctx.db.select({ row: s, user: u.name }).from(s).innerJoin(u, eq(u.id, s.userId))
    .where(inArray(s.state, [...BACKED]));
  for (const { row, user } of rows) {
    if (!mayAct(ctx, row, opts.periodic === true)) continue;
    try {
      const status = row.backendRef ? (await ctx.backend.poll(row.backendRef)).status : 'missing';
      if (row.state === 'running') {
        if (status === 'running') { counts.adopted++; adoptedRunning = true; continue; }
        if (status === 'exited') await ctx.backend.stop(row.backendRef!);
        const done = await transition(ctx, { serverId: row.id, from: ['running'], set: stoppedFields(ctx.clock.now()), revoke: true });
        if (done) counts.stopped++;
        ctx.log.warn('server found not running; marked stopped', { user, server: row.name, status });
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
          if (status === 'exited') await ctx.backend.stop(row.backendRef!);
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
  if (adoptedRunning) {
    await bumpRoutes(ctx.db); // proxies reload the table once for everything adopted
    ctx.events.emit('routes-changed');
  }
  counts.stopped += await stopOrphans(ctx);
  return counts;
}

/** Whether this pass may act on a row another actor may be working on right now. */
function mayAct(ctx: AppContext, row: ServerRow, periodic: boolean): boolean {
  if (row.owner === ctx.instanceId) return !periodic;
  if (row.state !== 'stopping' || !row.owner) return true; // spawns are only ever run by the lease holder: this one
  // A stop under way in another process (an api): once that process is gone, or the stop is overdue.
  return instanceIsGone(row.owner, ctx.instanceId) || ctx.clock.now() - (row.stateSince ?? 0) > STOP_OVERDUE_MS;
}

/** Containers the backend manages that no active row owns (matched by their user/server labels). */
async function stopOrphans(ctx: AppContext): Promise<number> {
  const s = schema.servers;
  const active = await ctx.db.select({ user: schema.users.name, server: s.name }).from(s)
    .innerJoin(schema.users, eq(schema.users.id, s.userId))
    .where(inArray(s.state, [...ACTIVE]));
  const owned = new Set(active.map((r) => `${r.user}\0${r.server}`));
  let stopped = 0;
  for (const listed of await ctx.backend.list()) {
    if (owned.has(`${listed.user}\0${listed.serverName}`)) continue;
    ctx.log.warn('stopping a server no active row owns (its volume stays)', { user: listed.user, server: listed.serverName, running: listed.running });
    try {
      await ctx.backend.stop(listed.ref);
      stopped++;
    } catch (err) {
      ctx.log.error('could not stop an orphaned server', { user: listed.user, server: listed.serverName, error: String(err) });
    }
  }
  return stopped;
}
