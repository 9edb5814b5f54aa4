// Activity writes: every server in a batch and its user move forward, a user with two servers takes
// the later time, and nothing already later in the database moves back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { buildTestApp } from '../../../test/helpers/app.ts';
import { insertServer } from '../../../test/helpers/server-rows.ts';
import { schema } from '../../../db/client.ts';
import { recordActivityMany } from './record.ts';

test('recordActivityMany moves servers and users forward, never back', async () => {
  const t = await buildTestApp({ runner: false });
  try {
    const alice = await t.createUser('alice');
    const bob = await t.createUser('bob');
    const a1 = await insertServer(t.db, alice.id, 'running');
    const a2 = await insertServer(t.db, alice.id, 'running', { name: 'two' });
    const b1 = await insertServer(t.db, bob.id, 'running', { lastActivityUs: 9_000 });
    await t.db.update(schema.users).set({ lastActivityUs: 9_000 }).where(eq(schema.users.id, bob.id));

    await recordActivityMany({ ctx: t.ctx, input: [
      { serverId: a1.id, userId: alice.id, atUs: 5_000 },
      { serverId: a2.id, userId: alice.id, atUs: 7_000 },
      { serverId: b1.id, userId: bob.id, atUs: 8_000 },
    ] });

    const server = async (id: number) => (await t.db.select().from(schema.servers).where(eq(schema.servers.id, id)))[0]!.lastActivityUs;
    const user = async (id: number) => (await t.db.select().from(schema.users).where(eq(schema.users.id, id)))[0]!.lastActivityUs;
    assert.equal(await server(a1.id), 5_000);
    assert.equal(await server(a2.id), 7_000);
    assert.equal(await user(alice.id), 7_000, 'the later of her two servers');
    assert.equal(await server(b1.id), 9_000, 'an older sighting does not move it back');
    assert.equal(await user(bob.id), 9_000);
  } finally {
    await t.close();
  }
});
