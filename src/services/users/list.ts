// One page of users for GET /users: state filter (spec D.1), name post-filter from the caller's
// list:users filters, sorting, and the exact total (JupyterHub 3.0 over-counts `ready`; we do not).
import { and, asc, count, desc, exists, inArray, not, sql, type SQL } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import type { UserRow } from '../../../db/schema/index.ts';
import { ACTIVE, READY } from '../../state/server.ts';

export type UserStateFilter = 'active' | 'ready' | 'inactive';
export type UserSort = 'id' | 'name' | 'last_activity';

export interface ListUsersInput {
  state?: UserStateFilter | undefined;
  /** Only these names (the caller's list:users filters); undefined = everyone. */
  names?: string[] | undefined;
  /** Case-insensitive substring of the name. */
  nameFilter?: string | undefined;
  sort?: UserSort;
  descending?: boolean;
  offset: number;
  limit: number;
}

export async function listUsers({ ctx, input }: { ctx: AppContext; input: ListUsersInput }): Promise<{ users: UserRow[]; total: number }> {
  if (input.names && input.names.length === 0) return { users: [], total: 0 };
  const u = schema.users;
  const s = schema.servers;
  const serverIn = (states: readonly string[]) =>
    exists(ctx.db.select({ one: sql`1` }).from(s).where(and(sql`${s.userId} = ${u.id}`, inArray(s.state, [...states] as never))));
  const conds: SQL[] = [];
  if (input.state === 'active') conds.push(serverIn(ACTIVE));
  else if (input.state === 'ready') conds.push(serverIn(READY));
  else if (input.state === 'inactive') conds.push(not(serverIn(ACTIVE)));
  if (input.names) conds.push(inArray(u.name, input.names));
  if (input.nameFilter) conds.push(sql`lower(${u.name}) like ${`%${escapeLike(input.nameFilter.toLowerCase())}%`} escape '\\'`);
  const where = conds.length ? and(...conds) : undefined;

  const col = input.sort === 'name' ? u.name : input.sort === 'last_activity' ? u.lastActivityUs : u.id;
  // SQLite puts NULLs first ascending and last descending, as JupyterHub's explicit ordering does.
  const order = input.descending ? [desc(col), desc(u.id)] : [asc(col), asc(u.id)];
  const [users, totals] = await Promise.all([
    ctx.db.select().from(u).where(where).orderBy(...order).limit(input.limit).offset(input.offset),
    ctx.db.select({ n: count() }).from(u).where(where),
  ]);
  return { users, total: totals[0]?.n ?? 0 };
}

function escapeLike(s: string) {
  return s.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}
