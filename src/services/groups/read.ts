// Reading groups: one page (id order, as JupyterHub), one by name, and the member names of a set
// of groups in one query.
import { asc, count, eq, inArray } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import type { GroupRow } from '../../../db/schema/index.ts';

export async function listGroups(ctx: AppContext, input: { names?: string[] | undefined; offset: number; limit: number }): Promise<{ groups: GroupRow[]; total: number }> {
  const g = schema.groups;
  const where = input.names ? inArray(g.name, input.names.length ? input.names : ['\u0000']) : undefined;
  const groups = await ctx.db.select().from(g).where(where).orderBy(asc(g.id)).offset(input.offset).limit(input.limit);
  const [row] = await ctx.db.select({ n: count() }).from(g).where(where);
  return { groups, total: row?.n ?? 0 };
}

export const findGroup = async (ctx: AppContext, name: string) => (await ctx.db.select().from(schema.groups).where(eq(schema.groups.name, name)))[0];

/** Member names by group id, sorted. */
export async function memberNames(ctx: AppContext, groupIds: number[]): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>(groupIds.map((id) => [id, []]));
  if (!groupIds.length) return out;
  const ug = schema.userGroups;
  const rows = await ctx.db.select({ groupId: ug.groupId, name: schema.users.name }).from(ug)
    .innerJoin(schema.users, eq(schema.users.id, ug.userId)).where(inArray(ug.groupId, groupIds)).orderBy(asc(schema.users.name));
  for (const r of rows) out.get(r.groupId)!.push(r.name);
  return out;
}
