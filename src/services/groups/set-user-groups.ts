// Makes a user's group membership exactly `names` (what the login provider reported), creating
// groups that do not exist yet. Runs inside the login's transaction.
import { and, eq, inArray, notInArray } from 'drizzle-orm';
import { schema, type Db } from '../../../db/client.ts';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export async function setUserGroups(tx: Tx | Db, userId: number, names: string[], now: number): Promise<void> {
  const g = schema.groups;
  const ug = schema.userGroups;
  if (names.length) await tx.insert(g).values(names.map((name) => ({ name, properties: {}, createdAt: now }))).onConflictDoNothing();
  const rows = names.length ? await tx.select({ id: g.id }).from(g).where(inArray(g.name, names)) : [];
  const ids = rows.map((r) => r.id);
  await tx.delete(ug).where(ids.length ? and(eq(ug.userId, userId), notInArray(ug.groupId, ids)) : eq(ug.userId, userId));
  if (ids.length) await tx.insert(ug).values(ids.map((groupId) => ({ userId, groupId }))).onConflictDoNothing();
}
