// Tells the worker that work is waiting (a spawn queued, a stop for a spawn in flight) the moment it
// is recorded, instead of at the worker's next poll: by event when the worker runs in this process,
// by a POST to the lease holder's wake URL when it runs in another. Fire and forget: the database
// holds the facts, so a lost wake-up only costs the worker's poll interval.
import type { AppContext } from '../../context.ts';
import { currentLease, WORKER_LEASE } from '../../state/lease.ts';

const WAKE_TIMEOUT_MS = 1000;

export function wakeWorker(ctx: AppContext, serverId?: number): void {
  if (serverId === undefined) ctx.events.emit('spawn-requested');
  // (a server's own change was already announced in this process by the transition)
  void (async () => {
    const lease = await currentLease(ctx.db, WORKER_LEASE);
    if (!lease?.wakeUrl || lease.holder === ctx.instanceId || lease.expiresAt <= ctx.clock.now()) return;
    const res = await fetch(`${lease.wakeUrl}/wake`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify(serverId === undefined ? {} : { server_id: serverId }),
      signal: AbortSignal.timeout(WAKE_TIMEOUT_MS),
    });
    await res.body?.cancel();
  })().catch((err: unknown) => ctx.log.debug('worker wake-up not delivered; it will see the work at its next poll', { error: String(err) }));
}
