// The idle culler as a worker job: what jupyterhub-idle-culler 2.0 does (spec D.1), through the same
// service verbs the REST API uses instead of HTTP calls to it. Per run: every active server of every
// user is looked at (pending ones and not-ready ones are left alone); one idle `timeout` seconds, or
// running longer than `max_age`, is stopped (a named one removed too with remove_named_servers).
// With `users`, a user left with no active server and idle `timeout` seconds is deleted (admins only
// with admin_users); deleting a user never deletes its home volume. At most `concurrency` servers or
// users are handled at once. Each cull leaves a log line and an audit row.
//
// busy_kernels: before stopping a server for inactivity (not for max_age, which applies "even when
// active"), the server's own /api/kernels is asked. A busy kernel counts as activity now: it is
// recorded, so the server's clock restarts and the user gets a whole `timeout` after the work ends
// to come back for its results, and API clients see the same last_activity Berth acted on. When
// the server cannot be asked, it is spared until idle twice the timeout; then the activity rule
// decides alone (the log says so each time).
import { inArray } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import type { ServerRow, UserRow } from '../../../db/schema/index.ts';
import { ServiceError } from '../../errors.ts';
import { serverLabel } from '../../names.ts';
import { ACTIVE, findServerRow, isActive, isPending, isReady } from '../../state/server.ts';
import { recordActivity } from '../../services/activity/record.ts';
import { recordAudit } from '../../services/audit/record.ts';
import { kernelsBusy } from '../../services/servers/kernels-busy.ts';
import { requestStop } from '../../services/servers/request-stop.ts';
import { deleteUser } from '../../services/users/delete.ts';
import type { JobResult } from './index.ts';

/** Names kept in a run's result (counts are always whole). */
const MAX_NAMES = 50;

type Reason = 'inactive' | 'max_age';

interface Tally {
  culledServers: string[];
  culledUsers: string[];
  busy: string[];
  /** Servers spared because their kernels could not be asked (not yet idle twice the timeout). */
  unanswered: string[];
  pending: number;
  notReady: number;
  slow: string[];
  errors: string[];
}

export async function cullIdle(ctx: AppContext): Promise<JobResult> {
  const active = await ctx.db.select().from(schema.servers).where(inArray(schema.servers.state, [...ACTIVE]));
  const byUser = new Map<number, ServerRow[]>();
  for (const row of active) byUser.set(row.userId, [...(byUser.get(row.userId) ?? []), row]);
  // Users without an active server matter only when users are culled (the culler's state=inactive).
  const u = schema.users;
  const users = ctx.config.worker.cull.users ? await ctx.db.select().from(u)
    : byUser.size ? await ctx.db.select().from(u).where(inArray(u.id, [...byUser.keys()])) : [];
  const tally: Tally = { culledServers: [], culledUsers: [], busy: [], unanswered: [], pending: 0, notReady: 0, slow: [], errors: [] };
  const slot = limiter(ctx.config.worker.cull.concurrency);
  await Promise.all(users.map((user) => cullUser(ctx, user, byUser.get(user.id) ?? [], slot, tally)));
  const names = (list: string[]) => list.slice(0, MAX_NAMES);
  return {
    culled_servers: tally.culledServers.length, culled_users: tally.culledUsers.length, busy: tally.busy.length,
    skipped_pending: tally.pending, skipped_not_ready: tally.notReady, slow_to_stop: tally.slow.length, errors: tally.errors.length,
    servers: names(tally.culledServers), users: names(tally.culledUsers), busy_servers: names(tally.busy),
    ...(tally.slow.length ? { slow_servers: names(tally.slow) } : {}),
    ...(tally.unanswered.length ? { unanswered_servers: names(tally.unanswered) } : {}),
    ...(tally.errors.length ? { error_messages: names(tally.errors) } : {}),
  };
}

/** Like the culler's handle_user: the servers first; the user only if every one of them is stopped. */
async function cullUser(ctx: AppContext, user: UserRow, rows: ServerRow[], slot: Limiter, tally: Tally): Promise<void> {
  const stopped = await Promise.all(rows.map((row) => slot(() => cullServer(ctx, user, row, tally))));
  const c = ctx.config.worker.cull;
  if (!c.users || stopped.some((s) => !s)) return;
  if (user.admin && !c.admin_users) return;
  await slot(async () => {
    const fresh = (await ctx.db.select().from(schema.users).where(inArray(schema.users.id, [user.id])))[0];
    if (!fresh) return; // deleted meanwhile
    const now = ctx.clock.now();
    const age = (now - fresh.createdAt) / 1000;
    const inactive = fresh.lastActivityUs != null ? (now - fresh.lastActivityUs / 1000) / 1000 : age;
    const reason: Reason | undefined = inactive >= c.timeout ? 'inactive' : c.max_age > 0 && age >= c.max_age ? 'max_age' : undefined;
    if (!reason) return;
    const actor = `worker:${ctx.instanceId}`;
    const detail = { reason, inactive_seconds: Math.round(inactive), age_seconds: Math.round(age) };
    try {
      await deleteUser({ ctx, input: { user: fresh, actor } });
    } catch (err) {
      // e.g. a spawn requested since the servers were looked at: the user is active again
      tally.errors.push(`${user.name}: ${errorText(err)}`);
      ctx.log.warn('cull: user not deleted', { user: user.name, error: errorText(err) });
      return;
    }
    tally.culledUsers.push(user.name);
    ctx.log.info('cull: user deleted (home volume kept)', { user: user.name, ...detail });
    await recordAudit(ctx, { actor, action: 'user.cull', target: user.name, detail });
  });
}

/** Like the culler's handle_server; true when the server is stopped (culled now and the stop finished). */
async function cullServer(ctx: AppContext, user: UserRow, listed: ServerRow, tally: Tally): Promise<boolean> {
  const c = ctx.config.worker.cull;
  const label = serverLabel(user.name, listed.name);
  // Read again: a run may wait for a slot, and activity or a stop may have come in meanwhile.
  const row = await findServerRow(ctx.db, listed.id);
  if (!row || !isActive(row.state)) return true;
  if (isPending(row.state)) {
    tally.pending++;
    ctx.log.debug('cull: not culling a pending server', { server: label, state: row.state });
    return false;
  }
  if (!isReady(row.state) || !row.url) {
    tally.notReady++;
    ctx.log.debug('cull: not culling a server that is not ready', { server: label, state: row.state });
    return false;
  }
  if (row.name ? !c.named_servers : !c.default_servers) return false;

  const now = ctx.clock.now();
  const started = row.startedAt ?? row.readyAt ?? row.requestedAt;
  const age = started != null ? (now - started) / 1000 : undefined;
  // last_activity, else `started`, as the culler does (a server that never reported any).
  const inactive = row.lastActivityUs != null ? (now - row.lastActivityUs / 1000) / 1000 : age;
  let reason: Reason | undefined;
  if (inactive != null && inactive >= c.timeout) reason = 'inactive';
  else if (c.max_age > 0 && age != null && age >= c.max_age) reason = 'max_age';
  if (!reason) return false;

  if (reason === 'inactive' && c.busy_kernels) {
    const check = await kernelsBusy(ctx, user, row);
    if (check.ok && check.busy) {
      await recordActivity({ ctx, input: { userId: user.id, serverId: row.id, atUs: ctx.clock.now() * 1000 } });
      tally.busy.push(label);
      ctx.log.info('cull: a kernel is busy, counted as activity', { server: label, inactive_seconds: Math.round(inactive!) });
      return false;
    }
    if (check.ok) ctx.log.info('cull: no kernel is busy', { server: label, kernels: check.kernels });
    else {
      // A check that fails once (a slow moment, a hiccup) must not end hours of computation: the
      // server gets one more `timeout`; one still unanswered by then is culled by the activity rule.
      if (inactive! < 2 * c.timeout) {
        tally.unanswered.push(label);
        ctx.log.warn('cull: could not ask the server for its kernels; it is spared until idle twice the timeout', { server: label, error: check.error, inactive_seconds: Math.round(inactive!) });
        return false;
      }
      ctx.log.warn('cull: could not ask the server for its kernels again; the activity rule decides', { server: label, error: check.error, inactive_seconds: Math.round(inactive!) });
    }
  }

  const remove = !!row.name && c.remove_named_servers;
  const actor = `worker:${ctx.instanceId}`;
  const detail = { reason, inactive_seconds: inactive != null ? Math.round(inactive) : null, age_seconds: age != null ? Math.round(age) : null, removed: remove };
  ctx.log.info('cull: stopping server', { server: label, ...detail });
  let done: boolean;
  try {
    ({ done } = await requestStop({ ctx, input: { user, serverName: row.name, remove } }));
  } catch (err) {
    tally.errors.push(`${label}: ${errorText(err)}`);
    ctx.log.warn('cull: stop failed', { server: label, error: errorText(err) });
    return false;
  }
  tally.culledServers.push(label);
  await recordAudit(ctx, { actor, action: 'server.cull', target: label, detail: { ...detail, done } });
  // Like a 202 to the culler: not stopped yet, so the user is not culled in this run.
  if (!done) {
    tally.slow.push(label);
    ctx.log.warn('cull: server is slow to stop', { server: label });
  }
  return done;
}

type Limiter = <T>(fn: () => Promise<T>) => Promise<T>;

/** At most `n` calls of `fn` at once (the culler's --concurrency); the rest wait in order. */
function limiter(n: number): Limiter {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    if (running >= n) await new Promise<void>((r) => waiting.push(r));
    else running++;
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next(); // the slot passes on directly
      else running--;
    }
  };
}

const errorText = (err: unknown) => (err instanceof ServiceError ? err.message : String(err));
