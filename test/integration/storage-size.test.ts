// docker.storage_size (`--storage-opt size`) against real engines of the test's own, each on a
// filesystem the test makes (loop-fs.ts): on overlay2 over ext4, which keeps no per-container quota,
// Berth refuses at start with one line; on btrfs the server's own layer is held to the size while
// its home volume is not. Everything lives in the private engines, destroyed afterwards.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DockerBackend } from '../../src/backends/docker/index.ts';
import { DockerPort } from '../../src/backends/docker/port.ts';
import { configSchema } from '../../src/config/schema.ts';
import { ServiceError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { buildServerSpec } from '../../src/spawn/spec.ts';
import { LoopFs } from '../helpers/loop-fs.ts';
import { PrivateEngine } from '../helpers/private-engine.ts';
import { TINY } from '../helpers/tiny-spec.ts';

const tag = `berthss${randomBytes(3).toString('hex')}`;
const MiB = 1024 * 1024;

function config(socket: string) {
  return configSchema.parse({
    backend: 'docker',
    spawner: { image: TINY },
    docker: { host: `unix://${socket}`, name_prefix: tag, home_volume: `${tag}-{username}`, storage_size: '32M', extra_labels: { 'berth.test': '1' } },
  });
}

/** An engine on a fresh filesystem of `type`; both go in `after`. */
async function engineOn(type: 'btrfs' | 'ext4', driver: string, cleanups: (() => Promise<void>)[]) {
  const fs = new LoopFs(type, 768);
  fs.create();
  const engine = new PrivateEngine({ dataRoot: `${fs.mount}/data`, storageDriver: driver });
  cleanups.unshift(async () => { try { await engine.destroy(); } finally { fs.destroy(); } });
  await engine.start();
  return engine;
}

describe('docker.storage_size on engines with and without quotas', { timeout: 180_000 }, () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  test('overlay2 on ext4 keeps no per-container quota: init refuses with one line naming the driver and the filesystem', async () => {
    const engine = await engineOn('ext4', 'overlay2', cleanups);
    const backend = new DockerBackend(config(engine.socket), silentLogger);
    await assert.rejects(backend.init({ port: 8000 }), (e: unknown) => {
      assert.ok(e instanceof ServiceError, String(e));
      assert.equal(e.code, 'Invalid');
      assert.equal(e.message, `docker.storage_size needs a storage driver with per-container quotas (btrfs, zfs, or overlay2 on xfs mounted with pquota), and the engine at ${engine.socket} uses overlay2 on extfs: remove docker.storage_size, or move the engine's data-root to such a filesystem`);
      assert.doesNotMatch(e.message, /\n/);
      return true;
    });
    await cleanups.shift()!(); // one private engine at a time (they share the test bridge)
  });

  test('btrfs: the container carries the size, a write past it in the server\'s own layer fails, the home volume is not limited', async () => {
    const engine = await engineOn('btrfs', 'btrfs', cleanups);
    await engine.loadImage(TINY);
    const cfg = config(engine.socket);
    const backend = new DockerBackend(cfg, silentLogger);
    await backend.init({ port: 8000 });
    const spec = buildServerSpec({ config: cfg, hubUrl: 'http://host.docker.internal:8000', bindIp: backend.bindIp, user: 'sam', server: '', token: 'x'.repeat(32) });
    assert.equal(spec.storageSize, 32 * MiB);
    const { ref } = await backend.start(spec, () => {});
    const id = String(ref.id);
    const info = await engine.docker.getContainer(id).inspect();
    assert.deepEqual(info.HostConfig.StorageOpt, { size: String(32 * MiB) });
    const port = new DockerPort({ host: `unix://${engine.socket}`, log: silentLogger });
    const sh = async (script: string) => port.exec(id, ['/bin/sh', '-c', script]);
    const small = await sh('dd if=/dev/zero of=/tmp/small bs=1M count=8 2>&1 && echo wrote-small');
    assert.match(small.output, /wrote-small/);
    const big = await sh('dd if=/dev/zero of=/tmp/big bs=1M count=48 2>&1; echo "exit $?"; ls -l /tmp/big');
    assert.match(big.output, /No space left on device|Disk quota exceeded/, big.output);
    assert.doesNotMatch(big.output, /exit 0\b/, big.output);
    const home = await sh('dd if=/dev/zero of=/home/jovyan/big bs=1M count=48 2>&1 && echo wrote-home');
    assert.match(home.output, /wrote-home/, home.output);
    await backend.stop(ref);
  });
});
