import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema, type ConfigInput } from '../../config/schema.ts';
import { buildServerSpec } from '../../spawn/spec.ts';
import type { ServerSpec } from '../types.ts';
import { containerCmd, containerCreateBody, homeVolumeLabels, networkHostConfig, probeLabels, serverUrl } from './container-spec.ts';

const config = configSchema.parse({ docker: { extra_labels: { 'berth.user': 'spoofed', team: 'a' } } });
// As buildServerSpec makes it: the admin's extra_labels in the spec's labels, the home volume in its mounts.
const spec: ServerSpec = {
  user: 'alice', serverName: '', image: 'img:1', args: [], port: 8888, env: { A: '1' }, labels: { 'berth.server': 'spoofed', 'berth.user': 'spoofed', team: 'a' }, configHash: 'h',
  mounts: [{ type: 'volume', source: 'jupyter-alice', target: '/home/jovyan', home: true }],
};

test('the command: cmd + args, args appended to the image CMD, or the image CMD untouched', () => {
  assert.deepEqual(containerCmd({ ...spec, cmd: ['a'], args: ['--x'] }, ['img']), ['a', '--x']);
  assert.deepEqual(containerCmd({ ...spec, args: ['--x'] }, ['start.sh']), ['start.sh', '--x']);
  assert.equal(containerCmd(spec, ['start.sh']), undefined);
});

test('host mode: loopback-published port, host.docker.internal at the address Berth listens on, our labels win', () => {
  const body = containerCreateBody({ config, spec, name: 'jupyter-alice', networking: { mode: 'host', hubAddress: '172.17.0.1' } });
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
  const body = containerCreateBody({ config, spec, name: 'jupyter-alice', networking: { mode: 'network', network: 'berth_default' } });
  assert.equal(body.HostConfig?.NetworkMode, 'berth_default');
  assert.equal(body.HostConfig?.PortBindings, undefined);
  assert.equal(serverUrl({ name: 'jupyter-alice', port: 8888, networking: { mode: 'network', network: 'n' }, ports: {} }), 'http://jupyter-alice:8888');
  assert.equal(serverUrl({ name: 'x', port: 8888, networking: { mode: 'host' }, ports: { '8888/tcp': [{ HostIp: '127.0.0.1', HostPort: '32768' }] } }), 'http://127.0.0.1:32768');
  assert.equal(serverUrl({ name: 'x', port: 8888, networking: { mode: 'host' }, ports: {} }), undefined);
});

test('internal mode: joins the internal network, publishes nothing, reached at its address there, host.docker.internal at Berth\'s', () => {
  const networking = { mode: 'internal', network: 'berth-int', hubAddress: '172.18.0.1' } as const;
  const body = containerCreateBody({ config, spec, name: 'jupyter-alice', networking });
  assert.equal(body.HostConfig?.NetworkMode, 'berth-int');
  assert.equal(body.HostConfig?.PortBindings, undefined);
  assert.deepEqual(body.HostConfig?.ExtraHosts, ['host.docker.internal:172.18.0.1']);
  const networks = { 'berth-int': { IPAddress: '172.18.0.5' }, other: { IPAddress: '10.0.0.9' } };
  assert.equal(serverUrl({ name: 'jupyter-alice', port: 8888, networking, ports: {}, networks }), 'http://172.18.0.5:8888');
  // not (yet) attached to that network: no address, rather than one on another network
  assert.equal(serverUrl({ name: 'jupyter-alice', port: 8888, networking, ports: {}, networks: { other: { IPAddress: '10.0.0.9' } } }), undefined);
  // the container's address is only for internal mode: host mode without a published port has none
  assert.equal(serverUrl({ name: 'x', port: 8888, networking: { mode: 'host', network: 'berth-int' }, ports: {}, networks }), undefined);
});

test('networking shared by servers and the hub probe: host-gateway only when no address was found', () => {
  assert.deepEqual(networkHostConfig({ mode: 'host' }), { NetworkMode: 'bridge', ExtraHosts: ['host.docker.internal:host-gateway'] });
  assert.deepEqual(networkHostConfig({ mode: 'host', network: 'n1', hubAddress: '172.21.0.1' }), { NetworkMode: 'n1', ExtraHosts: ['host.docker.internal:172.21.0.1'] });
  assert.deepEqual(networkHostConfig({ mode: 'network', network: 'berth_default' }), { NetworkMode: 'berth_default' });
  assert.deepEqual(probeLabels(config), { 'berth.user': 'spoofed', team: 'a', 'berth.managed-by': 'berth', 'berth.instance': 'jupyter', 'berth.probe': '1', 'berth.backend': 'docker' });
  assert.deepEqual(probeLabels(config, { creator: 'h:1:2:ab', at: 5 }, 'swarm'), {
    'berth.user': 'spoofed', team: 'a', 'berth.managed-by': 'berth', 'berth.instance': 'jupyter', 'berth.probe': '1', 'berth.backend': 'swarm', 'berth.creator': 'h:1:2:ab', 'berth.created': '5',
  });
});

describe('a complete spec (buildServerSpec) shapes the container; the config names nothing of it', () => {
  const full = (c: ConfigInput, user = 'alice', server = '') =>
    buildServerSpec({ config: configSchema.parse(c), hubUrl: 'http://127.0.0.1:8000', bindIp: '0.0.0.0', user, server, token: 'x'.repeat(32) });
  // a different config at the backend: everything that shapes the server still comes from the spec
  const backendConfig = configSchema.parse({ docker: { home_volume: 'other-{username}', home_dir: '/elsewhere', extra_labels: { stale: '1' } } });
  const body = (spec: ServerSpec) => containerCreateBody({ config: backendConfig, spec, name: 'n', networking: { mode: 'host' } });

  test('mounts (home + extra, read-only, bind), limits, guarantees, devices, labels and extra host config', () => {
    const spec = full({
      spawner: { mem_limit: '1G', mem_guarantee: '512M', cpu_limit: 2, cpu_guarantee: 0.5 },
      docker: {
        home_volume: 'home-{username}', home_dir: '/home/u', extra_labels: { team: 'a', 'berth.user': 'spoofed' },
        volumes: [{ source: 'data', target: '/data', read_only: true }, { source: '/srv/{username}', target: '/srv', type: 'bind' }],
        device_requests: [{ count: 'all' }, { driver: 'nvidia', device_ids: ['0', '1'], capabilities: [['gpu', 'utility']], options: { a: 'b' } }],
        extra_host_config: { ShmSize: 268435456, CapAdd: ['SYS_PTRACE'] },
      },
    });
    const hc = body(spec).HostConfig!;
    assert.deepEqual(hc.Mounts, [
      { Type: 'volume', Source: 'home-alice', Target: '/home/u' },
      { Type: 'volume', Source: 'data', Target: '/data', ReadOnly: true },
      { Type: 'bind', Source: '/srv/alice', Target: '/srv' },
    ]);
    assert.equal(hc.Memory, 1024 ** 3);
    assert.equal(hc.MemoryReservation, 512 * 1024 ** 2);
    assert.equal(hc.NanoCpus, 2e9);
    assert.equal(hc.CpuShares, 512);
    assert.deepEqual(hc.DeviceRequests, [
      { Driver: '', Count: -1, Capabilities: [['gpu']], Options: {} },
      { Driver: 'nvidia', Count: 0, DeviceIDs: ['0', '1'], Capabilities: [['gpu', 'utility']], Options: { a: 'b' } },
    ]);
    assert.equal((hc as Record<string, unknown>).ShmSize, 268435456);
    assert.deepEqual(hc.CapAdd, ['SYS_PTRACE']);
    assert.equal(hc.NetworkMode, 'bridge', "Berth's own keys are still there");
    const labels = body(spec).Labels!;
    assert.equal(labels.team, 'a');
    assert.equal(labels['berth.user'], 'alice');
    assert.equal(labels.stale, undefined, "the backend's config adds no labels to a complete spec");
    assert.equal(labels['berth.config-hash'], spec.configHash);
    assert.deepEqual(homeVolumeLabels(backendConfig, spec), {
      team: 'a', 'berth.user': 'alice', 'berth.server': '', 'berth.managed-by': 'berth', 'berth.instance': 'jupyter',
    });
  });

  test('a tiny cpu_guarantee still gets the kernel\'s minimum shares; nothing set leaves the keys out', () => {
    assert.equal(body(full({ spawner: { cpu_guarantee: 0.0001 } })).HostConfig!.CpuShares, 2);
    const hc = body(full({})).HostConfig!;
    for (const k of ['Memory', 'MemoryReservation', 'NanoCpus', 'CpuShares', 'DeviceRequests', 'ShmSize']) assert.equal(k in hc, false, k);
    assert.deepEqual(hc.Mounts, [{ Type: 'volume', Source: 'jupyter-alice', Target: '/home/jovyan' }]);
  });
});
