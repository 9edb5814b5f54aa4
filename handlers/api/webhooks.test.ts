// POST /hub/api/webhooks/spawn with the fake backend and a fixed clock: a signed call starts or stops
// the listed servers; every refusal says why and leaves nothing started.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { buildTestApp, testClock, type TestClock } from '../../test/helpers/app.ts';
import { schema } from '../../db/client.ts';
import type { FakeBackend } from '../../src/backends/fake/index.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { signPayload } from '../../src/services/webhooks/signature.ts';
import { waitForServer } from '../../src/services/servers/wait.ts';
import { findUserServer } from '../../src/state/server.ts';
import { purgeExpired } from '../../src/worker/jobs/expire.ts';

const SECRET = 'webhook secret for tests';
type T = Awaited<ReturnType<typeof buildTestApp>>;
interface Setup { t: T; clock: TestClock }

async function setup(config: ConfigInput = {}, users = ['alice', 'bob']): Promise<Setup> {
  const clock = testClock();
  const t = await buildTestApp({ clock, config: { webhooks: { secret: SECRET }, ...config } });
  for (const u of users) await t.createUser(u);
  return { t, clock };
}

interface Call { body?: string; timestamp?: string | number; signature?: string; secret?: string; headers?: Record<string, string> }

/** Signs and sends a call; each part can be overridden to build a bad one. */
function post({ t, clock }: Setup, payload: unknown, o: Call = {}) {
  const body = o.body ?? JSON.stringify(payload);
  const ts = o.timestamp ?? Math.floor(clock.now() / 1000);
  const sig = o.signature ?? `sha256=${signPayload(o.secret ?? SECRET, ts, body)}`;
  return t.app.request('/hub/api/webhooks/spawn', {
    method: 'POST', body,
    headers: { 'content-type': 'application/json', 'x-berth-timestamp': String(ts), 'x-berth-signature': sig, ...o.headers },
  });
}

async function expectError(res: Response, status: number, message: RegExp) {
  const body = (await res.json()) as { status: number; message: string };
  assert.equal(res.status, status, body.message);
  assert.equal(body.status, status);
  assert.match(body.message, message);
}

/** Nothing was asked of the backend and no server row exists. */
async function nothingStarted(t: T) {
  assert.deepEqual((t.backend as FakeBackend).calls.filter((c) => c.op === 'start'), []);
  assert.deepEqual(await t.db.select().from(schema.servers), []);
}

async function serverOf(t: T, name: string, server = '') {
  const user = (await t.db.query.users.findFirst({ where: eq(schema.users.name, name) }))!;
  return findUserServer(t.db, user.id, server);
}

async function untilSettled(t: T, name: string, server = '') {
  const row = (await serverOf(t, name, server))!;
  return waitForServer(t.ctx, row.id, 20_000);
}

describe('POST /hub/api/webhooks/spawn', () => {
  test('a signed start queues each listed server (202, one outcome per user), they reach running; audit row by "webhook"', async () => {
    const s = await setup({}, ['alice', 'bob', 'carol']);
    const res = await post(s, { action: 'start', users: ['alice', 'bob', 'alice'], user_options: { profile: 'small' } });
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { action: 'start', server: '', results: [{ user: 'alice', outcome: 'queued' }, { user: 'bob', outcome: 'queued' }] });
    for (const name of ['alice', 'bob']) {
      const row = await untilSettled(s.t, name);
      assert.equal(row.state, 'running');
      assert.deepEqual(row.userOptions, { profile: 'small' });
    }
    assert.equal(await serverOf(s.t, 'carol'), undefined, 'an unlisted user is untouched');
    const audit = await s.t.db.select().from(schema.audit).where(eq(schema.audit.actor, 'webhook'));
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.action, 'webhook.start');
    assert.deepEqual(audit[0]!.detail, { timestamp: s.clock.now() / 1000, users: ['alice', 'bob'], outcomes: { queued: 2 } });
  });

  test('start reports "already running" for a running server and still queues the others', async () => {
    const s = await setup();
    assert.equal((await post(s, { action: 'start', users: ['alice'] })).status, 202);
    assert.equal((await untilSettled(s.t, 'alice')).state, 'running');
    s.clock.advance(1000); // a new timestamp: a new signature
    const res = await post(s, { action: 'start', users: ['alice', 'bob'] });
    assert.equal(res.status, 202);
    assert.deepEqual((await res.json() as { results: unknown }).results, [{ user: 'alice', outcome: 'already running' }, { user: 'bob', outcome: 'queued' }]);
    assert.equal((await untilSettled(s.t, 'bob')).state, 'running');
  });

  test('while the spawn queue is not taken: a second start is "already pending", a stop "cancelled"', async () => {
    const clock = testClock();
    const t = await buildTestApp({ clock, runner: false, config: { webhooks: { secret: SECRET } } });
    await t.createUser('alice');
    const s = { t, clock };
    const outcomes = async (action: string) => {
      clock.advance(1000);
      const res = await post(s, { action, users: ['alice'] });
      assert.equal(res.status, 202);
      return ((await res.json()) as { results: { outcome: string }[] }).results.map((r) => r.outcome);
    };
    assert.deepEqual(await outcomes('start'), ['queued']);
    assert.deepEqual(await outcomes('start'), ['already pending']);
    assert.deepEqual(await outcomes('stop'), ['cancelled']);
    assert.equal((await serverOf(t, 'alice'))?.state, 'stopped');
    assert.deepEqual(await outcomes('stop'), ['not running']);
  });

  test('an unexpected failure for one user is reported as "error" and the others still act; the audit row says so', async () => {
    const s = await setup();
    assert.equal((await post(s, { action: 'start', users: ['alice'] })).status, 202);
    assert.equal((await untilSettled(s.t, 'alice')).state, 'running');
    // requestSpawn asks the backend whether alice's server still runs; the engine is gone.
    (s.t.backend as FakeBackend).poll = async () => { throw new Error('connect ENOENT /var/run/docker.sock'); };
    s.clock.advance(1000);
    const res = await post(s, { action: 'start', users: ['alice', 'bob'] });
    assert.equal(res.status, 202);
    assert.deepEqual(((await res.json()) as { results: unknown }).results, [{ user: 'alice', outcome: 'error', message: 'Internal error (see the log)' }, { user: 'bob', outcome: 'queued' }]);
    const audit = await s.t.db.select().from(schema.audit).where(eq(schema.audit.actor, 'webhook'));
    assert.deepEqual(audit.map((a) => (a.detail as { outcomes: unknown }).outcomes), [{ queued: 1 }, { error: 1, queued: 1 }]);
  });

  test('stop stops the listed running servers; a user with nothing running is "not running"', async () => {
    const s = await setup();
    assert.equal((await post(s, { action: 'start', users: ['alice'] })).status, 202);
    assert.equal((await untilSettled(s.t, 'alice')).state, 'running');
    s.clock.advance(1000);
    const res = await post(s, { action: 'stop', users: ['alice', 'bob'] });
    assert.equal(res.status, 202);
    const { results } = (await res.json()) as { results: { user: string; outcome: string }[] };
    assert.equal(results[1]!.outcome, 'not running');
    assert.ok(['stopped', 'stopping'].includes(results[0]!.outcome), results[0]!.outcome);
    assert.equal((await untilSettled(s.t, 'alice')).state, 'stopped');
  });

  test('a named server is started when named servers are enabled, refused (400) when not', async () => {
    const on = await setup({ hub: { allow_named_servers: true } });
    assert.equal((await post(on, { action: 'start', users: ['alice'], server: 'gpu' })).status, 202);
    assert.equal((await untilSettled(on.t, 'alice', 'gpu')).state, 'running');
    const off = await setup({ hub: { allow_named_servers: false } });
    await expectError(await post(off, { action: 'start', users: ['alice'], server: 'gpu' }), 400, /^Named servers are not enabled\.$/);
    await nothingStarted(off.t);
  });

  test('the signature covers the body\'s bytes as sent: a byte-order mark and a non-ASCII name verify', async () => {
    const s = await setup({}, ['zoë']);
    const res = await post(s, undefined, { body: `\uFEFF${JSON.stringify({ action: 'start', users: ['zoë'] })}` });
    assert.equal(res.status, 202, await res.clone().text());
    assert.deepEqual(((await res.json()) as { results: unknown }).results, [{ user: 'zoë', outcome: 'queued' }]);
  });

  test('a burst of 30 users with concurrent_spawn_limit 2 waits in the spawn queue; all end running', async () => {
    const names = Array.from({ length: 30 }, (_, i) => `student${i}`);
    const s = await setup({ hub: { concurrent_spawn_limit: 2 }, spawner: { image: 'fake:slow', environment: { FAKE_SLOW_MS: '20' } } }, names);
    const res = await post(s, { action: 'start', users: names });
    assert.equal(res.status, 202);
    const { results } = (await res.json()) as { results: { outcome: string }[] };
    assert.deepEqual(new Set(results.map((r) => r.outcome)), new Set(['queued']));
    for (const n of names) assert.equal((await untilSettled(s.t, n)).state, 'running', n);
  });
});

describe('POST /hub/api/webhooks/spawn refusals (nothing is started)', () => {
  test('no webhooks.secret: 404 saying how to turn it on', async () => {
    const s = await setup({ webhooks: {} });
    await expectError(await post(s, { action: 'start', users: ['alice'] }), 404, /Webhooks are off: set webhooks\.secret/);
    await nothingStarted(s.t);
  });

  test('a signature made with another secret: 401 with WWW-Authenticate', async () => {
    const s = await setup();
    const res = await post(s, { action: 'start', users: ['alice'] }, { secret: 'not the right secret at all' });
    assert.match(res.headers.get('www-authenticate') ?? '', /^HMAC-SHA256/);
    await expectError(res, 401, /^Invalid X-Berth-Signature: it does not match/);
    await nothingStarted(s.t);
  });

  test('a body changed after signing: 401', async () => {
    const s = await setup();
    const ts = Math.floor(s.clock.now() / 1000);
    const signature = `sha256=${signPayload(SECRET, ts, JSON.stringify({ action: 'stop', users: ['alice'] }))}`;
    await expectError(await post(s, { action: 'start', users: ['alice'] }, { timestamp: ts, signature }), 401, /^Invalid X-Berth-Signature/);
    await nothingStarted(s.t);
  });

  test('a timestamp beyond tolerance_seconds, in the past or the future: 401 with the skew in seconds', async () => {
    const s = await setup({ webhooks: { secret: SECRET, tolerance_seconds: 300 } });
    const now = Math.floor(s.clock.now() / 1000);
    await expectError(await post(s, { action: 'start', users: ['alice'] }, { timestamp: now - 301 }), 401, /^Stale X-Berth-Timestamp: 301 s in the past \(webhooks\.tolerance_seconds is 300\)/);
    await expectError(await post(s, { action: 'start', users: ['alice'] }, { timestamp: now + 900 }), 401, /^Stale X-Berth-Timestamp: 900 s in the future/);
    await nothingStarted(s.t);
    // Within the tolerance either way is accepted.
    assert.equal((await post(s, { action: 'start', users: ['alice'] }, { timestamp: now - 300 })).status, 202);
    assert.equal((await post(s, { action: 'start', users: ['bob'] }, { timestamp: now + 300 })).status, 202);
  });

  test('a replay of an accepted call: 409; two identical calls at once: exactly one acts', async () => {
    const s = await setup();
    const body = JSON.stringify({ action: 'start', users: ['alice'] });
    assert.equal((await post(s, undefined, { body })).status, 202);
    await expectError(await post(s, undefined, { body }), 409, /^This webhook call was already accepted \(same signature\)/);
    s.clock.advance(1000);
    const twice = JSON.stringify({ action: 'start', users: ['bob'] });
    const statuses = (await Promise.all([post(s, undefined, { body: twice }), post(s, undefined, { body: twice })])).map((r) => r.status).sort();
    assert.deepEqual(statuses, [202, 409]);
    assert.equal((await untilSettled(s.t, 'bob')).spawnSeq, 1, 'bob was queued once');
    const deliveries = await s.t.db.select().from(schema.webhookDeliveries);
    assert.equal(deliveries.length, 2);
    for (const d of deliveries) assert.match(d.signature, /^[0-9a-f]{64}$/, 'a digest, not the signature itself');
  });

  test('once the tolerance has passed the expire job drops the signature, and a replay is then refused as stale', async () => {
    const s = await setup({ webhooks: { secret: SECRET, tolerance_seconds: 300 } });
    const body = JSON.stringify({ action: 'start', users: ['alice'] });
    const timestamp = Math.floor(s.clock.now() / 1000);
    assert.equal((await post(s, undefined, { body, timestamp })).status, 202);
    s.clock.advance(301_000);
    assert.equal((await purgeExpired(s.t.ctx)).signatures, 1);
    await expectError(await post(s, undefined, { body, timestamp }), 401, /^Stale X-Berth-Timestamp: 301 s in the past/);
  });

  test('missing headers: 401; malformed headers: 400', async () => {
    const s = await setup();
    const send = (headers: Record<string, string>) => s.t.app.request('/hub/api/webhooks/spawn', { method: 'POST', body: '{}', headers });
    await expectError(await send({ 'x-berth-signature': `sha256=${'0'.repeat(64)}` }), 401, /^Missing X-Berth-Timestamp header/);
    await expectError(await send({ 'x-berth-timestamp': '1' }), 401, /^Missing X-Berth-Signature header/);
    await expectError(await post(s, { action: 'start', users: ['alice'] }, { timestamp: '2026-11-22T01:00:00Z' }), 400, /^X-Berth-Timestamp must be Unix time in whole seconds/);
    await expectError(await post(s, { action: 'start', users: ['alice'] }, { signature: 'deadbeef' }), 400, /^X-Berth-Signature must be 'sha256=' followed by 64 hex digits/);
    await nothingStarted(s.t);
  });

  test('a user that does not exist: 404 naming every unknown user, and the known ones are not started either', async () => {
    const s = await setup();
    await expectError(await post(s, { action: 'start', users: ['alice', 'zoe', 'yves'] }), 404, /^No such users: zoe, yves \(nothing was done\)$/);
    await nothingStarted(s.t);
    assert.deepEqual(await s.t.db.select().from(schema.webhookDeliveries), [], 'a refused call is not recorded');
  });

  test('bad JSON or a body that does not fit: 400 naming the field; too many users: 400', async () => {
    const s = await setup({ webhooks: { secret: SECRET, max_users: 2 } }, ['alice', 'bob', 'carol']);
    await expectError(await post(s, undefined, { body: '{"action": "start",' }), 400, /^Request body must be JSON$/);
    await expectError(await post(s, { action: 'restart', users: ['alice'] }), 400, /^Invalid request body: action: /);
    await expectError(await post(s, { action: 'start', users: [] }), 400, /^Invalid request body: users: list at least one user$/);
    await expectError(await post(s, { action: 'start', users: ['alice'], extra: 1 }), 400, /^Invalid request body: .*extra/);
    await expectError(await post(s, { action: 'stop', users: ['alice'], user_options: {} }), 400, /user_options: only for action "start"/);
    await expectError(await post(s, { action: 'start', users: ['alice', 'bob', 'carol'] }), 400, /^Too many users: 3 \(webhooks\.max_users is 2\)/);
    await nothingStarted(s.t);
  });
});
