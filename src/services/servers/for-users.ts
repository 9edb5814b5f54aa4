// Starts or stops one server of each listed user through the same verbs as the REST API (requestSpawn,
// requestStop): what scheduled spawns and webhook calls do. Never waits for a spawn (a burst waits in
// the spawn queue); each user gets an outcome, so one refusal does not hide the others.
import { inArray } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import type { UserRow } from '../../../db/schema/index.ts';
import { ServiceError } from '../../errors.ts';
import { findUserServer, isPendingSpawn, isReady } from '../../state/server.ts';
import { requestSpawn } from './request-spawn.ts';
import { requestStop } from './request-stop.ts';

export type ForUsersAction = 'start' | 'stop';

export interface UserOutcome {
  user: string;
  outcome: 'queued' | 'already pending' | 'already running' | 'stopped' | 'stopping' | 'not running' | 'no such user' | 'refused';
  message?: string;
}

/** Stops at once, as the culler's concurrency (a stop waits up to hub.slow_stop_timeout). */
const STOP_CONCURRENCY = 10;

/** The users of these names; the names not found are returned apart (nothing is created). */
export async function findUsers(ctx: AppContext, names: readonly string[]): Promise<{ found: UserRow[]; missing: string[] }> {
  const rows = names.length ? await ctx.db.select().from(schema.users).where(inArray(schema.users.name, [...new Set(names)])) : [];
  const byName = new Map(rows.map((r) => [r.name, r]));
  return { found: names.flatMap((n) => byName.get(n) ?? []), missing: names.filter((n) => !byName.has(n)) };
}

export async function forUsers(ctx: AppContext, input: {
  action: ForUsersAction;
  users: readonly string[];
  serverName?: string | undefined;
  userOptions?: Record<string, unknown> | undefined;
}): Promise<UserOutcome[]> {
  const serverName = input.serverName ?? '';
  const { found, missing } = await findUsers(ctx, input.users);
  const act = input.action === 'start' ? (u: UserRow) => start(ctx, u, serverName, input.userOptions) : (u: UserRow) => stop(ctx, u, serverName);
  const outcomes: UserOutcome[] = missing.map((user) => ({ user, outcome: 'no such user' }));
  for (let i = 0; i < found.length; i += STOP_CONCURRENCY) {
    outcomes.push(...(await Promise.all(found.slice(i, i + STOP_CONCURRENCY).map((u) => act(u).catch((err: unknown) => refused(u, err))))));
  }
  return outcomes;
}

async function start(ctx: AppContext, user: UserRow, serverName: string, userOptions: Record<string, unknown> | undefined): Promise<UserOutcome> {
  const row = await findUserServer(ctx.db, user.id, serverName);
  if (row && isReady(row.state)) return { user: user.name, outcome: 'already running' };
  const { alreadyPending } = await requestSpawn({ ctx, input: { user, serverName, userOptions } });
  return { user: user.name, outcome: alreadyPending ? 'already pending' : 'queued' };
}

async function stop(ctx: AppContext, user: UserRow, serverName: string): Promise<UserOutcome> {
  const row = await findUserServer(ctx.db, user.id, serverName);
  if (!row || !(isReady(row.state) || isPendingSpawn(row.state) || row.state === 'stopping')) return { user: user.name, outcome: 'not running' };
  const { done } = await requestStop({ ctx, input: { user, serverName } });
  return { user: user.name, outcome: done ? 'stopped' : 'stopping' };
}

function refused(user: UserRow, err: unknown): UserOutcome {
  if (err instanceof ServiceError) return { user: user.name, outcome: 'refused', message: err.message };
  throw err;
}
