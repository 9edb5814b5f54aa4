// jupyterhub-idle-culler 2.0.0's cycle (the port in test/helpers/idle-culler.ts) against a real
// `berth serve` over HTTP, with the fake backend (no Docker): real Host headers in next.url, real
// percent-decoding of `%40` and a raw `@` in paths. Activity arrives as a single-user server reports
// it (POST /users/:name/activity); the culler's clock is set ahead, as its own tests mock utcnow().
// The pending-server and admin cases are in handlers/api/idle-culler.test.ts.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort, startBerth, type BerthProcess } from '../helpers/berth-process.ts';
import { cullIdle } from '../helpers/idle-culler.ts';

const dir = mkdtempSync(join(tmpdir(), 'berth-culler-'));
const adminToken = randomBytes(16).toString('hex');
const cullerToken = randomBytes(16).toString('hex');
let berth: BerthProcess;

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${berth.origin}/hub/api${path}`, { ...init, headers: { authorization: `token ${adminToken}`, 'content-type': 'application/json', ...init.headers } });

describe('jupyterhub-idle-culler 2.0 against berth serve', () => {
  before(async () => {
    const port = await freePort();
    const configFile = join(dir, 'berth.yaml');
    writeFileSync(configFile, [
      'hub:', `  port: ${port}`, `  data_dir: ${dir}/data`, '  allow_named_servers: true',
      'auth:', '  admin_password: culler admin password', '  allow_all: true',
      'services:',
      '  - name: culler-admin', '    api_token: ${ADMIN_TOKEN}', '    admin: true',
      '  - name: idle-culler', '    api_token: ${CULLER_TOKEN}',
      '    scopes: [list:users, "read:users:activity", "read:servers", "delete:servers", "admin:users"]',
      'backend: fake', 'spawner:', '  image: fake', '',
    ].join('\n'));
    berth = await startBerth({ configFile, port, env: { ADMIN_TOKEN: adminToken, CULLER_TOKEN: cullerToken }, logFile: join(dir, 'berth.log') });
  });

  after(async () => {
    await berth?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  test('--timeout=60 --cull-users: the stale servers are stopped (204) and their users deleted; the active one stays', async () => {
    assert.equal((await api('/users', { method: 'POST', body: JSON.stringify({ usernames: ['a@b.c', 'fresh', 'dave'] }) })).status, 201);
    for (const path of ['a%40b.c/server', 'fresh/server', 'dave/servers/ml']) {
      assert.equal((await api(`/users/${path}`, { method: 'POST' })).status, 201, path);
    }
    // fresh's server reports activity 30 minutes ahead (Berth accepts up to 59); the culler runs at +30:10.
    const ahead = Date.now() + 30 * 60_000;
    const at = new Date(ahead).toISOString();
    const activity = await api('/users/fresh/activity', { method: 'POST', body: JSON.stringify({ last_activity: at, servers: { '': { last_activity: at } } }) });
    assert.equal(activity.status, 200);

    const url = `${berth.origin}/hub/api`;
    const run = await cullIdle({ url, apiToken: cullerToken, inactiveLimit: 60, cullUsers: true, removeNamedServers: true, apiPageSize: 1, now: () => new Date(ahead + 10_000), fetch });
    assert.deepEqual(run.errors, []);
    const sent = run.requests.map((r) => `${r.method} ${r.url.replace(berth.origin, '')} ${r.status}`);
    assert.deepEqual(sent, [
      'GET /hub/api/ 200',
      'GET /hub/api/users?state=inactive&limit=1 200',
      'GET /hub/api/users?limit=1&state=ready 200',
      'GET /hub/api/users?limit=1&state=ready&offset=1 200',
      'GET /hub/api/users?limit=1&state=ready&offset=2 200',
      'DELETE /hub/api/users/a%40b.c/server 204',
      'DELETE /hub/api/users/a@b.c 204',
      'DELETE /hub/api/users/dave/servers/ml 204',
      'DELETE /hub/api/users/dave 204',
    ]);
    // every next.url followed was absolute, on the origin the culler called
    for (const r of run.requests) assert.ok(r.url.startsWith(`${berth.origin}/hub/api/`), r.url);

    const names = ((await (await api('/users')).json()) as { name: string; servers: Record<string, { ready: boolean }> }[]);
    assert.deepEqual(names.map((u) => u.name), ['fresh']);
    assert.equal(names[0]!.servers['']?.ready, true);
  });
});
