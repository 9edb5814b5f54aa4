// The proxy in front of the hub app, as serve.ts runs it, over real loopback sockets: HTTP and
// WebSocket forwarding, fall-through to the hub, route changes, unreachable servers, activity.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { getRequestListener } from '@hono/node-server';
import { WebSocket, WebSocketServer } from 'ws';
import { buildTestApp } from '../../test/helpers/app.ts';
import { schema } from '../../db/client.ts';
import { bumpRoutes } from '../state/routes.ts';
import { createProxy, type Proxy } from './index.ts';
import { proxyFront } from '../../test/helpers/proxy-front.ts';

type Reply = { status: number; headers: http.IncomingHttpHeaders; body: Buffer };
const BIG = randomBytes(5 * 1024 * 1024);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A single-user server stand-in: echoes what it received, plus a few special paths. */
function upstream(name: string) {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = req.url!;
      if (path.endsWith('/big')) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-upstream': name });
        // Written in pieces without a length, so the proxy must stream a chunked reply.
        for (let i = 0; i < BIG.length; i += 256 * 1024) res.write(BIG.subarray(i, i + 256 * 1024));
        res.end();
        return;
      }
      const status = path.includes('/redirect') ? 302 : path.includes('/missing') ? 404 : 200;
      res.writeHead(status, { 'content-type': 'application/json', 'x-upstream': name, connection: 'keep-alive, x-hop-reply', 'x-hop-reply': '1', ...(status === 302 ? { location: '/elsewhere' } : {}) });
      res.end(JSON.stringify({ upstream: name, method: req.method, url: path, headers: req.headers, length: body.length, sha: sha(body) }));
    });
  });
  const wss = new WebSocketServer({ server });
  const wsPaths: string[] = [];
  wss.on('connection', (ws, req) => {
    wsPaths.push(req.url!);
    ws.on('message', (data, isBinary) => {
      if (!isBinary && data.toString() === 'close-me') ws.close(4001, 'server says bye');
      else ws.send(data, { binary: isBinary });
    });
  });
  return { server, wss, wsPaths, name };
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

describe('proxy', () => {
  let t: Awaited<ReturnType<typeof buildTestApp>>;
  let proxy: Proxy;
  let front: http.Server;
  let port: number;
  const ups = { a: upstream('A'), b: upstream('B'), c: upstream('C') };
  const url: Record<string, string> = {};
  let deadUrl = '';

  async function addServer(user: string, server: string, target: string, opts: { event?: boolean } = {}) {
    let u = (await t.db.select().from(schema.users).where(eq(schema.users.name, user)))[0];
    u ??= await t.createUser(user);
    const [s] = await t.db.insert(schema.servers).values({ userId: u.id, name: server, state: 'running', url: target }).returning();
    await bumpRoutes(t.db);
    if (opts.event !== false) t.ctx.events.emit('routes-changed');
    return { user: u, server: s! };
  }

  function request(path: string, o: { method?: string; headers?: Record<string, string>; body?: Buffer } = {}): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path, method: o.method ?? 'GET', headers: o.headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      if (o.body) {
        // Sent in several writes with chunked framing: the proxy must stream it, not expect a length.
        for (let i = 0; i < o.body.length; i += 64 * 1024) req.write(o.body.subarray(i, i + 64 * 1024));
      }
      req.end();
    });
  }
  const json = (r: Reply) => JSON.parse(r.body.toString()) as { upstream: string; method: string; url: string; headers: Record<string, string>; length: number; sha: string };

  /** Polls (bounded) until `path` reaches an upstream or not; returns the last reply. */
  async function until(path: string, proxied: boolean): Promise<Reply> {
    let r: Reply | undefined;
    for (let i = 0; i < 100; i++) {
      r = await request(path);
      if (('x-upstream' in r.headers) === proxied) return r;
      await new Promise((res) => setTimeout(res, 20));
    }
    return r!;
  }

  before(async () => {
    t = await buildTestApp();
    for (const [k, u] of Object.entries(ups)) url[k] = `http://127.0.0.1:${await listen(u.server)}`;
    const dead = http.createServer();
    deadUrl = `http://127.0.0.1:${await listen(dead)}`;
    await new Promise((r) => dead.close(r));
    await addServer('alice', '', url.a!);
    await addServer('alicex', '', url.b!);
    await addServer('alice', 'srv1', url.c!);
    await addServer('a@b.c', '', url.b!);
    const hub = getRequestListener(t.app.fetch);
    // A poll interval of an hour: route changes here are seen only through the event or a miss.
    proxy = createProxy(t.ctx, { fallback: hub, pollIntervalMs: 3_600_000 });
    front = proxyFront(proxy, hub as http.RequestListener);
    port = await listen(front);
    await proxy.refresh();
  });

  after(async () => {
    await proxy.close();
    front.closeAllConnections();
    await new Promise((r) => front.close(r));
    for (const u of Object.values(ups)) {
      for (const c of u.wss.clients) c.terminate();
      u.server.closeAllConnections();
      await new Promise((r) => u.server.close(r));
    }
  });

  test('forwards the full path and query unchanged, Host preserved, X-Forwarded-* set, hop-by-hop dropped', async () => {
    const r = await request('/user/alice/api/contents/a%20b.ipynb?content=1&x=%2F', {
      headers: { host: 'jupyter.example.org:8443', 'x-forwarded-for': '10.0.0.1', connection: 'keep-alive, x-hop', 'x-hop': 'secret', cookie: 'a=1' },
    });
    assert.equal(r.status, 200);
    const got = json(r);
    assert.equal(got.upstream, 'A');
    assert.equal(got.url, '/user/alice/api/contents/a%20b.ipynb?content=1&x=%2F');
    assert.equal(got.headers.host, 'jupyter.example.org:8443');
    assert.equal(got.headers['x-forwarded-for'], '10.0.0.1, 127.0.0.1');
    assert.equal(got.headers['x-forwarded-proto'], 'http');
    assert.equal(got.headers['x-forwarded-host'], 'jupyter.example.org:8443');
    assert.equal(got.headers['x-forwarded-port'], '8443');
    assert.equal(got.headers.cookie, 'a=1');
    assert.equal(got.headers['x-hop'], undefined);
    assert.equal(r.headers['x-hop-reply'], undefined, 'hop-by-hop reply headers named in Connection are dropped');
    assert.equal(r.headers['content-type'], 'application/json');
  });

  test('keeps X-Forwarded-Proto/Host/Port an outer proxy set', async () => {
    const r = await request('/user/alice/', { headers: { host: 'internal:8000', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'hub.example.org' } });
    const h = json(r).headers;
    assert.deepEqual([h['x-forwarded-proto'], h['x-forwarded-host'], h['x-forwarded-port'], h.host], ['https', 'hub.example.org', '443', 'internal:8000']);
  });

  test('routes /user/<name> without a trailing slash, named servers, and percent-encoded names', async () => {
    assert.deepEqual([json(await request('/user/alice')).upstream, json(await request('/user/alice')).url], ['A', '/user/alice']);
    assert.equal(json(await request('/user/alice/srv1/lab')).upstream, 'C');
    assert.equal(json(await request('/user/alice/srv1')).upstream, 'C');
    assert.equal(json(await request('/user/alice/other/lab')).upstream, 'A');
    const enc = json(await request('/user/a%40b.c/tree'));
    assert.deepEqual([enc.upstream, enc.url], ['B', '/user/a%40b.c/tree']);
    assert.equal(json(await request('/user/a@b.c/tree')).upstream, 'B');
  });

  test('/user/alice and /user/alicex/ are different routes', async () => {
    assert.equal(json(await request('/user/alicex/tree')).upstream, 'B');
    assert.equal(json(await request('/user/alice/tree')).upstream, 'A');
    const r = await request('/user/alic/tree');
    assert.equal(r.headers['x-upstream'], undefined);
    assert.equal(r.headers['x-jupyterhub-version'], t.config.hub.api_version);
  });

  test('streams a request body and a 5 MB response intact', async () => {
    const body = randomBytes(3 * 1024 * 1024 + 17);
    const r = await request('/user/alice/api/contents/upload', { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(r.status, 200);
    assert.deepEqual([json(r).method, json(r).length, json(r).sha], ['PUT', body.length, sha(body)]);
    const big = await request('/user/alice/files/big');
    assert.equal(big.status, 200);
    assert.equal(big.body.length, BIG.length);
    assert.equal(sha(big.body), sha(BIG));
  });

  test('no route: the hub app answers, and the hub prefix is never proxied', async () => {
    const r = await request('/user/nobody/tree');
    assert.equal(r.headers['x-upstream'], undefined);
    assert.equal(r.headers['x-jupyterhub-version'], t.config.hub.api_version);
    assert.ok(r.status === 302 || r.status === 404 || r.status === 424, `hub status ${r.status}`);
    const api = await request('/hub/api');
    assert.equal(api.status, 200);
    assert.deepEqual(JSON.parse(api.body.toString()), { version: t.config.hub.api_version });
    const top = await request('/userx/alice/');
    assert.equal(top.headers['x-upstream'], undefined);
  });

  test('a route added with the event is served without restart; a removed one stops', async () => {
    const { server } = await addServer('frank', '', url.a!);
    assert.equal(json(await until('/user/frank/tree', true)).upstream, 'A');
    await t.db.update(schema.servers).set({ state: 'stopped' }).where(eq(schema.servers.id, server.id));
    await bumpRoutes(t.db);
    t.ctx.events.emit('routes-changed');
    const gone = await until('/user/frank/tree', false);
    assert.equal(gone.headers['x-upstream'], undefined);
    assert.equal(gone.headers['x-jupyterhub-version'], t.config.hub.api_version);
  });

  test('a route added by another process (no event) is found by the refresh on a miss', async () => {
    await addServer('grace', '', url.b!, { event: false });
    const r = await request('/user/grace/lab');
    assert.equal(r.status, 200);
    assert.equal(json(r).upstream, 'B');
  });

  test('unreachable server → 503 (HTML, or JSON when asked), and the proxy keeps working', async () => {
    await addServer('henry', '', deadUrl);
    const html = await request('/user/henry/tree');
    assert.equal(html.status, 503);
    assert.match(String(html.headers['content-type']), /text\/html/);
    assert.match(html.body.toString(), /\/user\/henry\/ is not reachable/);
    const js = await request('/user/henry/api/status', { headers: { accept: 'application/json' } });
    assert.equal(js.status, 503);
    const body = JSON.parse(js.body.toString()) as { status: number; message: string };
    assert.equal(body.status, 503);
    assert.match(body.message, /not reachable/);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/user/henry/api/kernels/k/channels`);
    const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode!)));
    assert.equal(status, 503);
    assert.equal(json(await request('/user/alice/')).upstream, 'A');
  });

  test('WebSocket echo through the proxy (text and binary), both close directions', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/user/alice/api/kernels/k1/channels?session_id=s`);
    await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
    assert.ok(ups.a.wsPaths.includes('/user/alice/api/kernels/k1/channels?session_id=s'));
    const next = () => new Promise<{ data: Buffer; binary: boolean }>((r) => ws.once('message', (data, binary) => r({ data: data as Buffer, binary })));
    let m = next();
    ws.send('hello kernel');
    assert.deepEqual(await m.then((x) => [x.data.toString(), x.binary]), ['hello kernel', false]);
    const bin = randomBytes(200_000);
    m = next();
    ws.send(bin);
    const got = await m;
    assert.equal(got.binary, true);
    assert.equal(sha(got.data), sha(bin));
    // Server-initiated close reaches the client with its code.
    const closed = new Promise<[number, string]>((r) => ws.once('close', (code, reason) => r([code, reason.toString()])));
    ws.send('close-me');
    assert.deepEqual(await closed, [4001, 'server says bye']);

    // Client-initiated close reaches the server.
    const ws2 = new WebSocket(`ws://127.0.0.1:${port}/user/alice/srv1/terminals/websocket/1`);
    const serverSide = new Promise<number>((r) => ups.c.wss.once('connection', (s) => s.once('close', (code) => r(code))));
    await new Promise((r, j) => { ws2.once('open', r); ws2.once('error', j); });
    ws2.close(1000, 'done');
    assert.equal(await serverSide, 1000);
  });

  test('WebSocket to a path without a route gets 404, not the hub', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/user/nobody/api/kernels/k/channels`);
    const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode!)));
    assert.equal(status, 404);
  });

  test('activity: 200s and WebSocket traffic count, redirects and errors do not', async () => {
    const ok = await addServer('ivy', '', url.a!);
    const redirect = await addServer('jack', '', url.a!);
    const ws = await addServer('kim', '', url.a!);
    const before = Date.now();
    assert.equal((await request('/user/ivy/api/status')).status, 200);
    assert.equal((await request('/user/jack/redirect')).status, 302);
    assert.equal((await request('/user/jack/missing')).status, 404);
    const sock = new WebSocket(`ws://127.0.0.1:${port}/user/kim/api/events/subscribe`);
    await new Promise((r, j) => { sock.once('open', r); sock.once('error', j); });
    sock.close();
    await new Promise((r) => sock.once('close', r));

    await proxy.close(); // flushes; the test proxy keeps serving (close only stops timers and agents)
    const server = async (id: number) => (await t.db.select().from(schema.servers).where(eq(schema.servers.id, id)))[0]!;
    const user = async (id: number) => (await t.db.select().from(schema.users).where(eq(schema.users.id, id)))[0]!;
    for (const s of [ok, ws]) {
      assert.ok(((await server(s.server.id)).lastActivityUs ?? 0) >= before * 1000, 'server last_activity moved');
      assert.ok(((await user(s.user.id)).lastActivityUs ?? 0) >= before * 1000, 'user last_activity moved');
    }
    assert.equal((await server(redirect.server.id)).lastActivityUs, null);
    assert.equal((await user(redirect.user.id)).lastActivityUs, null);
  });
});

describe('proxy under a base_url', () => {
  test('only <base_url>user/ is proxied, with the full path', async () => {
    const t = await buildTestApp({ config: { hub: { base_url: '/jh/' } } });
    const up = upstream('U');
    const target = `http://127.0.0.1:${await listen(up.server)}`;
    const u = await t.createUser('alice');
    await t.db.insert(schema.servers).values({ userId: u.id, name: '', state: 'running', url: target });
    await bumpRoutes(t.db);
    const proxy = createProxy(t.ctx, { pollIntervalMs: 3_600_000 });
    await proxy.refresh();
    const hub = getRequestListener(t.app.fetch);
    const front = http.createServer((req, res) => { if (!proxy.handleRequest(req, res)) void hub(req, res); });
    const port = await listen(front);
    const get = (path: string) => new Promise<{ status: number; upstream: string | undefined; body: string }>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => { body += c; });
        res.on('end', () => resolve({ status: res.statusCode!, upstream: res.headers['x-upstream'] as string | undefined, body }));
      }).on('error', reject);
    });
    try {
      const hit = await get('/jh/user/alice/tree?x=1');
      assert.equal(hit.status, 200);
      assert.equal(hit.upstream, 'U');
      assert.equal((JSON.parse(hit.body) as { url: string }).url, '/jh/user/alice/tree?x=1');
      const outside = await get('/user/alice/tree');
      assert.equal(outside.upstream, undefined);
      const api = await get('/jh/hub/api');
      assert.deepEqual([api.status, api.upstream, JSON.parse(api.body)], [200, undefined, { version: t.config.hub.api_version }]);
    } finally {
      await proxy.close();
      front.closeAllConnections();
      await new Promise((r) => front.close(r));
      up.server.closeAllConnections();
      await new Promise((r) => up.server.close(r));
    }
  });
});
