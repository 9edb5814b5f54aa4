// Moves a user's (and optionally a server's) last_activity forward — never backwards — from any
// source: activity posts, proxied traffic, API use. `atUs` is microseconds since the epoch.
import { and, eq, isNull, lt, or, sql } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';

export async function recordActivity({ ctx, input }: { ctx: AppContext; input: { userId: number; serverId?: number | undefined; atUs: number } }) {
  const { userId, serverId, atUs } = input;
  const u = schema.users;
  await ctx.db.update(u).set({ lastActivityUs: sql`max(coalesce(${u.lastActivityUs}, 0), ${atUs})` })
    .where(and(eq(u.id, userId), or(isNull(u.lastActivityUs), lt(u.lastActivityUs, atUs))));
  if (serverId !== undefined) {
    const s = schema.servers;
    await ctx.db.update(s).set({ lastActivityUs: sql`max(coalesce(${s.lastActivityUs}, 0), ${atUs})` })
      .where(and(eq(s.id, serverId), or(isNull(s.lastActivityUs), lt(s.lastActivityUs, atUs))));
  }
}
