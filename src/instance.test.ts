// Instance ids and when a holder counts as gone without waiting for its lease to lapse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { instanceIsGone, newInstanceId } from './instance.ts';

test('instanceIsGone: only a dead process of this host and PID namespace, or an earlier life of this PID', () => {
  const me = newInstanceId();
  const [host, ns] = me.split(':');
  assert.notEqual(newInstanceId(), me, 'the random part tells two lives apart');
  assert.equal(instanceIsGone(me, me), false, 'never itself');
  assert.equal(instanceIsGone(`${host}:${ns}:${process.pid}:000000`, me), true, 'same PID, another life (a restarted container)');
  assert.equal(instanceIsGone(`${host}:${ns}:${process.ppid}:000000`, me), false, 'a live process');
  assert.equal(instanceIsGone(`${host}:${ns}:4194304:000000`, me), true, 'no such PID (above pid_max)');
  assert.equal(instanceIsGone(`other-${hostname()}:${ns}:4194304:000000`, me), false, 'another host: only its lease lapsing tells');
  assert.equal(instanceIsGone(`${host}:1:4194304:000000`, me), ns === '1', 'another PID namespace (a container on this host)');
  assert.equal(instanceIsGone('test:3', me), false, 'ids without a namespace are never judged early');
});
