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
import { load } from './load.ts';
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

async function tokenCheck() {
  const child = spawn(process.execPath, [...(process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : []), '--import', 'tsx', fileURLToPath(import.meta.url)], { env: { ...process.env, BENCH_ROLE: 'token-check-server' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  const { port, token } = JSON.parse(line) as { port: number; token: string };
  const url = `http://127.0.0.1:${port}/hub/api/user`;
  const headers = { authorization: `token ${token}` };
  try {
    await load({ url, headers, connections: 10, requests: 2000, seconds: 5 }); // warm-up
    return await load({ url, headers, connections: 50, requests: 30000, seconds: 20 });
  } finally {
    child.kill();
  }
}

if (process.env.BENCH_ROLE === 'token-check-server') {
  await serveTokenCheck();
} else {
  // The spawn figures run the berth command as admins do: the compiled dist/, built from these sources first.
  const built = spawnSync(process.execPath, [fileURLToPath(new URL('../../scripts/build.mjs', import.meta.url))], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error('npm run build failed: the bench measures the compiled code');
  const results = { date: new Date().toISOString(), node: process.version, tokenCheck: await tokenCheck(), spawnWake: await spawnWake() };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const file = new URL('./results/latest.json', import.meta.url);
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  console.log(JSON.stringify(results, null, 2));
  console.log(`written to ${file.pathname}`);
  process.exit(0);
}
