// Starts or stops one server of each listed user through the same verbs as the REST API (requestSpawn,
// requestStop): what webhook calls and scheduled spawns do. Never waits for a spawn or a stop: a
// burst of starts waits in the spawn queue (hub.concurrent_spawn_limit at a time). Each user gets an
// outcome; a refusal for one user (already running, pending stop) does not stop the others.
import { inArray } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import type { UserRow } from '../../../db/schema/index.ts';
import { ServiceError } from '../../errors.ts';
import { findUserServer, isStoppedLike } from '../../state/server.ts';
import { requestSpawn } from './request-spawn.ts';
import { requestStop } from './request-stop.ts';

export type ForUsersAction = 'start' | 'stop';

export type Outcome =
  | 'queued' | 'already pending' | 'already running' | 'stopping' // start
  | 'stopped' | 'cancelled' | 'not running' // stop ('stopping' too)
  | 'refused' | 'error';

export interface UserResult { user: string; outcome: Outcome; message?: string }

export interface ForUsersInput {
  action: ForUsersAction;
  users: UserRow[];
  serverName: string;
  userOptions?: Record<string, unknown> | undefined;
}

/** The users of these names, in the order given (duplicates once), and the names not found (nothing is created). */
export async function findUsers(ctx: AppContext, names: readonly string[]): Promise<{ found: UserRow[]; missing: string[] }> {
  const unique = [...new Set(names)];
  const rows = unique.length ? await ctx.db.select().from(schema.users).where(inArray(schema.users.name, unique)) : [];
  const byName = new Map(rows.map((r) => [r.name, r]));
  return { found: unique.flatMap((n) => byName.get(n) ?? []), missing: unique.filter((n) => !byName.has(n)) };
}

export async function forUsers({ ctx, input }: { ctx: AppContext; input: ForUsersInput }): Promise<UserResult[]> {
  const results: UserResult[] = [];
  // One at a time: each is a few short writes, and request order is queue order.
  for (const user of input.users) {
    try {
      results.push({ user: user.name, outcome: input.action === 'start' ? await start(ctx, user, input) : await stop(ctx, user, input.serverName) });
    } catch (err) {
      if (err instanceof ServiceError) {
        results.push({ user: user.name, ...(input.action === 'start' ? await startRefusal(ctx, user, input.serverName, err) : { outcome: 'refused', message: err.message }) });
      } else {
        // Carry on with the others: the call was accepted, and what it did must be reported whole.
        ctx.log.error('start/stop failed for a user', { user: user.name, action: input.action, error: String(err) });
        results.push({ user: user.name, outcome: 'error', message: 'Internal error (see the log)' });
      }
    }
  }
  return results;
}

async function start(ctx: AppContext, user: UserRow, input: ForUsersInput): Promise<Outcome> {
  const { alreadyPending } = await requestSpawn({ ctx, input: { user, serverName: input.serverName, userOptions: input.userOptions } });
  return alreadyPending ? 'already pending' : 'queued';
}

async function stop(ctx: AppContext, user: UserRow, serverName: string): Promise<Outcome> {
  const before = await findUserServer(ctx.db, user.id, serverName);
  if (!before || isStoppedLike(before.state)) return 'not running';
  await requestStop({ ctx, input: { user, serverName, wait: false } });
  if (before.state === 'queued') return 'cancelled';
  const after = await findUserServer(ctx.db, user.id, serverName);
  return !after || isStoppedLike(after.state) ? 'stopped' : 'stopping';
}

/** requestSpawn refused this user: named by the row's state where that explains it (not by the error's text). */
async function startRefusal(ctx: AppContext, user: UserRow, serverName: string, err: ServiceError): Promise<Omit<UserResult, 'user'>> {
  const row = await findUserServer(ctx.db, user.id, serverName);
  if (row?.state === 'running') return { outcome: 'already running' };
  if (row?.state === 'stopping') return { outcome: 'stopping' };
  return { outcome: 'refused', message: err.message };
}
