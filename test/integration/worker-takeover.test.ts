// kill -9 of the worker during 20 spawns of the tiny image, against the real engine, with `berth api`
// and `berth worker` as separate processes on one database; then a second worker. Within one lease
// period every server ends ready or failed with a reason: no row stuck in a pending state, no
// container that no running row owns, no home volume lost.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { inArray } from 'drizzle-orm';
import { freePort, removeTestObjects, startBerth, type BerthProcess } from '../helpers/berth-process.ts';
import { until } from '../helpers/until.ts';
import { openDb, schema, type Db } from '../../db/client.ts';
import { PENDING } from '../../src/state/server.ts';

const N = 20;
const LEASE_SECONDS = 10;
/**
 * A `docker create` in flight at the kill may complete after the new worker's reconcile: nothing
 * then owns that container, and the prune job removes it once it is ORPHAN_GRACE old (a run every
 * PRUNE_EVERY). So the "no orphan" wait allows the lease period plus that, and nothing else.
 */
const PRUNE_EVERY = 1;
const ORPHAN_GRACE = 2;
const tag = `berthwk${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'berth-takeover-'));
const adminToken = randomBytes(16).toString('hex');
const env = { WK_ADMIN_TOKEN: adminToken };
const docker = new Docker();
const users = Array.from({ length: N }, (_, i) => `u${i}`);
let apiPort: number;
let configFile: string;
let db: Db;
const procs: BerthProcess[] = [];

const api = (path: string, init: RequestInit = {}) =>
  fetch(`http://127.0.0.1:${apiPort}/hub/api${path}`, { ...init, headers: { authorization: `token ${adminToken}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
const rows = () => db.select({ id: schema.servers.id, state: schema.servers.state, failure: schema.servers.failure, owner: schema.servers.owner, userId: schema.servers.userId }).from(schema.servers);
const ours = async () => docker.listContainers({ all: true, filters: { label: ['berth.test=1'], name: [tag] } });
const volumes = async () => new Set(((await docker.listVolumes({ filters: { name: [`${tag}-`] } })).Volumes ?? []).map((v) => v.Name));

async function start(role: 'api' | 'worker', n = 0) {
  const p = await startBerth({ configFile, role, port: apiPort, env, logFile: join(dir, `${role}${n}.log`) });
  procs.push(p);
  return p;
}

describe('a worker killed during 20 spawns, then a second worker', { timeout: 240_000 }, () => {
  before(async () => {
    await removeTestObjects('berthwk'); // what a killed earlier run left
    apiPort = await freePort();
    configFile = join(dir, 'berth.yaml');
    writeFileSync(configFile, [
      'hub:', `  port: ${await freePort()}`, `  hub_port: ${apiPort}`, `  data_dir: ${dir}/data`, '  log_level: debug', '  concurrent_spawn_limit: 8',
      'auth:', '  admin_password: takeover admin pw', '  allow_all: true',
      'services:', '  - name: wk-admin', '    api_token: ${WK_ADMIN_TOKEN}', '    admin: true',
      'spawner:', '  image: berth-test/tiny:latest', '  http_timeout: 60', '  start_timeout: 120',
      'docker:', `  name_prefix: ${tag}`, `  home_volume: ${tag}-{username}`, '  extra_labels:', '    berth.test: "1"',
      'worker:', `  lease_seconds: ${LEASE_SECONDS}`, '  prune:', `    every: ${PRUNE_EVERY}`, `    orphan_grace: ${ORPHAN_GRACE}`, '',
    ].join('\n'));
    await start('api');
    db = await openDb(`file:${dir}/data/berth.db`);
  });

  after(async () => {
    for (const p of procs) await p.kill('SIGTERM');
    db?.$client.close();
    await removeTestObjects(tag);
    rmSync(dir, { recursive: true, force: true });
  });

  test('every server ends ready or failed with a reason; no stuck row, no orphan container, no lost volume', async (t) => {
    const first = await start('worker', 1);
    assert.equal((await api('/users', { method: 'POST', body: JSON.stringify({ usernames: users }) })).status, 201);
    // Not awaited: each POST waits up to slow_spawn_timeout for its server, as JupyterHub's does.
    const asked = Promise.all(users.map((u) => api(`/users/${u}/server`, { method: 'POST' })));

    // Kill it while spawns are in flight: some running, some starting, the rest still queued.
    const seen: string[] = [];
    await until('spawns in flight', async () => {
      const r = await rows();
      const counts = r.reduce<Record<string, number>>((m, x) => ({ ...m, [x.state]: (m[x.state] ?? 0) + 1 }), {});
      if (seen.at(-1) !== JSON.stringify(counts)) seen.push(JSON.stringify(counts));
      return r.filter((x) => x.state === 'spawning').length >= 3 && r.some((x) => x.state === 'running');
    }, 60_000, 10).catch((e: Error) => { throw new Error(`${e.message}; states seen: ${seen.join(' ')}`); });
    await first.kill('SIGKILL');
    const statuses = (await asked).map((r) => r.status);
    assert.deepEqual(statuses.filter((s) => s !== 201 && s !== 202), [], 'every request accepted');
    const atKill = await rows();
    const volumesAtKill = await volumes();
    assert.ok(atKill.some((x) => x.state === 'spawning'), 'killed mid-spawn');

    const second = await start('worker', 2);
    const settled = await until('every row ready or failed', async () => {
      const r = await rows();
      return r.length === N && r.every((x) => !PENDING.includes(x.state as never)) ? r : undefined;
    }, LEASE_SECONDS * 1000, 100);
    assert.match(second.output(), /holding the lease/);
    for (const r of settled) {
      assert.ok(r.state === 'running' || (r.state === 'failed' && r.failure?.reason), `row ${r.id}: ${r.state} ${JSON.stringify(r.failure)}`);
      assert.equal(r.owner, null, 'nothing left owned');
    }
    const failed = settled.filter((r) => r.state === 'failed');
    t.diagnostic(`at the kill: ${seen.at(-1)}; after the takeover: ${failed.length} failed as interrupted, ${N - failed.length} running`);
    for (const f of failed) assert.equal(f.failure?.reason, 'interrupted', JSON.stringify(f.failure));

    // Containers: exactly one running container per running row, nothing else of ours.
    const running = settled.filter((r) => r.state === 'running').length;
    let left = '';
    const containers = await until('no orphan containers', async () => {
      const c = await ours();
      if (c.length === running) return c;
      // What is there besides one container per running row, for the failure message.
      left = c.map((x) => `${x.Names[0]} ${x.State} user=${x.Labels['berth.user'] ?? '-'} probe=${x.Labels['berth.probe'] ?? '-'} creator=${x.Labels['berth.creator'] ?? '-'}`).join(', ');
      return undefined;
    }, (LEASE_SECONDS + ORPHAN_GRACE + PRUNE_EVERY) * 1000, 200)
      .catch((e: Error) => { throw new Error(`${e.message}; ${running} running rows; containers: ${left}`); });
    assert.ok(containers.every((c) => c.State === 'running'), containers.map((c) => `${c.Names[0]} ${c.State}`).join(', '));
    const names = await db.select({ name: schema.users.name }).from(schema.users).where(inArray(schema.users.id, settled.filter((r) => r.state === 'running').map((r) => r.userId)));
    assert.deepEqual(new Set(containers.map((c) => c.Labels['berth.user'])), new Set(names.map((n) => n.name)));

    // Volumes: none lost; every running server has its home.
    const after = await volumes();
    for (const v of volumesAtKill) assert.ok(after.has(v), `volume ${v} kept`);
    for (const n of names) assert.ok(after.has(`${tag}-${n.name}`), `${n.name}'s home volume`);

    // The failed ones start again normally under the new worker.
    for (const f of failed) {
      const [u] = await db.select({ name: schema.users.name }).from(schema.users).where(inArray(schema.users.id, [f.userId]));
      assert.ok([201, 202].includes((await api(`/users/${u!.name}/server`, { method: 'POST' })).status));
    }
    await until('all ready', async () => (await rows()).every((r) => r.state === 'running'), 60_000, 200);
  });
});
