// The server state machine in one place (design §5): the states, the subsets everything else asks
// about, the moves allowed between states, the compare-and-set that makes a move, and the row
// look-ups. Services, the spawn runner, the worker, the API models and the pages read states only
// through this module; no state list is spelled out anywhere else.
import { and, eq, inArray, isNull } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import type { Db } from '../../db/client.ts';
import { schema } from '../../db/client.ts';
import type { ServerRow } from '../../db/schema/index.ts';
import { bumpRoutes } from './routes.ts';

export const SERVER_STATES = ['stopped', 'queued', 'spawning', 'running', 'stopping', 'failed'] as const;
export type ServerState = (typeof SERVER_STATES)[number];

/** Ready: the proxy routes to it (JupyterHub's `ready`). */
export const READY = ['running'] as const satisfies readonly ServerState[];
/** Requested and not yet running: JupyterHub's `pending: "spawn"`. */
export const PENDING_SPAWN = ['queued', 'spawning'] as const satisfies readonly ServerState[];
/** Something is under way: a spawn or a stop. */
export const PENDING = [...PENDING_SPAWN, 'stopping'] as const satisfies readonly ServerState[];
/** JupyterHub's "active": ready or pending (the `servers` map, `state=active`). */
export const ACTIVE = [...PENDING, 'running'] as const satisfies readonly ServerState[];
/** What a stop acts on: active and not already stopping. */
export const STOPPABLE = [...PENDING_SPAWN, 'running'] as const satisfies readonly ServerState[];
/** Over: nothing runs and nothing is under way ('failed' behaves like 'stopped' for the API). */
export const STOPPED_LIKE = ['stopped', 'failed'] as const satisfies readonly ServerState[];
/** A spawn the runner is driving: spawning, or stopping when a stop arrived during it. */
export const IN_FLIGHT = ['spawning', 'stopping'] as const satisfies readonly ServerState[];
/** The backend may hold something for the row: what reconcile compares with the backend. */
export const BACKED = ['spawning', 'running', 'stopping'] as const satisfies readonly ServerState[];

const within = (set: readonly ServerState[]) => (state: ServerState) => set.includes(state);
export const isPendingSpawn = within(PENDING_SPAWN);
export const isPending = within(PENDING);
export const isActive = within(ACTIVE);
export const isStoppedLike = within(STOPPED_LIKE);
export const isReady = within(READY);

export type Pending = 'spawn' | 'stop' | null;

/** JupyterHub's `pending` field. */
export function pendingOf(state: ServerState): Pending {
  if (isPendingSpawn(state)) return 'spawn';
  if (state === 'stopping') return 'stop';
  return null;
}

/** What the pages show; derived from `pendingOf`, so the API and the pages can never disagree. */
export type PageState = 'ready' | 'spawn' | 'stop' | 'failed' | 'stopped';
export function pageState(row: Pick<ServerRow, 'state'> | undefined): PageState {
  if (!row) return 'stopped';
  const pending = pendingOf(row.state);
  if (pending) return pending;
  if (isReady(row.state)) return 'ready';
  return row.state === 'failed' ? 'failed' : 'stopped';
}

/**
 * The moves the machine allows. A row may also be updated without changing state (the runner
 * recording the backend ref, a new worker adopting a spawn).
 */
const MOVES: Record<ServerState, readonly ServerState[]> = {
  stopped: ['queued'],
  failed: ['queued'],
  queued: ['spawning', 'stopped'], // taken by the runner; cancelled before it was
  spawning: ['running', 'failed', 'stopping'],
  running: ['stopping', 'stopped'], // a stop; found dead
  stopping: ['stopped'],
};

export function assertMove(from: readonly ServerState[], to: ServerState): void {
  for (const f of from) {
    if (f !== to && !MOVES[f].includes(to)) throw new Error(`server state machine: no move from '${f}' to '${to}'`);
  }
}

/** The database or an open transaction. */
export type Writer = Pick<Db, 'insert' | 'update' | 'delete' | 'select'>;
export type ServerSet = Partial<typeof schema.servers.$inferInsert>;

/** What every path to 'stopped' writes: no start time, no address, no backend handle, no owner. */
export const stoppedFields = (now: number) => ({ state: 'stopped' as const, startedAt: null, stoppedAt: now, url: null, backendRef: null, owner: null });

export interface ProgressEvent { progress: number; message: string; ready?: boolean; failed?: boolean }

/** CAS on one row; `spawnSeq` pins it to one spawn so a stale actor cannot move a newer spawn. */
export async function casServer(tx: Writer, serverId: number, from: readonly ServerState[], set: ServerSet, spawnSeq?: number): Promise<ServerRow | undefined> {
  if (set.state) assertMove(from, set.state);
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
  const routes = isReady(input.set.state) || input.from.some(isReady);
  const set = { ...input.set, stateSince: ctx.clock.now() };
  const row = await ctx.db.transaction(async (tx) => {
    const updated = await casServer(tx, input.serverId, input.from, set, input.spawnSeq);
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

/** A user's server by name ('' = the default server). */
export const findUserServer = (db: Writer, userId: number, name: string) =>
  db.select().from(schema.servers).where(and(eq(schema.servers.userId, userId), eq(schema.servers.name, name))).then((r) => r[0]);
