// Ends a redirect login's state: deleted as it is read, so a replayed callback finds nothing.
import { and, eq, gte } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import { sha256 } from '../../auth/tokens.ts';

export async function takeLoginState({ ctx, input }: { ctx: AppContext; input: { state: string } }) {
  const ls = schema.loginStates;
  const [row] = await ctx.db.delete(ls).where(and(eq(ls.id, sha256(input.state)), gte(ls.expiresAt, ctx.clock.now()))).returning();
  return row;
}
