// Berth as `berth proxy`, `berth api` and `berth worker` — three processes on one database — with a
// real jupyterhub-singleuser, and no networking setting at all: the containers reach the hub through
// the proxy's listener on the bridge. Killing and restarting the api drops neither an open kernel
// WebSocket nor a download in flight from the user's server.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Browser } from '../helpers/browser.ts';
import { e2eConfig, freePort, removeTestObjects, startBerth, type BerthProcess } from '../helpers/berth-process.ts';
import { openKernel, openServer, startAndWait, type KernelSession } from '../helpers/jupyter.ts';

const IMAGE = process.env.BERTH_E2E_IMAGE ?? 'berth-test/singleuser:3.0.0';
const tag = `berthe2eroles${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'berth-e2e-roles-'));
const password = 'e2e shared password';
const env = { E2E_PASSWORD: password, E2E_ADMIN_TOKEN: randomBytes(16).toString('hex') };
const BIG = 24 * 1024 * 1024; // well past what socket buffers hold, so the download is still in flight
let port: number;
let apiPort: number;
let configFile: string;
const procs: BerthProcess[] = [];

async function start(role: 'api' | 'proxy' | 'worker'): Promise<BerthProcess> {
  const p = await startBerth({ configFile, role, port: role === 'api' ? apiPort : port, env, logFile: join(dir, `${role}.log`), timeoutMs: 60_000 });
  procs.push(p);
  return p;
}

describe('three roles, one real Jupyter server: the api restarts under an open kernel', { timeout: 10 * 60_000 }, () => {
  let a: Browser;
  let kernel: KernelSession;
  let apiProc: BerthProcess;

  before(async () => {
    await removeTestObjects('berthe2eroles');
    port = await freePort();
    apiPort = await freePort();
    configFile = join(dir, 'berth.yaml');
    // e2eConfig names no address, network or connect URL: only the ports, which the test must pick.
    writeFileSync(configFile, e2eConfig({ dir, tag, port, image: IMAGE, adminToken: env.E2E_ADMIN_TOKEN, password }).replace('hub:\n', `hub:\n  hub_port: ${apiPort}\n`));
    await start('proxy');
    apiProc = await start('api');
    await start('worker');
  });

  after(async () => {
    await kernel?.close().catch(() => {});
    for (const p of procs) await p.kill('SIGTERM');
    await removeTestObjects(tag);
    if (process.env.BERTH_E2E_KEEP) console.log(`e2e files kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });

  test('log in through the proxy, start the server in the worker, open it and a kernel', async () => {
    a = new Browser(`http://127.0.0.1:${port}`);
    assert.equal((await a.login('alice', password)).status, 302);
    const messages = await startAndWait(a, 'alice');
    assert.match(messages.at(-1)!, /Server ready at \/user\/alice\//);
    assert.equal((await openServer(a, 'alice')).res.status, 200);
    kernel = await openKernel(a, 'alice');
    assert.equal(await kernel.execute('1+1'), '2');
    const ready = await fetch(`http://127.0.0.1:${port}/hub/health/ready`);
    const body = (await ready.json()) as { checks: Record<string, { ok: boolean | null; message: string }> };
    assert.equal(ready.status, 200, JSON.stringify(body));
    assert.equal(body.checks['hub-listener']?.ok, true, JSON.stringify(body.checks));
  });

  test('kill -9 of the api: the kernel WebSocket and a download in flight carry on; after its restart all is well', async () => {
    const put = await a.raw('/user/alice/api/contents/big.txt', {
      method: 'PUT', body: JSON.stringify({ type: 'file', format: 'text', content: 'x'.repeat(BIG) }),
      headers: { 'content-type': 'application/json', 'x-xsrftoken': a.jar.get('_xsrf') ?? '' },
    });
    assert.equal(put.status, 201, await put.clone().text());
    const download = await a.raw('/user/alice/api/contents/big.txt?content=1&format=text');
    assert.equal(download.status, 200);
    const reader = download.body!.getReader();
    const chunks: Uint8Array[] = [(await reader.read()).value!];
    assert.ok(chunks[0]!.length < BIG, 'the download is still in flight');

    await apiProc.kill('SIGKILL');
    assert.equal(await kernel.execute('6*7'), '42', 'the kernel answers with the api down');
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
    }
    const file = JSON.parse(Buffer.concat(chunks).toString()) as { content: string };
    assert.equal(file.content.length, BIG, 'the whole file arrived');
    const contents = await a.raw('/user/alice/api/contents');
    assert.equal(contents.status, 200, 'new requests to the server work with the api down');

    apiProc = await start('api');
    assert.equal(await kernel.execute('2**10'), '1024', 'the same WebSocket, after the restart');
    const model = await fetch(`http://127.0.0.1:${port}/hub/api/users/alice`, { headers: { authorization: `token ${env.E2E_ADMIN_TOKEN}` } });
    assert.equal(((await model.json()) as { servers: Record<string, { ready: boolean }> }).servers['']?.ready, true);
  });
});
