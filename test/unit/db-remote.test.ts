// A libSQL server as the database: BERTH_DB_AUTH_TOKEN reaches hub.db_auth_token as written, openDb
// sends it, and the remote client's busy retry (a BEGIN refused while another writer holds the lock
// opens a fresh transaction; plain statements are tried again) — against a stand-in client, as no
// libSQL server can be installed here.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Client, Transaction } from '@libsql/client';
import { loadConfig, dbUrl } from '../../src/config/load.ts';
import { openDb } from '../../db/client.ts';
import { retryingRemote } from '../../db/busy.ts';
import { ServiceError } from '../../src/errors.ts';

const busy = () => Object.assign(new Error('SQLITE_BUSY: database is locked'), { code: 'SQLITE_BUSY' });

/** A stand-in remote client: its first `busyFor` transactions fail their first statement (the BEGIN) with SQLITE_BUSY. */
function fakeRemote(busyFor: number, plainBusyFor = 0) {
  const log: string[] = [];
  let opened = 0;
  let plain = 0;
  const client = {
    async execute(sql: string) {
      log.push(`execute ${sql}`);
      if (plain++ < plainBusyFor) throw busy();
      return { rows: [] };
    },
    async transaction(mode: string) {
      const n = ++opened;
      let first = true;
      return {
        async execute(sql: string) {
          log.push(`tx${n} ${mode} ${sql}`);
          if (first && n <= busyFor) throw busy();
          first = false;
          return { rows: [] };
        },
        close() { log.push(`tx${n} close`); },
      } as unknown as Transaction;
    },
  } as unknown as Client;
  return { client, log };
}

describe('a libSQL server as the database', () => {
  test('BERTH_DB_URL and BERTH_DB_AUTH_TOKEN set hub.db_url and hub.db_auth_token, the token as written', () => {
    const { config } = loadConfig({ env: { BERTH_DB_URL: 'libsql://127.0.0.1:8080', BERTH_DB_AUTH_TOKEN: '0123456789' } });
    assert.equal(dbUrl(config), 'libsql://127.0.0.1:8080');
    assert.equal(config.hub.db_auth_token, '0123456789');
  });

  test('openDb sends the auth token to the server', async (t) => {
    const seen: (string | undefined)[] = [];
    const server = createServer((req, res) => { seen.push(req.headers.authorization); res.writeHead(401).end('{"error":"unauthorized"}'); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => server.close());
    const { port } = server.address() as { port: number };
    await assert.rejects(openDb(`http://127.0.0.1:${port}`, { authToken: 'the-token' }));
    assert.ok(seen.length > 0);
    assert.ok(seen.every((h) => h === 'Bearer the-token'), seen.join());
  });

  test('a transaction whose BEGIN meets a busy server is opened afresh; the caller gets a started transaction', async () => {
    const { client, log } = fakeRemote(2);
    const tx = await retryingRemote(client).transaction('write');
    await tx.execute('UPDATE servers SET state = ?');
    assert.deepEqual(log, [
      'tx1 write SELECT 1', 'tx1 close',
      'tx2 write SELECT 1', 'tx2 close',
      'tx3 write SELECT 1', 'tx3 write UPDATE servers SET state = ?',
    ]);
  });

  test('plain statements are tried again on BUSY; other errors and a lock held past the deadline are not retried', async () => {
    const { client, log } = fakeRemote(0, 2);
    await retryingRemote(client).execute('INSERT INTO audit DEFAULT VALUES');
    assert.equal(log.length, 3);

    const failing = { execute: async () => { log.push('fails'); throw Object.assign(new Error('no such table'), { code: 'SQLITE_ERROR' }); } } as unknown as Client;
    log.length = 0;
    await assert.rejects(retryingRemote(failing).execute('SELECT * FROM nope'), /no such table/);
    assert.deepEqual(log, ['fails']);

    const stuck = fakeRemote(Infinity);
    await assert.rejects(retryingRemote(stuck.client, 50).transaction('write'), (err: unknown) => err instanceof ServiceError && err.code === 'Unavailable' && err.status === 503);
    assert.ok(stuck.log.length > 2, 'it kept trying until the deadline');
  });
});
