// /hub/health/ready: 503 with the failed proof's own words, 200 otherwise (a proof that could not be
// made is reported, not failed), the worker lease shown; no login needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp } from '../../test/helpers/app.ts';
import { recordCheck } from '../../src/services/health/record-check.ts';
import { claimLease, WORKER_LEASE } from '../../src/state/lease.ts';

test('/hub/health/ready follows the recorded proofs', async () => {
  const t = await buildTestApp({ runner: false });
  let res = await t.app.request('/hub/health/ready');
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { status: 200, message: 'ready', checks: {}, worker: null });

  await recordCheck(t.ctx, 'hub-listener', { ok: true, message: 'the hub API answers at http://172.17.0.1:8000/hub/api/' });
  await recordCheck(t.ctx, 'hub-from-container', { ok: null, message: 'not checked: image x is not present locally' });
  await claimLease(t.db, { name: WORKER_LEASE, holder: t.ctx.instanceId, now: Date.now(), ttlMs: 9000 });
  res = await t.app.request('/hub/health/ready');
  assert.equal(res.status, 200);
  const ok = (await res.json()) as { checks: Record<string, { ok: boolean | null; message: string }>; worker: { holder: string } };
  assert.equal(ok.checks['hub-from-container']?.ok, null);
  assert.equal(ok.worker.holder, t.ctx.instanceId);

  const broken = 'a container could not reach the hub API at http://host.docker.internal:8000/hub/api: connection refused; set hub.hub_connect_url to an address containers can reach';
  await recordCheck(t.ctx, 'hub-from-container', { ok: false, message: broken });
  res = await t.app.request('/hub/health/ready');
  assert.equal(res.status, 503);
  const body = (await res.json()) as { status: number; message: string };
  assert.equal(body.status, 503);
  assert.equal(body.message, broken);

  await recordCheck(t.ctx, 'hub-from-container', { ok: true, message: 'a container reached the hub API' });
  assert.equal((await t.app.request('/hub/health/ready')).status, 200, 'a later proof clears it');
});
