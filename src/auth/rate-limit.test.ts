// The login limiter: per-user and per-address windows, and a flood of other names never resets a user's count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginLimiter } from './rate-limit.ts';

test('a flood of fresh names and addresses evicts stale entries, never the user being guessed at', () => {
  let now = 1_000_000;
  const l = new LoginLimiter({ perUser: 3, perAddress: 1_000_000, windowMs: 300_000, now: () => now });
  for (let i = 0; i < 3; i++) l.fail('victim', '10.0.0.1');
  assert.ok(l.retryAfter('victim', '10.9.9.9') > 0);
  for (let i = 0; i < 60_000; i++) {
    l.fail(`junk${i}`, `192.0.${i >> 8}.${i & 255}`);
    if (i % 10_000 === 0) { now += 1; l.fail('victim', '10.0.0.1'); }
  }
  assert.ok(l.retryAfter('victim', '10.9.9.9') > 0, 'still limited after 60k other failures');
  now += 300_001;
  assert.equal(l.retryAfter('victim', '10.9.9.9'), 0, 'the window passes');
});
