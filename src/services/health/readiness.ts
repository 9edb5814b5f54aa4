// GET /hub/health/ready's verdict: the database answers, and no start-up proof has failed (a proof
// that could not be made is reported, not failed). The worker lease is reported for the admin.
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import { currentLease, WORKER_LEASE } from '../../state/lease.ts';
import { isoZ } from '../../clock.ts';

export interface Readiness {
  ready: boolean;
  /** One line per failed proof; empty when ready. */
  problems: string[];
  checks: Record<string, { ok: boolean | null; message: string; checked_at: string | null }>;
  worker: { holder: string; expires_at: string | null } | null;
}

export async function readiness(ctx: AppContext): Promise<Readiness> {
  const rows = await ctx.db.select().from(schema.healthChecks);
  const lease = await currentLease(ctx.db, WORKER_LEASE);
  const checks: Readiness['checks'] = {};
  for (const r of rows) checks[r.name] = { ok: r.ok, message: r.message, checked_at: isoZ(r.checkedAt) };
  const problems = rows.filter((r) => r.ok === false).map((r) => r.message);
  const live = lease && lease.expiresAt > ctx.clock.now() ? { holder: lease.holder, expires_at: isoZ(lease.expiresAt) } : null;
  return { ready: problems.length === 0, problems, checks, worker: live };
}
