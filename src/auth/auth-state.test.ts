// Auth state encryption: round trip, rotation, tampering, bad keys.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { AuthStateCrypt, authStateKeyProblems } from './auth-state.ts';

const hex = () => randomBytes(32).toString('hex');

describe('AuthStateCrypt', () => {
  test('round trip; the stored text holds no clear value', () => {
    const c = new AuthStateCrypt([hex()]);
    const stored = c.encrypt({ access_token: 'gho_secret', n: 1 });
    assert.ok(!stored.includes('gho_secret'));
    assert.deepEqual(c.decrypt(stored), { access_token: 'gho_secret', n: 1 });
  });
  test('rotation: a new key first still reads what the old key wrote; without the old key it is unreadable', () => {
    const [oldK, newK] = [hex(), hex()];
    const stored = new AuthStateCrypt([oldK]).encrypt({ a: 1 });
    assert.deepEqual(new AuthStateCrypt([`${newK};${oldK}`]).decrypt(stored), { a: 1 });
    const rewritten = new AuthStateCrypt([newK, oldK]).encrypt({ a: 2 });
    assert.deepEqual(new AuthStateCrypt([newK]).decrypt(rewritten), { a: 2 });
    assert.equal(new AuthStateCrypt([newK]).decrypt(stored), undefined);
  });
  test('tampered text or key id → undefined, never garbage', () => {
    const c = new AuthStateCrypt([hex()]);
    const stored = c.encrypt({ a: 1 });
    const parts = stored.split('.');
    const body = Buffer.from(parts[3]!, 'base64url');
    body[0]! ^= 1;
    assert.equal(c.decrypt([parts[0], parts[1], parts[2], body.toString('base64url')].join('.')), undefined);
    assert.equal(c.decrypt(stored.replace(/^v1\.[^.]+/, 'v1.AAAAAAAA')), undefined);
    assert.equal(c.decrypt('not it'), undefined);
    assert.equal(c.decrypt(null), undefined);
  });
  test('keys must be 32 bytes (hex or base64)', () => {
    assert.deepEqual(authStateKeyProblems([hex(), randomBytes(32).toString('base64')]), []);
    assert.match(authStateKeyProblems(['short'])[0]!, /auth\.auth_state\.keys\[0\]: not a 32-byte key .*openssl rand -hex 32/);
    assert.equal(new AuthStateCrypt([]).enabled, false);
  });
});
