// Failed logins on password-like providers, counted per user name and per client address in a
// sliding window, in memory. Each process counts its own, so N api processes allow N times the
// attempts; the window still bounds a guesser to a few tries a minute per process.
const MAX_KEYS = 50_000;

class Window {
  private readonly fails = new Map<string, number[]>();
  constructor(private readonly limit: number, private readonly windowMs: number, private readonly now: () => number) {}

  private recent(key: string): number[] {
    const cutoff = this.now() - this.windowMs;
    return (this.fails.get(key) ?? []).filter((t) => t > cutoff);
  }
  /** Ms to wait before `key` may try again; 0 when it may. */
  wait(key: string): number {
    const list = this.recent(key);
    return list.length >= this.limit ? list[list.length - this.limit]! + this.windowMs - this.now() : 0;
  }
  fail(key: string) {
    const list = [...this.recent(key), this.now()].slice(-this.limit);
    // re-inserted, so the Map's order is "least recently failed first"; a flood of new keys evicts
    // the stalest ones only, never a user who is being guessed at right now
    this.fails.delete(key);
    this.fails.set(key, list);
    if (this.fails.size > MAX_KEYS) {
      for (const k of this.fails.keys()) {
        if (this.fails.size <= MAX_KEYS * 0.9) break;
        this.fails.delete(k);
      }
    }
  }
  clear(key: string) {
    this.fails.delete(key);
  }
}

export class LoginLimiter {
  private readonly users: Window;
  private readonly addresses: Window;
  constructor(opts: { perUser: number; perAddress: number; windowMs: number; now: () => number }) {
    this.users = new Window(opts.perUser, opts.windowMs, opts.now);
    this.addresses = new Window(opts.perAddress, opts.windowMs, opts.now);
  }

  /** Seconds to wait before this user or address may try again; 0 when they may. */
  retryAfter(user: string, address: string): number {
    const ms = Math.max(this.users.wait(user), this.addresses.wait(address));
    return ms > 0 ? Math.ceil(ms / 1000) : 0;
  }

  fail(user: string, address: string) {
    this.users.fail(user);
    this.addresses.fail(address);
  }

  succeed(user: string) {
    this.users.clear(user);
  }
}
