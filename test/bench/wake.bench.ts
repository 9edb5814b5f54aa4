// How long a spawn request takes to reach the worker: from the api recording it (servers.requested_at)
// to the backend's first progress event, written by the worker as it starts the spawn. Measured with
// the fake backend for `berth serve` (one process: an in-process event) and for `berth api` +
// `berth worker` (two processes: the wake-up POST); the difference is what running apart adds.
// Loopback only; a bounded number of spawns. Figures only.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { and, eq, gt } from 'drizzle-orm';
import { openDb, schema } from '../../db/client.ts';
import { freePort } from '../helpers/berth-process.ts';
import { startChild, stopChild } from './proc.ts';

const BIN = fileURLToPath(new URL('../../bin/berth.mjs', import.meta.url));
const SPAWNS = 40;

const startRole = async (role: string, configFile: string, env: Record<string, string>, ready: string) =>
  (await startChild(process.execPath, [BIN, role, '--config', configFile], (out) => out.includes(ready), { env: { ...process.env, ...env } })).child;

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { n: s.length, p50ms: at(0.5), p95ms: at(0.95), maxMs: s.at(-1)! };
};

async function measure(split: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-wake-'));
  const token = randomBytes(16).toString('hex');
  const port = await freePort();
  const apiPort = await freePort();
  const configFile = join(dir, 'berth.yaml');
  writeFileSync(configFile, [
    'hub:', `  port: ${port}`, `  hub_port: ${apiPort}`, `  data_dir: ${dir}/data`, '  log_level: warn',
    'auth:', '  admin_password: bench admin pw', '  allow_all: true',
    'services:', '  - name: bench', '    api_token: ${BENCH_TOKEN}', '    admin: true',
    'backend: fake', 'spawner:', '  image: fake', '',
  ].join('\n'));
  const env = { BENCH_TOKEN: token };
  const children: ChildProcess[] = [];
  try {
    if (split) {
      children.push(await startRole('worker', configFile, env, 'berth: worker running'));
      children.push(await startRole('api', configFile, env, 'berth: listening on'));
    } else {
      children.push(await startRole('serve', configFile, env, 'berth: listening on'));
    }
    const base = `http://127.0.0.1:${split ? apiPort : port}/hub/api`;
    const headers = { authorization: `token ${token}`, 'content-type': 'application/json' };
    const names = Array.from({ length: SPAWNS }, (_, i) => `w${i}`);
    await fetch(`${base}/users`, { method: 'POST', headers, body: JSON.stringify({ usernames: names }) });
    for (const n of names) {
      const res = await fetch(`${base}/users/${n}/server`, { method: 'POST', headers });
      await res.arrayBuffer();
      await new Promise((r) => setTimeout(r, 20)); // one at a time: latency, not a queue
    }
    const db = await openDb(`file:${dir}/data/berth.db`);
    const rows = await db.select({ id: schema.servers.id, requestedAt: schema.servers.requestedAt, spawnSeq: schema.servers.spawnSeq }).from(schema.servers);
    const delays: number[] = [];
    for (const r of rows) {
      const [first] = await db.select({ at: schema.serverEvents.createdAt }).from(schema.serverEvents)
        .where(and(eq(schema.serverEvents.serverId, r.id), eq(schema.serverEvents.spawnSeq, r.spawnSeq), gt(schema.serverEvents.progress, 0)))
        .orderBy(schema.serverEvents.id).limit(1);
      if (first && r.requestedAt) delays.push(first.at - r.requestedAt);
    }
    db.$client.close();
    return stats(delays);
  } finally {
    await Promise.all(children.map((c) => stopChild(c)));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Request → worker start, in one process and across two; `addedP50ms` is what running apart costs. */
export async function spawnWake() {
  const serve = await measure(false);
  const split = await measure(true);
  return { spawns: SPAWNS, serve, apiPlusWorker: split, addedP50ms: split.p50ms - serve.p50ms, addedP95ms: split.p95ms - serve.p95ms };
}
