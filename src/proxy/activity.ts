// Proxied traffic as activity, with configurable-http-proxy's semantics (responses below 300 and
// WebSocket traffic count; redirects and errors do not). Kept in memory, written every ~10 s.
import type { Socket } from 'node:net';
import type { AppContext } from '../context.ts';
import { recordActivityMany } from '../services/activity/record.ts';

const FLUSH_MS = 10_000;

interface Tunnel {
  serverId: number;
  userId: number;
  socket: Socket;
  bytes: number;
}

export class ActivityRecorder {
  /** serverId → last time traffic was seen (µs, as stored); serverId → its user. */
  private readonly last = new Map<number, number>();
  private readonly owner = new Map<number, number>();
  /** Open WebSocket tunnels: their byte counters are compared at each flush, so messages cost nothing. */
  private readonly tunnels = new Set<Tunnel>();
  private timer: NodeJS.Timeout | null;
  private flushing: Promise<void> | null = null;

  constructor(private readonly ctx: AppContext) {
    this.timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  touch(serverId: number, userId: number) {
    if (!this.last.has(serverId)) this.owner.set(serverId, userId);
    this.last.set(serverId, this.ctx.clock.now() * 1000);
  }

  /** Track an established WebSocket; `socket` is the client side (its counters see both directions). */
  trackTunnel(serverId: number, userId: number, socket: Socket) {
    const t: Tunnel = { serverId, userId, socket, bytes: socket.bytesRead + socket.bytesWritten };
    this.tunnels.add(t);
    this.touch(serverId, userId);
    socket.once('close', () => {
      this.sample(t);
      this.tunnels.delete(t);
    });
  }

  /** Write what was seen since the last flush (user + server last_activity, only ever forward). */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => this.flush());
    for (const t of this.tunnels) this.sample(t);
    if (this.last.size === 0) return Promise.resolve();
    const batch = [...this.last].map(([serverId, atUs]) => ({ serverId, atUs, userId: this.owner.get(serverId)! }));
    this.last.clear();
    this.owner.clear();
    this.flushing = recordActivityMany({ ctx: this.ctx, input: batch })
      .catch((e: unknown) => this.ctx.log.warn('proxy: recording activity failed', { servers: batch.length, error: String(e) }))
      .finally(() => { this.flushing = null; });
    return this.flushing;
  }

  async close() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  private sample(t: Tunnel) {
    const bytes = t.socket.bytesRead + t.socket.bytesWritten;
    if (bytes !== t.bytes) {
      t.bytes = bytes;
      this.touch(t.serverId, t.userId);
    }
  }
}
