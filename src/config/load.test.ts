// Config loading: the file, ${ENV} references, BERTH_* overrides, and a report naming every bad key.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, dbUrl, loadConfig } from './load.ts';

const dir = mkdtempSync(join(tmpdir(), 'berth-config-'));
const file = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return p; };

describe('loadConfig', () => {
  test('embedded defaults: 127.0.0.1:8000, ./data, docker, shared password login open to all', () => {
    const { config, source } = loadConfig({ env: {} });
    assert.equal(source, 'embedded defaults');
    assert.equal(config.hub.ip, '127.0.0.1');
    assert.equal(config.hub.port, 8000);
    assert.equal(dbUrl(config), 'file:./data/berth.db');
    assert.deepEqual(config.backend, { kind: 'docker' });
    assert.equal(config.auth.providers[0]!.kind, 'shared-password');
    assert.equal(config.auth.allow_all, true);
    assert.equal(config.hub.api_version, '5.3.0');
  });

  test('a file is never open to all unless it says so', () => {
    const { config } = loadConfig({ file: file('min.yaml', 'hub:\n  port: 9000\n'), env: {} });
    assert.equal(config.auth.allow_all, false);
    assert.equal(config.hub.port, 9000);
  });

  test('plain variables and BERTH_<SECTION>_<KEY> override the file; BERTH_ADMIN_TOKEN becomes an admin service', () => {
    const { config } = loadConfig({
      file: file('o.yaml', 'hub:\n  port: 9000\nspawner:\n  image: from-file\n'),
      env: { BERTH_PORT: '9100', BERTH_DATA_DIR: '/srv/berth', BERTH_IMAGE: 'img:1.0', BERTH_SHARED_PASSWORD: '12345678', BERTH_SPAWNER_HTTP_TIMEOUT: '60', BERTH_ADMIN_TOKEN: 'a'.repeat(32) },
    });
    assert.equal(config.hub.port, 9100);
    assert.equal(config.hub.data_dir, '/srv/berth');
    assert.equal(config.spawner.image, 'img:1.0');
    assert.equal(config.auth.shared_password, '12345678');
    assert.equal(config.spawner.http_timeout, 60);
    assert.deepEqual(config.services, [{ name: 'admin-token', api_token: 'a'.repeat(32), admin: true, scopes: [] }]);
  });

  test('the worker jobs take BERTH_CULL_*, BERTH_PRUNE_*, BERTH_PREPULL_*, BERTH_WEBHOOK_SECRET; a section name alone is not a key', () => {
    const { config } = loadConfig({
      env: {
        BERTH_CULL_ENABLED: 'true', BERTH_CULL_TIMEOUT: '3600', BERTH_CULL_USERS: 'true', BERTH_PRUNE_DELETED_USER_VOLUMES: 'report',
        BERTH_PREPULL_IMAGES: '[a:1, b:2]', BERTH_WEBHOOK_SECRET: '0123456789012345678', BERTH_WORKER_CULL: 'oops', BERTH_WORKER_LEASE_SECONDS: '20',
      },
    });
    assert.equal(config.worker.cull.enabled, true);
    assert.equal(config.worker.cull.timeout, 3600);
    assert.equal(config.worker.cull.users, true);
    assert.equal(config.worker.prune.deleted_user_volumes, 'report');
    assert.deepEqual(config.worker.prepull.images, ['a:1', 'b:2']);
    assert.equal(config.webhooks.secret, '0123456789012345678', 'a secret of digits stays a string');
    assert.equal(config.worker.lease_seconds, 20);
    assert.equal(config.worker.cull.concurrency, 10, 'BERTH_WORKER_CULL set nothing');
  });

  test('${ENV} and ${ENV:-default} references are expanded; JSON is accepted too', () => {
    const { config } = loadConfig({
      file: file('c.json', JSON.stringify({ services: [{ name: 'culler', api_token: '${CULLER_TOKEN}', scopes: ['list:users'] }], spawner: { image: '${IMG:-fallback:1}' } })),
      env: { CULLER_TOKEN: 'c'.repeat(32) },
    });
    assert.equal(config.services[0]!.api_token, 'c'.repeat(32));
    assert.equal(config.spawner.image, 'fallback:1');
  });

  test('an invalid file is refused with a report naming each bad key', () => {
    const bad = file('bad.yaml', 'hub:\n  port: "x"\n  bogus: 1\nspawner:\n  mem_limit: lots\nservices:\n  - name: a\n    api_token: short\n  - name: a\n    api_token: ${MISSING}\n');
    assert.throws(() => loadConfig({ file: bad, env: {} }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      const report = e.problems.join('\n');
      for (const key of ['hub.port', 'bogus', 'spawner.mem_limit', 'services.0.api_token', 'MISSING']) assert.match(report, new RegExp(key.replace('.', '\\.')), `report names ${key}:\n${report}`);
      return true;
    });
  });

  test('fail closed: an OAuth, LDAP or CAS provider with no allow rule is refused with one line naming the fix', () => {
    const providers = {
      oidc: '{kind: oidc, issuer: "https://idp.example/", client_id: berth}',
      github: '{kind: github, client_id: a, client_secret: b}',
      gitlab: '{kind: gitlab, client_id: a, client_secret: b}',
      ldap: '{kind: ldap, server_address: ldap.example, bind_dn_template: ["uid={username},ou=people,dc=example"]}',
      cas: '{kind: cas, server_url: "https://cas.example/cas"}',
    };
    for (const [kind, entry] of Object.entries(providers)) {
      assert.throws(() => loadConfig({ file: file(`${kind}.yaml`, `auth:\n  providers: [${entry}]\n`), env: {} }), (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.equal(e.problems.length, 1, e.message);
        assert.match(e.problems[0]!, new RegExp(`^auth\\.providers\\[0\\] \\(${kind} "${kind}"\\): no allow rule.*allow_all: true`));
        return true;
      });
      // allow_all (here, on the provider) says it on purpose: it starts
      const open = loadConfig({ file: file(`${kind}-open.yaml`, `auth:\n  providers: [${entry.replace(/}$/, ', allow_all: true}')}]\n`), env: {} });
      assert.equal(open.config.auth.providers[0]!.kind, kind);
      // and so does any allow rule
      assert.ok(loadConfig({ file: file(`${kind}-rule.yaml`, `auth:\n  allowed_groups: [staff]\n  providers: [${entry}]\n`), env: {} }));
    }
    assert.ok(loadConfig({ file: file('gh-org.yaml', 'auth:\n  providers: [{kind: github, client_id: a, client_secret: b, allowed_organizations: [my-org]}]\n'), env: {} }));
    // the shared password is its own gate: a file with only it still starts (only admins can log in)
    assert.ok(loadConfig({ file: file('sp.yaml', 'auth:\n  providers: [{kind: shared-password}]\n'), env: {} }));
  });

  test('group rules over two providers\' groups need a group_prefix each; a hub-wide allow_all cannot switch off a provider\'s own rule', () => {
    const two = '  providers:\n    - {kind: github, client_id: a, client_secret: b, allowed_organizations: [my-org]GH}\n    - {kind: ldap, server_address: ldap.example, bind_dn_template: ["uid={username},dc=x"], allowed_groups: ["cn=u,dc=x"]LD}\n';
    const shared = file('ns.yaml', `auth:\n  admin_groups: [hub-admins]\n${two.replace('GH', '').replace('LD', '')}`);
    assert.throws(() => loadConfig({ file: shared, env: {} }), /auth\.providers: github and ldap report groups into one namespace while group rules are set — give each its own group_prefix/);
    const apart = file('ns2.yaml', `auth:\n  admin_groups: ["ldap:hub-admins"]\n${two.replace('GH', ', group_prefix: "gh:"').replace('LD', ', group_prefix: "ldap:"')}`);
    assert.ok(loadConfig({ file: apart, env: {} }));
    const open = file('aa.yaml', 'auth:\n  allow_all: true\n  providers:\n    - {kind: shared-password}\n    - {kind: github, client_id: a, client_secret: b, allowed_organizations: [my-org]}\n');
    assert.throws(() => loadConfig({ file: open, env: {} }), /auth\.allow_all: true lets everyone in through github too, making its allowed_organizations meaningless — put allow_all on the provider entries/);
    const scoped = file('aa2.yaml', 'auth:\n  providers:\n    - {kind: shared-password, allow_all: true}\n    - {kind: github, client_id: a, client_secret: b, allowed_organizations: [my-org]}\n');
    assert.ok(loadConfig({ file: scoped, env: {} }));
  });

  test('provider entries: unknown kind, duplicate names, incomplete OIDC and LDAP are each named', () => {
    const bad = file('p.yaml', [
      'auth:', '  allow_all: true', '  providers:', '    - {kind: saml}', '    - {kind: oidc, client_id: x}',
      '    - {kind: ldap, server_address: x}', '    - {kind: github, client_id: a, client_secret: b}', '    - {kind: github, client_id: a, client_secret: b}', '',
    ].join('\n'));
    assert.throws(() => loadConfig({ file: bad, env: {} }), (e: unknown) => {
      const report = (e as ConfigError).problems.join('\n');
      assert.match(report, /auth\.providers\.0\.kind/);
      assert.match(report, /auth\.providers\.1: set issuer/);
      assert.match(report, /auth\.providers\.2: set bind_dn_template/);
      return true;
    });
    const dup = file('dup.yaml', 'auth:\n  allow_all: true\n  providers:\n    - {kind: github, client_id: a, client_secret: b}\n    - {kind: github, client_id: a, client_secret: b}\n');
    assert.throws(() => loadConfig({ file: dup, env: {} }), /two providers named "github"/);
  });

  test('BERTH_AUTH_STATE_KEY: keys separated by ";" (JUPYTERHUB_CRYPT_KEY\'s form), each checked', () => {
    const k1 = 'a'.repeat(64), k2 = 'b'.repeat(64);
    assert.deepEqual(loadConfig({ env: { BERTH_AUTH_STATE_KEY: `${k1};${k2}` } }).config.auth.auth_state.keys, [k1, k2]);
    assert.throws(() => loadConfig({ env: { BERTH_AUTH_STATE_KEY: 'nope' } }), /auth\.auth_state\.keys\[0\]: not a 32-byte key/);
  });

  test('a missing file and a file that is not YAML are one clear problem each', () => {
    assert.throws(() => loadConfig({ file: join(dir, 'nope.yaml'), env: {} }), /file not found/);
    assert.throws(() => loadConfig({ file: file('x.yaml', 'hub: [\n'), env: {} }), /not valid YAML/);
    assert.throws(() => loadConfig({ file: file('l.yaml', '- a\n- b\n'), env: {} }), /top level must be a mapping/);
  });

  test('docker.home_size without a driver option that takes {size} is refused with what to set (the local driver has no quota)', () => {
    assert.throws(() => loadConfig({ file: file('hs.yaml', 'docker:\n  home_size: 10G\n'), env: {} }), /docker\.home_size: Docker's local volume driver keeps no per-volume size limit: set docker\.home_volume_driver/);
    assert.throws(() => loadConfig({ file: file('hs2.yaml', 'docker:\n  home_volume_driver_options: {o: "size={size}"}\n'), env: {} }), /\{size\} is home_size, which is not set/);
    const { config } = loadConfig({ file: file('hs3.yaml', 'docker:\n  home_size: 10G\n  home_volume_driver: local\n  home_volume_driver_options: {type: tmpfs, device: tmpfs, o: "size={size}"}\n'), env: {} });
    assert.equal(config.docker.home_size, '10G');
  });

  test('docker.storage_size: a size, refused on swarm (services take no --storage-opt) and as extra_host_config.StorageOpt', () => {
    assert.equal(loadConfig({ file: file('ss.yaml', 'docker:\n  storage_size: 20G\n'), env: {} }).config.docker.storage_size, '20G');
    assert.throws(() => loadConfig({ file: file('ss2.yaml', 'backend: swarm\ndocker:\n  storage_size: 20G\n'), env: {} }), /docker\.storage_size: swarm services have no per-container storage limit/);
    assert.throws(() => loadConfig({ file: file('ss3.yaml', 'docker:\n  extra_host_config: {StorageOpt: {size: 1G}}\n'), env: {} }), /StorageOpt.*docker\.storage_size/);
  });

  test('a version that is not PEP 440 is refused (single-user servers and the culler parse it)', () => {
    assert.throws(() => loadConfig({ file: file('v.yaml', 'hub:\n  api_version: 1.0.0-ts\n'), env: {} }), /hub\.api_version/);
  });
});
