// Builds a complete app for tests: temporary database file with migrations, fake backend,
// fixed-or-real clock, silent log. Returns helpers to create users and tokens directly.
import { EventEmitter } from 'node:events';
import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { openDb, schema } from '../../db/client.ts';
import { configSchema, type ConfigInput } from '../../src/config/schema.ts';
import { FakeBackend } from '../../src/backends/fake/index.ts';
import { createApp } from '../../handlers/app.ts';
import type { AppContext } from '../../src/context.ts';
import type { Clock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { hashToken, newToken, tokenPrefix } from '../../src/auth/tokens.ts';
import type { Backend } from '../../src/backends/types.ts';
import { createBackend } from '../../src/backends/index.ts';
import { BackendRegistry } from '../../src/backends/registry.ts';
import { SpawnRunner } from '../../src/spawn/runner.ts';

let root: string | undefined;
let dbCount = 0;
let instances = 0; // ids with no PID namespace: never judged gone early, so in-process workers don't steal
function tmpRoot() {
  if (!root) {
    const dir = mkdtempSync(join(tmpdir(), 'berth-test-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    root = dir;
  }
  return root;
}

export interface TestClock extends Clock { advance(ms: number): void; set(ms: number): void }

export function testClock(start = Date.UTC(2026, 10, 22, 1, 0, 0)): TestClock {
  let t = start;
  return { now: () => t, advance: (ms) => { t += ms; }, set: (ms) => { t = ms; } };
}

/**
 * `runner` (default true) starts a SpawnRunner that takes spawns requested through the API. It
 * does not poll the database, so rows a test inserts as 'queued' stay queued. `close()` stops the
 * runner and the backend; it also runs by itself after the test that built the app.
 */
export interface TestAppOptions {
  config?: ConfigInput;
  clock?: Clock;
  backend?: Backend;
  runner?: boolean;
  /** Open this database file instead of a new one (another "process" on the same database). */
  dbFile?: string;
  /** How long a write waits out another connection's lock before 503 (openDb's default: 10 s). */
  busyDeadlineMs?: number;
}

export async function buildTestApp(opts: TestAppOptions = {}) {
  const config = configSchema.parse({ backend: 'fake', spawner: { image: 'fake' }, auth: { shared_password: 'correct horse', admin_password: 'admin secret pw', allow_all: true }, ...opts.config });
  // A temporary file, not ':memory:': libSQL hands the in-memory connection to the first
  // transaction and later queries would see a fresh, empty database.
  const dbFile = opts.dbFile ?? join(tmpRoot(), `db-${++dbCount}.sqlite`);
  const db = await openDb(`file:${dbFile}`, { busyDeadlineMs: opts.busyDeadlineMs });
  const backend = opts.backend ?? new FakeBackend();
  const backends = new BackendRegistry(backend, (kind) => createBackend(kind, () => ctx.config, silentLogger), { port: 8000 });
  const ctx: AppContext = {
    config, db, backend, backends, clock: opts.clock ?? { now: () => Date.now() }, log: silentLogger,
    events: new EventEmitter(), hubUrl: 'http://127.0.0.1:8000', instanceId: `test:${++instances}`,
  };
  ctx.events.setMaxListeners(0);
  const app = createApp(ctx);
  const runner = new SpawnRunner(ctx, { pollMs: 0 });
  if (opts.runner !== false) runner.start();
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= (async () => {
    await runner.close();
    await backends.close();
  })());
  after(close); // attaches to the running test (or the file), so spawned fake servers never keep node alive

  async function createUser(name: string, o: { admin?: boolean } = {}) {
    const [row] = await db.insert(schema.users).values({ name, admin: o.admin ?? false, createdAt: ctx.clock.now() }).returning();
    return row!;
  }

  /** An API token for `user` with raw `scopes` (default inherit). Returns the clear-text token. */
  async function createToken(userId: number, scopes: string[] = ['inherit'], extra: Partial<typeof schema.tokens.$inferInsert> = {}) {
    const token = newToken();
    await db.insert(schema.tokens).values({ kind: 'api', prefix: tokenPrefix(token), hashed: hashToken(token), userId, scopes, createdAt: ctx.clock.now(), ...extra });
    return token;
  }

  /** The user_auth row (provider, encrypted auth state, POSIX identity) of the user with that name. */
  async function userAuth(name: string) {
    const [row] = await db.select({ auth: schema.userAuth }).from(schema.userAuth)
      .innerJoin(schema.users, eq(schema.users.id, schema.userAuth.userId)).where(eq(schema.users.name, name));
    return row?.auth;
  }

  const request = (path: string, init: RequestInit & { token?: string } = {}) => {
    const headers = new Headers(init.headers);
    if (init.token) headers.set('authorization', `token ${init.token}`);
    return app.request(path, { ...init, headers });
  };

  return { app, ctx, db, dbFile, backend, config, createUser, createToken, userAuth, request, runner, close };
}
