// A real image registry on loopback for the pull path: Debian's docker-registry (distribution 2.8),
// installed by scripts/test-env.sh, with a throwaway config and storage. The engine accepts plain
// HTTP from a registry on 127.0.0.0/8, so images pushed here are pulled like from any registry.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './berth-process.ts';
import { until } from './until.ts';

export interface Registry {
  /** host:port, the prefix of image names, e.g. 127.0.0.1:41234 */
  address: string;
  /** Tags `image` into this registry as `<address>/<name>` and pushes it; returns the new name. */
  push(image: string, name: string): string;
  close(): Promise<void>;
}

export async function startRegistry(): Promise<Registry> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-registry-'));
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  writeFileSync(join(dir, 'config.yml'), [
    'version: 0.1', 'log: { level: error }',
    `storage: { filesystem: { rootdirectory: ${dir}/data }, delete: { enabled: true } }`,
    `http: { addr: "${address}" }`, '',
  ].join('\n'));
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  await until(`docker-registry on ${address}`, async () => {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr.slice(-500)}`);
    return (await fetch(`http://${address}/v2/`).catch(() => undefined))?.ok;
  }, 15_000, 100);
  return {
    address,
    push(image, name) {
      const target = `${address}/${name}`;
      execFileSync('docker', ['tag', image, target]);
      execFileSync('docker', ['push', target], { stdio: 'ignore' });
      return target;
    },
    async close() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
