// The swarm probe's service and what its task's end means, without an engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from '../../config/schema.ts';
import { probeOutcome, PROBE_SCRIPT } from '../engine/probe.ts';
import { probeServiceBody, SWARM_RUNNER, taskExit } from './probe.ts';

const config = configSchema.parse({
  backend: { kind: 'swarm', network: 'berth-net', constraints: ['node.role==worker'] },
  spawner: { image: 'img:1' },
  docker: { name_prefix: 'jupyter', extra_labels: { team: 'a' } },
});

test('the probe service: the spawner image running the script once, labelled as a swarm probe, on this node, on the servers\' network with their hub name', () => {
  const body = probeServiceBody({
    config, name: 'jupyter-probe-0a1b2c3d', networking: { mode: 'host', network: 'berth-net', hubAddress: '172.18.0.1' },
    apiUrl: 'http://host.docker.internal:8000/hub/api', node: 'node1', creator: 'inst-1', at: 1234,
  }) as Record<string, any>;
  const labels = {
    team: 'a', 'berth.managed-by': 'berth', 'berth.instance': 'jupyter', 'berth.probe': '1', 'berth.backend': 'swarm',
    'berth.creator': 'inst-1', 'berth.created': '1234',
  };
  assert.equal(body.Name, 'jupyter-probe-0a1b2c3d');
  assert.deepEqual(body.Labels, labels);
  assert.deepEqual(body.TaskTemplate, {
    ContainerSpec: {
      Image: 'img:1', Labels: labels, Hosts: ['172.18.0.1 host.docker.internal'],
      Command: ['/bin/sh', '-c', PROBE_SCRIPT, 'berth-probe', 'http://host.docker.internal:8000/hub/api/'],
    },
    RestartPolicy: { Condition: 'none', MaxAttempts: 0 },
    // The servers' own constraints are not applied: the image was checked on this node only.
    Placement: { Constraints: ['node.id==node1'] },
    Networks: [{ Target: 'berth-net' }],
  });
  assert.equal('EndpointSpec' in body, false, 'nothing to publish');
  const overlay = probeServiceBody({ config, name: 'p', networking: { mode: 'network', network: 'berth-net' }, apiUrl: 'http://berth:8000/hub/api', node: undefined, at: 1 }) as Record<string, any>;
  assert.equal('Hosts' in overlay.TaskTemplate.ContainerSpec, false);
  assert.deepEqual(overlay.TaskTemplate.Placement, { Constraints: [] });
});

test('taskExit: complete is 0, a non-zero exit is its code, a task that never ran its client proves nothing', () => {
  assert.deepEqual(taskExit({ ID: 't', Status: { State: 'complete', ContainerStatus: {} } }), { exitCode: 0 });
  assert.deepEqual(taskExit({ ID: 't', Status: { State: 'failed', Err: 'task: non-zero exit (1)', ContainerStatus: { ExitCode: 1 } } }), { exitCode: 1 });
  assert.deepEqual(taskExit({ ID: 't', Status: { State: 'failed', Err: 'starting container failed: exec: "/bin/sh": not found', ContainerStatus: { ExitCode: 127 } } }), {
    notRun: 'task failed: starting container failed: exec: "/bin/sh": not found',
  });
  assert.deepEqual(taskExit({ ID: 't', Status: { State: 'rejected', Err: 'No such image: img:1' } }), { notRun: 'task rejected: No such image: img:1' });
});

test('the messages name a swarm task and the probe service', () => {
  const api = 'http://h:8000/hub/api';
  assert.deepEqual(probeOutcome({ image: 'img:1', apiUrl: api, exitCode: 0, output: '{"version": "5"}' }, SWARM_RUNNER), { ok: true, message: `a swarm task reached the hub API at ${api}` });
  assert.equal(probeOutcome({ image: 'img:1', apiUrl: api, exitCode: undefined, output: '' }, SWARM_RUNNER).message, 'not checked: the probe service (image img:1) did not finish within 20 s');
  assert.match(probeOutcome({ image: 'img:1', apiUrl: api, exitCode: 1, output: 'wget: refused' }, SWARM_RUNNER).message, /^a swarm task could not reach the hub API at .*: wget: refused; /);
});
