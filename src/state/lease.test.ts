// The worker lease: one holder at a time, renewals keep it, a lapsed or dead holder's lease is taken.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { buildTestApp } from '../../test/helpers/app.ts';
import { newInstanceId } from '../instance.ts';
import { claimLease, currentLease, releaseLease, WORKER_LEASE } from './lease.ts';

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const claim = (holder: string, now: number, wakeUrl?: string) => ({ name: WORKER_LEASE, holder, now, ttlMs: 9000, wakeUrl });

describe('claimLease', () => {
  test('free → taken; held by a live other → refused; renewed by its holder, keeping acquiredAt', async () => {
    const { db } = await buildTestApp({ runner: false });
    const a = await claimLease(db, claim('host-a:1:2:aa', T0, 'http://127.0.0.1:1'));
    assert.equal(a.held, true);
    assert.equal(a.takenFrom, undefined);
    const b = await claimLease(db, claim('host-b:1:2:bb', T0 + 1000));
    assert.equal(b.held, false);
    assert.equal(b.lease.holder, 'host-a:1:2:aa');
    const renewed = await claimLease(db, claim('host-a:1:2:aa', T0 + 2000, 'http://127.0.0.1:1'));
    assert.equal(renewed.held, true);
    assert.equal(renewed.lease.acquiredAt, T0);
    assert.equal(renewed.lease.expiresAt, T0 + 2000 + 9000);
    assert.equal((await currentLease(db, WORKER_LEASE))?.wakeUrl, 'http://127.0.0.1:1');
  });

  test('a lapsed lease is taken over, saying from whom', async () => {
    const { db } = await buildTestApp({ runner: false });
    await claimLease(db, claim('host-a:1:2:aa', T0));
    assert.equal((await claimLease(db, claim('host-b:1:2:bb', T0 + 8999))).held, false);
    const b = await claimLease(db, claim('host-b:1:2:bb', T0 + 9000));
    assert.equal(b.held, true);
    assert.deepEqual(b.takenFrom, { holder: 'host-a:1:2:aa', lapsed: true });
    assert.equal(b.lease.acquiredAt, T0 + 9000);
  });

  test('a holder on this host whose process is gone is replaced at once (kill -9)', async () => {
    const { db } = await buildTestApp({ runner: false });
    const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', "import('./src/instance.ts').then((m) => console.log(m.newInstanceId()))"], { encoding: 'utf8' });
    const dead = child.stdout.trim(); // that process has exited
    assert.match(dead, /^[^:]+:\d+:\d+:[0-9a-f]{6}$/);
    await claimLease(db, claim(dead, T0));
    const me = await claimLease(db, claim(newInstanceId(), T0 + 10));
    assert.equal(me.held, true);
    assert.deepEqual(me.takenFrom, { holder: dead, lapsed: false });
  });

  test('release lets the next claim take it at once; releasing someone else\'s lease does nothing', async () => {
    const { db } = await buildTestApp({ runner: false });
    await claimLease(db, claim('host-a:1:2:aa', T0));
    await releaseLease(db, WORKER_LEASE, 'host-b:1:2:bb');
    assert.equal((await currentLease(db, WORKER_LEASE))?.holder, 'host-a:1:2:aa');
    await releaseLease(db, WORKER_LEASE, 'host-a:1:2:aa');
    assert.equal((await claimLease(db, claim('host-b:1:2:bb', T0 + 1))).held, true);
  });
});
