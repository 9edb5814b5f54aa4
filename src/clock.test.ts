// JupyterHub's timestamps: rendered as Python's isoformat() + Z (spec 0).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isoZ, isoZMicros } from './clock.ts';

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
