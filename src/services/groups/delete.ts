// DELETE /groups/:name: the group and its memberships (the users stay).
import { eq } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import type { GroupRow } from '../../../db/schema/index.ts';
import { membersOf, refreshGroupNames } from './set-user-groups.ts';

export async function deleteGroup({ ctx, input }: { ctx: AppContext; input: { group: GroupRow; actor: string } }): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const members = await membersOf(tx, [input.group.id]);
    await tx.delete(schema.groups).where(eq(schema.groups.id, input.group.id)); // memberships cascade
    await refreshGroupNames(tx, members);
    await tx.insert(schema.audit).values({ at: ctx.clock.now(), actor: input.actor, action: 'group.delete', target: input.group.name, detail: null });
  });
}
