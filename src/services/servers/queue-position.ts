// Where a queued spawn stands (design §3: over the limit, requests wait in a visible queue rather
// than failing with 429). Undefined while spawn slots are free, so a spawn about to start shows nothing.
import { and, count, eq, lt, or } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import type { ServerRow } from '../../../db/schema/index.ts';

export async function queuePosition(ctx: AppContext, row: ServerRow): Promise<number | undefined> {
  const s = schema.servers;
  if (row.state !== 'queued') return undefined;
  const [spawning] = await ctx.db.select({ n: count() }).from(s).where(eq(s.state, 'spawning'));
  if ((spawning?.n ?? 0) < ctx.config.hub.concurrent_spawn_limit) return undefined;
  const at = row.requestedAt ?? 0;
  const [ahead] = await ctx.db.select({ n: count() }).from(s)
    .where(and(eq(s.state, 'queued'), or(lt(s.requestedAt, at), and(eq(s.requestedAt, at), lt(s.id, row.id)))));
  return (ahead?.n ?? 0) + 1;
}
