// The spawn runner (design §3): takes 'queued' servers in request order, at most
// hub.concurrent_spawn_limit at once, and drives each through credentials → backend.start (outside
// any transaction, progress written as events) → ready check → running, or failed / cancelled.
// State lives in the database, so a crash loses nothing: reconcile picks up what was in flight.
import { authStateEnv, authStateForSpawn } from '../services/logins/auth-state-for-spawn.ts';
import { asc, eq } from 'drizzle-orm';
import type { AppContext } from '../context.ts';
import { schema } from '../../db/client.ts';
import type { ServerRow } from '../../db/schema/index.ts';
import type { BackendRef } from '../backends/types.ts';
import { SpawnError } from '../errors.ts';
import { serverPrefix } from '../names.ts';
import { addEvent, casServer, IN_FLIGHT, notify, transition } from '../state/server.ts';
import { issueServerCredentials } from './credentials.ts';
import { buildServerSpec } from './spec.ts';
import { spawnOverridesNow } from './options.ts';
import { systemUserSpawnSpec } from './system-user.ts';
import { failSpawn, resumeSpawn, settleSpawn } from './settle.ts';
import { watchForStop } from './watch-stop.ts';

export interface RunnerOptions {
  /** How often to look for work queued by other processes; 0 = only on 'spawn-requested' (tests). Default 1000 ms. */
  pollMs?: number;
}

interface Flight {
  controller: AbortController;
  /** Set by close(): the spawn is left as it is for reconcile at the next start. */
  abandoned: boolean;
  timedOut: boolean;
  lastProgress: number;
  writes: Promise<void>;
  done: Promise<void>;
}

export class SpawnRunner {
  private readonly flights = new Map<number, Flight>();
  private readonly pollMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private closed = false;
  private pumping = false;
  private pumpAgain = false;
  private readonly onRequested = () => void this.pump();

  constructor(private readonly ctx: AppContext, opts: RunnerOptions = {}) {
    this.pollMs = opts.pollMs ?? 1000;
  }

  /** Spawns in flight in this process. */
  get active(): number {
    return this.flights.size;
  }

  start(): void {
    if (this.running || this.closed) return;
    this.running = true;
    this.ctx.events.on('spawn-requested', this.onRequested);
    if (this.pollMs > 0) {
      this.timer = setInterval(() => void this.pump(), this.pollMs);
      this.timer.unref();
    }
    void this.pump();
  }

  /**
   * Stops taking work. In-flight spawns are aborted and left for reconcile at the next start (which
   * fails them as interrupted); a backend may remove a container it created but had not started yet.
   * A server that is already running is never stopped by a Berth shutdown.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.ctx.events.off('spawn-requested', this.onRequested);
    clearInterval(this.timer);
    for (const f of this.flights.values()) { f.abandoned = true; f.controller.abort(new SpawnError('cancelled', 'Berth is shutting down')); }
    await Promise.allSettled([...this.flights.values()].map((f) => f.done));
  }

  private async pump(): Promise<void> {
    if (!this.running || this.closed) return;
    if (this.pumping) { this.pumpAgain = true; return; }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        const free = this.ctx.config.hub.concurrent_spawn_limit - this.flights.size;
        if (free <= 0) break;
        const s = schema.servers;
        const rows = await this.ctx.db.select().from(s).where(eq(s.state, 'queued')).orderBy(asc(s.requestedAt), asc(s.id)).limit(free);
        for (const row of rows) {
          if (this.closed) return;
          const taken = await transition(this.ctx, { serverId: row.id, from: ['queued'], spawnSeq: row.spawnSeq, set: { state: 'spawning', owner: this.ctx.instanceId } });
          if (taken) this.launch(taken);
          else this.pumpAgain = true; // cancelled or taken elsewhere: the slot is still free
        }
      } while (this.pumpAgain && !this.closed);
    } catch (err) {
      this.ctx.log.error('spawn runner could not read the queue', { error: String(err) });
    } finally {
      this.pumping = false;
    }
  }

  /**
   * Carries on the ready check of a spawn adopted from a worker that stopped (its server already
   * runs), as a flight of this runner: it counts toward the limit and is abandoned by close().
   */
  resume(row: ServerRow, userName: string): void {
    if (this.closed || this.flights.has(row.id)) return;
    this.track(row, (flight) => resumeSpawn(this.ctx, row, userName, flight.controller, () => flight.abandoned));
  }

  private launch(row: ServerRow): void {
    this.track(row, (flight) => this.run(row, flight));
  }

  private track(row: ServerRow, work: (flight: Flight) => Promise<void>): void {
    const flight: Flight = { controller: new AbortController(), abandoned: false, timedOut: false, lastProgress: 0, writes: Promise.resolve(), done: Promise.resolve() };
    this.flights.set(row.id, flight);
    flight.done = work(flight)
      .catch((err) => this.ctx.log.error('spawn runner error', { serverId: row.id, error: String(err), stack: (err as Error).stack }))
      .finally(() => {
        this.flights.delete(row.id);
        void this.pump();
      });
  }

  /** Progress from the backend: one event row each, monotonic, below 100 (the final event's). */
  private progress(flight: Flight, row: ServerRow, progress: number, message: string): void {
    if (flight.abandoned) return;
    const p = Math.max(flight.lastProgress, Math.min(99, Math.round(progress)));
    flight.lastProgress = p;
    flight.writes = flight.writes
      .then(() => addEvent(this.ctx.db, row.id, row.spawnSeq, { progress: p, message }, this.ctx.clock.now()))
      .then(() => notify(this.ctx, row.id, false))
      .catch((err) => this.ctx.log.warn('could not record spawn progress', { serverId: row.id, error: String(err) }));
  }

  private async run(row: ServerRow, flight: Flight): Promise<void> {
    const { ctx } = this;
    const started = performance.now();
    const unwatch = watchForStop(ctx, row, flight.controller);
    let ref: BackendRef | undefined;
    try {
      const user = (await ctx.db.select().from(schema.users).where(eq(schema.users.id, row.userId)))[0];
      if (!user) throw new SpawnError('cancelled', 'Spawn cancelled: the user was deleted');
      const prefix = serverPrefix(ctx.config.hub.base_url, user.name, row.name);
      const token = await issueServerCredentials(ctx, row, user);
      const envMap = ctx.config.auth.auth_state.environment;
      const authEnv = Object.keys(envMap).length ? authStateEnv(envMap, await authStateForSpawn(ctx, user)) : undefined;
      const overrides = spawnOverridesNow(ctx.config, user, row.userOptions);
      const built = buildServerSpec({ config: ctx.config, hubUrl: ctx.hubUrl, bindIp: ctx.backend.bindIp, user: user.name, server: row.name, token, authEnv, overrides });
      const spec = ctx.backend.kind === 'system-user' ? await systemUserSpawnSpec(ctx, built, user.id) : built;
      // the pull is outside the start timeout: a first pull of a large image is not a failed start
      await ctx.backend.prepare?.(spec, (p, m) => this.progress(flight, row, p, m), flight.controller.signal);
      const startTimer = setTimeout(() => { flight.timedOut = true; flight.controller.abort(); }, ctx.config.spawner.start_timeout * 1000);
      let result;
      try {
        result = await ctx.backend.start(spec, (p, m) => this.progress(flight, row, p, m), flight.controller.signal);
      } catch (err) {
        if (flight.timedOut && !flight.abandoned) throw new SpawnError('timeout', `Server didn't start within ${ctx.config.spawner.start_timeout} seconds`, { cause: err });
        throw err;
      } finally {
        clearTimeout(startTimer);
      }
      ref = result.ref;
      // Persisted before the ready check, so a crash mid-wait leaves a ref reconcile can adopt or stop.
      await casServer(ctx.db, row.id, IN_FLIGHT, { backendRef: result.ref, url: result.url, image: spec.image, configHash: spec.configHash }, row.spawnSeq);
      if (flight.controller.signal.aborted) throw new SpawnError('cancelled', 'Spawn cancelled');
      await flight.writes;
      await settleSpawn(ctx, { row, prefix, ref: result.ref, url: result.url, lastProgress: flight.lastProgress, signal: flight.controller.signal });
      ctx.log.info('server ready', { user: user.name, server: row.name, ms: Math.round(performance.now() - started) });
    } catch (err) {
      if (flight.abandoned) return; // shutting down: reconcile decides at the next start
      await flight.writes;
      await failSpawn(ctx, row, ref, err);
    } finally {
      unwatch();
    }
  }
}
