// DELETE /users/:name/tokens/:id (spec B.8). Revoking an OAuth token revokes every token the user
// holds from the same client, as JupyterHub does.
import { and, eq } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import type { TokenRow, UserRow } from '../../../db/schema/index.ts';

export async function revokeToken({ ctx, input }: { ctx: AppContext; input: { user: UserRow; token: TokenRow; actor: string } }): Promise<number> {
  const t = schema.tokens;
  const { user, token } = input;
  const now = ctx.clock.now();
  const count = await ctx.db.transaction(async (tx) => {
    const where = token.oauthClientId != null
      ? and(eq(t.userId, user.id), eq(t.oauthClientId, token.oauthClientId))
      : and(eq(t.userId, user.id), eq(t.id, token.id));
    const gone = await tx.delete(t).where(where).returning({ id: t.id });
    await tx.insert(schema.audit).values({ at: now, actor: input.actor, action: 'token.revoke', target: user.name, detail: { ids: gone.map((g) => g.id) } });
    return gone.length;
  });
  ctx.log.info('API tokens revoked', { by: input.actor, user: user.name, id: `a${token.id}`, count });
  return count;
}
