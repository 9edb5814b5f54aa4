// JupyterHub's timestamps: rendered as Python's isoformat() + Z, parsed to microseconds (spec 0, B.5).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isoZ, isoZMicros, parseTimestampMicros } from './clock.ts';

const SECOND_US = Date.UTC(2026, 10, 22, 1, 49, 19) * 1000;

describe('isoZMicros / isoZ', () => {
  test('six fraction digits when the microseconds are non-zero, none otherwise', () => {
    assert.equal(isoZMicros(SECOND_US + 291_688), '2026-11-22T01:49:19.291688Z');
    assert.equal(isoZMicros(SECOND_US + 1), '2026-11-22T01:49:19.000001Z');
    assert.equal(isoZMicros(SECOND_US), '2026-11-22T01:49:19Z');
    assert.equal(isoZMicros(null), null);
    assert.equal(isoZMicros(undefined), null);
  });

  test('before the epoch the fraction still counts forward from the whole second', () => {
    assert.equal(isoZMicros(-1), '1969-12-31T23:59:59.999999Z');
  });

  test('milliseconds render in the same format', () => {
    assert.equal(isoZ(Date.UTC(2026, 10, 22, 1, 49, 19, 291)), '2026-11-22T01:49:19.291000Z');
    assert.equal(isoZ(Date.UTC(2026, 10, 22, 1, 49, 19)), '2026-11-22T01:49:19Z');
    assert.equal(isoZ(null), null);
  });
});

describe('parseTimestampMicros', () => {
  test('keeps microseconds exactly and round-trips through isoZMicros', () => {
    for (const s of ['2026-12-01T19:22:33.728251Z', '2026-11-22T01:49:19.000001Z', '2026-11-22T01:49:19Z']) {
      assert.equal(isoZMicros(parseTimestampMicros(s)), s);
    }
    assert.equal(parseTimestampMicros('2026-11-22T01:49:19.291688Z'), SECOND_US + 291_688);
  });

  test('fewer digits are a fraction of a second; beyond six they are truncated, not rounded', () => {
    assert.equal(parseTimestampMicros('2026-11-22T01:49:19.5Z'), SECOND_US + 500_000);
    assert.equal(parseTimestampMicros('2026-11-22T01:49:19.728Z'), SECOND_US + 728_000);
    assert.equal(parseTimestampMicros('2026-11-22T01:49:19.728251999Z'), SECOND_US + 728_251);
  });

  test('naive is UTC; offsets with or without a colon are honoured; a space separator and no seconds are accepted', () => {
    assert.equal(parseTimestampMicros('2026-11-22T01:49:19.291688'), SECOND_US + 291_688);
    assert.equal(parseTimestampMicros('2026-11-22T02:49:19.291688+01:00'), SECOND_US + 291_688);
    assert.equal(parseTimestampMicros('2026-11-22T00:19:19.291688-0130'), SECOND_US + 291_688);
    assert.equal(parseTimestampMicros('2026-11-22 01:49:19z'), SECOND_US);
    assert.equal(parseTimestampMicros('2026-11-22T01:49'), Date.UTC(2026, 10, 22, 1, 49) * 1000);
  });

  test('anything else is null', () => {
    for (const v of ['yesterday', '2026-11-22', '2026-13-01T00:00:00Z', '2026-11-22T01:49:19.1234567890Z', '', 42, null, undefined, {}, 'x'.repeat(65)]) {
      assert.equal(parseTimestampMicros(v), null, JSON.stringify(v));
    }
  });
});
