// Moves a user's (and optionally a server's) last_activity forward — never backwards — from any
// source: activity posts, proxied traffic, API use.
import { and, eq, isNull, lt, or, sql } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';

export async function recordActivity({ ctx, input }: { ctx: AppContext; input: { userId: number; serverId?: number | undefined; at: number } }) {
  const { userId, serverId, at } = input;
  const u = schema.users;
  await ctx.db.update(u).set({ lastActivity: sql`max(coalesce(${u.lastActivity}, 0), ${at})` })
    .where(and(eq(u.id, userId), or(isNull(u.lastActivity), lt(u.lastActivity, at))));
  if (serverId !== undefined) {
    const s = schema.servers;
    await ctx.db.update(s).set({ lastActivity: sql`max(coalesce(${s.lastActivity}, 0), ${at})` })
      .where(and(eq(s.id, serverId), or(isNull(s.lastActivity), lt(s.lastActivity, at))));
  }
}
