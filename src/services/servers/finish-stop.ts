// The second half of every stop (a user's stop, a cancelled spawn, a stop interrupted by a restart):
// the backend stops the server (volumes kept) outside any transaction, then one transaction deletes
// the server token and OAuth client and moves the row stopping → stopped.
import type { AppContext } from '../../context.ts';
import type { ServerRow } from '../../../db/schema/index.ts';
import { stoppedFields, transition } from '../../state/server.ts';

/** Returns the stopped row, or undefined when the backend refused (the row stays 'stopping' for reconcile). */
export async function finishStop(ctx: AppContext, row: ServerRow, opts: { cancelled?: boolean } = {}): Promise<ServerRow | undefined> {
  if (row.backendRef) {
    try {
      await (await ctx.backends.for(row.backend)).stop(row.backendRef);
    } catch (err) {
      ctx.log.error('backend stop failed; the server stays stopping', { serverId: row.id, error: String(err) });
      return undefined;
    }
  }
  const cancelled = opts.cancelled === true;
  return transition(ctx, {
    serverId: row.id,
    from: ['stopping'],
    spawnSeq: row.spawnSeq,
    set: {
      ...stoppedFields(ctx.clock.now()),
      failure: cancelled ? { reason: 'cancelled', message: 'Spawn cancelled' } : null,
    },
    revoke: true,
    // JupyterHub 5: a stop during a spawn cancels it, and the progress stream ends with this event.
    event: cancelled ? { progress: 100, failed: true, message: 'Spawn cancelled' } : undefined,
  });
}
