// The ready check (spec A.5, H11): any status below 500 counts, redirects are not followed, 5xx and
// refused connections are retried, an exited server fails at once, and the wait can be cancelled.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitReady } from './ready.ts';
import { SpawnError } from '../errors.ts';
import type { Backend, PollResult } from '../backends/types.ts';

function backendWith(poll: () => PollResult, logs = 'last lines'): Backend {
  return {
    kind: 'test', bindIp: '127.0.0.1',
    init: async () => ({ hubUrl: '', extraListen: [], description: '' }),
    start: async () => { throw new Error('unused'); },
    stop: async () => {}, list: async () => [],
    poll: async () => poll(), logs: async () => logs,
  };
}

async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => { server.closeAllConnections(); server.close(); });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('waitReady', () => {
  test('retries 5xx, then accepts a redirect without following it; polls <url><prefix>api', async () => {
    const paths: string[] = [];
    let n = 0;
    const { url } = await serve((req, res) => {
      paths.push(req.url!);
      if (++n < 3) { res.writeHead(503).end(); return; }
      res.writeHead(302, { location: '/elsewhere' }).end();
    });
    await waitReady({ backend: backendWith(() => ({ status: 'running' })), ref: {}, url, prefix: '/user/alice/', timeoutMs: 10_000 });
    assert.deepEqual(paths, ['/user/alice/api', '/user/alice/api', '/user/alice/api']);
  });

  test('a 404 counts as up', async () => {
    const { url } = await serve((_req, res) => res.writeHead(404).end());
    await waitReady({ backend: backendWith(() => ({ status: 'running' })), ref: {}, url, prefix: '/user/a/', timeoutMs: 10_000 });
  });

  test('an exited server fails with reason exited and the log tail', async () => {
    const { url } = await serve((_req, res) => res.writeHead(500).end());
    await assert.rejects(
      waitReady({ backend: backendWith(() => ({ status: 'exited', exitCode: 2 }), 'Traceback…'), ref: {}, url, prefix: '/user/a/', timeoutMs: 60_000 }),
      (e: unknown) => e instanceof SpawnError && e.reason === 'exited' && e.message === 'Server exited (exit code 2) before it answered HTTP' && e.logTail === 'Traceback…',
    );
  });

  test('nothing listening until the timeout → reason timeout with the log tail', async () => {
    const { url, server } = await serve(() => {});
    server.close();
    await assert.rejects(
      waitReady({ backend: backendWith(() => ({ status: 'running' })), ref: {}, url, prefix: '/user/a/', timeoutMs: 200 }),
      (e: unknown) => e instanceof SpawnError && e.reason === 'timeout' && e.message === "Server at /user/a/ didn't respond in 0.2 seconds" && e.logTail === 'last lines',
    );
  });

  test('an abort cancels the wait', async () => {
    const { url } = await serve((_req, res) => res.writeHead(502).end());
    const ac = new AbortController();
    const p = waitReady({ backend: backendWith(() => ({ status: 'running' })), ref: {}, url, prefix: '/user/a/', timeoutMs: 60_000, signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(p, (e: unknown) => e instanceof SpawnError && e.reason === 'cancelled');
  });
});
