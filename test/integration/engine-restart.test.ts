// A Docker engine restart under a running Berth (`berth serve`, real process) with three running
// servers of the tiny image: the engine stops every container when it goes down (Berth's have
// RestartPolicy "no", so none comes back), and within one reconcile interval after it answers again
// every row is stopped, with the reason ("container exited (code N)") in an audit row, and nothing of
// ours is left in the engine. Then a spawn works again. The engine is one of the test's own
// (test/helpers/private-engine.ts): restarting the machine's engine would kill every other suite's
// containers. Run it alone: flock -x /tmp/berth-docker.lock node scripts/run-tests.mjs <this file>.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { freePort, startBerth, type BerthProcess } from '../helpers/berth-process.ts';
import { PrivateEngine } from '../helpers/private-engine.ts';
import { until } from '../helpers/until.ts';
import { openDb, schema, type Db } from '../../db/client.ts';

const TINY = 'berth-test/tiny:latest';
const USERS = ['r0', 'r1', 'r2'];
const RECONCILE_EVERY = 3;
const tag = `berthrestart${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'berth-engine-restart-'));
const adminToken = randomBytes(16).toString('hex');
let engine: PrivateEngine;
let berth: BerthProcess | undefined;
let db: Db;
let port: number;

const api = (path: string, init: RequestInit = {}) =>
  fetch(`http://127.0.0.1:${port}/hub/api${path}`, { ...init, headers: { authorization: `token ${adminToken}`, 'content-type': 'application/json' } });
const rows = () => db.select({ user: schema.users.name, state: schema.servers.state }).from(schema.servers).innerJoin(schema.users, eq(schema.users.id, schema.servers.userId));
const ours = async () => engine.docker.listContainers({ all: true, filters: { label: [`berth.instance=${tag}`] } });
const describeContainers = (cs: Awaited<ReturnType<typeof ours>>) => cs.map((c) => `${c.Names[0]} ${c.State}${c.Labels['berth.probe'] ? ' (probe)' : ''}`).join(', ') || 'none';

describe('a Docker engine restart under a running Berth', { timeout: 240_000 }, () => {
  before(async () => {
    engine = new PrivateEngine();
    await engine.start();
    await engine.loadImage(TINY);
    port = await freePort();
    const configFile = join(dir, 'berth.yaml');
    writeFileSync(configFile, [
      'hub:', `  port: ${port}`, `  data_dir: ${dir}/data`, '  log_level: debug',
      'auth:', '  admin_password: restart admin pw', '  allow_all: true',
      'services:', '  - name: restart-admin', '    api_token: ${RESTART_ADMIN_TOKEN}', '    admin: true',
      'spawner:', `  image: ${TINY}`, '  http_timeout: 30',
      'docker:', `  host: unix://${engine.socket}`, `  name_prefix: ${tag}`, `  home_volume: ${tag}-{username}`, '  extra_labels:', '    berth.test: "1"',
      'worker:', `  reconcile_every: ${RECONCILE_EVERY}`, '',
    ].join('\n'));
    berth = await startBerth({ configFile, port, env: { RESTART_ADMIN_TOKEN: adminToken }, logFile: join(dir, 'berth.log') });
    db = await openDb(`file:${dir}/data/berth.db`);
  });

  after(async () => {
    await berth?.kill('SIGTERM');
    db?.$client.close();
    // Always: the test's engine is stopped and removed with everything in it, whatever happened above.
    await engine?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('within one reconcile interval after the engine is back, every row is stopped with the reason and nothing of ours is left', async (t) => {
    assert.equal((await api('/users', { method: 'POST', body: JSON.stringify({ usernames: USERS }) })).status, 201);
    for (const u of USERS) assert.ok([201, 202].includes((await api(`/users/${u}/server`, { method: 'POST' })).status));
    await until('every server running', async () => {
      const r = await rows();
      return r.length === USERS.length && r.every((x) => x.state === 'running');
    }, 60_000, 100);
    // One running container per server and nothing else (the hub-reach probe of the worker has finished).
    await until('only the servers\' containers', async () => {
      const c = await ours();
      return c.length === USERS.length && c.every((x) => x.State === 'running' && !x.Labels['berth.probe']);
    }, 30_000, 100).catch((e: Error) => ours().then((c) => { throw new Error(`${e.message}; containers: ${describeContainers(c)}`); }));
    assert.equal((await db.select().from(schema.audit).where(eq(schema.audit.action, 'server.lost'))).length, 0);

    await engine.restart();
    const states = (await ours()).map((c) => c.State);
    t.diagnostic(`after the restart the engine has our containers in states: ${states.join(', ')} (restart policy "no": none restarted)`);

    let last = '';
    await until('rows stopped and the engine clean', async () => {
      const r = await rows();
      const c = await ours();
      last = `rows: ${r.map((x) => `${x.user}=${x.state}`).join(' ')}; containers: ${describeContainers(c)}`;
      return r.every((x) => x.state === 'stopped') && c.length === 0;
    }, (RECONCILE_EVERY + 5) * 1000, 100).catch((e: Error) => { throw new Error(`${e.message}; ${last}\n${berth!.output().split('\n').slice(-30).join('\n')}`); });

    const lost = await db.select().from(schema.audit).where(eq(schema.audit.action, 'server.lost'));
    assert.deepEqual(lost.map((a) => a.target).sort(), USERS.map((u) => `${u}/`));
    for (const a of lost) assert.match(String(a.detail?.why), /^container (exited \(code \d+\)|gone)$/, JSON.stringify(a.detail));

    // The engine is usable again through the same Berth.
    assert.ok([201, 202].includes((await api(`/users/${USERS[0]}/server`, { method: 'POST' })).status));
    await until('spawned again', async () => (await rows()).find((x) => x.user === USERS[0])?.state === 'running', 60_000, 100);
  });
});
