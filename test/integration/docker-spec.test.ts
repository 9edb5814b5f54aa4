// The complete spec against the real engine: what buildServerSpec puts in a spec — limits and
// guarantees, labels, the home volume and extra mounts (read-only, bind), device requests,
// post_start_cmd, a named server's own volume — is what `docker inspect` finds on the container.
// Everything is named berthspec-<random>, labelled berth.test=1, and removed afterwards.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { DockerBackend } from '../../src/backends/docker/index.ts';
import { containerCreateBody } from '../../src/backends/docker/container-spec.ts';
import { configSchema, type ConfigInput } from '../../src/config/schema.ts';
import { SpawnError } from '../../src/errors.ts';
import type { Logger } from '../../src/log.ts';
import { buildServerSpec } from '../../src/spawn/spec.ts';
import { removeTestObjects } from '../helpers/berth-process.ts';
import { shellIn } from '../helpers/docker-shell.ts';

const TINY = 'berth-test/tiny:latest';
const RUN = randomBytes(4).toString('hex');
const PREFIX = `berthspec-${RUN}`;
const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const noProgress = () => {};

function testConfig(c: { spawner?: ConfigInput['spawner']; docker?: ConfigInput['docker'] } = {}) {
  return configSchema.parse({
    backend: 'docker',
    spawner: { image: TINY, ...c.spawner },
    docker: { name_prefix: PREFIX, home_volume: `${PREFIX}-home-{username}`, extra_labels: { 'berth.test': '1' }, ...c.docker },
  });
}

/** What the spawn runner does: the spec from the config in force and the user. */
function specFor(config: ReturnType<typeof testConfig>, user: string, server = '') {
  return buildServerSpec({ config, hubUrl: 'http://host.docker.internal:8000', bindIp: '0.0.0.0', user, server, token: 'x'.repeat(32) });
}

/** A logger that keeps what it is told, for the post_start_cmd messages. */
function recordingLogger(): Logger & { lines: { level: string; msg: string; fields?: Record<string, unknown> }[] } {
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => { lines.push({ level, msg, fields }); };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

async function removeRunObjects() {
  for (const c of await docker.listContainers({ all: true, filters: { name: [PREFIX] } })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
  for (const v of (await docker.listVolumes({ filters: { name: [PREFIX] } })).Volumes ?? []) {
    if (v.Name.startsWith(PREFIX)) await docker.getVolume(v.Name).remove().catch(() => {});
  }
}

describe('docker: the spec shapes the container', () => {
  let n = 0;
  const user = () => `sp${RUN}.u-${++n}`;
  const bindDir = mkdtempSync(join(tmpdir(), 'berthspec-'));
  writeFileSync(join(bindDir, 'course.txt'), 'from the host\n');

  before(async () => {
    await removeTestObjects('berthspec-'); // what a killed earlier run left
  });
  after(async () => {
    await removeRunObjects();
    rmSync(bindDir, { recursive: true, force: true });
  });

  test('docker inspect: memory and cpu limits and guarantees, labels, home and extra mounts (read-only, bind); post_start_cmd ran', async () => {
    const config = testConfig({
      spawner: { mem_limit: '128M', mem_guarantee: '64M', cpu_limit: 0.5, cpu_guarantee: 0.25, post_start_cmd: 'touch /tmp/post-start-ran' },
      docker: {
        extra_labels: { 'berth.test': '1', team: 'physics' },
        volumes: [
          { source: `${PREFIX}-shared`, target: '/shared', read_only: true },
          { source: `${PREFIX}-scratch-{username}`, target: '/scratch' },
          { source: bindDir, target: '/course', type: 'bind', read_only: true },
        ],
        extra_host_config: { ShmSize: 32 * 1024 * 1024 },
      },
    });
    const backend = new DockerBackend(config, silent());
    await backend.init({ port: 8000 });
    const u = user();
    const spec = specFor(config, u);
    const { ref } = await backend.start(spec, noProgress);
    const info = await docker.getContainer(String(ref.id)).inspect();
    assert.equal(info.HostConfig.Memory, 128 * 1024 ** 2);
    assert.equal(info.HostConfig.MemoryReservation, 64 * 1024 ** 2);
    assert.equal(info.HostConfig.NanoCpus, 500_000_000);
    assert.equal(info.HostConfig.CpuShares, 256);
    assert.equal(info.HostConfig.ShmSize, 32 * 1024 * 1024);
    const labels = Object.fromEntries(Object.entries(info.Config.Labels).filter(([k]) => k !== 'berth.test.recipe'));
    assert.deepEqual(labels, {
      'berth.managed-by': 'berth', 'berth.instance': PREFIX, 'berth.user': u, 'berth.server': '', 'berth.config-hash': spec.configHash,
      'berth.port': '8888', 'berth.backend': 'docker', 'berth.test': '1', team: 'physics',
    });
    const escaped = u.replace('.', '_2e').replace('-', '_2d');
    const mounts = info.Mounts.map((m) => ({ type: m.Type, source: m.Type === 'volume' ? m.Name : m.Source, target: m.Destination, rw: m.RW }))
      .sort((a, b) => a.target.localeCompare(b.target));
    assert.deepEqual(mounts, [
      { type: 'bind', source: bindDir, target: '/course', rw: false },
      { type: 'volume', source: `${PREFIX}-home-${escaped}`, target: '/home/jovyan', rw: true },
      { type: 'volume', source: `${PREFIX}-scratch-${escaped}`, target: '/scratch', rw: true },
      { type: 'volume', source: `${PREFIX}-shared`, target: '/shared', rw: false },
    ]);
    // read-only for real, and the bind shows the host's file
    assert.match(await shellIn(String(ref.id), 'touch /shared/x 2>&1; touch /course/x 2>&1; touch /scratch/x && echo scratch-ok'), /Read-only file system[\s\S]*Read-only file system[\s\S]*scratch-ok/);
    assert.equal(await shellIn(String(ref.id), 'cat /course/course.txt'), 'from the host\n');
    assert.equal(await shellIn(String(ref.id), 'test -f /tmp/post-start-ran && echo ran'), 'ran\n');
    // the home volume is Berth's (labelled, found by listVolumes); the extra ones are the engine's, unlabelled
    const home = await docker.getVolume(`${PREFIX}-home-${escaped}`).inspect();
    assert.deepEqual(home.Labels, { 'berth.managed-by': 'berth', 'berth.instance': PREFIX, 'berth.user': u, 'berth.server': '', 'berth.test': '1', team: 'physics' });
    assert.ok((await backend.listVolumes()).some((v) => v.name === home.Name && v.user === u));
    assert.equal((await docker.getVolume(`${PREFIX}-shared`).inspect()).Labels?.['berth.managed-by'], undefined);
    await backend.stop(ref);
  });

  test('a failing post_start_cmd is logged with its output and exit code; the server still starts', async () => {
    const config = testConfig({ spawner: { post_start_cmd: 'echo about to fail; echo broken >&2; exit 3' } });
    const log = recordingLogger();
    const backend = new DockerBackend(config, log);
    await backend.init({ port: 8000 });
    const { ref } = await backend.start(specFor(config, user()), noProgress);
    assert.deepEqual(await backend.poll(ref), { status: 'running' });
    const failed = log.lines.find((l) => l.msg === 'docker: post_start_cmd failed; the server starts anyway');
    assert.ok(failed, JSON.stringify(log.lines.map((l) => l.msg)));
    assert.equal(failed.level, 'warn');
    assert.equal(failed.fields?.exitCode, 3);
    // stdout and stderr, as the engine interleaves them (their order between the two streams is not kept)
    assert.deepEqual(String(failed.fields?.output).split('\n').filter(Boolean).sort(), ['about to fail', 'broken']);
    await backend.stop(ref);

    // a program that does not exist in the image: the exec itself fails, logged, server up
    const missing = testConfig({ spawner: { post_start_cmd: ['/no/such/program'] } });
    const log2 = recordingLogger();
    const backend2 = new DockerBackend(missing, log2);
    await backend2.init({ port: 8000 });
    const second = await backend2.start(specFor(missing, user()), noProgress);
    assert.deepEqual(await backend2.poll(second.ref), { status: 'running' });
    assert.ok(log2.lines.some((l) => l.level === 'warn' && /post_start_cmd/.test(l.msg)), JSON.stringify(log2.lines));
    await backend2.stop(second.ref);
  });

  test('home_size: the home volume is created with the driver options, {size} in bytes, and the mount enforces it', async () => {
    // tmpfs stands in for a quota-capable driver: its size= is a limit the kernel enforces, visible in /proc/mounts
    const config = testConfig({ docker: { home_size: '16M', home_volume_driver: 'local', home_volume_driver_options: { type: 'tmpfs', device: 'tmpfs', o: 'size={size},uid=1000' } } });
    const backend = new DockerBackend(config, silent());
    await backend.init({ port: 8000 });
    const u = user();
    const r = await backend.start(specFor(config, u), noProgress);
    const home = (await docker.getContainer(String(r.ref.id)).inspect()).Mounts.find((m) => m.Destination === '/home/jovyan')!;
    const vol = await docker.getVolume(home.Name!).inspect();
    assert.deepEqual(vol.Options, { type: 'tmpfs', device: 'tmpfs', o: `size=${16 * 1024 * 1024},uid=1000` });
    assert.match(await shellIn(String(r.ref.id), 'grep " /home/jovyan " /proc/mounts'), /size=16384k/);
    const full = await shellIn(String(r.ref.id), 'dd if=/dev/zero of=/home/jovyan/big bs=1M count=32 2>&1; echo rc=$?');
    assert.match(full, /rc=1/, `writing 32M into a 16M home fails: ${full}`);
    await backend.stop(r.ref);
  });

  test('two named servers of one user run at once, each with its own volume; the default server keeps <template>', async () => {
    const config = testConfig();
    const backend = new DockerBackend(config, silent());
    await backend.init({ port: 8000 });
    const u = user();
    const a = await backend.start(specFor(config, u, 'lab'), noProgress);
    const b = await backend.start(specFor(config, u, 'Exam 1'), noProgress);
    const d = await backend.start(specFor(config, u, ''), noProgress);
    const homeOf = async (id: unknown) => (await docker.getContainer(String(id)).inspect()).Mounts.find((m) => m.Destination === '/home/jovyan')?.Name;
    const escaped = u.replace('.', '_2e').replace('-', '_2d');
    assert.deepEqual([await homeOf(a.ref.id), await homeOf(b.ref.id), await homeOf(d.ref.id)], [
      `${PREFIX}-home-${escaped}--lab`, `${PREFIX}-home-${escaped}--_45xam_201`, `${PREFIX}-home-${escaped}`,
    ]);
    await shellIn(String(a.ref.id), 'echo only-in-lab > /home/jovyan/note.txt');
    assert.equal(await shellIn(String(b.ref.id), 'cat /home/jovyan/note.txt 2>/dev/null || echo absent'), 'absent\n');
    for (const r of [a, b, d]) assert.deepEqual(await backend.poll(r.ref), { status: 'running' });
    assert.equal((await docker.getVolume(`${PREFIX}-home-${escaped}--lab`).inspect()).Labels?.['berth.server'], 'lab');
    for (const r of [a, b, d]) await backend.stop(r.ref);
  });

  test('device requests: the engine stores them as configured; without a GPU runtime the start fails with its words, nothing left', async () => {
    const config = testConfig({ docker: { device_requests: [{ count: 'all' }, { driver: 'nvidia', device_ids: ['0'], capabilities: [['gpu', 'utility']] }] } });
    const u = user();
    const spec = specFor(config, u);
    // what the backend sends, created (not started) on the real engine and read back
    const body = containerCreateBody({ config, spec, name: `${PREFIX}-devices`, networking: { mode: 'host' } });
    const created = await docker.createContainer(body);
    try {
      const info = await created.inspect();
      assert.deepEqual(info.HostConfig.DeviceRequests, [
        { Driver: '', Count: -1, DeviceIDs: null, Capabilities: [['gpu']], Options: {} },
        { Driver: 'nvidia', Count: 0, DeviceIDs: ['0'], Capabilities: [['gpu', 'utility']], Options: {} },
      ]);
    } finally {
      await created.remove({ force: true });
    }
    const runtimes = Object.keys(((await docker.info()) as { Runtimes?: Record<string, unknown> }).Runtimes ?? {});
    const backend = new DockerBackend(config, silent());
    await backend.init({ port: 8000 });
    if (runtimes.includes('nvidia')) {
      const { ref } = await backend.start(spec, noProgress);
      await backend.stop(ref);
    } else {
      await assert.rejects(backend.start(spec, noProgress), (e: unknown) => {
        assert.ok(e instanceof SpawnError);
        assert.equal(e.reason, 'start');
        assert.match(e.message, /could not select device driver/);
        return true;
      });
      assert.deepEqual((await backend.list()).filter((l) => l.user === u), [], 'the failed container was removed');
    }
  });

  test('a bind source that does not exist fails the spawn with the engine\'s words (it is never created)', async () => {
    const missing = join(bindDir, 'not-there');
    const config = testConfig({ docker: { volumes: [{ source: missing, target: '/x', type: 'bind' }] } });
    const backend = new DockerBackend(config, silent());
    await backend.init({ port: 8000 });
    await assert.rejects(backend.start(specFor(config, user()), noProgress), (e: unknown) => {
      assert.ok(e instanceof SpawnError);
      assert.match(e.message, /bind source path does not exist/);
      return true;
    });
  });
});

function silent(): Logger {
  return { debug() {}, info() {}, warn() {}, error() {} };
}
