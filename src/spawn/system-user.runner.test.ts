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
