// Claim mapping: the user name, the groups claim's shapes, and the email_verified rule.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { claimValue, groupsFrom, lookup, mapClaims, needsUserinfo, type ClaimRules } from './claims.ts';
import { LoginError } from '../types.ts';

const rules = (r: Partial<ClaimRules> = {}): ClaimRules => ({ label: 'Sign in with Example', username_claim: 'preferred_username', ...r });
const loginError = (kind: LoginError['kind'], message: RegExp) => (err: unknown) => err instanceof LoginError && err.kind === kind && message.test(err.message);

describe('claimValue', () => {
  test('an exact key first, even with dots in it (namespaced claims)', () => {
    assert.deepEqual(claimValue({ 'https://example.org/groups': ['a'] }, 'https://example.org/groups'), ['a']);
  });
  test('a dotted path into nested objects (Keycloak realm_access.roles)', () => {
    assert.deepEqual(claimValue({ realm_access: { roles: ['x', 'y'] } }, 'realm_access.roles'), ['x', 'y']);
    assert.equal(claimValue({ realm_access: ['roles'] }, 'realm_access.roles'), undefined, 'not into arrays');
    assert.equal(claimValue({ a: { b: 1 } }, 'a.c'), undefined);
  });
  test('nothing inherited: __proto__ and toString are not claims', () => {
    assert.equal(claimValue({}, 'toString'), undefined);
    assert.equal(claimValue({ a: {} }, 'a.constructor'), undefined);
  });
  test('the ID token wins; userinfo fills what it lacks (or has as null)', () => {
    assert.equal(lookup({ n: 'id' }, { n: 'ui' }, 'n'), 'id');
    assert.equal(lookup({}, { n: 'ui' }, 'n'), 'ui');
    assert.equal(lookup({ n: null }, { n: 'ui' }, 'n'), 'ui');
    assert.equal(lookup(undefined, undefined, 'n'), undefined);
  });
});

describe('groupsFrom', () => {
  test('a list of strings is the groups; other members are dropped', () => {
    assert.deepEqual(groupsFrom(['a', 'b'], true), ['a', 'b']);
    assert.deepEqual(groupsFrom(['a', 7, null, { x: 1 }, 'b'], true), ['a', 'b']);
  });
  test('one string is one group (not split)', () => {
    assert.deepEqual(groupsFrom('physics staff', true), ['physics staff']);
    assert.deepEqual(groupsFrom('', true), []);
  });
  test('missing or another type: no groups (memberships cleared)', () => {
    assert.deepEqual(groupsFrom(undefined, true), []);
    assert.deepEqual(groupsFrom({ a: 1 }, true), []);
    assert.deepEqual(groupsFrom(42, true), []);
  });
  test('no groups_claim configured: undefined, so memberships are left alone', () => {
    assert.equal(groupsFrom(['a'], false), undefined);
  });
});

describe('mapClaims', () => {
  test('name from preferred_username in the ID token, groups undefined without groups_claim', () => {
    assert.deepEqual(mapClaims({ sub: '1', preferred_username: 'Alice', groups: ['x'] }, undefined, rules()), { name: 'Alice' });
  });
  test('name and groups from userinfo when the ID token lacks them', () => {
    assert.deepEqual(mapClaims({ sub: '1' }, { sub: '1', preferred_username: 'alice', groups: 'g' }, rules({ groups_claim: 'groups' })), { name: 'alice', groups: ['g'] });
  });
  test('groups_claim configured but absent: no groups', () => {
    assert.deepEqual(mapClaims({ preferred_username: 'a' }, {}, rules({ groups_claim: 'groups' })), { name: 'a', groups: [] });
  });
  test('another username_claim; a numeric id is a name too; blanks are trimmed', () => {
    assert.deepEqual(mapClaims(undefined, { login: ' dave ' }, rules({ username_claim: 'login' })), { name: 'dave' });
    assert.deepEqual(mapClaims(undefined, { id: 1234 }, rules({ username_claim: 'id' })), { name: '1234' });
  });
  test('no usable name: a failure naming the claim in the log detail, not on the page', () => {
    for (const bag of [{}, { preferred_username: '' }, { preferred_username: ['a'] }, { preferred_username: 1.5 }]) {
      assert.throws(() => mapClaims({ sub: 's', ...bag }, undefined, rules()), (err: unknown) => {
        assert.ok(err instanceof LoginError && err.kind === 'failed');
        assert.doesNotMatch(err.message, /preferred_username/);
        assert.match(err.detail!, /username_claim "preferred_username".*claims present: .*sub/);
        return true;
      });
    }
  });
  test('username_claim email: email_verified must be true (default on)', () => {
    const r = rules({ username_claim: 'email' });
    assert.deepEqual(mapClaims({ email: 'a@x.org', email_verified: true }, undefined, r), { name: 'a@x.org' });
    assert.deepEqual(mapClaims({ email: 'a@x.org', email_verified: 'true' }, undefined, r), { name: 'a@x.org' }, 'the string some providers send');
    assert.deepEqual(mapClaims({ email: 'a@x.org' }, { email_verified: true }, r), { name: 'a@x.org' }, 'from userinfo');
    for (const v of [false, 'false', undefined, null, 1, 'yes']) {
      assert.throws(() => mapClaims({ email: 'a@x.org', email_verified: v }, undefined, r), loginError('refused', /e-mail address is not verified/), String(v));
    }
  });
  test('require_email_verified: on for any username_claim, or off even for email', () => {
    assert.throws(() => mapClaims({ preferred_username: 'a', email_verified: false }, undefined, rules({ require_email_verified: true })), loginError('refused', /not verified/));
    assert.deepEqual(mapClaims({ preferred_username: 'a' }, undefined, rules()), { name: 'a' }, 'off by default for other claims');
    assert.deepEqual(mapClaims({ email: 'a@x.org', email_verified: false }, undefined, rules({ username_claim: 'email', require_email_verified: false })), { name: 'a@x.org' });
  });
  test('needsUserinfo: only when the ID token lacks what the rules use', () => {
    assert.equal(needsUserinfo({ preferred_username: 'a' }, rules()), false);
    assert.equal(needsUserinfo({ sub: '1' }, rules()), true);
    assert.equal(needsUserinfo({ preferred_username: 'a' }, rules({ groups_claim: 'groups' })), true);
    assert.equal(needsUserinfo({ email: 'a@x' }, rules({ username_claim: 'email' })), true, 'email_verified is needed too');
    assert.equal(needsUserinfo(undefined, rules()), true);
  });
});
