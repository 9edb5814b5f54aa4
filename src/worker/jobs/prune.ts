// The prune job (worker.prune): removes what Berth created and nothing owns any more, after a grace,
// and only ever what the backend finds by Berth's own labels (the docker backend lists with
// ownLabelFilter: a container or volume without them is never seen, so never touched).
//   - a server no active row owns (running, or created and never started): once created
//     `orphan_grace` ago — a spawn's row is active before its container exists, so no spawn in flight
//     is ever one (see src/services/servers/orphans.ts);
//   - one that ran and stopped, no active row owning it: once stopped `stopped_age` ago (until then
//     its logs can still be read);
//   - a server of a deleted user (its user label names no user): after `orphan_grace`, stopped or not;
//   - hub-reach probes a killed process left behind;
//   - home volumes of deleted users, per `deleted_user_volumes` (prune-volumes.ts).
// The reconcile at lease takeover removes unowned servers at once; the periodic reconcile leaves
// them here. Each removal has a log line and an audit row (prune.container / prune.volume).
import type { AppContext } from '../../context.ts';
import type { ListedServer } from '../../backends/types.ts';
import { schema } from '../../../db/client.ts';
import { listedName, listWithOwners, removeStaleProbes, removeUnowned } from '../../services/servers/orphans.ts';
import { pruneVolumes } from './prune-volumes.ts';

export type PruneReason = 'orphan' | 'stopped' | 'deleted-user';

export interface PruneRules {
  now: number;
  orphanGraceMs: number;
  stoppedAgeMs: number;
}

/**
 * Why a listed server is to be removed now, or undefined to keep it. Time unknown (a backend that
 * cannot say when it created a server) keeps it: a grace period that cannot be measured never ends.
 */
export function pruneReason(l: ListedServer, owned: boolean, userExists: boolean, r: PruneRules): PruneReason | undefined {
  if (owned) return undefined; // the row's business: reconcile keeps the two in agreement
  const olderThan = (at: number | undefined, ms: number) => at !== undefined && r.now - at >= ms;
  if (!userExists) return olderThan(l.createdAt, r.orphanGraceMs) ? 'deleted-user' : undefined;
  if (!l.running && l.finishedAt !== undefined) return olderThan(l.finishedAt, r.stoppedAgeMs) ? 'stopped' : undefined;
  return olderThan(l.createdAt, r.orphanGraceMs) ? 'orphan' : undefined;
}

export async function pruneOnce(ctx: AppContext): Promise<Record<string, unknown>> {
  const p = ctx.config.worker.prune;
  const rules = { now: ctx.clock.now(), orphanGraceMs: p.orphan_grace * 1000, stoppedAgeMs: p.stopped_age * 1000 };
  const probes = await removeStaleProbes(ctx);
  const { listed, isOwned } = await listWithOwners(ctx);
  const users = new Set((await ctx.db.select({ name: schema.users.name }).from(schema.users)).map((u) => u.name));
  const removed: { name: string; user: string; server: string; why: PruneReason }[] = [];
  let waiting = 0;
  for (const l of listed) {
    const owned = isOwned(l);
    const why = pruneReason(l, owned, users.has(l.user), rules);
    if (!why) { if (!owned) waiting++; continue; }
    if (await removeUnowned(ctx, l, { action: 'prune.container', why })) removed.push({ name: listedName(l), user: l.user, server: l.serverName, why });
  }
  const volumes = await pruneVolumes(ctx, rules.now);
  return { containers: { removed, waiting }, probes, volumes };
}
