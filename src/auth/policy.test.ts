// The access policy on claims: blocked first, admins, allow rules, fail closed, group cleaning.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema, type ConfigInput } from '../config/schema.ts';
import { decide, cleanGroups } from './policy.ts';

const auth = (a: NonNullable<ConfigInput['auth']>) => configSchema.parse({ auth: { providers: [{ kind: 'oidc', issuer: 'https://idp.example/', client_id: 'x' }], ...a } }).auth;
const entry = (a: ReturnType<typeof auth>) => a.providers[0]!;
const run = (a: NonNullable<ConfigInput['auth']>, claims: Parameters<typeof decide>[2]) => { const x = auth(a); return decide(x, entry(x), claims); };

describe('decide', () => {
  test('no rule matches → refused (fail closed), whatever the provider vouched', () => {
    assert.deepEqual(run({ allowed_users: ['bob'] }, { name: 'alice', groups: ['staff'] }), { ok: false, name: 'alice', reason: 'not allowed' });
  });
  test('allowed_users, allowed_groups, the provider\'s own rule, allow_all (auth-wide or per provider) each let in', () => {
    assert.equal(run({ allowed_users: ['Alice'] }, { name: 'ALICE' }).ok, true);
    assert.equal(run({ allowed_groups: ['staff'] }, { name: 'alice', groups: ['staff'] }).ok, true);
    assert.equal(run({ allowed_users: ['x'] }, { name: 'alice', allowed: true }).ok, true);
    assert.equal(run({ allow_all: true }, { name: 'alice' }).ok, true);
    const x = configSchema.parse({ auth: { providers: [{ kind: 'oidc', issuer: 'https://idp.example/', client_id: 'x', allow_all: true }] } }).auth;
    assert.equal(decide(x, x.providers[0]!, { name: 'alice' }).ok, true);
  });
  test('blocked_users outrank every allow rule, admin included', () => {
    assert.deepEqual(run({ allow_all: true, blocked_users: ['Mallory'], admin_users: ['mallory'] }, { name: 'mallory' }), { ok: false, name: 'mallory', reason: 'blocked' });
  });
  test('unset admin_users: a delegated provider\'s "admin" is nobody special (the bootstrap admin is the shared password\'s)', () => {
    assert.deepEqual(run({}, { name: 'admin' }), { ok: false, name: 'admin', reason: 'not allowed' });
    assert.equal((run({ allow_all: true }, { name: 'admin' }) as { admin: unknown }).admin, undefined);
  });
  test('admin_users and admin_groups make admins (and admins are allowed)', () => {
    assert.deepEqual(run({ admin_users: ['root'] }, { name: 'root' }), { ok: true, name: 'root', admin: true, groups: undefined });
    assert.deepEqual(run({ admin_groups: ['ops'] }, { name: 'ann', groups: ['ops'] }), { ok: true, name: 'ann', admin: true, groups: ['ops'] });
  });
  test('admin left alone without admin_groups; demoted with them when the provider reports groups', () => {
    assert.equal((run({ allow_all: true }, { name: 'ann', groups: [] }) as { admin: unknown }).admin, undefined);
    assert.equal((run({ allow_all: true, admin_groups: ['ops'] }, { name: 'ann', groups: ['x'] }) as { admin: unknown }).admin, false);
    assert.equal((run({ allow_all: true, admin_groups: ['ops'] }, { name: 'ann' }) as { admin: unknown }).admin, undefined, 'no groups reported: no say');
  });
  test('username_map and lower-casing in one place; unusable names refused', () => {
    assert.deepEqual(run({ allow_all: true, username_map: { 'a.smith@example.org': 'asmith' } }, { name: 'A.Smith@Example.org' }), { ok: true, name: 'asmith', admin: undefined, groups: undefined });
    for (const bad of ['', 'a/b', '..', 'a b']) assert.equal(run({ allow_all: true }, { name: bad }).ok, false, bad);
  });
  test('groups cleaned: trimmed, deduplicated, sorted, control characters and overlong names dropped', () => {
    assert.deepEqual(cleanGroups([' b', 'a', 'b', '', 'x\ny', 'z'.repeat(256), 3 as unknown as string]), ['a', 'b']);
  });
});
