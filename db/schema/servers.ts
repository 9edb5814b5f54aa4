// One row per (user, server name); '' is the default server. `state` follows the machine in design §5
// and is only ever changed by compare-and-set (see src/state/server.ts).
import { sqliteTable, integer, text, uniqueIndex, index } from 'drizzle-orm/sqlite-core';
import { users } from './users.ts';
// Type only: the states and their subsets live in src/state/server.ts (no runtime import cycle).
import type { ServerState } from '../../src/state/server.ts';

export type { ServerState };

export interface ServerFailure {
  reason: string;
  message: string;
  logTail?: string;
}

export const servers = sqliteTable(
  'servers',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    userId: integer('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull().default(''),
    state: text('state').$type<ServerState>().notNull().default('stopped'),
    /** Which backend owns `backendRef` (docker, swarm, system-user, fake). */
    backend: text('backend'),
    /** Opaque, backend-defined handle persisted so any process can poll/stop it (JupyterHub's spawner state). */
    backendRef: text('backend_ref', { mode: 'json' }).$type<Record<string, unknown>>(),
    /** Where the proxy sends traffic, e.g. http://127.0.0.1:49153 — no path. */
    url: text('url'),
    image: text('image'),
    userOptions: text('user_options', { mode: 'json' }).$type<Record<string, unknown>>(),
    configHash: text('config_hash'),
    /** Increments at every spawn request; progress events belong to one spawn. */
    spawnSeq: integer('spawn_seq').notNull().default(0),
    requestedAt: integer('requested_at'),
    startedAt: integer('started_at'),
    readyAt: integer('ready_at'),
    stoppedAt: integer('stopped_at'),
    /** Microseconds since the epoch, UTC (the other timestamps are milliseconds). */
    lastActivityUs: integer('last_activity_us'),
    failure: text('failure', { mode: 'json' }).$type<ServerFailure>(),
    /**
     * The process (instance id) driving what is under way: the worker running a spawn, or the api
     * process stopping a server; null when nothing is under way.
     */
    owner: text('owner'),
    /** When the row entered its current state (set by every transition). */
    stateSince: integer('state_since'),
  },
  (t) => [uniqueIndex('servers_user_name').on(t.userId, t.name), index('servers_state').on(t.state)],
);

export type ServerRow = typeof servers.$inferSelect;
