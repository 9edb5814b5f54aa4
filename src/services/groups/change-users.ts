// POST / DELETE /groups/:name/users. A provider that reports groups resets its users' membership at
// their next login (the provider is the source of truth, as with JupyterHub's manage_groups).
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import type { GroupRow } from '../../../db/schema/index.ts';
import { changeMembers } from './set-user-groups.ts';
import { userIds } from './user-ids.ts';

export async function changeGroupUsers({ ctx, input }: { ctx: AppContext; input: { group: GroupRow; users: string[]; op: 'add' | 'remove'; actor: string } }): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    await changeMembers(tx, input.group.id, await userIds(tx, ctx, input.users), input.op);
    await tx.insert(schema.audit).values({ at: ctx.clock.now(), actor: input.actor, action: input.op === 'add' ? 'group.add_users' : 'group.remove_users', target: input.group.name, detail: { users: input.users } });
  });
}
