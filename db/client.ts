// Opens the libSQL database, applies the committed migrations and returns a typed drizzle handle.
import { createClient, type Client } from '@libsql/client';
import { drizzle, type LibSQLDatabase } from 'drizzle-orm/libsql';
import { migrate } from 'drizzle-orm/libsql/migrator';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as schema from './schema/index.ts';
import { singleWriter } from './local-tx.ts';
import { BUSY_DEADLINE_MS, retryingRemote } from './busy.ts';
import { type ChangeTracker, trackChanges } from './changes.ts';

/** `$changes`: present for local databases (db/changes.ts), what lets reads be served from memory. */
export type Db = LibSQLDatabase<typeof schema> & { $client: Client; $changes?: ChangeTracker };

const MIGRATIONS = resolve(dirname(fileURLToPath(import.meta.url)), 'migrations');

export interface OpenDbOptions {
  /** false leaves the schema alone. */
  migrate?: boolean;
  /** The libSQL server's auth token (hub.db_auth_token); local files need none. */
  authToken?: string | undefined;
  /** How long a write waits out another process's write lock before failing with Unavailable (503). */
  busyDeadlineMs?: number;
}

/**
 * `url` is a libSQL URL: `file:./data/berth.db`, `:memory:` for tests, or a libSQL server's
 * `libsql://`, `https://`, `http://`, `ws://` or `wss://` URL. Several processes may share it.
 */
export async function openDb(url: string, opts: OpenDbOptions = {}): Promise<Db> {
  const isLocal = url.startsWith('file:') || url === ':memory:';
  if (url.startsWith('file:')) mkdirSync(dirname(url.slice('file:'.length)), { recursive: true });
  const raw = createClient({ url, authToken: opts.authToken });
  const busyDeadlineMs = opts.busyDeadlineMs ?? BUSY_DEADLINE_MS;
  let client: Client;
  let local: ReturnType<typeof singleWriter> | undefined;
  let changes: ChangeTracker | undefined;
  if (isLocal) {
    // Local files: transactions share the one connection, one at a time (see local-tx.ts).
    const tracked = trackChanges(raw);
    local = singleWriter(tracked.client, { busyDeadlineMs, configure: configureConnection, reconnectOnBusy: url !== ':memory:' });
    client = local.client;
    changes = tracked.tracker(client);
    // WAL lets the proxy and the token check read while a spawn writes. Switching a fresh file
    // to WAL takes the lock another starting process may hold, hence the retrying client.
    await client.execute('PRAGMA journal_mode = WAL');
  } else {
    client = retryingRemote(raw, busyDeadlineMs);
    await client.execute('PRAGMA foreign_keys = ON');
  }
  const db = drizzle(client, { schema, casing: 'snake_case' }) as Db;
  if (local) db.transaction = local.wrapTransaction(db.transaction.bind(db));
  if (changes) db.$changes = changes;
  if (opts.migrate !== false) await migrateShared(db);
  return db;
}

/** The pragmas of one local connection, applied again whenever local-tx.ts replaces it. */
async function configureConnection(raw: Client): Promise<void> {
  // The local driver is synchronous: a busy_timeout would block the whole event loop while
  // another process holds the write lock. 0 (libsql's default, unlike better-sqlite3's 5 s; set
  // so it stays so) answers SQLITE_BUSY at once, and busy.ts waits asynchronously instead.
  await raw.execute('PRAGMA busy_timeout = 0');
  await raw.execute('PRAGMA synchronous = NORMAL');
  await raw.execute('PRAGMA foreign_keys = ON');
}

/**
 * Several processes may start at once on a fresh database. Drizzle's migrator reads which
 * migrations are applied before it takes the write lock, so a process that lost the race sends a
 * stale batch that fails whole ("table already exists") and is rolled back — nothing half-applied.
 * So look first, and after a failure look again: the winner's commit is visible by then. No lock
 * file: the database's own write lock already orders the batches, and it reaches a remote server,
 * where a lock file would not.
 */
async function migrateShared(db: Db): Promise<void> {
  const latest = Math.max(0, ...readMigrationFiles({ migrationsFolder: MIGRATIONS }).map((m) => m.folderMillis));
  for (let attempt = 1; ; attempt++) {
    if (await appliedUpTo(db.$client) >= latest) return;
    try {
      await migrate(db, { migrationsFolder: MIGRATIONS });
      return;
    } catch (err) {
      if (attempt === 3) throw err;
    }
  }
}

/** The newest migration recorded in drizzle's own table (its `created_at` is the journal's `when`). */
async function appliedUpTo(client: Client): Promise<number> {
  const table = await client.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'");
  if (table.rows.length === 0) return -1;
  const last = await client.execute('SELECT max(created_at) AS at FROM __drizzle_migrations');
  return Number(last.rows[0]?.at ?? -1);
}

export { schema };
