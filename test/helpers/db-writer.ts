// A child process for the several-processes database tests: waits for a shared start time, opens
// Berth's database (migrations included) and makes `ops` writes — plain audit inserts and
// read-modify-write increments of one shared counter — then prints a JSON summary.
//   node --import tsx test/helpers/db-writer.ts <url> <startAtEpochMs> <ops> <tag>
import { eq, sql } from 'drizzle-orm';
import { openDb, schema } from '../../db/client.ts';

const [url, startAt, ops, tag] = process.argv.slice(2);
if (!url || !startAt || !ops || !tag) throw new Error('usage: db-writer.ts <url> <startAtEpochMs> <ops> <tag>');

// every child calls openDb at the same moment, so the migration race really happens
await new Promise((r) => setTimeout(r, Math.max(0, Number(startAt) - Date.now())));
const db = await openDb(url);
const { counters, audit } = schema;
let increments = 0;
for (let i = 0; i < Number(ops); i++) {
  if (i % 2 === 0) {
    await db.insert(audit).values({ at: Date.now(), actor: tag, action: `write ${i}` });
  } else {
    // read, then write what was read plus one: lost updates would show in the final count
    await db.transaction(async (tx) => {
      await tx.insert(counters).values({ name: 'shared', value: 0 }).onConflictDoNothing();
      const [row] = await tx.select().from(counters).where(eq(counters.name, 'shared'));
      await tx.update(counters).set({ value: row!.value + 1 }).where(eq(counters.name, 'shared'));
    });
    increments++;
  }
}
const [{ n }] = (await db.select({ n: sql<number>`count(*)` }).from(audit).where(eq(audit.actor, tag))) as [{ n: number }];
console.log(JSON.stringify({ tag, increments, audited: n }));
db.$client.close();
