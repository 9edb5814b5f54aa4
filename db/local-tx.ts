// One writer per process for local libSQL files. The local driver is synchronous and gives every
// interactive transaction a fresh connection of its own (losing `:memory:` data and the pragmas);
// a second writer in the same process then fails with SQLITE_BUSY, or blocks the event loop on
// busy_timeout while the holder cannot progress. Here transactions run on the one connection,
// one at a time, and plain statements wait while a transaction is open.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Client, InStatement, InArgs, ResultSet, Transaction, TransactionMode } from '@libsql/client';

interface Scope { active: boolean }

class Gate {
  private held = false;
  private waiters: (() => void)[] = [];
  get free() { return !this.held; }
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

/** Wraps a local client; `wrapTransaction` must wrap drizzle's `db.transaction` with the same scope. */
export function singleWriter(client: Client) {
  const gate = new Gate();
  const scope = new AsyncLocalStorage<Scope>();
  // Inside a transaction's callback the connection is already ours: a stray `db.` query there
  // (instead of `tx.`) joins the transaction rather than deadlocking on the gate.
  const direct = () => gate.free || scope.getStore()?.active === true;

  async function gated<T>(fn: () => Promise<T>): Promise<T> {
    if (direct()) return fn(); // the driver is synchronous: nothing interleaves
    await gate.acquire();
    try { return await fn(); } finally { gate.release(); }
  }

  async function transaction(mode: TransactionMode = 'write'): Promise<Transaction> {
    const s = scope.getStore();
    if (s?.active) throw new Error('nested db.transaction(): use tx.transaction() inside a transaction');
    await gate.acquire();
    try {
      await client.execute(mode === 'write' ? 'BEGIN IMMEDIATE' : 'BEGIN DEFERRED');
    } catch (err) {
      gate.release();
      throw err;
    }
    if (s) s.active = true;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      if (s) s.active = false;
      gate.release();
    };
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

  const wrapped = new Proxy(client, {
    get(target, prop) {
      if (prop === 'execute') return (stmt: InStatement | string, args?: InArgs) => gated(() => target.execute(stmt as never, args as never));
      if (prop === 'batch') return (stmts: InStatement[], mode?: TransactionMode) => gated(() => target.batch(stmts, mode));
      if (prop === 'executeMultiple') return (sql: string) => gated(() => target.executeMultiple(sql));
      if (prop === 'migrate') return (stmts: InStatement[]) => gated(() => target.migrate(stmts));
      if (prop === 'transaction') return transaction;
      // the client keeps private fields: its own methods and getters must run on it, not on the proxy
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });

  /** Runs drizzle's transaction inside the scope that lets its callback reach the connection. */
  function wrapTransaction<F extends (...args: never[]) => Promise<unknown>>(fn: F): F {
    return ((...args: Parameters<F>) => (scope.getStore()?.active ? fn(...args) : scope.run({ active: false }, () => fn(...args)))) as F;
  }

  return { client: wrapped, wrapTransaction };
}
