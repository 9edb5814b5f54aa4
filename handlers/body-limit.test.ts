// Oversized bodies get a clear 413 before anything is parsed or written (design §9: bad input never
// costs a 500 or a partial write).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp } from '../test/helpers/app.ts';

test('a body over 1 MiB on the hub API → 413 JSON, and nothing is created', async () => {
  const t = await buildTestApp({ runner: false });
  const admin = await t.createUser('root', { admin: true });
  const token = await t.createToken(admin.id);
  const big = JSON.stringify({ usernames: ['bigbody'], pad: 'a'.repeat(2 * 1024 * 1024) });
  const res = await t.request('/hub/api/users', { method: 'POST', token, body: big, headers: { 'content-type': 'application/json' } });
  assert.equal(res.status, 413);
  assert.deepEqual(await res.json(), { status: 413, message: 'Request body too large (the limit is 1024 KiB)' });
  assert.equal((await t.request('/hub/api/users/bigbody', { token })).status, 404);
});

test('a body just under the limit is read normally (here: rejected for its unknown key, 400)', async () => {
  const t = await buildTestApp({ runner: false });
  const admin = await t.createUser('root', { admin: true });
  const token = await t.createToken(admin.id);
  const body = JSON.stringify({ usernames: ['x'], pad: 'a'.repeat(1000 * 1024) });
  const res = await t.request('/hub/api/users', { method: 'POST', token, body, headers: { 'content-type': 'application/json' } });
  assert.equal(res.status, 400);
});

test('an oversized login form → 413 page, not a crash', async () => {
  const t = await buildTestApp({ runner: false });
  const body = new URLSearchParams({ username: 'a', password: 'b'.repeat(2 * 1024 * 1024) });
  const res = await t.request('/hub/login', { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(res.status, 413);
  assert.match(await res.text(), /Request body too large/);
});
