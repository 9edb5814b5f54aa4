// A backend that fails (Docker down mid-request) reaches API callers as 503 with the engine's words
// in JupyterHub's {"status","message"} body — never an opaque 500.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp } from '../../test/helpers/app.ts';
import { insertServer } from '../../test/helpers/server-rows.ts';
import { FakeBackend } from '../../src/backends/fake/index.ts';
import { classifyDockerError } from '../../src/backends/docker/port.ts';
import type { BackendRef, PollResult } from '../../src/backends/types.ts';

class DockerDown extends FakeBackend {
  override async poll(_ref: BackendRef): Promise<PollResult> {
    throw classifyDockerError(Object.assign(new Error('connect ENOENT /var/run/docker.sock'), { code: 'ENOENT' }), 'inspect container jupyter-alice');
  }
}

test('POST /users/:name/server while the backend is unreachable → 503 JSON with the reason', async () => {
  const t = await buildTestApp({ backend: new DockerDown(), runner: false });
  const alice = await t.createUser('alice');
  await insertServer(t.db, alice.id, 'running');
  const res = await t.request('/hub/api/users/alice/server', { method: 'POST', token: await t.createToken(alice.id) });
  assert.equal(res.status, 503);
  const body = (await res.json()) as { status: number; message: string };
  assert.equal(body.status, 503);
  assert.match(body.message, /inspect container jupyter-alice/);
});
