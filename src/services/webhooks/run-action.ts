// What a webhook call does once it is verified: start or stop the listed users' servers through the
// same verbs as the REST API (requestSpawn / requestStop), without waiting for any of them. A burst
// of starts simply waits in the spawn queue (hub.concurrent_spawn_limit at a time). Each user gets an
// outcome; a refusal for one user (already running, pending stop) does not stop the others.
import type { AppContext } from '../../context.ts';
import type { UserRow } from '../../../db/schema/index.ts';
import { ServiceError } from '../../errors.ts';
import { requestSpawn } from '../servers/request-spawn.ts';
import { requestStop } from '../servers/request-stop.ts';
import { findUserServer, isStoppedLike } from '../../state/server.ts';

export type WebhookAction = 'start' | 'stop';

export type Outcome =
  | 'queued' | 'already pending' | 'already running' | 'stopping' // start
  | 'stopped' | 'cancelled' | 'not running' // stop ('stopping' too)
  | 'refused' | 'error';

export interface UserResult { user: string; outcome: Outcome; message?: string }

export interface RunActionInput {
  action: WebhookAction;
  users: UserRow[];
  serverName: string;
  userOptions?: Record<string, unknown> | undefined;
}

export async function runWebhookAction({ ctx, input }: { ctx: AppContext; input: RunActionInput }): Promise<UserResult[]> {
  const results: UserResult[] = [];
  // One at a time: each is a few short writes, and request order is queue order.
  for (const user of input.users) {
    try {
      results.push({ user: user.name, outcome: input.action === 'start' ? await start(ctx, user, input) : await stop(ctx, user, input.serverName) });
    } catch (err) {
      if (err instanceof ServiceError) {
        results.push({ user: user.name, ...(input.action === 'start' ? await startRefusal(ctx, user, input.serverName, err) : { outcome: 'refused', message: err.message }) });
      } else {
        // Carry on with the others: the call was accepted, and its audit row must say what happened.
        ctx.log.error('webhook: action failed for a user', { user: user.name, action: input.action, error: String(err) });
        results.push({ user: user.name, outcome: 'error', message: 'Internal error (see the log)' });
      }
    }
  }
  return results;
}

async function start(ctx: AppContext, user: UserRow, input: RunActionInput): Promise<Outcome> {
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
