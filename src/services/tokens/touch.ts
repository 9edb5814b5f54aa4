// Records that a token was used: the token's last_activity and, for a user's own (non-server)
// tokens, the user's — at most once every 30 s per token (JupyterHub's activity_resolution).
// Called on the token-check hot path, so it never delays the request: the write is fire-and-forget.
import { and, eq, isNull, lte, or } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import type { Identity } from '../../auth/identity.ts';
import { recordActivity } from '../activity/record.ts';

export const ACTIVITY_RESOLUTION_MS = 30_000;

/**
 * Returns the pending write (already guarded with error logging) so tests can await it; the
 * request path ignores it. undefined when nothing was due.
 */
export function noteTokenUse(ctx: AppContext, identity: Identity): Promise<void> | undefined {
  const token = identity.token;
  if (!token) return undefined;
  const now = ctx.clock.now();
  // The row was just read to authenticate: decide from memory, touch the DB only when due.
  if (token.lastActivity != null && now - token.lastActivity < ACTIVITY_RESOLUTION_MS) return undefined;
  const userId = token.kind !== 'server' ? identity.user?.id : undefined;
  return touch(ctx, token.id, userId, now).catch((e: unknown) => ctx.log.error('recording token use failed', { token: `a${token.id}`, error: String(e) }));
}

async function touch(ctx: AppContext, tokenId: number, userId: number | undefined, now: number) {
  const t = schema.tokens;
  // Compare-and-set, so concurrent requests with the same token write once.
  const res = await ctx.db.update(t).set({ lastActivity: now })
    .where(and(eq(t.id, tokenId), or(isNull(t.lastActivity), lte(t.lastActivity, now - ACTIVITY_RESOLUTION_MS))));
  // Server tokens act for the server, not the person (spec B.5): they do not count as user activity.
  if (res.rowsAffected > 0 && userId !== undefined) await recordActivity({ ctx, input: { userId, atUs: now * 1000 } });
}
