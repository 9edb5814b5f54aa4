// The three proxies of the proxy bench, each started as its admin runs it, in its own temporary
// directory, with ROUTES routes /user/u<i>/ → the one upstream: Berth (the compiled `berth proxy`,
// routes read from its database), configurable-http-proxy 5.3 (routes added through its REST API) and
// Debian's nginx (a location per route, keep-alive to the upstream). stop() ends only the process we
// started (by PID; nginx's workers leave with their master) and removes the directory.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/berth-process.ts';
import { chp } from './jupyterhub.ts';
import { startChild, stopChild } from './proc.ts';

export const ROUTES = 1050;
const BERTH = fileURLToPath(new URL('../../bin/berth.mjs', import.meta.url));

export interface Peer {
  name: 'berth' | 'chp' | 'nginx';
  /** http://127.0.0.1:<port> */
  origin: string;
  /** The processes whose memory is the proxy's (nginx: master and workers). */
  pids(): number[];
  stop(): Promise<void>;
}

async function waitForHttp(url: string, child: ChildProcess, output: () => string, headers: Record<string, string> = {}) {
  const deadline = Date.now() + 20_000;
  while (!(await fetch(url, { headers }).then(async (r) => { await r.arrayBuffer(); return r.ok; }, () => false))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`bench: ${url} never answered 200:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function withDir<T extends Peer>(prefix: string, start: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return start(dir).then(
    (peer) => ({ ...peer, stop: () => peer.stop().finally(() => rmSync(dir, { recursive: true, force: true })) }),
    (err: unknown) => { rmSync(dir, { recursive: true, force: true }); throw err; },
  );
}

/**
 * `berth proxy` from dist/ with the fake backend: ROUTES users, each with a running server whose url
 * is the upstream, written to its database before it starts (how a restarted proxy finds them).
 * The api it forwards hub requests to is not started: no figure goes there.
 */
export function startBerthProxy(upstream: string): Promise<Peer> {
  return withDir('berth-bench-proxy-', async (dir) => {
    const port = await freePort();
    const configFile = join(dir, 'berth.yaml');
    writeFileSync(configFile, [
      'hub:', `  port: ${port}`, `  hub_port: ${await freePort()}`, `  data_dir: ${dir}/data`, '  log_level: warn',
      // set, so the proxy does not probe the hub API (there is no api) while the figures run
      `  hub_connect_url: http://127.0.0.1:${port}`,
      'auth:', '  admin_password: bench admin pw', '  allow_all: true',
      'backend: fake', 'spawner:', '  image: fake', '',
    ].join('\n'));
    execFileSync(process.execPath, [BERTH, 'migrate', '--config', configFile], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 60_000 });
    await writeRoutes(`file:${dir}/data/berth.db`, upstream);
    const { child, output } = await startChild(process.execPath, [...profArgs(), BERTH, 'proxy', '--config', configFile], (o) => o.includes('berth: listening on'));
    const origin = `http://127.0.0.1:${port}`;
    await waitForHttp(`${origin}/user/u${ROUTES - 1}/small`, child, output);
    return { name: 'berth', origin, pids: () => [child.pid!], stop: () => stopChild(child) };
  });
}

/** BENCH_PROF=<dir>: a CPU profile of Berth's proxy, written when it exits on SIGTERM. */
function profArgs(): string[] {
  return process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : [];
}

async function writeRoutes(url: string, upstream: string) {
  const { openDb, schema } = await import('../../db/client.ts');
  const { bumpRoutes } = await import('../../src/state/routes.ts');
  const db = await openDb(url);
  try {
    const now = Date.now();
    const names = Array.from({ length: ROUTES }, (_, i) => `u${i}`);
    const users = await db.insert(schema.users).values(names.map((name) => ({ name, createdAt: now }))).returning({ id: schema.users.id });
    await db.insert(schema.servers).values(users.map((u) => ({
      userId: u.id, name: '', state: 'running' as const, backend: 'fake', backendRef: { fake: String(u.id) }, url: upstream, requestedAt: now, startedAt: now, readyAt: now,
    })));
    await bumpRoutes(db);
  } finally {
    db.$client.close();
  }
}

/** configurable-http-proxy 5.3 (what JupyterHub runs), its ROUTES routes added one by one through its REST API, as JupyterHub does. */
export function startChp(upstream: string): Promise<Peer> {
  return withDir('berth-bench-chp-', async () => {
    const [port, apiPort] = [await freePort(), await freePort()];
    const token = randomBytes(16).toString('hex');
    const { child, output } = await startChild(process.execPath, [chp(), '--ip', '127.0.0.1', '--port', String(port), '--api-ip', '127.0.0.1', '--api-port', String(apiPort), '--log-level', 'warn'],
      () => true, { env: { ...process.env, CONFIGPROXY_AUTH_TOKEN: token } });
    try {
      await waitForHttp(`http://127.0.0.1:${apiPort}/api/routes`, child, output, { authorization: `token ${token}` });
      for (let i = 0; i < ROUTES; i++) {
        const res = await fetch(`http://127.0.0.1:${apiPort}/api/routes/user/u${i}`, { method: 'POST', headers: { authorization: `token ${token}` }, body: JSON.stringify({ target: upstream }) });
        await res.arrayBuffer();
        if (res.status !== 201) throw new Error(`bench: configurable-http-proxy refused a route: ${res.status}`);
      }
      const origin = `http://127.0.0.1:${port}`;
      await waitForHttp(`${origin}/user/u${ROUTES - 1}/small`, child, output);
      return { name: 'chp', origin, pids: () => [child.pid!], stop: () => stopChild(child) };
    } catch (err) {
      await stopChild(child);
      throw err;
    }
  });
}

/**
 * Debian's nginx with one worker process (Berth and configurable-http-proxy are one process each), a
 * `location /user/u<i>/` per route, HTTP/1.1 keep-alive to the upstream and WebSocket upgrades passed
 * through (the usual Jupyter config); no access log (the other two log no requests either).
 */
export function startNginx(upstream: string): Promise<Peer> {
  return withDir('berth-bench-nginx-', async (dir) => {
    const port = await freePort();
    const up = new URL(upstream);
    const locations = Array.from({ length: ROUTES }, (_, i) => `    location /user/u${i}/ { proxy_pass http://jupyter; }`);
    writeFileSync(join(dir, 'nginx.conf'), [
      'worker_processes 1;', `pid ${dir}/nginx.pid;`, `error_log ${dir}/error.log warn;`,
      'events { worker_connections 4096; }',
      'http {',
      '  access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`),
      `  upstream jupyter { server ${up.host}; keepalive 64; }`,
      "  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }",
      '  server {',
      `    listen 127.0.0.1:${port};`,
      '    proxy_http_version 1.1;',
      '    proxy_set_header Host $host;',
      '    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
      '    proxy_set_header X-Forwarded-Proto $scheme;',
      '    proxy_set_header Upgrade $http_upgrade;',
      '    proxy_set_header Connection $connection_upgrade;',
      '    proxy_read_timeout 1h;',
      // large responses stream through the buffers instead of being spooled to a temp file
      '    proxy_max_temp_file_size 0;',
      ...locations,
      '  }',
      '}', '',
    ].join('\n'));
    const { child, output } = await startChild('/usr/sbin/nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], () => true);
    const origin = `http://127.0.0.1:${port}`;
    try {
      await waitForHttp(`${origin}/user/u${ROUTES - 1}/small`, child, () => output() + readFileSync(join(dir, 'error.log'), 'utf8'));
    } catch (err) {
      await stopChild(child);
      throw err;
    }
    return { name: 'nginx', origin, pids: () => [child.pid!, ...childrenOf(child.pid!)], stop: () => stopChild(child) };
  });
}

/** PIDs whose parent is `pid` (nginx's workers). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(d));
    } catch { /* exited meanwhile */ }
  }
  return out;
}

