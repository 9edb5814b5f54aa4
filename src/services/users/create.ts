// Creates hub users (POST /users and POST /users/:name, spec E.6): names already taken are skipped
// by the bulk form and refused by the single form; nothing is written when the request is refused.
import { inArray } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import type { UserRow } from '../../../db/schema/index.ts';
import { conflict, invalid } from '../../errors.ts';
import { normalizeUserName, validUserName } from '../../names.ts';

export interface CreateUsersInput {
  names: string[];
  admin?: boolean | undefined;
  /** Single-user form: an existing name is a 409 instead of being skipped. */
  single?: boolean;
  /** Who asks, for the audit log (e.g. "user:admin", "service:culler"). */
  actor: string;
}

/** Returns the rows created, in request order. */
export async function createUsers({ ctx, input }: { ctx: AppContext; input: CreateUsersInput }): Promise<UserRow[]> {
  const bad = input.names.filter((n) => !validUserName(n));
  if (bad.length === 1) throw invalid(`Invalid username: ${bad[0]}`);
  if (bad.length > 1) throw invalid(`Invalid usernames: ${bad.join(', ')}`);
  const names = [...new Set(input.names.map(normalizeUserName))];
  const now = ctx.clock.now();
  const created = await ctx.db.transaction(async (tx) => {
    const taken = new Set((await tx.select({ name: schema.users.name }).from(schema.users).where(inArray(schema.users.name, names))).map((r) => r.name));
    if (input.single && taken.size) throw conflict(`User ${names[0]} already exists`);
    const fresh = names.filter((n) => !taken.has(n));
    if (fresh.length === 0) throw conflict(`All ${input.names.length} users already exist`);
    const rows = await tx.insert(schema.users).values(fresh.map((name) => ({ name, admin: input.admin ?? false, createdAt: now }))).returning();
    await tx.insert(schema.audit).values(rows.map((r) => ({ at: now, actor: input.actor, action: 'user.create', target: r.name, detail: { admin: r.admin } })));
    return rows;
  });
  const order = new Map(names.map((n, i) => [n, i]));
  created.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
  ctx.log.info('users created', { by: input.actor, users: created.map((u) => u.name), admin: input.admin ?? false });
  return created;
}
