// The token check `GET /hub/api/user` — what every single-user server asks for each new browser
// session — on the compiled `berth serve` (1,000 users with tokens, the fake backend), beside the real
// JupyterHub 3.0 and a bare Node `http` server answering the same JSON (the ceiling of any Node server
// on this machine). wrk, 50 connections, ROUNDS interleaved runs. Loopback only; bounded in time.
//   node --import tsx test/bench/token-check.bench.ts      (BENCH_PROF=<dir>: CPU profile of berth)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/berth-process.ts';
import { startJupyterHub } from './jupyterhub.ts';
import { wrk, type WrkResult } from './wrk.ts';
import { ROUNDS, fmt, spread, type Row } from './report.ts';
import { memory, startChild, stopChild } from './proc.ts';

const BIN = fileURLToPath(new URL('../../bin/berth.mjs', import.meta.url));
/** What a single-user server's OAuth token for alice's server carries. */
const TOKEN_SCOPES = ['access:servers!server=alice/', 'read:users:groups!user', 'read:users:name!user'];
const USERS = 1000;
const SECONDS = 8;

interface Target { url: string; headers: Record<string, string>; pid: number; stop(): Promise<void> }

/** `berth serve` compiled, as admins run it, with USERS users holding a token each, plus alice's. */
async function startBerth(): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-token-'));
  const admin = randomBytes(16).toString('hex');
  const port = await freePort();
  const config = join(dir, 'berth.yaml');
  writeFileSync(config, [
    'hub:', `  port: ${port}`, `  hub_port: ${await freePort()}`, `  data_dir: ${dir}/data`, '  log_level: warn',
    'auth:', '  admin_password: bench admin pw', '  allow_all: true',
    'services:', '  - name: bench', '    api_token: ${BENCH_TOKEN}', '    admin: true',
    'backend: fake', 'spawner:', '  image: fake', '',
  ].join('\n'));
  const prof = process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : [];
  const { child } = await startChild(process.execPath, [...prof, BIN, 'serve', '--config', config], (out) => out.includes('berth: listening on'), { env: { ...process.env, BENCH_TOKEN: admin } })
    .catch((err: unknown) => { rmSync(dir, { recursive: true, force: true }); throw err; });
  const stop = async () => { await stopChild(child); rmSync(dir, { recursive: true, force: true }); };
  try {
    const api = `http://127.0.0.1:${port}/hub/api`;
    const call = async (path: string, body: unknown) => {
      const res = await fetch(`${api}${path}`, { method: 'POST', headers: { authorization: `token ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`bench: POST ${path}: ${res.status} ${await res.text()}`);
      return res.json() as Promise<{ token?: string }>;
    };
    const names = Array.from({ length: USERS }, (_, i) => `user${i}`);
    await call('/users', { usernames: ['alice', ...names] });
    for (const n of names) await call(`/users/${n}/tokens`, { note: 'bench' });
    const { token } = await call('/users/alice/tokens', { scopes: TOKEN_SCOPES, note: 'bench' });
    return { url: `${api}/user`, headers: { authorization: `token ${token}` }, pid: child.pid!, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The ceiling: Node's own http server answering a body of the same size from memory. */
async function startBareNode(bytes: number): Promise<Target> {
  const port = await freePort();
  const src = `const body = Buffer.alloc(${bytes}, 'x');
require('node:http').createServer((q, s) => { s.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }); s.end(body); }).listen(${port}, '127.0.0.1', () => console.log('up'));`;
  const { child } = await startChild(process.execPath, ['-e', src], (out) => out.includes('up'));
  return { url: `http://127.0.0.1:${port}/hub/api/user`, headers: {}, pid: child.pid!, stop: () => stopChild(child) };
}

export async function tokenCheckRows(): Promise<{ rows: Row[]; raw: unknown }> {
  const started: Target[] = [];
  try {
    const berth = await startBerth();
    started.push(berth);
    const idle = memory([berth.pid]);
    const check = await fetch(berth.url, { headers: berth.headers });
    const body = await check.text();
    if (!check.ok) throw new Error(`bench: berth's token check answered ${check.status}: ${body}`);
    const hub = await startJupyterHub(TOKEN_SCOPES);
    started.push({ ...hub, pid: 0 });
    const bare = await startBareNode(Buffer.byteLength(body));
    started.push(bare);
    const targets = { berth, jupyterhub: hub, bare };
    const runs: Record<keyof typeof targets, WrkResult[]> = { berth: [], jupyterhub: [], bare: [] };
    for (const t of Object.values(targets)) await wrk({ ...t, seconds: 2 }); // warm-up
    for (let i = 0; i < ROUNDS; i++) {
      for (const name of Object.keys(targets) as (keyof typeof targets)[]) runs[name].push(await wrk({ ...targets[name], seconds: SECONDS }));
    }
    const under = memory([berth.pid]);
    const rps = (k: keyof typeof targets) => spread(runs[k].map((r) => r.rps));
    const p99 = (k: keyof typeof targets) => spread(runs[k].map((r) => r.p99ms));
    const [b, j, n] = [rps('berth'), rps('jupyterhub'), rps('bare')];
    const failed = runs.berth.reduce((a, r) => a + r.errors + r.non2xx, 0);
    if (failed) throw new Error(`bench: ${failed} of berth's token checks failed`);
    const rows: Row[] = [
      { figure: 'token check `GET /hub/api/user`, req/s', anchor: `JupyterHub 3.0: ${fmt(j)}; bare Node http: ${fmt(n)}`, berth: fmt(b), ratio: `${(b.median / j.median).toFixed(2)}× JupyterHub, ${(b.median / n.median).toFixed(2)}× bare Node`, target: '≥ 10× JupyterHub and ≥ 0.7× bare Node', met: b.median >= 10 * j.median && b.median >= 0.7 * n.median },
      { figure: 'token check p99, ms', anchor: `JupyterHub 3.0: ${fmt(p99('jupyterhub'), 1)}; bare Node: ${fmt(p99('bare'), 1)}`, berth: fmt(p99('berth'), 1), ratio: '', target: '< 10 ms', met: p99('berth').median < 10 },
      { figure: `RSS of \`berth serve\` after creating ${USERS + 1} users with tokens / peak under the token-check load, MiB`, anchor: '', berth: `${idle.rssMb.toFixed(0)} / ${under.peakMb.toFixed(0)}`, ratio: '', target: '', met: null },
    ];
    return { rows, raw: { runs, rss: { idle, underLoad: under }, bodyBytes: Buffer.byteLength(body) } };
  } finally {
    for (const t of started.reverse()) await t.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { table } = await import('./report.ts');
  const r = await tokenCheckRows();
  console.log(table(r.rows));
  console.log(JSON.stringify(r.raw));
}
