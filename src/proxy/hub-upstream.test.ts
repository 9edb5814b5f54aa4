// `berth proxy` → api over HTTP: requests pass through with forwarding headers; while the api is down
// a bodyless request waits for it, one with a body gets a JupyterHub-shaped 503.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { buildTestApp } from '../../test/helpers/app.ts';
import { closedPort } from '../backends/fake/index.ts';
import { apiUrl, hubUpstream } from './hub-upstream.ts';

async function front(handle: (req: IncomingMessage, res: import('node:http').ServerResponse) => void): Promise<{ server: Server; origin: string }> {
  const server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, origin: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

function fakeApi(port: number): Promise<Server> {
  const api = createServer((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ url: req.url, xff: req.headers['x-forwarded-for'], host: req.headers.host })));
  return new Promise((r) => api.listen(port, '127.0.0.1', () => r(api)));
}

describe('hubUpstream', () => {
  test('apiUrl: hub_ip:hub_port, a wildcard dialled on loopback, hub.api_url as given', async () => {
    const t = await buildTestApp({ runner: false, config: { hub: { hub_port: 9001 } } });
    assert.equal(apiUrl(t.ctx.config), 'http://127.0.0.1:9001');
    assert.equal(apiUrl({ ...t.ctx.config, hub: { ...t.ctx.config.hub, hub_ip: '0.0.0.0' } }), 'http://127.0.0.1:9001');
    assert.equal(apiUrl({ ...t.ctx.config, hub: { ...t.ctx.config.hub, api_url: 'http://api.internal:8081/' } }), 'http://api.internal:8081');
  });

  test('forwards with the host kept and X-Forwarded-For added; a GET made while the api is down waits for it', async () => {
    const t = await buildTestApp({ runner: false });
    const port = await closedPort();
    const up = hubUpstream(t.ctx, `http://127.0.0.1:${port}`);
    const { server, origin } = await front((req, res) => up.handle(req, res));
    try {
      const pending = fetch(`${origin}/hub/api/`); // nothing listens yet
      await new Promise((r) => setTimeout(r, 300));
      const api = await fakeApi(port);
      const res = await pending;
      assert.equal(res.status, 200);
      const seen = (await res.json()) as { url: string; xff: string; host: string };
      assert.equal(seen.url, '/hub/api/');
      assert.equal(seen.xff, '127.0.0.1');
      assert.equal(seen.host, origin.slice('http://'.length));
      api.close();
    } finally {
      server.close();
      up.close();
    }
  });

  test('a request with a body while the api is down: 503 {"status", "message"}, nothing replayed', async () => {
    const t = await buildTestApp({ runner: false });
    const url = `http://127.0.0.1:${await closedPort()}`;
    const up = hubUpstream(t.ctx, url);
    const { server, origin } = await front((req, res) => up.handle(req, res));
    try {
      const res = await fetch(`${origin}/hub/api/users/alice/server`, { method: 'POST', body: '{}' });
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '2');
      assert.deepEqual(await res.json(), { status: 503, message: `The hub is not answering at ${url} (it may be restarting); try again in a moment.` });
      const page = await fetch(`${origin}/hub/login`, { method: 'POST', body: 'a=b' });
      assert.equal(page.status, 503);
      assert.match(await page.text(), /The hub is not answering/);
    } finally {
      server.close();
      up.close();
    }
  });

  test('an api_url that is not http(s) is refused with the setting named', async () => {
    const t = await buildTestApp({ runner: false });
    assert.throws(() => hubUpstream(t.ctx, 'ftp://x'), /hub\.api_url ftp:\/\/x is not an http\(s\) URL/);
  });
});
