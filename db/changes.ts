// Whether the database may have changed since a moment, without reading a table: what lets the token
// check serve identities from memory (src/auth/token-cache.ts). Two parts, for a local file or
// :memory: database: `generation`, bumped by every statement this process sends that is not a plain
// read (so its own writes, committed or not, are seen at once), and SQLite's `PRAGMA data_version`,
// which moves when another connection — another Berth process — commits. A remote libSQL server has no
// such counter that holds across its connections: there is no tracker, and the token check reads.
import type { Client, InStatement } from '@libsql/client';

export interface ChangeTracker {
  /** Bumped before and after every statement of this process that may write. */
  generation(): number;
  /**
   * SQLite's data_version of the connection: changes when another connection commits. Read at most
   * once per event-loop turn — every caller in the turn (under load, dozens of requests) shares the
   * read. Another process's commit reaches this one only through I/O, so it is seen from the next
   * turn: microseconds later, where JupyterHub's own HubAuth keeps an answer 5 minutes.
   */
  dataVersion(): Promise<number>;
  /** The data_version this turn already read, if any: lets a hit be served without waiting. */
  knownDataVersion(): number | undefined;
}

const READ = /^\s*(select|pragma\s+data_version)\b/i;

const sqlOf = (stmt: InStatement | string): string => (typeof stmt === 'string' ? stmt : stmt.sql);

/**
 * Wraps the raw client so every statement that may write bumps the generation twice — as it is sent
 * and once it is done — so a reader that started before or during it never keeps what it read.
 */
export function trackChanges(raw: Client): { client: Client; tracker: (client: Client) => ChangeTracker } {
  let generation = 0;
  const around = async <T>(sql: string[], run: () => Promise<T>): Promise<T> => {
    const writes = sql.some((s) => !READ.test(s));
    if (!writes) return run();
    generation++;
    try { return await run(); } finally { generation++; }
  };
  const client = new Proxy(raw, {
    get(target, prop) {
      if (prop === 'execute') return (stmt: InStatement | string, args?: never) => around([sqlOf(stmt)], () => target.execute(stmt as never, args));
      if (prop === 'batch') return (stmts: InStatement[], mode?: never) => around(stmts.map(sqlOf), () => target.batch(stmts, mode));
      if (prop === 'executeMultiple') return (sql: string) => around([sql], () => target.executeMultiple(sql));
      if (prop === 'migrate') return (stmts: InStatement[]) => around(stmts.map(sqlOf), () => target.migrate(stmts));
      if (prop === 'transaction') {
        // not used for local files (local-tx.ts runs transactions as statements), but never untracked
        return async (mode?: never) => { generation++; return target.transaction(mode); };
      }
      // the client keeps private fields: its own methods and getters must run on it, not on the proxy
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    client,
    // `client` here is the one statements go through (local-tx.ts's gate), so the pragma waits its turn like a read
    tracker: (gated) => {
      let known: number | undefined;
      let reading: Promise<number> | undefined;
      const read = async () => {
        try {
          const v = (known = Number((await gated.execute('PRAGMA data_version')).rows[0]?.[0] ?? -1));
          setImmediate(() => { known = undefined; }); // the turn is over: the next caller reads again
          return v;
        } finally {
          reading = undefined;
        }
      };
      return {
        generation: () => generation,
        dataVersion: () => (known !== undefined ? Promise.resolve(known) : (reading ??= read())),
        knownDataVersion: () => known,
      };
    },
  };
}
