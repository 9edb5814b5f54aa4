// Rides out another process's write lock without blocking the event loop: with busy_timeout = 0
// SQLITE_BUSY comes back at once, and the statement is tried again after an async back-off.
import type { Client, InArgs, InStatement, Transaction, TransactionMode } from '@libsql/client';
import { ServiceError } from '../src/errors.ts';

/** How long a write waits for another process's lock before the request gets a 503. */
export const BUSY_DEADLINE_MS = 10_000;
const FIRST_DELAY_MS = 1;
const MAX_DELAY_MS = 50;

/**
 * SQLITE_BUSY and its extended codes (BUSY_SNAPSHOT: a read snapshot went stale before its write;
 * BUSY_RECOVERY). libsql reports them as `code: 'SQLITE_BUSY_SNAPSHOT', rawCode: 517` (rawCode is
 * the extended code; there is no `extendedCode`); sqld's errors carry the same `code` names.
 * SQLITE_LOCKED is left out: it means a conflict inside one connection, which waiting on other
 * processes does not clear.
 */
export function isBusy(err: unknown): boolean {
  const { code, rawCode } = (err ?? {}) as { code?: unknown; rawCode?: unknown };
  return (typeof rawCode === 'number' && (rawCode & 0xff) === 5) || (typeof code === 'string' && code.startsWith('SQLITE_BUSY'));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `attempt` until it does not fail busy. Only for work that a BUSY leaves undone as a whole:
 * an autocommit statement, a batch (one transaction, rolled back on error) or a BEGIN.
 * Jittered exponential back-off, so processes contending for one lock do not retry in step.
 */
export async function retryBusy<T>(attempt: () => Promise<T>, deadlineMs = BUSY_DEADLINE_MS): Promise<T> {
  const giveUpAt = performance.now() + deadlineMs;
  for (let delay = FIRST_DELAY_MS; ; delay = Math.min(delay * 2, MAX_DELAY_MS)) {
    try {
      return await attempt();
    } catch (err) {
      if (!isBusy(err)) throw err;
      const left = giveUpAt - performance.now();
      if (left <= 0) {
        throw new ServiceError('Unavailable', `The database is busy: another Berth process has held its write lock for over ${deadlineMs / 1000} s; try again`, { cause: err });
      }
      await sleep(Math.min(left, delay / 2 + Math.random() * (delay / 2)));
    }
  }
}

/**
 * A view of `client` whose statement methods run through `around` and whose `transaction` is
 * replaced; everything else (close, closed, protocol…) is the client's own. executeMultiple runs
 * its statements one by one in autocommit: when `around` retries it after a BUSY part-way, the
 * earlier ones run again, so scripts given to it must be idempotent or wrapped in BEGIN … COMMIT.
 */
export function overrideClient(client: Client, around: <T>(run: () => Promise<T>) => Promise<T>, transaction: (mode?: TransactionMode) => Promise<Transaction>): Client {
  return new Proxy(client, {
    get(target, prop) {
      if (prop === 'execute') return (stmt: InStatement | string, args?: InArgs) => around(() => target.execute(stmt as never, args as never));
      if (prop === 'batch') return (stmts: InStatement[], mode?: TransactionMode) => around(() => target.batch(stmts, mode));
      if (prop === 'executeMultiple') return (sql: string) => around(() => target.executeMultiple(sql));
      if (prop === 'migrate') return (stmts: InStatement[]) => around(() => target.migrate(stmts));
      if (prop === 'transaction') return transaction;
      // the client keeps private fields: its own methods and getters must run on it, not on the proxy
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * Busy retry for a remote libSQL server (sqld). Its client sends BEGIN together with the first
 * statement, and a failed BEGIN closes the transaction, so `transaction()` here starts it with a
 * no-op statement (one more round trip) and opens a fresh one while the server answers busy.
 */
export function retryingRemote(client: Client, deadlineMs = BUSY_DEADLINE_MS): Client {
  return overrideClient(client, (run) => retryBusy(run, deadlineMs), (mode = 'write') => retryBusy(async () => {
    const tx = await client.transaction(mode);
    try {
      await tx.execute('SELECT 1');
      return tx;
    } catch (err) {
      tx.close();
      throw err;
    }
  }, deadlineMs));
}
