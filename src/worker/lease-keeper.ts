// Keeps (or waits for) the worker lease: a standby tries every tenth of the lease period, the holder
// renews every quarter of it. The lease is written to last 0.9 of the period, so a holder that dies
// is replaced within one period; a holder that cannot renew stops acting when its lease runs out,
// before anyone else may take it.
import type { AppContext } from '../context.ts';
import { claimLease, releaseLease, WORKER_LEASE, type ClaimResult } from '../state/lease.ts';

/** Called as the lease changes hands; they must return at once (renewals must not wait on their work). */
export interface LeaseEvents {
  /** This process now holds the lease (`takenFrom`: whose it was). */
  acquired(result: ClaimResult): void;
  /** This process no longer holds it (lost, or could not renew in time). */
  lost(reason: string): void;
}

export class LeaseKeeper {
  private held = false;
  private expiresAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private turn: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: AppContext, private readonly events: LeaseEvents, private readonly wakeUrl: () => string | undefined) {}

  /** Holding an unexpired lease right now: the condition for every act of the worker. */
  get acting(): boolean {
    return this.held && this.ctx.clock.now() < this.expiresAt;
  }

  private get periodMs() {
    return this.ctx.config.worker.lease_seconds * 1000;
  }

  start(): void {
    this.schedule(0);
  }

  /** Stops trying and renewing (a try under way finishes first); the lease is kept until release(). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.turn;
  }

  /** Gives a held lease up, so a standby takes it at its next try instead of waiting for it to lapse. */
  async release(): Promise<void> {
    if (this.held) {
      this.held = false;
      await releaseLease(this.ctx.db, WORKER_LEASE, this.ctx.instanceId).catch((err: unknown) =>
        this.ctx.log.warn('worker: could not give up the lease; it lapses by itself', { error: String(err) }));
    }
  }

  private schedule(ms: number) {
    if (this.stopped) return;
    this.timer = setTimeout(() => { this.turn = this.tick(); }, ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const now = this.ctx.clock.now();
    try {
      const result = await claimLease(this.ctx.db, {
        name: WORKER_LEASE, holder: this.ctx.instanceId, now, ttlMs: Math.round(this.periodMs * 0.9), wakeUrl: this.wakeUrl(),
      });
      if (result.held) {
        this.expiresAt = result.lease.expiresAt;
        if (!this.held) {
          this.held = true;
          this.events.acquired(result);
        }
      } else if (this.held) {
        this.held = false;
        this.events.lost(`the lease is held by ${result.lease.holder}`);
      }
    } catch (err) {
      this.ctx.log.warn('worker: lease check failed', { error: String(err) });
      if (this.held && this.ctx.clock.now() >= this.expiresAt) {
        this.held = false;
        this.events.lost('the lease could not be renewed before it ran out');
      }
    }
    this.schedule(this.held ? this.periodMs / 4 : this.periodMs / 10);
  }
}
