// The expire job: deletes expired tokens, OAuth codes, login sessions and webhook signatures (expired
// rows are already invisible to lookups), and progress events of earlier spawns past their age (the
// latest spawn's stay: the spawn-pending page shows them, a failure's reason included).
import { and, eq, isNotNull, lt, sql } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';

export async function purgeExpired(ctx: AppContext): Promise<Record<string, number>> {
  const now = ctx.clock.now();
  const t = schema.tokens;
  const tokens = await ctx.db.delete(t).where(and(isNotNull(t.expiresAt), lt(t.expiresAt, now))).returning({ id: t.id });
  const codes = await ctx.db.delete(schema.oauthCodes).where(lt(schema.oauthCodes.expiresAt, now)).returning({ id: schema.oauthCodes.codeHash });
  const sessions = await ctx.db.delete(schema.sessions).where(lt(schema.sessions.expiresAt, now)).returning({ id: schema.sessions.id });
  const w = schema.webhookDeliveries;
  const signatures = await ctx.db.delete(w).where(lt(w.expiresAt, now)).returning({ id: w.signature });
  const e = schema.serverEvents;
  const s = schema.servers;
  const events = await ctx.db.delete(e).where(and(
    lt(e.createdAt, now - ctx.config.worker.events_max_age * 1000),
    lt(e.spawnSeq, sql`(select ${s.spawnSeq} from ${s} where ${eq(s.id, e.serverId)})`),
  )).returning({ id: e.id });
  return { tokens: tokens.length, codes: codes.length, sessions: sessions.length, signatures: signatures.length, events: events.length };
}
