// Dependencies passed into handlers and services (never imported as globals), so tests build the
// app with a fake backend, a temporary database and a fixed clock.
import type { Config } from './config/schema.ts';
import type { Db } from '../db/client.ts';
import type { Backend } from './backends/types.ts';
import type { BackendRegistry } from './backends/registry.ts';
import type { Clock } from './clock.ts';
import type { Logger } from './log.ts';
import type { EventEmitter } from 'node:events';

export interface AppContext {
  /** Current config; replaced on reload, so read it per request, never cache a copy. */
  config: Config;
  db: Db;
  /** The backend new servers start on (config.backend at start; changing the kind needs a restart). */
  backend: Backend;
  /** Every backend by kind: a row's server is stopped, polled and reconciled by `backends.for(row.backend)`. */
  backends: BackendRegistry;
  clock: Clock;
  log: Logger;
  /**
   * In-process notifications (same-process fast path only; every fact is also in the DB, so another
   * process polling the DB sees the same thing a moment later). Events:
   *   'server-changed' (serverId: number) — state or progress of a server changed
   *   'routes-changed' () — the route table version moved
   *   'spawn-requested' () — a queued spawn is waiting for the runner
   * Across processes the api wakes the worker through its wake URL (src/services/worker/wake.ts).
   */
  events: EventEmitter;
  /** Where containers reach the hub (from backend.init). */
  hubUrl: string;
  /** This process, as the worker lease and spawn ownership name it (src/instance.ts). */
  instanceId: string;
}
