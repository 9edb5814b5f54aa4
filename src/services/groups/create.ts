// POST /groups and /groups/:name: new groups, optionally with members (409 when one exists).
import { inArray } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import type { GroupRow } from '../../../db/schema/index.ts';
import { conflict, invalid } from '../../errors.ts';
import { changeMembers } from './set-user-groups.ts';
import { userIds, validGroupName } from './user-ids.ts';

export async function createGroups({ ctx, input }: { ctx: AppContext; input: { names: string[]; users: string[]; actor: string } }): Promise<GroupRow[]> {
  for (const n of input.names) if (!validGroupName(n)) throw invalid(`Invalid group name: ${JSON.stringify(n)} (1–255 characters, no control characters or surrounding spaces)`);
  const now = ctx.clock.now();
  return ctx.db.transaction(async (tx) => {
    const existing = await tx.select({ name: schema.groups.name }).from(schema.groups).where(inArray(schema.groups.name, input.names));
    if (existing.length) throw conflict(`Group ${existing[0]!.name} already exists`);
    const ids = await userIds(tx, ctx, input.users);
    const rows = await tx.insert(schema.groups).values([...new Set(input.names)].map((name) => ({ name, properties: {}, createdAt: now }))).returning();
    for (const g of rows) await changeMembers(tx, g.id, ids, 'add');
    await tx.insert(schema.audit).values({ at: now, actor: input.actor, action: 'group.create', target: input.names.join(','), detail: { users: input.users } });
    return rows;
  });
}
