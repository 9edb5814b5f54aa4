// Failed logins on password-like providers, counted per user name and per client address in a
// sliding window, in memory (per process: a second api process halves nothing an attacker gains,
// since each process still holds the limit). A success clears the user's count.
export class LoginLimiter {
  private readonly fails = new Map<string, number[]>();
  constructor(private readonly opts: { perUser: number; perAddress: number; windowMs: number; now: () => number }) {}

  private recent(key: string): number[] {
    const cutoff = this.opts.now() - this.opts.windowMs;
    const list = (this.fails.get(key) ?? []).filter((t) => t > cutoff);
    if (list.length) this.fails.set(key, list);
    else this.fails.delete(key);
    return list;
  }

  /** Seconds to wait before this user or address may try again; 0 when they may. */
  retryAfter(user: string, address: string): number {
    const wait = (list: number[], limit: number) => (list.length >= limit ? list[list.length - limit]! + this.opts.windowMs - this.opts.now() : 0);
    const ms = Math.max(wait(this.recent(`u:${user}`), this.opts.perUser), wait(this.recent(`a:${address}`), this.opts.perAddress));
    return ms > 0 ? Math.ceil(ms / 1000) : 0;
  }

  fail(user: string, address: string) {
    const now = this.opts.now();
    for (const key of [`u:${user}`, `a:${address}`]) this.fails.set(key, [...this.recent(key), now]);
    if (this.fails.size > 100_000) this.fails.clear(); // a flood of names must not grow memory without bound
  }

  succeed(user: string) {
    this.fails.delete(`u:${user}`);
  }
}
