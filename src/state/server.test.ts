// The state machine's own rules: subsets, the pending/page mapping derived from one place, and the
// moves it refuses.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp } from '../../test/helpers/app.ts';
import { insertServer } from '../../test/helpers/server-rows.ts';
import { ACTIVE, assertMove, casServer, findServerRow, isActive, isStoppedLike, pageState, pendingOf, PENDING, SERVER_STATES, STOPPED_LIKE, transition } from './server.ts';

describe('server states', () => {
  test('every state is exactly one of active or stopped-like', () => {
    for (const s of SERVER_STATES) assert.notEqual(isActive(s), isStoppedLike(s), s);
    assert.equal(ACTIVE.length + STOPPED_LIKE.length, SERVER_STATES.length);
  });

  test('pending as JupyterHub says it, and the page state derived from it', () => {
    const expected = { stopped: [null, 'stopped'], queued: ['spawn', 'spawn'], spawning: ['spawn', 'spawn'], running: [null, 'ready'], stopping: ['stop', 'stop'], failed: [null, 'failed'] } as const;
    for (const s of SERVER_STATES) {
      assert.equal(pendingOf(s), expected[s][0], s);
      assert.equal(pageState({ state: s }), expected[s][1], s);
      assert.equal(PENDING.includes(s as never), expected[s][0] !== null, s);
    }
    assert.equal(pageState(undefined), 'stopped');
  });

  test('moves outside the machine are refused before touching the database', async () => {
    assert.throws(() => assertMove(['stopped'], 'running'), /no move from 'stopped' to 'running'/);
    assert.throws(() => assertMove(['stopping'], 'queued'), /no move/);
    assert.doesNotThrow(() => assertMove(['spawning', 'stopping'], 'stopping'));
    const t = await buildTestApp({ runner: false });
    const user = await t.createUser('alice');
    const { id } = await insertServer(t.db, user.id, 'stopped');
    await assert.rejects(transition(t.ctx, { serverId: id, from: ['stopped'], set: { state: 'running' } }), /no move/);
    assert.equal((await findServerRow(t.db, id))!.state, 'stopped');
  });

  test('compare-and-set: a row not in `from` is left alone and nothing is returned', async () => {
    const t = await buildTestApp({ runner: false });
    const user = await t.createUser('alice');
    const { id } = await insertServer(t.db, user.id, 'running');
    assert.equal(await casServer(t.db, id, ['spawning'], { state: 'running' }), undefined);
    assert.equal((await casServer(t.db, id, ['running'], { state: 'stopping' }))?.state, 'stopping');
  });
});
