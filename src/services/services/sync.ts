// Makes the services table, the services' API tokens and their OAuth clients match config.services
// (start-up and reload): adds new services, re-hashes a token or client secret only when the
// configured api_token changed, and deletes what is no longer configured (a client's codes and
// tokens go with it). Idempotent; config tokens are user-supplied, so 16384 hash rounds.
import { and, eq, inArray, isNotNull, isNull, notInArray } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import { ServiceError } from '../../errors.ts';
import { USER_SUPPLIED_ROUNDS, hashToken, tokenPrefix, verifyToken } from '../../auth/tokens.ts';
import { serviceClientDescription, serviceOAuth } from './spec.ts';

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
  const clients = await planClients(ctx);
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
    await applyClients(tx, clients, now);
    return { removed: gone.length, rehashed };
  });
  const added = plan.filter((p) => !existing.some((r) => r.serviceName === p.service.name)).length;
  ctx.log.info('services synced', {
    services: names, added, rehashed: result.rehashed, removed: result.removed,
    oauthClients: clients.wanted.map((c) => c.id), oauthClientsRemoved: clients.stale.length,
  });
  return { added, rehashed: result.rehashed, removed: result.removed };
}

type Tx = Parameters<Parameters<AppContext['db']['transaction']>[0]>[0];
type ClientRow = typeof schema.oauthClients.$inferInsert;

/**
 * The services' OAuth clients (JupyterHub's service_from_spec → add_client): for each service with
 * OAuth, its client id, redirect URI, allowed scopes and secret; and the service clients to delete
 * (service gone, OAuth gone, or client id changed).
 */
async function planClients(ctx: AppContext): Promise<{ wanted: (ClientRow & { id: string; update: boolean })[]; stale: string[] }> {
  const oc = schema.oauthClients;
  const existing = await ctx.db.select().from(oc).where(isNotNull(oc.serviceName));
  const wanted: (ClientRow & { id: string; update: boolean })[] = [];
  const seen = new Map<string, string>();
  for (const s of ctx.config.services) {
    const o = serviceOAuth(s, ctx.config.hub.base_url);
    if (!o) continue;
    const other = seen.get(o.clientId);
    if (other) throw new ServiceError('Invalid', `services ${other} and ${s.name} have the same oauth_client_id ${o.clientId}`);
    seen.set(o.clientId, s.name);
    const current = existing.find((c) => c.id === o.clientId && c.serviceName === s.name);
    // hashing is slow (16384 rounds): only when the api_token changed
    const secretHash = current && verifyToken(s.api_token, current.secretHash) ? current.secretHash : hashToken(s.api_token, USER_SUPPLIED_ROUNDS);
    wanted.push({
      id: o.clientId, secretHash, redirectUri: o.redirectUri, description: serviceClientDescription(s.name),
      allowedScopes: o.allowedScopes, serviceName: s.name, createdAt: current?.createdAt ?? ctx.clock.now(), update: !!current,
    });
  }
  const stale = existing.filter((c) => !wanted.some((w) => w.update && w.id === c.id)).map((c) => c.id);
  return { wanted, stale };
}

async function applyClients(tx: Tx, plan: Awaited<ReturnType<typeof planClients>>, now: number) {
  const oc = schema.oauthClients;
  if (plan.stale.length) await tx.delete(oc).where(and(inArray(oc.id, plan.stale), isNotNull(oc.serviceName)));
  for (const { update, ...row } of plan.wanted) {
    if (update) {
      // as JupyterHub's add_client: the client is updated in place, its users' tokens stay valid
      await tx.update(oc).set({ secretHash: row.secretHash, redirectUri: row.redirectUri, description: row.description, allowedScopes: row.allowedScopes })
        .where(and(eq(oc.id, row.id), eq(oc.serviceName, row.serviceName!)));
    } else {
      // a leftover of the same id that no server owns (server ids never start with service-)
      await tx.delete(oc).where(and(eq(oc.id, row.id), isNull(oc.serverId)));
      await tx.insert(oc).values({ ...row, createdAt: now });
    }
  }
}
