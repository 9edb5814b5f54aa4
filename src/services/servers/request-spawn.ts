// Records a spawn request (spec E.1, design §3 "Spawns are events"): the server row goes to 'queued'
// with a new spawn_seq and its first progress event; the SpawnRunner does the work.
import { and, count, eq, ne } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import { schema } from '../../../db/client.ts';
import type { ServerRow, UserRow } from '../../../db/schema/index.ts';
import { invalid } from '../../errors.ts';
import { checkServerName } from './named.ts';
import { resolveSpawnOptions } from '../../spawn/options.ts';
import { serverLabel } from '../../names.ts';
import { findServerRow, findUserServer, isPendingSpawn, isReady, STOPPED_LIKE, stoppedFields, transition } from '../../state/server.ts';
import { wakeWorker } from '../worker/wake.ts';

export interface RequestSpawnInput {
  user: UserRow;
  serverName: string;
  /** A JSON body becomes user_options; undefined (empty body) reuses the previous ones. */
  userOptions?: Record<string, unknown> | undefined;
}

export async function requestSpawn({ ctx, input }: { ctx: AppContext; input: RequestSpawnInput }): Promise<{ server: ServerRow; alreadyPending: boolean }> {
  const { user, serverName } = input;
  checkServerName(ctx.config, serverName);
  // refused before anything is queued (400 unknown / 403 not offered); the runner checks again
  const chooser = { name: user.name, groups: user.groupNames, admin: user.admin };
  if (input.userOptions !== undefined) resolveSpawnOptions(ctx.config, chooser, input.userOptions);
  const label = serverLabel(user.name, serverName);
  const s = schema.servers;
  let row = await findUserServer(ctx.db, user.id, serverName);
  if (!row) {
    const limit = ctx.config.hub.named_server_limit_per_user;
    if (serverName && limit > 0) {
      const [named] = await ctx.db.select({ n: count() }).from(s).where(and(eq(s.userId, user.id), ne(s.name, '')));
      if ((named?.n ?? 0) >= limit) {
        throw invalid(`User ${user.name} already has the maximum of ${limit} named servers.  One must be deleted before a new server can be created`);
      }
    }
    await ctx.db.insert(s).values({ userId: user.id, name: serverName, state: 'stopped', backend: ctx.backend.kind, userOptions: {} }).onConflictDoNothing();
    row = (await findUserServer(ctx.db, user.id, serverName))!;
  }
  if (input.userOptions === undefined) resolveSpawnOptions(ctx.config, chooser, row.userOptions ?? {});
  for (let attempt = 0; attempt < 3; attempt++) {
    if (isPendingSpawn(row.state)) return { server: row, alreadyPending: true };
    if (row.state === 'stopping') throw invalid(`${label} is pending stop`);
    if (isReady(row.state)) {
      // JupyterHub polls before refusing: a server that died unnoticed is cleaned up and spawned again.
      const alive = row.backendRef ? (await (await ctx.backends.for(row.backend)).poll(row.backendRef)).status === 'running' : false;
      if (alive) throw invalid(`${label} is already running`);
      await transition(ctx, { serverId: row.id, from: ['running'], set: stoppedFields(ctx.clock.now()), revoke: true });
      ctx.log.warn('server found dead at spawn request; marked stopped', { server: label });
    }
    const queued = await enqueue(ctx, row, input.userOptions);
    if (queued) return { server: queued, alreadyPending: false };
    row = (await findServerRow(ctx.db, row.id))!; // lost a race: look again
    if (!row) break;
  }
  throw invalid(`${label} changed state during the request; try again`);
}

async function enqueue(ctx: AppContext, row: ServerRow, userOptions: Record<string, unknown> | undefined): Promise<ServerRow | undefined> {
  const now = ctx.clock.now();
  const queued = await transition(ctx, {
    serverId: row.id, from: STOPPED_LIKE, spawnSeq: row.spawnSeq,
    set: {
      state: 'queued', spawnSeq: row.spawnSeq + 1, requestedAt: now, startedAt: now, readyAt: null, stoppedAt: null,
      lastActivityUs: now * 1000, failure: null, url: null, backendRef: null, owner: null, backend: ctx.backend.kind,
      ...(userOptions !== undefined ? { userOptions } : {}),
    },
    event: { progress: 0, message: 'Server requested' },
  });
  if (queued) wakeWorker(ctx);
  return queued;
}
