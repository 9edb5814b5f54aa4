// The swarm backend against the real engine as a single-node swarm: the shared contract suite with
// berth-test/tiny, then what only a service has (limits and reservations, generic resources,
// placement, labels, mounts) and its hub probe (a one-off service: stale ones removed, a live creator's
// kept, never touched by the docker kind's clean-up). If the engine is not in a swarm the test makes it a manager
// (`docker swarm init --advertise-addr 127.0.0.1`) and leaves the swarm afterwards, so the engine is
// left as found. Run it under `flock -x /tmp/berth-docker.lock`: swarm init changes the engine for others.
// Everything is named berthtest-<random> and labelled berth.test=1, and removed afterwards.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { SwarmBackend } from '../../src/backends/swarm/index.ts';
import { DockerBackend } from '../../src/backends/docker/index.ts';
import { probeLabels } from '../../src/backends/docker/container-spec.ts';
import { closedPort } from '../../src/backends/fake/index.ts';
import { shellIn } from '../helpers/docker-shell.ts';
import { dnsLabel } from '../../src/backends/docker/names.ts';
import { homeVolumeFor } from '../../src/spawn/spec.ts';
import { configSchema } from '../../src/config/schema.ts';
import { SpawnError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { TINY, tinyContract, tinySpec } from '../helpers/tiny-spec.ts';

const run = promisify(execFile);
const RUN = randomBytes(4).toString('hex');
const PREFIX = `berthtest-${RUN}`;
const NETWORK = `${PREFIX}-net`;
const docker = new Docker({ socketPath: '/var/run/docker.sock' });
let initialisedSwarm = false;

function testConfig(swarm: Record<string, unknown> = {}) {
  return configSchema.parse({
    backend: { kind: 'swarm', network: NETWORK, ...swarm },
    spawner: { image: TINY },
    docker: { name_prefix: PREFIX, home_volume: `${PREFIX}-home-{username}`, extra_labels: { 'berth.test': '1' } },
  });
}

/** Removes every service, container, volume and network this run created. */
async function removeRunObjects() {
  for (const s of await docker.listServices({ filters: { label: [`berth.instance=${PREFIX}`] } })) await docker.getService(s.ID!).remove().catch(() => {});
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && (await docker.listContainers({ all: true, filters: { label: [`berth.instance=${PREFIX}`] } })).length) {
    await new Promise((r) => setTimeout(r, 200));
  }
  for (const c of await docker.listContainers({ all: true, filters: { label: [`berth.instance=${PREFIX}`] } })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
  const { Volumes } = await docker.listVolumes({ filters: { name: [PREFIX] } });
  for (const v of Volumes ?? []) if (v.Name.startsWith(PREFIX)) await docker.getVolume(v.Name).remove().catch(() => {});
  // The overlay goes once its last task's endpoint is released: retry briefly.
  for (let i = 0; i < 20; i++) {
    const nets = await docker.listNetworks({ filters: { name: [PREFIX] } });
    if (nets.length === 0) break;
    for (const n of nets) await docker.getNetwork(n.Id).remove().catch(() => {});
    await new Promise((r) => setTimeout(r, 250));
  }
}

before(async () => {
  const info = (await docker.info()) as { Swarm?: { LocalNodeState?: string } };
  if (info.Swarm?.LocalNodeState !== 'active') {
    await run('docker', ['swarm', 'init', '--advertise-addr', '127.0.0.1']);
    initialisedSwarm = true;
  }
});

after(async () => {
  await removeRunObjects();
  if (initialisedSwarm) await run('docker', ['swarm', 'leave', '--force']);
});

tinyContract('swarm', () => new SwarmBackend(testConfig(), silentLogger), removeRunObjects, testConfig());

describe('swarm backend: swarm-specific', () => {
  let n = 0;
  const user = () => `sw${RUN}-u${++n}`;

  test('init created the attachable overlay network, labelled', async () => {
    const backend = new SwarmBackend(testConfig(), silentLogger);
    const reach = await backend.init({ port: 8000 });
    const net = (await docker.getNetwork(NETWORK).inspect()) as { Driver: string; Attachable: boolean; Scope: string; Labels: Record<string, string> };
    assert.equal(net.Driver, 'overlay');
    assert.equal(net.Attachable, true);
    assert.equal(net.Scope, 'swarm');
    assert.deepEqual(net.Labels, { 'berth.managed-by': 'berth', 'berth.instance': PREFIX });
    assert.match(reach.description, /on this node only: with worker nodes, set hub\.hub_connect_url$/);
  });

  test('hub reach on the host: a server reaches the hub at host.docker.internal, Berth\'s docker_gwbridge address, where Berth listens', async () => {
    const backend = new SwarmBackend(testConfig(), silentLogger);
    const hubPort = await closedPort();
    const reach = await backend.init({ port: hubPort });
    assert.equal(reach.hubUrl, `http://host.docker.internal:${hubPort}`);
    const address = reach.extraListen[0]?.host ?? '';
    assert.deepEqual(reach.extraListen, [{ host: address, port: hubPort }], reach.description);
    const hub = createServer((_req, res) => res.end('berth-hub-ok'));
    await new Promise<void>((r) => hub.listen(hubPort, address, r));
    try {
      const { ref } = await backend.start(tinySpec(user(), {}, testConfig()), () => {});
      const [c] = await docker.listContainers({ filters: { label: [`com.docker.swarm.service.id=${ref.id}`] } });
      assert.equal(await shellIn(c!.Id, `wget -qO- ${reach.hubUrl}/`), 'berth-hub-ok');
      await backend.stop(ref);
    } finally {
      hub.closeAllConnections();
      await new Promise((r) => hub.close(r));
    }
  });

  test('docker service inspect shows limits, reservations, constraints, preferences, labels, mounts, no restarts', async () => {
    const backend = new SwarmBackend(testConfig({ constraints: ['node.role==manager'], preferences: ['spread=node.labels.zone'] }), silentLogger);
    await backend.init({ port: 8000 });
    const u = user();
    const spec = tinySpec(u, {
      serverName: 'lab', labels: { 'berth.custom': 'yes' }, configHash: 'abc',
      memLimit: 64 * 1024 * 1024, cpuLimit: 0.5, memGuarantee: 16 * 1024 * 1024, cpuGuarantee: 0.25,
    }, testConfig());
    const { ref, url } = await backend.start(spec, () => {});
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const name = dnsLabel(PREFIX, u, 'lab');
    assert.equal(ref.name, name);
    const [svc] = JSON.parse((await run('docker', ['service', 'inspect', name])).stdout) as ServiceJson[];
    const t = svc!.Spec.TaskTemplate;
    assert.deepEqual(t.Resources, {
      Limits: { NanoCPUs: 500_000_000, MemoryBytes: 64 * 1024 * 1024 },
      Reservations: { NanoCPUs: 250_000_000, MemoryBytes: 16 * 1024 * 1024 },
    });
    assert.deepEqual(t.Placement.Constraints, ['node.role==manager']);
    assert.deepEqual(t.Placement.Preferences, [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }]);
    assert.equal(t.RestartPolicy.Condition, 'none');
    const labels = {
      'berth.managed-by': 'berth', 'berth.instance': PREFIX, 'berth.user': u, 'berth.server': 'lab', 'berth.config-hash': 'abc',
      'berth.port': '8888', 'berth.backend': 'swarm', 'berth.test': '1', 'berth.custom': 'yes',
    };
    assert.deepEqual(svc!.Spec.Labels, labels);
    assert.deepEqual(t.ContainerSpec.Labels, labels);
    // The named server's own home volume, labelled with its server and the spec's labels (less the hash).
    const volume = homeVolumeFor(`${PREFIX}-home-{username}`, u, 'lab');
    assert.deepEqual(t.ContainerSpec.Mounts, [{
      Type: 'volume', Source: volume, Target: '/home/jovyan',
      VolumeOptions: { Labels: { 'berth.managed-by': 'berth', 'berth.instance': PREFIX, 'berth.user': u, 'berth.server': 'lab', 'berth.test': '1', 'berth.custom': 'yes' } },
    }]);
    // The node made the volume with those labels, and the task's container has the limits.
    assert.equal((await docker.getVolume(volume).inspect()).Labels['berth.user'], u);
    const [c] = await docker.listContainers({ filters: { label: [`com.docker.swarm.service.id=${ref.id}`] } });
    const ci = await docker.getContainer(c!.Id).inspect();
    assert.equal(ci.HostConfig.Memory, 64 * 1024 * 1024);
    assert.equal(ci.HostConfig.NanoCpus, 500_000_000);
    // Reservations are the scheduler's (what a node must have free), not a soft limit on the container.
    assert.equal(ci.HostConfig.MemoryReservation, 0);
    await backend.stop(ref);
    assert.deepEqual(await backend.poll(ref), { status: 'missing' });
  });

  test('generic resources are reserved in the service spec; no node here advertises them, so the task waits and a cancel removes it', async () => {
    // This engine's node advertises no generic resources (that needs dockerd --node-generic-resource):
    // the assertion is on the spec the swarm accepted, and on the task being held back for want of them.
    const backend = new SwarmBackend(testConfig({ generic_resources: { 'berth-test-gpu': 2 } }), silentLogger);
    await backend.init({ port: 8000 });
    const u = user();
    const name = dnsLabel(PREFIX, u, '');
    const ctl = new AbortController();
    const started = backend.start(tinySpec(u, {}, testConfig()), () => {}, ctl.signal);
    let svc: ServiceJson | undefined;
    for (let i = 0; i < 200 && !svc; i++) {
      svc = (await docker.getService(name).inspect().catch(() => undefined)) as ServiceJson | undefined;
      if (!svc) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(svc, 'service created');
    assert.deepEqual(svc.Spec.TaskTemplate.Resources.Reservations, { GenericResources: [{ DiscreteResourceSpec: { Kind: 'berth-test-gpu', Value: 2 } }] });
    let state = '';
    for (let i = 0; i < 100 && state !== 'pending'; i++) {
      const [task] = await docker.listTasks({ filters: { service: [svc.ID] } }) as { Status: { State: string } }[];
      state = task?.Status.State ?? '';
      if (state !== 'pending') await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(state, 'pending', 'the task waits for a node with the resource');
    ctl.abort();
    await assert.rejects(started, (e: unknown) => e instanceof SpawnError && e.reason === 'cancelled');
    await assert.rejects(docker.getService(name).inspect(), (e: { statusCode?: number }) => e.statusCode === 404);
  });

  test('a server that cannot start fails the spawn with the task\'s error and exit code, and no restart loop leaves a service behind', async () => {
    const backend = new SwarmBackend(testConfig(), silentLogger);
    await backend.init({ port: 8000 });
    const u = user();
    // A command that does not exist: the task fails before it ever runs, so start() sees only the failure.
    // (A command that exits at once may be seen running for a moment; the contract's dies-at-start-up case covers it.)
    await assert.rejects(backend.start(tinySpec(u, { cmd: ['/berth-no-such-command'] }, testConfig()), () => {}), (e: unknown) => {
      assert.ok(e instanceof SpawnError, String(e));
      assert.equal(e.reason, 'exited');
      assert.match(e.message, /^Server exited during start-up \(starting container failed: .*\/berth-no-such-command.*, exit code 127\)$/);
      return true;
    });
    assert.deepEqual((await backend.list()).filter((l) => l.user === u), []);
  });
});

describe('swarm backend: hub probe services', () => {
  const probeFilter = { filters: { label: ['berth.probe=1', `berth.instance=${PREFIX}`] } };

  /** A probe service as a process killed mid-probe leaves it: running, with its creator and time. */
  async function leftProbe(tag: string, creator: string, at: number): Promise<string> {
    const labels = probeLabels(testConfig(), { creator, at }, 'swarm');
    const svc = await docker.createService({
      Name: `${PREFIX}-probe-${tag}`, Labels: labels,
      TaskTemplate: { ContainerSpec: { Image: TINY, Labels: labels, Command: ['sleep', '60'] }, RestartPolicy: { Condition: 'none' } },
      Mode: { Replicated: { Replicas: 1 } },
    } as never) as unknown as { id: string };
    return svc.id;
  }

  async function taskContainer(serviceId: string): Promise<string> {
    for (let i = 0; i < 150; i++) {
      const [c] = await docker.listContainers({ filters: { label: [`com.docker.swarm.service.id=${serviceId}`] } });
      if (c) return c.Id;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`no running task container for ${serviceId}`);
  }

  test('removeStaleProbes removes the probe service of a gone creator and keeps a live one\'s; neither is a server, and the docker kind leaves their containers alone', async () => {
    const backend = new SwarmBackend(testConfig(), silentLogger);
    await backend.init({ port: 8000 });
    const now = Date.now();
    const live = await leftProbe('live', 'alive', now);
    const dead = await leftProbe('dead', 'dead', now);
    try {
      const deadContainer = await taskContainer(dead);
      assert.deepEqual((await backend.list()).filter((l) => [live, dead].includes(String(l.ref.id))), []);
      // The task's container carries the probe labels too: docker's clean-up, asked with everyone gone, skips it.
      const dockerKind = new DockerBackend(testConfig(), silentLogger);
      assert.equal(await dockerKind.removeStaleProbes(() => true, now), 0);
      assert.ok((await docker.getContainer(deadContainer).inspect()).State.Running, 'the swarm probe\'s container is untouched');

      assert.equal(await backend.removeStaleProbes((c) => c === 'dead', now), 1);
      assert.deepEqual((await docker.listServices(probeFilter)).map((s) => s.ID), [live]);
    } finally {
      for (const id of [live, dead]) await docker.getService(id).remove().catch(() => {});
    }
  });

  test('probeHubReach leaves no service behind, and is not checked (never pulled) when the image is not here', async () => {
    const backend = new SwarmBackend(testConfig(), silentLogger);
    const reach = await backend.init({ port: await closedPort() });
    const down = await backend.probeHubReach(reach.hubUrl, { creator: 'me' });
    assert.equal(down.ok, false, down.message);
    assert.match(down.message, /^a swarm task could not reach the hub API at /);
    assert.deepEqual(await docker.listServices(probeFilter), []);

    const image = `berth-test/absent-${RUN}:nope`;
    const absent = new SwarmBackend({ ...testConfig(), spawner: { ...testConfig().spawner, image } }, silentLogger);
    await absent.init({ port: 8000 });
    assert.deepEqual(await absent.probeHubReach(reach.hubUrl), { ok: null, message: `not checked: image ${image} is not present locally` });
    await assert.rejects(docker.getImage(image).inspect(), (e: { statusCode?: number }) => e.statusCode === 404);
  });
});

interface ServiceJson {
  ID: string;
  Spec: {
    Labels: Record<string, string>;
    TaskTemplate: {
      ContainerSpec: { Labels: Record<string, string>; Mounts: unknown[] };
      Resources: { Limits?: unknown; Reservations?: unknown };
      Placement: { Constraints?: string[]; Preferences?: unknown[] };
      RestartPolicy: { Condition?: string };
    };
  };
}
