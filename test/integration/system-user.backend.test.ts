// The system-user backend against the real engine and real host users: the shared contract suite
// with berth-test/tiny, each contract user played by a host user this test makes (useradd -m, found in
// the real /etc/passwd), then what only this kind has: files written in the server belong to the
// user on the host, in their home. Containers are named berthtest-<random>, labelled berth.test=1;
// users are bsu<random><n>, removed with userdel -r afterwards.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import Docker from 'dockerode';
import { backendContract } from '../contract/backend.contract.ts';
import { removeTestObjects } from '../helpers/berth-process.ts';
import { shellIn } from '../helpers/docker-shell.ts';
import { TINY, tinyVariant } from '../helpers/tiny-spec.ts';
import { until } from '../helpers/until.ts';
import { DockerBackend } from '../../src/backends/docker/index.ts';
import { SystemUserBackend } from '../../src/backends/system-user/index.ts';
import type { ServerSpec } from '../../src/backends/types.ts';
import type { SystemUserConfig } from '../../src/config/backend-schema.ts';
import { configSchema } from '../../src/config/schema.ts';
import { SpawnError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { buildServerSpec } from '../../src/spawn/spec.ts';
import { resolveSystemUser, systemUserSpec } from '../../src/spawn/system-user.ts';

/**
 * tiny writes its pages under /www, which only root may write: this kind runs it as a host user, so
 * the test runs tiny with /www open to all (a tinyVariant).
 */
const tinyForAnyUser = () => tinyVariant('anyuser', ['RUN chmod 1777 /www']);
const RUN = randomBytes(3).toString('hex');
const PREFIX = `berthtest-${RUN}`;
const docker = new Docker({ socketPath: '/var/run/docker.sock' });

const config = configSchema.parse({
  backend: { kind: 'system-user', sources: ['passwd'] },
  spawner: { image: TINY }, // what the hub-reach probe runs (as the image's user); servers run tiny-anyuser
  docker: { name_prefix: PREFIX, extra_labels: { 'berth.test': '1' } },
});
const cfg = config.backend as SystemUserConfig;

/** Host users this run made, removed (with their homes) at the end. */
const hostUsers: string[] = [];
let nUsers = 0;
function makeHostUser(): string {
  const name = `bsu${RUN}${++nUsers}`;
  execFileSync('useradd', ['-m', '-U', '-s', '/bin/sh', name]);
  hostUsers.push(name);
  return name;
}
function removeHostUsers() {
  for (const name of hostUsers.splice(0)) {
    try { execFileSync('userdel', ['-r', name], { stdio: 'ignore' }); } catch { /* already gone */ }
  }
}
const idOf = (name: string, flag: '-u' | '-g') => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());

async function removeRunObjects() {
  for (const c of await docker.listContainers({ all: true, filters: { label: ['berth.test=1', `berth.instance=${PREFIX}`] } })) {
    await docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
  }
}

/** The spec of `hostUser` as the spawn would shape it: resolved from the real passwd, host home bound. */
function asHostUser(spec: ServerSpec, hostUser: string): ServerSpec {
  return systemUserSpec(spec, cfg, resolveSystemUser(cfg, hostUser, undefined));
}

// Each contract user (names like "Ct.é@…" are no POSIX names) is played by a host user of its own.
const playedBy = new Map<string, string>();
backendContract('system-user', async () => {
  const backend = new SystemUserBackend(config, silentLogger);
  await backend.init({ port: 8000 });
  const image = await tinyForAnyUser();
  return {
    backend,
    images: { ok: image, fail: image, hang: image },
    env: { fail: { TINY_FAIL: '1' }, hang: { TINY_HANG: '1' } },
    specFor: async (spec) => {
      if (!playedBy.has(spec.user)) playedBy.set(spec.user, makeHostUser());
      const host = asHostUser({ ...spec, user: playedBy.get(spec.user)! }, playedBy.get(spec.user)!);
      // the contract's identity (its user, labels and hash) stays: its cases assert them
      return { ...host, user: spec.user, configHash: spec.configHash, labels: spec.labels };
    },
    cleanup: async () => { await removeRunObjects(); removeHostUsers(); },
  };
});

describe('system-user backend: runs as the host user', () => {
  const backend = new SystemUserBackend(config, silentLogger);
  let image = '';
  const base = (user: string) => ({ ...buildServerSpec({ config, hubUrl: 'http://127.0.0.1:8000', bindIp: backend.bindIp, user, server: '', token: 'x'.repeat(32) }), image });
  const spawnSpec = (user: string) => asHostUser(base(user), user);

  before(async () => {
    await removeTestObjects('berthtest-'); // what a killed earlier run left
    await backend.init({ port: 8000 });
    image = await tinyForAnyUser();
  });
  after(async () => {
    await removeRunObjects();
    removeHostUsers();
  });

  test("a file written in the server is the user's on the host, in the user's home", async () => {
    const name = makeHostUser();
    const uid = idOf(name, '-u');
    const gid = idOf(name, '-g');
    const { ref, url } = await backend.start(spawnSpec(name), () => {});
    assert.equal((await fetch(`${url}/user/${name}/api`)).status, 200, 'tiny serves as the user');
    const out = await shellIn(String(ref.id), 'id -u; id -g; echo "$HOME $NB_USER $NB_UID $NB_GID"; pwd; echo written-inside > "$HOME/note.txt"');
    assert.deepEqual(out.trim().split('\n'), [String(uid), String(gid), `/home/${name} ${name} ${uid} ${gid}`, `/home/${name}`]);
    const st = statSync(`/home/${name}/note.txt`);
    assert.equal(st.uid, uid, 'owned on the host by the user');
    assert.equal(st.gid, gid);
    const info = await docker.getContainer(String(ref.id)).inspect();
    assert.equal(info.Config.User, `${uid}:${gid}`);
    assert.equal(info.Config.Labels['berth.backend'], 'system-user');
    assert.deepEqual(info.Mounts.map((m) => [m.Type, m.Source, m.Destination]), [['bind', `/home/${name}`, `/home/${name}`]]);
    await backend.stop(ref);
    assert.ok(statSync(`/home/${name}/note.txt`).isFile(), 'the home outlives the server');
  });

  test('run_as_root: the container starts as root with NB_USER/NB_UID/NB_GID, and an image that drops to NB_UID writes as the user', async () => {
    // Like docker-stacks' start.sh: as root with NB_UID set, add NB_USER to the image's passwd and su to it, then serve.
    const dropper = await tinyVariant('dropsu', [
      'RUN chmod 1777 /www',
      `ENTRYPOINT ["/bin/sh", "-c", "if [ \\"$(id -u)\\" = 0 ] && [ -n \\"$NB_UID\\" ]; then echo \\"$NB_USER:x:$NB_UID:$NB_GID::$HOME:/bin/sh\\" >> /etc/passwd; exec su -p -s /bin/sh \\"$NB_USER\\" -c 'touch \\"$HOME/started-as-$(id -u)\\"; exec /bin/sh /start.sh'; fi; exec /bin/sh /start.sh"]`,
      'CMD []',
    ]);
    const asRoot = { ...cfg, run_as_root: true };
    const name = makeHostUser();
    const uid = idOf(name, '-u');
    const spec = systemUserSpec({ ...base(name), image: dropper }, asRoot, resolveSystemUser(asRoot, name, undefined));
    assert.equal(spec.runAs, '0');
    const { ref, url } = await backend.start(spec, () => {});
    // start() returns once the container runs; the drop and tiny's listen come after (the runner waits too)
    await until('tiny serves after the drop', async () => (await fetch(`${url}/user/${name}/api`).catch(() => undefined))?.status === 200, 20_000, 100);
    const info = await docker.getContainer(String(ref.id)).inspect();
    assert.equal(info.Config.User, '0', 'started as root');
    for (const e of [`NB_USER=${name}`, `NB_UID=${uid}`, `NB_GID=${idOf(name, '-g')}`, `HOME=/home/${name}`]) assert.ok(info.Config.Env.includes(e), e);
    const st = statSync(`/home/${name}/started-as-${uid}`);
    assert.equal(st.uid, uid, 'the image dropped to the user: its file is the user\'s on the host');
    await backend.stop(ref);
  });

  test('a spec without runAs is refused with a clear SpawnError, nothing created', async () => {
    const name = makeHostUser();
    await assert.rejects(backend.start(base(name), () => {}), (e: unknown) => e instanceof SpawnError && /needs a spec with runAs/.test(e.message));
    assert.deepEqual((await backend.list()).filter((l) => l.user === name), []);
  });

  test('on a shared engine each kind lists only its own containers (berth.backend)', async () => {
    const name = makeHostUser();
    const { ref } = await backend.start(spawnSpec(name), () => {});
    const dockerKind = new DockerBackend(config, silentLogger);
    assert.equal((await backend.list()).filter((l) => l.user === name).length, 1);
    assert.deepEqual((await dockerKind.list()).filter((l) => l.user === name), []);
    await backend.stop(ref);
  });
});
