// The bench's tools and its load generator. wrk (C, epoll) drives every HTTP figure, so the figures
// measure the server, not a Node client sharing two cores with it; Debian's wrk and nginx are
// installed on first use. Loopback only; every run bounded in time.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const PACKAGES: Record<string, string> = { '/usr/bin/wrk': 'wrk', '/usr/sbin/nginx': 'nginx-light' };

/** Installs Debian's packages for the tools missing (the bench runs as root, like CI). */
export function ensureTools(paths: string[] = Object.keys(PACKAGES)): void {
  const missing = paths.filter((p) => !existsSync(p)).map((p) => PACKAGES[p]!);
  if (!missing.length) return;
  if (process.getuid?.() !== 0) throw new Error(`bench: ${missing.join(', ')} missing: run apt-get install -y ${missing.join(' ')} (as root)`);
  console.log(`bench: installing ${missing.join(', ')} from apt`);
  execFileSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 600_000 });
}

export interface WrkResult { requests: number; seconds: number; rps: number; p50ms: number; p99ms: number; maxMs: number; mbPerSec: number; errors: number; non2xx: number }

/** wrk's "Latency" figures: "1.23ms", "456.00us", "1.02s", "2.00m". */
function ms(v: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(v);
  if (!m) throw new Error(`bench: unreadable wrk latency "${v}"`);
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}
function mb(v: string): number {
  const m = /^([\d.]+)(B|KB|MB|GB)$/.exec(v);
  if (!m) throw new Error(`bench: unreadable wrk transfer "${v}"`);
  return Number(m[1]) * { B: 1 / 1048576, KB: 1 / 1024, MB: 1, GB: 1024 }[m[2] as 'B'];
}

export function parseWrk(out: string): WrkResult {
  const pick = (re: RegExp) => { const m = re.exec(out); if (!m) throw new Error(`bench: wrk printed no ${re}:\n${out}`); return m; };
  const done = pick(/(\d+) requests in ([\d.]+)(ms|s|m)/);
  const seconds = Number(done[2]) * (done[3] === 'ms' ? 0.001 : done[3] === 'm' ? 60 : 1);
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requests: Number(done[1]),
    seconds,
    rps: Number(pick(/Requests\/sec:\s+([\d.]+)/)[1]),
    p50ms: ms(pick(/^\s+50%\s+(\S+)/m)[1]!),
    p99ms: ms(pick(/^\s+99%\s+(\S+)/m)[1]!),
    maxMs: ms(pick(/^\s+Latency\s+\S+\s+\S+\s+(\S+)/m)[1]!),
    mbPerSec: mb(pick(/Transfer\/sec:\s+(\S+)/)[1]!),
    errors: errs ? errs.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
  };
}

/**
 * One bounded wrk run: `connections` keep-alive connections on `threads` threads for `seconds`.
 * `script` is an optional Lua file (wrk -s), e.g. to spread requests over many paths.
 */
export async function wrk(opts: { url: string; headers?: Record<string, string>; connections?: number; threads?: number; seconds: number; script?: string }): Promise<WrkResult> {
  const url = new URL(opts.url);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) throw new Error('benchmarks only target loopback');
  ensureTools(['/usr/bin/wrk']);
  const args = ['--latency', '-t', String(opts.threads ?? 2), '-c', String(opts.connections ?? 50), '-d', `${opts.seconds}s`, '--timeout', '10s'];
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${k}: ${v}`);
  if (opts.script) args.push('-s', opts.script);
  args.push(opts.url);
  const child = spawn('/usr/bin/wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d; });
  child.stderr.on('data', (d: Buffer) => { out += d; });
  const killer = setTimeout(() => child.kill('SIGKILL'), (opts.seconds + 30) * 1000);
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  clearTimeout(killer);
  if (code !== 0) throw new Error(`bench: wrk exited ${code}:\n${out}`);
  return parseWrk(out);
}
