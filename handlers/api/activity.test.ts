// POST /hub/api/users/:name/activity (spec B.5, H30–32).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { buildTestApp, testClock } from '../../test/helpers/app.ts';
import { authSuite } from '../../test/helpers/auth-suite.ts';
import { insertServer } from '../../test/helpers/server-rows.ts';
import { schema } from '../../db/client.ts';
import { serverTokenScopes } from '../../src/auth/scopes.ts';

const AT = '2026-11-22T01:49:19.291688Z';
const AT_US = Date.UTC(2026, 10, 22, 1, 49, 19) * 1000 + 291_688;
/** Microseconds since the epoch of a whole UTC minute on 2026-11-22. */
const minuteUs = (h: number, m: number) => Date.UTC(2026, 10, 22, h, m) * 1000;

describe('activity auth', () => {
  authSuite({
    method: 'POST', path: (o) => `/hub/api/users/${o}/activity`, ok: [200],
    body: { servers: { '': { last_activity: AT } }, last_activity: AT },
    prepare: async (t, o) => { await insertServer(t.db, o.id, 'running'); },
  });
});

async function setup(start = Date.UTC(2026, 10, 22, 2, 0, 0)) {
  const clock = testClock(start);
  const t = await buildTestApp({ clock });
  const alice = await t.createUser('alice');
  const server = await insertServer(t.db, alice.id, 'running');
  const token = await t.createToken(alice.id, serverTokenScopes('alice', ''), { kind: 'server', serverId: server.id, note: 'Server at /user/alice/' });
  const post = (body: unknown, o: { path?: string; tok?: string } = {}) =>
    t.request(o.path ?? '/hub/api/users/alice/activity', { method: 'POST', token: o.tok ?? token, headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const state = async () => ({
    user: (await t.db.query.users.findFirst({ where: eq(schema.users.id, alice.id) }))!.lastActivityUs,
    server: (await t.db.query.servers.findFirst({ where: eq(schema.servers.id, server.id) }))!.lastActivityUs,
  });
  return { t, clock, alice, server, token, post, state };
}

describe('POST /hub/api/users/:name/activity', () => {
  test("the single-user server's exact post: 200, empty body, user and server advance", async () => {
    const { post, state } = await setup();
    const res = await post({ servers: { '': { last_activity: AT } }, last_activity: AT });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '');
    assert.deepEqual(await state(), { user: AT_US, server: AT_US });
  });

  test('values never go backwards', async () => {
    const { post, state } = await setup();
    await post({ servers: { '': { last_activity: AT } }, last_activity: AT });
    const res = await post({ servers: { '': { last_activity: '2026-11-22T00:00:00Z' } }, last_activity: '2026-11-22T00:00:00Z' });
    assert.equal(res.status, 200);
    assert.deepEqual(await state(), { user: AT_US, server: AT_US });
  });

  test('microseconds are kept: GET /users/:name returns exactly what was posted, and a microsecond earlier does not move it back', async () => {
    const { t, post } = await setup(Date.UTC(2026, 11, 1, 19, 30));
    const posted = '2026-12-01T19:22:33.728251Z';
    const admin = await t.createUser('admin', { admin: true });
    const adminToken = await t.createToken(admin.id); // not alice's: her own token's use would be activity too
    const shown = async () => {
      const m = (await (await t.request('/hub/api/users/alice', { token: adminToken })).json()) as { last_activity: string; servers: Record<string, { last_activity: string }> };
      return { user: m.last_activity, server: m.servers['']!.last_activity };
    };
    assert.equal((await post({ servers: { '': { last_activity: posted } }, last_activity: posted })).status, 200);
    assert.deepEqual(await shown(), { user: posted, server: posted });
    const earlier = '2026-12-01T19:22:33.728250Z';
    assert.equal((await post({ servers: { '': { last_activity: earlier } }, last_activity: earlier })).status, 200);
    assert.deepEqual(await shown(), { user: posted, server: posted });
  });

  test('more than six fraction digits are truncated, not rounded', async () => {
    const { post, state } = await setup();
    await post({ servers: { '': { last_activity: '2026-11-22T01:49:19.291688999Z' } }, last_activity: '2026-11-22T01:49:19.291688999Z' });
    assert.deepEqual(await state(), { user: AT_US, server: AT_US });
  });

  test('a naive timestamp is UTC; an offset is honoured', async () => {
    const { post, state } = await setup();
    await post({ last_activity: '2026-11-22T01:30:00.000001' });
    assert.equal((await state()).user, minuteUs(1, 30) + 1);
    await post({ servers: { '': { last_activity: '2026-11-22T02:40:00.25+01:00' } } });
    assert.equal((await state()).server, minuteUs(1, 40) + 250_000);
  });

  const bad: [string, unknown, string][] = [
    ['empty body', '', 'body must be a json dict'],
    ['a list', [1], 'body must be a json dict'],
    ['invalid JSON', '{"last_activity":', 'Invalid JSON in body of request'],
    ['neither field', { foo: 1 }, 'body must contain at least one of `last_activity` or `servers`'],
    ['empty servers and no last_activity', { servers: {} }, 'body must contain at least one of `last_activity` or `servers`'],
    ['servers not a mapping', { servers: 'x' }, 'servers must be a dict of the form {server_name: {last_activity: timestamp}}'],
    ['server entry not a mapping', { servers: { '': 5 } }, 'servers must be a dict of the form {server_name: {last_activity: timestamp}}'],
    ['server entry without last_activity', { servers: { '': {} } }, 'servers must be a dict of the form {server_name: {last_activity: timestamp}}'],
    ['unknown server', { servers: { x: { last_activity: AT } } }, "No such server 'x' for user alice"],
    ['bad user timestamp', { last_activity: 'yesterday' }, "Not a valid timestamp: 'yesterday'"],
    ['bad server timestamp', { servers: { '': { last_activity: 42 } } }, 'Not a valid timestamp: 42'],
    ['more than 59 minutes ahead', { last_activity: '2026-11-22T03:00:00Z' }, 'Rejecting activity from more than an hour in the future: 2026-11-22T03:00:00Z'],
    ['59 minutes and a microsecond ahead', { last_activity: '2026-11-22T02:59:00.000001Z' }, 'Rejecting activity from more than an hour in the future: 2026-11-22T02:59:00.000001Z'],
  ];
  for (const [what, body, message] of bad) {
    test(`400 for ${what}, nothing written`, async () => {
      const { post, state } = await setup();
      const res = await post(body);
      assert.equal(res.status, 400);
      assert.deepEqual(await res.json(), { status: 400, message });
      assert.deepEqual(await state(), { user: null, server: null });
    });
  }

  test('exactly 59 minutes ahead is accepted', async () => {
    const { post, state } = await setup();
    assert.equal((await post({ last_activity: '2026-11-22T02:59:00Z' })).status, 200);
    assert.equal((await state()).user, minuteUs(2, 59));
  });

  test("another user's activity with a server token is 404; no users:activity at all is 403", async () => {
    const { t, post } = await setup();
    const bob = await t.createUser('bob');
    const res = await post({ last_activity: AT }, { path: '/hub/api/users/bob/activity' });
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { message: string }).message, 'No access to resources or resources not found');
    const readOnly = await t.createToken(bob.id, ['read:users:name!user']);
    const denied = await post({ last_activity: AT }, { path: '/hub/api/users/bob/activity', tok: readOnly });
    assert.equal(denied.status, 403);
  });

  test('an admin posting for an unknown user gets 404', async () => {
    const { t, post } = await setup();
    const admin = await t.createUser('admin', { admin: true });
    const res = await post({ last_activity: AT }, { path: '/hub/api/users/ghost/activity', tok: await t.createToken(admin.id) });
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { status: 404, message: 'No such user: ghost' });
  });

  test('named servers are addressed by their key', async () => {
    const { t, alice, post } = await setup();
    const named = await insertServer(t.db, alice.id, 'stopped', { name: 'srv1' });
    const admin = await t.createUser('admin', { admin: true });
    assert.equal((await post({ servers: { srv1: { last_activity: AT } } }, { tok: await t.createToken(admin.id) })).status, 200);
    assert.equal((await t.db.query.servers.findFirst({ where: eq(schema.servers.id, named.id) }))!.lastActivityUs, AT_US);
  });
});
