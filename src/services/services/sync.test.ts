// syncServices: the services table, their config tokens and their OAuth clients follow config.services (spec F).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp } from '../../../test/helpers/app.ts';
import { eq } from 'drizzle-orm';
import { schema } from '../../../db/client.ts';
import { verifyToken } from '../../auth/tokens.ts';
import { configSchema } from '../../config/schema.ts';
import { serverWithClient } from '../../../test/helpers/login.ts';
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

describe('syncServices: the OAuth clients of services (JupyterHub service_from_spec → add_client)', () => {
  const whoami = { name: 'whoami', api_token: 'whoami-token-1', url: 'http://127.0.0.1:10101' };
  const clients = (t: Awaited<ReturnType<typeof buildTestApp>>) => t.db.select().from(schema.oauthClients);

  test('a service with a url gets client service-<name>: secret = its api_token (16384 rounds), default redirect URI and scopes', async () => {
    const t = await buildTestApp({ config: { hub: { base_url: '/jh/' }, services: [culler, { ...whoami, oauth_client_allowed_scopes: ['read:users:name!user'] }] } });
    await syncServices(t.ctx);
    const rows = await clients(t);
    assert.equal(rows.length, 1, 'the culler (no url, no OAuth keys) has no client');
    const c = rows[0]!;
    assert.deepEqual(
      { id: c.id, redirectUri: c.redirectUri, description: c.description, allowedScopes: c.allowedScopes, serviceName: c.serviceName, serverId: c.serverId },
      { id: 'service-whoami', redirectUri: '/jh/services/whoami/oauth_callback', description: 'JupyterHub service whoami', allowedScopes: ['access:services!service=whoami', 'read:users:name!user'], serviceName: 'whoami', serverId: null },
    );
    assert.match(c.secretHash, /^sha512:16384:/);
    assert.ok(verifyToken(whoami.api_token, c.secretHash));
  });

  test('explicit oauth_client_id and oauth_redirect_uri; OAuth without a url (an external service elsewhere)', async () => {
    const t = await buildTestApp({ config: { services: [{ name: 'lms', api_token: 'lms-token-123', oauth_client_id: 'service-lms-bridge', oauth_redirect_uri: 'https://lms.example.org/hub/callback' }] } });
    await syncServices(t.ctx);
    const [c] = await clients(t);
    assert.deepEqual([c!.id, c!.redirectUri, c!.allowedScopes], ['service-lms-bridge', 'https://lms.example.org/hub/callback', ['access:services!service=lms']]);
  });

  test('idempotent: the same config keeps the row and its secret hash; a new api_token re-hashes in place, tokens kept', async () => {
    const t = await buildTestApp({ config: { services: [whoami] } });
    await syncServices(t.ctx);
    const alice = await t.createUser('alice');
    await t.db.insert(schema.tokens).values({ kind: 'oauth', prefix: 'abcd', hashed: 'h-1', userId: alice.id, oauthClientId: 'service-whoami', scopes: [], createdAt: 1 });
    const before = await clients(t);
    await syncServices(t.ctx);
    assert.deepEqual(await clients(t), before);
    t.ctx.config = { ...t.ctx.config, services: [{ ...t.ctx.config.services[0]!, api_token: 'whoami-token-2', oauth_client_allowed_scopes: ['read:users!user'] }] };
    await syncServices(t.ctx);
    const [c] = await clients(t);
    assert.ok(verifyToken('whoami-token-2', c!.secretHash));
    assert.ok(!verifyToken(whoami.api_token, c!.secretHash));
    assert.deepEqual(c!.allowedScopes, ['access:services!service=whoami', 'read:users!user']);
    assert.equal(c!.createdAt, before[0]!.createdAt);
    assert.equal((await t.db.select().from(schema.tokens).where(eq(schema.tokens.kind, 'oauth'))).length, 1);
  });

  test('removed: the service, its url, or its client id — the client goes, and with it its OAuth tokens', async () => {
    const t = await buildTestApp({ config: { services: [whoami, { name: 'other', api_token: 'other-token-1', url: 'http://127.0.0.1:1' }] } });
    await syncServices(t.ctx);
    const alice = await t.createUser('alice');
    await t.db.insert(schema.tokens).values({ kind: 'oauth', prefix: 'abcd', hashed: 'h-1', userId: alice.id, oauthClientId: 'service-whoami', scopes: [], createdAt: 1 });
    const ids = async () => (await clients(t)).map((c) => c.id).sort();
    // client id changed: the old client (and its token) goes, a new one comes
    t.ctx.config = configSchema.parse({ ...t.ctx.config, services: [{ ...whoami, oauth_client_id: 'service-whoami-2' }, t.ctx.config.services[1]] });
    await syncServices(t.ctx);
    assert.deepEqual(await ids(), ['service-other', 'service-whoami-2']);
    assert.equal((await t.db.select().from(schema.tokens).where(eq(schema.tokens.kind, 'oauth'))).length, 0);
    // url gone and no OAuth key left: no client
    t.ctx.config = configSchema.parse({ ...t.ctx.config, services: [{ name: 'whoami', api_token: whoami.api_token }, t.ctx.config.services[1]] });
    await syncServices(t.ctx);
    assert.deepEqual(await ids(), ['service-other']);
    // service gone
    t.ctx.config = configSchema.parse({ ...t.ctx.config, services: [] });
    await syncServices(t.ctx);
    assert.deepEqual(await ids(), []);
  });

  test("servers' clients are never touched", async () => {
    const t = await buildTestApp({ config: { services: [whoami] } });
    const { clientId } = await serverWithClient(t, 'alice');
    await syncServices(t.ctx);
    t.ctx.config = configSchema.parse({ ...t.ctx.config, services: [] });
    await syncServices(t.ctx);
    assert.deepEqual((await clients(t)).map((c) => c.id), [clientId]);
  });

  test('two services with one oauth_client_id: the sync refuses (start-up fails) and changes nothing', async () => {
    const t = await buildTestApp({ config: { services: [whoami, { name: 'twin', api_token: 'twin-token-1', url: 'http://127.0.0.1:2', oauth_client_id: 'service-whoami' }] } });
    await assert.rejects(syncServices(t.ctx), /services whoami and twin have the same oauth_client_id service-whoami/);
    assert.equal((await clients(t)).length, 0);
    assert.equal((await t.db.select().from(schema.services)).length, 0);
  });
});
