// `npm run bench`: Berth's hot paths, measured on this machine, written to test/bench/results/.
// Figures only — tests never assert on timings. Loopback only; every loop bounded in count and time.
// The server under test runs in a child process so the load generator does not share its event loop.
import { createServer } from 'node:http';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { getRequestListener } from '@hono/node-server';
import { load, type LoadResult } from './load.ts';
import { startJupyterHub } from './jupyterhub.ts';
import { spawnWake } from './wake.bench.ts';

/** Child: an app with 1000 users and tokens, one OAuth-style browser token printed for the parent. */
async function serveTokenCheck() {
  const { buildTestApp } = await import('../helpers/app.ts');
  const t = await buildTestApp({ runner: false });
  const user = await t.createUser('alice');
  const token = await t.createToken(user.id, ['access:servers!server=alice/', 'read:users:groups!user', 'read:users:name!user']);
  for (let i = 0; i < 1000; i++) await t.createToken((await t.createUser(`user${i}`)).id);
  const server = createServer(getRequestListener(t.app.fetch));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  process.on('SIGTERM', () => process.exit(0)); // a clean exit lets --cpu-prof write its profile
  console.log(JSON.stringify({ port: (server.address() as { port: number }).port, token }));
}

/** The scopes of the bench's token: what a single-user server's OAuth token for alice's server carries. */
const TOKEN_SCOPES = ['access:servers!server=alice/', 'read:users:groups!user', 'read:users:name!user'];
const ROUNDS = 3;

interface Figure { runs: LoadResult[]; rps: Spread; p99ms: Spread }
interface Spread { median: number; min: number; max: number }
const spread = (xs: number[]): Spread => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]!, max: s.at(-1)! };
};
const figure = (runs: LoadResult[]): Figure => ({ runs, rps: spread(runs.map((r) => r.rps)), p99ms: spread(runs.map((r) => r.p99ms)) });

/**
 * `GET /hub/api/user` on Berth and on JupyterHub 3.0 (the anchor), interleaved: ROUNDS rounds of one
 * bounded load each, after a warm-up of each, on the same machine in the same run.
 */
async function tokenCheck() {
  const child = spawn(process.execPath, [...(process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : []), '--import', 'tsx', fileURLToPath(import.meta.url)], { env: { ...process.env, BENCH_ROLE: 'token-check-server' }, stdio: ['ignore', 'pipe', 'inherit'] });
  let hub: Awaited<ReturnType<typeof startJupyterHub>> | undefined;
  try {
    const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
    const { port, token } = JSON.parse(line) as { port: number; token: string };
    const berth = { url: `http://127.0.0.1:${port}/hub/api/user`, headers: { authorization: `token ${token}` } };
    hub = await startJupyterHub(TOKEN_SCOPES);
    const targets = { berth, jupyterhub: hub };
    for (const t of Object.values(targets)) await load({ ...t, connections: 10, requests: 2000, seconds: 5 }); // warm-up
    const runs: Record<keyof typeof targets, LoadResult[]> = { berth: [], jupyterhub: [] };
    for (let i = 0; i < ROUNDS; i++) {
      for (const name of Object.keys(targets) as (keyof typeof targets)[]) {
        runs[name].push(await load({ url: targets[name].url, headers: targets[name].headers, connections: 50, requests: 30000, seconds: 10 }));
      }
    }
    const b = figure(runs.berth);
    const j = figure(runs.jupyterhub);
    return { berth: b, jupyterhub: j, ratio: b.rps.median / j.rps.median, target: '≥ 10× JupyterHub; p99 < 10 ms' };
  } finally {
    child.kill();
    await hub?.stop();
  }
}

/** The dated Markdown report beside the JSON: each figure, its anchor, the ratio and the target. */
function report(r: { date: string; node: string; tokenCheck: Awaited<ReturnType<typeof tokenCheck>>; spawnWake: Awaited<ReturnType<typeof spawnWake>> }): string {
  const t = r.tokenCheck;
  const f = (s: Spread, d = 0) => `${s.median.toFixed(d)} (${s.min.toFixed(d)}–${s.max.toFixed(d)})`;
  return [
    `# Berth bench, ${r.date} (Node ${r.node})`, '',
    `Medians of ${ROUNDS} interleaved runs (min–max); loopback, 50 connections, the load generator on the same machine.`, '',
    '| figure | anchor | Berth | ratio | target |', '|---|---|---|---|---|',
    `| token check \`GET /hub/api/user\`, req/s | JupyterHub 3.0: ${f(t.jupyterhub.rps)} | ${f(t.berth.rps)} | ${t.ratio.toFixed(2)}× | ${t.target} |`,
    `| token check p99, ms | JupyterHub 3.0: ${f(t.jupyterhub.p99ms, 1)} | ${f(t.berth.p99ms, 1)} | | < 10 ms |`,
    `| spawn wake-up added by api + worker over one process, p50 / p95 ms | \`berth serve\` | ${r.spawnWake.addedP50ms} / ${r.spawnWake.addedP95ms} | | |`,
    '',
  ].join('\n');
}

if (process.env.BENCH_ROLE === 'token-check-server') {
  await serveTokenCheck();
} else {
  // The spawn figures run the berth command as admins do: the compiled dist/, built from these sources first.
  const built = spawnSync(process.execPath, [fileURLToPath(new URL('../../scripts/build.mjs', import.meta.url))], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error('npm run build failed: the bench measures the compiled code');
  const results = { date: new Date().toISOString(), node: process.version, tokenCheck: await tokenCheck(), spawnWake: await spawnWake() };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const day = results.date.slice(0, 10);
  const json = JSON.stringify(results, null, 2) + '\n';
  for (const name of ['latest.json', `${day}.json`]) writeFileSync(new URL(`./results/${name}`, import.meta.url), json);
  const md = new URL(`./results/${day}.md`, import.meta.url);
  writeFileSync(md, report(results));
  console.log(report(results));
  console.log(`written to ${md.pathname} and ${day}.json`);
  process.exit(0);
}
