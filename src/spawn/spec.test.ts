// buildServerSpec: the complete spec from the config in force and the user (mounts, limits and
// guarantees, devices, extra host config, post_start_cmd, labels, hash), and the config's refusals.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema, type ConfigInput } from '../config/schema.ts';
import { buildServerSpec, expandTemplate, homeVolumeFor } from './spec.ts';

const build = (c: ConfigInput = {}, user = 'alice', server = '', authEnv?: Record<string, string>) =>
  buildServerSpec({ config: configSchema.parse(c), hubUrl: 'http://127.0.0.1:8000', bindIp: '0.0.0.0', user, server, token: 'x'.repeat(32), authEnv });
const home = (c: ConfigInput, user: string, server: string) => build(c, user, server).mounts![0]!;

/** The messages a config fails with, by key path. */
function refusals(c: ConfigInput): Record<string, string> {
  const r = configSchema.safeParse(c);
  assert.equal(r.success, false, 'the config is refused');
  return Object.fromEntries(r.error!.issues.map((i) => [i.path.join('.'), i.message]));
}

describe('buildServerSpec: the home volume', () => {
  test('the default server keeps jupyter-<escaped user>, so existing homes are found', () => {
    assert.deepEqual(home({}, 'alice', ''), { type: 'volume', source: 'jupyter-alice', target: '/home/jovyan', home: true });
    assert.equal(home({}, 'Bob.Smith', '').source, 'jupyter-_42ob_2e_53mith');
  });

  test('a named server gets its own volume: --<escaped server> appended when the template lacks {servername}', () => {
    assert.equal(home({}, 'alice', 'lab').source, 'jupyter-alice--lab');
    assert.equal(home({}, 'alice', 'My Lab').source, 'jupyter-alice--_4dy_20_4cab');
    assert.notEqual(home({}, 'alice', 'a').source, home({}, 'alice', 'b').source);
    // a user whose name looks like "<user>--<server>" never meets another's named volume (escaped '-')
    assert.notEqual(home({}, 'alice--lab', '').source, home({}, 'alice', 'lab').source);
  });

  test('{servername} in the template is used as written (empty for the default server)', () => {
    const c = { docker: { home_volume: 'h-{username}.{servername}', home_dir: '/home/u' } };
    assert.equal(home(c, 'alice', 'lab').source, 'h-alice.lab');
    assert.equal(home(c, 'alice', '').source, 'h-alice.');
    assert.equal(home(c, 'alice', '').target, '/home/u');
    assert.equal(homeVolumeFor('v-{username}-{username}', 'a-b', ''), 'v-a_2db-a_2db');
  });

  test('templates escape with the injective Docker escaping (no / . or - can come from a name)', () => {
    assert.equal(expandTemplate('/srv/{username}/{servername}', '../x', 'a/b'), '/srv/_2e_2e_2fx/a_2fb');
  });
});

describe('buildServerSpec: what else shapes the server', () => {
  test('extra mounts templated with user and server, read-only kept, after the home volume', () => {
    const spec = build({ docker: { volumes: [
      { source: 'shared-data', target: '/data', read_only: true },
      { source: 'scratch-{username}-{servername}', target: '/scratch' },
      { source: '/srv/course/{username}', target: '/course', type: 'bind', read_only: true },
    ] } }, 'alice', 'lab');
    assert.deepEqual(spec.mounts!.slice(1), [
      { type: 'volume', source: 'shared-data', target: '/data', readOnly: true },
      { type: 'volume', source: 'scratch-alice-lab', target: '/scratch' },
      { type: 'bind', source: '/srv/course/alice', target: '/course', readOnly: true },
    ]);
  });

  test('limits, guarantees (and their env), devices, extra host config, post_start_cmd', () => {
    const spec = build({
      spawner: { mem_limit: '2G', mem_guarantee: '1G', cpu_limit: 2, cpu_guarantee: 0.25, post_start_cmd: 'touch /tmp/x && echo ok' },
      docker: { device_requests: [{ count: 1 }, { device_ids: ['GPU-1'], driver: 'nvidia' }], extra_host_config: { ShmSize: 1024 }, storage_size: '10G' },
    });
    assert.equal(spec.storageSize, 10 * 1024 ** 3);
    assert.equal(spec.memLimit, 2 * 1024 ** 3);
    assert.equal(spec.memGuarantee, 1024 ** 3);
    assert.equal(spec.cpuLimit, 2);
    assert.equal(spec.cpuGuarantee, 0.25);
    assert.equal(spec.env.MEM_GUARANTEE, String(1024 ** 3));
    assert.equal(spec.env.CPU_GUARANTEE, '0.25');
    assert.deepEqual(spec.deviceRequests, [{ count: 1, capabilities: [['gpu']] }, { driver: 'nvidia', deviceIds: ['GPU-1'], capabilities: [['gpu']] }]);
    assert.deepEqual(spec.extraHostConfig, { ShmSize: 1024 });
    assert.deepEqual(spec.postStartCmd, ['/bin/sh', '-c', 'touch /tmp/x && echo ok']);
    assert.deepEqual(build({ spawner: { post_start_cmd: ['touch', '/tmp/x'] } }).postStartCmd, ['touch', '/tmp/x']);
    assert.equal(build({ spawner: { mem_guarantee: '1G', environment: { MEM_GUARANTEE: 'mine' } } }).env.MEM_GUARANTEE, 'mine');
    const none = build();
    for (const k of ['memGuarantee', 'cpuGuarantee', 'deviceRequests', 'extraHostConfig', 'postStartCmd', 'storageSize'] as const) assert.equal(none[k], undefined, k);
    assert.equal('MEM_GUARANTEE' in none.env, false);
  });

  test('labels: extra_labels under berth.*, which name the owner and the hash', () => {
    const spec = build({ docker: { extra_labels: { team: 'a', 'berth.user': 'spoofed' } } }, 'alice', 'lab');
    assert.deepEqual(spec.labels, { team: 'a', 'berth.user': 'alice', 'berth.server': 'lab', 'berth.config-hash': spec.configHash });
  });

  test('the hash follows every setting that shapes the container, never the token or auth-state secrets', () => {
    const a = build();
    const changes: ConfigInput[] = [
      { spawner: { mem_guarantee: '1G' } }, { spawner: { cpu_guarantee: 1 } }, { spawner: { post_start_cmd: 'true' } },
      { docker: { volumes: [{ source: 'd', target: '/d' }] } }, { docker: { volumes: [{ source: 'd', target: '/d', read_only: true }] } },
      { docker: { home_volume: 'home-{username}' } }, { docker: { home_dir: '/home/u' } }, { docker: { device_requests: [{ count: 1 }] } },
      { docker: { extra_host_config: { ShmSize: 1 } } }, { docker: { extra_labels: { team: 'a' } } }, { docker: { storage_size: '1G' } },
    ];
    const hashes = new Set([a.configHash, ...changes.map((c) => build(c).configHash)]);
    assert.equal(hashes.size, changes.length + 1, 'each change gives another hash');
    assert.equal(build({}, 'alice', '', { GITHUB_TOKEN: 'one' }).configHash, build({}, 'alice', '', { GITHUB_TOKEN: 'two' }).configHash);
    assert.notEqual(build({}, 'alice', 'lab').configHash, a.configHash, 'its own volume');
  });
});

describe('the config refuses what would break Berth, with the key and what to do', () => {
  test('extra_host_config: Berth\'s own keys (any case), snake_case keys, Privileged without allow_privileged', () => {
    assert.deepEqual(refusals({ docker: { extra_host_config: { Mounts: [], binds: [], NetworkMode: 'host', PortBindings: {}, Privileged: true, Memory: 1, cpu_period: 1, CPUQUOTA: 1 } } }), {
      'docker.extra_host_config.Mounts': 'Berth sets Mounts itself: use docker.home_volume / docker.volumes',
      'docker.extra_host_config.binds': "a Docker Engine API HostConfig key in PascalCase, e.g. ShmSize (not docker-py's shm_size)",
      'docker.extra_host_config.NetworkMode': 'Berth sets NetworkMode itself: use docker.network',
      'docker.extra_host_config.PortBindings': 'Berth sets PortBindings itself: use nothing: Berth publishes the server port itself',
      'docker.extra_host_config.Privileged': 'a privileged container is root on the host: set docker.allow_privileged: true to mean it',
      'docker.extra_host_config.Memory': 'Berth sets Memory itself: use spawner.mem_limit',
      'docker.extra_host_config.cpu_period': "a Docker Engine API HostConfig key in PascalCase, e.g. ShmSize (not docker-py's shm_size)",
      'docker.extra_host_config.CPUQUOTA': 'Berth sets CPUQUOTA itself: use spawner.cpu_limit (Berth sets NanoCpus, which the engine refuses beside a quota)',
    });
    const ok = configSchema.parse({ docker: { allow_privileged: true, extra_host_config: { Privileged: true, ShmSize: 1 } } });
    assert.deepEqual(ok.docker.extra_host_config, { Privileged: true, ShmSize: 1 });
    assert.equal(configSchema.safeParse({ docker: { extra_host_config: { Privileged: false } } }).success, true);
  });

  test('volumes: bind sources absolute, volume names Docker can take, one mount per target', () => {
    assert.deepEqual(refusals({ docker: { volumes: [
      { source: 'srv/x', target: '/a', type: 'bind' }, { source: '{username}', target: '/b' }, { source: 'a b', target: '/c' }, { source: 'x', target: '/home/jovyan/' },
    ] } }), {
      'docker.volumes.0.source': 'a bind source must be an absolute host path',
      'docker.volumes.1.source': 'a volume name must start with a letter or digit (an escaped name may start with _, which Docker refuses)',
      'docker.volumes.2.source': 'a volume name only letters, digits, _ . - and {username} / {servername}',
      'docker.volumes.3.target': '/home/jovyan/ is already mounted by docker.home_dir',
    });
    assert.equal(configSchema.safeParse({ docker: { volumes: [{ source: 'x', target: 'rel' }] } }).success, false);
  });

  test('home_volume: {username} required, placeholders kept apart, Docker\'s charset', () => {
    assert.deepEqual(refusals({ docker: { home_volume: 'shared-home' } }), { 'docker.home_volume': 'must contain {username}: without it every user shares one home' });
    assert.deepEqual(refusals({ docker: { home_volume: 'h-{username}{servername}' } }), {
      'docker.home_volume': 'put a - or . between {username} and {servername}, or two users could share a volume',
    });
    assert.deepEqual(refusals({ docker: { home_volume: '{username}-home' } }), {
      'docker.home_volume': 'must start with a letter or digit (an escaped name may start with _, which Docker refuses)',
    });
  });

  test('device requests take count or device_ids; guarantees stay within limits', () => {
    assert.deepEqual(refusals({ docker: { device_requests: [{ driver: 'nvidia' }, { count: 1, device_ids: ['0'] }] } }), {
      'docker.device_requests.0.count': 'set either count or device_ids (the engine takes one of them)',
      'docker.device_requests.1.count': 'set either count or device_ids (the engine takes one of them)',
    });
    assert.deepEqual(refusals({ spawner: { mem_limit: '1G', mem_guarantee: '2G', cpu_limit: 1, cpu_guarantee: 2 } }), {
      'spawner.mem_guarantee': 'must not be more than mem_limit',
      'spawner.cpu_guarantee': 'must not be more than cpu_limit',
    });
    assert.equal(configSchema.safeParse({ spawner: { mem_limit: '1G', mem_guarantee: 1024 ** 3 } }).success, true);
  });
});
