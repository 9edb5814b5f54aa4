// Berth as three processes on one database (`berth api`, `berth proxy`, `berth worker`), and two
// workers side by side, with the fake backend (its servers are HTTP listeners inside the worker
// process) so this needs no Docker. The same with real containers and a real single-user server is
// test/integration/worker-takeover.test.ts and test/e2e/roles.e2e.test.ts.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { freePort, startBerth, type BerthProcess } from '../helpers/berth-process.ts';
import { until } from '../helpers/until.ts';
import { openDb, schema, type Db } from '../../db/client.ts';

const dir = mkdtempSync(join(tmpdir(), 'berth-roles-'));
const adminToken = randomBytes(16).toString('hex');
const env = { ROLES_ADMIN_TOKEN: adminToken };
let proxyPort: number;
let apiPort: number;
let configFile: string;
let db: Db;
const procs: BerthProcess[] = [];

function config(): string {
  return [
    'hub:', `  port: ${proxyPort}`, `  hub_port: ${apiPort}`, `  data_dir: ${dir}/data`, '  log_level: debug',
    'auth:', '  admin_password: roles admin password', '  allow_all: true',
    'services:', '  - name: roles-admin', '    api_token: ${ROLES_ADMIN_TOKEN}', '    admin: true',
    'backend: fake', 'spawner:', '  image: fake',
    'worker:', '  lease_seconds: 2', '  expire_every: 1', '',
  ].join('\n');
}

async function start(role: 'api' | 'proxy' | 'worker'): Promise<BerthProcess> {
  const p = await startBerth({ configFile, role, port: role === 'api' ? apiPort : proxyPort, env, logFile: join(dir, `${role}.log`) });
  procs.push(p);
  return p;
}
const api = (path: string, init: RequestInit = {}) =>
  fetch(`http://127.0.0.1:${proxyPort}/hub/api${path}`, { ...init, headers: { authorization: `token ${adminToken}`, ...(init.headers ?? {}) } });
const jobActors = async () => (await db.select().from(schema.audit).where(eq(schema.audit.action, 'worker.job'))).map((r) => r.actor);

describe('roles as separate processes on one database', { timeout: 120_000 }, () => {
  let apiProc: BerthProcess;
  let worker: BerthProcess;

  before(async () => {
    proxyPort = await freePort();
    apiPort = await freePort();
    configFile = join(dir, 'berth.yaml');
    writeFileSync(configFile, config());
    // The proxy first: it serves routes, and holds hub requests until the api answers.
    await start('proxy');
    apiProc = await start('api');
    worker = await start('worker');
    db = await openDb(`file:${dir}/data/berth.db`);
  });

  after(async () => {
    for (const p of procs) await p.kill('SIGTERM');
    db?.$client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a spawn requested through the proxy runs in the worker; its server is proxied', async () => {
    assert.equal((await api('/users/alice', { method: 'POST' })).status, 201);
    const spawn = await api('/users/alice/server', { method: 'POST' });
    assert.ok([201, 202].includes(spawn.status), `spawn: ${spawn.status}`);
    await until('alice ready', async () => ((await (await api('/users/alice')).json()) as { servers: Record<string, { ready: boolean }> }).servers['']?.ready);
    const res = await fetch(`http://127.0.0.1:${proxyPort}/user/alice/lab`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-fake-server'), 'alice/', 'answered by alice\'s server in the worker process');
    assert.match(worker.output(), /holding the lease/);
  });

  test('killing the api: users\' servers stay reachable; a hub request made meanwhile waits and is answered', async () => {
    await apiProc.kill('SIGKILL');
    const res = await fetch(`http://127.0.0.1:${proxyPort}/user/alice/api/contents`);
    assert.equal(res.status, 200, 'the server does not depend on the api');
    const held = fetch(`http://127.0.0.1:${proxyPort}/hub/api/`);
    await new Promise((r) => setTimeout(r, 300));
    apiProc = await start('api');
    const answered = await held;
    assert.equal(answered.status, 200);
    assert.match(await answered.text(), /"version"/);
    const ready = await fetch(`http://127.0.0.1:${proxyPort}/hub/health/ready`);
    assert.equal(ready.status, 200, await ready.clone().text());
  });

  test('two workers: exactly one acts per run; kill -9 of the holder and the other takes over', async () => {
    const second = await start('worker');
    await until('job runs', async () => (await jobActors()).length >= 3);
    const holder = (await db.select().from(schema.leases))[0]!.holder;
    await new Promise((r) => setTimeout(r, 2500)); // both alive for more runs
    const before = await db.select().from(schema.audit).where(eq(schema.audit.action, 'worker.job'));
    assert.deepEqual(new Set(before.map((r) => r.actor)), new Set([`worker:${holder}`]), 'only the holder acted');
    const runs = before.map((r) => (r.detail as { scheduled: string }).scheduled);
    assert.equal(new Set(runs).size, runs.length, 'one row per run');

    const [dying, survivor] = second.output().includes('holding the lease') ? [second, worker] : [worker, second];
    await dying.kill('SIGKILL');
    await until('the other worker to take over', () => survivor.output().includes('holding the lease'), 3000);
    const lease = (await db.select().from(schema.leases))[0]!;
    assert.notEqual(lease.holder, holder);
    await until('a job run by the new holder', async () => (await jobActors()).includes(`worker:${lease.holder}`), 5000);
    const after = await db.select().from(schema.audit).where(eq(schema.audit.action, 'worker.job'));
    const all = after.map((r) => (r.detail as { scheduled: string }).scheduled);
    assert.equal(new Set(all).size, all.length, 'still one row per run');
    worker = survivor;
  });
});
