// Makes the services table and the services' API tokens match config.services (start-up and
// reload): adds new services, re-hashes a token only when the configured one changed, and deletes
// what is no longer configured. Idempotent; config tokens are user-supplied, so 16384 hash rounds.
import { and, eq, inArray, notInArray } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import { USER_SUPPLIED_ROUNDS, hashToken, tokenPrefix, verifyToken } from '../../auth/tokens.ts';

export async function syncServices(ctx: AppContext): Promise<{ added: number; rehashed: number; removed: number }> {
  const wanted = ctx.config.services;
  const names = wanted.map((s) => s.name);
  const t = schema.tokens;
  const sv = schema.services;
  const existing = await ctx.db.select().from(t).where(eq(t.kind, 'service'));
  // Hashing is deliberately slow, so it happens before the (short) write transaction.
  const plan = wanted.map((s) => {
    const mine = existing.filter((r) => r.serviceName === s.name);
    const keep = mine.find((r) => verifyToken(s.api_token, r.hashed));
    return { service: s, keep, stale: mine.filter((r) => r !== keep).map((r) => r.id), hashed: keep ? undefined : hashToken(s.api_token, USER_SUPPLIED_ROUNDS) };
  });
  const now = ctx.clock.now();
  const result = await ctx.db.transaction(async (tx) => {
    const gone = await tx.delete(t).where(and(eq(t.kind, 'service'), names.length ? notInArray(t.serviceName, names) : undefined)).returning({ id: t.id });
    await tx.delete(sv).where(names.length ? notInArray(sv.name, names) : undefined);
    let rehashed = 0;
    for (const p of plan) {
      const s = p.service;
      await tx.insert(sv).values({ name: s.name, admin: s.admin, scopes: s.scopes, createdAt: now })
        .onConflictDoUpdate({ target: sv.name, set: { admin: s.admin, scopes: s.scopes } });
      if (p.stale.length) await tx.delete(t).where(inArray(t.id, p.stale));
      if (p.hashed) {
        await tx.insert(t).values({ kind: 'service', prefix: tokenPrefix(s.api_token), hashed: p.hashed, serviceName: s.name, scopes: ['inherit'], note: 'from config', createdAt: now });
        rehashed++;
      }
    }
    return { removed: gone.length, rehashed };
  });
  const added = plan.filter((p) => !existing.some((r) => r.serviceName === p.service.name)).length;
  ctx.log.info('services synced', { services: names, added, rehashed: result.rehashed, removed: result.removed });
  return { added, rehashed: result.rehashed, removed: result.removed };
}
