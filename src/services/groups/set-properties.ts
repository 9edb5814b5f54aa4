// PUT /groups/:name/properties: JupyterHub's free-form group properties, replaced whole.
import { eq } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import type { GroupRow } from '../../../db/schema/index.ts';

export async function setGroupProperties({ ctx, input }: { ctx: AppContext; input: { group: GroupRow; properties: Record<string, unknown>; actor: string } }): Promise<GroupRow> {
  return ctx.db.transaction(async (tx) => {
    const [row] = await tx.update(schema.groups).set({ properties: input.properties }).where(eq(schema.groups.id, input.group.id)).returning();
    await tx.insert(schema.audit).values({ at: ctx.clock.now(), actor: input.actor, action: 'group.properties', target: input.group.name, detail: null });
    return row!;
  });
}
