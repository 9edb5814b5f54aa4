// The server state machine's one primitive (design §5): compare-and-set `UPDATE … WHERE state IN (…)`
// checked by rows affected, with what must change in the same transaction (progress event, route
// version, credentials) and the in-process notifications sent after commit.
import { and, eq, inArray, isNull } from 'drizzle-orm';
import type { AppContext } from '../../context.ts';
import type { Db } from '../../../db/client.ts';
import { schema } from '../../../db/client.ts';
import type { ServerRow, ServerState } from '../../../db/schema/index.ts';
import { bumpRoutes } from '../routes/version.ts';

/** The database or an open transaction. */
export type Writer = Pick<Db, 'insert' | 'update' | 'delete' | 'select'>;
type ServerSet = Partial<typeof schema.servers.$inferInsert>;

export const PENDING_SPAWN: ServerState[] = ['queued', 'spawning'];
export const PENDING: ServerState[] = ['queued', 'spawning', 'stopping'];

/** How JupyterHub names a server in messages: "alice", or "alice:srv1" for a named one. */
/** What every path to 'stopped' writes: no start time, no address, no backend handle. */
export const stoppedFields = (now: number) => ({ state: 'stopped' as const, startedAt: null, stoppedAt: now, url: null, backendRef: null });

export const serverLabel = (user: string, server: string) => (server ? `${user}:${server}` : user);

export interface ProgressEvent { progress: number; message: string; ready?: boolean; failed?: boolean }

/** CAS on one row; `spawnSeq` pins it to one spawn so a stale actor cannot move a newer spawn. */
export async function casServer(tx: Writer, serverId: number, from: readonly ServerState[], set: ServerSet, spawnSeq?: number): Promise<ServerRow | undefined> {
  const s = schema.servers;
  const where = and(eq(s.id, serverId), inArray(s.state, [...from]), spawnSeq === undefined ? undefined : eq(s.spawnSeq, spawnSeq));
  const rows = await tx.update(s).set(set).where(where).returning();
  return rows[0];
}

export async function addEvent(tx: Writer, serverId: number, spawnSeq: number, e: ProgressEvent, at: number): Promise<void> {
  await tx.insert(schema.serverEvents).values({
    serverId, spawnSeq, progress: Math.max(0, Math.min(100, Math.round(e.progress))), message: e.message,
    ready: e.ready ?? false, failed: e.failed ?? false, createdAt: at,
  });
}

/** Deletes the server token and the OAuth client (its codes and OAuth tokens cascade) — spec F. */
export async function revokeServerCredentials(tx: Writer, serverId: number): Promise<void> {
  await tx.delete(schema.tokens).where(and(eq(schema.tokens.serverId, serverId), eq(schema.tokens.kind, 'server')));
  await tx.delete(schema.oauthClients).where(eq(schema.oauthClients.serverId, serverId));
}

/** Deletes leftovers of a client id that no server owns any more (so a new spawn can take the id). */
export async function releaseClientId(tx: Writer, clientId: string): Promise<void> {
  await tx.delete(schema.oauthClients).where(and(eq(schema.oauthClients.id, clientId), isNull(schema.oauthClients.serverId)));
}

export function notify(ctx: AppContext, serverId: number, routes: boolean): void {
  ctx.events.emit('server-changed', serverId);
  if (routes) ctx.events.emit('routes-changed');
}

export interface TransitionInput {
  serverId: number;
  from: readonly ServerState[];
  set: ServerSet & { state: ServerState };
  spawnSeq?: number | undefined;
  /** Progress event written with the transition (for the row's spawnSeq). */
  event?: ProgressEvent | undefined;
  /** Delete the server token and OAuth client in the same transaction. */
  revoke?: boolean | undefined;
}

/**
 * Runs one transition in a short transaction. Entering or leaving `running` bumps the route version.
 * Returns the updated row, or undefined when the row was not in `from` (someone else moved it).
 */
export async function transition(ctx: AppContext, input: TransitionInput): Promise<ServerRow | undefined> {
  const routes = input.set.state === 'running' || input.from.includes('running');
  const row = await ctx.db.transaction(async (tx) => {
    const updated = await casServer(tx, input.serverId, input.from, input.set, input.spawnSeq);
    if (!updated) return undefined;
    if (input.event) await addEvent(tx, updated.id, updated.spawnSeq, input.event, ctx.clock.now());
    if (input.revoke) await revokeServerCredentials(tx, updated.id);
    if (routes) await bumpRoutes(tx);
    return updated;
  });
  if (row) notify(ctx, row.id, routes);
  return row;
}

export const findServerRow = (db: Writer, serverId: number) =>
  db.select().from(schema.servers).where(eq(schema.servers.id, serverId)).then((r) => r[0]);
