// The package as an admin installs it: `npm pack` (which builds dist/), the tarball installed into an
// empty directory with its runtime dependencies only, and `npx berth serve` from there answering
// /hub/api/ — the compiled code, with no TypeScript compiler installed to load. Everything is under a
// temporary directory, the server is ended by its process group, containers by their labels.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, removeTestObjects } from '../helpers/berth-process.ts';
import { until } from '../helpers/until.ts';
import { TINY } from '../helpers/tiny-spec.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const tag = `berthpkg${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'berth-pkg-'));
const npm = (args: string[], cwd: string) => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8', timeout: 300_000 });

describe('the packed package', { timeout: 420_000 }, () => {
  let server: ChildProcess | undefined;
  after(async () => {
    // npx runs berth as its child: the whole group (this test's own) goes
    if (server?.pid && server.exitCode === null) {
      try { process.kill(-server.pid, 'SIGTERM'); } catch { /* already gone */ }
      await until('berth exits', () => server!.exitCode !== null || server!.signalCode !== null, 15_000, 50).catch(() => process.kill(-server!.pid!, 'SIGKILL'));
    }
    await removeTestObjects(tag);
    rmSync(dir, { recursive: true, force: true });
  });

  test('npm pack, npm install of the tarball in an empty directory, npx berth serve answers /hub/api/', async () => {
    const packed = npm(['pack', '--pack-destination', dir], repo).trim().split('\n').at(-1)!;
    const tarball = join(dir, packed);
    assert.ok(existsSync(tarball), `npm pack wrote ${tarball}`);
    const site = join(dir, 'site');
    execFileSync('mkdir', [site]);
    writeFileSync(join(site, 'package.json'), '{"name": "berth-site", "private": true}\n');
    npm(['install', '--prefer-offline', '--omit=dev', tarball], site);
    const installed = join(site, 'node_modules');
    assert.ok(existsSync(join(installed, 'berth/dist/src/cli.js')), 'the compiled code is in the package');
    assert.equal(existsSync(join(installed, 'berth/src')), false, 'the TypeScript sources are not');
    for (const compiler of ['tsx', 'typescript', 'esbuild']) assert.equal(existsSync(join(installed, compiler)), false, `${compiler} is not installed`);

    const port = await freePort();
    server = spawn('npx', ['--no-install', 'berth', 'serve'], {
      cwd: site, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env, BERTH_PORT: String(port), BERTH_DATA_DIR: join(dir, 'data'), BERTH_IMAGE: TINY, BERTH_PREPULL_ENABLED: 'false',
        BERTH_DOCKER_NAME_PREFIX: tag, BERTH_DOCKER_EXTRA_LABELS: '{berth.test: "1"}', BERTH_ADMIN_PASSWORD: 'pkg admin pw',
      },
    });
    let out = '';
    server.stdout!.on('data', (c) => { out += c; });
    server.stderr!.on('data', (c) => { out += c; });
    const body = await until('berth answers /hub/api/', async () => {
      if (server!.exitCode !== null) throw new Error(`berth exited with ${server!.exitCode}:\n${out}`);
      const r = await fetch(`http://127.0.0.1:${port}/hub/api/`).catch(() => undefined);
      return r?.status === 200 ? (await r.json()) as { version: string } : undefined;
    }, 60_000, 200);
    assert.match(body.version, /^\d+\.\d+/);
    assert.deepEqual(readdirSync(join(installed, 'berth')).sort(), ['README.md', 'bin', 'dist', 'package.json']);
  });
});
