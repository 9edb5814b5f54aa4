// Watches a spawn for a stop: the runner and an adopted spawn abort their work when the server is
// asked to stop, deleted, or replaced by a newer spawn. The check runs after every change event of
// the server and each second, for every spawn in flight — dozens a second during a burst — so it
// reads the two columns it needs with one query prepared once per database, not the whole row.
import { eq, sql } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import { schema } from '../../db/client.ts';
import { perDb } from '../../db/per-db.ts';
import type { ServerRow } from '../../db/schema/index.ts';
import { SpawnError } from '../errors.ts';

const stateQuery = perDb((db) => {
  const s = schema.servers;
  return db.select({ state: s.state, spawnSeq: s.spawnSeq }).from(s).where(eq(s.id, sql.placeholder('id'))).prepare();
});

/**
 * Aborts `controller` when a stop is requested for this spawn (state 'stopping'), the row is deleted,
 * or a newer spawn replaced it — seen through this process's events or a 1 s database poll.
 * Returns the function that stops watching.
 */
export function watchForStop(ctx: AppContext, row: ServerRow, controller: AbortController): () => void {
  let checking = false;
  let again = false;
  const check = async () => {
    if (controller.signal.aborted) return;
    if (checking) { again = true; return; }
    checking = true;
    try {
      do {
        again = false;
        const [r] = await stateQuery(ctx.db).execute({ id: row.id });
        if (!r || r.spawnSeq !== row.spawnSeq || r.state === 'stopping') controller.abort(new SpawnError('cancelled', 'Spawn cancelled'));
      } while (again && !controller.signal.aborted);
    } catch { /* the next tick retries */ } finally {
      checking = false;
    }
  };
  const onChange = (id: number) => { if (id === row.id) void check(); };
  ctx.events.on('server-changed', onChange);
  const timer = setInterval(() => void check(), 1000);
  timer.unref();
  return () => { ctx.events.off('server-changed', onChange); clearInterval(timer); };
}
