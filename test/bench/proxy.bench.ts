// The proxy rows of `npm run bench`: Berth's compiled `berth proxy` beside configurable-http-proxy 5.3
// and Debian's nginx, each with 1,050 routes to the same upstream (a separate Node process). HTTP
// figures come from wrk (50 connections, paths spread over every route by a Lua script), WebSocket
// echo from a Node client in its own process; each figure runs ROUNDS times interleaved (berth, chp,
// nginx, berth, …) after a warm-up. Everything is bounded in time and stopped by PID, even on error.
// Figures only, never asserted.
//   node --import tsx test/bench/proxy.bench.ts          (BENCH_PROXY_SECONDS per run, default 8; BENCH_PROF=<dir> profiles Berth)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureTools, wrk, type WrkResult } from './wrk.ts';
import { chp } from './jupyterhub.ts';
import { ROUNDS, fmt, spread, table, type Row, type Spread } from './report.ts';
import { ROUTES, startBerthProxy, startChp, startNginx, type Peer } from './proxy-peers.ts';
import { cpuMs, memory, startChild, stopChild } from './proc.ts';

const SECONDS = Number(process.env.BENCH_PROXY_SECONDS ?? 8);
const WARMUP_SECONDS = 2;
const CONNECTIONS = 50;
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));

type Name = Peer['name'];
interface WsResult { messages: number; seconds: number; msgPerSec: number; errors: number }

/** A wrk script that walks every route in turn (each wrk thread on its own walk). */
function routeScript(dir: string, leaf: string): string {
  const file = join(dir, `${leaf}.lua`);
  writeFileSync(file, [
    `local routes, i = ${ROUTES}, math.random(0, ${ROUTES - 1})`,
    'request = function()',
    '  i = (i + 1) % routes',
    `  return wrk.format(nil, "/user/u" .. i .. "/${leaf}")`,
    'end', '',
  ].join('\n'));
  return file;
}

/** The WebSocket client (proxy-ws-client.ts) in its own process, killed if it overruns. */
async function wsEcho(origin: string, seconds: number): Promise<WsResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', here('./proxy-ws-client.ts'), origin.replace('http:', 'ws:'), String(ROUTES), String(CONNECTIONS), String(seconds)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d; });
  child.stderr.on('data', (d: Buffer) => { out += d; });
  const killer = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  clearTimeout(killer);
  if (code !== 0) throw new Error(`bench: WebSocket client exited ${code}:\n${out}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as WsResult;
}

/**
 * ROUNDS runs of `run` per peer, interleaved, after one short warm-up of each. Each run also notes the
 * proxy's own CPU time per request or message (`ops` counts them): a figure that the load generator
 * and the upstream, sharing the machine, do not cap.
 */
async function interleaved<T>(peers: Peer[], ops: (r: T) => number, run: (p: Peer, seconds: number) => Promise<T>): Promise<Record<Name, (T & { proxyCpuUs: number })[]>> {
  for (const p of peers) await run(p, WARMUP_SECONDS);
  const out = { berth: [], chp: [], nginx: [] } as Record<Name, (T & { proxyCpuUs: number })[]>;
  for (let i = 0; i < ROUNDS; i++) {
    for (const p of peers) {
      const before = cpuMs(p.pids());
      const r = await run(p, SECONDS);
      out[p.name].push({ ...r, proxyCpuUs: Math.round(((cpuMs(p.pids()) - before) * 1000) / Math.max(1, ops(r))) });
    }
  }
  return out;
}

type Memory = Record<Name, ReturnType<typeof memory>>;
const memoryOf = (peers: Peer[]) => Object.fromEntries(peers.map((p) => [p.name, memory(p.pids())])) as Memory;
const by = <T>(runs: Record<Name, T[]>, f: (r: T) => number) => ({ berth: spread(runs.berth.map(f)), chp: spread(runs.chp.map(f)), nginx: spread(runs.nginx.map(f)) });
const x = (a: Spread, b: Spread) => `${(a.median / b.median).toFixed(2)}×`;

export async function proxyRows(): Promise<{ rows: Row[]; raw: unknown }> {
  ensureTools();
  chp();
  // The bench measures what admins run: the compiled dist/, rebuilt from these sources (incremental).
  const built = spawnSync(process.execPath, [here('../../scripts/build.mjs')], { stdio: 'inherit', timeout: 300_000 });
  if (built.status !== 0) throw new Error('bench: npm run build failed');
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-wrk-'));
  const stops: (() => Promise<void>)[] = [];
  try {
    const up = await startChild(process.execPath, ['--import', 'tsx', here('./proxy-upstream.ts')], (o) => o.includes('"port"'));
    stops.push(() => stopChild(up.child));
    const upstream = `http://127.0.0.1:${(JSON.parse(up.output().trim().split('\n')[0]!) as { port: number }).port}`;
    const peers: Peer[] = [];
    for (const start of [startBerthProxy, startChp, startNginx]) {
      const p = await start(upstream);
      stops.push(() => p.stop());
      peers.push(p);
    }
    const idle = memoryOf(peers);
    const load = (leaf: string) => {
      const script = routeScript(dir, leaf);
      return (p: Peer, seconds: number) => wrk({ url: `${p.origin}/`, connections: CONNECTIONS, threads: 2, seconds, script });
    };
    const small = await interleaved<WrkResult>(peers, (r) => r.requests, load('small'));
    const big = await interleaved<WrkResult>(peers, (r) => r.requests, load('big'));
    const ws = await interleaved<WsResult>(peers, (r) => r.messages, (p, s) => wsEcho(p.origin, s));
    const peak = memoryOf(peers);
    return { rows: rows(small, big, ws, idle, peak), raw: {
      routes: ROUTES, connections: CONNECTIONS, seconds: SECONDS, nginxWorkers: 1,
      proxyCpuUsPerOp: { small: by(small, (r) => r.proxyCpuUs), big: by(big, (r) => r.proxyCpuUs), ws: by(ws, (r) => r.proxyCpuUs) },
      small, big, ws, idle, peak,
    } };
  } finally {
    for (const stop of stops.reverse()) await stop().catch((e: unknown) => console.error(`bench: stopping a proxy: ${String(e)}`));
    rmSync(dir, { recursive: true, force: true });
  }
}

function rows(small: Record<Name, WrkResult[]>, big: Record<Name, WrkResult[]>, ws: Record<Name, WsResult[]>, idle: Memory, peak: Memory): Row[] {
  const rps = by(small, (r) => r.rps);
  const p99 = by(small, (r) => r.p99ms);
  const mbs = by(big, (r) => r.mbPerSec);
  const msgs = by(ws, (r) => r.msgPerSec);
  const anchor = (s: Record<'chp' | 'nginx', Spread>, unit: string, digits = 0, p?: Record<'chp' | 'nginx', Spread>) =>
    (['chp', 'nginx'] as const).map((n) => `${n === 'chp' ? 'CHP 5.3' : 'nginx (1 worker)'}: ${fmt(s[n], digits)} ${unit}${p ? `, p99 ${fmt(p[n], 1)} ms` : ''}`).join('; ');
  const mem = (n: Name) => `${idle[n].rssMb.toFixed(0)} / ${peak[n].peakMb.toFixed(0)}`;
  return [
    {
      figure: `proxy, ~200 B responses, ${CONNECTIONS} connections, ${ROUTES} routes (wrk): req/s, p99`,
      anchor: anchor(rps, 'req/s', 0, p99),
      berth: `${fmt(rps.berth)} req/s, p99 ${fmt(p99.berth, 1)} ms`,
      ratio: `${x(rps.berth, rps.chp)} CHP, ${x(rps.berth, rps.nginx)} nginx`,
      target: '≥ 4× CHP and ≥ 0.6× nginx; p99 below both',
      met: rps.berth.median >= 4 * rps.chp.median && rps.berth.median >= 0.6 * rps.nginx.median && p99.berth.median < Math.min(p99.chp.median, p99.nginx.median),
    },
    {
      figure: `proxy, 64 KiB responses, ${CONNECTIONS} connections (wrk): MB/s`,
      anchor: anchor(mbs, 'MB/s'),
      berth: `${fmt(mbs.berth)} MB/s`,
      ratio: `${x(mbs.berth, mbs.chp)} CHP, ${x(mbs.berth, mbs.nginx)} nginx`,
      target: '≥ 4× CHP',
      met: mbs.berth.median >= 4 * mbs.chp.median,
    },
    {
      figure: `proxy, WebSocket echo, 1 KiB, ${CONNECTIONS} connections: msg/s`,
      anchor: anchor(msgs, 'msg/s'),
      berth: `${fmt(msgs.berth)} msg/s`,
      ratio: `${x(msgs.berth, msgs.chp)} CHP, ${x(msgs.berth, msgs.nginx)} nginx`,
      target: '≥ nginx',
      met: msgs.berth.median >= msgs.nginx.median,
    },
    {
      figure: 'proxy RSS, idle / peak under load, MB',
      anchor: `CHP 5.3: ${mem('chp')}; nginx (master + 1 worker): ${mem('nginx')}`,
      berth: mem('berth'),
      ratio: `${(peak.berth.peakMb / peak.chp.peakMb).toFixed(2)}× CHP, ${(peak.berth.peakMb / peak.nginx.peakMb).toFixed(2)}× nginx (peak)`,
      target: '≤ 60 MB under load',
      met: peak.berth.peakMb <= 60,
    },
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { rows: r, raw } = await proxyRows();
  console.log(table(r));
  if (process.env.BENCH_PROXY_RAW) console.log(JSON.stringify(raw, null, 2));
  process.exit(0);
}
