// syncServices: the services table and their config tokens follow config.services (spec F).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp } from '../../../test/helpers/app.ts';
import { schema } from '../../../db/client.ts';
import { syncServices } from './sync.ts';

const culler = { name: 'culler', api_token: 'culler-token-1', scopes: ['list:users', 'read:servers'] };

describe('syncServices', () => {
  test('adds the service and its token: 16384 rounds, prefix, note "from config", scopes inherit', async () => {
    const t = await buildTestApp({ config: { services: [culler] } });
    assert.deepEqual(await syncServices(t.ctx), { added: 1, rehashed: 1, removed: 0 });
    const [row] = await t.db.select().from(schema.tokens);
    assert.equal(row!.kind, 'service');
    assert.equal(row!.serviceName, 'culler');
    assert.equal(row!.prefix, 'cull');
    assert.match(row!.hashed, /^sha512:16384:[0-9a-f]{16}:[0-9a-f]{128}$/);
    assert.deepEqual([row!.note, row!.scopes], ['from config', ['inherit']]);
    assert.deepEqual(await t.db.select({ name: schema.services.name, scopes: schema.services.scopes }).from(schema.services), [{ name: 'culler', scopes: culler.scopes }]);
    const me = await t.request('/hub/api/user', { token: culler.api_token });
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as { name: string }).name, 'culler');
  });

  test('is idempotent: the same token keeps its row', async () => {
    const t = await buildTestApp({ config: { services: [culler] } });
    await syncServices(t.ctx);
    const before = await t.db.select().from(schema.tokens);
    assert.deepEqual(await syncServices(t.ctx), { added: 0, rehashed: 0, removed: 0 });
    assert.deepEqual(await t.db.select().from(schema.tokens), before);
  });

  test('a changed token replaces the old one', async () => {
    const t = await buildTestApp({ config: { services: [culler] } });
    await syncServices(t.ctx);
    t.ctx.config = { ...t.ctx.config, services: [{ ...culler, api_token: 'culler-token-2', admin: false }] };
    assert.deepEqual(await syncServices(t.ctx), { added: 0, rehashed: 1, removed: 0 });
    assert.equal((await t.db.select().from(schema.tokens)).length, 1);
    assert.equal((await t.request('/hub/api/user', { token: 'culler-token-1' })).status, 403);
    assert.equal((await t.request('/hub/api/user', { token: 'culler-token-2' })).status, 200);
  });

  test('a service removed from config loses its row and token; user tokens are untouched', async () => {
    const t = await buildTestApp({ config: { services: [culler, { name: 'lms', api_token: 'lms-token-123', admin: true, scopes: [] }] } });
    await syncServices(t.ctx);
    const alice = await t.createUser('alice');
    await t.createToken(alice.id);
    t.ctx.config = { ...t.ctx.config, services: [t.ctx.config.services[1]!] };
    assert.deepEqual(await syncServices(t.ctx), { added: 0, rehashed: 0, removed: 1 });
    assert.deepEqual((await t.db.select().from(schema.services)).map((s) => s.name), ['lms']);
    assert.deepEqual((await t.db.select().from(schema.tokens)).map((r) => r.serviceName ?? r.userId), ['lms', alice.id]);
    assert.equal((await t.request('/hub/api/user', { token: culler.api_token })).status, 403);
    t.ctx.config = { ...t.ctx.config, services: [] };
    assert.deepEqual(await syncServices(t.ctx), { added: 0, rehashed: 0, removed: 1 });
    assert.equal((await t.db.select().from(schema.services)).length, 0);
  });
});
