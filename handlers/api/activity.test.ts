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
const AT_MS = Date.UTC(2026, 10, 22, 1, 49, 19, 291);

describe('activity auth', () => {
  authSuite({
    method: 'POST', path: (o) => `/hub/api/users/${o}/activity`, ok: [200],
    body: { servers: { '': { last_activity: AT } }, last_activity: AT },
    prepare: async (t, o) => { await insertServer(t.db, o.id, 'running'); },
  });
});

async function setup() {
  const clock = testClock(Date.UTC(2026, 10, 22, 2, 0, 0));
  const t = await buildTestApp({ clock });
  const alice = await t.createUser('alice');
  const server = await insertServer(t.db, alice.id, 'running');
  const token = await t.createToken(alice.id, serverTokenScopes('alice', ''), { kind: 'server', serverId: server.id, note: 'Server at /user/alice/' });
  const post = (body: unknown, o: { path?: string; tok?: string } = {}) =>
    t.request(o.path ?? '/hub/api/users/alice/activity', { method: 'POST', token: o.tok ?? token, headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const state = async () => ({
    user: (await t.db.query.users.findFirst({ where: eq(schema.users.id, alice.id) }))!.lastActivity,
    server: (await t.db.query.servers.findFirst({ where: eq(schema.servers.id, server.id) }))!.lastActivity,
  });
  return { t, clock, alice, server, token, post, state };
}

describe('POST /hub/api/users/:name/activity', () => {
  test("the single-user server's exact post: 200, empty body, user and server advance", async () => {
    const { post, state } = await setup();
    const res = await post({ servers: { '': { last_activity: AT } }, last_activity: AT });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '');
    assert.deepEqual(await state(), { user: AT_MS, server: AT_MS });
  });

  test('values never go backwards', async () => {
    const { post, state } = await setup();
    await post({ servers: { '': { last_activity: AT } }, last_activity: AT });
    const res = await post({ servers: { '': { last_activity: '2026-11-22T00:00:00Z' } }, last_activity: '2026-11-22T00:00:00Z' });
    assert.equal(res.status, 200);
    assert.deepEqual(await state(), { user: AT_MS, server: AT_MS });
  });

  test('a naive timestamp is UTC; an offset is honoured', async () => {
    const { post, state } = await setup();
    await post({ last_activity: '2026-11-22T01:30:00' });
    assert.equal((await state()).user, Date.UTC(2026, 10, 22, 1, 30));
    await post({ servers: { '': { last_activity: '2026-11-22T02:40:00+01:00' } } });
    assert.equal((await state()).server, Date.UTC(2026, 10, 22, 1, 40));
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

  test('58 minutes ahead is accepted', async () => {
    const { post, state } = await setup();
    assert.equal((await post({ last_activity: '2026-11-22T02:58:00Z' })).status, 200);
    assert.equal((await state()).user, Date.UTC(2026, 10, 22, 2, 58));
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
    assert.equal((await t.db.query.servers.findFirst({ where: eq(schema.servers.id, named.id) }))!.lastActivity, AT_MS);
  });
});
