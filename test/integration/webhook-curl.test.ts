// The README's webhook example, run as written (bash + openssl + curl) against a real `berth serve`
// with the fake backend (no Docker): the signed call starts the servers; the same call signed with
// another secret is refused and curl fails. If this test changes, the README section changes with it.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort, startBerth, type BerthProcess } from '../helpers/berth-process.ts';
import { until } from '../helpers/until.ts';

/** Exactly the README's snippet. */
/** The README's webhook example, read from the README itself (the sh block that signs a call), so the two never differ. */
export const README_SNIPPET = (() => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const block = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('X-Berth-Signature'));
  if (!block) throw new Error('README.md has no sh block with the webhook example');
  return block;
})();

const dir = mkdtempSync(join(tmpdir(), 'berth-webhook-'));
const secret = randomBytes(24).toString('hex');
const adminToken = randomBytes(16).toString('hex');
let berth: BerthProcess;

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${berth.origin}/hub/api${path}`, { ...init, headers: { authorization: `token ${adminToken}`, ...init.headers } });

function runSnippet(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-euo', 'pipefail', '-c', README_SNIPPET], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('README webhook example (bash + openssl + curl)', () => {
  before(async () => {
    const port = await freePort();
    const configFile = join(dir, 'berth.yaml');
    writeFileSync(configFile, [
      'hub:', `  port: ${port}`, `  data_dir: ${dir}/data`,
      'auth:', '  admin_password: webhook admin password', '  allow_all: true',
      'services:', '  - name: webhook-admin', '    api_token: ${WEBHOOK_ADMIN_TOKEN}', '    admin: true',
      'backend: fake', 'spawner:', '  image: fake',
      'webhooks:', '  secret: ${BERTH_WEBHOOK_SECRET}', '',
    ].join('\n'));
    berth = await startBerth({ configFile, port, env: { WEBHOOK_ADMIN_TOKEN: adminToken, BERTH_WEBHOOK_SECRET: secret }, logFile: join(dir, 'berth.log') });
    const created = await api('/users', { method: 'POST', body: JSON.stringify({ usernames: ['alice', 'bob'] }), headers: { 'content-type': 'application/json' } });
    assert.equal(created.status, 201);
  });

  after(async () => {
    await berth?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  test('signed with the right secret, it queues both servers and they become ready', async () => {
    const r = await runSnippet({ BERTH_WEBHOOK_SECRET: secret, BERTH_URL: berth.origin });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.deepEqual(JSON.parse(r.stdout), { action: 'start', server: '', results: [{ user: 'alice', outcome: 'queued' }, { user: 'bob', outcome: 'queued' }] });
    for (const name of ['alice', 'bob']) {
      await until(`${name} ready`, async () => ((await (await api(`/users/${name}`)).json()) as { servers: Record<string, { ready: boolean }> }).servers['']?.ready);
    }
    assert.match(berth.output(), /"msg":"webhook accepted","action":"start","server":"","users":2,"queued":2/);
  });

  test('signed with another secret, Berth answers 401 and curl fails', async () => {
    const r = await runSnippet({ BERTH_WEBHOOK_SECRET: 'not the configured secret', BERTH_URL: berth.origin });
    assert.equal(r.code, 22, 'curl --fail-with-body exits 22 on an HTTP error');
    assert.equal(JSON.parse(r.stdout).status, 401);
    assert.match(JSON.parse(r.stdout).message, /^Invalid X-Berth-Signature/);
    assert.match(berth.output(), /"msg":"webhook refused","reason":"Invalid X-Berth-Signature/);
  });
});
