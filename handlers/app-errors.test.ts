// One error mapper: a ServiceError a database statement threw arrives wrapped by drizzle, and still
// answers with its own status — a database held by another process is a 503, never a 500.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp } from '../test/helpers/app.ts';
import { openDb } from '../db/client.ts';

test('a write that cannot get the database lock in time: 503 {"status", "message"}', async () => {
  const t = await buildTestApp({ runner: false, busyDeadlineMs: 200 });
  const user = await t.createUser('alice');
  const token = await t.createToken(user.id);
  const other = await openDb(`file:${t.dbFile}`, { migrate: false });
  await other.$client.execute('BEGIN IMMEDIATE'); // another process holds the write lock
  try {
    const res = await t.request('/hub/api/users/alice/activity', { method: 'POST', token, body: JSON.stringify({ last_activity: '2026-12-01T19:22:33.728251Z' }) });
    assert.equal(res.status, 503);
    const body = (await res.json()) as { status: number; message: string };
    assert.equal(body.status, 503);
    assert.match(body.message, /^The database is busy/);
  } finally {
    await other.$client.execute('ROLLBACK');
    other.$client.close();
  }
  const again = await t.request('/hub/api/users/alice/activity', { method: 'POST', token, body: JSON.stringify({ last_activity: '2026-12-01T19:22:33.728251Z' }) });
  assert.equal(again.status, 200, 'and once the lock is free, the same write goes through');
});
