// GET /hub/api/users/:name/server[s/:server]/progress: the SSE stream of spec E.3 / H35.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { buildTestApp } from '../../test/helpers/app.ts';
import { progressTiming } from './progress.ts';
import { authSuite } from '../../test/helpers/auth-suite.ts';
import { schema } from '../../db/client.ts';
import type { FakeBackend } from '../../src/backends/fake/index.ts';
import { requestSpawn } from '../../src/services/servers/request-spawn.ts';
import { waitForServer } from '../../src/services/servers/wait.ts';
import type { ConfigInput } from '../../src/config/schema.ts';

type T = Awaited<ReturnType<typeof buildTestApp>>;
const fake = (t: T) => t.backend as FakeBackend;
type Event = { progress: number; message: string; ready?: boolean; failed?: boolean; url?: string; html_message?: string };

async function setup(config: ConfigInput = {}) {
  const t = await buildTestApp({ config });
  const alice = await t.createUser('alice');
  const token = await t.createToken(alice.id);
  return { t, alice, token };
}

/** Reads the whole stream (it must end by itself after the final event); counts keep-alives. */
async function readStream(res: Response): Promise<{ events: Event[]; raw: string }> {
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  assert.equal(res.headers.get('cache-control'), 'no-cache');
  const raw = await res.text();
  const events = raw.split('\n\n').filter((c) => c.startsWith('data: ')).map((c) => JSON.parse(c.slice(6)) as Event);
  return { events, raw };
}

const READY = { progress: 100, ready: true, message: 'Server ready at /user/alice/', html_message: 'Server ready at <a href="/user/alice/">/user/alice/</a>', url: '/user/alice/' };

describe('progress stream', () => {
  test('a spawn streams its events in order from "Server requested" to the ready event, then closes', async () => {
    const { t, alice, token } = await setup({ spawner: { image: 'fake:slow', environment: { FAKE_SLOW_MS: '300' } } });
    await requestSpawn({ ctx: t.ctx, input: { user: alice, serverName: '' } });
    const { events, raw } = await readStream(await t.request('/hub/api/users/alice/server/progress', { token }));
    assert.match(raw, /^data: /);
    assert.deepEqual(events[0], { progress: 0, message: 'Server requested' });
    assert.deepEqual(events.at(-1), READY);
    const messages = events.map((e) => e.message);
    assert.deepEqual(messages, ['Server requested', 'Creating server for alice', 'Server process started', 'Waiting for the server to answer HTTP', 'Server ready at /user/alice/']);
    const progress = events.map((e) => e.progress);
    assert.deepEqual(progress, [...progress].sort((a, b) => a - b), 'progress never goes backwards');
    assert.ok(events.slice(0, -1).every((e) => !('ready' in e)), 'only the final event says ready');
  });

  test('an already ready server gets only the final ready event', async () => {
    const { t, token } = await setup();
    assert.equal((await t.request('/hub/api/users/alice/server', { method: 'POST', token })).status, 201);
    const { events } = await readStream(await t.request('/hub/api/users/alice/server/progress', { token }));
    assert.deepEqual(events, [READY]);
  });

  test('a failed spawn ends with failed:true and the failure; its row keeps the log tail', async () => {
    const { t, alice, token } = await setup({ spawner: { image: 'fake:fail' } });
    const { server } = await requestSpawn({ ctx: t.ctx, input: { user: alice, serverName: '' } });
    const { events } = await readStream(await t.request('/hub/api/users/alice/server/progress', { token }));
    assert.deepEqual(events.at(-1), { progress: 100, failed: true, message: 'Spawn failed: Server exited during start-up (exit code 3)' });
    const row = await waitForServer(t.ctx, server.id, 10_000);
    assert.equal(row.failure?.logTail, 'fake: failing on purpose\n');
    // after the failure: only the failed event
    const again = await readStream(await t.request('/hub/api/users/alice/server/progress', { token }));
    assert.deepEqual(again.events, [{ progress: 100, failed: true, message: 'Spawn failed: Server exited during start-up (exit code 3)' }]);
  });

  test('a server that never answers HTTP fails after http_timeout, with the log tail, and is stopped', async () => {
    const { t, alice, token } = await setup({ spawner: { image: 'fake:never', http_timeout: 0.3 } });
    const { server } = await requestSpawn({ ctx: t.ctx, input: { user: alice, serverName: '' } });
    const { events } = await readStream(await t.request('/hub/api/users/alice/server/progress', { token }));
    assert.deepEqual(events.at(-1), { progress: 100, failed: true, message: "Spawn failed: Server at /user/alice/ didn't respond in 0.3 seconds" });
    assert.ok(events.some((e) => e.message === 'Waiting for the server to answer HTTP'));
    const row = await waitForServer(t.ctx, server.id, 10_000);
    assert.equal(row.state, 'failed');
    assert.equal(row.failure?.reason, 'timeout');
    assert.equal(row.failure?.logTail, 'started alice/');
    assert.equal(fake(t).servers.size, 0, 'the hub stops it (H11)');
  });

  test('a server that exits during the ready check fails at once with its log tail', async () => {
    const { t, alice, token } = await setup({ spawner: { image: 'fake:exit', http_timeout: 600 } });
    const { server } = await requestSpawn({ ctx: t.ctx, input: { user: alice, serverName: '' } });
    const { events } = await readStream(await t.request('/hub/api/users/alice/server/progress', { token }));
    assert.deepEqual(events.at(-1), { progress: 100, failed: true, message: 'Spawn failed: Server exited (exit code 1) before it answered HTTP' });
    const row = await waitForServer(t.ctx, server.id, 10_000);
    assert.deepEqual(row.failure, { reason: 'exited', message: 'Server exited (exit code 1) before it answered HTTP', logTail: 'started alice/' });
  });

  test('a cancelled spawn ends with "Spawn cancelled"', async () => {
    const { t, alice, token } = await setup({ spawner: { image: 'fake:slow', environment: { FAKE_SLOW_MS: '30000' } } });
    await requestSpawn({ ctx: t.ctx, input: { user: alice, serverName: '' } });
    const stream = t.request('/hub/api/users/alice/server/progress', { token });
    while (!fake(t).calls.some((c) => c.op === 'start')) await new Promise((r) => setTimeout(r, 10));
    assert.equal((await t.request('/hub/api/users/alice/server', { method: 'DELETE', token })).status, 204);
    const { events } = await readStream(await stream);
    assert.deepEqual(events[0], { progress: 0, message: 'Server requested' });
    assert.deepEqual(events.at(-1), { progress: 100, failed: true, message: 'Spawn cancelled' });
  });

  test('a stopped server with no failure → 400 "<name> is not starting..."; no server row → 404', async () => {
    const { t, token } = await setup();
    await t.request('/hub/api/users/alice/server', { method: 'POST', token });
    assert.equal((await t.request('/hub/api/users/alice/server', { method: 'DELETE', token })).status, 204);
    const res = await t.request('/hub/api/users/alice/server/progress', { token });
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { status: 400, message: 'alice is not starting...' });
    const bob = await t.createUser('bob');
    const bobToken = await t.createToken(bob.id);
    const none = await t.request('/hub/api/users/bob/server/progress', { token: bobToken });
    assert.equal(none.status, 404);
    assert.equal(((await none.json()) as { status: number }).status, 404);
  });

  test('named server progress uses its own url', async () => {
    const { t, alice, token } = await setup({ hub: { allow_named_servers: true } });
    await requestSpawn({ ctx: t.ctx, input: { user: alice, serverName: 'srv1' } });
    const { events } = await readStream(await t.request('/hub/api/users/alice/servers/srv1/progress', { token }));
    assert.deepEqual(events.at(-1), { progress: 100, ready: true, message: 'Server ready at /user/alice/srv1/', html_message: 'Server ready at <a href="/user/alice/srv1/">/user/alice/srv1/</a>', url: '/user/alice/srv1/' });
  });

  test('a spawn waiting for a free slot shows its queue position, then runs when one frees up', async () => {
    const { t, alice, token } = await setup({ hub: { concurrent_spawn_limit: 1 }, spawner: { image: 'fake:slow', environment: { FAKE_SLOW_MS: '30000' } } });
    const bob = await t.createUser('bob');
    const bobToken = await t.createToken(bob.id);
    await requestSpawn({ ctx: t.ctx, input: { user: alice, serverName: '' } });
    while (!fake(t).calls.some((c) => c.op === 'start')) await new Promise((r) => setTimeout(r, 5));
    await requestSpawn({ ctx: t.ctx, input: { user: bob, serverName: '' } });
    const res = await t.request('/hub/api/users/bob/server/progress', { token: bobToken });
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let text = '';
    while (text.split('data: ').length < 3) text += dec.decode((await reader.read()).value);
    assert.equal(text, 'data: {"progress":0,"message":"Server requested"}\n\ndata: {"progress":0,"message":"Waiting for a free spawn slot: number 1 in the queue"}\n\n');
    t.ctx.config = { ...t.ctx.config, spawner: { ...t.ctx.config.spawner, image: 'fake' } };
    assert.equal((await t.request('/hub/api/users/alice/server', { method: 'DELETE', token })).status, 204);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += dec.decode(value);
    }
    assert.ok(text.endsWith('data: {"progress":100,"ready":true,"message":"Server ready at /user/bob/","html_message":"Server ready at <a href=\\"/user/bob/\\">/user/bob/</a>","url":"/user/bob/"}\n\n'), text);
  });

  test('keep-alives are blank lines; the stream ends when the client disconnects', async () => {
    const t = await buildTestApp({ runner: false }); // nobody runs the spawn: it stays queued
    const carol = await t.createUser('carol');
    const token = await t.createToken(carol.id);
    await requestSpawn({ ctx: t.ctx, input: { user: carol, serverName: '' } });
    const saved = progressTiming.keepaliveMs;
    progressTiming.keepaliveMs = 20;
    try {
      const res = await t.request('/hub/api/users/carol/server/progress', { token });
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      const dec = new TextDecoder();
      let text = '';
      while (!text.includes('\n\n\n\n')) text += dec.decode((await reader.read()).value);
      assert.ok(text.startsWith('data: {"progress":0,"message":"Server requested"}\n\n\n\n'), JSON.stringify(text));
      const listeners = t.ctx.events.listenerCount('server-changed');
      assert.ok(listeners >= 1);
      await reader.cancel();
      assert.equal(t.ctx.events.listenerCount('server-changed'), listeners - 1, 'the stream stopped listening');
    } finally {
      progressTiming.keepaliveMs = saved;
    }
  });
});

describe('auth', () => {
  const ready = async (t: T, owner: { id: number }) => {
    const user = (await t.db.query.users.findFirst({ where: eq(schema.users.id, owner.id) }))!;
    const { server } = await requestSpawn({ ctx: t.ctx, input: { user, serverName: '' } });
    await waitForServer(t.ctx, server.id, 10_000);
  };
  authSuite({ method: 'GET', path: (o) => `/hub/api/users/${o}/server/progress`, ok: [200], prepare: ready });
  authSuite({
    method: 'GET', path: (o) => `/hub/api/users/${o}/servers/srv1/progress`, ok: [200],
    prepare: async (t, owner) => {
      t.ctx.config = { ...t.ctx.config, hub: { ...t.ctx.config.hub, allow_named_servers: true } };
      const user = (await t.db.query.users.findFirst({ where: eq(schema.users.id, owner.id) }))!;
      const { server } = await requestSpawn({ ctx: t.ctx, input: { user, serverName: 'srv1' } });
      await waitForServer(t.ctx, server.id, 10_000);
    },
  });

  test('read:servers is enough; a token without it → 403', async () => {
    const { t, alice, token } = await setup();
    await t.request('/hub/api/users/alice/server', { method: 'POST', token });
    const reader = await t.createToken(alice.id, ['read:servers!user']);
    assert.deepEqual((await readStream(await t.request('/hub/api/users/alice/server/progress', { token: reader }))).events, [READY]);
    const none = await t.createToken(alice.id, ['read:users:activity!user']);
    const res = await t.request('/hub/api/users/alice/server/progress', { token: none });
    assert.equal(res.status, 403);
    assert.match(((await res.json()) as { message: string }).message, /read:servers/);
  });
});
