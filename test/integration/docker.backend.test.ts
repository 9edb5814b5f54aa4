// The docker backend against the real engine: the shared contract suite with berth-test/tiny, then
// what only Docker has (labels, the home volume, stale containers, limits, pull policy, hub reach and
// its probe). Everything is named berthtest-<random> and labelled berth.test=1, and removed afterwards.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { BlockList, isIPv4 } from 'node:net';
import Docker from 'dockerode';
import { closedPort } from '../../src/backends/fake/index.ts';
import { removeTestObjects } from '../helpers/berth-process.ts';
import { DockerBackend } from '../../src/backends/docker/index.ts';
import { containerName, homeVolumeName } from '../../src/backends/docker/names.ts';
import { homeVolumeFor } from '../../src/spawn/spec.ts';
import { probeLabels } from '../../src/backends/docker/container-spec.ts';
import { PROBE_MAX_AGE_MS } from '../../src/backends/engine/probe.ts';
import { configSchema, type ConfigInput } from '../../src/config/schema.ts';
import { ServiceError, SpawnError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { TINY, tinyContract, tinySpec, tinyVariant } from '../helpers/tiny-spec.ts';
import type { ServerSpec } from '../../src/backends/types.ts';
import { shellIn } from '../helpers/docker-shell.ts';

const SINGLEUSER = 'berth-test/singleuser:3.0.0';
const RUN = randomBytes(4).toString('hex');
const PREFIX = `berthtest-${RUN}`;
const docker = new Docker({ socketPath: '/var/run/docker.sock' });

function testConfig(docker: ConfigInput['docker'] = {}, image = TINY) {
  return configSchema.parse({
    backend: 'docker',
    spawner: { image },
    docker: { name_prefix: PREFIX, home_volume: `${PREFIX}-home-{username}`, extra_labels: { 'berth.test': '1' }, ...docker },
  });
}

/** Removes every container and volume this run created (tests may delete their own volumes; Berth never does). */
async function removeRunObjects() {
  const filters = { label: ['berth.test=1', `berth.instance=${PREFIX}`] };
  for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
  for (const c of await docker.listContainers({ all: true, filters: { name: [PREFIX] } })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
  const { Volumes } = await docker.listVolumes({ filters: { label: ['berth.test=1'] } });
  for (const v of Volumes ?? []) if (v.Name.startsWith(PREFIX)) await docker.getVolume(v.Name).remove().catch(() => {});
  for (const n of await docker.listNetworks({ filters: { name: [PREFIX] } })) await docker.getNetwork(n.Id).remove().catch(() => {});
}

const noProgress = () => {};
const latencies: number[] = [];

tinyContract('docker', () => new DockerBackend(testConfig(), silentLogger), removeRunObjects, testConfig());

describe('docker backend: docker-specific', () => {
  const backend = new DockerBackend(testConfig(), silentLogger);
  let n = 0;
  const user = () => `dk${RUN}.u-${++n}`;
  const timedStart = async (spec: ServerSpec) => {
    const t0 = performance.now();
    const r = await backend.start(spec, noProgress);
    latencies.push(performance.now() - t0);
    return r;
  };

  before(async () => {
    await removeTestObjects('berthtest-'); // what a killed earlier run left
    await backend.init({ port: 8000 });
  });
  after(async () => {
    await removeRunObjects();
    const sorted = [...latencies].sort((a, b) => a - b);
    if (sorted.length) console.log(`docker start() latency over ${sorted.length} starts: median ${sorted[sorted.length >> 1]!.toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms`);
  });

  test('labels are on the container and on the home volume', async () => {
    const u = user();
    const { ref } = await timedStart(tinySpec(u, { serverName: 'lab', labels: { 'berth.custom': 'yes' }, configHash: 'abc' }, testConfig()));
    const info = await docker.getContainer(String(ref.id)).inspect();
    assert.equal(info.Name, `/${containerName(PREFIX, u, 'lab')}`);
    // Image labels are inherited by containers (tiny carries berth.test.recipe): compare only berth's own keys.
    const labels = Object.fromEntries(Object.entries(info.Config.Labels).filter(([k]) => k !== 'berth.test.recipe'));
    assert.deepEqual(labels, {
      'berth.managed-by': 'berth', 'berth.instance': PREFIX, 'berth.user': u, 'berth.server': 'lab', 'berth.config-hash': 'abc',
      'berth.port': '8888', 'berth.backend': 'docker', 'berth.test': '1', 'berth.custom': 'yes',
    });
    assert.deepEqual(info.HostConfig.RestartPolicy, { Name: 'no', MaximumRetryCount: 0 });
    // A named server has its own home volume (homeVolumeFor), labelled with its server and the spec's labels.
    const vol = await docker.getVolume(homeVolumeFor(`${PREFIX}-home-{username}`, u, 'lab')).inspect();
    assert.deepEqual(vol.Labels, { 'berth.managed-by': 'berth', 'berth.instance': PREFIX, 'berth.user': u, 'berth.server': 'lab', 'berth.test': '1', 'berth.custom': 'yes' });
    await backend.stop(ref);
  });

  test('the home volume survives stop and a second start', async () => {
    const u = user();
    const first = await timedStart(tinySpec(u, {}, testConfig()));
    assert.equal(await shellIn(String(first.ref.id), 'echo kept-across-restarts > /home/jovyan/note.txt && cat /home/jovyan/note.txt'), 'kept-across-restarts\n');
    await backend.stop(first.ref);
    assert.equal((await docker.listContainers({ all: true, filters: { id: [String(first.ref.id)] } })).length, 0, 'container removed');
    const volume = homeVolumeName(`${PREFIX}-home-{username}`, u);
    assert.equal((await docker.getVolume(volume).inspect()).Name, volume, 'volume kept');
    const second = await timedStart(tinySpec(u, {}, testConfig()));
    assert.notEqual(second.ref.id, first.ref.id);
    assert.equal(await shellIn(String(second.ref.id), 'cat /home/jovyan/note.txt'), 'kept-across-restarts\n');
    await backend.stop(second.ref);
  });

  test('a new home volume belongs to the image\'s user even where the image has no such directory; an existing one is left as it is', async () => {
    // tiny as uid 4321 (its /www opened to it): the image has no /home/jovyan, so Docker's copy-up has nothing to copy.
    const image = await tinyVariant('uid4321', ['RUN chmod 1777 /www', 'USER 4321:4321']);
    const u = user();
    const first = await timedStart(tinySpec(u, { image }, testConfig()));
    assert.equal(await shellIn(String(first.ref.id), 'id -u; stat -c %u:%g /home/jovyan; echo mine > /home/jovyan/f && cat /home/jovyan/f'), '4321\n4321:4321\nmine\n');
    await backend.stop(first.ref);
    const left = await docker.listContainers({ all: true, filters: { label: [`berth.instance=${PREFIX}`, 'berth.probe=1'] } });
    assert.deepEqual(left.map((c) => c.Names[0]), [], 'the chown container is gone');
    // The admin (or the user) gives the home to someone else: Berth does not chown an existing home again.
    const volume = homeVolumeName(`${PREFIX}-home-{username}`, u);
    const fix = await docker.createContainer({ Image: TINY, Entrypoint: ['chown', '5555', '/h'], Labels: { 'berth.test': '1', 'berth.instance': PREFIX }, HostConfig: { Mounts: [{ Type: 'volume', Source: volume, Target: '/h' }] } });
    await fix.start();
    await fix.wait();
    await fix.remove();
    const second = await timedStart(tinySpec(u, { image: TINY }, testConfig()));
    assert.equal(await shellIn(String(second.ref.id), 'stat -c %u /home/jovyan; cat /home/jovyan/f'), '5555\nmine\n');
    await backend.stop(second.ref);
  });

  test('a stale container with the same name is replaced (new config hash), its volume kept', async () => {
    const u = user();
    const name = containerName(PREFIX, u, '');
    const stale = await docker.createContainer({
      name, Image: TINY, Labels: { 'berth.test': '1', 'berth.managed-by': 'berth', 'berth.instance': PREFIX, 'berth.config-hash': 'old' },
    });
    await stale.start();
    const { ref, url } = await timedStart(tinySpec(u, { configHash: 'new' }, testConfig()));
    await assert.rejects(stale.inspect(), (e: { statusCode?: number }) => e.statusCode === 404);
    const info = await docker.getContainer(String(ref.id)).inspect();
    assert.equal(info.Name, `/${name}`);
    assert.equal(info.Config.Labels['berth.config-hash'], 'new');
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    await backend.stop(ref);
  });

  test('memory and cpu limits are applied', async () => {
    const { ref } = await timedStart(tinySpec(user(), { memLimit: 64 * 1024 * 1024, cpuLimit: 0.5 }, testConfig()));
    const info = await docker.getContainer(String(ref.id)).inspect();
    assert.equal(info.HostConfig.Memory, 64 * 1024 * 1024);
    assert.equal(info.HostConfig.NanoCpus, 500_000_000);
    await backend.stop(ref);
  });

  test("pull_policy 'never' with a missing image: SpawnError('image'), nothing created", async () => {
    const never = new DockerBackend(testConfig({ pull_policy: 'never' }), silentLogger);
    await never.init({ port: 8000 });
    const image = `berthtest-missing/none:${RUN}`;
    const u = user();
    await assert.rejects(never.start(tinySpec(u, { image }, testConfig()), noProgress), (e: unknown) => {
      assert.ok(e instanceof SpawnError);
      assert.equal(e.reason, 'image');
      assert.equal(e.message, `Image ${image} is not on this machine and docker.pull_policy is never: pull or build it there (docker pull ${image}), or set pull_policy to if-not-present`);
      return true;
    });
    assert.deepEqual((await never.list()).filter((l) => l.user === u), []);
  });

  test('a reload reaches the next spawn (pull_policy), while name_prefix, which names and finds Berth\'s objects, waits for a restart', async () => {
    let live = testConfig();
    const reloading = new DockerBackend(() => live, silentLogger);
    await reloading.init({ port: 8000 });
    const u = user();
    const { ref } = await reloading.start(tinySpec(u, {}, testConfig()), noProgress);
    // a registry on a closed loopback port: with if-not-present a pull is tried (and fails), with never it is not
    const image = `127.0.0.1:${await closedPort()}/berthtest/none:${RUN}`;
    await assert.rejects(reloading.start(tinySpec(user(), { image }, testConfig()), noProgress), /could not be pulled/);
    live = testConfig({ pull_policy: 'never', name_prefix: `${PREFIX}-renamed` });
    await assert.rejects(reloading.start(tinySpec(user(), { image }, testConfig()), noProgress), (e: unknown) => e instanceof SpawnError && /pull_policy is never/.test(e.message));
    assert.ok((await reloading.list()).some((l) => l.user === u), 'still finds the servers it started under the old prefix');
    await reloading.stop(ref);
  });

  test('a pull that fails (registry on a closed loopback port): SpawnError image, with progress reported first', async () => {
    const image = `127.0.0.1:${await closedPort()}/berthtest/none:${RUN}`;
    const seen: string[] = [];
    await assert.rejects(backend.start(tinySpec(user(), { image }, testConfig()), (_p, m) => seen.push(m)), (e: unknown) => {
      assert.ok(e instanceof SpawnError);
      assert.equal(e.reason, 'image');
      assert.match(e.message, new RegExp(`^Image ${image.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} could not be pulled: `));
      return true;
    });
    assert.ok(seen.includes(`Pulling image ${image}`), seen.join(' | '));
  });

  test('init() against an unreachable engine: ServiceError Unavailable with one actionable sentence', async () => {
    const down = new DockerBackend(testConfig({ host: 'unix:///nonexistent.sock' }), silentLogger);
    await assert.rejects(down.init({ port: 8000 }), (e: unknown) => {
      assert.ok(e instanceof ServiceError);
      assert.equal(e.code, 'Unavailable');
      assert.equal(e.status, 503);
      assert.equal(e.message, 'Docker is not reachable at /nonexistent.sock: start the Docker engine (dockerd) or set DOCKER_HOST / docker.host in berth.yaml');
      return true;
    });
  });


  test('hub reach on the host (default bridge, Gateway field or not): Berth listens on docker0\'s address, which a container reaches as host.docker.internal', async () => {
    const bridge = await docker.getNetwork('bridge').inspect() as NetworkJson;
    const iface = bridge.Options?.['com.docker.network.bridge.name'] ?? 'docker0';
    const hubPort = await closedPort();
    const reachBackend = new DockerBackend(testConfig(), silentLogger);
    const reach = await reachBackend.init({ port: hubPort });
    assert.equal(reach.hubUrl, `http://host.docker.internal:${hubPort}`);
    const address = reach.extraListen[0]?.host ?? '';
    assert.deepEqual(reach.extraListen, [{ host: address, port: hubPort }], reach.description);
    assert.ok(inSubnets(address, bridge), `${address} is in the bridge's subnet`);
    assert.equal(reach.description, `containers reach the hub at ${reach.hubUrl} (${address} on ${iface})`);
    const hub = await hubServer(address, hubPort);
    try {
      const { ref } = await reachBackend.start(tinySpec(user(), {}, testConfig()), noProgress);
      const info = await docker.getContainer(String(ref.id)).inspect();
      assert.deepEqual(info.HostConfig.ExtraHosts, [`host.docker.internal:${address}`], 'the name containers use is the address Berth listens on');
      assert.equal(await shellIn(String(ref.id), `wget -qO- ${reach.hubUrl}/`), 'berth-hub-ok');
      await reachBackend.stop(ref);
    } finally {
      await closeServer(hub);
    }
    const connect = await reachBackend.init({ port: hubPort, connectUrl: 'http://hub.example:8081' });
    assert.deepEqual(connect, { hubUrl: 'http://hub.example:8081', extraListen: [], description: 'containers reach the hub at http://hub.example:8081 (hub.hub_connect_url)' });
  });

  test('hub reach on the host with docker.network: that network\'s own bridge address, reached and probed from a container on it', async () => {
    const name = `${PREFIX}-net`;
    const net = await (await docker.createNetwork({ Name: name, Labels: { 'berth.test': '1' } })).inspect() as NetworkJson;
    const hubPort = await closedPort();
    const netBackend = new DockerBackend(testConfig({ network: name }), silentLogger);
    const reach = await netBackend.init({ port: hubPort });
    const address = reach.extraListen[0]?.host ?? '';
    assert.deepEqual(reach.extraListen, [{ host: address, port: hubPort }], reach.description);
    assert.ok(inSubnets(address, net), `${address} is in ${name}'s subnet`);
    const gateway = net.IPAM?.Config?.find((c) => c.Gateway)?.Gateway;
    if (gateway) assert.equal(address, gateway);
    // Read from the bridge interface itself, which has no carrier yet (no container on it): not from the Gateway field.
    assert.equal(reach.description, `containers reach the hub at ${reach.hubUrl} (${address} on br-${net.Id.slice(0, 12)})`);
    const hub = await hubServer(address, hubPort);
    try {
      const { ref } = await netBackend.start(tinySpec(user(), {}, testConfig()), noProgress);
      const info = await docker.getContainer(String(ref.id)).inspect();
      assert.deepEqual(Object.keys(info.NetworkSettings.Networks), [name]);
      assert.deepEqual(info.HostConfig.ExtraHosts, [`host.docker.internal:${address}`]);
      assert.equal(await shellIn(String(ref.id), `wget -qO- ${reach.hubUrl}/`), 'berth-hub-ok');
      await netBackend.stop(ref);
      assert.deepEqual(await netBackend.probeHubReach(reach.hubUrl), { ok: true, message: `a container reached the hub API at ${reach.hubUrl}/hub/api` });
    } finally {
      await closeServer(hub);
    }
    const down = await netBackend.probeHubReach(reach.hubUrl);
    assert.equal(down.ok, false, down.message);
    assert.match(down.message, new RegExp(`^a container could not reach the hub API at ${reach.hubUrl}/hub/api: .*Connection refused; set hub`));
  });

  test('probeHubReach with the real single-user image (python3): proven reachable, then unreachable in its own words; nothing left behind', async () => {
    const hubPort = await closedPort();
    const probing = new DockerBackend(testConfig({}, SINGLEUSER), silentLogger);
    const reach = await probing.init({ port: hubPort });
    const api = `http://host.docker.internal:${hubPort}/hub/api`;
    const hub = await hubServer(reach.extraListen[0]!.host, hubPort);
    try {
      assert.deepEqual(await probing.probeHubReach(reach.hubUrl), { ok: true, message: `a container reached the hub API at ${api}` });
    } finally {
      await closeServer(hub);
    }
    assert.deepEqual(await probing.probeHubReach(reach.hubUrl), {
      ok: false, message: `a container could not reach the hub API at ${api}: python3: [Errno 111] Connection refused; set hub.hub_connect_url to an address containers can reach`,
    });
    assert.deepEqual(await docker.listContainers({ all: true, filters: { label: ['berth.probe=1', `berth.instance=${PREFIX}`] } }), []);
  });

  test('probeHubReach: not checked when the spawner image is not present, and it is never pulled', async () => {
    const image = `berthtest-missing/none:${RUN}`;
    const probing = new DockerBackend(testConfig({}, image), silentLogger);
    const reach = await probing.init({ port: 8000 });
    assert.deepEqual(await probing.probeHubReach(reach.hubUrl), { ok: null, message: `not checked: image ${image} is not present locally` });
    await assert.rejects(docker.getImage(image).inspect(), (e: { statusCode?: number }) => e.statusCode === 404);
  });

  test('removeStaleProbes removes the probes of a gone creator and those past their bound, never a live one\'s nor another kind\'s', async () => {
    const now = Date.now();
    const make = async (tag: string, creator: string, at: number, kind?: string) =>
      (await docker.createContainer({ name: `${PREFIX}-probe-${tag}`, Image: TINY, Cmd: ['sleep', '60'], Labels: probeLabels(testConfig(), { creator, at }, kind) })).id;
    const live = await make('live', 'alive', now);
    const dead = await make('dead', 'dead', now);
    const old = await make('old', 'alive', now - PROBE_MAX_AGE_MS - 1000);
    // A swarm probe's task container carries the probe labels: the swarm removes it with its service.
    const swarmTask = await make('swarm', 'dead', now, 'swarm');
    await docker.getContainer(live).start();
    await docker.getContainer(dead).start();
    try {
      assert.equal(await backend.removeStaleProbes((c) => c === 'dead', now), 2);
      const left = await docker.listContainers({ all: true, filters: { name: [`${PREFIX}-probe-`] } });
      assert.deepEqual(left.map((c) => c.Id).sort(), [live, swarmTask].sort());
      assert.ok([dead, old].every((id) => !left.some((c) => c.Id === id)));
    } finally {
      for (const id of [live, dead, old, swarmTask]) await docker.getContainer(id).remove({ force: true }).catch(() => {});
    }
  });

  test('a probe container is never listed as a server', async () => {
    const probe = await docker.createContainer({ name: `${PREFIX}-probe-listed`, Image: TINY, Labels: probeLabels(testConfig()) });
    try {
      assert.deepEqual((await backend.list()).filter((l) => l.ref.id === probe.id), []);
    } finally {
      await probe.remove({ force: true });
    }
  });
});

interface NetworkJson { Id: string; Options?: Record<string, string>; IPAM?: { Config?: { Subnet?: string; Gateway?: string }[] } }

function inSubnets(ip: string, net: NetworkJson): boolean {
  const list = new BlockList();
  for (const c of net.IPAM?.Config ?? []) {
    const [base, bits] = (c.Subnet ?? '').split('/');
    if (base && isIPv4(base)) list.addSubnet(base, Number(bits), 'ipv4');
  }
  return isIPv4(ip) && list.check(ip, 'ipv4');
}

/** Stands in for Berth's hub on one address: the API root answers with a version, anything else with a marker. */
function hubServer(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer((req, res) => {
      if (req.url === '/hub/api/') res.writeHead(200, { 'content-type': 'application/json' }).end('{"version": "5.3.0"}');
      else res.end('berth-hub-ok');
    });
    s.once('error', reject);
    s.listen(port, host, () => resolve(s));
  });
}

function closeServer(s: Server): Promise<void> {
  s.closeAllConnections();
  return new Promise((r) => s.close(() => r()));
}
