// The berth command as a newcomer meets it: one clear line when Docker is not reachable, a report
// naming each bad config key, one line for an unknown command — never a stack trace.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startBerth } from '../helpers/berth-process.ts';

const BIN = fileURLToPath(new URL('../../scripts/berth-dev.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'berth-cli-'));
const berth = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, BERTH_DATA_DIR: join(dir, 'data'), ...env }, encoding: 'utf8', timeout: 30_000 });

describe('berth command line', () => {
  test('serve without a reachable Docker engine: exit 1 and one line saying what to do', () => {
    const r = berth(['serve'], { DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}` });
    assert.equal(r.status, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /^berth: Docker is not reachable at .*no-docker\.sock: start the Docker engine/);
  });

  test('serve with an invalid config: exit 1, every bad key named, nothing started', () => {
    const cfg = join(dir, 'bad.yaml');
    writeFileSync(cfg, 'hub:\n  port: "x"\n  nonsense: true\n');
    const r = berth(['serve', '--config', cfg]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /hub\.port/);
    assert.match(r.stderr, /nonsense/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });

  test('serve with an OAuth, LDAP or CAS provider and no allow rule: exit 1 and one line; allow_all: true starts', async () => {
    const entries = {
      oidc: 'kind: oidc\n      issuer: https://idp.example/\n      client_id: berth',
      github: 'kind: github\n      client_id: a\n      client_secret: b',
      ldap: 'kind: ldap\n      server_address: ldap.example\n      bind_dn_template: ["uid={username},ou=people,dc=example,dc=org"]',
      cas: 'kind: cas\n      server_url: https://cas.example/cas',
    };
    for (const [kind, entry] of Object.entries(entries)) {
      const cfg = join(dir, `closed-${kind}.yaml`);
      writeFileSync(cfg, `backend: fake\nauth:\n  providers:\n    - ${entry}\n`);
      const r = berth(['serve', '--config', cfg]);
      assert.equal(r.status, 1, r.stderr);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, new RegExp(`^berth: invalid configuration \\(.*closed-${kind}\\.yaml\\): auth\\.providers\\[0\\] \\(${kind} "${kind}"\\): no allow rule.*allow_all: true`));
    }
    // said on purpose: it starts, and its login page offers the provider
    const port = await freePort();
    const open = join(dir, 'open-oidc.yaml');
    writeFileSync(open, `backend: fake\nhub:\n  port: ${port}\n  data_dir: ${join(dir, 'open-data')}\nworker:\n  prepull: {enabled: false}\nauth:\n  allow_all: true\n  providers:\n    - ${entries.oidc}\n`);
    const berthProcess = await startBerth({ configFile: open, port });
    try {
      const page = await (await fetch(`${berthProcess.origin}/hub/login`)).text();
      assert.match(page, /oauth_login\?provider=oidc/);
    } finally {
      await berthProcess.kill();
    }
  });

  test('check-config accepts a good file; an unknown command is one line and exit 2', () => {
    const cfg = join(dir, 'good.yaml');
    writeFileSync(cfg, 'hub:\n  port: 9001\n');
    const ok = berth(['check-config', '--config', cfg]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /configuration OK/);
    const bad = berth(['frobnicate']);
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
  });
});
