// The maintenance worker (croner): periodic jobs that keep the database tidy. Runs in `berth serve`.
import { Cron } from 'croner';
import { lt, and, isNotNull } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import { schema } from '../../db/client.ts';

/** Deletes expired tokens, OAuth codes and login sessions (expired rows are already invisible to lookups). */
export async function purgeExpired(ctx: AppContext): Promise<void> {
  const now = ctx.clock.now();
  await ctx.db.delete(schema.tokens).where(and(isNotNull(schema.tokens.expiresAt), lt(schema.tokens.expiresAt, now)));
  await ctx.db.delete(schema.oauthCodes).where(lt(schema.oauthCodes.expiresAt, now));
  await ctx.db.delete(schema.sessions).where(lt(schema.sessions.expiresAt, now));
}

export function startWorker(ctx: AppContext): { stop(): void } {
  const jobs = [
    new Cron('*/10 * * * *', { protect: true, unref: true }, async () => {
      try {
        await purgeExpired(ctx);
      } catch (e) {
        ctx.log.warn('purge of expired rows failed', { error: String(e) });
      }
    }),
  ];
  return { stop: () => jobs.forEach((j) => j.stop()) };
}
