// Proxy benchmark: requests/s, p99 and WebSocket messages/s through Berth's proxy (1000 routes) vs the
// same upstream directly. Upstream, proxy and load generator run as separate processes on loopback;
// every loop is bounded in count and time. Figures only (never asserted): test/bench/results/proxy.json.
//   node --import tsx test/bench/proxy.bench.ts [seconds per run, default 10]   (BENCH_PROF=<dir>: CPU profile of the proxy)
import http from 'node:http';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdirSync, writeFileSync } from 'node:fs';
import { WebSocket, WebSocketServer } from 'ws';

const ROUTES = 1000;
const role = process.env.BENCH_ROLE;

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

/** Child processes report their port once listening and their memory when asked. */
function serveIpc(port: number) {
  process.send!({ port });
  process.on('message', (m) => {
    if (m !== 'stats') return;
    const cpu = process.cpuUsage();
    process.send!({ rss: process.memoryUsage().rss, cpuUs: cpu.user + cpu.system });
  });
}

async function upstreamRole() {
  const body = JSON.stringify({ ok: true, pad: 'x'.repeat(64) });
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  serveIpc(await listen(server));
}

async function proxyRole() {
  process.on('SIGINT', () => process.exit(0)); // lets --cpu-prof write its profile
  const { buildTestApp } = await import('../helpers/app.ts');
  const { schema } = await import('../../db/client.ts');
  const { bumpRoutes } = await import('../../src/state/routes.ts');
  const { createProxy } = await import('../../src/proxy/index.ts');
  const { getRequestListener } = await import('@hono/node-server');
  const t = await buildTestApp();
  for (let i = 0; i < ROUTES; i++) {
    const u = await t.createUser(`u${i}`);
    await t.db.insert(schema.servers).values({ userId: u.id, name: '', state: 'running', url: process.env.UPSTREAM_URL! });
  }
  await bumpRoutes(t.db);
  const hub = getRequestListener(t.app.fetch);
  const proxy = createProxy(t.ctx, { fallback: hub });
  await proxy.refresh();
  const server = http.createServer((req, res) => { if (!proxy.handleRequest(req, res)) void hub(req, res); });
  server.on('upgrade', (req, socket, head) => { if (!proxy.handleUpgrade(req, socket, head)) socket.destroy(); });
  serveIpc(await listen(server));
}

function child(env: Record<string, string>): Promise<{ proc: ChildProcess; port: number }> {
  const proc = fork(fileURLToPath(import.meta.url), [], { execArgv: ['--import', 'tsx', ...(env.BENCH_ROLE === 'proxy' && process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.BENCH_PROF] : [])], env: { ...process.env, ...env } });
  return new Promise((resolve, reject) => {
    proc.once('message', (m) => resolve({ proc, port: (m as { port: number }).port }));
    proc.once('exit', (code) => reject(new Error(`bench child exited with ${code}`)));
  });
}

/** A child's RSS (MB) and CPU time used so far (µs). */
function stats(proc: ChildProcess): Promise<{ rssMb: number; cpuUs: number }> {
  return new Promise((r) => {
    proc.once('message', (m) => { const x = m as { rss: number; cpuUs: number }; r({ rssMb: Math.round(x.rss / 1048576), cpuUs: x.cpuUs }); });
    proc.send('stats');
  });
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

/** `connections` keep-alive workers, requests back to back, spread over the routes. */
async function httpLoad(port: number, connections: number, seconds: number, maxRequests: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const lat: number[] = [];
  let sent = 0, errors = 0, non200 = 0;
  const deadline = Date.now() + seconds * 1000;
  const start = process.hrtime.bigint();
  const one = (path: string) => new Promise<void>((resolve) => {
    const t0 = process.hrtime.bigint();
    const req = http.request({ agent, host: '127.0.0.1', port, path }, (res) => {
      if (res.statusCode !== 200) non200++;
      res.resume();
      res.on('end', () => { lat.push(Number(process.hrtime.bigint() - t0) / 1e6); resolve(); });
    });
    req.on('error', () => { errors++; resolve(); });
    req.end();
  });
  const worker = async () => {
    while (sent < maxRequests && Date.now() < deadline) await one(`/user/u${sent++ % ROUTES}/api/contents?type=directory`);
  };
  await Promise.all(Array.from({ length: connections }, worker));
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  agent.destroy();
  lat.sort((a, b) => a - b);
  return { requests: lat.length, errors, non200, rps: Math.round(lat.length / secs), p50ms: round(pct(lat, 50)), p99ms: round(pct(lat, 99)) };
}

/** `clients` WebSockets, each sending a message and waiting for its echo, back to back. */
async function wsLoad(port: number, clients: number, seconds: number) {
  const sockets = await Promise.all(Array.from({ length: clients }, (_, i) => new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/user/u${i % ROUTES}/api/kernels/k/channels`);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  })));
  const payload = JSON.stringify({ header: { msg_type: 'execute_request' }, content: { code: '1+1' }, pad: 'x'.repeat(100) });
  const lat: number[] = [];
  const deadline = Date.now() + seconds * 1000;
  const start = process.hrtime.bigint();
  await Promise.all(sockets.map((ws) => new Promise<void>((resolve) => {
    let t0 = process.hrtime.bigint();
    ws.on('message', () => {
      lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (Date.now() >= deadline || lat.length >= 2_000_000) return resolve();
      t0 = process.hrtime.bigint();
      ws.send(payload);
    });
    ws.send(payload);
  })));
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  for (const ws of sockets) ws.terminate();
  lat.sort((a, b) => a - b);
  return { messages: lat.length, msgsPerSec: Math.round(lat.length / secs), p50ms: round(pct(lat, 50)), p99ms: round(pct(lat, 99)) };
}

async function main() {
  const seconds = Number(process.argv[2] ?? 10);
  const up = await child({ BENCH_ROLE: 'upstream' });
  const px = await child({ BENCH_ROLE: 'proxy', UPSTREAM_URL: `http://127.0.0.1:${up.port}` });
  const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, routes: ROUTES, seconds, connections: 50 };
  try {
    const idle = await stats(px.proc);
    for (const [name, port] of [['direct', up.port], ['berth', px.port]] as const) {
      await httpLoad(port, 10, 2, 5000); // warm-up
      const c0 = await stats(px.proc);
      const h = await httpLoad(port, 50, seconds, 1_000_000);
      const c1 = await stats(px.proc);
      const w = await wsLoad(port, 50, seconds);
      const c2 = await stats(px.proc);
      // The proxy's own CPU per request/message: a figure the load generator's speed does not cap.
      if (name === 'berth') Object.assign(h, { proxyCpuUsPerRequest: round((c1.cpuUs - c0.cpuUs) / h.requests) }), Object.assign(w, { proxyCpuUsPerMessage: round((c2.cpuUs - c1.cpuUs) / w.messages) });
      results[name] = { http: h, ws: w };
    }
    results.berthRssMb = { idle: idle.rssMb, afterLoad: (await stats(px.proc)).rssMb };
    const d = results.direct as { http: { rps: number }; ws: { msgsPerSec: number } };
    const b = results.berth as { http: { rps: number }; ws: { msgsPerSec: number } };
    results.ratioToDirect = { http: round(b.http.rps / d.http.rps), ws: round(b.ws.msgsPerSec / d.ws.msgsPerSec) };
  } finally {
    up.proc.kill();
    px.proc.kill('SIGINT');
  }
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const file = new URL('./results/proxy.json', import.meta.url);
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  console.log(JSON.stringify(results, null, 2));
}

if (role === 'upstream') await upstreamRole();
else if (role === 'proxy') await proxyRole();
else await main();
