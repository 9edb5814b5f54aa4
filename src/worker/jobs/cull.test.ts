// The idle-cull job (jupyterhub-idle-culler 2.0's rules, spec D.1) against the fake backend with a
// fixed clock: every option of worker.cull, the boundaries, and the busy-kernel check.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { and, eq } from 'drizzle-orm';
import { buildTestApp, testClock } from '../../../test/helpers/app.ts';
import { insertServer } from '../../../test/helpers/server-rows.ts';
import { schema } from '../../../db/client.ts';
import type { ConfigInput } from '../../config/schema.ts';
import { FakeBackend } from '../../backends/fake/index.ts';
import type { BackendRef } from '../../backends/types.ts';
import { accessScopes } from '../../auth/scopes.ts';
import { requestSpawn } from '../../services/servers/request-spawn.ts';
import { waitForServer } from '../../services/servers/wait.ts';
import { ActivityRecorder } from '../../proxy/activity.ts';
import { findServerRow } from '../../state/server.ts';
import { cullEvery, jobSpecs, runJob } from './index.ts';

const MIN = 60_000;
type CullInput = NonNullable<NonNullable<ConfigInput['worker']>['cull']>;

async function setup(cull: CullInput = {}, o: { backend?: FakeBackend } = {}) {
  const clock = testClock();
  const backend = o.backend ?? new FakeBackend();
  const t = await buildTestApp({ clock, backend, config: { hub: { allow_named_servers: true }, worker: { cull: { enabled: true, timeout: 600, ...cull } } } });
  const spawn = async (userName: string, serverName = '', admin = false) => {
    const user = (await t.db.query.users.findFirst({ where: eq(schema.users.name, userName) })) ?? (await t.createUser(userName, { admin }));
    const { server } = await requestSpawn({ ctx: t.ctx, input: { user, serverName } });
    const row = await waitForServer(t.ctx, server.id, 5000);
    assert.equal(row.state, 'running');
    return { user, row };
  };
  const spec = jobSpecs(t.ctx, { acting: () => true }).find((s) => s.name === 'cull')!;
  const run = () => runJob(t.ctx, spec) as Promise<Record<string, unknown>>;
  const state = async (id: number) => (await findServerRow(t.db, id))?.state ?? 'gone';
  const userExists = async (name: string) => !!(await t.db.query.users.findFirst({ where: eq(schema.users.name, name) }));
  const audits = (action: string) => t.db.select().from(schema.audit).where(eq(schema.audit.action, action)).orderBy(schema.audit.id);
  return { t, clock, backend, spawn, run, state, userExists, audits };
}

describe('cull job: registration', () => {
  test('scheduled only when enabled, at cull.every or timeout / 2', async () => {
    const off = await buildTestApp({ runner: false });
    assert.ok(!jobSpecs(off.ctx, { acting: () => true }).some((s) => s.name === 'cull'));
    const on = await buildTestApp({ runner: false, config: { worker: { cull: { enabled: true, timeout: 600 } } } });
    assert.equal(jobSpecs(on.ctx, { acting: () => true }).find((s) => s.name === 'cull')?.everySeconds, 300);
    assert.equal(cullEvery(on.config), 300);
    const every = await buildTestApp({ runner: false, config: { worker: { cull: { enabled: true, timeout: 600, every: 42 } } } });
    assert.equal(jobSpecs(every.ctx, { acting: () => true }).find((s) => s.name === 'cull')?.everySeconds, 42);
  });
});

describe('cull job: servers', () => {
  test('an idle server is stopped once inactive for exactly `timeout`, not a millisecond before', async () => {
    const s = await setup();
    const { row } = await s.spawn('alice');
    s.clock.advance(10 * MIN - 1);
    let result = await s.run();
    assert.equal(result.culled_servers, 0);
    assert.equal(await s.state(row.id), 'running');
    s.clock.advance(1);
    result = await s.run();
    assert.equal(result.culled_servers, 1);
    assert.deepEqual(result.servers, ['alice']);
    assert.equal(await s.state(row.id), 'stopped');
    const [audit] = await s.audits('server.cull');
    assert.equal(audit!.actor, `worker:${s.t.ctx.instanceId}`);
    assert.equal(audit!.target, 'alice');
    assert.deepEqual(audit!.detail, { reason: 'inactive', inactive_seconds: 600, age_seconds: 600, removed: false, done: true });
    assert.ok(await s.userExists('alice'), 'users are not culled unless cull.users');
  });

  test('proxied traffic and activity posts keep a server from being culled', async () => {
    const s = await setup();
    const { user, row } = await s.spawn('alice');
    const { user: bob, row: bobs } = await s.spawn('bob');
    s.clock.advance(9 * MIN);
    const proxy = new ActivityRecorder(s.t.ctx); // what the proxy does for each proxied request
    proxy.touch(row.id, user.id);
    await proxy.close(); // flushes
    const at = new Date(s.clock.now()).toISOString(); // what bob's single-user server posts
    const post = await s.t.request('/hub/api/users/bob/activity', {
      method: 'POST', token: await s.t.createToken(bob.id), headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ servers: { '': { last_activity: at } }, last_activity: at }),
    });
    assert.equal(post.status, 200);
    s.clock.advance(9 * MIN); // 18 minutes after the start, 9 after the traffic
    assert.equal((await s.run()).culled_servers, 0);
    assert.equal(await s.state(row.id), 'running');
    assert.equal(await s.state(bobs.id), 'running');
    s.clock.advance(1 * MIN);
    assert.equal((await s.run()).culled_servers, 2);
  });

  test('last_activity null: `started` counts instead', async () => {
    const s = await setup();
    const alice = await s.t.createUser('alice');
    const bob = await s.t.createUser('bob');
    const old = await insertServer(s.t.db, alice.id, 'running', { at: s.clock.now() - 10 * MIN });
    const fresh = await insertServer(s.t.db, bob.id, 'running', { at: s.clock.now() - 9 * MIN });
    const result = await s.run();
    assert.deepEqual(result.servers, ['alice']);
    assert.equal(await s.state(old.id), 'stopped');
    assert.equal(await s.state(fresh.id), 'running');
  });

  test('pending servers (queued, spawning, stopping) and not-ready ones are left alone', async () => {
    const s = await setup();
    const at = s.clock.now() - 60 * MIN;
    for (const [name, state] of [['q', 'queued'], ['sp', 'spawning'], ['st', 'stopping']] as const) {
      await insertServer(s.t.db, (await s.t.createUser(name)).id, state, { at });
    }
    const noUrl = await insertServer(s.t.db, (await s.t.createUser('nourl')).id, 'running', { at });
    await s.t.db.update(schema.servers).set({ url: null }).where(eq(schema.servers.id, noUrl.id));
    const result = await s.run();
    assert.equal(result.culled_servers, 0);
    assert.equal(result.skipped_pending, 3);
    assert.equal(result.skipped_not_ready, 1);
    const states = (await s.t.db.select().from(schema.servers)).map((r) => r.state).sort();
    assert.deepEqual(states, ['queued', 'running', 'spawning', 'stopping']);
  });

  test('max_age stops a server that is active; 0 leaves it running', async () => {
    for (const maxAge of [0, 3600]) {
      const s = await setup({ max_age: maxAge });
      const alice = await s.t.createUser('alice');
      const row = await insertServer(s.t.db, alice.id, 'running', { at: s.clock.now() - 61 * MIN, lastActivityUs: (s.clock.now() - MIN) * 1000 });
      const result = await s.run();
      if (maxAge === 0) {
        assert.equal(result.culled_servers, 0);
        assert.equal(await s.state(row.id), 'running');
      } else {
        assert.equal(await s.state(row.id), 'stopped');
        assert.deepEqual((await s.audits('server.cull'))[0]!.detail, { reason: 'max_age', inactive_seconds: 60, age_seconds: 3660, removed: false, done: true });
      }
    }
  });

  test('named servers: stopped and kept, or removed with remove_named_servers', async () => {
    for (const remove of [false, true]) {
      const s = await setup({ remove_named_servers: remove });
      const { row: dflt } = await s.spawn('alice');
      const { row: named } = await s.spawn('alice', 'gpu');
      s.clock.advance(10 * MIN);
      const result = await s.run();
      assert.deepEqual([...(result.servers as string[])].sort(), ['alice', 'alice:gpu']);
      assert.equal(await s.state(dflt.id), 'stopped', 'the default server is never removed');
      assert.equal(await s.state(named.id), remove ? 'gone' : 'stopped');
      const detail = (await s.audits('server.cull')).find((a) => a.target === 'alice:gpu')!.detail;
      assert.equal(detail!.removed, remove);
    }
  });

  test('default_servers / named_servers false leave those servers running', async () => {
    for (const which of ['default_servers', 'named_servers'] as const) {
      const s = await setup({ [which]: false });
      const { row: dflt } = await s.spawn('alice');
      const { row: named } = await s.spawn('alice', 'gpu');
      s.clock.advance(10 * MIN);
      const result = await s.run();
      assert.deepEqual(result.servers, [which === 'default_servers' ? 'alice:gpu' : 'alice']);
      assert.equal(await s.state(dflt.id), which === 'default_servers' ? 'running' : 'stopped');
      assert.equal(await s.state(named.id), which === 'named_servers' ? 'running' : 'stopped');
    }
  });

  test('at most `concurrency` stops are under way at once', async () => {
    let inFlight = 0;
    let most = 0;
    class SlowStop extends FakeBackend {
      override async stop(ref: BackendRef) {
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 50));
        inFlight--;
        return super.stop(ref);
      }
    }
    const s = await setup({ concurrency: 2 }, { backend: new SlowStop() });
    for (const name of ['a', 'b', 'c', 'd', 'e']) await s.spawn(name);
    s.clock.advance(10 * MIN);
    const result = await s.run();
    assert.equal(result.culled_servers, 5);
    assert.equal(most, 2, 'two at once, never more');
  });
});

describe('cull job: users', () => {
  test('a user is deleted only when all servers are stopped; the home volume is never touched', async () => {
    const s = await setup({ users: true });
    await s.spawn('alice'); // idle: culled, then alice with it
    const { user: bob } = await s.spawn('bob');
    await insertServer(s.t.db, bob.id, 'spawning', { name: 'gpu' }); // bob's named server is pending
    await s.t.createUser('carol'); // no servers, idle since created
    s.clock.advance(10 * MIN);
    const dave = await s.t.createUser('dave'); // no servers, created just now
    await s.t.db.update(schema.users).set({ lastActivityUs: (s.clock.now() - 11 * MIN) * 1000 }).where(eq(schema.users.id, dave.id));
    await s.t.db.update(schema.users).set({ createdAt: s.clock.now() }).where(eq(schema.users.id, dave.id));
    const result = await s.run();
    assert.deepEqual([...(result.users as string[])].sort(), ['alice', 'carol', 'dave']);
    assert.deepEqual([...(result.servers as string[])].sort(), ['alice', 'bob']);
    assert.ok(await s.userExists('bob'), 'bob still has a pending server');
    const culls = await s.audits('user.cull');
    assert.deepEqual(culls.find((a) => a.target === 'carol')!.detail, { reason: 'inactive', inactive_seconds: 600, age_seconds: 600 });
    assert.ok(!s.backend.calls.some((c) => /volume/i.test(c.op)), 'no volume call');
  });

  test('a user active within `timeout` is kept', async () => {
    const s = await setup({ users: true });
    const alice = await s.t.createUser('alice');
    s.clock.advance(10 * MIN);
    await s.t.db.update(schema.users).set({ lastActivityUs: (s.clock.now() - 9 * MIN) * 1000 }).where(eq(schema.users.id, alice.id));
    assert.equal((await s.run()).culled_users, 0);
    assert.ok(await s.userExists('alice'));
  });

  test('admins: their servers are culled, but they are deleted only with admin_users', async () => {
    for (const adminUsers of [false, true]) {
      const s = await setup({ users: true, admin_users: adminUsers });
      const { row } = await s.spawn('root', '', true);
      s.clock.advance(10 * MIN);
      const result = await s.run();
      assert.deepEqual(result.servers, ['root']);
      assert.equal(await s.state(row.id), adminUsers ? 'gone' : 'stopped'); // a deleted user's rows go with it
      assert.equal(result.culled_users, adminUsers ? 1 : 0);
      assert.equal(await s.userExists('root'), !adminUsers);
    }
  });
});

describe('cull job: busy kernels', () => {
  test('a busy kernel spares the server and restarts its clock; the token Berth used passes the single-user check and is gone after', async () => {
    const s = await setup({ busy_kernels: true });
    const { user, row } = await s.spawn('alice');
    const seen: { url: string; status: number; scopes: string[] }[] = [];
    let state = 'busy';
    s.backend.kernels = async (_server, req) => {
      const token = /^token (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      // What jupyterhub-singleuser does with it: GET /hub/api/user, then its access scopes.
      const res = await s.t.request('/hub/api/user', { token });
      const body = (await res.json()) as { name: string; scopes: string[] };
      seen.push({ url: req.url!, status: res.status, scopes: body.scopes });
      if (res.status !== 200 || body.name !== 'alice' || !accessScopes('alice', '').some((a) => body.scopes.includes(a))) return 403;
      return [{ id: 'k1', name: 'python3', execution_state: state, connections: 1 }, { id: 'k2', name: 'python3', execution_state: 'idle', connections: 0 }];
    };
    s.clock.advance(10 * MIN);
    let result = await s.run();
    assert.equal(result.culled_servers, 0);
    assert.deepEqual(result.busy_servers, ['alice']);
    assert.equal(await s.state(row.id), 'running');
    assert.equal((await findServerRow(s.t.db, row.id))!.lastActivityUs, s.clock.now() * 1000, 'activity recorded now');
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.url, '/user/alice/api/kernels?no_track_activity=1');
    assert.equal(seen[0]!.status, 200);
    assert.ok(seen[0]!.scopes.includes('access:servers!server=alice/'));
    const left = await s.t.db.select().from(schema.tokens).where(and(eq(schema.tokens.userId, user.id), eq(schema.tokens.kind, 'api')));
    assert.equal(left.length, 0, 'the check token is deleted');

    s.clock.advance(9 * MIN); // 9 minutes since the busy kernel was seen: not idle long enough, not asked
    assert.equal((await s.run()).culled_servers, 0);
    assert.equal(seen.length, 1);
    s.clock.advance(1 * MIN);
    state = 'idle'; // an open tab (connections: 1) on an idle kernel is not work
    result = await s.run();
    assert.equal(result.culled_servers, 1);
    assert.equal(await s.state(row.id), 'stopped');
  });

  test('a server that cannot be asked is spared one more timeout, then judged by activity alone', async () => {
    const s = await setup({ busy_kernels: true });
    const { row } = await s.spawn('alice');
    s.backend.kernels = () => 500;
    s.clock.advance(10 * MIN);
    const first = await s.run();
    assert.equal(first.culled_servers, 0);
    assert.deepEqual(first.unanswered_servers, ['alice']);
    s.clock.advance(10 * MIN - 1);
    assert.equal((await s.run()).culled_servers, 0, 'just under twice the timeout');
    s.clock.advance(1);
    assert.equal((await s.run()).culled_servers, 1);
    assert.equal(await s.state(row.id), 'stopped');
  });

  test('busy_kernels off, or max_age reached: the kernels are not asked', async () => {
    for (const cull of [{ busy_kernels: false }, { busy_kernels: true, max_age: 3600, timeout: 7200 }]) {
      const s = await setup(cull);
      const { row } = await s.spawn('alice');
      let asked = 0;
      s.backend.kernels = () => { asked++; return [{ id: 'k1', execution_state: 'busy' }]; };
      s.clock.advance(60 * MIN);
      if (cull.max_age) await s.t.db.update(schema.servers).set({ lastActivityUs: s.clock.now() * 1000 }).where(eq(schema.servers.id, row.id));
      assert.equal((await s.run()).culled_servers, 1);
      assert.equal(asked, 0);
    }
  });
});
