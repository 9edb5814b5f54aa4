// Stops a server (spec E.2, JupyterHub 5 semantics): a running server goes stopping → stopped
// (route removed at once, credentials deleted); a pending spawn is cancelled; `remove` deletes a
// named server's row once stopped. Waits up to hub.slow_stop_timeout; `done` says whether it finished.
import { and, eq, inArray } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import type { ServerRow, UserRow } from '../../../db/schema/index.ts';
import { invalid, notFound } from '../../errors.ts';
import { checkServerName } from './named.ts';
import { finishStop } from './finish-stop.ts';
import { findServerRow, findUserServer, isPending, STOPPED_LIKE, stoppedFields, transition } from '../../state/server.ts';
import { wakeWorker } from '../worker/wake.ts';
import { waitForServer } from './wait.ts';

export interface RequestStopInput {
  user: UserRow;
  serverName: string;
  /** Delete the named server's record after the stop (spec E.2). */
  remove?: boolean | undefined;
  /** false: begin the stop and return at once (`done` only when nothing was left to stop). Default true. */
  wait?: boolean | undefined;
}

export async function requestStop({ ctx, input }: { ctx: AppContext; input: RequestStopInput }): Promise<{ done: boolean }> {
  const { user, serverName } = input;
  checkServerName(ctx.config, serverName);
  let row = await findUserServer(ctx.db, user.id, serverName);
  if (!row && serverName) throw notFound(`User ${user.name} has no such server ${serverName}`);
  if (input.remove && !serverName) throw invalid('Cannot delete the default server');
  if (!row) return { done: true };

  for (let attempt = 0; attempt < 3 && row; attempt++) {
    const moved = await beginStop(ctx, row);
    if (moved) break;
    row = await findServerRow(ctx.db, row.id); // lost a race with the runner: look again
  }
  if (!row) return { done: true };
  const after = input.wait === false ? await findServerRow(ctx.db, row.id) : await waitForServer(ctx, row.id, ctx.config.hub.slow_stop_timeout * 1000);
  const done = !after || !isPending(after.state);
  if (input.remove) {
    if (done) await removeRow(ctx, row.id);
    else void waitForServer(ctx, row.id, 10 * 60_000).then(() => removeRow(ctx, row!.id)).catch(() => {});
  }
  return { done };
}

/** Starts the stop from the row's current state; false when the row moved under us. */
async function beginStop(ctx: AppContext, row: ServerRow): Promise<boolean> {
  switch (row.state) {
    case 'stopped': case 'failed': case 'stopping':
      return true;
    case 'queued': // no runner owns it yet: cancel here
      return !!(await transition(ctx, {
        serverId: row.id, from: ['queued'], spawnSeq: row.spawnSeq,
        set: { ...stoppedFields(ctx.clock.now()), failure: { reason: 'cancelled', message: 'Spawn cancelled' } },
        revoke: true, event: { progress: 100, failed: true, message: 'Spawn cancelled' },
      }));
    case 'spawning': { // the runner sees 'stopping', aborts its start or ready check, and finishes the stop
      const moved = await transition(ctx, { serverId: row.id, from: ['spawning'], spawnSeq: row.spawnSeq, set: { state: 'stopping' } });
      if (moved) wakeWorker(ctx, row.id); // the runner may be in another process: tell it now
      return !!moved;
    }
    case 'running': {
      // owner: this process does the stop; reconcile leaves it alone while this process lives
      const stopping = await transition(ctx, { serverId: row.id, from: ['running'], set: { state: 'stopping', owner: ctx.instanceId } });
      if (!stopping) return false;
      void finishStop(ctx, stopping).catch((err) => ctx.log.error('stop failed', { serverId: row.id, error: String(err) }));
      return true;
    }
  }
}

async function removeRow(ctx: AppContext, serverId: number): Promise<void> {
  const s = schema.servers;
  // Only a row that is (still) stopped: a spawn requested meanwhile keeps it.
  await ctx.db.delete(s).where(and(eq(s.id, serverId), inArray(s.state, [...STOPPED_LIKE])));
  ctx.events.emit('server-changed', serverId);
}
