// docker.network_internal against the real engine: a real `berth serve` on the host creates the
// servers' network internal and labelled; a server on it is proxied at its address on that bridge
// (nothing is published), reaches the hub API, and cannot reach a listener on another network, by
// its address or through a port the listener publishes on the host; the hub-reach probe passes there
// too. A server on an ordinary network reaches that same published port, and the listener on a
// network they share (so the block is the internal flag, not a broken fetch). Networks whose internal
// flag contradicts the setting are refused at start. Everything is named <tag>… and labelled
// berth.test=1, and removed afterwards.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { DockerBackend } from '../../src/backends/docker/index.ts';
import { configSchema, type ConfigInput } from '../../src/config/schema.ts';
import { silentLogger } from '../../src/log.ts';
import { tinySpec } from '../helpers/tiny-spec.ts';
import { e2eConfig, freePort, removeTestObjects, startBerth, type BerthProcess } from '../helpers/berth-process.ts';
import { shellIn } from '../helpers/docker-shell.ts';
import { until } from '../helpers/until.ts';

const TINY = 'berth-test/tiny:latest';
const FAMILY = 'berthint';
const tag = `${FAMILY}${randomBytes(3).toString('hex')}`;
const INTERNAL = `${tag}-int`; // Berth creates it
const OTHER = `${tag}-other`; // the listener's own network
const OPEN = `${tag}-open`; // an ordinary network the listener shares with a non-internal server
const dir = mkdtempSync(join(tmpdir(), 'berth-int-'));
const adminToken = randomBytes(16).toString('hex');
const docker = new Docker();
const LABELS = { 'berth.test': '1' };
let berth: BerthProcess;
/** The listener's URLs: its address on its own network and on the open one, and its port published on the host. */
let listener: { other: string; open: string; published: string };

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${berth.origin}/hub/api${path}`, { ...init, headers: { authorization: `token ${adminToken}`, 'content-type': 'application/json' } });

/** GET `url` from inside a container with BusyBox wget (the tiny image has no python3): its output and exit code. */
async function fetchFrom(containerId: string, url: string): Promise<{ rc: number; out: string }> {
  // BusyBox wget crashes with -T: `timeout` bounds a connect that is dropped rather than refused.
  const out = await shellIn(containerId, `timeout 5 wget -q -O - "${url}" 2>&1; echo "rc=$?"`);
  const rc = Number(/rc=(\d+)\s*$/.exec(out)?.[1] ?? NaN);
  return { rc, out: out.replace(/rc=\d+\s*$/, '') };
}

function backendConfig(docker: ConfigInput['docker']) {
  return configSchema.parse({ backend: 'docker', spawner: { image: TINY }, docker: { extra_labels: LABELS, home_volume: `${tag}-{username}`, ...docker } });
}

describe('docker.network_internal: servers reach the hub and nothing else', { timeout: 180_000 }, () => {
  before(async () => {
    await removeTestObjects(FAMILY); // what a killed earlier run left
    for (const name of [OTHER, OPEN]) await docker.createNetwork({ Name: name, Labels: LABELS });
    // The listener: a tiny server on its own network, also attached to the open one, its port
    // published on this machine's address on the open network: a server there reaches it by routing
    // through the host, the way traffic leaves a network for anywhere else.
    const gateway = (await docker.getNetwork(OPEN).inspect()).IPAM?.Config?.[0]?.Gateway;
    assert.ok(gateway, `network ${OPEN} has a gateway`);
    const c = await docker.createContainer({
      name: `${tag}-listener`, Image: TINY, Labels: LABELS,
      Env: ['JUPYTERHUB_SERVICE_URL=http://0.0.0.0:8888/', 'JUPYTERHUB_SERVICE_PREFIX=/'],
      ExposedPorts: { '8888/tcp': {} },
      HostConfig: { NetworkMode: OTHER, PortBindings: { '8888/tcp': [{ HostIp: gateway, HostPort: '' }] } },
    });
    await docker.getNetwork(OPEN).connect({ Container: c.id });
    await c.start();
    const info = (await c.inspect()).NetworkSettings;
    const hostPort = info.Ports['8888/tcp']?.[0]?.HostPort;
    listener = {
      other: `http://${info.Networks[OTHER]!.IPAddress}:8888/api`,
      open: `http://${info.Networks[OPEN]!.IPAddress}:8888/api`,
      published: `http://${gateway}:${hostPort}/api`,
    };

    const port = await freePort();
    const configFile = join(dir, 'berth.yaml');
    writeFileSync(configFile, e2eConfig({ dir, tag, port, image: TINY, adminToken, password: 'int shared password' })
      + [`  network: ${INTERNAL}`, '  network_internal: true', ''].join('\n'));
    berth = await startBerth({ configFile, port, env: { E2E_PASSWORD: 'int shared password', E2E_ADMIN_TOKEN: adminToken }, logFile: join(dir, 'berth.log') });
  });

  after(async () => {
    await berth?.kill('SIGTERM');
    await removeTestObjects(tag);
    rmSync(dir, { recursive: true, force: true });
  });

  test('Berth creates the network internal and labelled as its own', async () => {
    const net = await docker.getNetwork(INTERNAL).inspect();
    assert.equal(net.Internal, true);
    assert.equal(net.Driver, 'bridge');
    assert.equal(net.Labels?.['berth.managed-by'], 'berth');
    assert.equal(net.Labels?.['berth.instance'], tag);
  });

  test('the hub-reach probe container reaches the hub API on the internal network', async () => {
    const said = await until('the probe', () => /a container (reached|could not reach) the hub API[^\n]*/.exec(berth.output())?.[0], 60_000, 100);
    assert.match(said, /^a container reached the hub API at http:\/\/host\.docker\.internal:\d+\/hub\/api/);
    assert.equal((await fetch(`${berth.origin}/hub/health/ready`)).status, 200);
  });

  test('a server on it is proxied at its address there, reaches the hub API, and cannot reach another network', async () => {
    assert.equal((await api('/users/ivan', { method: 'POST', body: '{}' })).status, 201);
    const spawn = await api('/users/ivan/server', { method: 'POST' });
    assert.ok([201, 202].includes(spawn.status), `spawn: ${spawn.status} ${await spawn.text()}`);
    await until('ivan\'s server to be ready', async () => {
      const model = (await (await api('/users/ivan')).json()) as { servers: Record<string, { ready: boolean }> };
      return model.servers['']?.ready === true;
    }, 60_000, 200);

    const [server] = await docker.listContainers({ filters: { label: ['berth.user=ivan', `berth.instance=${tag}`] } });
    assert.ok(server, 'the server container exists');
    assert.deepEqual(Object.keys(server.NetworkSettings.Networks), [INTERNAL]);
    assert.equal(server.Ports.filter((p) => p.PublicPort).length, 0, 'nothing published');

    const proxied = await fetch(`${berth.origin}/user/ivan/api`);
    assert.equal(proxied.status, 200, 'the proxy reaches the server at its address on the internal bridge');
    assert.match(await proxied.text(), /tiny/);

    const hub = await fetchFrom(server.Id, '$JUPYTERHUB_API_URL/');
    assert.equal(hub.rc, 0, hub.out);
    assert.match(hub.out, /"version"/, 'the server reaches the hub API');

    for (const url of [listener.published, listener.other, listener.open]) {
      const out = await fetchFrom(server.Id, url);
      assert.notEqual(out.rc, 0, `the listener at ${url} answered a server on the internal network: ${out.out}`);
      assert.doesNotMatch(out.out, /tiny/);
    }
  });

  test('a server on an ordinary network reaches the same listener: through its published port, and on the network they share', async () => {
    const backend = new DockerBackend(backendConfig({ name_prefix: `${tag}o`, network: OPEN }), silentLogger);
    await backend.init({ port: await freePort() });
    const started = await backend.start(tinySpec('olga', { configHash: 'h' }, backendConfig({ name_prefix: `${tag}o`, network: OPEN })), () => {});
    try {
      for (const url of [listener.published, listener.open]) {
        const out = await fetchFrom(String(started.ref.id), url);
        assert.equal(out.rc, 0, `${url}: ${out.out}`);
        assert.match(out.out, /tiny/, url);
      }
    } finally {
      await backend.stop(started.ref);
    }
  });

  test('a network whose internal flag contradicts the setting is refused at start, in one line', async () => {
    const wantsInternal = new DockerBackend(backendConfig({ name_prefix: `${tag}r`, network: OPEN, network_internal: true }), silentLogger);
    await assert.rejects(wantsInternal.init({ port: 8000 }), {
      message: `docker.network ${OPEN} exists and is not internal (its containers have a route out), but docker.network_internal is true: remove it (docker network rm ${OPEN}) so Berth creates it internal, or name a network that does not exist yet`,
    });
    const wantsOpen = new DockerBackend(backendConfig({ name_prefix: `${tag}r`, network: INTERNAL }), silentLogger);
    await assert.rejects(wantsOpen.init({ port: 8000 }), { message: /^docker\.network \S+-int is internal \(its containers reach nothing beyond it\), but docker\.network_internal is false/ });
  });
});
