// Spawn choices: profile / image resolution against the config, and the load-time refusals of bad lists.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../config/schema.ts';
import { ConfigError, loadConfig } from '../config/load.ts';
import { ServiceError } from '../errors.ts';
import { optionsFromForm, resolveSpawnOptions, visibleProfiles } from './options.ts';
import { buildServerSpec } from './spec.ts';

const config = configSchema.parse({
  spawner: {
    image: 'base:1',
    allowed_images: { Base: 'base:1', Science: 'sci:2' },
    profiles: [
      { slug: 'small', display_name: 'Small', default: true, mem_limit: '1G' },
      { slug: 'gpu', display_name: 'GPU', image: 'sci:2', cpu_limit: 4, cpu_guarantee: 2, mem_limit: '8G', groups: ['ml'],
        environment: { FLAVOUR: 'gpu' }, volumes: [{ source: 'data-{username}', target: '/data', read_only: true }] },
      { slug: 'alice-only', display_name: 'Alice', users: ['alice'] },
    ],
  },
});
const specBase = { config, hubUrl: 'http://127.0.0.1:8000', bindIp: '0.0.0.0', user: 'mel', server: '', token: 'x'.repeat(32) };
const bob = { name: 'bob', groups: [] };
const mel = { name: 'mel', groups: ['ml'] };
const status = (fn: () => unknown) => { try { fn(); } catch (e) { assert.ok(e instanceof ServiceError); return [e.status, e.message] as const; } return [0, ''] as const; };

describe('resolveSpawnOptions', () => {
  test('empty options: the default profile', () => {
    const o = resolveSpawnOptions(config, bob, {});
    assert.equal(o.profile, 'small');
    assert.equal(o.memLimit, '1G');
    assert.equal(o.image, undefined);
  });
  test('a group member gets the group profile with its image, limits, mounts and env', () => {
    const o = resolveSpawnOptions(config, mel, { profile: 'gpu' });
    assert.deepEqual([o.image, o.cpuLimit, o.cpuGuarantee, o.memLimit, o.environment], ['sci:2', 4, 2, '8G', { FLAVOUR: 'gpu' }]);
    const spec = buildServerSpec({ ...specBase, overrides: o });
    assert.equal(spec.image, 'sci:2');
    assert.equal(spec.memLimit, 8 * 1024 ** 3);
    assert.equal(spec.env['FLAVOUR'], 'gpu');
    assert.deepEqual(spec.mounts?.at(-1), { type: 'volume', source: 'data-mel', target: '/data', readOnly: true });
    const plain = buildServerSpec({ ...specBase, overrides: resolveSpawnOptions(config, mel, {}) });
    assert.notEqual(spec.configHash, plain.configHash);
  });
  test('a profile outside the user\'s groups is 403, an unknown one 400 naming the choices', () => {
    const [s1, m1] = status(() => resolveSpawnOptions(config, bob, { profile: 'gpu' }));
    assert.equal(s1, 403);
    assert.match(m1, /choose one of: small$/);
    const [s2, m2] = status(() => resolveSpawnOptions(config, bob, { profile: 'huge' }));
    assert.equal(s2, 400);
    assert.match(m2, /choose one of: small$/);
    assert.equal(resolveSpawnOptions(config, { name: 'alice', groups: [] }, { profile: 'alice-only' }).profile, 'alice-only');
  });
  test('images: by display name or image; others 400 listing the allowed', () => {
    assert.equal(resolveSpawnOptions(config, bob, { image: 'Science' }).image, 'sci:2');
    assert.equal(resolveSpawnOptions(config, bob, { image: 'sci:2' }).image, 'sci:2');
    const [s, m] = status(() => resolveSpawnOptions(config, bob, { image: 'evil:latest' }));
    assert.equal(s, 400);
    assert.match(m, /choose one of: Base, Science/);
    const bare = configSchema.parse({ spawner: { image: 'only:1' } });
    assert.equal(status(() => resolveSpawnOptions(bare, bob, { image: 'other:1' }))[0], 400);
    assert.deepEqual(resolveSpawnOptions(bare, bob, {}), { volumes: [], environment: {} });
  });
  test('visibleProfiles lists only the user\'s', () => {
    assert.deepEqual(visibleProfiles(config, bob).map((p) => p.slug), ['small']);
    assert.deepEqual(visibleProfiles(config, mel).map((p) => p.slug), ['small', 'gpu']);
  });
  test('optionsFromForm: single values, as JupyterHub does', () => {
    assert.deepEqual(optionsFromForm({ profile: ['gpu', 'small'], image: 'x' }), { profile: 'gpu', image: 'x' });
  });
});

describe('profile config refusals', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-profiles-'));
  const load = (yaml: string) => {
    const p = join(dir, `c${Math.random()}.yaml`);
    writeFileSync(p, yaml);
    try { loadConfig({ file: p, env: {} }); } catch (e) { assert.ok(e instanceof ConfigError, String(e)); return e.message; }
    return '';
  };
  const prof = (extra: string) => `spawner:\n  profiles:\n${extra}`;
  test('duplicate slugs', () => {
    assert.match(load(prof('    - {slug: a, display_name: A}\n    - {slug: a, display_name: B}\n')), /duplicate slug "a"/);
  });
  test('two defaults', () => {
    assert.match(load(prof('    - {slug: a, display_name: A, default: true}\n    - {slug: b, display_name: B, default: true}\n')), /at most one profile default/);
  });
  test('a guarantee above its limit', () => {
    assert.match(load(prof('    - {slug: a, display_name: A, mem_limit: 1G, mem_guarantee: 2G}\n')), /mem_guarantee.*not be more than mem_limit/);
    assert.match(load(prof('    - {slug: a, display_name: A, cpu_limit: 1, cpu_guarantee: 2}\n')), /cpu_guarantee.*not be more than cpu_limit/);
  });
  test('a guarantee above the limit a profile inherits from spawner.* (or a limit below an inherited guarantee)', () => {
    assert.match(load('spawner:\n  mem_limit: 1G\n  profiles:\n    - {slug: a, display_name: A, mem_guarantee: 2G}\n'), /spawner\.profiles\.0\.mem_guarantee: must not be more than spawner\.mem_limit, which this profile inherits/);
    assert.match(load('spawner:\n  cpu_guarantee: 2\n  profiles:\n    - {slug: a, display_name: A, cpu_limit: 1}\n'), /spawner\.profiles\.0\.cpu_limit: must not be less than spawner\.cpu_guarantee, which this profile inherits/);
    // a profile that sets both of a pair replaces both: the spawner's own values do not mix in
    assert.equal(load('spawner:\n  mem_limit: 1G\n  profiles:\n    - {slug: a, display_name: A, mem_limit: 4G, mem_guarantee: 2G}\n'), '');
  });
  test('a profile volume on the home dir', () => {
    assert.match(load(prof('    - {slug: a, display_name: A, volumes: [{source: x, target: /home/jovyan}]}\n')), /already mounted by docker.home_dir/);
  });
  test('an empty allow-list', () => {
    assert.match(load('spawner:\n  allowed_images: []\n'), /allowed_images/);
  });
  test('a good list loads', () => {
    assert.equal(load(prof('    - {slug: a, display_name: A, default: true, groups: [ml]}\n')), '');
  });
});

test('no profiles configured: a profile key stays opaque (JupyterHub keeps user_options as given)', () => {
  assert.deepEqual(resolveSpawnOptions(configSchema.parse({}), { name: 'bob', groups: [] }, { profile: 'small' }), { volumes: [], environment: {} });
});
