// Waits until a started server answers HTTP (spec A.5): GET <url><prefix>api until a status below
// 500, redirects not followed, with exponential back-off; meanwhile polls the backend so a server
// that exits fails at once with its last log lines instead of waiting out http_timeout.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { SpawnError } from '../errors.ts';
import type { Backend, BackendRef } from '../backends/types.ts';

export interface ReadyInput {
  backend: Backend;
  ref: BackendRef;
  /** scheme://host:port, no path. */
  url: string;
  /** The server's prefix, e.g. /user/alice/. */
  prefix: string;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

const POLL_EVERY_MS = 1000;
/**
 * Between two GETs at most this long, so a server is seen ready within about this of answering (a
 * refused connection costs the engine and the server nothing): a back-off to 1 s, as before, put up to
 * a second between "listening" and "ready" — most of Berth's overhead over a bare `docker run`.
 */
const MAX_BACKOFF_MS = 50;
const LOG_TAIL = 20;

/** One GET; resolves with the status, or undefined when nothing answered (refused, reset, timed out). */
function probe(target: string, timeoutMs: number, signal?: AbortSignal): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = (target.startsWith('https:') ? httpsRequest : httpRequest)(target, { method: 'GET', timeout: timeoutMs, signal, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

export async function waitReady(input: ReadyInput): Promise<void> {
  const { backend, ref, signal } = input;
  const target = `${input.url.replace(/\/+$/, '')}${input.prefix}api`;
  const deadline = performance.now() + input.timeoutMs;
  let backoff = 10;
  let nextPoll = 0;
  const cancelled = () => new SpawnError('cancelled', 'Spawn cancelled');
  for (;;) {
    if (signal?.aborted) throw cancelled();
    if (performance.now() >= nextPoll) {
      nextPoll = performance.now() + POLL_EVERY_MS;
      const state = await backend.poll(ref);
      if (state.status !== 'running') {
        const code = state.status === 'exited' && state.exitCode !== undefined ? ` (exit code ${state.exitCode})` : '';
        const what = state.status === 'missing' ? 'Server disappeared' : `Server exited${code}`;
        throw new SpawnError('exited', `${what} before it answered HTTP`, { logTail: await backend.logs(ref, LOG_TAIL).catch(() => '') });
      }
    }
    const left = deadline - performance.now();
    if (left <= 0) break;
    const status = await probe(target, Math.max(100, Math.min(left, 5000)), signal);
    if (status !== undefined && status < 500) return;
    if (signal?.aborted) throw cancelled();
    const wait = Math.min(backoff, Math.max(0, deadline - performance.now()));
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    try {
      await sleep(wait, undefined, { signal });
    } catch {
      throw cancelled();
    }
    if (performance.now() >= deadline) break;
  }
  const seconds = Math.round(input.timeoutMs / 100) / 10;
  throw new SpawnError('timeout', `Server at ${input.prefix} didn't respond in ${seconds} seconds`, {
    logTail: await backend.logs(ref, LOG_TAIL).catch(() => ''),
  });
}
