// `npm run bench`: Berth's hot paths, measured on this machine, written to test/bench/results/.
// Figures only — tests never assert on timings. Loopback only; every loop bounded in count and time.
import { createServer, type Server } from 'node:http';
import { writeFileSync, mkdirSync } from 'node:fs';
import { getRequestListener } from '@hono/node-server';
import { buildTestApp } from '../helpers/app.ts';
import { load } from './load.ts';

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

async function tokenCheck() {
  const t = await buildTestApp();
  const user = await t.createUser('alice');
  // An OAuth-style browser token, the kind single-user servers check.
  const token = await t.createToken(user.id, ['access:servers!server=alice/', 'read:users:groups!user', 'read:users:name!user']);
  for (let i = 0; i < 1000; i++) await t.createToken((await t.createUser(`user${i}`)).id); // a realistic table
  const server = createServer(getRequestListener(t.app.fetch));
  const port = await listen(server);
  const url = `http://127.0.0.1:${port}/hub/api/user`;
  await load({ url, headers: { authorization: `token ${token}` }, connections: 10, requests: 500, seconds: 5 }); // warm-up
  const result = await load({ url, headers: { authorization: `token ${token}` }, connections: 50, requests: 20000, seconds: 20 });
  server.close();
  return result;
}

const results = { date: new Date().toISOString(), node: process.version, tokenCheck: await tokenCheck() };
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
const file = new URL('./results/latest.json', import.meta.url);
writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
console.log(JSON.stringify(results, null, 2));
console.log(`written to ${file.pathname}`);
process.exit(0);
