// The shared-password provider and the generated admin password.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { ensureAdminPassword, sharedPasswordProvider } from './index.ts';
import { configSchema, type ConfigInput } from '../../../config/schema.ts';
import type { AppContext } from '../../../context.ts';
import { silentLogger } from '../../../log.ts';
import { decide } from '../../policy.ts';

/** The provider's check, then the policy, as the login handler runs them. */
async function checkLogin(ctx: AppContext, username: string, password: string) {
  const entry = ctx.config.auth.providers[0]!;
  if (entry.kind !== 'shared-password') throw new Error('test config');
  const claims = await sharedPasswordProvider(entry, ctx.config).check({ username, password });
  if (!claims) return null;
  const d = decide(ctx.config.auth, entry, claims);
  return d.ok ? { name: d.name, admin: d.admin ?? false } : null;
}

function ctxWith(auth: NonNullable<ConfigInput['auth']>, dataDir = mkdtempSync(join(tmpdir(), 'berth-pw-'))): AppContext {
  const config = configSchema.parse({ backend: 'fake', hub: { data_dir: dataDir }, auth });
  return { config, db: undefined as never, backend: undefined as never, backends: undefined as never, clock: { now: () => 0 }, log: silentLogger, events: new EventEmitter(), hubUrl: '', instanceId: 'test' };
}

describe('checkLogin', () => {
  const ctx = ctxWith({ shared_password: 'correct horse', admin_password: 'admin secret pw', admin_users: ['root'], allowed_users: ['bob'], blocked_users: ['mallory'], allow_all: false });

  test('an allowed user logs in with the shared password, never as admin', async () => {
    assert.deepEqual(await checkLogin(ctx, 'bob', 'correct horse'), { name: 'bob', admin: false });
  });
  test('names are lower-cased like JupyterHub', async () => {
    assert.deepEqual(await checkLogin(ctx, 'BoB', 'correct horse'), { name: 'bob', admin: false });
  });
  test('wrong password → null', async () => {
    assert.equal(await checkLogin(ctx, 'bob', 'correct horsE'), null);
    assert.equal(await checkLogin(ctx, 'bob', ''), null);
  });
  test('unknown name when allow_all is off → null', async () => {
    assert.equal(await checkLogin(ctx, 'carol', 'correct horse'), null);
  });
  test('allow_all lets any valid name in', async () => {
    const open = ctxWith({ shared_password: 'correct horse', allow_all: true });
    assert.deepEqual(await checkLogin(open, 'carol', 'correct horse'), { name: 'carol', admin: false });
  });
  test('blocked users never log in, even when listed or allow_all', async () => {
    const open = ctxWith({ shared_password: 'correct horse', allow_all: true, blocked_users: ['Mallory'] });
    assert.equal(await checkLogin(open, 'mallory', 'correct horse'), null);
    assert.equal(await checkLogin(ctx, 'mallory', 'correct horse'), null);
  });
  test('admins use the admin password; the shared one does not let them in', async () => {
    assert.deepEqual(await checkLogin(ctx, 'root', 'admin secret pw'), { name: 'root', admin: true });
    assert.equal(await checkLogin(ctx, 'root', 'correct horse'), null);
    assert.equal(await checkLogin(ctx, 'bob', 'admin secret pw'), null);
  });
  test('invalid names are refused', async () => {
    const open = ctxWith({ shared_password: 'correct horse', allow_all: true });
    for (const name of ['', 'a b', 'a/b', '..', 'x\\y']) assert.equal(await checkLogin(open, name, 'correct horse'), null, name);
  });
  test('no shared password configured → nobody but admins', async () => {
    const none = ctxWith({ admin_password: 'admin secret pw', allow_all: true });
    assert.equal(await checkLogin(none, 'carol', 'anything at all'), null);
    assert.deepEqual(await checkLogin(none, 'admin', 'admin secret pw'), { name: 'admin', admin: true });
  });
});

describe('the admin-name check sees the name the policy sees', () => {
  test('with username_prefix and username_map, the shared password never logs in a listed admin', async () => {
    const ctx = ctxWith({ providers: [{ kind: 'shared-password', username_prefix: 'pw-' }], shared_password: 'correct horse', admin_password: 'admin secret pw', admin_users: ['pw-admin'], allow_all: true, username_map: { boss: 'admin' } });
    assert.equal(await checkLogin(ctx, 'admin', 'correct horse'), null);
    assert.equal(await checkLogin(ctx, 'boss', 'correct horse'), null, 'mapped onto the admin name');
    assert.deepEqual(await checkLogin(ctx, 'Admin', 'admin secret pw'), { name: 'pw-admin', admin: true });
    assert.deepEqual(await checkLogin(ctx, 'bob', 'correct horse'), { name: 'pw-bob', admin: false });
  });
});

describe('ensureAdminPassword', () => {
  test('config admin_password wins: nothing generated, nothing written', async () => {
    const ctx = ctxWith({ admin_password: 'admin secret pw', allow_all: true });
    assert.deepEqual(await ensureAdminPassword(ctx), {});
    assert.throws(() => statSync(join(ctx.config.hub.data_dir, 'admin-password')));
  });
  test('generated once, stored hashed with mode 0600, then used for admin login', async () => {
    const ctx = ctxWith({ shared_password: 'correct horse', allow_all: true });
    const first = await ensureAdminPassword(ctx);
    assert.match(first.generated ?? '', /^[A-Za-z0-9]{5}(-[A-Za-z0-9]{5}){3}$/);
    const file = join(ctx.config.hub.data_dir, 'admin-password');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(!readFileSync(file, 'utf8').includes(first.generated!), 'clear text never stored');
    assert.deepEqual(await ensureAdminPassword(ctx), {}, 'later starts generate nothing');
    assert.deepEqual(await checkLogin(ctx, 'admin', first.generated!), { name: 'admin', admin: true });
    assert.equal(await checkLogin(ctx, 'admin', 'correct horse'), null);
  });
  test('a later config admin_password overrides the generated one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-pw-'));
    const generated = (await ensureAdminPassword(ctxWith({ allow_all: true }, dir))).generated!;
    const ctx = ctxWith({ admin_password: 'admin secret pw', allow_all: true }, dir);
    assert.equal(await checkLogin(ctx, 'admin', generated), null);
    assert.deepEqual(await checkLogin(ctx, 'admin', 'admin secret pw'), { name: 'admin', admin: true });
  });
  test('no admin password anywhere → admin login closed', async () => {
    const ctx = ctxWith({ shared_password: 'correct horse', allow_all: true });
    assert.equal(await checkLogin(ctx, 'admin', 'correct horse'), null);
  });
});
