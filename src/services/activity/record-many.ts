// Moves many servers' (and their users') last_activity forward at once — never backwards — for the
// proxy's periodic flush: two statements for the whole batch instead of two per server, so a flush
// of a thousand active servers does not stall the proxy's event loop (the local driver is synchronous).
import { sql } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';

export interface ServerActivity { serverId: number; userId: number; atUs: number }

export async function recordActivityMany({ ctx, input }: { ctx: AppContext; input: ServerActivity[] }) {
  if (!input.length) return;
  const servers = JSON.stringify(input.map((a) => [a.serverId, a.atUs]));
  const users = JSON.stringify(input.map((a) => [a.userId, a.atUs]));
  // Two plain statements, not a transaction: each only moves times forward, so a reader between
  // them sees nothing wrong; and a drizzle transaction here would switch on the database layer's
  // AsyncLocalStorage (db/local-tx.ts) in the proxy, whose async hooks then tax every socket write.
  await ctx.db.run(advance('servers', servers));
  await ctx.db.run(advance('users', users));
}

/** `UPDATE <table> … FROM json_each([[id, atUs], …])`, keeping the later of stored and seen. */
function advance(table: 'servers' | 'users', pairs: string) {
  return sql`UPDATE ${sql.identifier(table)} SET last_activity_us = j.at
    FROM (SELECT json_extract(value, '$[0]') AS id, max(json_extract(value, '$[1]')) AS at FROM json_each(${pairs}) GROUP BY 1) AS j
    WHERE ${sql.identifier(table)}.id = j.id AND (${sql.identifier(table)}.last_activity_us IS NULL OR ${sql.identifier(table)}.last_activity_us < j.at)`;
}
