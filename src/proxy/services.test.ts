// Service routes in the proxy, over real loopback sockets: `<base_url>services/<name>/…` goes to
// the service's url with the full path kept (HTTP and WebSocket), whole segments only, from the
// live config (a reload adds and removes routes), 503 when the service is down.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { WebSocket, WebSocketServer } from 'ws';
import { buildTestApp } from '../../test/helpers/app.ts';
import { configSchema } from '../config/schema.ts';
import { createProxy, type Proxy } from './index.ts';
import { ServiceRoutes } from './services.ts';
import { proxyFront } from '../../test/helpers/proxy-front.ts';

type Reply = { status: number; headers: http.IncomingHttpHeaders; body: string };

/** A service stand-in: answers with what it received; a WebSocket echo on any path. */
function service(name: string) {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-service': name });
    res.end(JSON.stringify({ service: name, url: req.url, host: req.headers.host, fwd: req.headers['x-forwarded-for'] }));
  });
  const wss = new WebSocketServer({ server });
  const paths: string[] = [];
  wss.on('connection', (ws, req) => {
    paths.push(req.url!);
    ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `${name} echo: ${data.toString()}`, { binary: isBinary }));
  });
  return { server, wss, paths };
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

const services = (list: { name: string; url?: string }[]) => list.map((s) => ({ api_token: `${s.name}-token-1234`, ...s }));

describe('proxy: /services/<name>/', () => {
  let t: Awaited<ReturnType<typeof buildTestApp>>;
  let proxy: Proxy;
  let front: http.Server;
  let port: number;
  const whoami = service('whoami');
  const other = service('other');
  const url: Record<string, string> = {};
  let deadUrl = '';

  function request(path: string, headers: Record<string, string> = {}): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => { body += c.toString(); });
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }
  const reconfigure = (list: { name: string; url?: string }[], baseUrl = '/') => {
    t.ctx.config = configSchema.parse({ ...t.ctx.config, hub: { ...t.ctx.config.hub, base_url: baseUrl }, services: services(list) });
  };

  before(async () => {
    url.whoami = `http://127.0.0.1:${await listen(whoami.server)}`;
    url.other = `http://127.0.0.1:${await listen(other.server)}`;
    const dead = http.createServer();
    deadUrl = `http://127.0.0.1:${await listen(dead)}`;
    await new Promise((r) => dead.close(r));
    t = await buildTestApp({ config: { services: services([{ name: 'whoami', url: url.whoami! }, { name: 'nourl' }]) } });
    const hub = getRequestListener(t.app.fetch);
    proxy = createProxy(t.ctx, { fallback: hub, pollIntervalMs: 3_600_000 });
    front = proxyFront(proxy, hub as http.RequestListener);
    port = await listen(front);
    await proxy.ready;
  });

  after(async () => {
    await proxy.close();
    front.closeAllConnections();
    await new Promise((r) => front.close(r));
    for (const s of [whoami, other]) {
      for (const c of s.wss.clients) c.terminate();
      s.server.closeAllConnections();
      await new Promise((r) => s.server.close(r));
    }
  });

  test('forwards the full path and query to the service (prefix kept), Host kept, X-Forwarded-For set', async () => {
    const r = await request('/services/whoami/api/x?y=1&z=%2F', { host: 'hub.example.org' });
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { service: 'whoami', url: '/services/whoami/api/x?y=1&z=%2F', host: 'hub.example.org', fwd: '127.0.0.1' });
  });

  test('whole segments: /services/whoami and /services/who%61mi/ match, /services/whoamix/ and /services/ do not', async () => {
    assert.equal(JSON.parse((await request('/services/whoami')).body).url, '/services/whoami');
    assert.equal(JSON.parse((await request('/services/whoami?x=1')).body).url, '/services/whoami?x=1');
    assert.equal(JSON.parse((await request('/services/who%61mi/')).body).url, '/services/who%61mi/');
    for (const path of ['/services/whoamix/', '/services/', '/services/nourl/', '/service/whoami/']) {
      const r = await request(path);
      assert.equal(r.headers['x-service'], undefined, path);
      assert.equal(r.headers['x-jupyterhub-version'], t.config.hub.api_version, `${path} is the hub's`);
    }
  });

  test('WebSocket through /services/<name>/ to the service, path kept, both ways', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/services/whoami/echo?token=abc`);
    await new Promise<void>((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    const text = new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())));
    ws.send('hi');
    assert.equal(await text, 'whoami echo: hi');
    const bin = Buffer.from([0, 1, 2, 255]);
    const back = new Promise<Buffer>((resolve) => ws.once('message', (d) => resolve(d as Buffer)));
    ws.send(bin);
    assert.deepEqual(await back, bin);
    ws.close();
    assert.deepEqual(whoami.paths, ['/services/whoami/echo?token=abc']);
    // an upgrade for no service is not the proxy's
    const refused = new WebSocket(`ws://127.0.0.1:${port}/services/nope/echo`);
    const status = await new Promise<number>((resolve) => refused.once('unexpected-response', (_q, r) => resolve(r.statusCode!)));
    assert.equal(status, 404);
  });

  test('a config reload adds, moves and removes service routes; base_url applies', async () => {
    reconfigure([{ name: 'whoami', url: url.other! }, { name: 'other', url: url.other! }]);
    assert.equal(JSON.parse((await request('/services/whoami/')).body).service, 'other');
    assert.equal(JSON.parse((await request('/services/other/')).body).service, 'other');
    reconfigure([{ name: 'whoami', url: url.whoami! }], '/jh/');
    assert.equal(JSON.parse((await request('/jh/services/whoami/a')).body).url, '/jh/services/whoami/a');
    assert.equal((await request('/services/whoami/')).headers['x-service'], undefined);
    assert.equal((await request('/jh/services/other/')).headers['x-service'], undefined);
    reconfigure([{ name: 'whoami', url: url.whoami! }]);
  });

  test('a service that does not answer: 503 naming it (HTML, or JSON when asked), and a refused WebSocket', async () => {
    reconfigure([{ name: 'down', url: deadUrl }]);
    const html = await request('/services/down/');
    assert.equal(html.status, 503);
    assert.match(html.body, /The service down at \/services\/down\/ is not reachable/);
    const json = await request('/services/down/api', { accept: 'application/json' });
    assert.equal(json.status, 503);
    assert.equal(JSON.parse(json.body).status, 503);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/services/down/ws`);
    const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_q, r) => resolve(r.statusCode!)));
    assert.equal(status, 503);
    reconfigure([{ name: 'whoami', url: url.whoami! }]);
  });
  test('an https service is reached only with a certificate Node trusts: a self-signed one is refused (503), HTTP and WebSocket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-svc-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { cwd: dir, stdio: 'ignore' });
    const tlsServer = https.createServer({ key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) }, (_req, res) => res.end('secret page'));
    let reached = 0;
    tlsServer.on('secureConnection', () => { reached++; });
    const tlsPort = await listen(tlsServer as unknown as http.Server);
    try {
      reconfigure([{ name: 'remote', url: `https://127.0.0.1:${tlsPort}` }]);
      const res = await request('/services/remote/');
      assert.equal(res.status, 503);
      assert.doesNotMatch(res.body, /secret page/);
      const ws = new WebSocket(`ws://127.0.0.1:${port}/services/remote/ws`);
      assert.equal(await new Promise<number>((resolve) => ws.once('unexpected-response', (_q, r) => resolve(r.statusCode!))), 503);
      assert.equal(reached, 0, 'no TLS session was ever completed with the untrusted server');
    } finally {
      tlsServer.closeAllConnections();
      await new Promise((r) => tlsServer.close(r));
      rmSync(dir, { recursive: true, force: true });
      reconfigure([{ name: 'whoami', url: url.whoami! }]);
    }
  });
});

describe('ServiceRoutes', () => {
  test("targets are the url's scheme, host and port; a path in the url is not used (as JupyterHub's proxy)", () => {
    const config = configSchema.parse({ services: services([{ name: 'a', url: 'https://svc.internal:8443/ignored/' }, { name: 'b', url: 'http://[::1]/' }]) });
    const r = new ServiceRoutes(() => config);
    const a = r.match('/services/a/x')!;
    assert.deepEqual([a.protocol, a.host, a.port, a.service], ['https:', 'svc.internal', 8443, 'a']);
    const b = r.match('/services/b')!;
    assert.deepEqual([b.protocol, b.host, b.port], ['http:', '::1', 80]);
    assert.equal(r.match('/services/%zz/'), undefined);
    assert.equal(r.match('/user/a/'), undefined);
  });
});
