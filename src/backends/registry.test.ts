import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { buildTestApp } from '../../test/helpers/app.ts';
import { schema } from '../../db/client.ts';
import { reconcileServers } from '../services/servers/reconcile.ts';
import { ServiceError } from '../errors.ts';
import { FakeBackend } from './fake/index.ts';
import { BackendRegistry } from './registry.ts';
import type { Backend } from './types.ts';

/** A backend of another kind that records what it is asked. */
function recording(kind: string, calls: string[]): Backend {
  const fake = new FakeBackend();
  return Object.assign(Object.create(fake) as Backend, {
    kind,
    init: async (hub: { port: number }) => { calls.push(`init ${hub.port}`); return fake.init(hub); },
    stop: async () => { calls.push('stop'); },
  });
}

test('a row is handed the backend recorded on it, made and initialised once, whatever the current kind', async () => {
  const current = new FakeBackend();
  const calls: string[] = [];
  let made = 0;
  const reg = new BackendRegistry(current, (kind) => { made++; return recording(kind, calls); }, { port: 8123 });
  assert.equal(await reg.for('fake'), current);
  assert.equal(await reg.for(null), current, 'a row from before the column was read is the current kind\'s');
  const docker = await reg.for('docker');
  assert.equal(docker.kind, 'docker');
  assert.equal(await reg.for('docker'), docker);
  assert.equal(made, 1);
  assert.deepEqual(calls, ['init 8123']);
  await docker.stop({ id: 'x' });
  assert.deepEqual(reg.all().map((b) => b.kind), ['fake', 'docker'], 'jobs that list servers ask every backend in use');
});

test('a kind this Berth does not have is a 503 naming it; a failed init is tried again at the next use', async () => {
  const reg = new BackendRegistry(new FakeBackend(), () => {
    let tries = 0;
    return Object.assign(new FakeBackend(), { kind: 'docker', init: async () => { if (++tries === 1) throw new ServiceError('Unavailable', 'Docker is not reachable'); return { hubUrl: '', extraListen: [], description: '' }; } }) as Backend;
  }, { port: 1 });
  await assert.rejects(reg.for('kubernetes'), (e: unknown) => e instanceof ServiceError && /backend named "kubernetes"/.test(e.message));
  await assert.rejects(reg.for('docker'), /Docker is not reachable/);
  assert.equal((await reg.for('docker')).kind, 'docker');
});

test('a server started by another kind is stopped and reconciled by that kind, not the current one', async () => {
  const t = await buildTestApp({ runner: false });
  const calls: string[] = [];
  t.ctx.backends = new BackendRegistry(t.backend, (kind) => Object.assign(recording(kind, calls), {
    poll: async () => { calls.push('poll'); return { status: 'running' as const }; },
    list: async () => [],
  }), { port: 8000 });
  const alice = await t.createUser('alice');
  const [row] = await t.db.insert(schema.servers).values({
    userId: alice.id, name: '', state: 'running', backend: 'docker', backendRef: { id: 'c1' }, url: 'http://127.0.0.1:1', requestedAt: 1, startedAt: 1, readyAt: 1,
  }).returning();
  await reconcileServers(t.ctx);
  assert.deepEqual(calls, ['init 8000', 'poll'], 'polled by docker: still running, so adopted');
  const res = await t.request('/hub/api/users/alice/server', { method: 'DELETE', token: await t.createToken(alice.id) });
  assert.equal(res.status, 204);
  assert.deepEqual(calls.slice(2), ['stop']);
  assert.equal((await t.db.select().from(schema.servers).where(eq(schema.servers.id, row!.id)))[0]!.state, 'stopped');
  assert.equal((t.backend as FakeBackend).calls.filter((c) => c.op === 'stop').length, 0, 'the fake (current) backend was never asked');
});
