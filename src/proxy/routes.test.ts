// Route table: one query for running servers, whole-segment matching, name normalisation, reloads.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { buildTestApp } from '../../test/helpers/app.ts';
import { schema } from '../../db/client.ts';
import { bumpRoutes } from '../state/routes.ts';
import { RouteTable } from './routes.ts';

async function setup() {
  const t = await buildTestApp();
  const add = async (user: string, server: string, state: 'running' | 'stopped' | 'spawning', url: string | null) => {
    let u = (await t.db.select().from(schema.users).where(eq(schema.users.name, user)))[0];
    u ??= await t.createUser(user);
    const [s] = await t.db.insert(schema.servers).values({ userId: u.id, name: server, state, url }).returning();
    await bumpRoutes(t.db);
    return { user: u, server: s! };
  };
  return { ...t, add };
}

const P = '/user/'.length;

describe('RouteTable', () => {
  test('loads running servers with a url, and nothing else', async () => {
    const t = await setup();
    await t.add('alice', '', 'running', 'http://127.0.0.1:1001');
    await t.add('alice', 'srv1', 'running', 'http://127.0.0.1:1002');
    await t.add('bob', '', 'spawning', 'http://127.0.0.1:1003');
    await t.add('carol', '', 'running', null);
    await t.add('dave', '', 'stopped', 'http://127.0.0.1:1004');
    const rt = new RouteTable(t.ctx, 3_600_000);
    await rt.ready;
    assert.equal(rt.size, 2);
    assert.equal(rt.match('/user/alice/tree', P)?.target, 'http://127.0.0.1:1001');
    assert.equal(rt.match('/user/alice/srv1/tree', P)?.target, 'http://127.0.0.1:1002');
    assert.equal(rt.match('/user/bob/', P), undefined);
    assert.equal(rt.match('/user/carol/', P), undefined);
    assert.equal(rt.match('/user/dave/', P), undefined);
    rt.close();
  });

  test('matches whole segments only, with or without the trailing slash', async () => {
    const t = await setup();
    const { user, server } = await t.add('alice', '', 'running', 'http://127.0.0.1:1001');
    await t.add('alice', 'srv1', 'running', 'http://127.0.0.1:1002');
    const rt = new RouteTable(t.ctx, 3_600_000);
    await rt.ready;
    const r = rt.match('/user/alice', P);
    assert.deepEqual(r && { userId: r.userId, serverId: r.serverId, host: r.host, port: r.port }, { userId: user.id, serverId: server.id, host: '127.0.0.1', port: 1001 });
    assert.equal(rt.match('/user/alice?x=/y', P)?.port, 1001);
    assert.equal(rt.match('/user/alicex/', P), undefined);
    assert.equal(rt.match('/user/alicex', P), undefined);
    assert.equal(rt.match('/user/alic/', P), undefined);
    assert.equal(rt.match('/user//alice/', P), undefined);
    assert.equal(rt.match('/user/alice/srv1', P)?.port, 1002);
    assert.equal(rt.match('/user/alice/srv1?a=b', P)?.port, 1002);
    assert.equal(rt.match('/user/alice/srv1x/', P)?.port, 1001, 'an unknown second segment is a path on the default server');
    rt.close();
  });

  test('normalises percent-encoding of user and server names', async () => {
    const t = await setup();
    await t.add('a@b.c', '', 'running', 'http://127.0.0.1:1001');
    await t.add('a@b.c', 'my lab', 'running', 'http://127.0.0.1:1002');
    const rt = new RouteTable(t.ctx, 3_600_000);
    await rt.ready;
    assert.equal(rt.match('/user/a@b.c/tree', P)?.port, 1001);
    assert.equal(rt.match('/user/a%40b.c/tree', P)?.port, 1001);
    assert.equal(rt.match('/user/a%40b%2ec/', P)?.port, 1001);
    assert.equal(rt.match('/user/a@b.c/my%20lab/', P)?.port, 1002);
    assert.equal(rt.match('/user/a%40b.c/my lab', P)?.port, 1002);
    assert.equal(rt.match('/user/a%4/', P), undefined, 'malformed escapes never match');
    assert.equal(rt.match('/user/a%40b.c%2Fmy%20lab/', P), undefined, 'an encoded slash is not a separator');
    rt.close();
  });

  test('check() reloads only when the change counter moved; reload() always does', async () => {
    const t = await setup();
    const rt = new RouteTable(t.ctx, 3_600_000);
    await rt.ready;
    assert.equal(rt.size, 0);
    const u = await t.createUser('erin');
    await t.db.insert(schema.servers).values({ userId: u.id, name: '', state: 'running', url: 'http://127.0.0.1:1005' });
    await rt.check();
    assert.equal(rt.size, 0, 'no bump, no reload');
    await bumpRoutes(t.db);
    await rt.check();
    assert.equal(rt.match('/user/erin/', P)?.port, 1005);
    await t.db.update(schema.servers).set({ state: 'stopped' });
    await rt.reload();
    assert.equal(rt.match('/user/erin/', P), undefined);
    rt.close();
  });

  test("reloads on the 'routes-changed' event, with no request and no poll", async () => {
    const t = await setup();
    const rt = new RouteTable(t.ctx, 3_600_000);
    await rt.ready;
    await t.add('erin', '', 'running', 'http://127.0.0.1:1005');
    assert.equal(rt.size, 0);
    t.ctx.events.emit('routes-changed');
    for (let i = 0; i < 200 && rt.size === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(rt.match('/user/erin/', P)?.port, 1005);
    rt.close();
    await t.add('fred', '', 'running', 'http://127.0.0.1:1006');
    t.ctx.events.emit('routes-changed');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(rt.match('/user/fred/', P), undefined, 'a closed table stops listening');
  });

  test('misses share rate-limited refreshes', async () => {
    const t = await setup();
    const rt = new RouteTable(t.ctx, 3_600_000);
    await rt.ready;
    let reads = 0;
    const orig = rt.check.bind(rt);
    rt.check = () => { reads++; return orig(); };
    await Promise.all(Array.from({ length: 50 }, () => rt.refreshForMiss()));
    assert.equal(reads, 1);
    await Promise.all([rt.refreshForMiss(), rt.refreshForMiss()]);
    assert.equal(reads, 2);
    rt.close();
  });
});
