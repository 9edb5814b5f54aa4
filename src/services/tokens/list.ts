// A user's live tokens for GET /users/:name/tokens[/:id], with what the token model needs (the
// OAuth client's description, the server its `!server` filters resolve to). Expired tokens are
// invisible and purged here, as JupyterHub does.
import { and, asc, eq, gte, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/sqlite-core';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import type { TokenRow } from '../../../db/schema/index.ts';

export interface ListedToken {
  row: TokenRow;
  clientDescription: string | null;
  /** Name of the server the token belongs to (server and OAuth tokens), else null. */
  serverName: string | null;
  /** That server's owner: not the token's owner for an OAuth token issued to a visitor (an admin). */
  serverOwner: string | null;
}

export async function listTokens({ ctx, input }: { ctx: AppContext; input: { userId: number; tokenId?: number } }): Promise<ListedToken[]> {
  const t = schema.tokens;
  const oc = schema.oauthClients;
  const s = schema.servers;
  const so = alias(schema.users, 'server_owner');
  const now = ctx.clock.now();
  await ctx.db.delete(t).where(and(eq(t.userId, input.userId), lt(t.expiresAt, now)));
  const conds: SQL[] = [eq(t.userId, input.userId), or(isNull(t.expiresAt), gte(t.expiresAt, now))!];
  if (input.tokenId !== undefined) conds.push(eq(t.id, input.tokenId));
  const rows = await ctx.db
    .select({ row: t, clientDescription: oc.description, serverName: s.name, serverOwner: so.name })
    .from(t)
    .leftJoin(oc, eq(oc.id, t.oauthClientId))
    .leftJoin(s, sql`${s.id} = coalesce(${t.serverId}, ${oc.serverId})`)
    .leftJoin(so, eq(so.id, s.userId))
    .where(and(...conds))
    .orderBy(asc(sql`coalesce(${t.lastActivity}, ${t.createdAt})`), asc(t.id));
  return rows;
}
