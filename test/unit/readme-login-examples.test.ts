// The README's login and services examples are real configs: each YAML block in "## Login" and
// "## Services" loads with the one schema (and passes the fail-closed check) as written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const section = (title: string) => {
  const start = readme.indexOf(`\n## ${title}`);
  assert.ok(start >= 0, `README has a "## ${title}" section`);
  const end = readme.indexOf('\n## ', start + 4);
  return readme.slice(start, end < 0 ? undefined : end);
};
const blocks = (text: string) => [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
const dir = mkdtempSync(join(tmpdir(), 'berth-readme-'));

for (const title of ['Login', 'Services', 'Servers: shape, images and names (Docker backend)', 'Choosing the backend']) {
  const yamls = blocks(section(title));
  test(`README "${title.split(':')[0]}": ${yamls.length} YAML examples load as written`, () => {
    assert.ok(yamls.length >= (title === 'Login' ? 7 : 1));
    yamls.forEach((yaml, i) => {
      const env: Record<string, string> = {};
      for (const [, name] of yaml.matchAll(/\$\{([A-Z_][A-Z0-9_]*)\}/g)) env[name!] = name === 'BERTH_AUTH_STATE_KEY' ? 'ab'.repeat(32) : `example-${name!.toLowerCase()}-value`;
      const file = join(dir, `${title}-${i}.yaml`);
      writeFileSync(file, yaml);
      try {
        loadConfig({ file, env });
      } catch (err) {
        assert.fail(`example ${i + 1} of "${title}" does not load:\n${yaml}\n${(err as Error).message}`);
      }
    });
  });
}

test('README "System users": the example is a system-user backend with its table', () => {
  const servers = section('Choosing the backend');
  const yaml = blocks(servers.slice(servers.indexOf('### System users'))).at(0);
  assert.ok(yaml, 'the System users part has a YAML example');
  const file = join(dir, 'system-users.yaml');
  writeFileSync(file, yaml);
  const { backend } = loadConfig({ file, env: {} }).config;
  assert.equal(backend.kind, 'system-user');
  assert.deepEqual(backend.kind === 'system-user' && backend.users.alice, { uid: 1500, gid: 1500, home: '/data/homes/alice' });
});
