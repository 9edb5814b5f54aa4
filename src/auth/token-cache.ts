// The token check from memory. Every single-user server asks `GET /hub/api/user` for each new browser
// session, and the API is called with tokens all day: what a token's lookup found (its row, owner,
// server — or the whole token-check answer) is kept here and served while the database cannot have
// changed since — neither this process's generation nor SQLite's data_version moved (db/changes.ts).
// Any write by anyone empties it; a revoked token, a blocked user, a renamed server are seen at the
// next request. Expiry is checked on every hit (time passes without writes). No tracker (a remote
// libSQL server): every check reads. data_version is read once per event-loop turn (db/changes.ts).
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

  constructor(private readonly db: Db) {}

  /**
   * The kept value without waiting, when this turn already knows nothing changed; undefined means
   * "ask get()", not "no such token".
   */
  peek(token: string, now: number): T | undefined {
    const dataVersion = this.db.$changes?.knownDataVersion();
    if (dataVersion === undefined || !this.current(dataVersion)) return undefined;
    const value = this.entries.get(keyOf(token))?.value;
    return value && live(value, now) ? value : undefined;
  }

  /** `lookup` reads the database; only a found row is kept (an unknown token always reads). */
  async get(token: string, now: number, lookup: () => Promise<T | undefined>): Promise<T | undefined> {
    if (!this.db.$changes) return lookup();
    const dataVersion = await this.db.$changes.dataVersion();
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
}

const live = (v: { token: { expiresAt: number | null } }, now: number) => v.token.expiresAt == null || v.token.expiresAt >= now;
