// Moves users' and servers' last_activity forward — never backwards — from any source: activity
// posts, proxied traffic, API use. `atUs` is microseconds since the epoch. One statement per table
// whatever the number of rows: the proxy flushes a thousand active servers at once, and the local
// driver is synchronous, so one row at a time would stall its event loop.
import { sql } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';

export interface ServerActivity { serverId: number; userId: number; atUs: number }

/** One sighting of a user, and of one of their servers when given. */
export async function recordActivity({ ctx, input }: { ctx: AppContext; input: { userId: number; serverId?: number | undefined; atUs: number } }) {
  const { userId, serverId, atUs } = input;
  await ctx.db.run(advance('users', [[userId, atUs]]));
  if (serverId !== undefined) await ctx.db.run(advance('servers', [[serverId, atUs]]));
}

/** A batch of server sightings: each server and its user keep the latest. */
export async function recordActivityMany({ ctx, input }: { ctx: AppContext; input: ServerActivity[] }) {
  if (!input.length) return;
  // Two plain statements, not a transaction: each only moves times forward, so a reader between
  // them sees nothing wrong; and a drizzle transaction here would switch on the database layer's
  // AsyncLocalStorage (db/local-tx.ts) in the proxy, whose async hooks then tax every socket write.
  await ctx.db.run(advance('servers', input.map((a) => [a.serverId, a.atUs])));
  await ctx.db.run(advance('users', input.map((a) => [a.userId, a.atUs])));
}

/** `UPDATE <table> … FROM json_each([[id, atUs], …])`, keeping the later of stored and seen. */
function advance(table: 'servers' | 'users', pairs: [number, number][]) {
  const t = sql.identifier(table);
  return sql`UPDATE ${t} SET last_activity_us = j.at
    FROM (SELECT json_extract(value, '$[0]') AS id, max(json_extract(value, '$[1]')) AS at FROM json_each(${JSON.stringify(pairs)}) GROUP BY 1) AS j
    WHERE ${t}.id = j.id AND (${t}.last_activity_us IS NULL OR ${t}.last_activity_us < j.at)`;
}
