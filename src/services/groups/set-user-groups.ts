// Group membership writes, all through here so users.group_names (the copy the token check reads)
// never drifts from user_groups.
import { and, eq, inArray, notInArray } from 'drizzle-orm';
import { schema, type Db } from '../../../db/client.ts';

export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** Rewrites users.group_names from user_groups for these users. */
export async function refreshGroupNames(tx: Tx | Db, userIds: number[]): Promise<void> {
  if (!userIds.length) return;
  const ug = schema.userGroups;
  const rows = await tx.select({ userId: ug.userId, name: schema.groups.name }).from(ug)
    .innerJoin(schema.groups, eq(schema.groups.id, ug.groupId)).where(inArray(ug.userId, userIds));
  const byUser = new Map<number, string[]>(userIds.map((id) => [id, []]));
  for (const r of rows) byUser.get(r.userId)!.push(r.name);
  for (const [id, names] of byUser) await tx.update(schema.users).set({ groupNames: names.sort() }).where(eq(schema.users.id, id));
}

/** The users in these groups (before a group is deleted or renamed). */
export async function membersOf(tx: Tx | Db, groupIds: number[]): Promise<number[]> {
  if (!groupIds.length) return [];
  const rows = await tx.selectDistinct({ id: schema.userGroups.userId }).from(schema.userGroups).where(inArray(schema.userGroups.groupId, groupIds));
  return rows.map((r) => r.id);
}

/** Makes a user's membership exactly `names` (what the login provider reported), creating missing groups. */
export async function setUserGroups(tx: Tx | Db, userId: number, names: string[], now: number): Promise<void> {
  const g = schema.groups;
  const ug = schema.userGroups;
  if (names.length) await tx.insert(g).values(names.map((name) => ({ name, properties: {}, createdAt: now }))).onConflictDoNothing();
  const rows = names.length ? await tx.select({ id: g.id }).from(g).where(inArray(g.name, names)) : [];
  const ids = rows.map((r) => r.id);
  await tx.delete(ug).where(ids.length ? and(eq(ug.userId, userId), notInArray(ug.groupId, ids)) : eq(ug.userId, userId));
  if (ids.length) await tx.insert(ug).values(ids.map((groupId) => ({ userId, groupId }))).onConflictDoNothing();
  await refreshGroupNames(tx, [userId]);
}

/** Adds (or removes) these users to (from) a group. */
export async function changeMembers(tx: Tx | Db, groupId: number, userIds: number[], op: 'add' | 'remove'): Promise<void> {
  if (!userIds.length) return;
  const ug = schema.userGroups;
  if (op === 'add') await tx.insert(ug).values(userIds.map((userId) => ({ userId, groupId }))).onConflictDoNothing();
  else await tx.delete(ug).where(and(eq(ug.groupId, groupId), inArray(ug.userId, userIds)));
  await refreshGroupNames(tx, userIds);
}

