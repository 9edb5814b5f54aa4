// The backends of one process, by kind. New servers start on the kind config.backend names; a row
// is stopped, polled and reconciled by the kind recorded on it (servers.backend), so servers started
// before the backend was changed keep being looked after by the backend that made them.
import { BACKEND_KINDS, type BackendKind } from '../config/backend-schema.ts';
import { ServiceError } from '../errors.ts';
import type { Backend } from './types.ts';

export type MakeBackend = (kind: BackendKind) => Backend;

export class BackendRegistry {
  private readonly made = new Map<string, Backend>();
  private readonly initialised = new Map<string, Promise<unknown>>();

  /**
   * `current` is the backend of config.backend at start (already initialised by the caller);
   * others are made on first use and initialised with `hub`, the way the current one was.
   */
  constructor(
    readonly current: Backend,
    private readonly make: MakeBackend,
    private readonly hub: { port: number; connectUrl?: string | undefined },
  ) {
    this.made.set(current.kind, current);
    this.initialised.set(current.kind, Promise.resolve());
  }

  /** The backend of a row: the one that started it. A kind this build does not know is a 503 saying so. */
  async for(kind: string | null | undefined): Promise<Backend> {
    const k = kind || this.current.kind;
    let backend = this.made.get(k);
    if (!backend) {
      if (!(BACKEND_KINDS as readonly string[]).includes(k)) {
        throw new ServiceError('Unavailable', `This server was started by a backend named "${k}", which this Berth does not have`);
      }
      backend = this.make(k as BackendKind);
      this.made.set(k, backend);
    }
    let init = this.initialised.get(k);
    if (!init) {
      init = backend.init(this.hub);
      this.initialised.set(k, init);
      init.catch(() => this.initialised.delete(k)); // tried again at the next use
    }
    await init;
    return backend;
  }

  /** Every backend made so far (the current one first): what list()-based jobs (orphans, prune) ask. */
  all(): Backend[] {
    return [...this.made.values()];
  }

  async close(): Promise<void> {
    for (const b of this.made.values()) await b.close?.();
  }
}
