// Scheduled spawns (worker.schedules): a cron entry starts the servers of listed users before a class,
// and optionally stops them after it. Each run goes through forUsers — the REST API's own verbs — so
// the spawns wait in the same queue and obey the same limits; a user who does not exist (yet) is
// reported in the run's result, never created.
import type { AppContext } from '../../context.ts';
import type { Config } from '../../config/schema.ts';
import { recordAudit } from '../../services/audit/record.ts';
import { findUsers, forUsers, type ForUsersAction } from '../../services/servers/for-users.ts';
import type { JobSpec } from './index.ts';

type Schedule = Config['worker']['schedules'][number];

export function scheduleJobSpecs(ctx: AppContext): JobSpec[] {
  return ctx.config.worker.schedules.flatMap((s) => [
    spec(ctx, s, 'start', s.start),
    ...(s.stop ? [spec(ctx, s, 'stop', s.stop)] : []),
  ]);
}

function spec(ctx: AppContext, s: Schedule, action: ForUsersAction, pattern: string): JobSpec {
  return { name: `schedule:${s.name}:${action}`, cron: { pattern, timezone: s.timezone }, run: () => runSchedule(ctx, s, action) };
}

export async function runSchedule(ctx: AppContext, s: Schedule, action: ForUsersAction): Promise<Record<string, unknown>> {
  const { found, missing } = await findUsers(ctx, s.users);
  const results = await forUsers({ ctx, input: { action, users: found, serverName: s.server } });
  const done: Record<string, string[]> = {};
  const errors = missing.map((user) => ({ user, error: 'no such user' }));
  for (const r of results) {
    if (r.outcome === 'refused' || r.outcome === 'error') { errors.push({ user: r.user, error: r.message ?? r.outcome }); continue; }
    (done[r.outcome] ??= []).push(r.user);
    if (r.outcome === 'already running' || r.outcome === 'already pending' || r.outcome === 'not running') continue;
    await recordAudit(ctx, { actor: `worker:${ctx.instanceId}`, action: `server.schedule-${action}`, target: r.user, detail: { schedule: s.name, server: s.server, outcome: r.outcome } });
  }
  ctx.log.info(`worker: schedule ${s.name}: ${action}`, { ...Object.fromEntries(Object.entries(done).map(([k, v]) => [k, v.length])), errors: errors.length });
  return { action, ...done, errors };
}
