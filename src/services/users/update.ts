// PATCH /users/:name (spec E.6): rename and/or change the admin flag. Only admins may touch admins
// or grant admin (JupyterHub's rules). A rename is refused while a server runs: its URL, OAuth
// client and container all carry the old name.
import { and, eq, inArray } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import type { UserRow } from '../../../db/schema/index.ts';
import { ServiceError, forbidden, invalid } from '../../errors.ts';
import { normalizeUserName, validUserName } from '../../names.ts';
import { ACTIVE } from '../../state/server.ts';

export interface UpdateUserInput {
  user: UserRow;
  name?: string | undefined;
  admin?: boolean | undefined;
  /** Is the caller a hub admin (not just a holder of admin:users)? */
  callerAdmin: boolean;
  actor: string;
}

export async function updateUser({ ctx, input }: { ctx: AppContext; input: UpdateUserInput }): Promise<UserRow> {
  const { user, admin } = input;
  const name = input.name === undefined ? undefined : normalizeUserName(input.name);
  if (!input.callerAdmin) {
    if (user.admin) throw forbidden('Only admins can modify other admins');
    if (admin) throw forbidden('Only admins can grant admin permissions');
  }
  const rename = name !== undefined && name !== user.name;
  if (rename && !validUserName(name)) throw invalid(`Invalid username: ${name}`);
  const now = ctx.clock.now();
  const row = await ctx.db.transaction(async (tx) => {
    if (rename) {
      const [taken] = await tx.select({ id: schema.users.id }).from(schema.users).where(eq(schema.users.name, name));
      if (taken) throw invalid(`User ${name} already exists, username must be unique`);
      const s = schema.servers;
      const [busy] = await tx.select({ id: s.id }).from(s).where(and(eq(s.userId, user.id), inArray(s.state, [...ACTIVE])));
      if (busy) throw invalid(`Cannot rename ${user.name} while a server is active; stop it first`);
    }
    const set: Partial<UserRow> = {};
    if (rename) set.name = name;
    if (admin !== undefined) set.admin = admin;
    if (Object.keys(set).length === 0) return user;
    const [updated] = await tx.update(schema.users).set(set).where(eq(schema.users.id, user.id)).returning();
    if (!updated) throw new ServiceError('NotFound', `No such user: ${user.name}`);
    await tx.insert(schema.audit).values({ at: now, actor: input.actor, action: 'user.update', target: user.name, detail: set as Record<string, unknown> });
    return updated;
  });
  if (row !== user) ctx.log.info('user updated', { by: input.actor, user: user.name, ...(rename ? { name } : {}), ...(admin !== undefined ? { admin } : {}) });
  return row;
}
