// Several handles and processes on one database file: a write waiting for another's lock waits
// without blocking the event loop and succeeds once the lock is free, gives up after its deadline
// with Unavailable (503), and three processes starting at once on a fresh file migrate it once and
// write 600 times without an error or a lost update.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eq } from 'drizzle-orm';
import { openDb, schema } from '../../db/client.ts';
import { ServiceError } from '../../src/errors.ts';

const WRITER = fileURLToPath(new URL('../helpers/db-writer.ts', import.meta.url));
const MIGRATIONS = (JSON.parse(readFileSync(new URL('../../db/migrations/meta/_journal.json', import.meta.url), 'utf8')) as { entries: unknown[] }).entries.length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const user = (name: string) => ({ name, createdAt: 1 });

function tempDb(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-busy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return `file:${join(dir, 'berth.db')}`;
}

/** Holds `db`'s write lock (a transaction with a row written) until the returned release() is called. */
async function holdWriteLock(db: Awaited<ReturnType<typeof openDb>>, onCommit = () => {}) {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let locked!: () => void;
  const isLocked = new Promise<void>((r) => (locked = r));
  const done = db.transaction(async (tx) => {
    await tx.insert(schema.users).values(user('holder'));
    locked();
    await released;
    onCommit();
  });
  await isLocked;
  return { release, done };
}

/** A plain statement's error comes wrapped by drizzle (DrizzleQueryError, cause = ours); a transaction's BEGIN does not. */
const serviceError = (err: unknown) => (err instanceof ServiceError ? err : (err as Error)?.cause instanceof ServiceError ? ((err as Error).cause as ServiceError) : undefined);

/** Runs db-writer.ts children that all open `url` at one moment; resolves with their summaries, rejects on any failure. */
function runWriters(url: string, count: number, ops: number): Promise<{ tag: string; increments: number; audited: number }[]> {
  const startAt = Date.now() + 1500; // after every child has loaded tsx
  return Promise.all(Array.from({ length: count }, (_, i) => new Promise<{ tag: string; increments: number; audited: number }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, url, String(startAt), String(ops), `p${i}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(out.trim()));
      else reject(new Error(`writer p${i} exited ${code ?? signal}: ${err.trim()}`));
    });
  })));
}

describe('several writers on one database', () => {
  test('a write waiting for another handle’s lock lets the event loop run, and succeeds once the lock is free', { timeout: 30_000 }, async (t) => {
    const url = tempDb(t);
    const a = await openDb(url);
    const b = await openDb(url);
    t.after(() => { a.$client.close(); b.$client.close(); });
    for (const db of [a, b]) assert.deepEqual((await db.$client.execute('PRAGMA busy_timeout')).rows.map((r) => r[0]), [0]);

    const events: string[] = [];
    const lock = await holdWriteLock(a, () => events.push('A commits'));
    const plain = b.insert(schema.users).values(user('b-plain')).then(() => events.push('B plain insert'));
    const inTx = b.transaction(async (tx) => {
      const rows = await tx.select().from(schema.users);
      await tx.insert(schema.users).values(user(`b-tx saw ${rows.length}`));
    }).then(() => events.push('B transaction'));
    await sleep(20); // B's writes have met the lock and are backing off
    // B's waiting transaction does not hold B's gate: a read on B carries on (and sees nothing of A's yet)
    events.push(`B reads ${(await b.select().from(schema.users)).length} users`);
    // A commits only once the event loop has turned 50 more times while B's writes wait. A B that
    // waited synchronously (a busy_timeout) would stop the loop for that long on every try, and
    // this test would run into its timeout instead.
    let turns = 0;
    const spin = () => { if (++turns === 50) lock.release(); else setImmediate(spin); };
    setImmediate(spin);
    await Promise.all([lock.done, plain, inTx]);

    assert.deepEqual(events.slice(0, 2), ['B reads 0 users', 'A commits']);
    assert.deepEqual(events.slice(2).sort(), ['B plain insert', 'B transaction']);
    const names = (await b.select().from(schema.users)).map((u) => u.name).sort();
    assert.ok(names.includes('holder') && names.includes('b-plain'), names.join());
    assert.ok(names.some((n) => /^b-tx saw [12]$/.test(n)), `B's transaction ran after A's commit: ${names.join()}`);
  });

  test('past its deadline a waiting write fails with Unavailable, never SQLITE_BUSY; the handle works after', { timeout: 30_000 }, async (t) => {
    const url = tempDb(t);
    const a = await openDb(url);
    const b = await openDb(url, { busyDeadlineMs: 150 });
    t.after(() => { a.$client.close(); b.$client.close(); });
    const lock = await holdWriteLock(a);
    const [plain, inTx] = await Promise.allSettled([
      b.insert(schema.users).values(user('late')),
      b.transaction(async (tx) => { await tx.insert(schema.users).values(user('late-tx')); }),
    ]);
    for (const r of [plain, inTx]) {
      assert.equal(r.status, 'rejected');
      const err = serviceError((r as PromiseRejectedResult).reason);
      assert.ok(err, `not a ServiceError: ${(r as PromiseRejectedResult).reason}`);
      assert.equal(err.code, 'Unavailable');
      assert.equal(err.status, 503);
      assert.equal(err.message, 'The database is busy: another Berth process has held its write lock for over 0.15 s; try again');
      assert.equal((err.cause as { code?: string }).code, 'SQLITE_BUSY');
    }
    assert.ok(inTx.status === 'rejected' && inTx.reason instanceof ServiceError, 'a transaction rejects with the ServiceError itself');
    lock.release();
    await lock.done;
    await b.transaction(async (tx) => { await tx.insert(schema.users).values(user('after')); });
    assert.deepEqual((await b.select().from(schema.users)).map((u) => u.name).sort(), ['after', 'holder']);
  });

  test('three handles opening one fresh file at once in one process all succeed (their migration steps interleave)', { timeout: 30_000 }, async (t) => {
    const url = tempDb(t);
    // drizzle's migrator alone fails two of these with "table `users` already exists"
    const dbs = await Promise.all([openDb(url), openDb(url), openDb(url)]);
    t.after(() => { for (const db of dbs) db.$client.close(); });
    assert.equal((await dbs[0]!.$client.execute('SELECT hash FROM __drizzle_migrations')).rows.length, MIGRATIONS);
    for (const db of dbs) assert.deepEqual(await db.select().from(schema.users), []);
  });

  test('three processes opening one fresh file at once all succeed, and the migrations are applied once', { timeout: 90_000 }, async (t) => {
    const url = tempDb(t);
    const results = await runWriters(url, 3, 0);
    assert.equal(results.length, 3);
    const db = await openDb(url, { migrate: false });
    t.after(() => db.$client.close());
    const applied = await db.$client.execute('SELECT hash FROM __drizzle_migrations');
    assert.equal(applied.rows.length, MIGRATIONS, 'one row per migration in the journal');
    assert.deepEqual(await db.select().from(schema.users), []);
  });

  test('three processes making 200 writes each on one file: no error, no lost update', { timeout: 90_000 }, async (t) => {
    const url = tempDb(t);
    const results = await runWriters(url, 3, 200);
    assert.deepEqual(results.map((r) => [r.increments, r.audited]), [[100, 100], [100, 100], [100, 100]]);
    const db = await openDb(url);
    t.after(() => db.$client.close());
    const [shared] = await db.select().from(schema.counters).where(eq(schema.counters.name, 'shared'));
    assert.equal(shared?.value, 300);
    assert.equal((await db.select().from(schema.audit)).length, 300);
  });
});
