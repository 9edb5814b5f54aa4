// Home volumes of deleted users (worker.prune.deleted_user_volumes). A user's files are deleted only
// by this explicit admin choice (design §9), and only after a dry run: each such volume is first
// reported — listed in the job's result (GET /hub/api/worker) and the log, its first sighting kept in
// worker_marks — and, in 'remove' mode, removed once it has been reported for `volume_grace`. A volume
// whose user exists is never removed (checked again just before the removal), and its mark dropped:
// if the user is deleted again, the wait starts again.
import { eq, like } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import type { Backend, ListedVolume } from '../../backends/types.ts';
import { schema } from '../../../db/client.ts';
import { recordAudit } from '../../services/audit/record.ts';

const MARK = 'volume:';

export interface ReportedVolume {
  name: string;
  user: string;
  firstReportedAt: string;
  /** When 'remove' mode removes it (ISO time); absent in 'report' mode. */
  removableAt?: string;
}

export async function pruneVolumes(ctx: AppContext, now: number): Promise<Record<string, unknown>> {
  const mode = ctx.config.worker.prune.deleted_user_volumes;
  // Every backend in use that keeps home volumes (docker, swarm; system-user's homes are the host's):
  // after a change of kind the old kind's volumes are still looked after. Kinds on one engine list the same volumes.
  const keepers = ctx.backends.all().filter((b) => b.listVolumes && b.removeVolume);
  if (mode === 'keep' || keepers.length === 0) return { mode };
  const graceMs = ctx.config.worker.prune.volume_grace * 1000;
  const m = schema.workerMarks;
  const owner = new Map<string, Backend>();
  const volumes: ListedVolume[] = [];
  for (const b of keepers) {
    for (const v of await b.listVolumes!()) if (!owner.has(v.name)) { owner.set(v.name, b); volumes.push(v); }
  }
  const users = new Set((await ctx.db.select({ name: schema.users.name }).from(schema.users)).map((u) => u.name));
  const marks = new Map((await ctx.db.select().from(m).where(like(m.key, `${MARK}%`))).map((r) => [r.key, r]));
  const reported: ReportedVolume[] = [];
  const removed: string[] = [];
  const seen = new Set<string>();
  for (const v of volumes) {
    const key = MARK + v.name;
    seen.add(key);
    if (!v.user || users.has(v.user)) continue; // (no owner label: not a home volume this Berth made)
    let firstSeenAt = marks.get(key)?.firstSeenAt;
    if (firstSeenAt === undefined) {
      firstSeenAt = now;
      await ctx.db.insert(m).values({ key, firstSeenAt, detail: { user: v.user } }).onConflictDoNothing();
    }
    const removableAt = firstSeenAt + graceMs;
    if (mode === 'remove' && now >= removableAt && firstSeenAt < now && (await removeVolume(ctx, owner.get(v.name)!, v.name, v.user, firstSeenAt))) {
      removed.push(v.name);
      continue;
    }
    reported.push({ name: v.name, user: v.user, firstReportedAt: iso(firstSeenAt), ...(mode === 'remove' ? { removableAt: iso(removableAt) } : {}) });
  }
  // Marks of volumes gone or whose user exists (again): the wait starts afresh should they qualify later.
  for (const key of marks.keys()) {
    const user = marks.get(key)!.detail?.user;
    if (!seen.has(key) || (typeof user === 'string' && users.has(user))) await ctx.db.delete(m).where(eq(m.key, key));
  }
  if (reported.length) ctx.log.info('prune: home volumes of deleted users', { mode, volumes: reported.map((r) => r.name) });
  return { mode, reported, removed };
}

/** Removes one volume after checking once more that its user does not exist; false when kept. */
async function removeVolume(ctx: AppContext, backend: Backend, name: string, user: string, firstSeenAt: number): Promise<boolean> {
  const exists = await ctx.db.select({ id: schema.users.id }).from(schema.users).where(eq(schema.users.name, user));
  if (exists.length) return false;
  try {
    await backend.removeVolume!(name);
  } catch (err) {
    // e.g. still in use by a container: the engine refuses, and the next run tries again
    ctx.log.warn('prune: could not remove a deleted user\'s home volume', { volume: name, user, error: String(err) });
    return false;
  }
  await ctx.db.delete(schema.workerMarks).where(eq(schema.workerMarks.key, MARK + name));
  ctx.log.warn('prune: removed the home volume of a deleted user', { volume: name, user, reportedSince: iso(firstSeenAt) });
  await recordAudit(ctx, { actor: `worker:${ctx.instanceId}`, action: 'prune.volume', target: name, detail: { user, firstReportedAt: iso(firstSeenAt) } });
  return true;
}

const iso = (ms: number) => new Date(ms).toISOString();
