// Starts `berth serve` as a real child process (the README's command path) for end-to-end tests,
// and kills it (gracefully or with SIGKILL) by its PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../scripts/berth-dev.mjs', import.meta.url));

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface BerthProcess {
  child: ChildProcess;
  origin: string;
  output: () => string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface StartOptions {
  configFile: string;
  /** The port its origin names (the proxy's, or the api's when it runs alone). */
  port: number;
  /** serve (default), api, proxy or worker. */
  role?: 'serve' | 'api' | 'proxy' | 'worker';
  env?: Record<string, string>;
  logFile?: string;
  timeoutMs?: number;
}

export async function startBerth(opts: StartOptions): Promise<BerthProcess> {
  const role = opts.role ?? 'serve';
  // What each role prints once it is up.
  const readyLine = role === 'worker' ? 'berth: worker running' : 'berth: listening on';
  const child = spawn(process.execPath, [BIN, role, '--config', opts.configFile], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const log = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
  const onData = (d: Buffer) => { out += d.toString(); log?.write(d); };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const origin = `http://127.0.0.1:${opts.port}`;
  await new Promise<void>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`berth did not start within ${opts.timeoutMs ?? 30000} ms:\n${out}`)), opts.timeoutMs ?? 30000);
    const check = () => {
      if (out.includes(readyLine)) { clearTimeout(deadline); child.stdout!.off('data', check); resolve(); }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => { clearTimeout(deadline); reject(new Error(`berth exited with ${code}:\n${out}`)); });
  });
  child.removeAllListeners('exit');
  return {
    child,
    origin,
    output: () => out,
    kill: (signal: NodeJS.Signals = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => { log?.end(); resolve(); });
        child.kill(signal);
      }),
  };
}

export interface E2eSetup {
  dir: string;
  /** Unique per run: container name prefix and volume name prefix, so cleanup touches only ours. */
  tag: string;
  port: number;
  image: string;
  adminToken: string;
  password: string;
}

/** The berth.yaml an end-to-end run uses: shared-password login, an admin service token, labelled containers. */
export function e2eConfig(s: E2eSetup): string {
  return [
    'hub:', `  port: ${s.port}`, `  data_dir: ${s.dir}/data`, '  log_level: debug',
    'auth:', '  shared_password: ${E2E_PASSWORD}', '  admin_password: e2e admin password', '  allow_all: true',
    'services:', '  - name: e2e-admin', '    api_token: ${E2E_ADMIN_TOKEN}', '    admin: true',
    'spawner:', `  image: ${s.image}`, '  http_timeout: 90', '  environment:', '    JUPYTERHUB_ACTIVITY_INTERVAL: "5"',
    'docker:', `  name_prefix: ${s.tag}`, `  home_volume: ${s.tag}-{username}`, '  extra_labels:', '    berth.test: "1"', '',
  ].join('\n');
}

/**
 * Removes what Docker-using tests created: containers labelled berth.test=1, and volumes and networks,
 * whose names contain `namePart`. Suites call it with their run's unique tag when they end, and with
 * their family prefix (e.g. "berthe2e") when they begin, sweeping what a killed earlier run left.
 * Suites run one at a time, so a sweep never touches a live run.
 */
export async function removeTestObjects(namePart: string): Promise<void> {
  const { default: Docker } = await import('dockerode');
  const docker = new Docker();
  for (const c of await docker.listContainers({ all: true, filters: { label: ['berth.test=1'], name: [namePart] } })) {
    await docker.getContainer(c.Id).remove({ force: true }).catch(() => {});
  }
  for (const v of (await docker.listVolumes({ filters: { name: [namePart] } })).Volumes ?? []) await docker.getVolume(v.Name).remove().catch(() => {});
  for (const n of await docker.listNetworks({ filters: { name: [namePart] } })) await docker.getNetwork(n.Id).remove().catch(() => {});
}
