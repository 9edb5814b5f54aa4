// End to end, as a person would: a real `berth serve` process, the real Docker engine and an
// unmodified jupyterhub-singleuser image (Debian's jupyterhub 3.0.0), driven over HTTP with a
// cookie jar through Berth's own proxy. Covers the walking-skeleton acceptance of issue #2,
// including a kill -9 of Berth with a server running.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { Browser } from '../helpers/browser.ts';
import { openServer, runKernel, startAndWait, xsrfOf } from '../helpers/jupyter.ts';
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

  test('named servers: two of alice\'s run at once, each a real Jupyter with its own volume, through the proxy', async () => {
    for (const server of ['lab', 'gpu']) {
      const messages = await startAndWait(a, `alice/${server}`);
      assert.match(messages.at(-1)!, new RegExp(`Server ready at /user/alice/${server}/`));
      const { res, hops } = await openServer(a, `alice/${server}`);
      assert.equal(res.status, 200, hops.map((h) => `${h.status} ${h.url}`).join('\n'));
      const put = await a.raw(`/user/alice/${server}/api/contents/which.txt`, {
        method: 'PUT', body: JSON.stringify({ type: 'file', format: 'text', content: `I am ${server}` }),
        headers: { 'content-type': 'application/json', 'x-xsrftoken': a.jar.get('_xsrf') ?? '' },
      });
      assert.equal(put.status, 201, await put.clone().text());
    }
    const model = await userModel('alice');
    for (const server of ['', 'lab', 'gpu']) assert.equal(model.servers[server]?.ready, true, `server "${server}" ready`);
    for (const server of ['lab', 'gpu']) {
      assert.equal(await runKernel(a, `alice/${server}`, '6*7'), '42');
      const file = await a.raw(`/user/alice/${server}/api/contents/which.txt`);
      assert.equal(((await file.json()) as { content: string }).content, `I am ${server}`, 'each server sees its own home');
    }
    assert.equal((await a.raw('/user/alice/api/contents/which.txt')).status, 404, 'the default server has neither file');
    const containers = await docker.listContainers({ filters: { label: ['berth.user=alice'], name: [tag] } });
    assert.equal(containers.length, 3, 'three containers');
    const homes = new Set(containers.map((c) => c.Mounts.find((m) => m.Destination === '/home/jovyan')?.Name));
    assert.equal(homes.size, 3, `three home volumes: ${[...homes].join(', ')}`);
    for (const server of ['lab', 'gpu']) {
      const res = await a.raw(`/hub/api/users/alice/servers/${server}`, { method: 'DELETE', headers: { 'x-xsrftoken': await xsrfOf(a) } });
      assert.equal(res.status, 204);
    }
  });
});
