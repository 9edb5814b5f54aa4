// End to end, as a person would: a real `berth serve` process, the real Docker engine and an
// unmodified jupyterhub-singleuser image (Debian's jupyterhub 3.0.0), driven over HTTP with a
// cookie jar through Berth's own proxy. Covers the walking-skeleton acceptance of issue #2,
// including a kill -9 of Berth with a server running.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import Docker from 'dockerode';
import WebSocket from 'ws';
import { Browser } from '../helpers/browser.ts';
import { e2eConfig, freePort, removeTestObjects, startBerth, type BerthProcess } from '../helpers/berth-process.ts';

const IMAGE = process.env.BERTH_E2E_IMAGE ?? 'berth-test/singleuser:3.0.0';
const tag = `berthe2e${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'berth-e2e-'));
const adminToken = randomBytes(16).toString('hex');
const password = 'e2e shared password';
const docker = new Docker();
let port: number;
let berth: BerthProcess;
let configFile: string;

const api = async (path: string, init: RequestInit = {}) => {
  const res = await fetch(`${berth.origin}/hub/api${path}`, { ...init, headers: { authorization: `token ${adminToken}`, ...(init.headers ?? {}) } });
  return res;
};
const userModel = async (name: string) => (await (await api(`/users/${name}`)).json()) as {
  last_activity: string | null;
  servers: Record<string, { ready: boolean; pending: string | null; last_activity: string | null; started: string | null }>;
};

/** GET /hub/spawn/<user> as the browser, then read the progress stream until ready or failed. */
async function startAndWait(b: Browser, user: string): Promise<string[]> {
  const { res } = await b.go(`/hub/spawn/${user}`);
  await res.arrayBuffer();
  const stream = await b.raw(`/hub/api/users/${user}/server/progress`, { headers: { accept: 'text/event-stream' } });
  assert.equal(stream.status, 200, `progress stream: ${stream.status}`);
  const messages: string[] = [];
  const reader = stream.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let idx;
    while ((idx = buf.indexOf('\n\n')) >= 0) {
      const chunk = buf.slice(0, idx);
      buf = buf.slice(idx + 2);
      if (!chunk.startsWith('data: ')) continue;
      const ev = JSON.parse(chunk.slice(6)) as { message: string; ready?: boolean; failed?: boolean };
      messages.push(ev.message);
      if (ev.failed) throw new Error(`spawn failed: ${messages.join(' | ')}`);
      if (ev.ready) { await reader.cancel(); return messages; }
    }
  }
  throw new Error(`progress stream ended without a final event: ${messages.join(' | ')}`);
}

/** Browser visit to the server: goes through the single-user server's OAuth dance via the hub. */
async function openServer(b: Browser, user: string) {
  return b.go(`/user/${user}/tree`);
}

async function runKernel(b: Browser, user: string, code: string): Promise<string> {
  const xsrf = b.jar.get('_xsrf') ?? '';
  const created = await b.raw(`/user/${user}/api/kernels`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', 'x-xsrftoken': xsrf } });
  assert.equal(created.status, 201, `kernel create: ${created.status} ${await created.clone().text()}`);
  const { id } = (await created.json()) as { id: string };
  const wsUrl = `${berth.origin.replace('http', 'ws')}/user/${user}/api/kernels/${id}/channels?session_id=${randomUUID()}`;
  const ws = new WebSocket(wsUrl, { headers: { cookie: b.jar.header(`/user/${user}/api/kernels`), origin: berth.origin } });
  const msgId = randomUUID();
  const result = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no execute_result within 60 s')), 60_000);
    ws.on('error', (e) => { clearTimeout(timer); reject(e); });
    ws.on('unexpected-response', (_req, res) => { clearTimeout(timer); reject(new Error(`websocket refused: ${res.statusCode}`)); });
    ws.on('open', () => {
      ws.send(JSON.stringify({
        header: { msg_id: msgId, username: user, session: randomUUID(), msg_type: 'execute_request', version: '5.3', date: new Date().toISOString() },
        parent_header: {}, metadata: {}, channel: 'shell', buffers: [],
        content: { code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: true },
      }));
    });
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { msg_type: string; parent_header: { msg_id?: string }; content: { data?: Record<string, string> } };
      if (msg.msg_type === 'execute_result' && msg.parent_header.msg_id === msgId) { clearTimeout(timer); resolve(msg.content.data!['text/plain']!); }
    });
  });
  ws.close();
  await b.raw(`/user/${user}/api/kernels/${id}`, { method: 'DELETE', headers: { 'x-xsrftoken': xsrf } });
  return result;
}

describe('one user, one real Jupyter server, end to end', { timeout: 15 * 60_000 }, () => {
  const alice = () => new Browser(berth.origin);
  let a: Browser;
  /** alice's last_activity (user, server) right after her server became ready, before any use. */
  let readyActivity: { user: number; server: number };

  before(async () => {
    await removeTestObjects('berthe2e'); // what a killed earlier run left
    port = await freePort();
    configFile = join(dir, 'berth.yaml');
    writeFileSync(configFile, e2eConfig({ dir, tag, port, image: IMAGE, adminToken, password }));
    berth = await startBerth({ configFile, port, env: { E2E_PASSWORD: password, E2E_ADMIN_TOKEN: adminToken }, logFile: join(dir, 'berth.log') });
  });

  after(async () => {
    await berth?.kill('SIGTERM');
    await removeTestObjects(tag);
    if (process.env.BERTH_E2E_KEEP) console.log(`e2e files kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });

  test('alice logs in and starts her server, watching real progress', async () => {
    a = alice();
    const login = await a.login('alice', password);
    assert.equal(login.status, 302, await login.clone().text());
    assert.ok(a.jar.get('jupyterhub-hub-login'), 'hub login cookie set');
    const messages = await startAndWait(a, 'alice');
    const model = await userModel('alice');
    readyActivity = { user: Date.parse(model.last_activity ?? '1970-01-01T00:00:00Z'), server: Date.parse(model.servers['']!.last_activity ?? '1970-01-01T00:00:00Z') };
    assert.equal(messages[0], 'Server requested');
    assert.match(messages.at(-1)!, /Server ready at \/user\/alice\//);
    assert.ok(messages.length >= 3, `progress has intermediate steps: ${messages.join(' | ')}`);
  });

  test('the single-user OAuth dance through the proxy lands on the server', async () => {
    const { res, hops } = await openServer(a, 'alice');
    assert.equal(res.status, 200, hops.map((h) => `${h.status} ${h.url}`).join('\n'));
    assert.ok(hops.some((h) => h.location?.includes('/hub/api/oauth2/authorize?')), 'went through the hub authorize endpoint');
    assert.ok(hops.some((h) => h.url.includes('/user/alice/oauth_callback?code=')), 'came back with a code');
    assert.ok(a.jar.get('jupyterhub-user-alice', '/user/alice/'), 'server token cookie on the server prefix');
    const contents = await a.raw('/user/alice/api/contents');
    assert.equal(contents.status, 200);
    assert.equal(((await contents.json()) as { type: string }).type, 'directory');
  });

  test('alice creates a file and runs 1+1 in a kernel over the proxied WebSocket', async () => {
    const put = await a.raw('/user/alice/api/contents/hello.txt', {
      method: 'PUT', body: JSON.stringify({ type: 'file', format: 'text', content: 'kept across restarts' }),
      headers: { 'content-type': 'application/json', 'x-xsrftoken': a.jar.get('_xsrf') ?? '' },
    });
    assert.equal(put.status, 201, await put.clone().text());
    assert.equal(await runKernel(a, 'alice', '1+1'), '2');
  });

  test('bob gets 403 from alice\'s server (no redirect loop) and cannot stop it', async () => {
    const b = alice();
    assert.equal((await b.login('bob', password)).status, 302);
    const { res, hops } = await openServer(b, 'alice');
    assert.equal(res.status, 403, hops.map((h) => `${h.status} ${h.url}`).join('\n'));
    assert.ok(hops.length < 8, 'no redirect loop');
    const stop = await b.raw('/hub/api/users/alice/server', { method: 'DELETE', headers: { 'x-xsrftoken': await xsrfOf(b) } });
    assert.ok([403, 404].includes(stop.status), `bob's stop: ${stop.status}`);
    const still = await userModel('alice');
    assert.equal(still.servers['']?.ready, true);
    const contents = await a.raw('/user/alice/api/contents');
    assert.equal(contents.status, 200, 'alice still reaches her server');
  });

  test('using the server (proxied traffic, its own activity posts) moves last_activity forward', async () => {
    // The proxy writes traffic every ~10 s and the server posts every 5 s (JUPYTERHUB_ACTIVITY_INTERVAL).
    const advanced = (m: Awaited<ReturnType<typeof userModel>>) =>
      Date.parse(m.last_activity ?? '') > readyActivity.user && Date.parse(m.servers['']?.last_activity ?? '') > readyActivity.server;
    const deadline = Date.now() + 40_000;
    let model = await userModel('alice');
    while (!advanced(model) && Date.now() < deadline) {
      await a.raw('/user/alice/api/contents'); // keep using it
      await new Promise((r) => setTimeout(r, 1000));
      model = await userModel('alice');
    }
    assert.ok(advanced(model), `last_activity after ready ${JSON.stringify(readyActivity)}: now user ${model.last_activity}, server ${model.servers['']?.last_activity}`);
  });

  test('kill -9 of Berth leaves the server running; after restart it is ready and reachable', async () => {
    const before = await docker.listContainers({ filters: { label: ['berth.user=alice'], name: [tag] } });
    assert.equal(before.length, 1);
    await berth.kill('SIGKILL');
    berth = await startBerth({ configFile, port, env: { E2E_PASSWORD: password, E2E_ADMIN_TOKEN: adminToken }, logFile: join(dir, 'berth.log') });
    const after = await docker.listContainers({ filters: { label: ['berth.user=alice'], name: [tag] } });
    assert.equal(after.length, 1);
    assert.equal(after[0]!.Id, before[0]!.Id, 'the same container kept running');
    const contents = await a.raw('/user/alice/api/contents/hello.txt');
    assert.equal(contents.status, 200, 'reachable through the proxy right after restart');
    let model = await userModel('alice');
    for (let i = 0; i < 20 && model.servers['']?.ready !== true; i++) { await new Promise((r) => setTimeout(r, 500)); model = await userModel('alice'); }
    assert.equal(model.servers['']?.ready, true, 'the API reports it ready');
  });

  test('stop, start: the file is still there', async () => {
    const stop = await a.raw('/hub/api/users/alice/server', { method: 'DELETE', headers: { 'x-xsrftoken': await xsrfOf(a) } });
    assert.equal(stop.status, 204);
    const gone = await docker.listContainers({ all: true, filters: { label: ['berth.user=alice'], name: [tag] } });
    assert.equal(gone.length, 0, 'container removed at stop');
    const vols = await docker.listVolumes({ filters: { name: [`${tag}-`] } });
    assert.equal(vols.Volumes?.length, 1, 'home volume kept');
    await startAndWait(a, 'alice');
    const { res } = await openServer(a, 'alice');
    assert.equal(res.status, 200);
    const file = await a.raw('/user/alice/api/contents/hello.txt');
    assert.equal(file.status, 200);
    assert.equal(((await file.json()) as { content: string }).content, 'kept across restarts');
  });
});

/** The hub's XSRF token for cookie-authenticated API writes, read from the home page. */
async function xsrfOf(b: Browser): Promise<string> {
  const html = await (await b.raw('/hub/home')).text();
  const xsrf = /data-xsrf="([^"]+)"/.exec(html)?.[1] ?? /name="_xsrf"\s+value="([^"]+)"/.exec(html)?.[1];
  assert.ok(xsrf, 'the home page carries the XSRF token'); // else a denial below would prove nothing
  return xsrf;
}
