// Opens the libSQL database, applies the committed migrations and returns a typed drizzle handle.
import { createClient, type Client } from '@libsql/client';
import { drizzle, type LibSQLDatabase } from 'drizzle-orm/libsql';
import { migrate } from 'drizzle-orm/libsql/migrator';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as schema from './schema/index.ts';
import { singleWriter } from './local-tx.ts';

export type Db = LibSQLDatabase<typeof schema> & { $client: Client };

const MIGRATIONS = resolve(dirname(fileURLToPath(import.meta.url)), 'migrations');

/** `url` is a libSQL URL: `file:./data/berth.db`, `:memory:` for tests, or a remote libsql:// URL. */
export async function openDb(url: string, opts: { migrate?: boolean } = {}): Promise<Db> {
  if (url.startsWith('file:')) mkdirSync(dirname(url.slice('file:'.length)), { recursive: true });
  const client = createClient({ url });
  if (url.startsWith('file:') || url === ':memory:') {
    // WAL lets the proxy and the token check read while a spawn writes; busy_timeout rides out
    // short write contention between roles sharing the file.
    await client.execute('PRAGMA journal_mode = WAL');
    await client.execute('PRAGMA busy_timeout = 5000');
    await client.execute('PRAGMA synchronous = NORMAL');
  }
  await client.execute('PRAGMA foreign_keys = ON');
  // Local files: transactions share the one connection, one at a time (see local-tx.ts).
  const local = url.startsWith('file:') || url === ':memory:' ? singleWriter(client) : undefined;
  const db = drizzle(local?.client ?? client, { schema, casing: 'snake_case' }) as Db;
  if (local) db.transaction = local.wrapTransaction(db.transaction.bind(db));
  if (opts.migrate !== false) await migrate(db, { migrationsFolder: MIGRATIONS });
  return db;
}

export { schema };
