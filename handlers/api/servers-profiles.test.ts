// Profile / image choice through POST /hub/api/users/:name/server: refused before anything is queued
// (400 unknown, 403 outside the user's groups), applied to the spec the backend starts.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp } from '../../test/helpers/app.ts';
import type { FakeBackend } from '../../src/backends/fake/index.ts';
import { setUserGroups } from '../../src/services/groups/set-user-groups.ts';
import { until } from '../../test/helpers/until.ts';
import type { ConfigInput } from '../../src/config/schema.ts';

const config = {
  spawner: {
    image: 'fake:instant',
    profiles: [
      { slug: 'small', display_name: 'Small', default: true, mem_limit: '1G' },
      { slug: 'big', display_name: 'Big', image: 'big:instant', mem_limit: '4G', groups: ['ml'], environment: { FLAVOUR: 'big' },
        volumes: [{ source: 'data-{username}', target: '/data' }] },
    ],
  },
} satisfies ConfigInput;

const post = (t: Awaited<ReturnType<typeof buildTestApp>>, token: string, body: unknown) =>
  t.request('/hub/api/users/alice/server', { method: 'POST', token, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

describe('profiles via the REST API', () => {
  test('unknown profile 400, profile outside the groups 403, nothing queued', async () => {
    const t = await buildTestApp({ config });
    try {
      const alice = await t.createUser('alice');
      const token = await t.createToken(alice.id);
      const bad = await post(t, token, { profile: 'huge' });
      assert.equal(bad.status, 400);
      assert.match(((await bad.json()) as { message: string }).message, /choose one of: small$/);
      const denied = await post(t, token, { profile: 'big' });
      assert.equal(denied.status, 403);
      assert.equal(((await denied.json()) as { status: number }).status, 403);
      assert.equal((t.backend as FakeBackend).calls.filter((c) => c.op === 'start').length, 0);
    } finally { await t.close(); }
  });

  test('a group member spawns the profile: image, memLimit, mounts and env reach the backend', async () => {
    const t = await buildTestApp({ config });
    try {
      const alice = await t.createUser('alice');
      await setUserGroups(t.db, alice.id, ['ml'], Date.now());
      const token = await t.createToken(alice.id);
      const res = await post(t, token, { profile: 'big' });
      assert.ok(res.status === 201 || res.status === 202, `status ${res.status}`);
      const spec = await until('the server started', () => [...(t.backend as FakeBackend).servers.values()][0]?.spec);
      assert.equal(spec.image, 'big:instant');
      assert.equal(spec.memLimit, 4 * 1024 ** 3);
      assert.equal(spec.env['FLAVOUR'], 'big');
      assert.ok(spec.mounts?.some((m) => m.source === 'data-alice' && m.target === '/data'));
    } finally { await t.close(); }
  });
});
