// Containers (and probes) the backend runs that no server row accounts for, shared by the reconcile
// that runs when a worker takes the lease (removes them at once) and the prune job (after a grace).
// The rule that keeps an in-flight spawn safe: its row is active (spawning) before its container
// exists, so the backend is listed FIRST and the rows read after — a container in the list whose row
// was not active when read is one no spawn of any process can be creating.
import { eq, inArray } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import type { ListedServer } from '../../backends/types.ts';
import { instanceIsGone } from '../../instance.ts';
import { schema } from '../../../db/client.ts';
import { ACTIVE } from '../../state/server.ts';
import { recordAudit } from '../audit/record.ts';

const key = (kind: string, user: string, server: string) => `${kind}\0${user}\0${server}`;

/** A server a backend lists, with the kind of that backend (the one that removes it). */
export type OwnedListing = ListedServer & { kind: string };

/**
 * What every backend in use lists, then which of those an active row owns (read after: see the
 * header). A row owns a listing of its own kind only: after a change of backend, a container of the
 * old kind for a user whose server now runs on the new one is no row's.
 */
export async function listWithOwners(ctx: AppContext): Promise<{ listed: OwnedListing[]; isOwned(l: OwnedListing): boolean }> {
  const listed: OwnedListing[] = [];
  for (const backend of ctx.backends.all()) listed.push(...(await backend.list()).map((l) => ({ ...l, kind: backend.kind })));
  const s = schema.servers;
  const active = await ctx.db.select({ user: schema.users.name, server: s.name, kind: s.backend }).from(s)
    .innerJoin(schema.users, eq(schema.users.id, s.userId))
    .where(inArray(s.state, [...ACTIVE]));
  const owned = new Set(active.map((r) => key(r.kind || ctx.backend.kind, r.user, r.server)));
  return { listed, isOwned: (l) => owned.has(key(l.kind, l.user, l.serverName)) };
}

/** A printable name for a listed server: its container name when the backend has one. */
export function listedName(l: ListedServer): string {
  return typeof l.ref.name === 'string' ? l.ref.name : `${l.user}/${l.serverName}`;
}

/**
 * Stops and removes one server no row owns (its home volume stays), with a log line and an audit
 * row naming why. Returns false (logged) when the backend refused: the next pass tries again.
 */
export async function removeUnowned(ctx: AppContext, l: OwnedListing, audit: { action: string; why: string }): Promise<boolean> {
  const detail = { why: audit.why, name: listedName(l), running: l.running };
  try {
    await (await ctx.backends.for(l.kind)).stop(l.ref);
  } catch (err) {
    ctx.log.error('could not remove a server no row owns', { user: l.user, server: l.serverName, ...detail, error: String(err) });
    return false;
  }
  ctx.log.warn('removed a server no active row owns (its volume stays)', { user: l.user, server: l.serverName, ...detail });
  await recordAudit(ctx, { actor: `worker:${ctx.instanceId}`, action: audit.action, target: `${l.user}/${l.serverName}`, detail });
  return true;
}

/** Hub-reach probes a killed process left behind (creator gone, or past the probe's own time bound). */
export async function removeStaleProbes(ctx: AppContext): Promise<number> {
  let removed = 0;
  for (const backend of ctx.backends.all()) {
    if (!backend.removeStaleProbes) continue;
    try {
      removed += await backend.removeStaleProbes((creator) => instanceIsGone(creator, ctx.instanceId), ctx.clock.now());
    } catch (err) {
      ctx.log.error('could not remove hub-reach probes left behind', { backend: backend.kind, error: String(err) });
    }
  }
  return removed;
}
