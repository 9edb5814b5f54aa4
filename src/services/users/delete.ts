// DELETE /users/:name (spec E.6): stops the user's servers first, then removes the user with their
// servers, tokens and sessions (foreign-key cascades). Home volumes are never touched here.
import { and, eq, inArray, not, exists, sql } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import type { UserRow } from '../../../db/schema/index.ts';
import { invalid, notFound } from '../../errors.ts';
import { ACTIVE } from '../../state/server.ts';
import { requestStop } from '../servers/request-stop.ts';

export interface DeleteUserInput {
  user: UserRow;
  /** The caller's user name, when the caller is a user (nobody deletes themselves). */
  callerName?: string | undefined;
  actor: string;
}

export async function deleteUser({ ctx, input }: { ctx: AppContext; input: DeleteUserInput }): Promise<void> {
  const { user } = input;
  if (input.callerName === user.name) throw invalid('Cannot delete yourself!');
  const stopping = invalid(`${user.name}'s server is in the process of stopping, please wait.`);
  const s = schema.servers;
  const active = await ctx.db.select({ name: s.name, state: s.state }).from(s).where(and(eq(s.userId, user.id), inArray(s.state, [...ACTIVE])));
  if (active.some((r) => r.state === 'stopping')) throw stopping;
  for (const r of active) {
    const { done } = await requestStop({ ctx, input: { user, serverName: r.name } });
    if (!done) throw stopping;
  }
  const u = schema.users;
  const now = ctx.clock.now();
  // Compare-and-set: a spawn that slipped in since the stop keeps the user (and its row) alive.
  const deleted = await ctx.db.transaction(async (tx) => {
    const rows = await tx.delete(u)
      .where(and(eq(u.id, user.id), not(exists(tx.select({ one: sql`1` }).from(s).where(and(eq(s.userId, user.id), inArray(s.state, [...ACTIVE])))))))
      .returning({ id: u.id });
    if (rows.length) await tx.insert(schema.audit).values({ at: now, actor: input.actor, action: 'user.delete', target: user.name });
    return rows.length;
  });
  if (!deleted) {
    const still = await ctx.db.select({ id: u.id }).from(u).where(eq(u.id, user.id));
    if (!still.length) throw notFound(`No such user: ${user.name}`);
    throw invalid(`${user.name} has a server starting; stop it before deleting the user`);
  }
  ctx.log.info('user deleted', { by: input.actor, user: user.name });
}
