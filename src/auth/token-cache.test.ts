// The token check's memory against a real local database: served from memory while nothing changed,
// read again after any write of this process, after another connection's commit (another Berth
// process), and never past a token's expiry; no tracker, no memory.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb, schema, type Db } from '../../db/client.ts';
import { TokenCache } from './token-cache.ts';

const dir = mkdtempSync(join(tmpdir(), 'berth-token-cache-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function counting(db: Db, expiresAt: number | null = null) {
  const cache = new TokenCache<{ token: { expiresAt: number | null }; n: number }>(db);
  const peek = (token: string, now = 1000) => cache.peek(token, now);
  let reads = 0;
  const check = (token: string, now = 1000) => cache.get(token, now, async () => {
    reads++;
    await db.select().from(schema.users); // a real read on the connection, like the token query
    return token.startsWith('good') ? { token: { expiresAt }, n: reads } : undefined;
  });
  return { check, peek, reads: () => reads };
}

test('a found token is read once; an unknown one every time', async () => {
  const db = await openDb(`file:${join(dir, 'a.db')}`);
  const { check, reads } = counting(db);
  assert.equal((await check('good-1'))?.n, 1);
  assert.equal((await check('good-1'))?.n, 1);
  assert.equal(reads(), 1);
  assert.equal(await check('bad-1'), undefined);
  assert.equal(await check('bad-1'), undefined);
  assert.equal(reads(), 3);
  db.$client.close();
});

test('any write of this process, inside a transaction too, makes the next check read', async () => {
  const db = await openDb(`file:${join(dir, 'b.db')}`);
  const { check, reads } = counting(db);
  await check('good-1');
  await db.insert(schema.users).values({ name: 'someone', createdAt: 1 });
  await check('good-1');
  assert.equal(reads(), 2);
  await db.transaction(async (tx) => { await tx.update(schema.users).set({ admin: true }); });
  await check('good-1');
  assert.equal(reads(), 3);
  await check('good-1');
  assert.equal(reads(), 3, 'and is served from memory again after');
  db.$client.close();
});

test('a commit on another connection to the file (another Berth process) makes the next check read', async () => {
  const file = `file:${join(dir, 'c.db')}`;
  const db = await openDb(file);
  const other = await openDb(file, { migrate: false });
  const { check, reads } = counting(db);
  await check('good-1');
  await check('good-1');
  assert.equal(reads(), 1);
  await other.insert(schema.users).values({ name: 'elsewhere', createdAt: 1 });
  // another process's commit reaches this one as I/O, in a later event-loop turn; data_version is
  // read once per turn, so within this one the check may still be served from memory
  await new Promise((r) => setImmediate(r));
  await check('good-1');
  assert.equal(reads(), 2);
  db.$client.close();
  other.$client.close();
});

test('an expired token is refused from memory without any write', async () => {
  const db = await openDb(`file:${join(dir, 'd.db')}`);
  const { check } = counting(db, 5000);
  assert.ok(await check('good-1', 4000));
  assert.ok(await check('good-1', 5000));
  assert.equal(await check('good-1', 5001), undefined);
  db.$client.close();
});

test('without a change tracker (a remote libSQL server) every check reads', async () => {
  const db = await openDb(`file:${join(dir, 'e.db')}`);
  delete db.$changes;
  const { check, reads } = counting(db);
  await check('good-1');
  await check('good-1');
  assert.equal(reads(), 2);
  db.$client.close();
});

test('concurrent checks of one token share one lookup; peek answers only what this turn knows is current', async () => {
  const db = await openDb(`file:${join(dir, 'f.db')}`);
  const { check, peek, reads } = counting(db);
  assert.equal(peek('good-1'), undefined, 'nothing kept yet');
  const all = await Promise.all(Array.from({ length: 20 }, () => check('good-1')));
  assert.ok(all.every((v) => v?.n === 1));
  assert.equal(reads(), 1);
  assert.equal(peek('good-1')?.n, 1, 'kept, and data_version was read in this turn');
  assert.equal(peek('good-1', 1000), peek('good-1'));
  await db.insert(schema.users).values({ name: 'writer', createdAt: 1 });
  assert.equal(peek('good-1'), undefined, 'a write of this process: peek sends the caller to get()');
  await new Promise((r) => setImmediate(r));
  assert.equal(peek('good-1'), undefined, 'a new turn: data_version not read yet');
  assert.equal((await check('good-1'))?.n, 2);
  assert.equal(peek('bad-1'), undefined);
  db.$client.close();
});

test('an expired token is not peeked either', async () => {
  const db = await openDb(`file:${join(dir, 'g.db')}`);
  const { check, peek } = counting(db, 5000);
  assert.ok(await check('good-1', 4000));
  assert.ok(peek('good-1', 5000));
  assert.equal(peek('good-1', 5001), undefined);
  db.$client.close();
});
