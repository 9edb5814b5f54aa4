// One writer per process for local libSQL files. The local driver is synchronous and gives every
// interactive transaction a fresh connection of its own (losing `:memory:` data and the pragmas);
// a second writer in the same process then fails with SQLITE_BUSY, or blocks the event loop on
// busy_timeout while the holder cannot progress. Here transactions run on the one connection,
// one at a time, and plain statements wait while a transaction is open. Another process's write
// lock is waited out by busy.ts's async retry, with the gate let go between tries.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Client, InStatement, InArgs, ResultSet, Transaction, TransactionMode } from '@libsql/client';
import { BUSY_DEADLINE_MS, isBusy, overrideClient, retryBusy } from './busy.ts';

interface Scope { active: boolean }

class Gate {
  private held = false;
  private waiters: (() => void)[] = [];
  acquire(): Promise<void> {
    if (!this.held) { this.held = true; return Promise.resolve(); }
    return new Promise((r) => this.waiters.push(r));
  }
  release() {
    const next = this.waiters.shift();
    if (next) next();
    else this.held = false;
  }
}

export interface SingleWriterOptions {
  /** How long a write waits out another process's lock (busy.ts). */
  busyDeadlineMs?: number;
  /**
   * Sets up a connection (its pragmas). Runs under the gate before the first statement and again
   * after every reconnect, as part of the try: on a fresh file even a pragma can meet SQLITE_BUSY
   * (it reads the schema while another process holds the lock to switch the file to WAL).
   */
  configure?: (client: Client) => Promise<void>;
  /**
   * Replace the connection after every BUSY (`client.reconnect()`), under the gate, before the
   * back-off. libsql 0.5 leaves a statement that failed with SQLITE_BUSY un-reset until the
   * garbage collector finalizes it, and until then the connection counts it as running: COMMIT
   * fails ("SQL statements in progress"), autocommit writes stay uncommitted while holding the
   * write lock, and reads keep a stale snapshot (BUSY_SNAPSHOT on every later write). The old
   * connection closes when the collector takes that statement. false for `:memory:`, where a new
   * connection would be an empty database (and no other process can make it busy).
   */
  reconnectOnBusy?: boolean;
}

/** Wraps a local client; `wrapTransaction` must wrap drizzle's `db.transaction` with the same scope. */
export function singleWriter(client: Client, opts: SingleWriterOptions = {}) {
  const { busyDeadlineMs = BUSY_DEADLINE_MS, configure, reconnectOnBusy = false } = opts;
  const gate = new Gate();
  const scope = new AsyncLocalStorage<Scope>();
  let configured = !configure;

  /** Runs `fn` on a configured connection; the caller holds the gate. A BUSY replaces the connection. */
  async function onConnection<T>(fn: () => Promise<T>): Promise<T> {
    try {
      if (!configured) { await configure!(client); configured = true; }
      return await fn();
    } catch (err) {
      if (isBusy(err) && reconnectOnBusy) { await client.reconnect(); configured = !configure; }
      throw err;
    }
  }

  async function gated<T>(fn: () => Promise<T>): Promise<T> {
    await gate.acquire();
    try { return await onConnection(fn); } finally { gate.release(); }
  }

  async function transaction(mode: TransactionMode = 'write'): Promise<Transaction> {
    const s = scope.getStore();
    if (s?.active) throw new Error('nested db.transaction(): use tx.transaction() inside a transaction');
    // BEGIN IMMEDIATE fails at once while another process writes; the gate is let go before each
    // back-off, so this process's reads (and writes, once the lock is free) carry on meanwhile.
    await retryBusy(async () => {
      await gate.acquire();
      try {
        await onConnection(() => client.execute(mode === 'write' ? 'BEGIN IMMEDIATE' : 'BEGIN DEFERRED'));
      } catch (err) {
        gate.release();
        throw err;
      }
    }, busyDeadlineMs);
    if (s) s.active = true;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      if (s) s.active = false;
      gate.release();
    };
    // Statements on `tx` are not retried: a BUSY would come back to the caller. In WAL mode one
    // cannot happen once BEGIN IMMEDIATE holds the write lock (the snapshot is the newest and
    // COMMIT needs no further lock). A 'read' transaction (BEGIN DEFERRED) takes its snapshot at
    // its first statement, which could in principle see BUSY_RECOVERY; drizzle's db.transaction
    // always asks for 'write'.
    const tx: Transaction = {
      execute: (stmt: InStatement | string, args?: InArgs) => client.execute(stmt as never, args as never),
      batch: async (stmts: InStatement[]) => { const out: ResultSet[] = []; for (const st of stmts) out.push(await client.execute(st)); return out; },
      executeMultiple: (sql: string) => client.executeMultiple(sql),
      commit: async () => { try { await client.execute('COMMIT'); } finally { finish(); } },
      rollback: async () => {
        if (done) return;
        try { await client.execute('ROLLBACK'); } catch { /* already rolled back by SQLite */ } finally { finish(); }
      },
      close: () => { if (!done) void tx.rollback(); },
      get closed() { return done; },
    } as Transaction;
    return tx;
  }

  // Plain statements are retried on BUSY, each try taking the gate afresh. Inside a transaction's
  // callback the connection is already ours: a stray `db.` query there (instead of `tx.`) joins
  // the transaction rather than deadlocking on the gate, and is not retried on its own.
  const wrapped = overrideClient(client, (run) => (scope.getStore()?.active ? run() : retryBusy(() => gated(run), busyDeadlineMs)), transaction);

  /** Runs drizzle's transaction inside the scope that lets its callback reach the connection. */
  function wrapTransaction<F extends (...args: never[]) => Promise<unknown>>(fn: F): F {
    return ((...args: Parameters<F>) => (scope.getStore()?.active ? fn(...args) : scope.run({ active: false }, () => fn(...args)))) as F;
  }

  return { client: wrapped, wrapTransaction };
}
