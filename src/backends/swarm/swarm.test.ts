import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from '../../config/schema.ts';
import { ServiceError } from '../../errors.ts';
import { silentLogger } from '../../log.ts';
import type { ServerSpec } from '../types.ts';
import { NOT_A_MANAGER, SwarmBackend } from './index.ts';
import { taskPoll } from './tasks.ts';
import { serviceCreateBody, serviceUrl } from './service-spec.ts';

const config = configSchema.parse({
  backend: { kind: 'swarm', network: 'berth-net', generic_resources: { 'NVIDIA-GPU': 1 }, volume_driver: 'local', volume_driver_options: { type: 'nfs' } },
  docker: { name_prefix: 'jupyter' },
});
const swarm = config.backend.kind === 'swarm' ? config.backend : assert.fail('swarm config');
const spec: ServerSpec = { user: 'alice', serverName: '', image: 'img:1', args: [], port: 8888, env: { A: '1' }, labels: {}, configHash: 'h', memLimit: 1e9, cpuGuarantee: 0.5,
  mounts: [{ type: 'volume', source: 'jupyter-alice', target: '/home/jovyan', home: true }] };

test('host mode: ingress port, host.docker.internal at the gwbridge address, limits and generic resources, home volume with its driver', () => {
  const body = serviceCreateBody({ config, swarm, spec, name: 'jupyter-alice', networking: { mode: 'host', network: 'berth-net', hubAddress: '172.18.0.1' } }) as Record<string, any>;
  assert.deepEqual(body.EndpointSpec, { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 8888, PublishMode: 'host' }] });
  const t = body.TaskTemplate;
  assert.deepEqual(t.ContainerSpec.Hosts, ['172.18.0.1 host.docker.internal']);
  assert.deepEqual(t.Resources, { Limits: { MemoryBytes: 1e9 }, Reservations: { NanoCPUs: 5e8, GenericResources: [{ DiscreteResourceSpec: { Kind: 'NVIDIA-GPU', Value: 1 } }] } });
  assert.deepEqual(t.Networks, [{ Target: 'berth-net' }]);
  assert.equal(t.ContainerSpec.Mounts[0].VolumeOptions.DriverConfig.Name, 'local');
  assert.deepEqual(t.ContainerSpec.Mounts[0].VolumeOptions.DriverConfig.Options, { type: 'nfs' });
  assert.equal(t.ContainerSpec.Labels['berth.backend'], 'swarm');
});

test('network mode: no published port, reached by service name', () => {
  const networking = { mode: 'network', network: 'berth-net' } as const;
  const body = serviceCreateBody({ config, swarm, spec, name: 'jupyter-alice', networking });
  assert.equal('EndpointSpec' in body, false);
  assert.equal(serviceUrl({ name: 'jupyter-alice', port: 8888, networking, published: undefined, nodeHost: undefined }), 'http://jupyter-alice:8888');
  assert.equal(serviceUrl({ name: 'x', port: 8888, networking: { mode: 'host', network: 'n' }, published: [{ TargetPort: 8888, PublishedPort: 30001 }], nodeHost: '127.0.0.1' }), 'http://127.0.0.1:30001');
  assert.equal(serviceUrl({ name: 'x', port: 8888, networking: { mode: 'host', network: 'n' }, published: [{ TargetPort: 8888, PublishedPort: 30001 }], nodeHost: '10.0.0.7' }), 'http://10.0.0.7:30001');
});

test('poll from the task: starting is running, an ended task is exited with its code', () => {
  assert.deepEqual(taskPoll({ ID: 't', Status: { State: 'preparing' } }), { status: 'running' });
  assert.deepEqual(taskPoll({ ID: 't', Status: { State: 'failed', ContainerStatus: { ExitCode: 3 } } }), { status: 'exited', exitCode: 3 });
});

test('init on an engine that is not a swarm manager: one line saying to run on a manager', async () => {
  const backend = new SwarmBackend(config, silentLogger);
  for (const [state, what] of [[{ state: 'inactive', manager: false }, 'not in a swarm (swarm: inactive)'], [{ state: 'active', manager: false }, 'a swarm worker, not a manager']] as const) {
    backend.port.swarmState = async () => ({ ...state, nodeId: undefined });
    await assert.rejects(backend.init({ port: 8000 }), (e: unknown) => {
      assert.ok(e instanceof ServiceError);
      assert.equal(e.message, `The Docker engine at ${backend.engine.address} is ${what}: ${NOT_A_MANAGER}`);
      return true;
    });
  }
});

test('init refuses a name_prefix that cannot name a service', async () => {
  const bad = configSchema.parse({ backend: { kind: 'swarm' }, docker: { name_prefix: 'Jupyter_Hub' } });
  await assert.rejects(new SwarmBackend(bad, silentLogger).init({ port: 8000 }), /docker\.name_prefix "Jupyter_Hub" cannot name swarm services/);
});
