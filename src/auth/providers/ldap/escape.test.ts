// DN (RFC 4514) and filter (RFC 4515) escaping of what a login form sends.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { FilterParser } from 'ldapts';
import { escapeDnValue, escapeFilterValue, fillTemplate } from './escape.ts';

describe('escapeDnValue', () => {
  test('plain names are unchanged', () => {
    assert.equal(escapeDnValue('alice.smith-2_x'), 'alice.smith-2_x');
    assert.equal(escapeDnValue('Jörg'), 'Jörg');
  });
  test('DN syntax characters get a backslash, so a name cannot add an RDN', () => {
    assert.equal(escapeDnValue('a,dc=evil'), 'a\\,dc\\=evil');
    assert.equal(escapeDnValue('a+cn=x'), 'a\\+cn\\=x');
    assert.equal(escapeDnValue('"<>;\\'), '\\"\\<\\>\\;\\\\');
  });
  test('leading space or #, trailing space, and control characters', () => {
    assert.equal(escapeDnValue(' a'), '\\ a');
    assert.equal(escapeDnValue('#a#'), '\\#a#');
    assert.equal(escapeDnValue('a '), 'a\\ ');
    assert.equal(escapeDnValue('a\\ '), 'a\\\\\\ ');
    assert.equal(escapeDnValue('a\x00b\nc'), 'a\\00b\\0ac');
  });
});

describe('escapeFilterValue', () => {
  test('filter syntax characters become hex escapes', () => {
    assert.equal(escapeFilterValue('*'), '\\2a');
    assert.equal(escapeFilterValue(')(uid=*'), '\\29\\28uid=\\2a');
    assert.equal(escapeFilterValue('a\\b\x00'), 'a\\5cb\\00');
  });
  test('an escaped value stays one equality assertion when parsed', () => {
    for (const hostile of ['*', ')(uid=*', '*)(|(objectClass=*', 'a\\29']) {
      const f = FilterParser.parseString(`(uid=${escapeFilterValue(hostile)})`);
      assert.equal(f.constructor.name, 'EqualityFilter', hostile);
      assert.equal((f as unknown as { value: string }).value, hostile);
    }
  });
});

describe('fillTemplate', () => {
  test('every placeholder is replaced, and $ patterns in values are taken literally', () => {
    assert.equal(fillTemplate('(|(member={userdn})(memberUid={username})(x={username}))', { userdn: 'uid=a', username: '$&' }), '(|(member=uid=a)(memberUid=$&)(x=$&))');
  });
});
