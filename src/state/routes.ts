// The route table's change counter. Every transition into or out of `running` bumps it (inside the
// same transaction as the transition); proxies compare it to refresh their in-memory map.
import { eq, sql } from 'drizzle-orm';
import { schema } from '../../db/client.ts';
import type { Db } from '../../db/client.ts';

const ROUTES = 'routes';
type Tx = Pick<Db, 'insert' | 'select'>;

export async function bumpRoutes(db: Tx): Promise<void> {
  await db.insert(schema.counters).values({ name: ROUTES, value: 1 })
    .onConflictDoUpdate({ target: schema.counters.name, set: { value: sql`${schema.counters.value} + 1` } });
}

export async function routesVersion(db: Tx): Promise<number> {
  const row = await db.select({ value: schema.counters.value }).from(schema.counters).where(eq(schema.counters.name, ROUTES));
  return row[0]?.value ?? 0;
}
