// The end of a spawn, shared by the runner and by reconcile (a spawn interrupted by a restart):
// the ready check, then spawning → running with the final event; or the failure path (stop what was
// started, delete the credentials, failed with the log tail); or, when a stop arrived, the cancel.
import { and, eq, max } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import { schema } from '../../db/client.ts';
import { serverPrefix } from '../names.ts';
import type { ServerRow } from '../../db/schema/index.ts';
import type { ServerFailure } from '../../db/schema/servers.ts';
import type { BackendRef } from '../backends/types.ts';
import { SpawnError, ServiceError } from '../errors.ts';
import { addEvent, findServerRow, notify, stoppedFields, transition } from '../state/server.ts';
import { watchForStop } from './watch-stop.ts';
import { finishStop } from '../services/servers/finish-stop.ts';
import { waitReady } from './ready.ts';
import { hubUnreachableHint, hubUrlForServers } from '../backends/hub-probe.ts';
import { recordCheck } from '../services/health/record-check.ts';

export const WAITING_MESSAGE = 'Waiting for the server to answer HTTP';

export interface SettleInput {
  /** The row in 'spawning' (its spawnSeq pins every transition to this spawn). */
  row: ServerRow;
  prefix: string;
  ref: BackendRef;
  url: string;
  /** Highest progress reported so far, so events stay monotonic. */
  lastProgress: number;
  signal?: AbortSignal | undefined;
}

/** Waits for HTTP, then marks the server running. Throws when it did not come up or was cancelled. */
export async function settleSpawn(ctx: AppContext, input: SettleInput): Promise<ServerRow> {
  const { row, prefix } = input;
  await addEvent(ctx.db, row.id, row.spawnSeq, { progress: Math.max(input.lastProgress, 90), message: WAITING_MESSAGE }, ctx.clock.now());
  notify(ctx, row.id, false);
  await waitReady({ backend: await ctx.backends.for(row.backend), ref: input.ref, url: input.url, prefix, timeoutMs: ctx.config.spawner.http_timeout * 1000, signal: input.signal });
  const now = ctx.clock.now();
  const ready = await transition(ctx, {
    serverId: row.id, from: ['spawning'], spawnSeq: row.spawnSeq,
    set: { state: 'running', readyAt: now, startedAt: row.startedAt ?? now, lastActivityUs: now * 1000, owner: null },
    event: { progress: 100, ready: true, message: `Server ready at ${prefix}` },
  });
  if (!ready) throw new SpawnError('cancelled', 'Spawn cancelled');
  return ready;
}

export function toFailure(err: unknown): ServerFailure {
  if (err && typeof err === 'object' && !(err instanceof Error) && 'reason' in err && 'message' in err) return err as ServerFailure;
  if (err instanceof SpawnError) return { reason: err.reason, message: err.message, ...(err.logTail ? { logTail: err.logTail } : {}) };
  if (err instanceof ServiceError) return { reason: 'backend', message: err.message };
  return { reason: 'backend', message: err instanceof Error ? err.message : String(err) };
}

async function stopQuietly(ctx: AppContext, row: ServerRow, ref: BackendRef) {
  try { await (await ctx.backends.for(row.backend)).stop(ref); } catch (err) { ctx.log.error('backend stop after a failed spawn failed', { ref, error: String(err) }); }
}

/**
 * A server that died because it could not reach the hub says so in its log: the failure then says
 * that, with the fix, and the readiness check records the proof (a real container failed to reach it).
 */
async function explainFailure(ctx: AppContext, failure: ServerFailure): Promise<ServerFailure> {
  const hint = failure.logTail ? hubUnreachableHint(failure.logTail, hubUrlForServers(ctx.hubUrl, ctx.config.hub.base_url)) : undefined;
  if (!hint) return failure;
  await recordCheck(ctx, 'hub-from-container', { ok: false, message: hint }).catch(() => {});
  return { ...failure, message: `${hint} (${failure.message})` };
}

/** After an error: cancel when a stop was requested, otherwise fail the spawn. `ref` is what start() returned, if anything. */
export async function failSpawn(ctx: AppContext, row: ServerRow, ref: BackendRef | undefined, err: unknown /* or a ServerFailure */): Promise<void> {
  const current = await findServerRow(ctx.db, row.id);
  if (!current || current.spawnSeq !== row.spawnSeq) {
    if (ref) await stopQuietly(ctx, row, ref); // the row is gone (user deleted) or a newer spawn owns it
    return;
  }
  if (current.state === 'stopping') {
    await finishStop(ctx, { ...current, backendRef: ref ?? current.backendRef }, { cancelled: true });
    return;
  }
  if (current.state !== 'spawning') return;
  const failure = await explainFailure(ctx, toFailure(err));
  ctx.log.warn('spawn failed', { serverId: row.id, reason: failure.reason, message: failure.message, logTail: failure.logTail });
  if (ref) await stopQuietly(ctx, row, ref);
  const failed = await transition(ctx, {
    serverId: row.id, from: ['spawning'], spawnSeq: row.spawnSeq,
    set: { ...stoppedFields(ctx.clock.now()), state: 'failed', failure },
    revoke: true,
    event: { progress: 100, failed: true, message: `Spawn failed: ${failure.message}` },
  });
  if (!failed) {
    const again = await findServerRow(ctx.db, row.id);
    if (again?.state === 'stopping' && again.spawnSeq === row.spawnSeq) await finishStop(ctx, { ...again, backendRef: null }, { cancelled: true });
  }
}

/**
 * A spawn whose server was started by a worker that stopped: its ready check runs again (from the
 * progress already reached), then running — or failed, unless `abandoned()` says to leave it as it is.
 */
export async function resumeSpawn(ctx: AppContext, row: ServerRow, user: string, controller = new AbortController(), abandoned = () => false): Promise<void> {
  const unwatch = watchForStop(ctx, row, controller);
  try {
    const [last] = await ctx.db.select({ p: max(schema.serverEvents.progress) }).from(schema.serverEvents)
      .where(and(eq(schema.serverEvents.serverId, row.id), eq(schema.serverEvents.spawnSeq, row.spawnSeq)));
    const prefix = serverPrefix(ctx.config.hub.base_url, user, row.name);
    await settleSpawn(ctx, { row, prefix, ref: row.backendRef!, url: row.url!, lastProgress: last?.p ?? 0, signal: controller.signal });
  } catch (err) {
    if (abandoned()) return;
    await failSpawn(ctx, row, row.backendRef ?? undefined, err).catch((e) => ctx.log.error('could not fail an adopted spawn', { serverId: row.id, error: String(e) }));
  } finally {
    unwatch();
  }
}
