// A random secret made once per hub and shared by every process through the database (the state
// cookie's signing key), so roles on several machines agree without configuration.
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema, type Db } from '../../../db/client.ts';

const cache = new WeakMap<Db, Map<string, Buffer>>();

export async function hubSecret(ctx: AppContext, name: string): Promise<Buffer> {
  let byName = cache.get(ctx.db);
  if (!byName) cache.set(ctx.db, (byName = new Map()));
  const have = byName.get(name);
  if (have) return have;
  // insert-or-keep: two processes starting at once end with the first one's secret
  await ctx.db.insert(schema.hubSecrets).values({ name, value: randomBytes(32).toString('base64url'), createdAt: ctx.clock.now() }).onConflictDoNothing();
  const [row] = await ctx.db.select().from(schema.hubSecrets).where(eq(schema.hubSecrets.name, name));
  const secret = Buffer.from(row!.value, 'base64url');
  byName.set(name, secret);
  return secret;
}
