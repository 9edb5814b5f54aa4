import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema } from '../../config/schema.ts';
import type { ServerSpec } from '../types.ts';
import { containerCmd, containerCreateBody, networkHostConfig, probeLabels, serverUrl } from './container-spec.ts';

const config = configSchema.parse({ docker: { extra_labels: { 'berth.user': 'spoofed', team: 'a' } } });
const spec: ServerSpec = {
  user: 'alice', serverName: '', image: 'img:1', args: [], port: 8888, env: { A: '1' }, labels: { 'berth.server': 'spoofed' }, configHash: 'h',
};

test('the command: cmd + args, args appended to the image CMD, or the image CMD untouched', () => {
  assert.deepEqual(containerCmd({ ...spec, cmd: ['a'], args: ['--x'] }, ['img']), ['a', '--x']);
  assert.deepEqual(containerCmd({ ...spec, args: ['--x'] }, ['start.sh']), ['start.sh', '--x']);
  assert.equal(containerCmd(spec, ['start.sh']), undefined);
});

test('host mode: loopback-published port, host.docker.internal at the address Berth listens on, our labels win', () => {
  const body = containerCreateBody({ config, spec, name: 'jupyter-alice', volume: 'jupyter-alice', networking: { mode: 'host', hubAddress: '172.17.0.1' } });
  assert.deepEqual(body.HostConfig?.PortBindings, { '8888/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] });
  assert.deepEqual(body.HostConfig?.ExtraHosts, ['host.docker.internal:172.17.0.1']);
  assert.equal(body.HostConfig?.NetworkMode, 'bridge');
  assert.deepEqual(body.HostConfig?.Mounts, [{ Type: 'volume', Source: 'jupyter-alice', Target: '/home/jovyan' }]);
  assert.equal(body.Labels?.['berth.user'], 'alice');
  assert.equal(body.Labels?.['berth.server'], '');
  assert.equal(body.Labels?.team, 'a');
  assert.deepEqual(body.Env, ['JUPYTER_IMAGE_SPEC=img:1', 'A=1']);
  assert.equal('Cmd' in body, false);
  assert.equal(body.HostConfig?.Memory, undefined);
});

test('network mode: joins the network, publishes nothing, reached by name', () => {
  const body = containerCreateBody({ config, spec, name: 'jupyter-alice', volume: 'v', networking: { mode: 'network', network: 'berth_default' } });
  assert.equal(body.HostConfig?.NetworkMode, 'berth_default');
  assert.equal(body.HostConfig?.PortBindings, undefined);
  assert.equal(serverUrl({ name: 'jupyter-alice', port: 8888, networking: { mode: 'network', network: 'n' }, ports: {} }), 'http://jupyter-alice:8888');
  assert.equal(serverUrl({ name: 'x', port: 8888, networking: { mode: 'host' }, ports: { '8888/tcp': [{ HostIp: '127.0.0.1', HostPort: '32768' }] } }), 'http://127.0.0.1:32768');
  assert.equal(serverUrl({ name: 'x', port: 8888, networking: { mode: 'host' }, ports: {} }), undefined);
});

test('networking shared by servers and the hub probe: host-gateway only when no address was found', () => {
  assert.deepEqual(networkHostConfig({ mode: 'host' }), { NetworkMode: 'bridge', ExtraHosts: ['host.docker.internal:host-gateway'] });
  assert.deepEqual(networkHostConfig({ mode: 'host', network: 'n1', hubAddress: '172.21.0.1' }), { NetworkMode: 'n1', ExtraHosts: ['host.docker.internal:172.21.0.1'] });
  assert.deepEqual(networkHostConfig({ mode: 'network', network: 'berth_default' }), { NetworkMode: 'berth_default' });
  assert.deepEqual(probeLabels(config), { 'berth.user': 'spoofed', team: 'a', 'berth.managed-by': 'berth', 'berth.instance': 'jupyter', 'berth.probe': '1' });
  assert.deepEqual(probeLabels(config, { creator: 'h:1:2:ab', at: 5 }), {
    'berth.user': 'spoofed', team: 'a', 'berth.managed-by': 'berth', 'berth.instance': 'jupyter', 'berth.probe': '1', 'berth.creator': 'h:1:2:ab', 'berth.created': '5',
  });
});
