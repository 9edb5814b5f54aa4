// The spawn with backend.kind system-user: the runner resolves the user (here from the login's
// claims in user_auth) and hands the backend a spec that runs as them in their host home; an
// unknown user fails the spawn with what to do. The fake backend stands in, under the kind's name.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { schema } from '../../db/client.ts';
import { buildTestApp } from '../../test/helpers/app.ts';
import { FakeBackend } from '../backends/fake/index.ts';
import type { Backend, ProgressFn, ServerSpec } from '../backends/types.ts';
import { requestSpawn } from '../services/servers/request-spawn.ts';
import { SystemUserBackend } from '../backends/system-user/index.ts';
import { configSchema } from '../config/schema.ts';
import { silentLogger } from '../log.ts';
import { waitForServer } from '../services/servers/wait.ts';

/** A fake that answers to kind 'system-user' (its own kind is a literal) and keeps the specs it got. */
function systemUserFake() {
  const fake = new FakeBackend();
  const specs: ServerSpec[] = [];
  const backend: Backend = Object.assign(Object.create(fake) as FakeBackend, {
    kind: 'system-user',
    start: (spec: ServerSpec, progress: ProgressFn, signal?: AbortSignal) => { specs.push(spec); return fake.start(spec, progress, signal); },
  });
  return { backend, specs };
}

test('backend system-user: the spawn runs the server as the claims\' uid:gid in the host home; an unknown user fails clearly', async () => {
  const homes = mkdtempSync(join(tmpdir(), 'berth-homes-'));
  after(() => rmSync(homes, { recursive: true, force: true }));
  mkdirSync(join(homes, 'alice'));
  const { backend, specs } = systemUserFake();
  const t = await buildTestApp({
    backend,
    config: { backend: { kind: 'system-user', sources: ['claims', 'table'], home: `${homes}/{username}` }, spawner: { image: 'fake' } },
  });
  const alice = await t.createUser('alice');
  await t.db.insert(schema.userAuth).values({ userId: alice.id, posixUid: 2001, posixGid: 2002, homeDir: '/ldap/home/alice' });
  const { server } = await requestSpawn({ ctx: t.ctx, input: { user: alice, serverName: '' } });
  assert.equal((await waitForServer(t.ctx, server.id, 30_000)).state, 'running');
  const [spec] = specs;
  assert.equal(spec!.runAs, '2001:2002');
  assert.deepEqual(spec!.mounts![0], { type: 'bind', source: join(homes, 'alice'), target: '/home/alice' });
  assert.deepEqual([spec!.env.NB_USER, spec!.env.NB_UID, spec!.env.NB_GID, spec!.env.HOME], ['alice', '2001', '2002', '/home/alice']);
  assert.equal(spec!.workingDir, '/home/alice');

  const bob = await t.createUser('bob');
  const failed = await waitForServer(t.ctx, (await requestSpawn({ ctx: t.ctx, input: { user: bob, serverName: '' } })).server.id, 30_000);
  assert.equal(failed.state, 'failed');
  assert.deepEqual(failed.failure, { reason: 'backend', message: 'no system user bob: create it (useradd) or add it to backend.users' });
  assert.equal(specs.length, 1, 'the backend was never asked to start bob');
});

test('after a reload to another backend.kind, new spawns (still on this backend until a restart) keep the system-user settings it runs with', async () => {
  const homes = mkdtempSync(join(tmpdir(), 'berth-homes-'));
  after(() => rmSync(homes, { recursive: true, force: true }));
  mkdirSync(join(homes, 'carol'));
  const { backend, specs } = systemUserFake();
  const started = configSchema.parse({ backend: { kind: 'system-user', sources: ['table'], users: { carol: { uid: 3001, gid: 3002 } }, home: `${homes}/{username}` } }).backend;
  // what SystemUserBackend.systemUsers() answers once the live config names another kind
  Object.assign(backend, { systemUsers: () => started });
  const t = await buildTestApp({ backend, config: { backend: 'docker', spawner: { image: 'fake' } } });
  const carol = await t.createUser('carol');
  const { server } = await requestSpawn({ ctx: t.ctx, input: { user: carol, serverName: '' } });
  assert.equal((await waitForServer(t.ctx, server.id, 30_000)).state, 'running');
  assert.equal(specs[0]!.runAs, '3001:3002');
  assert.equal(specs[0]!.mounts[0]!.source, join(homes, 'carol'));
});

test('SystemUserBackend.systemUsers(): the live settings, or after a reload to another kind those it started with', () => {
  let live = configSchema.parse({ backend: { kind: 'system-user', sources: ['passwd'], min_uid: 1000 } });
  const b = new SystemUserBackend(() => live, silentLogger);
  const first = live.backend;
  live = configSchema.parse({ backend: { kind: 'system-user', sources: ['passwd'], min_uid: 2000 } });
  assert.equal((b.systemUsers() as { min_uid: number }).min_uid, 2000, 'a reload within the kind applies');
  live = configSchema.parse({ backend: 'docker' });
  assert.equal(b.systemUsers(), first);
});
