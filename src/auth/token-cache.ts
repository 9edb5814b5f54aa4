// The token check from memory. Every single-user server asks `GET /hub/api/user` for each new browser
// session, and the API is called with tokens all day: the token's row, its owner and its server's name
// are kept here after the first lookup and served while the database cannot have changed since —
// neither this process's generation nor SQLite's data_version moved (db/changes.ts). Any write by
// anyone empties it; a revoked token, a blocked user, a renamed server are seen at the next request.
// Expiry is checked on every hit (time passes without writes). No tracker (a remote libSQL server):
// every check reads.
import { createHash } from 'node:crypto';
import type { Db } from '../../db/client.ts';

/** Entries kept at most; past it the cache starts afresh (a flood of distinct tokens cannot grow it). */
const MAX_ENTRIES = 10_000;

/** The change counters the entries were read under. */
interface Stamp { generation: number; dataVersion: number }

export class TokenCache<T extends { token: { expiresAt: number | null } }> {
  private entries = new Map<string, T>();
  private stamp: Stamp | undefined;

  constructor(private readonly db: Db) {}

  /** `lookup` reads the database; only a found row is kept (an unknown token always reads). */
  async get(token: string, now: number, lookup: () => Promise<T | undefined>): Promise<T | undefined> {
    const changes = this.db.$changes;
    if (!changes) return lookup();
    const generation = changes.generation();
    const dataVersion = await changes.dataVersion();
    if (!this.stamp || this.stamp.generation !== generation || this.stamp.dataVersion !== dataVersion) {
      this.entries.clear();
      this.stamp = { generation, dataVersion };
    }
    const stamp = this.stamp;
    const key = createHash('sha256').update(token).digest('base64');
    const hit = this.entries.get(key);
    if (hit) {
      if (hit.token.expiresAt == null || hit.token.expiresAt >= now) return hit;
      this.entries.delete(key);
      return undefined;
    }
    const found = await lookup();
    // Kept under the stamp read before the lookup: a write that ends during or after it moves the
    // generation past the stamp, so the next request starts afresh rather than trust this row.
    if (found && this.stamp === stamp) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
      this.entries.set(key, found);
    }
    return found;
  }
}
