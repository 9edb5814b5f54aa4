// The system-user resolution and spec: sources in order, min_uid, passwd parsing, the table, the
// home checks, and what the spec runs as.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema, type ConfigInput } from '../config/schema.ts';
import type { SystemUserConfig } from '../config/backend-schema.ts';
import { SpawnError } from '../errors.ts';
import { buildServerSpec } from './spec.ts';
import { parsePasswd, resolveSystemUser, systemUserSpec, type PosixClaims } from './system-user.ts';

const PASSWD = [
  'root:x:0:0:root:/root:/bin/bash',
  '# a comment',
  '',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  'alice:x:1001:1001:Alice,,,:/home/alice:/bin/bash',
  'broken line',
  'bad:x:abc:1:bad:/home/bad:/bin/sh',
  'alice:x:2002:2002:second alice:/elsewhere:/bin/sh',
  'bob:x:1002:100::/srv/bob:/bin/sh',
].join('\n');

const cfgOf = (backend: Record<string, unknown> = {}, rest: ConfigInput = {}) => {
  const config = configSchema.parse({ ...rest, backend: { kind: 'system-user', ...backend } });
  return { config, cfg: config.backend as SystemUserConfig };
};
const passwd = { readFile: () => PASSWD };
const claims = (uid: number | null, gid: number | null = uid, home: string | null = null): PosixClaims => ({ uid, gid, home });
const refusal = (fn: () => unknown) => {
  try { fn(); } catch (err) { assert.ok(err instanceof SpawnError, String(err)); return err.message; }
  assert.fail('expected a SpawnError');
};

describe('parsePasswd', () => {
  test('reads name, uid, gid, home; skips comments, blank and malformed lines; the first entry of a name wins', () => {
    const p = parsePasswd(PASSWD);
    assert.deepEqual([...p.keys()], ['root', 'daemon', 'alice', 'bob']);
    assert.deepEqual(p.get('alice'), { uid: 1001, gid: 1001, home: '/home/alice' });
    assert.deepEqual(p.get('bob'), { uid: 1002, gid: 100, home: '/srv/bob' });
    assert.equal(p.get('bad'), undefined);
  });
});

describe('resolveSystemUser: sources in order', () => {
  const users = { alice: { uid: 3000, gid: 3001, home: '/data/alice' } };

  test('the default order is claims, table, passwd: the first that knows the user answers', () => {
    const { cfg } = cfgOf({ users });
    assert.deepEqual(resolveSystemUser(cfg, 'alice', claims(5000, 5001, '/ldap/alice'), passwd), { name: 'alice', uid: 5000, gid: 5001, home: '/ldap/alice', source: 'claims' });
    assert.deepEqual(resolveSystemUser(cfg, 'alice', claims(null), passwd), { name: 'alice', uid: 3000, gid: 3001, home: '/data/alice', source: 'table' });
    assert.deepEqual(resolveSystemUser(cfg, 'alice', undefined, passwd).source, 'table');
    assert.deepEqual(resolveSystemUser(cfg, 'bob', undefined, passwd), { name: 'bob', uid: 1002, gid: 100, home: '/srv/bob', source: 'passwd' });
  });

  test('claims with a uid and no gid use the uid as gid', () => {
    const { cfg } = cfgOf();
    assert.deepEqual(resolveSystemUser(cfg, 'carol', claims(4000, null), passwd), { name: 'carol', uid: 4000, gid: 4000, home: undefined, source: 'claims' });
  });

  test('the configured order is honoured, and sources not listed are never asked', () => {
    const { cfg } = cfgOf({ users, sources: ['passwd', 'table'] });
    assert.equal(resolveSystemUser(cfg, 'alice', claims(5000), passwd).uid, 1001);
    const tableOnly = cfgOf({ users, sources: ['table'] }).cfg;
    let read = false;
    assert.equal(resolveSystemUser(tableOnly, 'alice', claims(5000), { readFile: () => { read = true; return PASSWD; } }).uid, 3000);
    assert.equal(read, false);
    assert.match(refusal(() => resolveSystemUser(tableOnly, 'bob', claims(5000), passwd)), /^no system user bob: create it \(useradd\) or add it to backend\.users$/);
  });

  test('an unknown user is refused with what to do', () => {
    const { cfg } = cfgOf();
    assert.equal(refusal(() => resolveSystemUser(cfg, 'nobody-here', undefined, passwd)), 'no system user nobody-here: create it (useradd) or add it to backend.users');
  });

  test('a table entry named like an Object property is not a user ("constructor", "__proto__")', () => {
    const { cfg } = cfgOf({ sources: ['table'] });
    assert.match(refusal(() => resolveSystemUser(cfg, 'constructor', undefined, passwd)), /no system user constructor/);
  });

  test('a uid below min_uid is refused, whichever source gave it', () => {
    const { cfg } = cfgOf({ users: { sys: { uid: 999, gid: 999 } } });
    assert.match(refusal(() => resolveSystemUser(cfg, 'root', undefined, passwd)), /^system user root has uid 0 \(from passwd\), below backend\.min_uid 1000/);
    assert.match(refusal(() => resolveSystemUser(cfg, 'sys', undefined, passwd)), /uid 999 \(from table\), below backend\.min_uid 1000/);
    assert.match(refusal(() => resolveSystemUser(cfg, 'x', claims(0), passwd)), /uid 0 \(from claims\)/);
    const low = cfgOf({ min_uid: 1 }).cfg;
    assert.equal(resolveSystemUser(low, 'daemon', undefined, passwd).uid, 1);
    assert.match(refusal(() => resolveSystemUser(low, 'root', undefined, passwd)), /below backend\.min_uid 1/);
  });

  test('an unreadable passwd_file says which file and what to do', () => {
    const { cfg } = cfgOf({ passwd_file: '/nonexistent/berth-passwd' });
    assert.match(refusal(() => resolveSystemUser(cfg, 'alice', undefined)), /^cannot read backend\.passwd_file \/nonexistent\/berth-passwd: .*ENOENT.*; mount the host's passwd there or drop 'passwd' from backend\.sources$/);
  });
});

describe('systemUserSpec', () => {
  const base = (config: ReturnType<typeof cfgOf>['config'], user: string) =>
    buildServerSpec({ config, hubUrl: 'http://127.0.0.1:8000', bindIp: '0.0.0.0', user, server: '', token: 'x'.repeat(32) });
  const alice = { name: 'alice', uid: 1001, gid: 1001, home: '/home/alice', source: 'passwd' as const };
  const exists = (paths: string[]) => (p: string) => paths.includes(p);

  test('home bind-mounted from the template at home_target, NB_* and HOME, runs as uid:gid in its home', () => {
    const { config, cfg } = cfgOf({}, { docker: { volumes: [{ source: '/srv/data', target: '/data', type: 'bind', read_only: true }] } });
    const before = base(config, 'alice');
    const spec = systemUserSpec(before, cfg, alice, exists(['/home/alice']));
    assert.deepEqual(spec.mounts, [{ type: 'bind', source: '/home/alice', target: '/home/alice' }, { type: 'bind', source: '/srv/data', target: '/data', readOnly: true }]);
    assert.equal(spec.runAs, '1001:1001');
    assert.equal(spec.workingDir, '/home/alice');
    assert.deepEqual([spec.env.NB_USER, spec.env.NB_UID, spec.env.NB_GID, spec.env.HOME], ['alice', '1001', '1001', '/home/alice']);
    assert.equal(spec.env.JUPYTERHUB_USER, 'alice', 'the rest of the env stays');
    assert.notEqual(spec.configHash, before.configHash, 'who and where are part of the hash');
    assert.equal(spec.labels['berth.config-hash'], spec.configHash);
  });

  test('run_as_root starts as root with NB_UID/NB_GID, so the image drops to the user', () => {
    const { config, cfg } = cfgOf({ run_as_root: true, home: '/srv/homes/{username}', home_target: '/home/jovyan' });
    const spec = systemUserSpec(base(config, 'alice'), cfg, alice, exists(['/srv/homes/alice']));
    assert.equal(spec.runAs, '0');
    assert.equal(spec.env.NB_UID, '1001');
    assert.deepEqual(spec.mounts![0], { type: 'bind', source: '/srv/homes/alice', target: '/home/jovyan' });
    assert.equal(spec.workingDir, '/home/jovyan');
  });

  test("a table entry's home overrides the template for that user; the claims' and passwd's homes do not", () => {
    const { config, cfg } = cfgOf({ users: { alice: { uid: 1001, gid: 1001, home: '/data/alice' } } });
    const user = resolveSystemUser(cfg, 'alice', undefined, passwd);
    assert.equal(systemUserSpec(base(config, 'alice'), cfg, user, exists(['/data/alice'])).mounts![0]!.source, '/data/alice');
    const fromPasswd = { ...alice, home: '/elsewhere' };
    assert.equal(systemUserSpec(base(config, 'alice'), cfg, fromPasswd, exists(['/home/alice'])).mounts![0]!.source, '/home/alice');
  });

  test('a missing host home is refused: Berth never creates one', () => {
    const { config, cfg } = cfgOf();
    assert.equal(refusal(() => systemUserSpec(base(config, 'alice'), cfg, alice, exists([]))),
      'home /home/alice of system user alice does not exist on the host: create it (useradd -m alice) or fix backend.home');
  });

  test('a name that is not one path segment is refused in a template, never walked up the tree', () => {
    const { config, cfg } = cfgOf();
    for (const name of ['..', 'a/b', '../etc']) {
      assert.match(refusal(() => systemUserSpec(base(config, name), cfg, { ...alice, name }, () => true)), /cannot be used in backend\.home \(\/home\/\{username\}\)/);
    }
  });
});
