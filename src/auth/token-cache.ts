// The token check from memory. Every single-user server asks `GET /hub/api/user` for each new browser
// session, and the API is called with tokens all day: what a token's lookup found (its row, owner,
// server — or the whole token-check answer) is kept here and served while the database cannot have
// changed since — neither this process's generation nor SQLite's data_version moved (db/changes.ts).
// Any write by anyone empties it; a revoked token, a blocked user, a renamed server are seen at the
// next request. Expiry is checked on every hit (time passes without writes). No tracker (a remote
// libSQL server): every check reads.
//
// data_version is read at most once per event-loop turn: every request parsed in the same turn shares
// the read (under load, dozens). Another process's commit reaches this one only through I/O, so it is
// seen from the next turn — microseconds later, where JupyterHub's own HubAuth keeps an answer 5 min.
import { createHash } from 'node:crypto';
import type { Db } from '../../db/client.ts';

/** Entries kept at most; past it the cache starts afresh (a flood of distinct tokens cannot grow it). */
const MAX_ENTRIES = 10_000;

/** The change counters the entries were read under. */
interface Stamp { generation: number; dataVersion: number }

/** A lookup in flight (requests for the same token share it) or done. */
interface Entry<T> { pending: Promise<T | undefined>; value?: T | undefined }

const keyOf = (token: string) => createHash('sha256').update(token).digest('base64');

export class TokenCache<T extends { token: { expiresAt: number | null } }> {
  private entries = new Map<string, Entry<T>>();
  private stamp: Stamp | undefined;
  /** data_version as read in this event-loop turn; cleared when the turn ends. */
  private turnVersion: number | undefined;
  private turnRead: Promise<number> | undefined;

  constructor(private readonly db: Db) {}

  /**
   * The kept value without waiting, when this turn already knows nothing changed; undefined means
   * "ask get()", not "no such token".
   */
  peek(token: string, now: number): T | undefined {
    if (this.turnVersion === undefined || !this.current(this.turnVersion)) return undefined;
    const value = this.entries.get(keyOf(token))?.value;
    return value && live(value, now) ? value : undefined;
  }

  /** `lookup` reads the database; only a found row is kept (an unknown token always reads). */
  async get(token: string, now: number, lookup: () => Promise<T | undefined>): Promise<T | undefined> {
    if (!this.db.$changes) return lookup();
    const dataVersion = this.turnVersion ?? (await (this.turnRead ??= this.readVersion()));
    if (!this.current(dataVersion)) {
      this.entries.clear();
      this.stamp = { generation: this.db.$changes.generation(), dataVersion };
    }
    const stamp = this.stamp;
    const key = keyOf(token);
    let entry = this.entries.get(key);
    if (!entry) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
      const made: Entry<T> = { pending: lookup() };
      entry = made;
      this.entries.set(key, made);
      // Kept under the stamp read before the lookup: a write that ends during or after it moves the
      // generation past the stamp, so the next request starts afresh rather than trust this row.
      const drop = () => { if (this.entries.get(key) === made) this.entries.delete(key); };
      made.pending.then((v) => { if (v && this.stamp === stamp) made.value = v; else drop(); }, drop);
    }
    const value = entry.value ?? (await entry.pending);
    if (!value) return undefined;
    if (live(value, now)) return value;
    this.entries.delete(key);
    return undefined;
  }

  /** Whether the entries were read under these counters (this process's generation is always now). */
  private current(dataVersion: number): boolean {
    return !!this.stamp && this.stamp.generation === this.db.$changes?.generation() && this.stamp.dataVersion === dataVersion;
  }

  private async readVersion(): Promise<number> {
    try {
      const v = (this.turnVersion = await this.db.$changes!.dataVersion());
      setImmediate(() => { this.turnVersion = undefined; });
      return v;
    } finally {
      this.turnRead = undefined;
    }
  }
}

const live = (v: { token: { expiresAt: number | null } }, now: number) => v.token.expiresAt == null || v.token.expiresAt >= now;
