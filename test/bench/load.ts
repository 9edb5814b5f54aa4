// A bounded HTTP load loop over keep-alive connections (loopback only): `connections` workers send
// requests back to back until `requests` are done or `seconds` pass. Returns throughput and latency.
import { Agent, request } from 'node:http';

export interface LoadResult { requests: number; errors: number; seconds: number; rps: number; p50ms: number; p99ms: number; statuses: Record<number, number> }

export async function load(opts: { url: string; headers?: Record<string, string>; connections: number; requests: number; seconds: number; method?: string }): Promise<LoadResult> {
  const url = new URL(opts.url);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) throw new Error('benchmarks only target loopback');
  const agent = new Agent({ keepAlive: true, maxSockets: opts.connections });
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  let sent = 0;
  let errors = 0;
  const start = process.hrtime.bigint();
  const deadline = Date.now() + opts.seconds * 1000;
  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = process.hrtime.bigint();
      const req = request({ agent, host: url.hostname, port: url.port, path: url.pathname + url.search, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
        res.resume();
        res.on('end', () => {
          statuses[res.statusCode!] = (statuses[res.statusCode!] ?? 0) + 1;
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
          resolve();
        });
      });
      req.on('error', () => { errors++; resolve(); });
      req.end();
    });
  const worker = async () => {
    while (sent < opts.requests && Date.now() < deadline) {
      sent++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: opts.connections }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))] ?? 0;
  return { requests: latencies.length, errors, seconds, rps: latencies.length / seconds, p50ms: pct(50), p99ms: pct(99), statuses };
}
