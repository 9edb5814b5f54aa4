// Records that a token was used: the token's last_activity and, for a user's own (non-server)
// tokens, the user's — at most once every 30 s per token (JupyterHub's activity_resolution).
// Called on the token-check hot path, so it never delays the request, and batched: uses that fall
// due are written together once FLUSH_MS later. Every write makes the token check read the database
// again (src/auth/token-cache.ts), so a thousand tokens in use cost one such reset per flush, not one
// per token. The api role flushes at close (flushTokenUses), so a clean stop loses none.
import { and, eq, isNull, lte, or } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema, type Db } from '../../../db/client.ts';
import type { Identity } from '../../auth/identity.ts';
import { recordActivity } from '../activity/record.ts';

export const ACTIVITY_RESOLUTION_MS = 30_000;
const FLUSH_MS = 500;

interface Use { userId: number | undefined; at: number }
interface Batch { uses: Map<number, Use>; done: Promise<void>; now(): void }
const batches = new WeakMap<Db, Batch>();

/**
 * Returns the pending batch's write (already guarded with error logging) so tests can await it; the
 * request path ignores it. undefined when nothing was due.
 */
export function noteTokenUse(ctx: AppContext, identity: Identity): Promise<void> | undefined {
  const token = identity.token;
  if (!token) return undefined;
  const now = ctx.clock.now();
  // The row was just read to authenticate: decide from memory, touch the DB only when due.
  if (token.lastActivity != null && now - token.lastActivity < ACTIVITY_RESOLUTION_MS) return undefined;
  let batch = batches.get(ctx.db);
  if (!batch) {
    const uses = new Map<number, Use>();
    let now = () => {};
    const due = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, FLUSH_MS); // kept referenced: a use is written even if nothing else runs
      now = () => { clearTimeout(timer); resolve(); };
    });
    const done = due.then(async () => {
      batches.delete(ctx.db);
      for (const [tokenId, use] of uses) {
        await touch(ctx, tokenId, use.userId, use.at).catch((e: unknown) => ctx.log.error('recording token use failed', { token: `a${tokenId}`, error: String(e) }));
      }
    });
    batches.set(ctx.db, (batch = { uses, done, now }));
  }
  // the first use in the batch is the one kept: the compare-and-set below moves time forward only
  if (!batch.uses.has(token.id)) batch.uses.set(token.id, { userId: token.kind !== 'server' ? identity.user?.id : undefined, at: now });
  return batch.done;
}

/** Writes the uses waiting for their batch now (at close; tests). */
export async function flushTokenUses(db: Db): Promise<void> {
  const batch = batches.get(db);
  if (!batch) return;
  batch.now();
  await batch.done;
}

async function touch(ctx: AppContext, tokenId: number, userId: number | undefined, now: number) {
  const t = schema.tokens;
  // Compare-and-set, so concurrent requests (and other processes) with the same token write once.
  const res = await ctx.db.update(t).set({ lastActivity: now })
    .where(and(eq(t.id, tokenId), or(isNull(t.lastActivity), lte(t.lastActivity, now - ACTIVITY_RESOLUTION_MS))));
  // Server tokens act for the server, not the person (spec B.5): they do not count as user activity.
  if (res.rowsAffected > 0 && userId !== undefined) await recordActivity({ ctx, input: { userId, atUs: now * 1000 } });
}
