// The spawn, restart and memory rows of `npm run bench`, each beside its floor: the compiled
// `berth serve` with the docker backend, driven through its REST API as an admin service, against the
// same containers started straight on the Engine API (spawn-floor.ts). Berth and floor runs
// interleave; each figure is ROUNDS runs except the 500-server burst (once: the budget). Bounded in
// count and time; removes only what it labelled, and ends only the processes it started.
// Alone: `node --import tsx test/bench/spawn.bench.ts` (builds dist/ first, prints the rows).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openDb, schema } from '../../db/client.ts';
import { ROUNDS, fmt, spread, table, type Row, type Spread } from './report.ts';
import {
  type Berth, apiProbe, createUsers, headers, killChildren, pool, quantile, readyCount, removeBenchObjects, removeDir, rss, startBerth, untilAnswers,
} from './spawn-kit.ts';
import { type Template, floorBurst, removeFloor, templateOf } from './spawn-floor.ts';

const REAL = 'berth-test/singleuser:3.0.0';
const TINY = 'berth-test/tiny:latest';
/** The whole section stays under this; the 500-server burst runs only if what is left fits it. */
const BUDGET_MS = 14 * 60_000;
/** For working on one part: BENCH_SPAWN_PARTS=real,50,100,200,restart,500 (default: all). */
const PARTS = process.env.BENCH_SPAWN_PARTS?.split(',');
const want = (part: string) => !PARTS || PARTS.includes(part);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const s = (ms: number) => ms / 1000;

/** Ready times (ms after `since`, wall clock) of the servers in Berth's database. */
async function readyTimes(b: Berth, since: number): Promise<number[]> {
  const db = await openDb(`file:${b.dir}/data/berth.db`);
  try {
    const rows = await db.select({ readyAt: schema.servers.readyAt, state: schema.servers.state }).from(schema.servers);
    return rows.filter((r) => r.readyAt !== null).map((r) => r.readyAt! - since);
  } finally {
    db.$client.close();
  }
}

/** One spawn, request → the API says ready (polled every 10 ms). */
async function spawnOne(b: Berth, user: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${b.api}/users/${user}/server`, { method: 'POST', headers: headers(b) });
  await res.arrayBuffer();
  if (res.status !== 201 && res.status !== 202) throw new Error(`POST server ${user}: ${res.status}`);
  for (;;) {
    const u = (await (await fetch(`${b.api}/users/${user}`, { headers: headers(b) })).json()) as { servers?: Record<string, { ready?: boolean }> };
    if (u.servers?.['']?.ready) return performance.now() - t0;
    if (performance.now() - t0 > 120_000) throw new Error(`${user} not ready in 120 s`);
    await sleep(10);
  }
}

/** Real image: Berth, floor, Berth, floor… in one Berth process (the floor's servers reach its hub API). */
async function realImage() {
  const b = await startBerth({ image: REAL });
  const berth: number[] = [];
  const floor: number[] = [];
  try {
    await createUsers(b, ['warm', ...Array.from({ length: ROUNDS }, (_, i) => `real${i}`)]);
    await spawnOne(b, 'warm'); // warm-up of both (page cache, the engine's image metadata)
    await floorBurst(await templateOf('warm'), ['warmfloor']);
    await removeFloor();
    for (let i = 0; i < ROUNDS; i++) {
      berth.push(await spawnOne(b, `real${i}`));
      floor.push((await floorBurst(await templateOf(`real${i}`), [`floor${i}`])).allMs);
      await removeFloor();
    }
  } finally {
    await b.stop();
    await removeBenchObjects();
    removeDir(b.dir);
  }
  return { berth: spread(berth), floor: spread(floor) };
}

interface BurstOptions { extraUsers?: number; restart?: boolean }

interface BurstRun {
  n: number; allReadyMs: number; lastPostMs: number; postP99Ms: number; probeP99Ms: number; probes: number;
  idleMiB: number; peakMiB: number; rssAfterMiB: number; statuses: Record<string, number>;
  restart?: RestartRun | undefined;
}

/**
 * A fresh `berth serve`; `n` users (plus `extraUsers` that never spawn) spawn at once. All ready is
 * the last servers.ready_at; the API is probed meanwhile; RSS from /proc. With `restart`, once all
 * are ready Berth is restarted and timed (see restartOnce).
 */
async function berthBurst(n: number, opts: BurstOptions & { whileRunning?: () => Promise<void> } = {}): Promise<BurstRun> {
  const b = await startBerth({ image: TINY });
  let current = b;
  try {
    await sleep(1000);
    const idleMiB = rss(b.pid).rssMiB;
    const users = Array.from({ length: n }, (_, i) => `b${n}u${i}`);
    await createUsers(b, [...users, ...Array.from({ length: opts.extraUsers ?? 0 }, (_, i) => `idle${i}`)]);
    const probe = await apiProbe(b);
    const wall0 = Date.now();
    const t0 = performance.now();
    const statuses: Record<string, number> = {};
    const posts = await Promise.all(users.map(async (u) => {
      const start = performance.now();
      const res = await fetch(`${b.api}/users/${u}/server`, { method: 'POST', headers: headers(b) });
      await res.arrayBuffer();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      return { ms: performance.now() - start, at: performance.now() - t0 };
    }));
    const deadline = performance.now() + 10 * 60_000;
    while ((await readyCount(b)) < n) {
      if (performance.now() > deadline) throw new Error(`burst of ${n}: not all ready in 10 min`);
      await sleep(250); // only to see the end: the ready times come from servers.ready_at
    }
    const latencies = await probe.stop();
    const ready = await readyTimes(b, wall0);
    if (ready.length < n) throw new Error(`burst of ${n}: ${ready.length} ready`);
    await sleep(2000);
    const mem = rss(b.pid);
    const run: BurstRun = {
      n, allReadyMs: Math.max(...ready), lastPostMs: Math.max(...posts.map((p) => p.at)), postP99Ms: quantile(posts.map((p) => p.ms), 0.99),
      probeP99Ms: quantile(latencies, 0.99), probes: latencies.length, idleMiB, peakMiB: mem.peakMiB, rssAfterMiB: mem.rssMiB, statuses,
    };
    await opts.whileRunning?.();
    await opts.whileRunning?.();
    if (opts.restart) { const r = await restartOnce(current, users); current = r.berth; run.restart = r.run; }
    return run;
  } finally {
    await current.stop();
    await removeBenchObjects();
    removeDir(b.dir);
  }
}

interface RestartRun { apiMs: number; routesMs: number; rssMiB: number }

/**
 * SIGTERM `berth serve` with its servers running, start it again on the same config and data:
 * ms from the new process's spawn until `GET /hub/api` answers 200, and until every user's
 * `/user/<name>/` is served through the proxy (200 from the server itself).
 */
async function restartOnce(b: Berth, users: string[]): Promise<{ berth: Berth; run: RestartRun }> {
  await b.stop();
  const port = Number(new URL(b.origin).port);
  const t0 = performance.now();
  const apiUp = (async () => { await untilAnswers(`${b.api}/`, 5, 30_000, (st) => st === 200); return performance.now() - t0; })();
  const again = startBerth({ image: TINY, dir: b.dir, port, token: b.token });
  const routes = (async () => {
    // 16 pollers, each on one route until it is served: 500 polling at once would load the proxy they time
    await pool(users, 16, (u) => untilAnswers(`${b.origin}/user/${u}/`, 10, 60_000, (st) => st === 200));
    return performance.now() - t0;
  })();
  const [berth, apiMs, routesMs] = await Promise.all([again, apiUp, routes]);
  await sleep(1000);
  return { berth, run: { apiMs, routesMs, rssMiB: rss(berth.pid).rssMiB } };
}

/** 30 running tiny servers, then ROUNDS restarts. */
async function restarts(): Promise<RestartRun[]> {
  let b = await startBerth({ image: TINY, hub: ['  concurrent_spawn_limit: 30'] });
  const dir = b.dir;
  const runs: RestartRun[] = [];
  try {
    const users = Array.from({ length: 30 }, (_, i) => `r${i}`);
    await createUsers(b, users);
    await Promise.all(users.map((u) => fetch(`${b.api}/users/${u}/server`, { method: 'POST', headers: headers(b) }).then((r) => r.arrayBuffer())));
    while ((await readyCount(b)) < users.length) await sleep(100);
    for (let i = 0; i < ROUNDS; i++) {
      const r = await restartOnce(b, users);
      b = r.berth;
      runs.push(r.run);
    }
  } finally {
    await b.stop();
    await removeBenchObjects();
    removeDir(dir);
  }
  return runs;
}

async function burstFigure(n: number, rounds: number, opts: BurstOptions = {}) {
  const berth: BurstRun[] = [];
  const floor: number[] = [];
  const names = Array.from({ length: n }, (_, i) => `f${n}u${i}`);
  for (let i = 0; i < rounds; i++) {
    // The floor copies a container of this Berth round, so Berth runs first and its round keeps one.
    let template: Template | undefined;
    berth.push(await berthBurst(n, { ...opts, whileRunning: async () => { template = await templateOf(`b${n}u0`); } }));
    floor.push((await floorBurst(template!, names)).allMs);
    await removeFloor();
  }
  return { berth, floor };
}

const ms = (x: Spread) => fmt(x, 0);
const sec = (x: Spread) => fmt({ ...x, median: s(x.median), min: s(x.min), max: s(x.max) }, 2);

export async function spawnRows(): Promise<{ rows: Row[]; raw: unknown }> {
  const began = performance.now();
  process.once('exit', killChildren);
  await removeBenchObjects();
  const rows: Row[] = [];
  const raw: Record<string, unknown> = {};
  try {
    const real = want('real') ? await realImage() : undefined;
    raw.realImage = real;
    const over = real ? real.berth.median - real.floor.median : NaN;
    if (real) rows.push({ figure: `spawn of ${REAL}, request → ready, s`, anchor: `dockerode create+start until HTTP: ${sec(real.floor)}`, berth: sec(real.berth), ratio: `+${Math.round(over)} ms`, target: 'overhead < 100 ms', met: over < 100 });

    const bursts: Record<number, Awaited<ReturnType<typeof burstFigure>>> = {};
    for (const n of [50, 100, 200].filter((x) => want(String(x)))) {
      bursts[n] = await burstFigure(n, ROUNDS);
      raw[`burst${n}`] = bursts[n];
    }
    const left = BUDGET_MS - (performance.now() - began);
    const b200 = bursts[200];
    const estimate500 = b200 ? 2.5 * (spread(b200.berth.map((r) => r.allReadyMs)).max + spread(b200.floor).max) + 60_000 : 0;
    const restartRuns = want('restart') ? await restarts() : [];
    raw.restart30 = restartRuns;
    if (!want('500')) {
      raw.burst500 = { skipped: 'not asked for (BENCH_SPAWN_PARTS)' };
    } else if (left - 60_000 > estimate500) {
      bursts[500] = await burstFigure(500, 1, { extraUsers: 500, restart: true });
      raw.burst500 = bursts[500];
    } else {
      raw.burst500 = { skipped: `the 500-server burst would take about ${Math.round(estimate500 / 1000)} s; ${Math.round(left / 1000)} s of the ${BUDGET_MS / 60000}-minute budget were left` };
    }

    for (const n of [50, 100, 200, 500].filter((x) => want(String(x)))) {
      const f = bursts[n];
      if (!f) { rows.push({ figure: `${n} simultaneous spawns of ${TINY} → all ready, s`, anchor: '', berth: 'not run', ratio: '', target: '≤ 1.15× the floor', met: false }); continue; }
      const b = spread(f.berth.map((r) => r.allReadyMs));
      const fl = spread(f.floor);
      const ratio = b.median / fl.median;
      const once = f.berth.length === 1 ? ' (1 run: budget)' : '';
      rows.push({ figure: `${n} simultaneous spawns of ${TINY} → all ready, s${once}`, anchor: `dockerode create+start in parallel until HTTP: ${sec(fl)}`, berth: sec(b), ratio: `${ratio.toFixed(2)}×`, target: '≤ 1.15× the floor', met: ratio <= 1.15 });
      const p99 = spread(f.berth.map((r) => r.probeP99Ms));
      const postP99 = spread(f.berth.map((r) => r.postP99Ms));
      rows.push({ figure: `${n} spawns: API p99 during the burst (GET /hub/api/user probe), ms; POST p99 in raw`, anchor: '', berth: `${ms(p99)} (POST p99 ${ms(postP99)})`, ratio: '', target: '< 100 ms', met: p99.median < 100 });
      if (n === 200) {
        rows.push({ figure: '200 spawns: last POST answered, s', anchor: '', berth: sec(spread(f.berth.map((r) => r.lastPostMs))), ratio: '', target: '', met: null });
        const peak = spread(f.berth.map((r) => r.peakMiB));
        rows.push({ figure: '200 spawns: RSS peak (VmHWM), MiB', anchor: '', berth: fmt(peak, 0), ratio: '', target: '< 150 MB', met: peak.max * 1.048576 < 150 });
      }
    }
    if (restartRuns.length) {
    const r30 = { api: spread(restartRuns.map((r) => r.apiMs)), routes: spread(restartRuns.map((r) => r.routesMs)) };
    rows.push({ figure: 'restart with 30 running: process start → API answers, s', anchor: '', berth: sec(r30.api), ratio: '', target: '< 0.5 s', met: r30.api.median < 500 });
    rows.push({ figure: 'restart with 30 running: process start → every route served, s', anchor: '', berth: sec(r30.routes), ratio: '', target: '< 1 s', met: r30.routes.median < 1000 });
    }
    const r500 = bursts[500]?.berth[0]?.restart;
    rows.push({ figure: 'restart with 500 running: API answers / every route served, s (1 run)', anchor: '', berth: r500 ? `${s(r500.apiMs).toFixed(2)} / ${s(r500.routesMs).toFixed(2)}` : 'not run', ratio: '', target: '< 0.5 s / < 1 s', met: r500 ? r500.apiMs < 500 && r500.routesMs < 1000 : false });
    const idle = Object.keys(bursts).length && spread(Object.values(bursts).flatMap((f) => f.berth.map((r) => r.idleMiB)));
    if (idle) rows.push({ figure: 'RSS idle, one process `berth serve`, MiB', anchor: '', berth: fmt(idle, 0), ratio: '', target: '< 70 MB', met: idle.median * 1.048576 < 70 });
    const big = bursts[500]?.berth[0];
    rows.push({ figure: 'RSS with 1,000 users and 500 running, MiB (after the burst / after a restart; 1 run)', anchor: '', berth: big ? `${big.rssAfterMiB.toFixed(0)} / ${big.restart?.rssMiB.toFixed(0)}` : 'not run', ratio: '', target: '< 150 MB', met: big ? big.rssAfterMiB * 1.048576 < 150 : false });
  } finally {
    killChildren();
    await removeBenchObjects();
  }
  raw.seconds = Math.round((performance.now() - began) / 1000);
  return { rows, raw };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const built = spawnSync(process.execPath, [fileURLToPath(new URL('../../scripts/build.mjs', import.meta.url))], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error('npm run build failed: the bench measures the compiled code');
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { killChildren(); void removeBenchObjects().finally(() => process.exit(130)); });
  const { rows, raw } = await spawnRows();
  console.log(table(rows));
  console.log(JSON.stringify(raw, null, 2));
  process.exit(0);
}
