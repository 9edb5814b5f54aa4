// Profiles against the real engine, through the REST API: a group's profile shapes the container
// (docker inspect: limits, mounts, environment), one outside the user's groups is refused before
// anything is created, and a config change (what a SIGHUP does: ctx.config replaced) to the
// profile's image and the pull policy applies to the next spawn with no restart.
// Everything is named berthprof-<random>, labelled berth.test=1, and removed afterwards.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { DockerBackend } from '../../src/backends/docker/index.ts';
import { configSchema, type ConfigInput } from '../../src/config/schema.ts';
import { silentLogger } from '../../src/log.ts';
import { setUserGroups } from '../../src/services/groups/set-user-groups.ts';
import { buildTestApp } from '../helpers/app.ts';
import { removeTestObjects } from '../helpers/berth-process.ts';
import { until } from '../helpers/until.ts';

const TINY = 'berth-test/tiny:latest';
const RUN = randomBytes(4).toString('hex');
const PREFIX = `berthprof-${RUN}`;
const MISSING = `${PREFIX}-missing:1`;
const docker = new Docker({ socketPath: '/var/run/docker.sock' });

const config = (big: { image?: string; mem_limit: string }, pull_policy: 'if-not-present' | 'never' = 'if-not-present'): ConfigInput => ({
  backend: 'docker',
  spawner: {
    image: TINY, http_timeout: 60,
    profiles: [
      { slug: 'small', display_name: 'Small', default: true, mem_limit: '64M' },
      { slug: 'big', display_name: 'Big', groups: ['ml'], cpu_limit: 0.5, environment: { FLAVOUR: 'big' },
        volumes: [{ source: `${PREFIX}-data-{username}`, target: '/data' }], ...big },
    ],
  },
  docker: { name_prefix: PREFIX, home_volume: `${PREFIX}-home-{username}`, extra_labels: { 'berth.test': '1' }, pull_policy },
  auth: { shared_password: 'correct horse', admin_password: 'admin secret pw', allow_all: true },
});

async function removeRunObjects() {
  for (const c of await docker.listContainers({ all: true, filters: { name: [PREFIX] } })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
  for (const v of (await docker.listVolumes({ filters: { name: [PREFIX] } })).Volumes ?? []) {
    if (v.Name.startsWith(PREFIX)) await docker.getVolume(v.Name).remove().catch(() => {});
  }
}

describe('profiles on the docker backend', { timeout: 180_000 }, () => {
  before(() => removeTestObjects('berthprof-'));
  after(removeRunObjects);

  test('a group profile shapes the container; one outside the groups is refused; a reload applies to the next spawn', async () => {
    let t: Awaited<ReturnType<typeof buildTestApp>> | undefined;
    const first = configSchema.parse(config({ mem_limit: '96M' }));
    const backend = new DockerBackend(() => t?.ctx.config ?? first, silentLogger); // reads the config in force, as in serve
    t = await buildTestApp({ config: config({ mem_limit: '96M' }), backend });
    const app = t;
    const alice = await app.createUser('alice');
    const bob = await app.createUser('bob');
    await setUserGroups(app.db, alice.id, ['ml'], Date.now());
    const post = async (userId: number, name: string, body: unknown) => app.request(`/hub/api/users/${name}/server`, {
      method: 'POST', token: await app.createToken(userId), body: JSON.stringify(body), headers: { 'content-type': 'application/json' },
    });
    const model = async (name: string) => (await (await app.request(`/hub/api/users/${name}`, { token: await app.createToken(name === 'alice' ? alice.id : bob.id) })).json()) as {
      servers: Record<string, { ready: boolean; pending: string | null }>;
    };
    const containersOf = (name: string) => docker.listContainers({ all: true, filters: { label: [`berth.instance=${PREFIX}`, `berth.user=${name}`] } });

    const denied = await post(bob.id, 'bob', { profile: 'big' });
    assert.equal(denied.status, 403);
    assert.match(((await denied.json()) as { message: string }).message, /big/);
    assert.equal((await containersOf('bob')).length, 0, 'nothing was created for bob');

    const res = await post(alice.id, 'alice', { profile: 'big' });
    assert.ok(res.status === 201 || res.status === 202, `status ${res.status}: ${await res.clone().text()}`);
    await until('alice ready', async () => (await model('alice')).servers['']?.ready === true, 60_000, 200);
    const [c] = await containersOf('alice');
    const info = await docker.getContainer(c!.Id).inspect();
    assert.equal(info.HostConfig.Memory, 96 * 1024 ** 2);
    assert.equal(info.HostConfig.NanoCpus, 0.5e9);
    assert.ok(info.Config.Env.includes('FLAVOUR=big'), info.Config.Env.join(' '));
    assert.ok(info.Mounts.some((m) => m.Name === `${PREFIX}-data-alice` && m.Destination === '/data'), JSON.stringify(info.Mounts));
    assert.equal((await app.request('/hub/api/users/alice/server', { method: 'DELETE', token: await app.createToken(alice.id) })).status, 204);

    // the admin points the profile at an image this machine lacks and forbids pulls, then reloads
    app.ctx.config = configSchema.parse(config({ image: MISSING, mem_limit: '112M' }, 'never'));
    const again = await post(alice.id, 'alice', { profile: 'big' });
    // a spawn that fails within the API's wait is answered as JupyterHub does: 500 with the reason
    assert.equal(again.status, 500);
    const { message } = (await again.json()) as { message: string };
    assert.equal(message, `Image ${MISSING} is not on this machine and docker.pull_policy is never: pull or build it there (docker pull ${MISSING}), or set pull_policy to if-not-present`);
    assert.equal((await containersOf('alice')).length, 0, 'no container from the failed spawn');
  });
});
