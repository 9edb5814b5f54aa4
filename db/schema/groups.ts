// JupyterHub groups: filled from the login provider's groups at each login (orgs/teams, GitLab
// groups, the OIDC groups claim, LDAP groups, CAS attributes) and managed through /hub/api/groups.
import { sqliteTable, integer, text, primaryKey, index } from 'drizzle-orm/sqlite-core';
import { users } from './users.ts';

export const groups = sqliteTable('groups', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull().unique(),
  /** JupyterHub's group properties: free-form JSON an admin sets (e.g. for profiles per group). */
  properties: text('properties', { mode: 'json' }).$type<Record<string, unknown>>().notNull().default({}),
  createdAt: integer('created_at').notNull(),
});

export const userGroups = sqliteTable(
  'user_groups',
  {
    userId: integer('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    groupId: integer('group_id').notNull().references(() => groups.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.userId, t.groupId] }), index('user_groups_group').on(t.groupId)],
);

export type GroupRow = typeof groups.$inferSelect;
