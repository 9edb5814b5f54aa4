// db/local-tx.ts: one writer per process on a local libSQL file — concurrent transactions and
// plain writes never hit SQLITE_BUSY, a rollback undoes only its own writes, `:memory:` survives a
// transaction, and the wrapped client still closes.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, schema } from '../../db/client.ts';

const names = async (db: Awaited<ReturnType<typeof openDb>>) => (await db.select().from(schema.users)).map((u) => u.name).sort();
const pause = () => new Promise((r) => setTimeout(r, 20));

describe('single writer for local libSQL', () => {
  test('concurrent transactions and plain writes interleave without SQLITE_BUSY; a rollback undoes only its own writes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-localtx-'));
    try {
      const db = await openDb(`file:${join(dir, 'x.db')}`);
      const tx = (name: string, fail = false) => db.transaction(async (t) => {
        await t.insert(schema.users).values({ name, createdAt: 1 });
        await pause(); // yield while holding the transaction
        await db.select().from(schema.users); // a stray db. query inside joins the transaction instead of deadlocking
        if (fail) throw new Error('boom');
      });
      const results = await Promise.allSettled([
        tx('a'), db.insert(schema.users).values({ name: 'plain1', createdAt: 1 }), tx('b', true), tx('c'),
        db.insert(schema.users).values({ name: 'plain2', createdAt: 1 }),
      ]);
      assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      assert.deepEqual(await names(db), ['a', 'c', 'plain1', 'plain2']);
      // synchronous = NORMAL (1) is openDb's, not SQLite's default FULL (2): still the configured connection
      assert.deepEqual((await db.$client.execute('PRAGMA synchronous')).rows.map((r) => r[0]), [1], 'still the configured connection');
      assert.equal(db.$client.closed, false);
      db.$client.close();
      assert.equal(db.$client.closed, true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(':memory: keeps its data after a transaction', async () => {
    const db = await openDb(':memory:');
    await db.transaction(async (t) => { await t.insert(schema.users).values({ name: 'a', createdAt: 1 }); });
    assert.deepEqual(await names(db), ['a']);
  });

  test('a nested db.transaction() inside a transaction is refused instead of deadlocking', async () => {
    const db = await openDb(':memory:');
    await assert.rejects(db.transaction(async () => { await db.transaction(async () => {}); }), /nested db\.transaction/);
    await db.transaction(async (t) => { await t.insert(schema.users).values({ name: 'after', createdAt: 1 }); });
    assert.deepEqual(await names(db), ['after']);
  });
});
