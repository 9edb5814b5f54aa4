// Berth itself in a container on a Docker network (the compose deployment): the servers it starts
// join that network, the proxy reaches them by container name, they reach the hub API by Berth's
// container name — with no admin setting. Berth runs from this checkout with the host's Node
// binary, bind-mounted into a Debian 12 test image, since no registry serves a Node base image here.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { demuxLogs } from '../../src/backends/docker/port.ts';
import { probeStatus } from '../helpers/http-probe.ts';
import { removeTestObjects } from '../helpers/berth-process.ts';

const docker = new Docker();
const tag = `berthtestnet${randomBytes(3).toString('hex')}`;
const repo = fileURLToPath(new URL('../..', import.meta.url));
// A git worktree's node_modules may be a symlink to another checkout's: mount its target at the same path.
const nodeModules = realpathSync(`${repo}node_modules`);
const nodeModulesBind = nodeModules === `${repo}node_modules` ? [] : [`${nodeModules}:${nodeModules}:ro`];
const adminToken = randomBytes(16).toString('hex');
const HUB_IMAGE = 'berth-test/singleuser:3.0.0'; // any Debian 12 userland works; this one is local
let origin = '';

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${origin}/hub/api${path}`, { ...init, headers: { authorization: `token ${adminToken}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });

async function execIn(id: string, cmd: string[]): Promise<string> {
  const exec = await docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  await new Promise((r) => stream.on('end', r));
  return demuxLogs(Buffer.concat(chunks));
}


describe('Berth in a container on a Docker network', { timeout: 180_000 }, () => {
  before(async () => {
    await removeTestObjects('berthtestnet'); // what a killed earlier run left
    await docker.createNetwork({ Name: `${tag}-net`, Labels: { 'berth.test': '1' } });
    const hub = await docker.createContainer({
      name: `${tag}-hub`,
      Image: HUB_IMAGE,
      User: 'root',
      Entrypoint: ['/usr/local/bin/node'],
      Cmd: ['/app/scripts/berth-dev.mjs', 'serve'],
      WorkingDir: '/tmp',
      Labels: { 'berth.test': '1' },
      Env: [
        'BERTH_IP=0.0.0.0', 'BERTH_PORT=8000', 'BERTH_DATA_DIR=/tmp/berth-data', `BERTH_DOCKER_NETWORK=${tag}-net`,
        'BERTH_IMAGE=berth-test/tiny:latest', `BERTH_ADMIN_TOKEN=${adminToken}`, `BERTH_DOCKER_NAME_PREFIX=${tag}`,
        `BERTH_DOCKER_HOME_VOLUME=${tag}-{username}`, 'BERTH_DOCKER_EXTRA_LABELS={berth.test: "1"}', 'BERTH_LOG_LEVEL=debug',
      ],
      ExposedPorts: { '8000/tcp': {} },
      HostConfig: {
        NetworkMode: `${tag}-net`,
        PortBindings: { '8000/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
        Binds: [`${realpathSync(process.execPath)}:/usr/local/bin/node:ro`, `${repo}:/app:ro`, ...nodeModulesBind, '/var/run/docker.sock:/var/run/docker.sock'],
      },
    });
    await hub.start();
    const info = await hub.inspect();
    origin = `http://127.0.0.1:${info.NetworkSettings.Ports['8000/tcp']![0]!.HostPort}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if ((await probeStatus(`${origin}/hub/api`)) === 200) break;
      if (Date.now() > deadline) throw new Error(`berth did not answer in its container:\n${(await hub.logs({ stdout: true, stderr: true, tail: 40 })).toString()}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  });
  after(() => removeTestObjects(tag));

  test('a spawned server joins the network, publishes nothing, and is proxied by container name', async () => {
    assert.equal((await api('/users/netuser', { method: 'POST', body: '{}' })).status, 201);
    const spawn = await api('/users/netuser/server', { method: 'POST' });
    assert.ok([201, 202].includes(spawn.status), `spawn: ${spawn.status} ${await spawn.text()}`);
    let ready = false;
    for (let i = 0; i < 60 && !ready; i++) {
      const model = (await (await api('/users/netuser')).json()) as { servers: Record<string, { ready: boolean }> };
      ready = model.servers['']?.ready === true;
      if (!ready) await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(ready, 'server became ready');

    const [server] = await docker.listContainers({ filters: { label: ['berth.user=netuser'], name: [tag] } });
    assert.ok(server, 'server container exists');
    assert.deepEqual(Object.keys(server.NetworkSettings.Networks), [`${tag}-net`]);
    assert.equal(server.Ports.filter((p) => p.PublicPort).length, 0, 'nothing published on the host');

    const proxied = await fetch(`${origin}/user/netuser/api`);
    assert.equal(proxied.status, 200, 'the proxy in the Berth container reaches the server by name');
    assert.match(await proxied.text(), /tiny/);

    const env = ((await docker.getContainer(server.Id).inspect()).Config.Env ?? []).find((e) => e.startsWith('JUPYTERHUB_API_URL='));
    assert.equal(env, `JUPYTERHUB_API_URL=http://${tag}-hub:8000/hub/api`);
    const fromServer = await execIn(server.Id, ['/bin/busybox', 'wget', '-q', '-O', '-', `http://${tag}-hub:8000/hub/api`]);
    assert.match(fromServer, /"version"/, 'the server reaches the hub API by Berth\'s container name');
  });

  test('stopping removes the server container and keeps its volume', async () => {
    assert.equal((await api('/users/netuser/server', { method: 'DELETE' })).status, 204);
    assert.equal((await docker.listContainers({ all: true, filters: { label: ['berth.user=netuser'], name: [tag] } })).length, 0);
    assert.equal(((await docker.listVolumes({ filters: { name: [`${tag}-`] } })).Volumes ?? []).length, 1);
  });
});
