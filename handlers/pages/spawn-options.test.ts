// The spawn form with profiles: GET lists only this user's profiles (default checked); POST spawns the
// chosen one (the fake backend records its spec); a profile outside the user's groups is refused.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp } from '../../test/helpers/app.ts';
import { form, loggedIn } from '../../test/helpers/login.ts';
import type { FakeBackend } from '../../src/backends/fake/index.ts';
import { until } from '../../test/helpers/until.ts';

const config = {
  spawner: {
    image: 'fake:instant',
    profiles: [
      { slug: 'small', display_name: 'Small one', description: 'one CPU', default: true },
      { slug: 'medium', display_name: 'Medium one', mem_limit: '2G', environment: { SIZE: 'm' } },
      { slug: 'big', display_name: 'Big one', groups: ['ml'] },
    ],
  },
};

async function setup() {
  const t = await buildTestApp({ config });
  const alice = await loggedIn(t, 'alice');
  const get = (path: string) => t.app.request(path, { headers: { cookie: alice.jar.header() } });
  const post = (path: string, fields: Record<string, string>) => {
    const f = form(fields);
    return t.app.request(path, { method: 'POST', body: f.body, headers: { ...f.headers, cookie: alice.jar.header() } });
  };
  return { t, alice, get, post };
}

describe('spawn form with profiles', () => {
  test('GET lists only the user\'s profiles, the default checked, and queues nothing', async () => {
    const { t, get } = await setup();
    try {
      const res = await get('/hub/spawn');
      assert.equal(res.status, 200);
      const page = await res.text();
      assert.match(page, /Small one/);
      assert.match(page, /Medium one/);
      assert.doesNotMatch(page, /Big one/);
      assert.match(page, /value="small" checked/);
      assert.equal((t.backend as FakeBackend).calls.length, 0);
    } finally { await t.close(); }
  });

  test('POST spawns the chosen profile; a profile outside the groups is 403', async () => {
    const { t, alice, post } = await setup();
    try {
      const denied = await post('/hub/spawn', { _xsrf: alice.session.xsrf, profile: 'big' });
      assert.equal(denied.status, 403);
      const ok = await post('/hub/spawn', { _xsrf: alice.session.xsrf, profile: 'medium' });
      assert.equal(ok.status, 302);
      const spec = await until('the server started', () => [...(t.backend as FakeBackend).servers.values()][0]?.spec);
      assert.equal(spec.memLimit, 2 * 1024 ** 3);
      assert.equal(spec.env['SIZE'], 'm');
      assert.equal(spec.image, 'fake:instant');
    } finally { await t.close(); }
  });
});
