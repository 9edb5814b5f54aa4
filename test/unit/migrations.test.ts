// db/migrations: a database made by an earlier release keeps its data through the later
// migrations (0001: users' and servers' last_activity milliseconds become last_activity_us).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate } from 'drizzle-orm/libsql/migrator';
import { openDb, schema } from '../../db/client.ts';

const MIGRATIONS = fileURLToPath(new URL('../../db/migrations', import.meta.url));

/** A copy of the migrations folder holding only the first `n` migrations. */
function firstMigrations(dir: string, n: number): string {
  const journal = JSON.parse(readFileSync(join(MIGRATIONS, 'meta/_journal.json'), 'utf8')) as { entries: { tag: string }[] };
  const out = join(dir, 'migrations');
  mkdirSync(join(out, 'meta'), { recursive: true });
  journal.entries = journal.entries.slice(0, n);
  writeFileSync(join(out, 'meta/_journal.json'), JSON.stringify(journal));
  for (const e of journal.entries) copyFileSync(join(MIGRATIONS, `${e.tag}.sql`), join(out, `${e.tag}.sql`));
  return out;
}

describe('migrations', () => {
  test('0001: last_activity in milliseconds becomes last_activity_us in microseconds; nulls stay null', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-migrate-'));
    try {
      const url = `file:${join(dir, 'berth.db')}`;
      const ms = Date.UTC(2026, 10, 22, 1, 49, 19, 291);
      const old = await openDb(url, { migrate: false });
      await migrate(old, { migrationsFolder: firstMigrations(dir, 1) });
      await old.$client.execute({ sql: 'INSERT INTO users (name, created_at, last_activity) VALUES (?, ?, ?), (?, ?, NULL)', args: ['alice', ms, ms, 'bob', ms] });
      await old.$client.execute({ sql: 'INSERT INTO servers (user_id, name, last_activity) VALUES (1, ?, ?), (1, ?, NULL)', args: ['', ms + 1, 'srv1'] });
      old.$client.close();

      const db = await openDb(url);
      const users = await db.select().from(schema.users).orderBy(schema.users.id);
      assert.deepEqual(users.map((u) => [u.name, u.createdAt, u.lastActivityUs]), [['alice', ms, ms * 1000], ['bob', ms, null]]);
      const servers = await db.select().from(schema.servers).orderBy(schema.servers.id);
      assert.deepEqual(servers.map((s) => [s.name, s.lastActivityUs]), [['', (ms + 1) * 1000], ['srv1', null]]);
      db.$client.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test('0004: users who logged in before providers existed belong to the shared password; others to whoever logs them in first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-migrate-'));
    try {
      const url = `file:${join(dir, 'berth.db')}`;
      const old = await openDb(url, { migrate: false });
      await migrate(old, { migrationsFolder: firstMigrations(dir, 4) });
      await old.$client.execute({ sql: 'INSERT INTO users (name, admin, created_at) VALUES (?, 1, 1), (?, 0, 1)', args: ['admin', 'precreated'] });
      await old.$client.execute({ sql: "INSERT INTO audit (at, actor, action, target) VALUES (1, 'admin', 'login', 'admin'), (2, 'admin', 'login', 'admin')", args: [] });
      old.$client.close();
      const db = await openDb(url);
      const rows = await db.select().from(schema.userAuth);
      assert.deepEqual(rows.map((r) => [r.userId, r.provider]), [[1, 'shared-password']]);
      const users = await db.select().from(schema.users).orderBy(schema.users.id);
      assert.deepEqual(users.map((u) => u.groupNames), [[], []]);
      db.$client.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
