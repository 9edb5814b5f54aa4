// Progress events of one spawn, read by the SSE stream and the spawn-pending page.
import { sqliteTable, integer, text, index } from 'drizzle-orm/sqlite-core';
import { servers } from './servers.ts';

export const serverEvents = sqliteTable(
  'server_events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    serverId: integer('server_id').notNull().references(() => servers.id, { onDelete: 'cascade' }),
    spawnSeq: integer('spawn_seq').notNull(),
    progress: integer('progress').notNull(),
    message: text('message').notNull(),
    ready: integer('ready', { mode: 'boolean' }).notNull().default(false),
    failed: integer('failed', { mode: 'boolean' }).notNull().default(false),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('server_events_spawn').on(t.serverId, t.spawnSeq, t.id)],
);

export type ServerEventRow = typeof serverEvents.$inferSelect;
