// The pieces of the spawn bench (spawn.bench.ts): the compiled `berth serve` as a child process with
// a generated config, its REST API as an admin service, its RSS from /proc, and the floor — the same
// containers made straight on the Engine API with dockerode. Everything the bench creates carries
// berth.bench=<tag>, and only that is removed. Loopback and this bench's own containers only.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { request } from 'node:http';
import Docker from 'dockerode';
import { freePort } from '../helpers/berth-process.ts';
import { memory, startChild, stopChild } from './proc.ts';

const BIN = fileURLToPath(new URL('../../bin/berth.mjs', import.meta.url));
export const docker = new Docker({ socketPath: '/var/run/docker.sock' });

/** One bench run's name: container and volume prefix, Berth's name_prefix, the label cleanup selects by. */
export const TAG = `berthbench${randomBytes(3).toString('hex')}`;
export const BENCH_LABELS = { 'berth.test': '1', 'berth.bench': TAG };

/** Every berth child this bench started, so an error or a signal still ends them (by PID). */
const children = new Set<ChildProcess>();
export function killChildren(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

export interface Berth {
  child: ChildProcess;
  pid: number;
  origin: string;
  api: string;
  token: string;
  dir: string;
  configFile: string;
  /** Performance.now() when the process was spawned and when it printed its listening line. */
  spawnedAt: number;
  listeningAt: number;
  stop(): Promise<void>;
}

export function writeConfig(dir: string, port: number, image: string, extra: string[] = []): string {
  const file = join(dir, 'berth.yaml');
  writeFileSync(file, [
    'hub:', `  port: ${port}`, `  data_dir: ${dir}/data`, `  log_level: ${process.env.BENCH_LOG ?? 'warn'}`, ...extra,
    'auth:', '  admin_password: bench admin pw', '  allow_all: true',
    'services:', '  - name: bench', '    api_token: ${BENCH_TOKEN}', '    admin: true',
    'backend: docker',
    'spawner:', `  image: ${image}`, '  http_timeout: 120', '  start_timeout: 300',
    'docker:', `  name_prefix: ${TAG}`, `  home_volume: ${TAG}-{username}`, '  extra_labels:',
    ...Object.entries(BENCH_LABELS).map(([k, v]) => `    ${k}: "${v}"`), '',
  ].join('\n'));
  return file;
}

/** `node bin/berth.mjs serve --config <file>`: resolves once it prints its listening line. */
export async function startBerth(opts: { image: string; dir?: string; port?: number; token?: string; hub?: string[]; nodeArgs?: string[] }): Promise<Berth> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), `${TAG}-`));
  const port = opts.port ?? (await freePort());
  const token = opts.token ?? randomBytes(16).toString('hex');
  const configFile = writeConfig(dir, port, opts.image, opts.hub);
  const spawnedAt = performance.now();
  // BENCH_PROF=<dir>: a CPU profile of each berth process (written when it exits on SIGTERM)
  const prof = process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : [];
  const { child } = await startChild(process.execPath, [...prof, ...(opts.nodeArgs ?? []), BIN, 'serve', '--config', configFile], (out) => out.includes('berth: listening on'), { env: { ...process.env, BENCH_TOKEN: token } });
  const listeningAt = performance.now();
  children.add(child);
  const origin = `http://127.0.0.1:${port}`;
  return {
    child, pid: child.pid!, origin, api: `${origin}/hub/api`, token, dir, configFile, spawnedAt, listeningAt,
    stop: () => { children.delete(child); return stopChild(child, 10_000); }, // a CPU profile takes a while to write
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** VmRSS and VmHWM (the peak) of a process, in MiB. */
export function rss(pid: number): { rssMiB: number; peakMiB: number } {
  const m = memory([pid]);
  return { rssMiB: m.rssMb, peakMiB: m.peakMb };
}

export function headers(b: Berth): Record<string, string> {
  return { authorization: `token ${b.token}`, 'content-type': 'application/json' };
}

export async function createUsers(b: Berth, names: string[]): Promise<void> {
  for (let i = 0; i < names.length; i += 200) {
    const res = await fetch(`${b.api}/users`, { method: 'POST', headers: headers(b), body: JSON.stringify({ usernames: names.slice(i, i + 200) }) });
    if (res.status !== 201) throw new Error(`POST /users: ${res.status} ${await res.text()}`);
  }
}

/** How many users have a ready server (one paginated request of one row: the total is in _pagination). */
export async function readyCount(b: Berth): Promise<number> {
  const res = await fetch(`${b.api}/users?state=ready&limit=1`, { headers: { ...headers(b), accept: 'application/jupyterhub-pagination+json' } });
  const body = (await res.json()) as { _pagination?: { total: number } };
  return body._pagination?.total ?? 0;
}

/**
 * A token Berth made (for a user "probe"), as single-user servers and scripts hold: its check costs
 * one hash round. The admin token from the config is hashed with 16384 rounds (JupyterHub's rule for
 * user-supplied tokens), a few ms of Berth's CPU each time the database moved — a probe with it would
 * load the API it measures.
 */
export async function probeToken(b: Berth): Promise<string> {
  await createUsers(b, ['probe']);
  const res = await fetch(`${b.api}/users/probe/tokens`, { method: 'POST', headers: headers(b), body: JSON.stringify({ note: 'bench probe' }) });
  if (res.status !== 201) throw new Error(`POST /users/probe/tokens: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/**
 * A light probe of the API while a burst runs: one `GET /hub/api/user` at a time, every `everyMs`,
 * until stopped or `maxMs` passed. Returns the latencies in ms.
 */
export async function apiProbe(b: Berth, everyMs = 25, maxMs = 600_000): Promise<{ stop(): Promise<number[]> }> {
  const auth = { authorization: `token ${await probeToken(b)}` };
  const latencies: number[] = [];
  let stopped = false;
  const end = performance.now() + maxMs;
  const loop = (async () => {
    while (!stopped && performance.now() < end) {
      const t = performance.now();
      try {
        const res = await fetch(`${b.api}/user`, { headers: auth });
        await res.arrayBuffer();
        latencies.push(performance.now() - t);
      } catch { latencies.push(performance.now() - t); }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return { stop: async () => { stopped = true; await loop; return latencies; } };
}

export function quantile(xs: number[], q: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

/** One GET; the status, or undefined when nothing answered. */
export function httpStatus(url: string, timeoutMs = 2000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: timeoutMs, agent: false }, (res) => { res.resume(); resolve(res.statusCode); });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** Polls `url` every `everyMs` until a status below 500 (Berth's own readiness rule), or throws at `timeoutMs`. */
export async function untilAnswers(url: string, everyMs: number, timeoutMs: number, ok = (s: number) => s < 500): Promise<void> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const s = await httpStatus(url);
    if (s !== undefined && ok(s)) return;
    if (performance.now() > end) throw new Error(`${url} did not answer within ${timeoutMs} ms (last ${s})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Runs `fn` over `items`, at most `limit` at once. */
export async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

/** Removes this bench's containers and volumes (label berth.bench=<tag>), nothing else. */
export async function removeBenchObjects(): Promise<void> {
  const label = `berth.bench=${TAG}`;
  const containers = await docker.listContainers({ all: true, filters: { label: [label] } });
  await pool(containers, 8, async (c) => { await docker.getContainer(c.Id).remove({ force: true }).catch(() => {}); });
  const volumes = (await docker.listVolumes({ filters: { label: [label] } })).Volumes ?? [];
  await pool(volumes, 8, async (v) => { await docker.getVolume(v.Name).remove().catch(() => {}); });
}
