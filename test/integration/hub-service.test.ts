// A real JupyterHub service behind Berth: a tornado app on JupyterHub's own service library
// (jupyterhub.services.auth HubOAuthenticated + HubOAuthCallbackHandler, Debian's `jupyterhub`
// package, run with /usr/bin/python3) started with the environment JupyterHub gives a service, and
// a real `berth serve` (fake backend: no Docker) configured with it. Driven as a browser would,
// with a cookie jar, through Berth's proxy at /services/whoami/ and Berth's OAuth provider.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { Browser } from '../helpers/browser.ts';
import { freePort, startBerth, type BerthProcess } from '../helpers/berth-process.ts';

const PYTHON = '/usr/bin/python3';
const SERVICE = fileURLToPath(new URL('../fixtures/whoami_service.py', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'berth-hub-service-'));
const password = 'service shared password';
const adminPassword = 'service admin password';
const serviceToken = randomBytes(16).toString('hex');
let berth: BerthProcess;
let service: ChildProcess;
let serviceOut = '';

/** The environment JupyterHub 5 gives a service with a url (Service.start → _ServiceSpawner.get_env). */
function serviceEnv(berthPort: number, servicePort: number): Record<string, string> {
  const scopes = JSON.stringify(['access:services', 'access:services!service=whoami']);
  return {
    JUPYTERHUB_SERVICE_NAME: 'whoami',
    JUPYTERHUB_API_TOKEN: serviceToken,
    JUPYTERHUB_CLIENT_ID: 'service-whoami',
    JUPYTERHUB_HOST: '',
    JUPYTERHUB_API_URL: `http://127.0.0.1:${berthPort}/hub/api`,
    JUPYTERHUB_BASE_URL: '/',
    JUPYTERHUB_SERVICE_URL: `http://127.0.0.1:${servicePort}`,
    JUPYTERHUB_SERVICE_PREFIX: '/services/whoami/',
    JUPYTERHUB_OAUTH_CALLBACK_URL: '/services/whoami/oauth_callback',
    JUPYTERHUB_OAUTH_SCOPES: scopes,
    JUPYTERHUB_OAUTH_ACCESS_SCOPES: scopes,
    JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES: '[]',
  };
}

/** Follows the browser from the service through the hub's OAuth; on the consent page, clicks Authorize. */
async function visit(b: Browser, path = '/services/whoami/') {
  let { res, hops } = await b.go(path);
  let consented = false;
  if (res.status === 200 && new URL(hops.at(-1)!.url).pathname === '/hub/api/oauth2/authorize') {
    const html = await res.text();
    assert.match(html, /Authorize access/);
    assert.match(html, /JupyterHub service whoami/);
    const action = /<form method="post" action="([^"]+)"/.exec(html)![1]!.replace(/&amp;/g, '&');
    const xsrf = /name="_xsrf" value="([^"]+)"/.exec(html)![1]!;
    const posted = await b.raw(action, { method: 'POST', body: new URLSearchParams({ _xsrf: xsrf }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(posted.status, 302, await posted.clone().text());
    ({ res, hops } = await b.go(new URL(posted.headers.get('location')!, b.origin).toString()));
    consented = true;
  }
  return { res, hops, consented };
}

describe('a real JupyterHub service (HubOAuth) behind Berth', { timeout: 120_000 }, () => {
  before(async () => {
    const probe = spawnSync(PYTHON, ['-c', 'import jupyterhub.services.auth, tornado'], { encoding: 'utf8' });
    assert.equal(probe.status, 0, `JupyterHub's Python package is missing (Debian package jupyterhub; scripts/test-env.sh installs it): ${probe.stderr}`);
    const berthPort = await freePort();
    const servicePort = await freePort();
    const configFile = join(dir, 'berth.yaml');
    writeFileSync(configFile, [
      'hub:', `  port: ${berthPort}`, `  data_dir: ${dir}/data`, '  log_level: debug',
      'auth:', '  shared_password: ${SVC_PASSWORD}', `  admin_password: ${adminPassword}`, '  allow_all: true',
      'services:',
      '  - name: whoami', `    url: http://127.0.0.1:${servicePort}`, '    api_token: ${WHOAMI_TOKEN}', '    access_users: [alice]',
      'backend: fake', 'spawner:', '  image: fake', '',
    ].join('\n'));
    berth = await startBerth({ configFile, port: berthPort, env: { SVC_PASSWORD: password, WHOAMI_TOKEN: serviceToken }, logFile: join(dir, 'berth.log') });
    service = spawn(PYTHON, [SERVICE], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...serviceEnv(berthPort, servicePort) }, stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        serviceOut += d.toString();
        if (serviceOut.includes('whoami service listening')) resolve();
      };
      service.stdout!.on('data', onData);
      service.stderr!.on('data', onData);
      service.once('exit', (code) => reject(new Error(`the service exited with ${code}:\n${serviceOut}`)));
    });
  });

  after(async () => {
    if (service && service.exitCode === null && service.signalCode === null) {
      await new Promise<void>((resolve) => { service.once('exit', () => resolve()); service.kill('SIGTERM'); });
    }
    await berth?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  test('not logged in: the service sends the browser to the hub, which asks for a login', async () => {
    const b = new Browser(berth.origin);
    const { res, hops } = await b.go('/services/whoami/');
    await res.arrayBuffer();
    assert.equal(new URL(hops[0]!.location!, berth.origin).pathname, '/hub/api/oauth2/authorize');
    assert.equal(new URL(hops.at(-1)!.url).pathname, '/hub/login');
    assert.equal(res.status, 200);
  });

  test('alice (access_users) logs in, authorizes the service once, and the service knows her', async () => {
    const b = new Browser(berth.origin);
    assert.equal((await b.login('alice', password)).status, 302);
    const { res, hops, consented } = await visit(b);
    assert.ok(consented, 'a service without oauth_no_confirm asks first');
    assert.equal(res.status, 200, `${hops.map((h) => `${h.status} ${h.url}`).join(' → ')}\n${await res.clone().text()}`);
    const me = (await res.json()) as { name: string; kind: string; scopes: string[]; path: string };
    assert.equal(me.name, 'alice');
    assert.equal(me.kind, 'user');
    // the proxy kept the prefix: the service saw the full path
    assert.equal(me.path, '/services/whoami/');
    // what the service's token may do: identify alice and access this service, nothing more
    assert.deepEqual(me.scopes, ['access:services!service=whoami', 'read:users:groups!user=alice', 'read:users:name!user=alice']);
    // the service's own cookie, scoped to its prefix
    assert.ok(b.jar.get('service-whoami', '/services/whoami/'));
    // the callback went through the hub-registered redirect URI
    assert.ok(hops.some((h) => new URL(h.url).pathname === '/services/whoami/oauth_callback'));

    // a second login to the service (its cookie lost) needs no consent: the earlier token covers it
    b.jar.delete('service-whoami');
    const again = await visit(b);
    assert.equal(again.consented, false);
    assert.equal(((await again.res.json()) as { name: string }).name, 'alice');
  });

  test("alice's WebSocket to the service goes through the proxy, authenticated by the service's cookie", async () => {
    const b = new Browser(berth.origin);
    await b.login('alice', password);
    const { res } = await visit(b);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    const ws = new WebSocket(`${berth.origin.replace('http', 'ws')}/services/whoami/echo`, { headers: { cookie: b.jar.header('/services/whoami/echo') } });
    const reply = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('hello through berth'));
      ws.once('message', (d) => resolve(d.toString()));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, r) => reject(new Error(`websocket refused: ${r.statusCode}`)));
    });
    assert.equal(reply, 'alice: hello through berth');
    ws.close();
    // without the service's cookie, the service itself refuses the handshake
    const anon = new WebSocket(`${berth.origin.replace('http', 'ws')}/services/whoami/echo`);
    const status = await new Promise<number>((resolve, reject) => {
      anon.once('unexpected-response', (_req, r) => resolve(r.statusCode!));
      anon.once('open', () => reject(new Error('opened without a login')));
      anon.once('error', reject);
    });
    assert.equal(status, 403);
  });

  test('bob, logged in but without access, is refused at authorize with a 403 page', async () => {
    const b = new Browser(berth.origin);
    assert.equal((await b.login('bob', password)).status, 302);
    const { res, hops } = await b.go('/services/whoami/');
    assert.equal(new URL(hops.at(-1)!.url).pathname, '/hub/api/oauth2/authorize');
    assert.equal(res.status, 403);
    assert.match(await res.text(), /You do not have permission to access JupyterHub service whoami/);
    assert.equal(b.jar.get('service-whoami'), undefined);
  });

  test('an admin may access any service (the admin role holds access:services)', async () => {
    const b = new Browser(berth.origin);
    assert.equal((await b.login('admin', adminPassword)).status, 302);
    const { res } = await visit(b);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { name: string }).name, 'admin');
  });
});
